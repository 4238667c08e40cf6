"""Figures for chapter scripts: always saved as PNG, shown in a window only when that makes sense.

Scripts call :func:`add_figure_args` on their parser and :func:`finish_figure` at the end. Headless
machines (no display) get the non-interactive Agg backend, so nothing hangs or warns.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

if os.name != "nt" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
        and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in __import__("sys").modules:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["add_figure_args", "finish_figure", "figure_path", "is_interactive_backend", "plt"]

_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def add_figure_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--save PATH`` and ``--no-show`` to a script's argument parser."""
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="where to write the PNG figure (default: figures/<script>.png in the current directory)")
    parser.add_argument("--no-show", action="store_true", help="never open a window, only save the figure")
    return parser


def is_interactive_backend() -> bool:
    """True when matplotlib's current backend can open a window (or draw inline in a notebook)."""
    return matplotlib.get_backend().lower() not in _NON_INTERACTIVE


def figure_path(save: str | None, default_name: str) -> Path:
    """The PNG path: ``save`` if given, else ``figures/<default_name>`` under the current directory."""
    path = Path(save) if save else Path("figures") / default_name
    if path.suffix == "":
        path = path.with_suffix(".png")
    return path


def finish_figure(fig, args: argparse.Namespace | None = None, default_name: str = "figure.png",
                  save: str | None = None, show: bool = True) -> Path:
    """Save ``fig`` as a PNG and show it when the backend is interactive and ``--no-show`` was not given.

    Returns the path written. ``args`` supplies ``save``/``no_show`` from :func:`add_figure_args`.
    """
    if args is not None:
        save = getattr(args, "save", save)
        show = show and not getattr(args, "no_show", False)
    path = figure_path(save, default_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"figure saved to {path}")
    if show and is_interactive_backend():
        plt.show()
    plt.close(fig)
    return path
