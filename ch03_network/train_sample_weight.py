"""Train the weights that chapter 3's inference scripts load (``sample_weight.npz``).

The book ships trained weights without the code that made them. This script trains exactly the network of
``neuralnet_mnist``: 784 -> 50 -> 100 -> 10, two sigmoid hidden layers, softmax output — a
:class:`common.multi_layer_net.MultiLayerNet` with Xavier initialisation — with the chapter 6 Trainer and Adam
(one shuffled pass over the 60000 training images per epoch). Its float32 parameters W1 b1 W2 b2 W3 b3 (about
180 KB) are exactly what ``neuralnet_mnist.init_network`` reads. The same seed gives the same file.

Run ``python -m ch03_network.train_sample_weight``: it writes ``sample_weight.npz`` in the current directory (the
book's file name), or ``--out PATH``, checked before training; the shipped ``ch03_network/sample_weight.npz`` is
replaced only when ``--out`` names it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch03_network.neuralnet_mnist import PARAM_SHAPES, init_network, predict
from common.cli import make_parser, positive_float, positive_int, seed_everything
from common.io import save_params
from common.multi_layer_net import MultiLayerNet
from common.trainer import Trainer
from common.training import resolve_output
from dataset.mnist import load_mnist

__all__ = ["build_network", "main"]


def build_network() -> MultiLayerNet:
    """The 784-50-100-10 sigmoid network, Xavier-initialised (std sqrt(1/fan_in)) from NumPy's global generator;
    its ``params`` have the keys and shapes of :data:`ch03_network.neuralnet_mnist.PARAM_SHAPES`."""
    return MultiLayerNet(784, [50, 100], 10, activation="sigmoid", weight_init_std="xavier")


def main(argv: Sequence[str] | None = None) -> float:
    """Train, save the parameter file and print its test accuracy (as ``neuralnet_mnist`` measures it)."""
    parser = make_parser("Train chapter 3's 784-50-100-10 sigmoid network and write sample_weight.npz",
                         quick=True, figure=False)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="passes over the training set (default 10; 2 with --quick)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=positive_float, default=0.001, help="Adam learning rate (default 0.001)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="where to write the .npz (default: ./sample_weight.npz)")
    args = parser.parse_args(argv)
    out = resolve_output(args.out, "sample_weight.npz")
    seed_everything(args.seed)
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)
    if args.quick:
        x_train, t_train, x_test, t_test = x_train[:2000], t_train[:2000], x_test[:1000], t_test[:1000]
    epochs = args.epochs if args.epochs is not None else (2 if args.quick else 10)

    network = build_network()
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=epochs, mini_batch_size=args.batch_size,
                      optimizer="adam", optimizer_param={"lr": args.lr}, evaluate_sample_num_per_epoch=1000,
                      seed=args.seed)
    trainer.train()
    path = save_params({key: network.params[key] for key in PARAM_SHAPES}, out)
    params = init_network(path)
    accuracy = sum(int((predict(params, x_test[i:i + 1000]).argmax(axis=1) == t_test[i:i + 1000]).sum())
                   for i in range(0, len(x_test), 1000)) / len(x_test)
    print(f"saved {path} ({path.stat().st_size} bytes); test accuracy of the saved weights: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1:])
