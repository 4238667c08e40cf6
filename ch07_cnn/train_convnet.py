"""Train chapter 7's SimpleConvNet on MNIST (book: 20 epochs, batch 100, Adam lr 0.001 -> about 98.9 %).

``--lr-decay`` and ``--augment`` (see ``common.augment``) go beyond the book.
Writes the trained weights to ``params.npz`` in the current directory (the book's file name) or to ``--out``, checked
before training starts, and plots train/test accuracy per epoch. The shipped ``ch07_cnn/params.npz`` is never
replaced unless ``--out`` names it.
"""

from __future__ import annotations

import sys

from ch07_cnn.simple_convnet import SimpleConvNet
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure
from common.training import add_training_options, plot_accuracy, resolve_output, run_training
from dataset.mnist import load_mnist


def main(argv: list[str] | None = None):
    """Train, save the weights and plot; returns the finished Trainer."""
    parser = add_training_options(make_parser(__doc__.splitlines()[0], quick=True))
    parser.add_argument("--out", default=None, help="where to write the weights (default ./params.npz)")
    args = parser.parse_args(argv)
    out = resolve_output(args.out, "params.npz")
    seed_everything(args.seed)

    network = SimpleConvNet()
    trainer = run_training(network, load_mnist(flatten=False), args, quick_sizes=(500, 100))
    print(f"Saved Network Parameters to {network.save_params(out)}")
    title = f"SimpleConvNet{' + augmentation' if args.augment else ''}: test acc {trainer.final_test_acc:.4f}"
    finish_figure(plot_accuracy(trainer, title), args, default_name="train_convnet.png")
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])
