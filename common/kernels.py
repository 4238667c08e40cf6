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

from common.buffers import Workspace
from common.elementwise import (
    batchnorm_dx,
    batchnorm_forward,
    channel_dots,
    channel_sums,
    column_sums,
    keep_where,
    per_channel,
    scale_shift,
    zero_where,
)
from common.pooling import (
    max_pool_backward,
    max_pool_forward,
    max_pool_windows_backward,
    max_pool_windows_forward,
    offset_slice,
    pool_windows,
)
from common.util import conv_output_size

__all__ = [  # the element-wise and pooling kernels live in common.elementwise and common.pooling, re-exported here
    "keep_where", "zero_where", "column_sums", "channel_sums", "channel_dots", "per_channel", "scale_shift",
    "batchnorm_forward", "batchnorm_dx",
    "Workspace", "offset_slice", "im2col_nhwc", "conv_forward", "conv_backward", "deconv_backward",
    "max_pool_forward", "max_pool_backward", "pool_windows", "max_pool_windows_forward", "max_pool_windows_backward",
]


# --- channels-last im2col ---------------------------------------------------------------------------------------

def im2col_nhwc(xp: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
                out: np.ndarray | None = None) -> np.ndarray:
    """The book's im2col of an already padded channels-last (N, Hp, Wp, C) array, columns in (fh, fw, c) order.

    col[(n, i, j), (p, q, c)] = xp[n, i*stride + p, j*stride + q, c]; shape (N*OH*OW, FH*FW*C). Each row is FH
    runs of FW*C numbers contiguous in ``xp``, so the one copy streams memory. ``out``: an optional buffer of
    that shape and dtype to write into. A column-major ``out`` is filled column by column: each column is one
    kernel offset of every window, copied in runs of OW numbers, the faster order when C is 1.
    Specification: ``common.util.im2col`` with the columns reordered. Memory: N*OH*OW*FH*FW*C numbers.
    """
    win = _windows(xp, filter_h, filter_w, stride)
    if out is None:
        n, oh, ow, _, _, c = win.shape
        out = np.empty((n * oh * ow, filter_h * filter_w * c), dtype=xp.dtype)
    return _copy_windows(win, out)


def _windows(xp: np.ndarray, fh: int, fw: int, stride: int) -> np.ndarray:
    """Every window of the padded channels-last xp as an (N, OH, OW, FH, FW, C) view (no copy)."""
    win = sliding_window_view(xp, (fh, fw), axis=(1, 2))  # (N, Hp-FH+1, Wp-FW+1, C, FH, FW) view
    return win[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)


def _copy_windows(win: np.ndarray, out: np.ndarray) -> np.ndarray:
    """win (N, OH, OW, FH, FW, C) copied into out (N*OH*OW, FH*FW*C), column by column if out is column-major."""
    n, oh, ow, fh, fw, c = win.shape
    if out.flags.f_contiguous and not out.flags.c_contiguous:  # column-major: out.T is (FH*FW*C, N*OH*OW)
        np.copyto(out.T.reshape(fh, fw, c, n, oh, ow), win.transpose(3, 4, 5, 0, 1, 2))
    else:
        np.copyto(out.reshape(n, oh, ow, fh, fw, c), win)  # always a copy, never a view of xp
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


def _padded_nhwc(x: np.ndarray, pad: int, work: Workspace, tag: str = "x") -> np.ndarray:
    """x (N, C, H, W) as a C-contiguous channels-last (N, H + 2*pad, W + 2*pad, C) array with a zero border:
    ``x``'s own memory when it already is channels-last and pad is 0, else the kept buffer ``tag + "pad"``."""
    n, c, h, w = x.shape
    x_nhwc = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
    if not pad:
        return np.ascontiguousarray(x_nhwc)
    xp = work.get(f"{tag}pad", (n, h + 2 * pad, w + 2 * pad, c), x.dtype)
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


