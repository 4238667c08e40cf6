"""Figures for chapter scripts: saved as PNG from the command line, shown inline in a notebook.

Scripts call :func:`add_figure_args` on their parser and :func:`finish_figure` at the end. From the command line
a figure is written to ``figures/<script>.png`` (or ``--save``) and shown in a window only when there is one to
show; in a notebook (the inline backend) it is shown inline and written only when a path is given. Headless
machines (no display) get the non-interactive Agg backend, so nothing hangs or warns.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

if os.name != "nt" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
        and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["add_figure_args", "finish_figure", "figure_path", "check_figure_target", "is_interactive_backend",
           "is_inline_backend", "plt"]

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


def is_inline_backend() -> bool:
    """True in a notebook whose figures are drawn into the page (matplotlib-inline, ipympl)."""
    backend = matplotlib.get_backend().lower()
    return "inline" in backend or "ipympl" in backend or backend == "widget"


def check_figure_target(save: str | None, default_name: str = "figure.png") -> str | None:
    """None when the figure for ``save`` (or ``figures/``) can be written, else a one-line reason.

    Scripts run this right after parsing their options, so an unwritable place is reported before the work.
    In a notebook without ``save`` nothing will be written, so nothing is checked.
    """
    if save is None and is_inline_backend():
        return None
    folder = figure_path(save, default_name).parent
    probe = folder
    while not probe.exists():  # the folders that would be created: their nearest existing ancestor must be writable
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"cannot write figures to {folder}: {probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"cannot write figures to {folder}: {probe} is not writable"
    return None


def figure_path(save: str | None, default_name: str) -> Path:
    """The PNG path: ``save`` if given, else ``figures/<default_name>`` under the current directory."""
    path = Path(save) if save else Path("figures") / default_name
    if path.suffix == "":
        path = path.with_suffix(".png")
    return path


def finish_figure(fig, args: argparse.Namespace | None = None, default_name: str = "figure.png",
                  save: str | None = None, show: bool = True) -> Path | None:
    """Save ``fig`` as a PNG and show it when the backend is interactive and ``--no-show`` was not given.

    In a notebook (inline backend) the figure is shown inline and written only when ``save`` is given.
    Returns the path written, or None when nothing was written (a failed write is one line on stderr, not a
    traceback). ``args`` supplies ``save``/``no_show`` from :func:`add_figure_args`.
    """
    if args is not None:
        save = getattr(args, "save", save)
        show = show and not getattr(args, "no_show", False)
    path = None
    if save is not None or not is_inline_backend():
        path = figure_path(save, default_name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=100, bbox_inches="tight")
            print(f"figure saved to {path}")
        except OSError as exc:
            print(f"could not save the figure to {path}: {exc.strerror or exc}", file=sys.stderr)
            path = None
    if show and is_interactive_backend():
        plt.show()
    plt.close(fig)
    return path
