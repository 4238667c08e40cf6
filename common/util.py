"""Convolution helpers (im2col / col2im) and small utilities of the book's ``common/util.py``.

Notation: N batch, C channels, H x W input size, FH x FW filter size, OH x OW output size,
``stride`` and ``pad`` as in the book.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["conv_output_size", "im2col", "col2im", "smooth_curve", "shuffle_dataset"]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output length (input_size + 2*pad - filter_size) // stride + 1 of a convolution or pooling, as an int.

    Raises ValueError when the filter is larger than the padded input or stride/pad are invalid.
    """
    input_size, filter_size, stride, pad = int(input_size), int(filter_size), int(stride), int(pad)
    if stride < 1 or pad < 0 or filter_size < 1:
        raise ValueError(f"need stride >= 1, pad >= 0, filter >= 1; got stride={stride}, pad={pad}, filter={filter_size}")
    if input_size + 2 * pad < filter_size:
        raise ValueError(
            f"filter of size {filter_size} does not fit an input of size {input_size} padded by {pad} "
            f"(padded size {input_size + 2 * pad})"
        )
    return (input_size + 2 * pad - filter_size) // stride + 1


def _check_4d(x: np.ndarray, what: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{what} expects input of shape (N, C, H, W), got ndim={x.ndim} shape {x.shape}")


def pad_hw(x: np.ndarray, pad: int, value: float = 0) -> np.ndarray:
    """Pad the last two axes of (N, C, H, W) by ``pad`` with ``value``; returns ``x`` itself when pad is 0."""
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=value)


def windows(x: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """A read-only strided view of every filter window: (N, C, OH, OW, FH, FW). No data is copied."""
    _check_4d(x, "im2col")
    conv_output_size(x.shape[2], filter_h, stride, pad)
    conv_output_size(x.shape[3], filter_w, stride, pad)
    view = sliding_window_view(pad_hw(x, pad), (filter_h, filter_w), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def im2col(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unfold every filter window of ``input_data`` into a row.

    Args:
        input_data: (N, C, H, W).

    Returns:
        (N*OH*OW, C*FH*FW), rows ordered (n, oh, ow) and columns (c, fh, fw), both row-major, so that
        ``im2col(x) @ W.reshape(FN, -1).T`` is the convolution. One copy of N*OH*OW*C*FH*FW elements.
    """
    win = windows(input_data, filter_h, filter_w, stride, pad)  # (N, C, OH, OW, FH, FW)
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * filter_h * filter_w)


def col2im(
    col: np.ndarray, input_shape: tuple[int, ...], filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """The adjoint of :func:`im2col`: fold rows back into an image, summing where windows overlap.

    Args:
        col: (N*OH*OW, C*FH*FW) in im2col's layout.
        input_shape: (N, C, H, W) of the image im2col was applied to.

    Returns:
        (N, C, H, W) of ``col``'s dtype. Loops over the FH*FW kernel offsets only.
    """
    n, c, h, w = input_shape
    oh = conv_output_size(h, filter_h, stride, pad)
    ow = conv_output_size(w, filter_w, stride, pad)
    expected = (n * oh * ow, c * filter_h * filter_w)
    if col.shape != expected:
        raise ValueError(f"col2im: col has shape {col.shape}, expected {expected} for input {tuple(input_shape)}")
    col6 = col.reshape(n, oh, ow, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)  # (N, C, FH, FW, OH, OW)
    return fold_windows(col6, (n, c, h, w), stride, pad)


def fold_windows(col6: np.ndarray, input_shape: tuple[int, ...], stride: int, pad: int) -> np.ndarray:
    """Sum window values (N, C, FH, FW, OH, OW) back into an image (N, C, H, W) (the adjoint of :func:`windows`)."""
    n, c, h, w = input_shape
    _, _, fh, fw, oh, ow = col6.shape
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col6.dtype)
    for i in range(fh):
        i_end = i + stride * (oh - 1) + 1
        for j in range(fw):
            j_end = j + stride * (ow - 1) + 1
            img[:, :, i:i_end:stride, j:j_end:stride] += col6[:, :, i, j]
    if pad == 0:
        return img
    return img[:, :, pad:pad + h, pad:pad + w]


def smooth_curve(x: np.ndarray, window: int = 11, beta: float = 2.0) -> np.ndarray:
    """Smooth a loss curve with a normalised Kaiser window (edges reflected); returns x's length."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return x.copy()
    window = min(window, x.size if x.size % 2 else x.size - 1)
    half = window // 2
    kernel = np.kaiser(window, beta)
    kernel /= kernel.sum()
    padded = np.concatenate([x[half:0:-1], x, x[-2:-half - 2:-1]]) if half else x
    return np.convolve(padded, kernel, mode="valid")


def shuffle_dataset(x: np.ndarray, t: np.ndarray, rng: np.random.Generator | None = None):
    """Return ``x`` and ``t`` shuffled by the same random permutation of their first axis."""
    if len(x) != len(t):
        raise ValueError(f"x has {len(x)} samples but t has {len(t)}")
    perm = (rng.permutation(len(x)) if rng is not None else np.random.permutation(len(x)))
    return x[perm], t[perm]
