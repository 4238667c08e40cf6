"""Train chapter 8's DeepConvNet on MNIST (book: 20 epochs, batch 100, Adam lr 0.001 -> about 99.4 %).

``--augment`` trains on randomly shifted, rotated, scaled and brightness/contrast-jittered batches
(:class:`common.augment.Augmenter`); it usually wants more epochs and ``--lr-decay``.
Writes the weights to ``deep_convnet_params.npz`` in the current directory (the book's file name) or to ``--out``,
checked before training starts. The shipped ``ch08_deep/deep_convnet_params.npz`` is never replaced unless
``--out`` names it.
"""

from __future__ import annotations

import sys

from ch08_deep.deep_convnet import DeepConvNet
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure
from common.training import add_training_options, plot_accuracy, resolve_output, run_training
from dataset.mnist import load_mnist


def main(argv: list[str] | None = None):
    """Train, save the weights and plot; returns the finished Trainer."""
    parser = add_training_options(make_parser(__doc__.splitlines()[0], quick=True))
    parser.add_argument("--out", default=None, help="where to write the weights (default ./deep_convnet_params.npz)")
    args = parser.parse_args(argv)
    out = resolve_output(args.out, "deep_convnet_params.npz")
    seed_everything(args.seed)

    network = DeepConvNet()
    trainer = run_training(network, load_mnist(flatten=False), args, quick_sizes=(300, 100))
    print(f"Saved Network Parameters to {network.save_params(out)}")
    title = f"DeepConvNet{' + augmentation' if args.augment else ''}: test acc {trainer.final_test_acc:.4f}"
    finish_figure(plot_accuracy(trainer, title), args, default_name="train_deepnet.png")
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])
