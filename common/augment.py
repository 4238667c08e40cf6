"""Data augmentation for image mini-batches, vectorised over the batch, in NumPy.

Three transforms, each ``f(x, rng, ...) -> x`` on images (N, C, H, W) with values in [0, 1]:

* :func:`random_shift` - pad by ``max_shift`` pixels (zeros) and crop back at a random offset, i.e. a random
  translation by up to ``max_shift`` pixels in each direction;
* :func:`random_affine` - a random rotation and scaling about the image centre, resampled bilinearly
  (pixels that come from outside the image are 0, MNIST's background);
* :func:`random_jitter` - contrast (a random gain) and brightness (a random offset), clipped to [0, 1].

:class:`Augmenter` applies all three and is the ``augment(x_batch, rng) -> x_batch`` callable the Trainer takes.
Every random number comes from the ``np.random.Generator`` passed in, so the same seed gives the same batch.
The order of the samples never changes (labels stay aligned) and the dtype is kept.

Notation: N batch, C channels, H x W image.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Augmenter", "random_shift", "random_affine", "random_jitter"]


def _check_images(x: np.ndarray) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"augmentation expects images (N, C, H, W), got shape {getattr(x, 'shape', type(x))}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"augmentation expects float images in [0, 1], got dtype {x.dtype}")


def _check_affine_args(max_rotation: float, scale_range: tuple[float, float]) -> None:
    if max_rotation < 0:
        raise ValueError(f"max_rotation must be >= 0 degrees, got {max_rotation}")
    if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
        raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {scale_range}")


def _check_jitter_args(brightness: float, contrast: float) -> None:
    if brightness < 0 or not 0 <= contrast < 1:
        raise ValueError(f"need brightness >= 0 and 0 <= contrast < 1, got brightness={brightness}, contrast={contrast}")


def random_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Translate each image by a random integer (dy, dx), |dy|, |dx| <= max_shift, filling with zeros.

    Pad-and-crop: the zero-padded batch (N, C, H+2s, W+2s) is viewed as all (2s+1)^2 crops of size H x W, and
    one crop per sample is gathered. Memory: one padded copy of the batch plus the output.
    """
    _check_images(x)
    s = int(max_shift)
    if s < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    if s == 0:
        return x.copy()
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
    crops = sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, C, 2s+1, 2s+1, H, W) view
    oy = rng.integers(0, 2 * s + 1, size=n)
    ox = rng.integers(0, 2 * s + 1, size=n)
    return crops[np.arange(n), :, oy, ox]  # (N, C, H, W): advanced indices first, then C


