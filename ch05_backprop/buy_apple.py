"""Chapter 5.4.1: buying 2 apples at 100 each with a 10 % tax, forward and backward through MulLayers.

Forward: price = (100 * 2) * 1.1 = 220. Backward from dprice = 1: d price / d apple = 2.2,
d price / d apple_num = 110, d price / d tax = 200. Binary floating point gives 220.00000000000003 and
110.00000000000001 for two of these; :func:`clean` rounds away such last-digit artifacts so the script
prints the book's values.

Run ``python -m ch05_backprop.buy_apple``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch05_backprop.layer_naive import MulLayer
from common.cli import make_parser, seed_everything

__all__ = ["clean", "main"]


def clean(value: float, digits: int = 10) -> int | float:
    """``value`` rounded to ``digits`` decimals, as an int when that is whole (220.00000000000003 -> 220)."""
    rounded = round(float(value), digits)
    return int(rounded) if rounded.is_integer() else rounded


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Print the price and its derivatives with respect to the apple price, count and tax. Returns them."""
    args = make_parser("Forward and backward through the apple-shopping graph (chapter 5)", quick=True,
                       figure=False).parse_args(argv)
    seed_everything(args.seed)
    apple = 100
    apple_num = 2
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()

    # forward
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)

    # backward
    dprice = 1
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    print("price:", clean(price))
    print("dApple:", clean(dapple))
    print("dApple_num:", clean(dapple_num))
    print("dTax:", clean(dtax))
    return {"price": price, "dApple": dapple, "dApple_num": dapple_num, "dTax": dtax}


if __name__ == "__main__":
    main(sys.argv[1:])
