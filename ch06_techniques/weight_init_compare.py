"""Chapter 6.2.4: weight initialisation on MNIST: std 0.01 vs Xavier vs He.

Three 784-100-100-100-100-10 ReLU networks differing only in the initial weight scale, trained by SGD
(lr 0.01) on the same mini-batches of 128 images for 2000 iterations. With std 0.01 the signal fades layer after
layer and the loss stays at ln(10) = 2.30; Xavier and He weights learn, He fastest for ReLU.

Run ``python -m ch06_techniques.weight_init_compare`` (``--activation sigmoid`` for the sigmoid version).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ch06_techniques.side_by_side import mean_tail, plot_loss_curves, train_side_by_side
from common.cli import make_parser, positive_float, positive_int, seed_everything
from common.multi_layer_net import MultiLayerNet
from common.optimizer import SGD
from common.plotting import finish_figure, plt
from dataset.mnist import load_mnist

__all__ = ["WEIGHT_INIT_TYPES", "main"]

WEIGHT_INIT_TYPES = {"std=0.01": 0.01, "Xavier": "sigmoid", "He": "relu"}


def main(argv: Sequence[str] | None = None) -> dict[str, list[float]]:
    """Train one network per initialisation; print and plot the losses. Returns name -> per-iteration losses."""
    parser = make_parser("Compare weight initialisations on MNIST (chapter 6.2.4)", quick=True)
    parser.add_argument("--iterations", type=positive_int, default=2000, help="SGD updates per network (default 2000)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="mini-batch size (default 128)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD learning rate (default 0.01)")
    parser.add_argument("--activation", choices=["relu", "sigmoid"], default="relu",
                        help="hidden activation (default relu)")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations = min(args.iterations, 60)
    rng = seed_everything(args.seed)

    (x_train, t_train), _ = load_mnist(normalize=True)
    if args.quick:
        x_train, t_train = x_train[:1000], t_train[:1000]

    networks, optimizers = {}, {}
    for label, init in WEIGHT_INIT_TYPES.items():
        np.random.seed(args.seed)
        networks[label] = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100], output_size=10,
                                        activation=args.activation, weight_init_std=init)
        optimizers[label] = SGD(lr=args.lr)

    losses = train_side_by_side(networks, optimizers, x_train, t_train, args.iterations, args.batch_size, rng)

    tail = min(100, args.iterations)
    print(f"mean loss over the last {tail} iterations:")
    for label, values in losses.items():
        print(f"  {label}: {mean_tail(values, tail):.4f}")

    fig, ax = plt.subplots(figsize=(7, 5))
    plot_loss_curves(ax, losses, ylim=(0, 2.5))
    ax.set_title(f"weight initialisation ({args.activation})")
    finish_figure(fig, args, default_name="weight_init_compare.png")
    return losses


if __name__ == "__main__":
    main(sys.argv[1:])
