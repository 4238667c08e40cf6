"""Plain-loop convolution, max pooling and batch normalisation: slow, obviously correct, the specification the
kernels of :mod:`common.kernels` (and so the layers) are tested against. Shapes as in :mod:`common.layers`."""

from __future__ import annotations

import numpy as np

from common.util import conv_output_size, pad_hw

__all__ = ["conv2d_naive", "conv2d_backward_naive", "max_pool_naive", "max_pool_backward_naive",
           "batchnorm_backward_naive"]


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


def conv2d_backward_naive(x: np.ndarray, W: np.ndarray, dout: np.ndarray, stride: int = 1, pad: int = 0):
    """Gradients of :func:`conv2d_naive` for upstream dout (N, FN, OH, OW): (dx (N, C, H, W), dW, db (FN,)).

    Every output element sends dout[n, f, i, j] * W[f] to its input window and dout * window to dW[f]."""
    n, c, h, w = x.shape
    fn, _, fh, fw = W.shape
    _, _, oh, ow = dout.shape
    xp = pad_hw(x, pad)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for s in range(n):
        for f in range(fn):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * stride, i * stride + fh)
                    cols = slice(j * stride, j * stride + fw)
                    dxp[s, :, rows, cols] += dout[s, f, i, j] * W[f]
                    dW[f] += dout[s, f, i, j] * xp[s, :, rows, cols]
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, pad:pad + h, pad:pad + w], dW, db


def max_pool_backward_naive(x: np.ndarray, dout: np.ndarray, pool_h: int, pool_w: int, stride: int = 2,
                            pad: int = 0) -> np.ndarray:
    """dx (N, C, H, W): each window's dout added to its first maximum (the argmax of :func:`max_pool_naive`)."""
    _, arg = max_pool_naive(x, pool_h, pool_w, stride, pad)
    dx = np.zeros_like(x)
    for idx in np.ndindex(dout.shape):
        r, c = arg[idx]
        dx[idx[0], idx[1], r, c] += dout[idx]
    return dx


def batchnorm_backward_naive(x: np.ndarray, gamma: np.ndarray, dout: np.ndarray, eps: float = 1e-6):
    """The book's batch-norm backward chain for x, dout (M, D) and gamma (D,): (dx, dgamma, dbeta)."""
    m = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    std = np.sqrt(np.mean(xc ** 2, axis=0) + eps)
    xn = xc / std
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = gamma * dout
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / m) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    return dxc - dmu / m, dgamma, dbeta
