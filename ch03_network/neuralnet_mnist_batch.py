"""Chapter 3.6.3: the same inference as ``neuralnet_mnist``, in batches of 100 images.

One matrix product per layer and batch: x (100, 784) -> (100, 50) -> (100, 100) -> y (100, 10), and the
predicted classes are ``argmax`` along axis 1. The accuracy is the same as one image at a time; the time
is far shorter.

Run ``python -m ch03_network.neuralnet_mnist_batch`` (``--batch-size`` to change 100).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ch03_network.neuralnet_mnist import get_data, init_network, predict
from common.cli import make_parser, positive_int, seed_everything

__all__ = ["get_data", "init_network", "predict", "main"]


def main(argv: Sequence[str] | None = None) -> float:
    """Classify the test images batch by batch and print the accuracy. Returns it."""
    parser = make_parser("Three-layer network inference on MNIST in batches (chapter 3)", quick=True, figure=False)
    parser.add_argument("--batch-size", type=positive_int, default=100, help="images per batch (default 100)")
    parser.add_argument("--params", "--weights", dest="weights", metavar="PATH", default=None,
                        help="parameter file (.npz; default: sample_weight.npz beside ch03_network)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    x, t = get_data()
    if args.quick:
        x, t = x[:1000], t[:1000]
    network = init_network(args.weights)

    batch_size = args.batch_size
    accuracy_cnt = 0
    for i in range(0, len(x), batch_size):
        x_batch = x[i:i + batch_size]  # (B, 784); the last batch may be shorter
        y_batch = predict(network, x_batch)  # (B, 10)
        p = np.argmax(y_batch, axis=1)
        accuracy_cnt += int(np.sum(p == t[i:i + batch_size]))

    accuracy = accuracy_cnt / len(x)
    print("Accuracy:" + str(accuracy))
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1:])
