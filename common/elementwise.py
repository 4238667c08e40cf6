"""Element-wise and reduction kernels behind :mod:`common.layers` (re-exported by :mod:`common.kernels`): the
plain NumPy expressions they replace, computed with fewer passes or fewer inner-loop calls; the selects and
``per_channel`` give the same bits, the sums (BLAS products with ones, ``channel_dots``) add in another order.
``tests/test_kernels.py`` and ``tests/test_elementwise.py`` check each against its one-line specification, bit for
bit where it says so.
"""

from __future__ import annotations

import numpy as np

__all__ = ["keep_where", "zero_where", "column_sums", "channel_sums", "channel_dots", "per_channel", "scale_shift",
           "batchnorm_forward", "batchnorm_dx"]


# --- element-wise selects ------------------------------------------------------------------------------------

def _int_view(a: np.ndarray) -> np.ndarray:
    """``a`` viewed as signed integers of the same width (its IEEE bit patterns)."""
    return a.view(np.dtype(f"i{a.dtype.itemsize}"))


def keep_where(keep: np.ndarray, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.where(keep, values, 0)`` for a bool ``keep`` and float ``values`` of the same shape, branch-free.

    A masked select branches on every element and mispredicts about half the time on a random mask. Instead the
    mask becomes integers -1 (all bits set) or 0, written straight into the output, and is ANDed with the bit
    patterns of ``values``: exactly +0.0 where keep is False, the value itself (NaN included) where True, about
    10x faster. The result has ``values``' memory order unless ``out`` (a float array of that shape and dtype,
    e.g. a strided slice) is given. Memory: the output only.
    """
    out = np.empty_like(values) if out is None else out
    bits = _int_view(out)
    np.negative(keep.view(np.int8), dtype=bits.dtype, out=bits)  # True -> -1, False -> 0
    np.bitwise_and(_int_view(values), bits, out=bits)
    return out


def zero_where(zero: np.ndarray, values) -> np.ndarray:
    """``np.where(zero, 0, values)`` in ``values``' dtype; branch-free (as :func:`keep_where`) when ``values`` is a
    float array of ``zero``'s shape, plain ``np.where`` otherwise (broadcasting, integer or scalar values)."""
    values = np.asarray(values)
    if values.shape != zero.shape or values.dtype.kind != "f":
        return np.where(zero, 0, values).astype(values.dtype, copy=False)
    out = np.empty_like(values)
    bits = _int_view(out)
    np.subtract(zero.view(np.uint8), 1, dtype=bits.dtype, out=bits)  # True -> 0, False -> -1
    np.bitwise_and(_int_view(values), bits, out=bits)
    return out


# --- reductions ------------------------------------------------------------------------------------------------

def column_sums(d2: np.ndarray) -> np.ndarray:
    """``d2.sum(axis=0)`` of an (M, K) matrix, shape (K,), as a BLAS product with a ones vector: about 10x faster
    for the tall, narrow matrices of convolution backward (the order of the additions differs)."""
    return np.ones(d2.shape[0], dtype=d2.dtype) @ d2


def channel_sums(a: np.ndarray) -> np.ndarray:
    """Sums over every axis but axis 1 of an (A, D) or (A, D, B) array, shape (D,), as BLAS products with ones."""
    if a.ndim == 2 or a.shape[2] == 1:
        return column_sums(a.reshape(a.shape[0], a.shape[1]))
    return column_sums(a @ np.ones(a.shape[2], dtype=a.dtype))


DOT_BLOCK = 256  # channel_dots of an (M, D) pair: rows per partial sum


