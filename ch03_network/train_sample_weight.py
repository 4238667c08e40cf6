"""Train the weights that chapter 3's inference scripts load (``sample_weight.npz``).

The book ships trained weights without the code that made them. This script trains exactly the network of
``neuralnet_mnist``: 784 -> 50 -> 100 -> 10, two sigmoid hidden layers, softmax output, with this library's
layers (Affine, Sigmoid, SoftmaxWithLoss), Xavier initialisation and Adam, one shuffled pass over the
60000 training images per epoch. The result is saved through ``common.io.save_params`` as float32 arrays
W1 b1 W2 b2 W3 b3 (about 180 KB). The same seed gives the same file.

Run ``python -m ch03_network.train_sample_weight`` (``--out PATH`` to write elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ch03_network.neuralnet_mnist import PARAM_SHAPES, WEIGHT_FILE, init_network, predict
from common.cli import make_parser, seed_everything
from common.io import save_params
from common.layers import Affine, Sigmoid, SoftmaxWithLoss
from common.optimizer import Adam
from common.weight_init import init_weight
from dataset.mnist import load_mnist

__all__ = ["init_params", "build_layers", "train", "batch_accuracy", "main"]


def init_params() -> dict[str, np.ndarray]:
    """Xavier-initialised float32 weights (std sqrt(1/fan_in), right for sigmoid) and zero biases,
    with the shapes of :data:`PARAM_SHAPES`. Draws from NumPy's global generator."""
    params = {}
    for key, shape in PARAM_SHAPES.items():
        if key.startswith("W"):
            params[key] = init_weight(shape, "xavier", dtype=np.float32)
        else:
            params[key] = np.zeros(shape, dtype=np.float32)
    return params


def build_layers(params: dict[str, np.ndarray]) -> list:
    """Affine1 - Sigmoid - Affine2 - Sigmoid - Affine3 on the arrays of ``params`` (shared, not copied)."""
    return [
        Affine(params["W1"], params["b1"]), Sigmoid(),
        Affine(params["W2"], params["b2"]), Sigmoid(),
        Affine(params["W3"], params["b3"]),
    ]


def batch_accuracy(params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray, batch_size: int = 1000) -> float:
    """Accuracy of :func:`ch03_network.neuralnet_mnist.predict` on x (N, 784) and labels t (N,), in batches."""
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int(np.sum(predict(params, x[i:i + batch_size]).argmax(axis=1) == t[i:i + batch_size]))
    return correct / len(x)


def train(params: dict[str, np.ndarray], x_train: np.ndarray, t_train: np.ndarray, x_test: np.ndarray,
          t_test: np.ndarray, epochs: int, batch_size: int, lr: float, rng: np.random.Generator) -> list[float]:
    """Train ``params`` in place with Adam for ``epochs`` shuffled passes; returns the test accuracy per epoch.

    Args:
        x_train, x_test: (N, 784) float32 images. t_train, t_test: (N,) integer labels.
    """
    layers = build_layers(params)
    last_layer = SoftmaxWithLoss()
    optimizer = Adam(lr=lr)
    grad_of = {"W1": (0, "dW"), "b1": (0, "db"), "W2": (2, "dW"), "b2": (2, "db"), "W3": (4, "dW"), "b3": (4, "db")}
    iters_per_epoch = max(len(x_train) // batch_size, 1)
    test_acc = []
    bar = tqdm(total=epochs * iters_per_epoch, desc="training 784-50-100-10", unit="it")
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(len(x_train))
        for k in range(iters_per_epoch):
            idx = perm[k * batch_size:(k + 1) * batch_size]
            out = x_train[idx]
            for layer in layers:
                out = layer.forward(out)
            loss = last_layer.forward(out, t_train[idx])
            dout = last_layer.backward()
            for layer in reversed(layers):
                dout = layer.backward(dout)
            optimizer.update(params, {key: getattr(layers[i], name) for key, (i, name) in grad_of.items()})
            bar.update()
        test_acc.append(batch_accuracy(params, x_test, t_test))
        bar.set_postfix(loss=f"{float(loss):.3f}", test_acc=f"{test_acc[-1]:.4f}")
        tqdm.write(f"epoch {epoch}: test acc {test_acc[-1]:.4f}")
    bar.close()
    return test_acc


def main(argv: Sequence[str] | None = None) -> float:
    """Train, save the parameter file and print its test accuracy (as ``neuralnet_mnist`` measures it)."""
    parser = make_parser("Train chapter 3's 784-50-100-10 sigmoid network and write sample_weight.npz",
                         quick=True, figure=False)
    parser.add_argument("--epochs", type=int, default=None, help="passes over the training set (default 10; 2 with --quick)")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001)")
    parser.add_argument("--out", metavar="PATH", default=str(WEIGHT_FILE),
                        help="where to write the .npz (default: sample_weight.npz beside this script)")
    args = parser.parse_args(argv)
    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    rng = seed_everything(args.seed)
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)
    if args.quick:
        x_train, t_train, x_test, t_test = x_train[:2000], t_train[:2000], x_test[:1000], t_test[:1000]
    epochs = args.epochs if args.epochs is not None else (2 if args.quick else 10)

    params = init_params()
    train(params, x_train, t_train, x_test, t_test, epochs, args.batch_size, args.lr, rng)
    path = save_params({key: params[key].astype(np.float32) for key in PARAM_SHAPES}, Path(args.out))
    accuracy = batch_accuracy(init_network(path), x_test, t_test)
    print(f"saved {path} ({path.stat().st_size} bytes); test accuracy of the saved weights: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
