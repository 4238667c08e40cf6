"""Chapter 4.3.2-4.3.3: the numerical derivative of y = 0.01 x^2 + 0.1 x and its tangent lines.

The central difference (f(x+h) - f(x-h)) / 2h with h = 1e-4 gives about 0.2 at x = 5 and 0.3 at x = 10
(the exact derivative 0.02 x + 0.1); the script prints both and draws the curve with the tangent lines at
those points. Numerical differentiation is done in float64: float32's seven digits would swamp a step of
1e-4 in rounding error.

Run ``python -m ch04_learning.gradient_1d``; the figure goes to figures/gradient_1d.png (or ``--save``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from common.cli import make_parser, seed_everything
from common.gradient import numerical_diff
from common.plotting import finish_figure, plt

__all__ = ["function_1", "tangent_line", "main"]


def function_1(x):
    """y = 0.01 x^2 + 0.1 x, for a number or an array."""
    return 0.01 * x**2 + 0.1 * x


def tangent_line(f: Callable, x: float) -> Callable:
    """The tangent of ``f`` at ``x`` with the numerical slope: t -> d*t + (f(x) - d*x)."""
    d = numerical_diff(f, x)
    intercept = f(x) - d * x
    return lambda t: d * t + intercept


def main(argv: Sequence[str] | None = None) -> tuple[float, float]:
    """Print the numerical derivatives at 5 and 10 and plot the tangents. Returns the two derivatives."""
    args = make_parser("Numerical derivative and tangent lines of 0.01x^2 + 0.1x (chapter 4)",
                       quick=True).parse_args(argv)
    seed_everything(args.seed)
    d5 = numerical_diff(function_1, 5.0)
    d10 = numerical_diff(function_1, 10.0)
    print(d5)
    print(d10)

    x = np.arange(0.0, 20.0, 0.1, dtype=np.float64)
    fig, ax = plt.subplots()
    ax.plot(x, function_1(x), label="f(x) = 0.01x² + 0.1x")
    ax.plot(x, tangent_line(function_1, 5.0)(x), "--", label="tangent at x = 5")
    ax.plot(x, tangent_line(function_1, 10.0)(x), ":", label="tangent at x = 10")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend()
    finish_figure(fig, args, default_name="gradient_1d.png")
    return d5, d10


if __name__ == "__main__":
    main(sys.argv[1:])
