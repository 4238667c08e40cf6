"""Chapter 2.3: the OR gate as a perceptron (weights 0.5, 0.5, bias -0.2).

Run ``python -m ch03_network.or_gate`` to print its truth table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch03_network.and_gate import perceptron, print_truth_table
from common.cli import make_parser, seed_everything

__all__ = ["OR", "main"]


def OR(x1: float, x2: float) -> int:
    """1 when at least one input is 1."""
    return perceptron(x1, x2, (0.5, 0.5), -0.2)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the truth table of OR."""
    args = make_parser("Truth table of the OR perceptron (chapter 2)", quick=True, figure=False).parse_args(argv)
    seed_everything(args.seed)
    print_truth_table(OR)


if __name__ == "__main__":
    main(sys.argv[1:])
