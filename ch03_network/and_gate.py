"""Chapter 2.3: the AND gate as a perceptron, y = 1 if 0.5*x1 + 0.5*x2 - 0.7 > 0 else 0.

Run ``python -m ch03_network.and_gate`` to print its truth table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from common.cli import make_parser, seed_everything

__all__ = ["AND", "perceptron", "print_truth_table", "main"]

INPUTS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1), (1, 1))


def perceptron(x1: float, x2: float, w: Sequence[float], b: float) -> int:
    """A two-input perceptron: 1 when w[0]*x1 + w[1]*x2 + b > 0, else 0."""
    x = np.array([x1, x2], dtype=np.float64)
    return int(np.sum(np.asarray(w, dtype=np.float64) * x) + b > 0)


def AND(x1: float, x2: float) -> int:
    """1 only when both inputs are 1 (weights 0.5, 0.5, bias -0.7)."""
    return perceptron(x1, x2, (0.5, 0.5), -0.7)


def print_truth_table(gate: Callable[[float, float], int]) -> None:
    """Print ``(x1, x2) -> y`` for the four binary inputs, as the book does."""
    for xs in INPUTS:
        print(f"{xs} -> {gate(*xs)}")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the truth table of AND."""
    args = make_parser("Truth table of the AND perceptron (chapter 2)", quick=True, figure=False).parse_args(argv)
    seed_everything(args.seed)
    print_truth_table(AND)


if __name__ == "__main__":
    main(sys.argv[1:])
