"""Chapter 6.1.7: the paths of the optimizers on f(x, y) = x**2 / 20 + y**2.

Every optimizer starts at (-7, 2) and takes 30 steps with the book's learning rates (SGD 0.95, Momentum 0.1,
AdaGrad 1.5, Adam 0.3; RMSprop 0.1 and Nesterov 0.1 are extras). The function is elongated along x, so plain
SGD zig-zags in y while creeping along x; Momentum overshoots and rolls back; AdaGrad, RMSprop and Adam scale each
coordinate's step separately.

Run ``python -m ch06_techniques.optimizer_compare_naive`` (``--optimizer adam`` draws one path alone).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, positive_float, positive_int, seed_everything
from common.optimizer import OPTIMIZERS, make_optimizer
from common.plotting import finish_figure, plt

__all__ = ["f", "df", "LEARNING_RATES", "optimizer_path", "main"]

# name -> (display name, learning rate); the first four are the book's.
LEARNING_RATES = {
    "sgd": ("SGD", 0.95),
    "momentum": ("Momentum", 0.1),
    "adagrad": ("AdaGrad", 1.5),
    "adam": ("Adam", 0.3),
    "rmsprop": ("RMSprop", 0.1),
    "nesterov": ("Nesterov", 0.1),
}


def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x**2 / 20 + y**2, element-wise."""
    return x ** 2 / 20.0 + y ** 2


def df(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient (x / 10, 2 y)."""
    return x / 10.0, 2.0 * y


def optimizer_path(name: str, lr: float, steps: int = 30, start: tuple[float, float] = (-7.0, 2.0)) -> np.ndarray:
    """Positions visited by optimizer ``name`` from ``start``: a float64 array (steps + 1, 2), start included."""
    params = {"x": np.array([start[0]], dtype=np.float64), "y": np.array([start[1]], dtype=np.float64)}
    optimizer = make_optimizer(name, lr=lr)
    path = np.empty((steps + 1, 2), dtype=np.float64)
    for i in range(steps):
        path[i] = params["x"][0], params["y"][0]
        gx, gy = df(params["x"], params["y"])
        optimizer.update(params, {"x": gx, "y": gy})
    path[steps] = params["x"][0], params["y"][0]
    return path


def main(argv: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Draw the optimizers' paths over the contour lines of f. Returns name -> path (steps + 1, 2)."""
    parser = make_parser("Optimizer paths on f(x, y) = x^2/20 + y^2 (chapter 6.1)", quick=True)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), type=str.lower, default=None,
                        help="draw only this optimizer (default: all six)")
    parser.add_argument("--steps", type=positive_int, default=30, help="updates per optimizer (default 30)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="learning rate for --optimizer (default: the book's)")
    args = parser.parse_args(argv)
    if args.lr is not None and args.optimizer is None:
        parser.error("--lr needs --optimizer")
    seed_everything(args.seed)

    names = [args.optimizer] if args.optimizer else list(LEARNING_RATES)
    grid = 100 if args.quick else 400
    xs = np.linspace(-10, 10, grid)
    ys = np.linspace(-5, 5, grid)
    gx, gy = np.meshgrid(xs, ys)
    z = f(gx, gy)
    z[z > 7] = 0  # as in the book: only the contours near the minimum

    cols = min(len(names), 3)
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    paths = {}
    for ax, name in zip(axes.flat, names, strict=False):
        label, lr = LEARNING_RATES[name]
        if args.lr is not None:
            lr = args.lr
        path = optimizer_path(name, lr, args.steps)
        paths[label] = path
        print(f"{label} (lr={lr}): after {args.steps} steps at x={path[-1, 0]:.4f}, y={path[-1, 1]:.4f}, "
              f"f={f(path[-1, 0], path[-1, 1]):.5f}")
        ax.contour(gx, gy, z)
        ax.plot(path[:, 0], path[:, 1], "o-", color="red", markersize=3)
        ax.plot(0, 0, "+", color="black", markersize=12)
        ax.set_xlim(-10, 10)
        ax.set_ylim(-10, 10)
        ax.set_title(f"{label} (lr={lr})")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    finish_figure(fig, args, default_name="optimizer_compare_naive.png")
    return paths


if __name__ == "__main__":
    main(sys.argv[1:])
