"""Test accuracy of the trained DeepConvNet, the first 20 misclassified test images, and a confusion matrix.

Uses the shipped weights ``ch08_deep/deep_convnet_params.npz`` (``--params`` for others). Writes two figures: the
mistakes (``--save`` or figures/misclassified_mnist.png) and the confusion matrix (same name + ``_confusion``).
"""

from __future__ import annotations

import sys

import numpy as np

from ch08_deep.deep_convnet import SHIPPED_PARAMS, TRAIN_COMMAND, DeepConvNet
from common.cli import make_parser, seed_everything
from common.plotting import figure_path, finish_figure, plt
from common.training import load_trained
from dataset.mnist import load_mnist

QUICK_TEST = 200


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(K, K) int64 counts; row = true label, column = prediction."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def plot_mistakes(x: np.ndarray, labels: np.ndarray, predicted: np.ndarray, wrong: np.ndarray, title: str):
    """The first 20 mistakes (indices ``wrong``) in a 4x5 grid, each titled with label and prediction."""
    fig, axes = plt.subplots(4, 5, figsize=(7, 6.5))
    shown = list(wrong[:20]) + [None] * (20 - min(len(wrong), 20))
    for ax, i in zip(axes.flat, shown, strict=True):
        ax.set_xticks([])
        ax.set_yticks([])
        if i is None:
            ax.axis("off")
            continue
        ax.imshow(x[i, 0], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"#{i}: {labels[i]} -> {predicted[i]}", fontsize=9, color="tab:red")
    fig.suptitle(title)
    return fig


def plot_confusion(matrix: np.ndarray, title: str):
    """A heat map of the confusion matrix with the counts written in the cells."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    off_diagonal = matrix - np.diag(np.diag(matrix))
    ax.imshow(np.log1p(off_diagonal), cmap="Reds")
    k = matrix.shape[0]
    for r in range(k):
        for c in range(k):
            ax.text(c, r, str(matrix[r, c]), ha="center", va="center", fontsize=8,
                    color="tab:blue" if r == c else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    ax.set_title(title)
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True, workload="large")
    parser.add_argument("--params", default=str(SHIPPED_PARAMS),
                        help="DeepConvNet weights (default: the shipped ch08_deep/deep_convnet_params.npz)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    network = load_trained(DeepConvNet, args.params, TRAIN_COMMAND)
    _, (x_test, t_test) = load_mnist(flatten=False)
    if args.quick:
        x_test, t_test = x_test[:QUICK_TEST], t_test[:QUICK_TEST]
    labels = t_test.astype(np.intp)
    predicted = network.predict_labels(x_test)
    wrong = np.flatnonzero(predicted != labels)
    accuracy = 1 - len(wrong) / len(labels)
    print(f"test accuracy: {accuracy:.4f} ({len(wrong)} of {len(labels)} wrong)")
    print("first mistakes (index: label -> prediction):",
          ", ".join(f"{i}: {labels[i]}->{predicted[i]}" for i in wrong[:20]))

    matrix = confusion_matrix(labels, predicted)
    confusion_path = figure_path(args.save, "misclassified_mnist.png")
    confusion_path = confusion_path.with_name(f"{confusion_path.stem}_confusion.png")
    finish_figure(plot_confusion(matrix, f"confusion matrix ({len(wrong)} errors of {len(labels)})"),
                  save=str(confusion_path), show=not args.no_show)
    title = f"DeepConvNet: {len(wrong)} of {len(labels)} misclassified (label -> prediction)"
    finish_figure(plot_mistakes(x_test, labels, predicted, wrong, title), args, default_name="misclassified_mnist.png")


if __name__ == "__main__":
    main(sys.argv[1:])
