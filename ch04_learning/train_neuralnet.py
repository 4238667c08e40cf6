"""Chapter 4.5.2-4.5.3: mini-batch training of the two-layer network on MNIST, with test evaluation.

784 -> 50 (sigmoid) -> 10 (softmax), 10000 iterations of SGD with mini-batches of 100 and learning rate 0.1
(the book's values; ``--iters``, ``--batch-size``, ``--lr``, ``--hidden``). Each epoch is one pass over the
training set in a fresh random order (600 iterations for 60000 images and batches of 100); after every
epoch the accuracy on the whole training and test sets is printed, evaluated in batches of 1000. The figure
shows both accuracies per epoch and the loss per iteration (figures/ch04_train_neuralnet.png or ``--save``).

The gradient is the analytic one (``TwoLayerNet.gradient``) by default. ``--numerical`` uses the book's
``numerical_gradient`` instead (in float64): it times one step, prints how long the full run would take,
and trains only a few iterations unless ``--iters`` is given. ``--quick`` trains 50 iterations on the
first 2000 training images and evaluates on 1000 test images (with ``--numerical``, on a 10-unit hidden layer).

Run ``python -m ch04_learning.train_neuralnet``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from ch04_learning.two_layer_net import TwoLayerNet
from common.cli import make_parser, non_negative_int, positive_float, positive_int, seed_everything
from common.plotting import finish_figure
from common.training import TrainingHistory, plot_history
from dataset.mnist import load_mnist

__all__ = ["BOOK_ITERS", "main"]

BOOK_ITERS = 10000


def main(argv: Sequence[str] | None = None) -> TrainingHistory:
    """Train the chapter 4 network, print the accuracies per epoch and save the learning curves."""
    parser = make_parser("Train chapter 4's two-layer sigmoid network on MNIST with SGD", quick=True)
    parser.add_argument("--iters", type=non_negative_int, default=None,
                        help=f"iterations (default {BOOK_ITERS}; 2 with --numerical)")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=positive_float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--hidden", type=positive_int, default=50, help="hidden units (default 50)")
    parser.add_argument("--numerical", action="store_true",
                        help="use the numerical gradient (the book's slow path, float64): time it and train briefly")
    args = parser.parse_args(argv)
    rng = seed_everything(args.seed)

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
    hidden = args.hidden
    iters = args.iters
    if args.quick:
        x_train, t_train, x_test, t_test = x_train[:2000], t_train[:2000], x_test[:1000], t_test[:1000]
        hidden = min(hidden, 10) if args.numerical else hidden
    if iters is None:
        iters = 2 if args.numerical else (50 if args.quick else BOOK_ITERS)

    dtype = np.float64 if args.numerical else np.float32
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden, output_size=t_train.shape[1], dtype=dtype)
    if args.numerical:
        x_train, t_train = x_train.astype(np.float64), t_train.astype(np.float64)
        x_test, t_test = x_test.astype(np.float64), t_test.astype(np.float64)
        x_batch, t_batch = x_train[:args.batch_size], t_train[:args.batch_size]
        start = time.perf_counter()
        network.numerical_gradient(x_batch, t_batch)
        numerical_s = time.perf_counter() - start
        start = time.perf_counter()
        network.gradient(x_batch, t_batch)
        backprop_s = time.perf_counter() - start
        n_params = sum(p.size for p in network.params.values())
        print(f"numerical gradient: {numerical_s:.2f} s per iteration ({2 * n_params} loss evaluations); "
              f"backprop: {backprop_s * 1e3:.2f} ms, {numerical_s / backprop_s:.0f}x faster")
        print(f"{BOOK_ITERS} iterations with the numerical gradient would take about "
              f"{numerical_s * BOOK_ITERS / 3600:.1f} hours; training {iters} iteration(s) only")
        grad_fn = network.numerical_gradient
    else:
        grad_fn = network.gradient

    # the book's loop: a mini-batch, its gradient, an SGD step, the loss; the accuracies once per epoch
    # (here an epoch is one pass over a fresh shuffle of the training set, not batches drawn with replacement)
    batch_size = min(args.batch_size, len(x_train))
    iter_per_epoch = len(x_train) // batch_size
    history = TrainingHistory()
    history.record_accuracy(0, network, (x_train, t_train), (x_test, t_test))
    for i in tqdm(range(iters), desc="numerical gradient" if args.numerical else "training", unit="it"):
        if i % iter_per_epoch == 0:
            perm = rng.permutation(len(x_train))
        batch_mask = perm[i % iter_per_epoch * batch_size:(i % iter_per_epoch + 1) * batch_size]
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        grad = grad_fn(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= args.lr * grad[key]
        history.train_loss.append(float(network.loss(x_batch, t_batch)))
        if (i + 1) % iter_per_epoch == 0 or i + 1 == iters:
            history.record_accuracy((i + 1) / iter_per_epoch, network, (x_train, t_train), (x_test, t_test))
    print(f"final: train acc {history.train_acc[-1]:.4f}, test acc {history.test_acc[-1]:.4f}")
    kind = "numerical gradient" if args.numerical else "backprop"
    fig = plot_history(history, f"chapter 4: {x_train.shape[1]}-{hidden}-{t_train.shape[1]} sigmoid, {iters} "
                                f"iterations, batch {args.batch_size}, lr {args.lr} ({kind})")
    finish_figure(fig, args, default_name="ch04_train_neuralnet.png")
    return history


if __name__ == "__main__":
    main(sys.argv[1:])
