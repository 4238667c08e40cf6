"""Fast kernels behind :mod:`common.layers`: the same numbers as the plain versions, computed to use the machine.

Each kernel says which plain computation it replaces; ``tests/test_kernels.py`` checks it against that
specification (the loops of :mod:`common.reference`, the book's ``im2col``/``col2im`` in :mod:`common.util`,
or a one-line NumPy expression) in float32 and float64. Every buffer takes the input's dtype.

Notation: N batch, C channels, H x W input, FN filters, FH x FW filter/pool window, OH x OW output; "channels-last"
means (N, H, W, C) memory order, which a Convolution's output has (returned as an (N, C, H, W) transposed view)
and ReLU and pooling keep.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from common.util import conv_output_size, pad_hw

__all__ = [
    "keep_where", "zero_where", "column_sums", "channel_sums", "per_channel", "scale_shift", "batchnorm_dx", "Workspace", "offset_slice",
    "im2col_nhwc", "conv_forward", "conv_backward", "deconv_backward", "max_pool_forward", "max_pool_backward",
]


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


def batchnorm_dx(dout: np.ndarray, xn: np.ndarray, gamma_over_std: np.ndarray, dbeta: np.ndarray,
                 dgamma: np.ndarray) -> np.ndarray:
    """Batch-norm input gradient (M, D) or (A, D, B) (M = A*B): (gamma/std) * (dout - (dbeta + xn * dgamma) / M).

    The book's chain (dxn, dxc, dstd, dvar, dmu) in closed form: with dxn = gamma * dout, mean(dxn) =
    gamma * dbeta / M and mean(dxn * xn) = gamma * dgamma / M, so dx = (dxn - mean(dxn) - xn * mean(dxn * xn))
    / std. dout, xn (M, D); gamma_over_std, dbeta = sum(dout), dgamma = sum(xn * dout) (D,) (for (A, D, B)
    arrays: (D, 1)). Four passes over one new array. Specification: ``common.reference.batchnorm_backward_naive``.
    """
    m = dout.size // dout.shape[1]
    dx = per_channel(np.multiply, xn, dgamma / m)
    per_channel(np.add, dx, dbeta / m, out=dx)
    np.subtract(dout, dx, out=dx)
    return per_channel(np.multiply, dx, gamma_over_std, out=dx)


# --- scratch memory -------------------------------------------------------------------------------------------

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


# --- channels-last im2col ---------------------------------------------------------------------------------------

def offset_slice(start: int, count: int, stride: int) -> slice:
    """The positions start, start + stride, ..., ``count`` of them: kernel offset ``start`` of every window."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col_nhwc(xp: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
                out: np.ndarray | None = None) -> np.ndarray:
    """The book's im2col of an already padded channels-last (N, Hp, Wp, C) array, columns in (fh, fw, c) order.

    col[(n, i, j), (p, q, c)] = xp[n, i*stride + p, j*stride + q, c]; shape (N*OH*OW, FH*FW*C). Each row is FH
    runs of FW*C numbers contiguous in ``xp``, so the one copy streams memory. ``out``: an optional buffer of
    that shape and dtype to write into. A column-major ``out`` is filled column by column: each column is one
    kernel offset of every window, copied in runs of OW numbers, the faster order when C is 1.
    Specification: ``common.util.im2col`` with the columns reordered. Memory: N*OH*OW*FH*FW*C numbers.
    """
    n, hp, wp, c = xp.shape
    oh = conv_output_size(hp, filter_h, stride)
    ow = conv_output_size(wp, filter_w, stride)
    win = sliding_window_view(xp, (filter_h, filter_w), axis=(1, 2))  # (N, Hp-FH+1, Wp-FW+1, C, FH, FW) view
    win = win[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)  # (N, OH, OW, FH, FW, C) view
    if out is None:
        out = np.empty((n * oh * ow, filter_h * filter_w * c), dtype=xp.dtype)
    if out.flags.f_contiguous and not out.flags.c_contiguous:  # column-major: out.T is (FH*FW*C, N*OH*OW)
        np.copyto(out.T.reshape(filter_h, filter_w, c, n, oh, ow), win.transpose(3, 4, 5, 0, 1, 2))
    else:
        np.copyto(out.reshape(n, oh, ow, filter_h, filter_w, c), win)  # always a copy, never a view of xp
    return out


