"""Chapter 6.3.2: batch normalization speeds up learning.

Two 784-100-100-100-100-100-10 ReLU networks with the same initial weights, one with a BatchNorm layer before
every activation, are trained side by side on the same 1000 MNIST images (SGD lr 0.01, batch 100, 20 epochs).
The curves are the training accuracy per epoch (epoch 0 = before training), as in the book. By default one
weight scale (std 0.1, where both networks learn and BN is clearly faster) is run; ``--grid`` runs the book's 16
scales np.logspace(0, -4, 16) in a 4x4 figure: without BN most scales do not learn at all in 20 epochs (the two
largest overflow float32 and are reported as diverged), with BN nearly all do.

Run ``python -m ch06_techniques.batch_norm_test`` (``--grid`` for the 16 scales, ``--weight-scale he``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from common.cli import make_parser, positive_float, positive_int, seed_everything
from common.multi_layer_net_extend import MultiLayerNetExtend
from common.plotting import finish_figure, plt
from common.trainer import Trainer
from dataset.mnist import load_mnist

__all__ = ["train_pair", "parse_weight_scale", "main"]

DEFAULT_SCALE = 0.1


def parse_weight_scale(text: str) -> float | str:
    """A number, or one of he / relu / xavier / sigmoid (passed on to common.weight_init)."""
    if text.lower() in ("he", "relu", "xavier", "sigmoid"):
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"weight scale must be a number or he/xavier, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"weight scale must be positive, got {value}")
    return value


def train_pair(data: tuple, weight_scale: float | str, epochs: int, batch_size: int, lr: float,
               seed: int) -> dict[str, object]:
    """Train the plain and the BN network from the same weights on the same batches.

    Args:
        data: ((x_train, t_train), (x_test, t_test)) with x (N, 784) float32.
    Returns:
        {'plain': train accuracies, 'bn': train accuracies (epochs + 1 values, epoch 0 first),
         'plain_test', 'bn_test': final test accuracy (NaN when training diverged),
         'plain_diverged', 'bn_diverged': None, or the iteration whose loss was not finite}.
    """
    (x_train, t_train), (x_test, t_test) = data
    result: dict[str, object] = {}
    for key, use_bn in (("plain", False), ("bn", True)):
        np.random.seed(seed)  # identical weights for both networks
        network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100] * 5, output_size=10,
                                      weight_init_std=weight_scale, use_batchnorm=use_bn)
        trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=batch_size,
                          optimizer="sgd", optimizer_param={"lr": lr}, evaluate_sample_num_per_epoch=len(x_train),
                          verbose=False, seed=seed)
        # Large scales overflow float32 in the plain network (the book's float64 code silently produced NaN);
        # the Trainer stops at the first non-finite loss and the curve ends there.
        with np.errstate(over="ignore", invalid="ignore"):
            before = network.accuracy(x_train, t_train)
            try:
                trainer.train()
                result[f"{key}_test"] = trainer.final_test_acc
                result[f"{key}_diverged"] = None
            except FloatingPointError:
                result[f"{key}_test"] = float("nan")
                result[f"{key}_diverged"] = trainer.current_iter + 1
        result[key] = [before, *trainer.train_acc_list]
    return result


def _at(values: list[float], epoch: int) -> str:
    return f"{values[epoch]:.4f}" if epoch < len(values) else "diverged"


def _plot(ax, result: dict, title: str, legend: bool) -> None:
    ax.plot(np.arange(len(result["bn"])), result["bn"], label="Batch Normalization")
    ax.plot(np.arange(len(result["plain"])), result["plain"], linestyle="--", label="Normal (without BatchNorm)")
    diverged = [name for key, name in (("plain", "Normal"), ("bn", "BN")) if result[f"{key}_diverged"]]
    if diverged:
        ax.text(0.5, 0.5, f"{' and '.join(diverged)}: diverged", transform=ax.transAxes, ha="center", fontsize=8)
    ax.set_ylim(0, 1.0)
    ax.set_title(title)
    if legend:
        ax.legend(loc="lower right")


def main(argv: Sequence[str] | None = None) -> dict:
    """Run one weight scale (or the grid); print the accuracies; plot. Returns scale -> train_pair result."""
    parser = make_parser("Batch normalization vs plain training on 1000 MNIST images (chapter 6.3)", quick=True)
    parser.add_argument("--weight-scale", type=parse_weight_scale, default=DEFAULT_SCALE,
                        help=f"std of the initial weights, a number or he/xavier (default {DEFAULT_SCALE})")
    parser.add_argument("--grid", action="store_true", help="the book's 16 scales np.logspace(0, -4, 16), 4x4 plots")
    parser.add_argument("--epochs", type=positive_int, default=20, help="epochs (default 20)")
    parser.add_argument("--train-size", type=positive_int, default=1000, help="training images (default 1000)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD learning rate (default 0.01)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size = min(args.epochs, 2), min(args.train_size, 200)
    seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True)
    if args.quick:
        x_test, t_test = x_test[:500], t_test[:500]
    data = ((x_train[:args.train_size], t_train[:args.train_size]), (x_test, t_test))

    if args.grid:
        scales = list(np.logspace(0, -4, num=4 if args.quick else 16))
    else:
        scales = [args.weight_scale]
    results = {}
    for scale in tqdm(scales, desc="weight scales", disable=len(scales) == 1):
        result = train_pair(data, scale, args.epochs, args.batch_size, args.lr, args.seed)
        results[scale] = result
        label = scale if isinstance(scale, str) else f"{scale:.4g}"
        if len(scales) == 1:
            for epoch in range(args.epochs + 1):
                print(f"epoch:{epoch} | {_at(result['plain'], epoch)} - {_at(result['bn'], epoch)}")
        summary = [f"W:{label} "]
        for key, name in (("plain", "plain"), ("bn", "BN")):
            if result[f"{key}_diverged"]:
                summary.append(f"{name}: diverged (non-finite loss) at iteration {result[f'{key}_diverged']}")
            else:
                summary.append(f"{name}: final train acc {result[key][-1]:.4f}, test acc {result[f'{key}_test']:.4f}")
        tqdm.write(" | ".join(summary))

    if args.grid:
        side = int(np.ceil(np.sqrt(len(scales))))
        fig, axes = plt.subplots(side, side, figsize=(3.2 * side, 2.8 * side), squeeze=False)
        for i, (ax, scale) in enumerate(zip(axes.flat, scales, strict=False)):
            _plot(ax, results[scale], f"W:{scale:.4g}", legend=i == len(scales) - 1)
            if i % side:
                ax.set_yticks([])
            else:
                ax.set_ylabel("accuracy")
            if i < len(scales) - side:
                ax.set_xticks([])
            else:
                ax.set_xlabel("epochs")
        for ax in list(axes.flat)[len(scales):]:
            ax.set_visible(False)
        name = "batch_norm_test_grid.png"
    else:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        scale = scales[0]
        _plot(ax, results[scale], f"W:{scale if isinstance(scale, str) else f'{scale:.4g}'}", legend=True)
        ax.set_xlabel("epochs")
        ax.set_ylabel("accuracy (training)")
        name = "batch_norm_test.png"
    fig.tight_layout()
    finish_figure(fig, args, default_name=name)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
