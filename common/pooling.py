"""Max-pooling kernels behind :class:`common.layers.Pooling` (re-exported by :mod:`common.kernels`).

Two routes, the same numbers bit for bit (the same comparisons and maxima in the same order):

* the offset loop (any window, stride, padding and memory order): one ``np.maximum`` per window offset over
  strided slices of x, and the same loop backward;
* window-major (the book's pooling: windows that tile the input, stride = window, no padding, on a channels-last
  input such as a convolution's output): x is copied once into a (FH*FW, N, OH, OW, C) array, one contiguous
  (N, OH, OW, C) slab per window offset, so every later pass reads and writes whole contiguous arrays instead of
  runs of C numbers; backward writes one slab per offset and scatters them into dx with one copy.

Specification: ``common.reference.max_pool_naive`` and ``max_pool_backward_naive`` (each window's gradient goes
to its first maximum in row-major window order).
"""

from __future__ import annotations

import numpy as np

from common.buffers import Workspace
from common.elementwise import keep_where
from common.util import conv_output_size, pad_hw

__all__ = ["offset_slice", "max_pool_forward", "max_pool_backward", "pool_windows", "max_pool_windows_forward",
           "max_pool_windows_backward"]


def offset_slice(start: int, count: int, stride: int) -> slice:
    """The positions start, start + stride, ..., ``count`` of them: kernel offset ``start`` of every window."""
    return slice(start, start + stride * (count - 1) + 1, stride)


# --- the offset loop ----------------------------------------------------------------------------------------------

def _pool_slices(pool_h: int, pool_w: int, stride: int, oh: int, ow: int):
    """For every window offset (p, q), row-major: the (N, C, OH, OW) strided slice holding that offset of every
    window."""
    for p in range(pool_h):
        for q in range(pool_w):
            yield (slice(None), slice(None), offset_slice(p, oh, stride), offset_slice(q, ow, stride))


def _first_hits(hits):
    """From an iterable of bool arrays, one per window offset in window order (x at that offset == the window's
    maximum), yield each with True kept only where no earlier offset was hit: each window keeps its first
    maximum. The arrays are changed in place."""
    taken = None
    for hit in hits:
        if taken is None:
            taken = hit.copy()
        else:
            np.greater(hit, taken, out=hit)  # hit and not taken
            np.logical_or(taken, hit, out=taken)
        yield hit


def max_pool_forward(x: np.ndarray, pool_h: int, pool_w: int, stride: int, pad: int) -> np.ndarray:
    """out[n, c, i, j] = max over the window (i*stride + p, j*stride + q) of x padded with -inf.

    x (N, C, H, W) -> (N, C, OH, OW) in x's memory order: one ``np.maximum`` per window offset over strided
    slices, never a window array. Memory: the output.
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
    are (N, C, OH, OW).
    """
    xp = pad_hw(x, pad, -np.inf)
    d = np.empty_like(out)
    np.copyto(d, dout)  # dout in the memory order of out (and x), so the loop below streams
    overlap = stride < pool_h or stride < pool_w
    h, w = xp.shape[2], xp.shape[3]
    tiled = pool_h == pool_w == stride and h % stride == 0 and w % stride == 0  # every element in one window
    dxp = np.empty_like(xp) if tiled else np.zeros_like(xp)  # tiled: the loop below writes every element
    slices = list(_pool_slices(pool_h, pool_w, stride, out.shape[2], out.shape[3]))
    for index, hit in zip(slices, _first_hits(xp[index] == out for index in slices), strict=True):
        if overlap:
            dxp[index] += keep_where(hit, d)
        else:
            dxp[index] = keep_where(hit, d)
    if pad == 0:
        return dxp
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]


# --- window-major -------------------------------------------------------------------------------------------------

def _window_view(a_nhwc: np.ndarray, size: int) -> np.ndarray:
    """(N, OH, size, OW, size, C) view of the part of a channels-last (N, H, W, C) array that the windows of a
    stride = size pooling cover (H, W cut to multiples of size)."""
    n, h, w, c = a_nhwc.shape
    oh, ow = h // size, w // size
    s0, s1, s2, s3 = a_nhwc.strides
    return np.lib.stride_tricks.as_strided(a_nhwc, (n, oh, size, ow, size, c),
                                           (s0, size * s1, s1, size * s2, s2, s3), writeable=a_nhwc.flags.writeable)


def pool_windows(x: np.ndarray, pool_h: int, pool_w: int, stride: int, pad: int,
                 work: Workspace | None = None) -> np.ndarray | None:
    """x (N, C, H, W) copied window-major, (FH*FW, N, OH, OW, C): slab k holds offset (k // FW, k % FW) of every
    window; into ``work``'s buffer "slabs" when given (kept between calls: no fresh pages each step). None when
    the window-major route does not apply (windows that do not tile: pool_h != pool_w or stride != window;
    padding; x not channels-last in memory) and the offset loop is the one to use."""
    if not (pool_h == pool_w == stride) or pad or x.ndim != 4 or not x.transpose(0, 2, 3, 1).flags.c_contiguous:
        return None
    n, c, h, w = x.shape
    s = stride
    shape = (s, s, n, h // s, w // s, c)
    slabs = np.empty(shape, dtype=x.dtype) if work is None else work.get("slabs", shape, x.dtype)
    np.copyto(slabs, _window_view(x.transpose(0, 2, 3, 1), s).transpose(2, 4, 0, 1, 3, 5))
    return slabs.reshape(s * s, n, h // s, w // s, c)


def max_pool_windows_forward(slabs: np.ndarray) -> np.ndarray:
    """The pooled output (N, C, OH, OW), a view of a channels-last array, from :func:`pool_windows`' slabs:
    the maximum over the slabs, taken in window order (as :func:`max_pool_forward` does)."""
    out = np.maximum(slabs[0], slabs[1]) if len(slabs) > 1 else slabs[0].copy()
    for slab in slabs[2:]:
        np.maximum(out, slab, out=out)
    return out.transpose(0, 3, 1, 2)


def max_pool_windows_backward(slabs: np.ndarray, out: np.ndarray, dout: np.ndarray, x_shape: tuple[int, ...],
                              work: Workspace | None = None) -> np.ndarray:
    """dx (N, C, H, W), a view of a channels-last array, for the slabs of :func:`pool_windows`, the output of
    :func:`max_pool_windows_forward` and dout (N, C, OH, OW) in any memory order: each window's dout goes to its
    first maximum; rows and columns beyond the last whole window get 0. The per-offset gradients go to
    ``work``'s buffer "slab_grads" when given."""
    k, n, oh, ow, c = slabs.shape
    s = int(round(k ** 0.5))
    out_nhwc = out.transpose(0, 2, 3, 1)
    d = np.ascontiguousarray(dout.transpose(0, 2, 3, 1))
    grads = np.empty_like(slabs) if work is None else work.get("slab_grads", slabs.shape, slabs.dtype)
    for slab_grad, hit in zip(grads, _first_hits(np.equal(slab, out_nhwc) for slab in slabs), strict=True):
        keep_where(hit, d, out=slab_grad)
    h, w = x_shape[2], x_shape[3]
    whole = h == oh * s and w == ow * s
    dx = np.empty((n, h, w, c), dtype=slabs.dtype) if whole else np.zeros((n, h, w, c), dtype=slabs.dtype)
    np.copyto(_window_view(dx, s), grads.reshape(s, s, n, oh, ow, c).transpose(2, 3, 0, 4, 1, 5))
    return dx.transpose(0, 3, 1, 2)
