"""Train chapter 8's DeepConvNet on MNIST (book: 20 epochs, batch 100, Adam lr 0.001 -> about 99.4 %).

``--augment`` trains on randomly shifted, rotated, scaled and brightness/contrast-jittered batches
(:class:`common.augment.Augmenter`); it usually wants more epochs and ``--lr-decay``.
Writes the weights to ``ch08_deep/deep_convnet_params.npz`` (or ``--out``); ``--quick`` trains one epoch on a small
subset and writes to a temporary file, never to the shipped one.
"""

from __future__ import annotations

from pathlib import Path

from ch07_cnn.training import add_training_options, plot_accuracy, train_network, weights_path
from ch08_deep.deep_convnet import DeepConvNet
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure
from dataset.mnist import load_mnist

SHIPPED_PARAMS = Path(__file__).resolve().with_name("deep_convnet_params.npz")


def main(argv: list[str] | None = None) -> None:
    parser = add_training_options(make_parser(__doc__.splitlines()[0], quick=True))
    parser.add_argument("--out", default=None,
                        help=f"where to write the weights (default {SHIPPED_PARAMS}; with --quick a temporary file)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    network = DeepConvNet()
    trainer = train_network(network, load_mnist(flatten=False), args, quick_sizes=(300, 100))
    path = network.save_params(weights_path(args, SHIPPED_PARAMS, "deep_convnet_quick_params.npz"))
    print(f"Saved Network Parameters to {path}")
    title = f"DeepConvNet{' + augmentation' if args.augment else ''}: test acc {trainer.final_test_acc:.4f}"
    finish_figure(plot_accuracy(trainer, title), args, default_name="train_deepnet.png")


if __name__ == "__main__":
    main()
