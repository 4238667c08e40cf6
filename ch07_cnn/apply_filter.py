"""Apply learned first-layer filters of SimpleConvNet to a photograph and show what each one responds to.

The photograph is the portrait of Grace Hopper that ships inside matplotlib (``grace_hopper.jpg``), converted to
grey and shrunk with Pillow; nothing is downloaded. The book does the same with its own grey photograph.
"""

from __future__ import annotations

import sys

import matplotlib.cbook as cbook
import numpy as np
from PIL import Image

from ch07_cnn.simple_convnet import SHIPPED_PARAMS, TRAIN_COMMAND, SimpleConvNet
from common.cli import make_parser, seed_everything
from common.layers import Convolution
from common.plotting import finish_figure, plt
from common.training import load_trained


def sample_photo(height: int = 128) -> np.ndarray:
    """matplotlib's grace_hopper.jpg as grey float32 in [0, 1], resized to ``height`` rows: (H, W)."""
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        image = Image.open(f).convert("L")
        width = max(1, round(image.width * height / image.height))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float32) / np.float32(255)


def apply_filters(image: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Cross-correlate a grey image (H, W) with filters (FN, 1, FH, FW); returns (FN, OH, OW) responses."""
    conv = Convolution(filters.astype(image.dtype), np.zeros(filters.shape[0], dtype=image.dtype))
    return conv.forward(image[None, None])[0]


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True)
    parser.add_argument("--params", default=str(SHIPPED_PARAMS),
                        help="trained SimpleConvNet weights (default: the shipped ch07_cnn/params.npz)")
    parser.add_argument("--filters", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5],
                        help="indices of the first-layer filters to apply (default 0-5)")
    parser.add_argument("--height", type=int, default=128, help="height the photograph is resized to (default 128)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    W1 = load_trained(SimpleConvNet, args.params, TRAIN_COMMAND).params["W1"]
    bad = [i for i in args.filters if not 0 <= i < W1.shape[0]]
    if bad:
        parser.error(f"filter indices {bad} out of range: the network has {W1.shape[0]} filters (0..{W1.shape[0] - 1})")
    image = sample_photo(args.height if not args.quick else 48)
    responses = apply_filters(image, W1[args.filters])

    k = len(args.filters)
    fig, axes = plt.subplots(2, k + 1, figsize=(2.2 * (k + 1), 5), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 2]})
    axes[1, 0].imshow(image, cmap="gray")
    axes[1, 0].set_title("input")
    axes[0, 0].axis("off")
    for j, (index, response) in enumerate(zip(args.filters, responses, strict=True), 1):
        axes[0, j].imshow(W1[index, 0], cmap="gray_r", interpolation="nearest")
        axes[0, j].set_title(f"filter {index}")
        axes[1, j].imshow(response, cmap="gray")
        axes[1, j].set_title(f"response {index}")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    print(f"photo {image.shape}, responses {responses.shape}")
    finish_figure(fig, args, default_name="apply_filter.png")


if __name__ == "__main__":
    main(sys.argv[1:])
