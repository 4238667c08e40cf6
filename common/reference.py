"""Plain-loop convolution and max pooling: slow, obviously correct, the specification the fast layers are
tested against. Shapes as in :mod:`common.layers`."""

from __future__ import annotations

import numpy as np

from common.util import conv_output_size, pad_hw

__all__ = ["conv2d_naive", "max_pool_naive"]


def conv2d_naive(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """out[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, i*stride + p, j*stride + q] * W[f, c, p, q]."""
    n, c, h, w = x.shape
    fn, _, fh, fw = W.shape
    oh, ow = conv_output_size(h, fh, stride, pad), conv_output_size(w, fw, stride, pad)
    xp = pad_hw(x, pad)
    out = np.zeros((n, fn, oh, ow), dtype=x.dtype)
    for s in range(n):
        for f in range(fn):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[s, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
                    out[s, f, i, j] = np.sum(patch * W[f]) + b[f]
    return out


def max_pool_naive(x: np.ndarray, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0):
    """Max over each window, and the gradient routing: returns (out, argmax) where argmax[n, c, i, j] is
    the (row, col) in the *unpadded* input of the first maximum of the window in row-major order."""
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, pool_h, stride, pad), conv_output_size(w, pool_w, stride, pad)
    xp = pad_hw(x, pad, -np.inf)
    out = np.zeros((n, c, oh, ow), dtype=x.dtype)
    arg = np.zeros((n, c, oh, ow, 2), dtype=np.intp)
    for s in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[s, ch, i * stride:i * stride + pool_h, j * stride:j * stride + pool_w]
                    k = int(np.argmax(patch))
                    out[s, ch, i, j] = patch.flat[k]
                    arg[s, ch, i, j] = (i * stride + k // pool_w - pad, j * stride + k % pool_w - pad)
    return out, arg
