"""Chapter 3.2.5: the sigmoid (solid) and the step function (dashed) on one graph.

Both are non-linear, bounded by 0 and 1, and large for large x; the sigmoid is smooth, which is what lets
gradients flow (chapter 4). Run ``python -m ch03_network.sig_step_compare``; the figure goes to
figures/sig_step_compare.png (or ``--save``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, seed_everything
from common.functions import sigmoid, step_function
from common.plotting import finish_figure, plt

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Plot the sigmoid and the step function together and save the figure."""
    args = make_parser("Compare the sigmoid and the step function (chapter 3)", quick=True).parse_args(argv)
    seed_everything(args.seed)
    x = np.arange(-5.0, 5.0, 0.1, dtype=np.float32)
    fig, ax = plt.subplots()
    ax.plot(x, sigmoid(x), label="sigmoid")
    ax.plot(x, step_function(x), "k--", label="step function")
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("x")
    ax.set_ylabel("h(x)")
    ax.legend()
    finish_figure(fig, args, default_name="sig_step_compare.png")


if __name__ == "__main__":
    main(sys.argv[1:])
