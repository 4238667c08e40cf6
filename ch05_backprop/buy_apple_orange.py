"""Chapter 5.4.2: 2 apples at 100 and 3 oranges at 150 with a 10 % tax, through Mul and Add layers.

Forward: price = (100 * 2 + 150 * 3) * 1.1 = 715. Backward from dprice = 1: dApple 2.2, dApple_num 110,
dOrange 3.3, dOrange_num 165, dTax 650 (printed without floating-point last-digit artifacts).

Run ``python -m ch05_backprop.buy_apple_orange``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ch05_backprop.buy_apple import clean
from ch05_backprop.layer_naive import AddLayer, MulLayer
from common.cli import make_parser, seed_everything

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Print the price and its derivatives with respect to every input. Returns them."""
    args = make_parser("Forward and backward through the apple-and-orange graph (chapter 5)", quick=True,
                       figure=False).parse_args(argv)
    seed_everything(args.seed)
    apple = 100
    apple_num = 2
    orange = 150
    orange_num = 3
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()

    # forward
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)

    # backward
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    print("price:", clean(price))
    print("dApple:", clean(dapple))
    print("dApple_num:", clean(dapple_num))
    print("dOrange:", clean(dorange))
    print("dOrange_num:", clean(dorange_num))
    print("dTax:", clean(dtax))
    return {"price": price, "dApple": dapple, "dApple_num": dapple_num, "dOrange": dorange,
            "dOrange_num": dorange_num, "dTax": dtax}


if __name__ == "__main__":
    main(sys.argv[1:])
