"""Numerical differentiation (chapter 4): the slow, obviously-correct gradients used to check backprop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from common.optimizer import check_rate

# The book's common/gradient.py has no __all__, so `from common.gradient import *` also brings `np`; "np" is
# listed to keep that working.
__all__ = ["np", "numerical_diff", "numerical_gradient", "gradient_descent"]


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
    if not x.flags.writeable:
        raise ValueError("numerical_gradient perturbs x in place, but x is a read-only array; pass a writable copy")
    h = check_rate("h", h)
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

    Returns the final x (a new array; ``init_x`` is not modified). ``lr`` must be finite and > 0 (the book's
    "too large" 10.0 and "too small" 1e-10 both are), ``step_num`` a non-negative int.
    """
    lr = check_rate("lr", lr)
    if isinstance(step_num, (bool, np.bool_)) or not isinstance(step_num, (int, np.integer)) or step_num < 0:
        raise ValueError(f"step_num must be a non-negative int, got {step_num!r}")
    x = np.array(init_x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"init_x must hold real numbers, got dtype {x.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
    return x
