"""Chapter 4.5.1: a two-layer network (sigmoid hidden layer, softmax output) that learns from gradients.

``TwoLayerNet`` keeps its parameters in ``params`` (W1 (D, H), b1 (H,), W2 (H, K), b2 (K,); float32 by
default) and offers two ways to get the gradient of the loss: ``numerical_gradient`` (chapter 4's central
differences, two forward passes per parameter: very slow) and ``gradient`` (the same gradient worked out
analytically by backpropagation, which chapter 5 explains). The loss is the cross-entropy of the softmax,
computed through log-softmax so that it is exact and ``gradient`` is its true derivative.

Run ``python -m ch04_learning.two_layer_net`` to compare the two gradients (float64, random data).

Notation: N batch size, D input size, H hidden size, K output size (classes).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, positive_int, seed_everything
from common.functions import labels_from_target, sigmoid, softmax, softmax_loss
from common.gradient import numerical_gradient
from common.network import as_float64, batched_accuracy

__all__ = ["TwoLayerNet", "compare_gradients", "main"]


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class TwoLayerNet:
    """D -> H (sigmoid) -> K (softmax).

    Args:
        input_size, hidden_size, output_size: D, H, K.
        weight_init_std: weights are drawn as weight_init_std * N(0, 1) from NumPy's global generator.
        dtype: of the parameters; float32 by default, float64 for gradient checks.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, weight_init_std: float = 0.01,
                 dtype=np.float32) -> None:
        _check_sizes(input_size=input_size, hidden_size=hidden_size, output_size=output_size)
        self.params: dict[str, np.ndarray] = {
            "W1": (weight_init_std * np.random.randn(input_size, hidden_size)).astype(dtype),
            "b1": np.zeros(hidden_size, dtype=dtype),
            "W2": (weight_init_std * np.random.randn(hidden_size, output_size)).astype(dtype),
            "b2": np.zeros(output_size, dtype=dtype),
        }

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        d = self.params["W1"].shape[0]
        if x.ndim not in (1, 2) or x.shape[-1] != d:
            raise ValueError(f"expected input of shape (N, {d}) or ({d},), got {x.shape}")
        return x

    def _logits(self, x: np.ndarray) -> np.ndarray:
        """x (N, D) -> a2 (N, K), the scores before the softmax."""
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        z1 = sigmoid(self._check_input(x) @ W1 + b1)  # (N, H)
        return z1 @ W2 + b2

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities: x (N, D) -> (N, K), or (D,) -> (K,)."""
        return softmax(self._logits(x))

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean cross-entropy of the prediction; t labels (N,) or one-hot (N, K)."""
        return softmax_loss(self._logits(x), t)

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int | None = None) -> float:
        """Fraction of x (N, D) classified as t (labels (N,) or one-hot (N, K)).

        ``batch_size`` evaluates in chunks of that many rows (the last may be shorter) to bound memory;
        None evaluates all at once.
        """
        x = self._check_input(x)
        return batched_accuracy(self, x, t, max(len(x), 1) if batch_size is None else batch_size)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Central-difference gradient of ``loss(x, t)`` for every parameter (slow), as float64 arrays.

        The differences are taken on a float64 copy of the network (``as_float64``): with float32 arithmetic a
        step of h = 1e-4 changes the loss by about as much as its rounding error.
        """
        twin = as_float64(self)
        x64 = np.asarray(x, dtype=np.float64)

        def loss_W(W: np.ndarray) -> float:
            return twin.loss(x64, t)

        return {key: numerical_gradient(loss_W, twin.params[key]) for key in ("W1", "b1", "W2", "b2")}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Analytic gradient of ``loss(x, t)`` (backpropagation) for x (N, D), t labels (N,) or one-hot (N, K).

        Returns a dict of arrays with the parameters' shapes (and dtype, when x has it too).
        """
        x = self._check_input(x)
        if x.ndim != 2:
            raise ValueError(f"gradient expects a batch x of shape (N, D), got {x.shape}")
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        n = x.shape[0]
        t = np.asarray(t)

        # forward
        a1 = x @ W1 + b1  # (N, H)
        z1 = sigmoid(a1)
        a2 = z1 @ W2 + b2  # (N, K)
        y = softmax(a2)

        # backward: d loss / d a2 = (y - t) / N
        dy = y.copy()
        if t.shape == y.shape:
            dy -= t
        else:
            dy[np.arange(n), labels_from_target(t, y.shape[1])] -= 1
        dy /= n
        grads = {"W2": z1.T @ dy, "b2": dy.sum(axis=0)}
        dz1 = dy @ W2.T  # (N, H)
        da1 = dz1 * (1 - z1) * z1  # sigmoid'(a1) = z1 (1 - z1)
        grads["W1"] = x.T @ da1
        grads["b1"] = da1.sum(axis=0)
        return {key: grads[key] for key in ("W1", "b1", "W2", "b2")}


def compare_gradients(network, x: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Mean absolute difference between ``network.numerical_gradient`` and ``network.gradient``, per parameter."""
    grad_numerical = network.numerical_gradient(x, t)
    grad_backprop = network.gradient(x, t)
    return {key: float(np.mean(np.abs(grad_backprop[key] - grad_numerical[key]))) for key in grad_numerical}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Compare the numerical and the analytic gradient on random data in float64; print the differences."""
    parser = make_parser("Compare TwoLayerNet's numerical and analytic gradients (chapter 4)", quick=True, figure=False)
    parser.add_argument("--samples", type=positive_int, default=3, help="batch size of the random data (default 3)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    input_size, hidden_size = (784, 50) if not args.quick else (20, 10)
    network = TwoLayerNet(input_size, hidden_size, 10, dtype=np.float64)
    x = np.random.rand(args.samples, input_size)
    t = np.random.randint(0, 10, size=args.samples)
    diffs = compare_gradients(network, x, t)
    print(f"network {input_size}-{hidden_size}-10, {args.samples} random samples, float64")
    print("mean |backprop - numerical| per parameter:")
    for key, value in diffs.items():
        print(f"{key}: {value:.3e}")
    return diffs


if __name__ == "__main__":
    main(sys.argv[1:])