def _filters_nhwc(W: np.ndarray) -> np.ndarray:
    """(FN, C, FH, FW) filters as the (FH*FW*C, FN) matrix matching im2col_nhwc's columns."""
    fn, c, fh, fw = W.shape
    return W.transpose(2, 3, 1, 0).reshape(fh * fw * c, fn)


# --- convolution ------------------------------------------------------------------------------------------------

CHUNK_BYTES = 1 << 20  # column-matrix bytes built at once: about 1 MiB, so the block stays in a core's L2 cache


def _images_per_chunk(n: int, rows_per_image: int, row_bytes: int) -> int:
    """How many images' column-matrix rows fit in :data:`CHUNK_BYTES` (at least 1, at most n)."""
    return max(1, min(n, CHUNK_BYTES // max(1, rows_per_image * row_bytes)))


def _padded_nhwc(x: np.ndarray, pad: int, work: Workspace) -> np.ndarray:
    """x (N, C, H, W) as a C-contiguous channels-last (N, H + 2*pad, W + 2*pad, C) array with a zero border:
    ``x``'s own memory when it already is channels-last and pad is 0, else a kept buffer."""
    n, c, h, w = x.shape
    x_nhwc = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
    if not pad:
        return np.ascontiguousarray(x_nhwc)
    xp = work.get("xpad", (n, h + 2 * pad, w + 2 * pad, c), x.dtype)
    xp[:, pad:pad + h, pad:pad + w, :] = x_nhwc  # the border stays 0
    return xp


def _chunks(n: int, oh: int, ow: int, row_bytes: int):
    """(first image, image count, row slice of the (N*OH*OW, ...) matrices, buffer suffix) for each chunk of the
    batch whose column-matrix rows (``row_bytes`` each) fit in about :data:`CHUNK_BYTES`. The suffix is "" for a
    full chunk and "_tail" for a smaller last one: two kept buffers per name, whatever the batch sizes."""
    step = _images_per_chunk(n, oh * ow, row_bytes)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        yield n0, m, slice(n0 * oh * ow, (n0 + m) * oh * ow), "" if m == step else "_tail"


def _chunk_col(xp: np.ndarray, n0: int, m: int, fh: int, fw: int, stride: int, oh: int, ow: int,
               work: Workspace, suffix: str) -> np.ndarray:
    """The column matrix of images n0 .. n0+m-1 of the padded channels-last xp, (m*OH*OW, FH*FW*C), built by
    :func:`im2col_nhwc` into a kept buffer (column-major when C is 1), so it is still in cache when used."""
    c = xp.shape[3]
    order = "F" if c == 1 else "C"
    col = work.get(f"col{suffix}", (m * oh * ow, fh * fw * c), xp.dtype, order=order)
    return im2col_nhwc(xp[n0:n0 + m], fh, fw, stride, out=col)


def _col_chunks(xp: np.ndarray, fh: int, fw: int, stride: int, oh: int, ow: int, work: Workspace):
    """For each chunk of images: (row slice of the full column matrix, the chunk's column matrix)."""
    for n0, m, rows, suffix in _chunks(xp.shape[0], oh, ow, fh * fw * xp.shape[3] * xp.itemsize):
        yield rows, _chunk_col(xp, n0, m, fh, fw, stride, oh, ow, work, suffix)


def conv_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int, work: Workspace) -> np.ndarray:
    """out[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, i*stride + p, j*stride + q] * W[f, c, p, q].

    x (N, C, H, W) in any memory order, W (FN, C, FH, FW), b (FN,). Returns (N, FN, OH, OW), a view of a
    channels-last array. The book's steps (pad, im2col, one product with the flattened filters, add b), done
    channels-last and a few images at a time: each chunk's column matrix is built in cache and multiplied at once,
    and the (rows, FN) products already are the output in (N, OH, OW, FN) order. The padded input stays in
    ``work`` for :func:`conv_backward`. Specification: ``common.reference.conv2d_naive``.
    Memory: the output, the padded input and one column-matrix chunk (about 1 MiB).
    """
    fn, c, fh, fw = W.shape
    n, _, h, w = x.shape
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    xp = _padded_nhwc(x, pad, work)
    w_col = _filters_nhwc(W)  # (FH*FW*C, FN)
    bias = b.reshape(-1)
    out = np.empty((n * oh * ow, fn), dtype=x.dtype)
    for rows, col in _col_chunks(xp, fh, fw, stride, oh, ow, work):
        np.matmul(col, w_col, out=out[rows])
        out[rows] += bias
    work.saved["xp"] = xp
    return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)


