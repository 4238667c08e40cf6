"""Chapter 6.1.8: SGD, Momentum, AdaGrad and Adam training the same MNIST network.

A 784-100-100-100-100-10 ReLU network per optimizer, all starting from the same weights and fed the same
mini-batches (128 images, 2000 iterations), with the book's learning rates (SGD, Momentum, AdaGrad 0.01;
Adam 0.001). The losses are printed every 100 iterations and plotted smoothed. ``--optimizers`` adds RMSprop
and Nesterov (lr 0.01) to the race.

Run ``python -m ch06_techniques.optimizer_compare_mnist``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ch06_techniques.side_by_side import mean_tail, plot_loss_curves, train_side_by_side
from common.cli import make_parser, positive_int, seed_everything
from common.multi_layer_net import MultiLayerNet
from common.optimizer import OPTIMIZERS, make_optimizer
from common.plotting import finish_figure, plt
from dataset.mnist import load_mnist

__all__ = ["BOOK_SETTINGS", "main"]

# name -> (display name, the book's learning rate; the optimizer's default in the book)
BOOK_SETTINGS = {
    "sgd": ("SGD", 0.01),
    "momentum": ("Momentum", 0.01),
    "nesterov": ("Nesterov", 0.01),
    "adagrad": ("AdaGrad", 0.01),
    "rmsprop": ("RMSprop", 0.01),
    "adam": ("Adam", 0.001),
}


def main(argv: Sequence[str] | None = None) -> dict[str, list[float]]:
    """Train one network per optimizer; print and plot the losses. Returns name -> per-iteration losses."""
    parser = make_parser("Compare optimizers on MNIST (chapter 6.1.8)", quick=True)
    parser.add_argument("--optimizers", nargs="+", type=str.lower, choices=sorted(OPTIMIZERS),
                        default=["sgd", "momentum", "adagrad", "adam"], help="which optimizers (default: the book's four)")
    parser.add_argument("--iterations", type=positive_int, default=2000, help="updates per optimizer (default 2000)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="mini-batch size (default 128)")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations = min(args.iterations, 60)
    rng = seed_everything(args.seed)

    (x_train, t_train), _ = load_mnist(normalize=True)
    if args.quick:
        x_train, t_train = x_train[:1000], t_train[:1000]

    networks, optimizers = {}, {}
    for name in dict.fromkeys(args.optimizers):
        label, lr = BOOK_SETTINGS[name]
        np.random.seed(args.seed)  # every optimizer starts from the same weights
        networks[label] = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100], output_size=10)
        optimizers[label] = make_optimizer(name, lr=lr)

    losses = train_side_by_side(networks, optimizers, x_train, t_train, args.iterations, args.batch_size, rng)

    tail = min(100, args.iterations)
    print(f"mean loss over the last {tail} iterations:")
    for label, values in losses.items():
        print(f"  {label}: {mean_tail(values, tail):.4f}")

    fig, ax = plt.subplots(figsize=(7, 5))
    plot_loss_curves(ax, losses)
    ax.set_title(f"optimizers on MNIST, batch {args.batch_size}")
    finish_figure(fig, args, default_name="optimizer_compare_mnist.png")
    return losses


if __name__ == "__main__":
    main(sys.argv[1:])
