"""Chapter 4.4.2: the gradient of a loss with respect to a weight matrix, on a tiny network.

``simpleNet`` has one 2x3 weight matrix W; for x = [0.6, 0.9] and the one-hot label t = [0, 0, 1], the
loss is the cross-entropy of softmax(x W), and ``numerical_gradient`` gives dW (2, 3): how much the loss
changes when each weight moves a little. The net computes in float64 because its purpose is numerical
differentiation (float32 rounding would dominate the step h = 1e-4).

Run ``python -m ch04_learning.gradient_simplenet``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, seed_everything
from common.functions import cross_entropy_error, softmax
from common.gradient import numerical_gradient

__all__ = ["simpleNet", "main"]


class simpleNet:  # the book's class name
    """z = x W with W (2, 3) drawn from a standard normal; loss = cross-entropy of softmax(z).

    Args:
        dtype: of W; float64 by default (see the module docstring).
    """

    def __init__(self, dtype=np.float64) -> None:
        self.W = np.random.randn(2, 3).astype(dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x (2,) or (N, 2) -> scores (3,) or (N, 3)."""
        return np.asarray(x, dtype=self.W.dtype) @ self.W

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Cross-entropy of softmax(x W) against t (one-hot (3,) / (N, 3), or labels)."""
        return cross_entropy_error(softmax(self.predict(x)), t)


def main(argv: Sequence[str] | None = None) -> np.ndarray:
    """Print W, the prediction, the loss and the numerical gradient dW. Returns dW (2, 3)."""
    args = make_parser("Numerical gradient of a 2x3 weight matrix (chapter 4)", quick=True,
                       figure=False).parse_args(argv)
    seed_everything(args.seed)
    net = simpleNet()
    x = np.array([0.6, 0.9], dtype=np.float64)
    t = np.array([0, 0, 1], dtype=np.float64)
    p = net.predict(x)
    print("W =", net.W, sep="\n")
    print("prediction:", p, "-> class", np.argmax(p))
    print("loss:", net.loss(x, t))

    def f(W: np.ndarray) -> float:
        return net.loss(x, t)

    dW = numerical_gradient(f, net.W)
    print("dW =", dW, sep="\n")
    return dW


if __name__ == "__main__":
    main(sys.argv[1:])
