"""What the training scripts share: their options, where the weights go, one Trainer run, the figures.

Chapters 4-5 write the book's explicit training loop themselves (it is the lesson) and record it in a
:class:`TrainingHistory`; chapters 6-8 train with :class:`common.trainer.Trainer` (:func:`run_training`).
The installed package is read-only at run time: trained weights go to the current directory (under the book's
file names) or to ``--out``, and :func:`resolve_output` checks that place before any training starts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from common.augment import Augmenter
from common.cli import fraction_or_one, non_negative_int, positive_float, positive_int
from common.parallel import DataParallel, spread
from common.plotting import plt
from common.trainer import Trainer
from common.util import smooth_curve

__all__ = ["add_training_options", "resolve_output", "shipped_weight_files", "run_training", "load_trained",
           "plot_accuracy", "TrainingHistory", "plot_history"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def shipped_weight_files() -> set[Path]:
    """The ``.npz`` weight files shipped inside the chapter packages (resolved paths)."""
    return {path.resolve() for path in _PACKAGE_ROOT.glob("ch0*/*.npz")}


def _check_writable_folder(folder: Path) -> str | None:
    """None when a file can be created in ``folder``, else the reason (creating and removing a probe file, which
    also works for root, whom permission bits do not stop)."""
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    return None


def resolve_output(out: str | os.PathLike | None, default_name: str, suffix: str = ".npz") -> Path:
    """The file a script will write its result to, checked before the long work starts.

    ``out`` (the user's ``--out``) is used as given; without it, ``default_name`` in the current directory. A
    default that would land on a file shipped with the package (e.g. ``params.npz`` when the script is run from
    inside ``ch07_cnn/``) is renamed ``<stem>_trained<suffix>`` and that is said; shipped weights are only ever
    replaced by an explicit ``out`` naming them. Raises SystemExit with a one-line message when the suffix is
    wrong or the folder is missing or not writable.
    """
    path = Path(out) if out is not None else Path.cwd() / default_name
    if path.suffix != suffix:
        raise SystemExit(f"error: output file {str(path)!r} must end in {suffix}")
    if path.is_dir():
        raise SystemExit(f"error: output file {str(path)!r} is a folder")
    if out is None and path.resolve() in shipped_weight_files():
        renamed = path.with_name(f"{path.stem}_trained{suffix}")
        print(f"note: {path} is a file shipped with this library; writing to {renamed} instead "
              f"(give --out {path} to replace the shipped file on purpose)")
        path = renamed
    problem = _check_writable_folder(path.parent if str(path.parent) else Path("."))
    if problem:
        raise SystemExit(f"error: cannot write {path}: {problem}")
    return path


def add_training_options(parser: argparse.ArgumentParser, epochs: int = 20, lr: float = 0.001,
                         lr_decay: float | None = None) -> argparse.ArgumentParser:
    """--epochs, --batch-size, --lr (Adam), --lr-decay, --augment and --eval-samples, with the given defaults.
    Convolutional training is a "large" workload: BLAS uses the free cores unless ``--threads`` says otherwise."""
    parser.workload = "large"
    parser.add_argument("--epochs", type=non_negative_int, default=epochs,
                        help=f"passes over the training set (default {epochs})")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=positive_float, default=lr, help=f"Adam learning rate (default {lr})")
    parser.add_argument("--lr-decay", type=fraction_or_one, default=lr_decay,
                        help="multiply the learning rate by this factor in (0, 1] after every epoch "
                             f"(default {'off' if lr_decay is None else lr_decay}; 1 turns it off)")
    parser.add_argument("--augment", action="store_true",
                        help="augment every training batch (common.augment.Augmenter: shift <= 2 px, rotation <= 10 "
                             "degrees, scale 0.9-1.1, brightness/contrast jitter)")
    parser.add_argument("--eval-samples", type=positive_int, default=1000,
                        help="samples of each set scored after every epoch, as in the book (default 1000)")
    return parser


def run_training(network, data, args: argparse.Namespace, quick_sizes: tuple[int, int] = (500, 100)):
    """Train ``network`` with Adam as the options in ``args`` say and return the finished Trainer.

    Args:
        network: has ``params``, ``gradient``, ``predict`` and ``last_layer``.
        data: ``((x_train, t_train), (x_test, t_test))`` as load_mnist returns it.
        args: options of :func:`add_training_options` plus ``--seed``/``--quick``; with ``--quick`` the first
            ``quick_sizes`` = (train, test) samples are used for one epoch.
    """
    (x_train, t_train), (x_test, t_test) = data
    epochs = args.epochs
    if args.quick:
        x_train, t_train = x_train[:quick_sizes[0]], t_train[:quick_sizes[0]]
        x_test, t_test = x_test[:quick_sizes[1]], t_test[:quick_sizes[1]]
        epochs = min(epochs, 1)
    network = spread(network)  # two or more threads: the batch split across them (common.parallel)
    if isinstance(network, DataParallel):
        print(f"data parallel: {network.workers} workers, 1 BLAS thread each")
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


def load_trained(network_cls, path: str | os.PathLike, train_command: str):
    """``network_cls()`` with the weights of ``path``; SystemExit naming ``train_command`` when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: no trained weights at {path}: run `{train_command}` first (or pass --params PATH)")
    network = network_cls()
    network.load_params(path)
    return network


def plot_accuracy(trainer, title: str):
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


@dataclass
class TrainingHistory:
    """What an explicit training loop records: the mini-batch loss of every iteration and, per evaluation, the
    epoch (a float: iteration / iterations per epoch) with the train and test accuracy."""

    train_loss: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def record_accuracy(self, epoch: float, network, train: tuple, test: tuple, batch_size: int = 1000) -> None:
        """Append ``network.accuracy`` on the (x, t) pairs ``train`` and ``test`` and print the book's line."""
        self.epochs.append(epoch)
        self.train_acc.append(network.accuracy(*train, batch_size=batch_size))
        self.test_acc.append(network.accuracy(*test, batch_size=batch_size))
        print(f"epoch {epoch:.4g}: train acc {self.train_acc[-1]:.4f}, test acc {self.test_acc[-1]:.4f}")


def plot_history(history: TrainingHistory, title: str):
    """A figure with the accuracies per epoch (left) and the loss per iteration, raw and smoothed (right)."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    ax_acc.plot(history.epochs, history.train_acc, marker="o", label="train acc")
    ax_acc.plot(history.epochs, history.test_acc, marker="s", linestyle="--", label="test acc")
    ax_acc.set_xlabel("epochs")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1.0)
    ax_acc.legend(loc="lower right")
    iterations = np.arange(1, len(history.train_loss) + 1)
    ax_loss.plot(iterations, history.train_loss, color="0.75", linewidth=0.5, label="loss")
    if history.train_loss:
        ax_loss.plot(iterations, smooth_curve(history.train_loss), label="smoothed")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(loc="upper right")
    fig.suptitle(title)
    return fig
