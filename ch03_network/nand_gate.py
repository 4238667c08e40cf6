"""Chapter 2.3: the NAND gate as a perceptron (weights -0.5, -0.5, bias 0.7).

Run ``python -m ch03_network.nand_gate`` to print its truth table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch03_network.and_gate import perceptron, print_truth_table
from common.cli import make_parser, seed_everything

__all__ = ["NAND", "main"]


def NAND(x1: float, x2: float) -> int:
    """0 only when both inputs are 1: AND with every parameter negated."""
    return perceptron(x1, x2, (-0.5, -0.5), 0.7)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the truth table of NAND."""
    args = make_parser("Truth table of the NAND perceptron (chapter 2)", quick=True, figure=False).parse_args(argv)
    seed_everything(args.seed)
    print_truth_table(NAND)


if __name__ == "__main__":
    main(sys.argv[1:])
