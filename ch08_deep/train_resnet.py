"""Train a small residual CNN (``ch08_deep.residual.SmallResNet``) on MNIST for a few epochs (book section 8.2.3).

Stem conv3x3-BN-relu, three residual blocks (16, 32, 64 channels; the last two halve the image with stride 2 and a
1x1 projection shortcut), global average pooling, affine, softmax. Adam, lr 0.003 halved after every epoch (batch
normalisation tolerates the larger rate; with the book's 0.001 and no decay three epochs reach only about 97.5 %).
The weights (with the batch-norm running statistics) are written only when ``--out`` is given.
"""

from __future__ import annotations

import sys

from ch08_deep.residual import SmallResNet
from common.cli import make_parser, positive_int, seed_everything
from common.plotting import finish_figure
from common.training import add_training_options, plot_accuracy, resolve_output, run_training
from dataset.mnist import load_mnist


def main(argv: list[str] | None = None) -> None:
    parser = add_training_options(make_parser(__doc__.splitlines()[0], quick=True), epochs=3, lr=0.003, lr_decay=0.5)
    parser.add_argument("--channels", type=positive_int, nargs="+", default=[16, 32, 64],
                        help="channels of the stages (default 16 32 64)")
    parser.add_argument("--out", default=None, help="write the trained weights to this .npz file")
    args = parser.parse_args(argv)
    out = resolve_output(args.out, "resnet_params.npz") if args.out else None
    seed_everything(args.seed)

    network = SmallResNet(channels=(4, 8) if args.quick else tuple(args.channels))
    print(f"SmallResNet channels {network.channels}: {sum(p.size for p in network.params.values()):,} parameters")
    trainer = run_training(network, load_mnist(flatten=False), args, quick_sizes=(200, 100))
    print(f"SmallResNet test accuracy: {trainer.final_test_acc:.4f}")
    if out is not None:
        print(f"Saved Network Parameters to {network.save_params(out)}")
    finish_figure(plot_accuracy(trainer, f"SmallResNet: test acc {trainer.final_test_acc:.4f}"), args,
                  default_name="train_resnet.png")


if __name__ == "__main__":
    main(sys.argv[1:])