def conv_backward(dout: np.ndarray, x_shape: tuple[int, ...], W: np.ndarray, stride: int, pad: int,
                  work: Workspace, need_dx: bool = True,
                  need_dw: bool = True) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Gradients of :func:`conv_forward` for upstream dout (N, FN, OH, OW): (dx (N, C, H, W), dW, db (FN,)).

    ``need_dx`` False skips dx (returned as None): the products of dW only, e.g. for a network's input images.
    ``need_dw`` False skips dW (None): no forward input needed, e.g. a transposed convolution's forward.

    With d = dout as (N*OH*OW, FN): db = column sums of d; then chunk by chunk (the forward's chunks, the column
    matrix rebuilt in cache from the kept padded input): dW += col^T d, and dx gets col2im(d W_col^T), folded into
    a padded channels-last dx one kernel offset (p, q) at a time. When a column row (FH*FW*C numbers) is at most
    a row of d (FN), the chunk's dcol^T = W_col d^T is one product, (FH, FW, C, rows): for C = 1 each offset's
    plane is then runs of OW numbers. Otherwise each offset gets its own product d @ W[:, :, p, q] of shape
    (rows, C), contiguous like dx's rows. dx is returned as an (N, C, H, W) view of a channels-last array.
    Specification: ``common.reference.conv2d_backward_naive``. Memory: dx (padded) and chunk-sized temporaries.
    """
    fn, c, fh, fw = W.shape
    n, _, h, w = x_shape
    oh, ow = dout.shape[2], dout.shape[3]
    d2 = dout.transpose(0, 2, 3, 1).reshape(n * oh * ow, fn)  # free when dout is channels-last
    db = column_sums(d2)
    w_col = _filters_nhwc(W)  # (FH*FW*C, FN)
    w_off = np.ascontiguousarray(W.transpose(2, 3, 0, 1))  # (FH, FW, FN, C): W[:, :, p, q] per offset
    dw_col = np.zeros(w_col.shape, dtype=dout.dtype) if need_dw else None
    dxp = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=dout.dtype) if need_dx else None
    for n0, m, rows, suffix in _chunks(n, oh, ow, fh * fw * c * dout.itemsize):
        d_k = d2[rows]  # (rows, FN)
        if need_dw:
            dw_col += _chunk_col(work.saved["xp"], n0, m, fh, fw, stride, oh, ow, work, suffix).T @ d_k
        if not need_dx:
            continue
        dx_k = dxp[n0:n0 + m]  # (m, Hp, Wp, C)
        if fh * fw * c <= fn:
            planes = (w_col @ d_k.T).reshape(fh, fw, c, m, oh, ow).transpose(0, 1, 3, 4, 5, 2)  # (FH, FW, m, OH, OW, C)
        part = work.get(f"part{suffix}", (m * oh * ow, c), dout.dtype)
        for i in range(fh):
            for j in range(fw):
                if fh * fw * c <= fn:
                    plane = planes[i, j]
                else:
                    plane = np.matmul(d_k, w_off[i, j], out=part).reshape(m, oh, ow, c)
                dx_k[:, offset_slice(i, oh, stride), offset_slice(j, ow, stride), :] += plane
    dx = None if dxp is None else dxp[:, pad:pad + h, pad:pad + w, :].transpose(0, 3, 1, 2)
    if not need_dw:
        return dx, None, db
    dW = np.ascontiguousarray(dw_col.reshape(fh, fw, c, fn).transpose(3, 2, 0, 1))  # (FN, C, FH, FW)
    return dx, dW, db


def deconv_backward(dout: np.ndarray, x: np.ndarray, W: np.ndarray, stride: int, pad: int,
                    work: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """dx (N, C_in, H, W) and dW (C_in, C_out, FH, FW) of a transposed convolution whose forward took x
    (N, C_in, H, W) to an output with gradient dout (N, C_out, OH, OW), W (C_in, C_out, FH, FW).

    Both come from one column matrix of dout per chunk (dout read as the input of a convolution with filters W):
    dx = col @ W_col (convolution's forward, channels-last rows) and dW += col^T x (convolution's dW with x as
    the upstream gradient). Returns dx as an (N, C_in, H, W) view of a channels-last array.
    """
    c_in, c_out, fh, fw = W.shape
    n, _, h, w = x.shape
    dpad = _padded_nhwc(dout, pad, work)
    w_col = _filters_nhwc(W)  # (FH*FW*C_out, C_in)
    x2 = x.transpose(0, 2, 3, 1).reshape(n * h * w, c_in)  # free when x is channels-last
    dx = np.empty((n * h * w, c_in), dtype=dout.dtype)
    dw_col = np.zeros(w_col.shape, dtype=dout.dtype)
    for rows, col in _col_chunks(dpad, fh, fw, stride, h, w, work):
        np.matmul(col, w_col, out=dx[rows])
        dw_col += col.T @ x2[rows]
    dW = np.ascontiguousarray(dw_col.reshape(fh, fw, c_out, c_in).transpose(3, 2, 0, 1))
    return dx.reshape(n, h, w, c_in).transpose(0, 3, 1, 2), dW


# --- max pooling ------------------------------------------------------------------------------------------------

def _pool_slices(pool_h: int, pool_w: int, stride: int, oh: int, ow: int):
    """For every window offset (p, q), row-major: the (N, C, OH, OW) strided slice holding that offset of every
    window."""
    for p in range(pool_h):
        for q in range(pool_w):
            yield (slice(None), slice(None), offset_slice(p, oh, stride), offset_slice(q, ow, stride))


def max_pool_forward(x: np.ndarray, pool_h: int, pool_w: int, stride: int, pad: int) -> np.ndarray:
    """out[n, c, i, j] = max over the window (i*stride + p, j*stride + q) of x padded with -inf.

    x (N, C, H, W) -> (N, C, OH, OW) in x's memory order: one ``np.maximum`` per window offset over strided
    slices, never a window array. Specification: ``common.reference.max_pool_naive``. Memory: the output.
    """
    xp = pad_hw(x, pad, -np.inf)
    oh = conv_output_size(xp.shape[2], pool_h, stride)
    ow = conv_output_size(xp.shape[3], pool_w, stride)
    out = None
    for index in _pool_slices(pool_h, pool_w, stride, oh, ow):
        out = np.copy(xp[index]) if out is None else np.maximum(out, xp[index], out=out)
    return out


def max_pool_backward(x: np.ndarray, out: np.ndarray, dout: np.ndarray, pool_h: int, pool_w: int, stride: int,
                      pad: int) -> np.ndarray:
    """dx (N, C, H, W): each window's dout goes to its first maximum (row-major window order), accumulated where
    windows overlap.

    For each window offset: hit = (that slice of x == out) and no earlier offset was hit; that slice of dx gets
    dout where hit (a branch-free :func:`keep_where`). Without overlap (stride >= window) every slice is written
    once, otherwise accumulated; when the windows tile the input exactly, dx is not zeroed first. Temporaries
    are (N, C, OH, OW). Specification: ``max_pool_naive``'s argmax.
    """
    xp = pad_hw(x, pad, -np.inf)
    d = np.empty_like(out)
    np.copyto(d, dout)  # dout in the memory order of out (and x), so the loop below streams
    overlap = stride < pool_h or stride < pool_w
    h, w = xp.shape[2], xp.shape[3]
    tiled = pool_h == pool_w == stride and h % stride == 0 and w % stride == 0  # every element in one window
    dxp = np.empty_like(xp) if tiled else np.zeros_like(xp)  # tiled: the loop below writes every element
    taken = None
    for index in _pool_slices(pool_h, pool_w, stride, out.shape[2], out.shape[3]):
        hit = xp[index] == out
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            taken |= hit
        if overlap:
            dxp[index] += keep_where(hit, d)
        else:
            dxp[index] = keep_where(hit, d)
    if pad == 0:
        return dxp
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]


def check_conv_input(x: np.ndarray, W: np.ndarray, stride: int, pad: int) -> None:
    if x.ndim != 4:
        raise ValueError(f"Convolution expects input (N, C, H, W), got shape {x.shape}")
    if x.shape[1] != W.shape[1]:
        raise ValueError(
            f"Convolution: input has {x.shape[1]} channels (shape {x.shape}) but filters W have shape "
            f"{W.shape}, expecting C = {W.shape[1]}"
        )
    fh, fw = W.shape[2:]
    if x.shape[2] + 2 * pad < fh or x.shape[3] + 2 * pad < fw:
        raise ValueError(
            f"Convolution: filter {fh}x{fw} larger than the padded input {x.shape[2] + 2 * pad}x"
            f"{x.shape[3] + 2 * pad} (input {x.shape}, pad={pad}, stride={stride})"
        )
