"""Activation and loss functions of chapters 3-5.

Every function keeps the dtype of its input: float32 in, float32 out (float64 for gradient checks).
Targets may be given as the book gives them anywhere: labels (N,), a label column (N, 1) or one-hot (N, K);
``labels_from_target`` and ``check_target`` validate them (range, NaN, bad one-hot rows) with one message.

Notation: N is the batch size, K the number of classes.
"""

from __future__ import annotations

import numpy as np

# The book's common/functions.py has no __all__, so its scripts' `from common.functions import *` also brings
# `np` (the book's ch04/two_layer_net.py never imports NumPy itself). "np" is listed to keep that working.
__all__ = [
    "np",
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
    "check_target",
    "predicted_labels",
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


def _target_array(t) -> np.ndarray:
    """``t`` as an array of real numbers (bool allowed only for one-hot), or a TypeError naming what it is."""
    arr = np.asarray(t)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"target must hold real numbers (labels or one-hot), got dtype {arr.dtype}")
    return arr


def _check_one_hot(t: np.ndarray) -> np.ndarray:
    """Check that every row of a (N, K) target is a probability distribution: finite, >= 0, summing to 1."""
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(f"one-hot target has a non-finite entry ({t[row]!r} in row {row})")
        tol = max(1e-6, 8 * t.shape[1] * float(np.finfo(t.dtype).eps))
    else:
        tol = 0.0
    if t.size and t.dtype.kind != "b" and t.min() < 0:
        row = int(np.argwhere(t < 0)[0][0])
        raise ValueError(f"one-hot target has a negative entry in row {row}: {t[row]!r}")
    sums = t.sum(axis=1, dtype=np.float64)
    off = np.abs(sums - 1) > tol
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(
            f"one-hot target rows must sum to 1; row {row} sums to {sums[row]:g} ({t[row]!r})"
        )
    return t


def _check_num_classes(num_classes) -> None:
    if num_classes is not None and (
        isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1
    ):
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")


def _labels_1d(t: np.ndarray, num_classes: int | None) -> np.ndarray:
    """Check (N,) labels: integer-valued, finite, in [0, num_classes) (only >= 0 when num_classes is None)."""
    if t.dtype.kind == "b":
        raise TypeError("labels must be integers, got a bool array; use integer class labels or a one-hot (N, K) target")
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"labels must be finite integers; label {i} is {t[i]}")
        frac = t != np.floor(t)
        if frac.any():
            i = int(np.argmax(frac))
            raise TypeError(f"labels must be integers, got dtype {t.dtype} with non-integer value {t[i]} at index {i}")
    if t.size:
        lo, hi = t.min(), t.max()
        top = np.inf if num_classes is None else num_classes
        if lo < 0 or hi >= top:
            i = int(np.argmax((t < 0) | (t >= top)))
            expected = "be >= 0" if num_classes is None else f"lie in [0, {num_classes})"
            raise ValueError(f"labels must {expected}; got {t[i]} at index {i} (values from {lo} to {hi})")
    return t.astype(np.intp)


def labels_from_target(t: np.ndarray, num_classes: int | None) -> np.ndarray:
    """Integer class labels from any target form the book uses, checked.

    Args:
        t: labels (N,) (integers, or floats holding integers), a column of labels (N, 1) (the book's
            ``ch07/gradient_check.py``), or a one-hot / probability target (N, K): every row finite, >= 0,
            summing to 1, with a unique largest entry (that entry's index is the label).
        num_classes: K. None: labels are only checked to be >= 0 and a (N, K) target gives K.

    Returns:
        (N,) intp labels.

    Raises:
        TypeError: non-numeric targets, non-integer labels, bool labels.
        ValueError: labels out of range or NaN, a bad one-hot row, a target of the wrong shape.
    """
    _check_num_classes(num_classes)
    t = _target_array(t)
    if t.ndim == 2 and (t.shape[1] == num_classes or (num_classes is None and t.shape[1] > 1)):
        _check_one_hot(t)
        labels = t.argmax(axis=1)
        ties = np.sum(t == t.max(axis=1, keepdims=True), axis=1) > 1
        if ties.any():
            row = int(np.argmax(ties))
            raise ValueError(f"target row {row} has no unique largest entry ({t[row]!r}); its class is ambiguous")
        return labels.astype(np.intp)
    if t.ndim == 2 and t.shape[1] == 1:
        return _labels_1d(t[:, 0], num_classes)
    if t.ndim != 1:
        k = "K" if num_classes is None else num_classes
        raise ValueError(f"target has shape {t.shape}; expected labels (N,), a column (N, 1) or one-hot (N, {k})")
    return _labels_1d(t, num_classes)


