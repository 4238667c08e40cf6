"""Chapter 4.4: the gradient of f(x0, x1) = x0^2 + x1^2, drawn as arrows of the negative gradient.

The negative gradient points to the minimum at the origin and is longer farther away. Points are passed as
an (N, 2) array, one point per row, and :func:`numerical_gradient_points` differentiates ``f`` at each row
(the book's script passed a (2, N) array and relied on a coincidence of this particular f to get the right
arrows). float64, as for every numerical gradient.

Run ``python -m ch04_learning.gradient_2d``; the figure goes to figures/gradient_2d.png (or ``--save``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from common.cli import make_parser, seed_everything
from common.gradient import numerical_gradient
from common.plotting import finish_figure, plt

__all__ = ["function_2", "numerical_gradient_points", "main"]


def function_2(x: np.ndarray):
    """x0^2 + x1^2 (generally the sum of squares) of one point x (D,), or of each row of x (N, D) -> (N,)."""
    x = np.asarray(x)
    return np.sum(x**2, axis=-1)


def numerical_gradient_points(f: Callable[[np.ndarray], float], points: np.ndarray) -> np.ndarray:
    """The numerical gradient of a scalar function ``f`` of one point at each row of ``points``.

    Args:
        f: takes one point (D,) and returns a number.
        points: (N, D) float array.

    Returns:
        (N, D) array of the gradients, same dtype as ``points``.
    """
    points = np.asarray(points)
    if points.ndim != 2:
        raise ValueError(f"points must be an (N, D) array with one point per row, got shape {points.shape}")
    grad = np.zeros_like(points)
    for i in range(points.shape[0]):
        grad[i] = numerical_gradient(f, points[i].copy())
    return grad


def main(argv: Sequence[str] | None = None) -> np.ndarray:
    """Plot the negative gradient field on a grid over [-2, 2.5)^2. Returns the (N, 2) gradients."""
    args = make_parser("Gradient field of x0^2 + x1^2 (chapter 4)", quick=True).parse_args(argv)
    seed_everything(args.seed)
    x0 = np.arange(-2, 2.5, 0.25, dtype=np.float64)
    x1 = np.arange(-2, 2.5, 0.25, dtype=np.float64)
    X, Y = np.meshgrid(x0, x1)
    points = np.stack([X.ravel(), Y.ravel()], axis=1)  # (N, 2), one grid point per row
    grad = numerical_gradient_points(function_2, points)

    fig, ax = plt.subplots()
    ax.quiver(points[:, 0], points[:, 1], -grad[:, 0], -grad[:, 1], angles="xy", color="#666666")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.grid()
    ax.set_title("−∇f(x0, x1), f = x0² + x1²")
    finish_figure(fig, args, default_name="gradient_2d.png")
    return grad


if __name__ == "__main__":
    main(sys.argv[1:])
