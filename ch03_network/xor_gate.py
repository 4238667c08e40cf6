"""Chapter 2.5: XOR, which no single perceptron can compute, as a two-layer perceptron:
XOR(x1, x2) = AND(NAND(x1, x2), OR(x1, x2)).

Run ``python -m ch03_network.xor_gate`` to print its truth table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch03_network.and_gate import AND, print_truth_table
from ch03_network.nand_gate import NAND
from ch03_network.or_gate import OR
from common.cli import make_parser, seed_everything

__all__ = ["XOR", "main"]


def XOR(x1: float, x2: float) -> int:
    """1 when exactly one input is 1: the first layer computes NAND and OR, the second ANDs them."""
    s1 = NAND(x1, x2)
    s2 = OR(x1, x2)
    return AND(s1, s2)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the truth table of XOR."""
    args = make_parser("Truth table of XOR built from NAND, OR and AND (chapter 2)", quick=True,
                       figure=False).parse_args(argv)
    seed_everything(args.seed)
    print_truth_table(XOR)


if __name__ == "__main__":
    main(sys.argv[1:])
