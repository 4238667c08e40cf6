"""Chapter 4.4.1: gradient descent on f(x0, x1) = x0^2 + x1^2 from (-3, 4), learning rate 0.1, 20 steps.

Each step x <- x - lr * grad f(x) multiplies x by 0.8 here, so the path runs straight to the origin; the
script prints the final point and plots the path. Try ``--lr 10`` (diverges) or ``--lr 1e-10`` (barely
moves), the book's examples of a learning rate too large and too small.

Run ``python -m ch04_learning.gradient_method``; the figure goes to figures/gradient_method.png (or ``--save``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from ch04_learning.gradient_2d import function_2
from common.cli import make_parser, non_negative_int, positive_float, seed_everything
from common.gradient import numerical_gradient
from common.plotting import finish_figure, plt

__all__ = ["gradient_descent_path", "main"]


def gradient_descent_path(f: Callable[[np.ndarray], float], init_x: np.ndarray, lr: float = 0.01,
                          step_num: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent with numerical gradients, keeping the path.

    Args:
        f: scalar function of x (D,).
        init_x: starting point (D,); not modified.

    Returns:
        (x, history): the final point (D,) float64, and every point visited (step_num + 1, D), the start
        first and x last.
    """
    x = np.array(init_x, dtype=np.float64)
    history = [x.copy()]
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
        history.append(x.copy())
    return x, np.array(history)


def main(argv: Sequence[str] | None = None) -> np.ndarray:
    """Run gradient descent, print the final point and plot the path. Returns the path (steps + 1, 2)."""
    parser = make_parser("Gradient descent on x0^2 + x1^2 (chapter 4)", quick=True)
    parser.add_argument("--lr", type=positive_float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--steps", type=non_negative_int, default=20, help="number of steps (default 20)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    init_x = np.array([-3.0, 4.0], dtype=np.float64)
    x, history = gradient_descent_path(function_2, init_x, lr=args.lr, step_num=args.steps)
    print(x)

    fig, ax = plt.subplots()
    ax.plot([-5, 5], [0, 0], "--b")
    ax.plot([0, 0], [-5, 5], "--b")
    ax.plot(history[:, 0], history[:, 1], "o")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-4.5, 4.5)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    ax.set_title(f"gradient descent, lr = {args.lr}, {args.steps} steps")
    finish_figure(fig, args, default_name="gradient_method.png")
    return history


if __name__ == "__main__":
    main(sys.argv[1:])