def _chunk_col(win: np.ndarray, n0: int, m: int, work: Workspace, suffix: str, tag: str = "") -> np.ndarray:
    """The column matrix of images n0 .. n0+m-1 of the window view ``win`` (:func:`_windows`, made once per call,
    not per chunk), (m*OH*OW, FH*FW*C), copied into a kept buffer (column-major when C is 1), so it is still in
    cache when used."""
    _, oh, ow, fh, fw, c = win.shape
    order = "F" if c == 1 else "C"
    col = work.get(f"{tag}col{suffix}", (m * oh * ow, fh * fw * c), win.dtype, order=order)
    return _copy_windows(win[n0:n0 + m], col)


def _col_chunks(xp: np.ndarray, fh: int, fw: int, stride: int, oh: int, ow: int, work: Workspace,
                tag: str = ""):
    """For each chunk of images: (row slice of the full column matrix, the chunk's column matrix)."""
    win = _windows(xp, fh, fw, stride)
    for n0, m, rows, suffix in _chunks(xp.shape[0], oh, ow, fh * fw * xp.shape[3] * xp.itemsize):
        yield rows, _chunk_col(win, n0, m, work, suffix, tag)


def _conv_products(xp: np.ndarray, w_col: np.ndarray, fh: int, fw: int, stride: int, oh: int, ow: int,
                   work: Workspace, tag: str = "") -> np.ndarray:
    """im2col of the padded channels-last xp times w_col (FH*FW*C, FN), chunk by chunk: (N*OH*OW, FN) rows."""
    out = np.empty((xp.shape[0] * oh * ow, w_col.shape[1]), dtype=xp.dtype)
    for rows, col in _col_chunks(xp, fh, fw, stride, oh, ow, work, tag):
        np.matmul(col, w_col, out=out[rows])
    return out


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
    out = _conv_products(xp, _filters_nhwc(W), fh, fw, stride, oh, ow, work)  # (N*OH*OW, FN)
    per_channel(np.add, out, b, out=out)
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
    dx = None
    if need_dx and stride == 1 and fh == fw and pad < fh and fn <= c:
        dx, need_dx = _dx_by_flipped_filters(dout, W, pad, work), False
    dxp = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=dout.dtype) if need_dx else None
    win = _windows(work.saved["xp"], fh, fw, stride) if need_dw else None
    for n0, m, rows, suffix in _chunks(n, oh, ow, fh * fw * c * dout.itemsize):
        d_k = d2[rows]  # (rows, FN)
        if need_dw:
            dw_col += _chunk_col(win, n0, m, work, suffix).T @ d_k
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
    if dxp is not None:
        dx = dxp[:, pad:pad + h, pad:pad + w, :].transpose(0, 3, 1, 2)
    if not need_dw:
        return dx, None, db
    dW = np.ascontiguousarray(dw_col.reshape(fh, fw, c, fn).transpose(3, 2, 0, 1))  # (FN, C, FH, FW)
    return dx, dW, db


def _dx_by_flipped_filters(dout: np.ndarray, W: np.ndarray, pad: int, work: Workspace) -> np.ndarray:
    """dx (N, C, H, W) of a stride-1 convolution with square filters and pad < FH, as a convolution itself.

    dx[n, c, y, x] = sum_{f, p, q} dout[n, f, y + pad - p, x + pad - q] * W[f, c, p, q] (out-of-range dout is 0)
    is a stride-1 convolution of dout, padded by FH - 1 - pad, with the filters flipped in both axes and the
    roles of C and FN swapped: one im2col product of K = FH*FW*FN per chunk (the same kernel as the forward)
    instead of FH*FW products of K = FN each followed by a strided add into dx. Faster when FN <= C (measured
    on DeepConvNet's 16->16, 32->32 and 64->64 layers); the sums run in another order than col2im's.
    """
    fn, c, fh, fw = W.shape
    n, _, oh, ow = dout.shape
    h, w = oh + fh - 1 - 2 * pad, ow + fw - 1 - 2 * pad
    w_col = W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(fh * fw * fn, c)  # rows in (p, q, f) order
    dp = _padded_nhwc(dout, fh - 1 - pad, work, tag="d")
    dx = _conv_products(dp, w_col, fh, fw, 1, h, w, work, tag="d")
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)


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
