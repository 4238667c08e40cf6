"""Scratch memory the layers keep between calls (re-exported by :mod:`common.kernels`)."""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Scratch arrays a layer keeps between calls, by name, plus whatever its forward leaves for its backward.

    Reusing big buffers saves the page faults of fresh allocations (tens of MB per step). A buffer is zeroed when
    it is (re)allocated only, so a padded buffer whose interior alone is ever written keeps its zero border.
    """

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}
        self.saved: dict[str, object] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype, order: str = "C") -> np.ndarray:
        """The buffer ``name`` of this shape, dtype and memory order ("C" or "F"); new and zeroed if it changed."""
        buf = self.buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or not buf.flags[f"{order}_CONTIGUOUS"]:
            buf = self.buffers[name] = np.zeros(shape, dtype=dtype, order=order)
        return buf
