"""DeepConvNet in half precision: does MNIST accuracy survive 16-bit floats? (book section 8.3.4)

Three measurements with the same trained weights:

1. float32 - the network as trained, on the whole test set;
2. float16 weights, float32 arithmetic - the book's experiment: every weight rounded to float16 and cast back,
   the computation itself still in float32 (whole test set);
3. float16 arithmetic - a float16 copy of the network computing the forward pass in float16 (inputs, weights,
   activations, outputs all float16) on the first ``--samples`` test images. NumPy's float16 matrix product
   has no BLAS kernel, so this one is slow. (Like a GPU's tensor cores, NumPy accumulates each float16 dot
   product at higher precision and rounds the result to float16.)
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ch08_deep.deep_convnet import SHIPPED_PARAMS, TRAIN_COMMAND, DeepConvNet
from common.cli import make_parser, positive_int, seed_everything
from common.training import load_trained
from dataset.mnist import load_mnist

QUICK_TEST, QUICK_SAMPLES = 200, 20


def round_weights_to_float16(network: DeepConvNet) -> None:
    """Round every parameter to the nearest float16 and store it back in the network's own dtype, in place."""
    for param in network.params.values():
        param[...] = param.astype(np.float16)


def main(argv: list[str] | None = None) -> None:
    parser = make_parser(__doc__.splitlines()[0], quick=True, figure=False, workload="large")
    parser.add_argument("--params", default=str(SHIPPED_PARAMS),
                        help="DeepConvNet weights (default: the shipped ch08_deep/deep_convnet_params.npz)")
    parser.add_argument("--samples", type=positive_int, default=1000,
                        help="test images for the (slow) float16-arithmetic run (default 1000)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)

    _, (x_test, t_test) = load_mnist(flatten=False)
    samples = args.samples
    if args.quick:
        x_test, t_test = x_test[:QUICK_TEST], t_test[:QUICK_TEST]
        samples = min(samples, QUICK_SAMPLES)
    samples = max(1, min(samples, len(x_test)))
    labels = t_test.astype(np.intp)

    network = load_trained(DeepConvNet, args.params, TRAIN_COMMAND)
    pred32 = network.predict_labels(x_test, desc="float32")
    acc32 = float(np.mean(pred32 == labels))
    print(f"1. float32 weights, float32 arithmetic        ({len(labels)} images): accuracy {acc32:.4f}")

    rounded = load_trained(DeepConvNet, args.params, TRAIN_COMMAND)
    round_weights_to_float16(rounded)
    pred_rounded = rounded.predict_labels(x_test, desc="float16 weights")
    acc_rounded = float(np.mean(pred_rounded == labels))
    changed = int(np.sum(pred_rounded != pred32))
    print(f"2. float16 weights, float32 arithmetic (book) ({len(labels)} images): accuracy {acc_rounded:.4f} "
          f"(difference {acc_rounded - acc32:+.4f}; {changed} predictions changed)")

    half = DeepConvNet(dtype=np.float16)
    half.load_params(args.params)
    start = time.perf_counter()
    pred16 = half.predict_labels(x_test[:samples], desc="float16 arithmetic")
    seconds = time.perf_counter() - start
    acc16 = float(np.mean(pred16 == labels[:samples]))
    acc32_subset = float(np.mean(pred32[:samples] == labels[:samples]))
    changed16 = int(np.sum(pred16 != pred32[:samples]))
    print(f"3. float16 weights, float16 arithmetic        ({samples} images): accuracy {acc16:.4f}; float32 on the "
          f"same images {acc32_subset:.4f} (difference {acc16 - acc32_subset:+.4f}; {changed16} predictions changed; "
          f"{1000 * seconds / samples:.0f} ms per image)")


if __name__ == "__main__":
    main(sys.argv[1:])