def _bilinear_sample(x: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Sample every image at its own source coordinates; outside the image the value is 0.

    Args:
        x: (N, C, H, W).  src_y, src_x: (N, H*W) float source row/column of each output pixel.

    Returns:
        (N, C, H, W) of x's dtype.
    """
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).reshape(n, c, (h + 2) * (w + 2))  # zero border
    y0 = np.floor(src_y)
    x0 = np.floor(src_x)
    wy = (src_y - y0).astype(x.dtype)[:, None, :]  # (N, 1, H*W)
    wx = (src_x - x0).astype(x.dtype)[:, None, :]
    # rows -1 and H (columns -1 and W) are the zero border; everything further out is clipped onto it
    y1 = np.clip(y0 + 1, -1, h).astype(np.intp) + 1  # +1: index into the padded image
    y0 = np.clip(y0, -1, h).astype(np.intp) + 1
    x1 = np.clip(x0 + 1, -1, w).astype(np.intp) + 1
    x0 = np.clip(x0, -1, w).astype(np.intp) + 1

    def gather(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return np.take_along_axis(padded, (yi * (w + 2) + xi)[:, None, :], axis=2)  # (N, C, H*W)

    top = gather(y0, x0) * (1 - wx) + gather(y0, x1) * wx
    bottom = gather(y1, x0) * (1 - wx) + gather(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy).reshape(n, c, h, w)


def random_affine(x: np.ndarray, rng: np.random.Generator, max_rotation: float = 10.0,
                  scale_range: tuple[float, float] = (0.9, 1.1)) -> np.ndarray:
    """Rotate each image by a random angle in [-max_rotation, max_rotation] degrees and scale it by a random
    factor in ``scale_range``, about the image centre, with bilinear resampling.

    Each output pixel p is read from the source point c + R(-angle) (p - c) / scale (the inverse map).
    Cost: four gathers of N*C*H*W values.
    """
    _check_images(x)
    _check_affine_args(max_rotation, scale_range)
    lo, hi = scale_range
    n, _, h, w = x.shape
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, size=n))
    scale = rng.uniform(lo, hi, size=n)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    gy, gx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    gy, gx = gy.reshape(1, -1), gx.reshape(1, -1)  # (1, H*W) offsets from the centre
    cos = (np.cos(angle) / scale)[:, None]  # (N, 1)
    sin = (np.sin(angle) / scale)[:, None]
    src_y = cy + cos * gy - sin * gx  # (N, H*W)
    src_x = cx + sin * gy + cos * gx
    return _bilinear_sample(x, src_y, src_x)


def random_jitter(x: np.ndarray, rng: np.random.Generator, brightness: float = 0.05,
                  contrast: float = 0.2) -> np.ndarray:
    """x * g + b per image, g uniform in [1 - contrast, 1 + contrast], b uniform in [-brightness, brightness],
    clipped to [0, 1]. A gain (not a shift about the mean) keeps MNIST's black background black when b <= 0."""
    _check_images(x)
    _check_jitter_args(brightness, contrast)
    n = x.shape[0]
    gain = rng.uniform(1 - contrast, 1 + contrast, size=(n, 1, 1, 1)).astype(x.dtype)
    offset = rng.uniform(-brightness, brightness, size=(n, 1, 1, 1)).astype(x.dtype)
    return np.clip(x * gain + offset, 0, 1).astype(x.dtype, copy=False)


class Augmenter:
    """Random shift, rotation/scaling and brightness/contrast jitter, as one ``augment(x_batch, rng)`` callable.

    Args:
        max_shift: translation by up to this many pixels (pad-and-crop); 0 turns it off.
        max_rotation: degrees; 0 together with scale_range (1, 1) turns the affine resampling off.
        scale_range: (low, high) zoom factors.
        brightness, contrast: jitter amplitudes (see :func:`random_jitter`); both 0 turn it off.

    ``augmenter(x, rng)``: x (N, C, H, W) float in [0, 1] -> a new array of the same shape, dtype and range,
    sample i still being (a transformed) sample i. ``x`` itself is never modified.
    """

    def __init__(self, max_shift: int = 2, max_rotation: float = 10.0, scale_range: tuple[float, float] = (0.9, 1.1),
                 brightness: float = 0.05, contrast: float = 0.2) -> None:
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        _check_affine_args(max_rotation, scale_range)
        _check_jitter_args(brightness, contrast)
        self.max_shift = int(max_shift)
        self.max_rotation = float(max_rotation)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.brightness = float(brightness)
        self.contrast = float(contrast)

    def __repr__(self) -> str:
        return (f"Augmenter(max_shift={self.max_shift}, max_rotation={self.max_rotation}, "
                f"scale_range={self.scale_range}, brightness={self.brightness}, contrast={self.contrast})")

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images(x)
        out = x
        if self.max_rotation > 0 or self.scale_range != (1.0, 1.0):
            out = random_affine(out, rng, self.max_rotation, self.scale_range)
        if self.max_shift > 0:
            out = random_shift(out, rng, self.max_shift)
        if self.brightness > 0 or self.contrast > 0:
            out = random_jitter(out, rng, self.brightness, self.contrast)
        return np.clip(out, 0, 1).astype(x.dtype, copy=False)  # a new array even when every transform is off
