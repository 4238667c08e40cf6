"""Train chapter 7's SimpleConvNet on MNIST (book: 20 epochs, batch 100, Adam lr 0.001 -> about 98.9 %).

``--lr-decay`` and ``--augment`` (see ``common.augment``) go beyond the book.
Writes the trained weights to ``ch07_cnn/params.npz`` (or ``--out``) and plots train/test accuracy per epoch.
``--quick`` trains one epoch on a small subset and writes its weights to a temporary file, never to the shipped one.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ch07_cnn.simple_convnet import SimpleConvNet
from common.augment import Augmenter
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure, plt
from common.trainer import Trainer
from dataset.mnist import load_mnist

SHIPPED_PARAMS = Path(__file__).resolve().with_name("params.npz")
QUICK_TRAIN, QUICK_TEST = 500, 100


def plot_accuracy(trainer: Trainer, title: str):
    """Train and test accuracy per epoch, the book's figure."""
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


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True)
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    parser.add_argument("--lr-decay", type=float, default=None,
                        help="multiply the learning rate by this factor after every epoch (default: off)")
    parser.add_argument("--augment", action="store_true",
                        help="augment every training batch (common.augment.Augmenter: shift, rotation, scale, jitter)")
    parser.add_argument("--eval-samples", type=int, default=1000,
                        help="samples of each set scored after every epoch, as in the book (default 1000)")
    parser.add_argument("--out", default=None,
                        help=f"where to write the weights (default {SHIPPED_PARAMS}; with --quick a temporary file)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    epochs = args.epochs
    if args.quick:
        x_train, t_train = x_train[:QUICK_TRAIN], t_train[:QUICK_TRAIN]
        x_test, t_test = x_test[:QUICK_TEST], t_test[:QUICK_TEST]
        epochs = 1
    out = Path(args.out) if args.out else (
        Path(tempfile.gettempdir()) / "simple_convnet_quick_params.npz" if args.quick else SHIPPED_PARAMS)

    augment = Augmenter() if args.augment else None
    if augment is not None:
        print(f"augmentation: {augment!r}")

    network = SimpleConvNet()
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=args.batch_size,
                      optimizer="Adam", optimizer_param={"lr": args.lr},
                      evaluate_sample_num_per_epoch=args.eval_samples, seed=args.seed, lr_decay=args.lr_decay,
                      augment=augment)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    steps = max(trainer.current_iter, 1)
    print(f"trained {trainer.current_iter} steps in {wall:.1f} s ({1000 * wall / steps:.1f} ms per step incl. evaluation)")

    path = network.save_params(out)
    print(f"Saved Network Parameters to {path}")
    fig = plot_accuracy(trainer, f"SimpleConvNet{' + augmentation' if augment else ''}: "
                                 f"test acc {trainer.final_test_acc:.4f}")
    finish_figure(fig, args, default_name="train_convnet.png")


if __name__ == "__main__":
    main()
