"""Chapter 3.6.1: look at one MNIST training image and its label.

Loads MNIST as uint8 pixels (``normalize=False``) flattened to (784,), prints the label and the shapes
before and after reshaping to (28, 28), and writes the image as a PNG with Pillow (figures/mnist_show.png,
or ``--save PATH``). A window opens only when a display is available and ``--no-show`` is not given.

Run ``python -m ch03_network.mnist_show`` (``--index I`` picks another training image).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from common.cli import make_parser, non_negative_int, seed_everything
from common.plotting import figure_path, is_interactive_backend
from dataset.mnist import load_mnist

__all__ = ["img_show", "main"]


def img_show(img: np.ndarray, save: str | Path | None = None, show: bool = True) -> Path:
    """Write a (28, 28) uint8 image as a PNG (``save``, default figures/mnist_show.png) and, when ``show``
    and a display is available, open it in the system image viewer. Returns the path written."""
    img = np.asarray(img)
    if img.ndim != 2:
        raise ValueError(f"img_show expects a 2-D (H, W) image, got shape {img.shape}")
    if img.dtype != np.uint8:
        raise TypeError(f"img_show expects uint8 pixels 0..255 (load_mnist(normalize=False)), got dtype {img.dtype}")
    pil_img = Image.fromarray(img)
    path = figure_path(None if save is None else str(save), "mnist_show.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    pil_img.save(path)
    print(f"image saved to {path}")
    if show and is_interactive_backend():
        pil_img.show()
    return path


def main(argv: Sequence[str] | None = None) -> Path:
    """Print the label and shapes of one training image and save it as a PNG. Returns the PNG path."""
    parser = make_parser("Show one MNIST training image (chapter 3)", quick=True)
    parser.add_argument("--index", type=non_negative_int, default=0, help="which training image (default 0, the book's)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    (x_train, t_train), _ = load_mnist(flatten=True, normalize=False)
    if not 0 <= args.index < len(x_train):
        raise ValueError(f"--index must be in [0, {len(x_train)}), got {args.index}")
    img = x_train[args.index]
    label = t_train[args.index]
    print(label)
    print(img.shape)
    img = img.reshape(28, 28)  # (784,) -> (28, 28)
    print(img.shape)
    return img_show(img, save=args.save, show=not args.no_show)


if __name__ == "__main__":
    main(sys.argv[1:])
