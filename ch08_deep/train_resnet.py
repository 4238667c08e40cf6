"""Train a small residual CNN (``ch08_deep.residual.SmallResNet``) on MNIST for a few epochs (book section 8.2.3).

Stem conv3x3-BN-relu, three residual blocks (16, 32, 64 channels; the last two halve the image with stride 2 and a
1x1 projection shortcut), global average pooling, affine, softmax. Adam; the weights (with the batch-norm running
statistics) are written only when ``--out`` is given.
"""

from __future__ import annotations

import time

from ch07_cnn.train_convnet import plot_accuracy
from ch08_deep.residual import SmallResNet
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure
from common.trainer import Trainer
from dataset.mnist import load_mnist

QUICK_TRAIN, QUICK_TEST = 200, 100


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True)
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    parser.add_argument("--lr-decay", type=float, default=None, help="per-epoch learning-rate factor (default: off)")
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64],
                        help="channels of the stages (default 16 32 64)")
    parser.add_argument("--eval-samples", type=int, default=1000,
                        help="samples of each set scored after every epoch (default 1000)")
    parser.add_argument("--out", default=None, help="write the trained weights to this .npz file")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    epochs = args.epochs
    channels = tuple(args.channels)
    if args.quick:
        x_train, t_train = x_train[:QUICK_TRAIN], t_train[:QUICK_TRAIN]
        x_test, t_test = x_test[:QUICK_TEST], t_test[:QUICK_TEST]
        epochs, channels = 1, (4, 8)

    network = SmallResNet(channels=channels)
    n_params = sum(p.size for p in network.params.values())
    print(f"SmallResNet channels {channels}: {n_params:,} parameters")
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=args.batch_size,
                      optimizer="Adam", optimizer_param={"lr": args.lr},
                      evaluate_sample_num_per_epoch=args.eval_samples, seed=args.seed, lr_decay=args.lr_decay)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    steps = max(trainer.current_iter, 1)
    print(f"trained {trainer.current_iter} steps in {wall:.1f} s ({1000 * wall / steps:.1f} ms per step incl. evaluation)")
    print(f"SmallResNet test accuracy: {trainer.final_test_acc:.4f}")
    if args.out:
        print(f"Saved Network Parameters to {network.save_params(args.out)}")
    finish_figure(plot_accuracy(trainer, f"SmallResNet: test acc {trainer.final_test_acc:.4f}"), args,
                  default_name="train_resnet.png")


if __name__ == "__main__":
    main()
