"""What the chapter 7-8 training scripts share: their options, one training run, the weights path, the figure.

Each script loads the data itself (``load_mnist`` in its own namespace, so tests can replace it there), builds its
network and hands both to :func:`train_network`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from common.augment import Augmenter
from common.plotting import plt
from common.trainer import Trainer

__all__ = ["add_training_options", "train_network", "weights_path", "load_trained", "plot_accuracy"]


def add_training_options(parser: argparse.ArgumentParser, epochs: int = 20, lr: float = 0.001,
                         lr_decay: float | None = None) -> argparse.ArgumentParser:
    """--epochs, --batch-size, --lr (Adam), --lr-decay, --augment and --eval-samples, with the given defaults."""
    parser.add_argument("--epochs", type=int, default=epochs, help=f"passes over the training set (default {epochs})")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr})")
    parser.add_argument("--lr-decay", type=float, default=lr_decay,
                        help="multiply the learning rate by this factor after every epoch "
                             f"(default {'off' if lr_decay is None else lr_decay}; 1 turns it off)")
    parser.add_argument("--augment", action="store_true",
                        help="augment every training batch (common.augment.Augmenter: shift <= 2 px, rotation <= 10 "
                             "degrees, scale 0.9-1.1, brightness/contrast jitter)")
    parser.add_argument("--eval-samples", type=int, default=1000,
                        help="samples of each set scored after every epoch, as in the book (default 1000)")
    return parser


def train_network(network, data, args: argparse.Namespace, quick_sizes: tuple[int, int] = (500, 100)) -> Trainer:
    """Train ``network`` with Adam as the options in ``args`` say and return the finished Trainer.

    Args:
        network: has ``params``, ``gradient``, ``predict`` and ``last_layer``.
        data: ``((x_train, t_train), (x_test, t_test))`` as load_mnist returns it.
        args: parsed options of :func:`add_training_options` plus ``--seed``/``--quick``; with ``--quick`` the
            first ``quick_sizes`` = (train, test) samples are used for one epoch.
    """
    (x_train, t_train), (x_test, t_test) = data
    epochs = args.epochs
    if args.quick:
        x_train, t_train = x_train[:quick_sizes[0]], t_train[:quick_sizes[0]]
        x_test, t_test = x_test[:quick_sizes[1]], t_test[:quick_sizes[1]]
        epochs = 1
    augment = Augmenter() if args.augment else None
    if augment is not None:
        print(f"augmentation: {augment!r}")
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=args.batch_size,
                      optimizer="Adam", optimizer_param={"lr": args.lr},
                      evaluate_sample_num_per_epoch=args.eval_samples, seed=args.seed, lr_decay=args.lr_decay,
                      augment=augment)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    steps = max(trainer.current_iter, 1)
    print(f"trained {trainer.current_iter} steps in {wall:.1f} s ({1000 * wall / steps:.1f} ms per step incl. evaluation)")
    return trainer


def weights_path(args: argparse.Namespace, shipped: Path, quick_name: str) -> Path:
    """``--out`` if given; else a file in the temporary directory with ``--quick`` (never the shipped weights);
    else ``shipped``."""
    if args.out:
        return Path(args.out)
    return Path(tempfile.gettempdir()) / quick_name if args.quick else shipped


def load_trained(network_cls, path: str | Path, train_command: str):
    """``network_cls()`` with the weights of ``path``; SystemExit naming ``train_command`` when the file is missing."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"no trained weights at {path}: run `{train_command}` first (or pass --params PATH)")
    network = network_cls()
    network.load_params(path)
    return network


def plot_accuracy(trainer: Trainer, title: str):
    """Train and test accuracy per epoch (the book's figure); returns the figure."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(trainer.train_acc_list) + 1)
    ax.plot(epochs, trainer.train_acc_list, marker="o", label="train", markevery=2)
    ax.plot(epochs, trainer.test_acc_list, marker="s", label="test", markevery=2)
    ax.set_xlabel("epochs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.set_ylim(min(0.9, *trainer.test_acc_list, *trainer.train_acc_list) if epochs.size else 0.0, 1.0)
    ax.legend(loc="lower right")
    return fig
