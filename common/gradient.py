"""Numerical differentiation (chapter 4): the slow, obviously-correct gradients used to check backprop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_diff", "numerical_gradient", "gradient_descent"]


def numerical_diff(f: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    """Central difference (f(x + h) - f(x - h)) / 2h of a scalar function."""
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    Each element of ``x`` is perturbed IN PLACE by +-h and restored, so ``f`` may ignore its argument and
    read parameters that share memory with ``x`` (how the book's networks use it).

    Args:
        f: scalar function.
        x: float array of any shape; float64 is needed for precise checks.

    Returns:
        array of ``x``'s shape and dtype.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient needs a NumPy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"numerical_gradient needs a floating-point array, got dtype {x.dtype}: "
            "x + h would be truncated; convert with x.astype(np.float64)"
        )
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        idx = it.multi_index
        original = x[idx].copy()
        x[idx] = original + h
        f_plus = f(x)
        x[idx] = original - h
        f_minus = f(x)
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def gradient_descent(
    f: Callable[[np.ndarray], float], init_x: np.ndarray, lr: float = 0.01, step_num: int = 100
) -> np.ndarray:
    """Plain gradient descent x <- x - lr * grad f(x) for ``step_num`` steps, with numerical gradients.

    Returns the final x (a new array; ``init_x`` is not modified).
    """
    x = np.array(init_x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
    return x
