"""Chapter 5.7.3: gradient check, the backprop gradient against the numerical one on a few MNIST images.

The network computes in float64 here so that the central differences are accurate; for each parameter the
mean absolute difference between the two gradients is printed (typically 1e-10 or smaller). Any difference
above 1e-6 means a bug in a backward pass: the script then stops with a non-zero exit status.

Run ``python -m ch05_backprop.gradient_check``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ch05_backprop.two_layer_net import TwoLayerNet
from common.cli import make_parser, positive_int, seed_everything
from dataset.mnist import load_mnist

__all__ = ["TOLERANCE", "main"]

TOLERANCE = 1e-6


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Print the mean |backprop - numerical| per parameter; raise SystemExit if any exceeds TOLERANCE."""
    parser = make_parser("Check the backprop gradient of chapter 5's TwoLayerNet numerically", quick=True,
                         figure=False)
    parser.add_argument("--samples", type=positive_int, default=3, help="number of training images to use (default 3)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True)
    hidden = 10 if args.quick else 50
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden, output_size=t_train.shape[1],
                          dtype=np.float64)
    x_batch = x_train[:args.samples].astype(np.float64)
    t_batch = t_train[:args.samples].astype(np.float64)

    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)

    diffs = {}
    for key in grad_numerical:
        diffs[key] = float(np.mean(np.abs(grad_backprop[key] - grad_numerical[key])))
        print(f"{key}:{diffs[key]:.3e}")
    bad = {key: value for key, value in diffs.items() if value > TOLERANCE}
    if bad:
        raise SystemExit(
            "gradient check FAILED: mean |backprop - numerical| above "
            f"{TOLERANCE:g} for {', '.join(f'{key} ({value:.3e})' for key, value in bad.items())}"
        )
    print(f"gradient check passed: every difference is below {TOLERANCE:g}")
    return diffs


if __name__ == "__main__":
    main(sys.argv[1:])
