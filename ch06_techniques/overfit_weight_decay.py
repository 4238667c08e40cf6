"""Chapter 6.4.1-6.4.2: overfitting and weight decay.

A deep 784-(100 x 6)-10 ReLU network trained on only 300 MNIST images (SGD lr 0.01, batch 100, 201 epochs)
memorises them: the training accuracy reaches 100 % while the test accuracy stays far below. The L2 penalty
0.5 * lambda * sum(W**2) (lambda 0.1) narrows that gap. ``--weight-decay 0`` is the plain overfitting run.

Run ``python -m ch06_techniques.overfit_weight_decay`` (about 30 s; ``--weight-decay 0`` for the run without weight decay).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, non_negative_float, positive_float, positive_int, seed_everything
from common.multi_layer_net import MultiLayerNet
from common.plotting import finish_figure, plt
from common.trainer import Trainer
from dataset.mnist import load_mnist

__all__ = ["plot_accuracy", "main"]


def plot_accuracy(train_acc: list[float], test_acc: list[float], title: str):
    """Train (circles) and test (squares) accuracy per epoch, as in the book; returns the figure."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    epochs = np.arange(1, len(train_acc) + 1)
    every = max(len(epochs) // 20, 1)
    ax.plot(epochs, train_acc, marker="o", label="train", markevery=every)
    ax.plot(epochs, test_acc, marker="s", label="test", markevery=every)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def main(argv: Sequence[str] | None = None) -> Trainer:
    """Train, print the accuracy every epoch and the final gap, plot the curves. Returns the Trainer."""
    parser = make_parser("Overfitting 300 MNIST images, with and without weight decay (chapter 6.4)", quick=True)
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.1,
                        help="lambda of the L2 penalty (default 0.1; 0 = off)")
    parser.add_argument("--epochs", type=positive_int, default=201, help="epochs (default 201)")
    parser.add_argument("--train-size", type=positive_int, default=300, help="training images (default 300)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD learning rate (default 0.01)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 3)
    seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True)
    x_train, t_train = x_train[:args.train_size], t_train[:args.train_size]
    if args.quick:
        x_test, t_test = x_test[:500], t_test[:500]

    network = MultiLayerNet(input_size=784, hidden_size_list=[100] * 6, output_size=10,
                            weight_decay_lambda=args.weight_decay)
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=args.epochs, mini_batch_size=args.batch_size,
                      optimizer="sgd", optimizer_param={"lr": args.lr}, seed=args.seed)
    trainer.train()
    train_acc, test_acc = trainer.train_acc_list[-1], trainer.test_acc_list[-1]
    print(f"weight decay lambda={args.weight_decay}: final train acc {train_acc:.4f}, test acc {test_acc:.4f}, "
          f"gap {train_acc - test_acc:.4f}")

    fig = plot_accuracy(trainer.train_acc_list, trainer.test_acc_list, f"weight decay lambda = {args.weight_decay}")
    suffix = "" if args.weight_decay else "_none"
    finish_figure(fig, args, default_name=f"overfit_weight_decay{suffix}.png")
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])
