"""Chapter 3.2.4: the graph of the sigmoid h(x) = 1 / (1 + exp(-x)), on [-5, 5).

Run ``python -m ch03_network.sigmoid``; the figure goes to figures/sigmoid.png (or ``--save``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, seed_everything
from common.functions import sigmoid
from common.plotting import finish_figure, plt

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Plot the sigmoid and save the figure."""
    args = make_parser("Plot the sigmoid function (chapter 3)", quick=True).parse_args(argv)
    seed_everything(args.seed)
    x = np.arange(-5.0, 5.0, 0.1, dtype=np.float32)
    y = sigmoid(x)
    fig, ax = plt.subplots()
    ax.plot(x, y)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("x")
    ax.set_ylabel("h(x)")
    ax.set_title("sigmoid")
    finish_figure(fig, args, default_name="sigmoid.png")


if __name__ == "__main__":
    main(sys.argv[1:])
