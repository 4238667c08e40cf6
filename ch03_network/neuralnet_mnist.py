"""Chapter 3.6.2: inference with a trained three-layer network, one test image at a time.

The network is 784 -> 50 -> 100 -> 10: two sigmoid hidden layers and a softmax output. Its weights come
from ``sample_weight.npz`` beside this file (float32 arrays W1 (784, 50), b1 (50,), W2 (50, 100),
b2 (100,), W3 (100, 10), b3 (10,)), written by ``python -m ch03_network.train_sample_weight``. The book's
own weights were a pickle (which can run code when loaded); this file is a plain ``.npz``.

Run ``python -m ch03_network.neuralnet_mnist``; it prints ``Accuracy:`` over the 10000 test images.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.cli import make_parser, seed_everything
from common.functions import sigmoid, softmax
from common.io import load_params
from dataset.mnist import load_mnist

__all__ = ["WEIGHT_FILE", "PARAM_SHAPES", "get_data", "init_network", "predict", "main"]

WEIGHT_FILE = Path(__file__).with_name("sample_weight.npz")

PARAM_SHAPES: dict[str, tuple[int, ...]] = {
    "W1": (784, 50), "b1": (50,),
    "W2": (50, 100), "b2": (100,),
    "W3": (100, 10), "b3": (10,),
}


def get_data() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set: images (10000, 784) float32 in [0, 1] and labels (10000,) uint8."""
    _, (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)
    return x_test, t_test


def init_network(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """Load the trained parameters (default: ``sample_weight.npz`` beside this module).

    Returns:
        dict with W1 (784, 50), b1 (50,), W2 (50, 100), b2 (100,), W3 (100, 10), b3 (10,), float32.
    """
    path = WEIGHT_FILE if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"weight file {str(path)!r} not found; create it with `python -m ch03_network.train_sample_weight`"
        )
    network = load_params(path)
    for key, shape in PARAM_SHAPES.items():
        if key not in network:
            raise ValueError(f"{str(path)!r} has no array {key!r}; expected keys {list(PARAM_SHAPES)}")
        if network[key].shape != shape:
            raise ValueError(f"{str(path)!r}: {key} has shape {network[key].shape}, expected {shape}")
    return network


def predict(network: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Class probabilities of one image x (784,) -> (10,), or of a batch (N, 784) -> (N, 10).

    a1 = x W1 + b1, z1 = sigmoid(a1); a2 = z1 W2 + b2, z2 = sigmoid(a2); y = softmax(z2 W3 + b3).
    """
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.shape[-1] != W1.shape[0]:
        raise ValueError(f"predict expects x of shape ({W1.shape[0]},) or (N, {W1.shape[0]}), got {x.shape}")
    a1 = x @ W1 + b1
    z1 = sigmoid(a1)
    a2 = z1 @ W2 + b2
    z2 = sigmoid(a2)
    a3 = z2 @ W3 + b3
    return softmax(a3)


def main(argv: Sequence[str] | None = None) -> float:
    """Classify the test images one by one and print the accuracy. Returns it."""
    parser = make_parser("Three-layer network inference on MNIST, one image at a time (chapter 3)",
                         quick=True, figure=False)
    parser.add_argument("--params", "--weights", dest="weights", metavar="PATH", default=None,
                        help="parameter file (.npz; default: sample_weight.npz beside this script)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    x, t = get_data()
    if args.quick:
        x, t = x[:1000], t[:1000]
    network = init_network(args.weights)

    accuracy_cnt = 0
    for i in range(len(x)):
        y = predict(network, x[i])
        p = np.argmax(y)  # the most probable class
        if p == t[i]:
            accuracy_cnt += 1

    accuracy = accuracy_cnt / len(x)
    print("Accuracy:" + str(accuracy))
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1:])