def channel_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``channel_sums(a * b)`` without the product array: per-channel sums of products, shape (D,), for a, b of
    the same shape (A, D, B) or (M, D). One read of each, no temporary.

    Two levels, as :func:`channel_sums` (float32 error near 1e-7 relative for a batch of 78,400 values, not the
    1e-5 of one running sum): (A, D, B) pairs are dotted row by row (each run of B) and the rows summed over A;
    (M, D) pairs are summed in blocks of DOT_BLOCK rows and the blocks summed.
    """
    if a.ndim == 3 and a.shape[2] > 1:
        return column_sums(np.einsum("adb,adb->ad", a, b))
    m, d = a.shape[0], a.shape[1]
    a2, b2 = a.reshape(m, d), b.reshape(m, d)
    whole = m - m % DOT_BLOCK
    blocks = np.einsum("kid,kid->kd", a2[:whole].reshape(-1, DOT_BLOCK, d), b2[:whole].reshape(-1, DOT_BLOCK, d))
    sums = column_sums(blocks)  # zeros (D,) when there is no whole block
    if whole < m:
        sums += np.einsum("id,id->d", a2[whole:], b2[whole:])
    return sums


# --- batch normalisation ---------------------------------------------------------------------------------------

ROW_ELEMENTS = 8192  # per_channel: the shortest run of elements it hands NumPy's inner loop at once


def per_channel(op: np.ufunc, a: np.ndarray, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``op(a, v[:, None])`` for a of shape (A, D, B) (or ``op(a, v)`` for (M, D)) and one value per channel,
    v (D,) or (D, 1); into ``out`` (a's shape) if given.

    Broadcast, NumPy calls its inner loop once per run of B equal values: A*D calls (1,600 for a (100, 16, 784)
    batch) at ~0.35 us each, as long as the arithmetic itself. Here v is laid out once as the period of a's memory
    (each value repeated B times, the whole repeated k times when that is short), so one call covers k*D*B
    elements. The same operation on the same pairs of numbers: the same bits, dtype and promotion as broadcasting.
    A non-contiguous a or out is broadcast as usual.
    """
    shape3 = a.shape if a.ndim == 3 else (a.shape[0], a.shape[1], 1)
    n_rows, d, b = shape3
    v = np.asarray(v).reshape(d)
    contiguous = a.flags.c_contiguous and (out is None or out.flags.c_contiguous)
    if not contiguous:
        return op(a, v.reshape(d, 1) if a.ndim == 3 else v, out=out)
    period = d * b
    k = max(1, min(n_rows, ROW_ELEMENTS // max(period, 1)))
    while n_rows % k:  # the largest k <= ROW_ELEMENTS / period dividing the rows
        k -= 1
    row = np.tile(np.repeat(v, b), k)
    flat_shape = (n_rows // k, k * period)
    result = op(a.reshape(flat_shape), row, out=None if out is None else out.reshape(flat_shape))
    return result.reshape(a.shape) if out is None else out


def scale_shift(xn: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``gamma * xn + beta`` for xn (M, D) or (A, D, B) and gamma, beta (D,) or (D, 1): two passes, one new array."""
    out = per_channel(np.multiply, xn, gamma)
    return per_channel(np.add, out, beta, out=out)


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                      xc_out: np.ndarray | None = None):
    """Train-mode batch normalisation of x (M, D) or (A, D, B) with its own statistics (M = A*B values per channel).

    Returns (y, xc, mu, var, std): y = gamma * xc / std + beta of x's shape, xc = x - mu the centred input (kept
    for backward), mu, var (biased), std = sqrt(var + eps) per channel, (D,). gamma, beta (D,) or (D, 1).
    Four passes over x's size and two new arrays (xc, y): xn = xc / std is never formed, y is xc times one
    factor gamma / std plus beta; the variance is summed without a squared array (:func:`channel_dots`).
    ``xc_out``: an array to write xc into (a buffer kept between calls), used when it is C-contiguous with x's
    shape and dtype (else xc is a new array).
    """
    m = x.size // x.shape[1]
    mu = channel_sums(x) / m
    fits = xc_out is not None and xc_out.shape == x.shape and xc_out.dtype == x.dtype and xc_out.flags.c_contiguous
    xc = per_channel(np.subtract, x, mu, out=xc_out if fits else None)
    var = channel_dots(xc, xc) / m
    std = np.sqrt(var + eps)
    y = per_channel(np.multiply, xc, np.reshape(gamma, -1) / std)
    return per_channel(np.add, y, beta, out=y), xc, mu, var, std


def batchnorm_dx(dout: np.ndarray, xc: np.ndarray, std: np.ndarray, gamma: np.ndarray, dbeta: np.ndarray,
                 dgamma: np.ndarray) -> np.ndarray:
    """Batch-norm input gradient (M, D) or (A, D, B) (M = A*B rows per channel):
    dx = (gamma/std) * (dout - (dbeta + xn * dgamma) / M), xn = xc / std.

    The book's chain (dxn, dxc, dstd, dvar, dmu) in closed form: with dxn = gamma * dout, mean(dxn) =
    gamma * dbeta / M and mean(dxn * xn) = gamma * dgamma / M, so dx = (dxn - mean(dxn) - xn * mean(dxn * xn))
    / std. dout, xc (the centred input) of one shape; std, gamma, dbeta = sum(dout), dgamma = sum(xn * dout)
    per channel, (D,). Four passes over one new array (xn is never formed: its 1/std joins dgamma's factor).
    Specification: ``common.reference.batchnorm_backward_naive``.
    """
    m = dout.size // dout.shape[1]
    dx = per_channel(np.multiply, xc, dgamma / (m * std))
    per_channel(np.add, dx, dbeta / m, out=dx)
    np.subtract(dout, dx, out=dx)
    return per_channel(np.multiply, dx, gamma / std, out=dx)
