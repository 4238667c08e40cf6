"""Transfer learning (chapter 8): MNIST's DeepConvNet features reused for Fashion-MNIST.

The shipped MNIST DeepConvNet gets a new classifier head (its two affine layers re-initialised, 10 clothing
classes) and is trained on N labelled Fashion-MNIST images, N = 100, 1,000, 10,000 and 60,000, in three modes:

    frozen     feature extraction: the six convolutions keep their MNIST weights, only the head learns
    finetune   every parameter learns, starting from the MNIST convolutions
    scratch    the same network from a fresh He initialisation

Every run gets the same budget (``--steps`` Adam updates of ``--batch-size`` images) and the same seed (the same
N images, head initialisation and batch order). Prints a table and plots test accuracy against N.

    python -m ch08_deep.transfer_learning            # a few minutes on two cores
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ch08_deep.deep_convnet import SHIPPED_PARAMS, DeepConvNet
from common.cli import make_parser, seed_everything
from common.optimizer import Adam
from common.plotting import finish_figure, plt
from dataset.mnist import load_fashion_mnist

__all__ = ["MODES", "HEAD_PARAMS", "make_network", "fine_tune", "run_experiment", "main"]

MODES = ("frozen", "finetune", "scratch")
HEAD_PARAMS = ("W7", "b7", "W8", "b8")  # DeepConvNet's two affine layers: the classifier head
SIZES = (100, 1000, 10000, 60000)


def make_network(mode: str, seed: int, pretrained: str = str(SHIPPED_PARAMS)) -> DeepConvNet:
    """A DeepConvNet for ``mode``: MNIST convolutions (frozen, finetune) or fresh ones (scratch).

    The head is initialised from ``seed`` in every mode, so the three modes start from the same head.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    np.random.seed(seed)  # DeepConvNet draws its He initialisation from NumPy's global generator
    network = DeepConvNet(rng=np.random.default_rng(seed))
    fresh_head = {key: network.params[key].copy() for key in HEAD_PARAMS}
    if mode != "scratch":
        network.load_params(pretrained)
        for key in HEAD_PARAMS:
            network.params[key][...] = fresh_head[key]  # in place: the layers hold these arrays
    return network


def fine_tune(network: DeepConvNet, mode: str, x: np.ndarray, t: np.ndarray, steps: int, batch_size: int,
              lr: float, seed: int) -> list[float]:
    """``steps`` Adam updates on mini-batches of (x (N, 1, 28, 28), t (N,)); returns the loss of every step.

    In ``frozen`` mode the optimizer gets only the head's gradients, so the convolutions never change.
    Batches walk through a fresh permutation of the N images each epoch (all N when N < batch_size).
    """
    rng = np.random.default_rng(seed)
    optimizer = Adam(lr=lr)
    trained = HEAD_PARAMS if mode == "frozen" else tuple(network.params)
    batch = min(batch_size, len(x))
    order, pos, losses = rng.permutation(len(x)), 0, []
    for _ in range(steps):
        if pos + batch > len(order):
            order, pos = rng.permutation(len(x)), 0
        index = order[pos:pos + batch]
        pos += batch
        grads = network.gradient(x[index], t[index])
        optimizer.update(network.params, {key: grads[key] for key in trained})
        losses.append(float(network.last_layer.loss))
    return losses


def run_experiment(data, sizes, steps: int, batch_size: int, lr: float, seed: int,
                   pretrained: str = str(SHIPPED_PARAMS)) -> dict[str, dict[int, float]]:
    """Test accuracy {mode: {N: accuracy}} for every mode and N, each run from ``seed``."""
    (x_train, t_train), (x_test, t_test) = data
    subset = np.random.default_rng(seed).permutation(len(x_train))  # the first N of it: nested subsets
    results: dict[str, dict[int, float]] = {mode: {} for mode in MODES}
    for n in sizes:
        if not 1 <= n <= len(x_train):
            raise ValueError(f"N = {n} labelled images asked for, the training set has {len(x_train)}")
        x, t = x_train[subset[:n]], t_train[subset[:n]]
        for mode in MODES:
            start = time.perf_counter()
            network = make_network(mode, seed, pretrained)
            fine_tune(network, mode, x, t, steps, batch_size, lr, seed)
            results[mode][n] = network.accuracy(x_test, t_test)
            print(f"N={n:>6} {mode:>8}: test accuracy {results[mode][n]:.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return results


def format_table(results: dict[str, dict[int, float]]) -> str:
    """A Markdown table: one row per N, one column per mode."""
    sizes = sorted(next(iter(results.values())))
    lines = ["| N | " + " | ".join(MODES) + " |", "|---:|" + "---:|" * len(MODES)]
    lines += [f"| {n:,} | " + " | ".join(f"{results[m][n]:.4f}" for m in MODES) + " |" for n in sizes]
    return "\n".join(lines)


def _parse(argv: list[str] | None):
    parser = make_parser(__doc__.splitlines()[0], quick=True, workload="large")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="numbers of labelled training images (default 100 1000 10000 60000)")
    parser.add_argument("--steps", type=int, default=300, help="Adam updates per run, the same for every run (300)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per update (64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    parser.add_argument("--params", default=str(SHIPPED_PARAMS), help="the pretrained MNIST DeepConvNet weights")
    args = parser.parse_args([] if argv is None else argv)
    if min(args.sizes) < 1 or args.steps < 1 or args.batch_size < 1:
        parser.error("--sizes, --steps and --batch-size must be positive")
    if not np.isfinite(args.lr) or args.lr <= 0:
        parser.error(f"--lr must be a finite number > 0, got {args.lr}")
    return args


def main(argv: list[str] | None = None) -> dict[str, dict[int, float]]:
    """Run the experiment, print the table, save the figure; returns {mode: {N: test accuracy}}.

    ``argv``: the command-line arguments; None means none (the defaults), never the host's sys.argv.
    """
    args = _parse(argv)
    seed_everything(args.seed)
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist(normalize=True, flatten=False)
    sizes, steps, batch_size = sorted(set(args.sizes)), args.steps, args.batch_size
    if args.quick:
        x_train, t_train, x_test, t_test = x_train[:40], t_train[:40], x_test[:50], t_test[:50]
        sizes, steps, batch_size = [n for n in (10, 40) if n <= len(x_train)], 2, min(batch_size, 16)
    start = time.perf_counter()
    results = run_experiment(((x_train, t_train), (x_test, t_test)), sizes, steps, batch_size, args.lr,
                             args.seed, args.params)
    print(f"\nFashion-MNIST test accuracy after {steps} updates of {batch_size} images "
          f"({len(x_test)} test images, {(time.perf_counter() - start) / 60:.1f} min):")
    print(format_table(results))
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, label in zip(MODES, ("frozen MNIST features", "fine-tuned from MNIST", "from scratch"), strict=True):
        ax.plot(sizes, [results[mode][n] for n in sizes], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("labelled Fashion-MNIST training images N")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Transfer from MNIST, {steps} updates each")
    ax.grid(True, alpha=0.3)
    ax.legend()
    finish_figure(fig, args, default_name="transfer_learning.png")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
