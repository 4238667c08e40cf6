"""Gradient check of SimpleConvNet: backpropagation against central differences, in float64 on a 10x10 input.

The step h = 1e-6 (float64) keeps the central differences from crossing ReLU kinks or swapping the maximum of a
pooling window, where the loss has no derivative. Prints the mean |difference| per parameter and exits with a
non-zero status when the relative error max|backprop - numerical| / max(|numerical|) of any parameter exceeds
``--tol``.
"""

from __future__ import annotations

import sys

import numpy as np

from ch07_cnn.simple_convnet import SimpleConvNet
from common.cli import make_parser, non_negative_float, positive_int, seed_everything


def check(network: SimpleConvNet, x: np.ndarray, t: np.ndarray, h: float = 1e-6) -> dict[str, tuple[float, float]]:
    """{key: (mean |diff|, relative max error)} of backprop against numerical gradients with step ``h``."""
    grad_backprop = network.gradient(x, t)
    grad_numerical = network.numerical_gradient(x, t, h)
    result = {}
    for key, numerical in grad_numerical.items():
        diff = np.abs(grad_backprop[key] - numerical)
        scale = max(float(np.abs(numerical).max()), 1e-12)
        result[key] = (float(diff.mean()), float(diff.max()) / scale)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True, figure=False)
    parser.add_argument("--samples", type=positive_int, default=2, help="images in the batch (default 2)")
    parser.add_argument("--tol", type=non_negative_float, default=1e-5,
                        help="largest relative error accepted (default 1e-5)")
    args = parser.parse_args(argv)
    rng = seed_everything(args.seed)

    network = SimpleConvNet(input_dim=(1, 10, 10),
                            conv_param={"filter_num": 10 if not args.quick else 3, "filter_size": 3, "pad": 0, "stride": 1},
                            hidden_size=10, output_size=10, weight_init_std=0.1, dtype=np.float64)
    x = rng.random((args.samples, 1, 10, 10))
    t = rng.integers(0, 10, size=args.samples)
    worst = 0.0
    for key, (mean_diff, rel) in check(network, x, t).items():
        print(f"{key}: mean |diff| {mean_diff:.3e}, relative max error {rel:.3e}")
        worst = max(worst, rel)
    if worst > args.tol:
        raise SystemExit(f"gradient check FAILED: relative error {worst:.3e} > tolerance {args.tol:.1e}")
    print(f"gradient check passed (worst relative error {worst:.3e} <= {args.tol:.1e})")


if __name__ == "__main__":
    main(sys.argv[1:])
