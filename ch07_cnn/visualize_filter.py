"""The 30 first-layer filters of SimpleConvNet before training (random) and after training (shipped weights).

Before training the 5x5 filters are noise; after training many are edge and blob detectors (book figure 7-24).
With the default ``--seed 0`` (the one the shipped weights were trained with) the "before" panel is exactly the
initialisation that training started from.
"""

from __future__ import annotations

import sys

import numpy as np

from ch07_cnn.simple_convnet import SHIPPED_PARAMS, TRAIN_COMMAND, SimpleConvNet
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure, plt
from common.training import load_trained


def filter_grid(fig, filters: np.ndarray, title: str, ncols: int = 6) -> None:
    """Draw filters (FN, C, FH, FW) (channel 0) as a grid of grey images on ``fig`` (a figure or subfigure)."""
    fn = filters.shape[0]
    nrows = int(np.ceil(fn / ncols))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < fn:
            ax.imshow(filters[i, 0], cmap="gray_r", interpolation="nearest")
        else:
            ax.axis("off")
    fig.suptitle(title)


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True)
    parser.add_argument("--params", default=str(SHIPPED_PARAMS),
                        help="trained SimpleConvNet weights (default: the shipped ch07_cnn/params.npz)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    before = SimpleConvNet().params["W1"]
    after = load_trained(SimpleConvNet, args.params, TRAIN_COMMAND).params["W1"]
    fig = plt.figure(figsize=(12, 5), layout="constrained")
    left, right = fig.subfigures(1, 2, wspace=0.05)
    filter_grid(left, before, "before training (random init)")
    filter_grid(right, after, "after training")
    print(f"W1 {after.shape}: std before {before.std():.4f}, after {after.std():.4f}")
    finish_figure(fig, args, default_name="visualize_filter.png")


if __name__ == "__main__":
    main(sys.argv[1:])
