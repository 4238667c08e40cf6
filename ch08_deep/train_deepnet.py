"""Train chapter 8's DeepConvNet on MNIST (book: 20 epochs, batch 100, Adam lr 0.001 -> about 99.4 %).

``--augment`` trains on randomly shifted, rotated, scaled and brightness/contrast-jittered batches
(:class:`common.augment.Augmenter`); it usually wants more epochs and ``--lr-decay``.
Writes the weights to ``ch08_deep/deep_convnet_params.npz`` (or ``--out``); ``--quick`` trains one epoch on a small
subset and writes to a temporary file, never to the shipped one.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ch07_cnn.train_convnet import plot_accuracy
from ch08_deep.deep_convnet import DeepConvNet
from common.augment import Augmenter
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure
from common.trainer import Trainer
from dataset.mnist import load_mnist

SHIPPED_PARAMS = Path(__file__).resolve().with_name("deep_convnet_params.npz")
QUICK_TRAIN, QUICK_TEST = 300, 100


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True)
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    parser.add_argument("--lr-decay", type=float, default=None,
                        help="multiply the learning rate by this factor after every epoch (default: off)")
    parser.add_argument("--augment", action="store_true",
                        help="augment every training batch (shift <= 2 px, rotation <= 10 deg, scale 0.9-1.1, jitter)")
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
        Path(tempfile.gettempdir()) / "deep_convnet_quick_params.npz" if args.quick else SHIPPED_PARAMS)
    augment = Augmenter() if args.augment else None
    if augment is not None:
        print(f"augmentation: {augment!r}")

    network = DeepConvNet()
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
    title = f"DeepConvNet{' + augmentation' if augment else ''}: test acc {trainer.final_test_acc:.4f}"
    finish_figure(plot_accuracy(trainer, title), args, default_name="train_deepnet.png")


if __name__ == "__main__":
    main()
