"""Weight initialisation (chapter 6): a fixed std, Xavier (sqrt(1/fan_in)) or He (sqrt(2/fan_in))."""

from __future__ import annotations

import numpy as np

__all__ = ["init_std", "init_weight"]


def init_std(weight_init_std: float | str, fan_in: int) -> float:
    """The standard deviation for a layer with ``fan_in`` inputs.

    Args:
        weight_init_std: a number (used as is), 'relu' or 'he' -> sqrt(2 / fan_in),
            'sigmoid' or 'xavier' -> sqrt(1 / fan_in); names are case-insensitive.
    """
    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        if name in ("relu", "he"):
            return float(np.sqrt(2.0 / fan_in))
        if name in ("sigmoid", "xavier"):
            return float(np.sqrt(1.0 / fan_in))
        raise ValueError(f"unknown weight_init_std {weight_init_std!r}; use a number, 'he'/'relu' or 'xavier'/'sigmoid'")
    return float(weight_init_std)


def init_weight(shape: tuple[int, ...], weight_init_std: float | str = "he", fan_in: int | None = None,
                dtype=np.float32) -> np.ndarray:
    """Gaussian weights of ``shape`` scaled by :func:`init_std`, drawn from NumPy's global generator.

    ``fan_in`` defaults to prod(shape[1:]) for 4-D conv filters (FN, C, FH, FW) and shape[0] for (D, M).
    """
    if fan_in is None:
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else int(shape[0])
    std = init_std(weight_init_std, fan_in)
    return (std * np.random.randn(*shape)).astype(dtype)
