"""Small helpers shared by the notebooks in this folder (reading aids, not part of the library).

Two environment variables change how the notebooks run; neither changes the library:

``DLFS_NOTEBOOK_QUICK=1``
    quick mode: small subsets and few iterations, so that every notebook runs in seconds. The tests use it.
``DLFS_NOTEBOOK_DATA=synthetic``
    use :func:`synthetic_digits` (digits drawn with a font, shifted, rotated and noised, in MNIST's shapes
    and dtypes) instead of MNIST. Nothing is downloaded and no cache is needed, so the tests (and CI, which
    has no MNIST cache) never touch the network. Figures made from these images say so in the banner that
    :func:`setup` prints; the outputs committed with the notebooks come from real MNIST in full mode.

The notebooks import this file as ``_nbutil``: Jupyter starts a notebook's kernel in the notebook's folder.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["QUICK", "SYNTHETIC", "setup", "pick", "load_mnist", "synthetic_digits", "train_command"]

QUICK: bool = os.environ.get("DLFS_NOTEBOOK_QUICK", "").strip() not in ("", "0")
SYNTHETIC: bool = os.environ.get("DLFS_NOTEBOOK_DATA", "").strip().lower() == "synthetic"

# sizes of the synthetic stand-in for MNIST (train, test)
SYNTHETIC_SIZES = (2000, 500)


def setup(dpi: int = 72) -> None:
    """Modest inline figures, short NumPy printing, and one line saying how this notebook is running."""
    import matplotlib.pyplot as plt

    plt.rcParams["figure.dpi"] = dpi
    plt.rcParams["figure.figsize"] = (6.0, 4.0)
    np.set_printoptions(precision=4)
    mode = "quick (DLFS_NOTEBOOK_QUICK=1)" if QUICK else "full"
    data = "synthetic digits (DLFS_NOTEBOOK_DATA=synthetic), not MNIST" if SYNTHETIC else "MNIST"
    print(f"mode: {mode}; data: {data}")


def pick(full, quick):
    """``quick`` in quick mode, else ``full`` (iteration counts, subset sizes...)."""
    return quick if QUICK else full


def _format(images: np.ndarray, labels: np.ndarray, normalize: bool, flatten: bool,
            one_hot_label: bool) -> tuple[np.ndarray, np.ndarray]:
    x = images.astype(np.float32) / np.float32(255) if normalize else images
    if not flatten:
        x = x.reshape(-1, 1, 28, 28)
    t = np.eye(10, dtype=np.float32)[labels] if one_hot_label else labels
    return x, t


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False):
    """``dataset.mnist.load_mnist`` with the same arguments, or its synthetic stand-in (see the module doc).

    The stand-in has the same shapes (except N: 2000 train, 500 test) and dtypes: images (N, 784) or
    (N, 1, 28, 28), float32 in [0, 1] or uint8; labels uint8 (N,) or float32 one-hot (N, 10).
    """
    if not SYNTHETIC:
        from dataset.mnist import load_mnist as real_load_mnist

        return real_load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)
    n_train, n_test = SYNTHETIC_SIZES
    x, t = synthetic_digits(n_train + n_test, seed=0)
    train = _format(x[:n_train], t[:n_train], normalize, flatten, one_hot_label)
    test = _format(x[n_train:], t[n_train:], normalize, flatten, one_hot_label)
    return train, test


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST-shaped digit images drawn with a font: (n, 784) uint8 images and (n,) uint8 labels.

    Each digit gets a random size, offset and rotation, and a little noise, so the images are learnable but
    not identical. Deterministic for a given ``seed``.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    fonts = {size: _font(size) for size in range(18, 25)}
    images = np.empty((n, 784), dtype=np.uint8)
    for i, label in enumerate(labels):
        canvas = Image.new("L", (28, 28), 0)
        cx, cy = 14 + rng.integers(-2, 3), 14 + rng.integers(-2, 3)
        ImageDraw.Draw(canvas).text((int(cx), int(cy)), str(label), fill=255,
                                    font=fonts[int(rng.integers(18, 25))], anchor="mm")
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR)
        pixels = np.asarray(canvas, dtype=np.float32) + rng.normal(0.0, 12.0, (28, 28))
        images[i] = np.clip(pixels, 0, 255).astype(np.uint8).ravel()
    return images, labels


def train_command(command: str) -> None:
    """Print the one-line shell command that does the long run this cell skips."""
    print(f"to train for real, run in a terminal:  {command}")
