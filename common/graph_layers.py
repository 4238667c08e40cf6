"""Chapter 5's computational-graph nodes: the multiplication and addition layers of the apple example."""

from __future__ import annotations

__all__ = ["MulLayer", "AddLayer"]


class MulLayer:
    """z = x * y (chapter 5's multiplication node)."""

    def __init__(self) -> None:
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    """z = x + y (chapter 5's addition node)."""

    def __init__(self) -> None:
        pass

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1
