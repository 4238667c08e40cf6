"""Chapter 6.3: check the backpropagated gradients of a network with batch normalization.

MultiLayerNetExtend (784-100-100-10, ReLU, BatchNorm) in float64 on a batch of several MNIST images: the
backprop gradient of every parameter (W, b, gamma, beta) is compared with the central-difference gradient and
the mean absolute difference printed per key, as in the book's gradient_check.py. (The book used a batch of
ONE image, where batch normalization subtracts the only sample from itself; here the batch has 5 by default.)
Exits with status 1 when any difference exceeds ``--tol``.

Run ``python -m ch06_techniques.batch_norm_gradient_check`` (about a minute; ``--quick`` uses a small network).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, non_negative_float, positive_int, seed_everything
from common.multi_layer_net_extend import MultiLayerNetExtend
from dataset.mnist import load_mnist

__all__ = ["gradient_differences", "main"]


def gradient_differences(network, x: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Mean |backprop - numerical| per parameter key of ``network`` on the batch (x, t)."""
    grad_numerical = network.numerical_gradient(x, t)
    grad_backprop = network.gradient(x, t)
    return {key: float(np.mean(np.abs(grad_backprop[key] - grad_numerical[key]))) for key in network.params}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Print the per-key differences; exit with status 1 if one exceeds ``--tol``. Returns key -> difference."""
    parser = make_parser("Gradient check of a network with batch normalization (chapter 6.3)", quick=True,
                         figure=False)
    parser.add_argument("--batch-size", type=positive_int, default=5, help="images in the batch (default 5; at least 2)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[100, 100], help="hidden sizes (default 100 100)")
    parser.add_argument("--tol", type=non_negative_float, default=1e-7,
                        help="largest allowed mean |difference| (default 1e-7)")
    args = parser.parse_args(argv)
    if args.batch_size < 2:
        parser.error("--batch-size must be at least 2: batch normalization of one sample is degenerate")
    if args.quick:
        args.hidden = [8, 6]
    seed_everything(args.seed)

    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True)
    x_batch = x_train[:args.batch_size].astype(np.float64)
    t_batch = t_train[:args.batch_size].astype(np.float64)
    network = MultiLayerNetExtend(input_size=784, hidden_size_list=args.hidden, output_size=10,
                                  use_batchnorm=True, dtype=np.float64)

    diffs = gradient_differences(network, x_batch, t_batch)
    for key, diff in diffs.items():
        print(f"{key}:{diff}")
    bad = {key: diff for key, diff in diffs.items() if not diff <= args.tol}
    if bad:
        sys.exit(f"gradient check FAILED (tolerance {args.tol}): " + ", ".join(f"{k}={v:.3g}" for k, v in bad.items()))
    print(f"gradient check passed: every mean |difference| <= {args.tol}")
    return diffs


if __name__ == "__main__":
    main(sys.argv[1:])
