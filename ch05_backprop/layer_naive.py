"""Chapter 5.4: the multiplication and addition nodes of a computational graph as layers.

``MulLayer`` (z = x * y; backward swaps the inputs: dx = dout * y, dy = dout * x) and ``AddLayer``
(z = x + y; backward passes dout through to both inputs). They live in :mod:`common.layers` with the
other layers; this module is the book's file name, so ``from ch05_backprop.layer_naive import MulLayer``
works as in the book.
"""

from common.layers import AddLayer, MulLayer

__all__ = ["MulLayer", "AddLayer"]
