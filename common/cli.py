"""Shared command-line conventions of the chapter scripts: --seed, --quick, --save, --no-show."""

from __future__ import annotations

import argparse
import random

import numpy as np

from common.plotting import add_figure_args

__all__ = ["make_parser", "seed_everything"]


def make_parser(description: str, quick: bool = False, figure: bool = True, seed: int = 0) -> argparse.ArgumentParser:
    """An ArgumentParser with ``--seed`` and, as asked, ``--quick`` and the figure options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed}); same seed, same numbers")
    if quick:
        parser.add_argument("--quick", action="store_true", help="a small, seconds-long run (smoke test)")
    if figure:
        add_figure_args(parser)
    return parser


def seed_everything(seed: int) -> np.random.Generator:
    """Seed NumPy's global generator and Python's ``random``; return a Generator seeded the same way."""
    np.random.seed(seed)
    random.seed(seed)
    return np.random.default_rng(seed)
