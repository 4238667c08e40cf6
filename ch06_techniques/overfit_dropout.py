"""Chapter 6.4.3: dropout against overfitting.

The overfitting setting of ``overfit_weight_decay`` (784-(100 x 6)-10 ReLU, 300 MNIST images, SGD lr 0.01,
batch 100) with a Dropout layer (ratio 0.2) after every hidden activation, trained by the Trainer for 301 epochs.
Training accuracy no longer reaches 100 % at once and the train/test gap shrinks. ``--dropout-ratio 0`` runs the
same network without dropout for comparison.

Run ``python -m ch06_techniques.overfit_dropout`` (about 35 s).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch06_techniques.overfit_weight_decay import plot_accuracy
from common.cli import fraction, make_parser, positive_float, positive_int, seed_everything
from common.multi_layer_net_extend import MultiLayerNetExtend
from common.plotting import finish_figure
from common.trainer import Trainer
from dataset.mnist import load_mnist

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> Trainer:
    """Train with dropout, print the accuracies, plot the curves. Returns the Trainer."""
    parser = make_parser("Dropout on an overfitting network, 300 MNIST images (chapter 6.4.3)", quick=True)
    parser.add_argument("--dropout-ratio", type=fraction, default=0.2, help="drop probability (default 0.2; 0 = off)")
    parser.add_argument("--epochs", type=positive_int, default=301, help="epochs (default 301)")
    parser.add_argument("--train-size", type=positive_int, default=300, help="training images (default 300)")
    parser.add_argument("--lr", type=positive_float, default=0.01, help="SGD learning rate (default 0.01)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 3)
    seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True)
    x_train, t_train = x_train[:args.train_size], t_train[:args.train_size]
    if args.quick:
        x_test, t_test = x_test[:500], t_test[:500]

    use_dropout = args.dropout_ratio > 0
    network = MultiLayerNetExtend(input_size=784, hidden_size_list=[100] * 6, output_size=10,
                                  use_dropout=use_dropout, dropout_ration=args.dropout_ratio)
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=args.epochs, mini_batch_size=args.batch_size,
                      optimizer="sgd", optimizer_param={"lr": args.lr}, seed=args.seed)
    trainer.train()
    train_acc, test_acc = trainer.train_acc_list[-1], trainer.test_acc_list[-1]
    print(f"dropout ratio={args.dropout_ratio}: final train acc {train_acc:.4f}, test acc {test_acc:.4f}, "
          f"gap {train_acc - test_acc:.4f}")

    title = f"dropout ratio {args.dropout_ratio}" if use_dropout else "without dropout"
    fig = plot_accuracy(trainer.train_acc_list, trainer.test_acc_list, title)
    suffix = "" if use_dropout else "_none"
    finish_figure(fig, args, default_name=f"overfit_dropout{suffix}.png")
    return trainer


if __name__ == "__main__":
    main(sys.argv[1:])