def check_target(t: np.ndarray, n: int, num_classes: int | None) -> np.ndarray:
    """Validate the target of a batch of ``n`` samples for a K-class loss.

    Args:
        t: labels (n,), a label column (n, 1), or a one-hot / probability target (n, K).
        n: the batch size N the target must have.
        num_classes: K (None: any width of a 2-D target, labels only checked to be >= 0).

    Returns:
        (n,) intp labels; or, for a (n, K) target, the same array after checking that every row is finite,
        non-negative and sums to 1 (soft targets are allowed here, unlike in ``labels_from_target``).
    """
    _check_num_classes(num_classes)
    t = _target_array(t)
    if t.ndim == 0 or len(t) != n:
        raise ValueError(f"target has shape {t.shape} but the batch has {n} samples")
    if t.ndim == 2 and t.shape[1] > 1 and (num_classes is None or t.shape[1] == num_classes):
        return _check_one_hot(t)
    if t.ndim == 2 and t.shape[1] == 1 and num_classes == 1:
        return _check_one_hot(t)
    return labels_from_target(t, num_classes)


def predicted_labels(scores: np.ndarray) -> np.ndarray:
    """The predicted class of each row of ``scores`` (N, K), or -1 where a row has a NaN or infinite score.

    -1 never equals a valid label, so a non-finite prediction never counts as a correct answer in an accuracy.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, K), got {scores.shape}")
    labels = scores.argmax(axis=1).astype(np.intp) if scores.shape[1] else np.full(len(scores), -1, np.intp)
    if scores.dtype.kind in "fc":
        labels[~np.isfinite(scores).all(axis=1)] = -1
    return labels


def _as_batch(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N, K) and the target as a batch; a 1-D ``y`` (K,) is a batch of one (the book's convention)."""
    y, t = np.asarray(y), np.asarray(t)
    if y.dtype.kind not in "iuf":
        raise TypeError(f"scores must be real numbers, got dtype {y.dtype}")
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.size == y.size and t.ndim else t.reshape(1) if t.size == 1 else t
    if y.ndim != 2:
        raise ValueError(f"expected scores of shape (N, K) or (K,), got {y.shape}")
    if y.shape[0] == 0:
        raise ValueError(f"scores {y.shape} hold an empty batch; a mean loss needs at least one sample")
    if t.ndim == 0 or t.shape[0] != y.shape[0]:
        raise ValueError(f"batch sizes differ: scores {y.shape}, target {t.shape}")
    return y, check_target(t, y.shape[0], y.shape[1])


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """Mean cross-entropy of probabilities ``y`` (N, K) or (K,) against ``t``.

    ``t``: labels (N,), a label column (N, 1), or a one-hot / probability target (N, K) (rows summing to 1).
    As in the book, 1e-7 is added inside the log so that a zero probability gives a finite loss.
    """
    y, t = _as_batch(y, t)
    n = y.shape[0]
    if t.ndim == 2:
        return -np.sum(t * np.log(y + 1e-7)) / n
    return -np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n


def softmax_loss(x: np.ndarray, t: np.ndarray) -> float:
    """Cross-entropy of softmax(x) against ``t``, through log-softmax (exact for huge logits).

    Args:
        x: logits (N, K) or (K,).
        t: labels (N,), a label column (N, 1), or one-hot / probability rows (N, K).
    """
    x, t = _as_batch(x, t)
    logp = log_softmax(x)
    if t.ndim == 2:
        return -np.sum(t * logp) / x.shape[0]
    return -np.sum(logp[np.arange(x.shape[0]), t]) / x.shape[0]
