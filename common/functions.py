"""Activation and loss functions of chapters 3-5.

Every function keeps the dtype of its input: float32 in, float32 out (float64 for gradient checks).

Notation: N is the batch size, K the number of classes.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "identity_function",
    "step_function",
    "sigmoid",
    "sigmoid_grad",
    "relu",
    "relu_grad",
    "softmax",
    "log_softmax",
    "mean_squared_error",
    "sum_squared_error",
    "cross_entropy_error",
    "softmax_loss",
    "labels_from_target",
]


def identity_function(x: np.ndarray) -> np.ndarray:
    """Return ``x`` unchanged (the output activation for regression)."""
    return x


def step_function(x: np.ndarray) -> np.ndarray:
    """Return 1 where ``x > 0`` and 0 elsewhere, as an int array of ``x``'s shape."""
    return (np.asarray(x) > 0).astype(np.int_)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), computed so that it never overflows.

    For x >= 0 it uses 1 / (1 + e), for x < 0 it uses e / (1 + e), with e = exp(-|x|) <= 1.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid at ``x``: s(x) * (1 - s(x))."""
    s = sigmoid(x)
    return (1 - s) * s


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x) element-wise."""
    return np.maximum(x, 0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of ReLU as the book defines it: 1 where ``x >= 0``, else 0 (same dtype as x)."""
    x = np.asarray(x)
    return (x >= 0).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax along the last axis, shifted by the maximum so that exp never overflows. Any ndim."""
    x = np.asarray(x)
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) along the last axis, exact and finite even for logits like +-1000."""
    x = np.asarray(x)
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """0.5 * sum((y - t)**2), the book's (sum of) squared error. ``y`` and ``t`` have the same shape."""
    y, t = np.asarray(y), np.asarray(t)
    if y.shape != t.shape:
        raise ValueError(f"mean_squared_error: y has shape {y.shape} but t has shape {t.shape}; expected equal")
    return 0.5 * np.sum((y - t) ** 2)


sum_squared_error = mean_squared_error


def labels_from_target(t: np.ndarray, num_classes: int) -> np.ndarray:
    """Turn a target into integer labels and check them.

    Args:
        t: labels (N,) of an integer dtype in [0, num_classes), or one-hot (N, num_classes).
        num_classes: K.

    Returns:
        (N,) intp labels.
    """
    t = np.asarray(t)
    if t.ndim == 2 and t.shape[1] == num_classes:
        return t.argmax(axis=1)
    if t.ndim != 1:
        raise ValueError(f"target has shape {t.shape}; expected labels (N,) or one-hot (N, {num_classes})")
    if not np.issubdtype(t.dtype, np.integer):
        if not np.all(np.mod(t, 1) == 0):
            raise TypeError(f"labels must be integers, got dtype {t.dtype} with non-integer values")
        t = t.astype(np.intp)
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}); got values from {t.min()} to {t.max()}"
        )
    return t.astype(np.intp, copy=False)


def _as_batch(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, t = np.asarray(y), np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.size == y.size else t.reshape(1)
    if y.ndim != 2:
        raise ValueError(f"expected scores of shape (N, K) or (K,), got {y.shape}")
    if t.shape[0] != y.shape[0]:
        raise ValueError(f"batch sizes differ: scores {y.shape}, target {t.shape}")
    return y, t


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """Mean cross-entropy of probabilities ``y`` (N, K) or (K,) against labels (N,) or one-hot (N, K).

    As in the book, 1e-7 is added inside the log so that a zero probability gives a finite loss.
    """
    y, t = _as_batch(y, t)
    labels = labels_from_target(t, y.shape[1])
    n = y.shape[0]
    return -np.sum(np.log(y[np.arange(n), labels] + 1e-7)) / n


def softmax_loss(x: np.ndarray, t: np.ndarray) -> float:
    """Cross-entropy of softmax(x) against ``t``, through log-softmax (exact for huge logits).

    Args:
        x: logits (N, K) or (K,).
        t: labels (N,) or one-hot (N, K).
    """
    x, t = _as_batch(x, t)
    logp = log_softmax(x)
    if t.shape == x.shape:
        return -np.sum(t * logp) / x.shape[0]
    labels = labels_from_target(t, x.shape[1])
    return -np.sum(logp[np.arange(x.shape[0]), labels]) / x.shape[0]
