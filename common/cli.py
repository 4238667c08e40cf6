"""Shared command-line conventions of the chapter scripts: --seed, --quick, --save, --no-show, and option types.

Every script has ``main(argv=None)``. Called from Python (a notebook, a test) it parses ``argv`` only — ``None``
means "no options", never the host's ``sys.argv`` (a notebook kernel's argv is ``-f kernel.json``). Run as a
script, its ``if __name__ == "__main__"`` block passes ``sys.argv[1:]``.

Option types (:func:`positive_int`, :func:`positive_float`, ...) reject bad values as usage errors (exit 2, one
line, no traceback) before any work starts.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence

import numpy as np

from common.allocator import keep_freed_memory
from common.plotting import add_figure_args, check_figure_target
from common.threads import WORKLOADS, set_threads

__all__ = ["ScriptParser", "make_parser", "seed_everything", "positive_int", "non_negative_int", "positive_float",
           "non_negative_float", "fraction", "fraction_or_one"]


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An int >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer (>= 1)")
    return value


def non_negative_int(text: str) -> int:
    """An int >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative integer (>= 0)")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number (> 0)")
    return value


def non_negative_float(text: str) -> float:
    """A finite float >= 0."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative number (>= 0)")
    return value


def fraction(text: str) -> float:
    """A float in [0, 1) (a drop probability, a validation share)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1)")
    return value


def fraction_or_one(text: str) -> float:
    """A float in (0, 1] (a decay factor)."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


class ScriptParser(argparse.ArgumentParser):
    """An ArgumentParser whose ``parse_args(None)`` means no options (not ``sys.argv``), which checks the figure
    destination (``--save`` / ``figures/``) right after parsing, before any work, and applies ``--threads``.

    ``workload`` ("small" or "large", see :mod:`common.threads`) picks the BLAS threads when ``--threads`` is not
    given: 1 for the small products of chapters 3-6, the free cores for the convolutions of chapters 7-8; a
    "large" script also keeps freed memory for reuse (:func:`common.allocator.keep_freed_memory`).
    """

    workload = "small"

    def parse_args(self, args: Sequence[str] | None = None, namespace=None):  # type: ignore[override]
        parsed = super().parse_args([] if args is None else list(args), namespace)
        if hasattr(parsed, "save") and hasattr(parsed, "no_show"):
            problem = check_figure_target(parsed.save)
            if problem:
                self.error(problem)
        if hasattr(parsed, "threads"):
            set_threads(parsed.threads, self.workload)
        if self.workload == "large":
            keep_freed_memory()
        return parsed


def make_parser(description: str, quick: bool = False, figure: bool = True, seed: int = 0,
                workload: str = "small") -> ScriptParser:
    """A :class:`ScriptParser` with ``--seed``, ``--threads`` and, as asked, ``--quick`` and the figure options."""
    if workload not in WORKLOADS:
        raise ValueError(f"workload must be one of {WORKLOADS}, got {workload!r}")
    parser = ScriptParser(description=description)
    parser.workload = workload
    parser.add_argument("--seed", type=non_negative_int, default=seed,
                        help=f"random seed (default {seed}); same seed, same numbers")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="BLAS threads (default: 1 for the small products of chapters 3-6, the free cores for "
                             "the convolutions of chapters 7-8)")
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
