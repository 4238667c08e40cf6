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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ch04_learning.two_layer_net import TwoLayerNet
from common.cli import make_parser, seed_everything
from common.optimizer import SGD
from common.plotting import finish_figure, plt
from common.util import smooth_curve
from dataset.mnist import load_mnist

__all__ = ["TrainingHistory", "train_network", "plot_history", "main"]

BOOK_ITERS = 10000


@dataclass
class TrainingHistory:
    """What a training run records: the loss after every iteration and, at the start, after every epoch and
    at the end, the epoch (a float, iteration / iterations-per-epoch) with the train and test accuracy."""

    train_loss: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)


def train_network(network, grad_fn: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]],
                  x_train: np.ndarray, t_train: np.ndarray, x_test: np.ndarray, t_test: np.ndarray,
                  iters: int, batch_size: int, optimizer, rng: np.random.Generator,
                  eval_batch_size: int = 1000, desc: str = "training") -> TrainingHistory:
    """Mini-batch training in epochs over shuffled data.

    Every epoch visits the training set once in the order of ``rng.permutation`` (the samples left over
    when ``batch_size`` does not divide N are skipped that epoch); iterations may stop in mid-epoch.

    Args:
        network: has ``params``, ``loss(x, t)`` and ``accuracy(x, t, batch_size)``.
        grad_fn: (x_batch, t_batch) -> gradients, a dict with the keys of ``network.params``.
        x_train: (N, ...) inputs; t_train: (N,) labels or (N, K) one-hot; the same for the test set.
        optimizer: has ``update(params, grads)`` (in place).

    Returns:
        the :class:`TrainingHistory`.
    """
    if iters < 0 or batch_size < 1:
        raise ValueError(f"need iters >= 0 and batch_size >= 1, got iters={iters}, batch_size={batch_size}")
    if len(x_train) != len(t_train) or len(x_test) != len(t_test):
        raise ValueError(f"inputs and targets differ in length: train {len(x_train)}/{len(t_train)}, "
                         f"test {len(x_test)}/{len(t_test)}")
    batch_size = min(batch_size, len(x_train))
    iters_per_epoch = len(x_train) // batch_size
    history = TrainingHistory()

    def evaluate(iteration: int) -> None:
        history.epochs.append(iteration / iters_per_epoch)
        history.train_acc.append(network.accuracy(x_train, t_train, batch_size=eval_batch_size))
        history.test_acc.append(network.accuracy(x_test, t_test, batch_size=eval_batch_size))
        tqdm.write(f"epoch {history.epochs[-1]:.4g}: train acc {history.train_acc[-1]:.4f}, "
                   f"test acc {history.test_acc[-1]:.4f}")

    evaluate(0)
    perm = rng.permutation(len(x_train))
    with tqdm(total=iters, desc=desc, unit="it") as bar:
        for i in range(iters):
            k = i % iters_per_epoch
            if k == 0 and i > 0:
                perm = rng.permutation(len(x_train))
            idx = perm[k * batch_size:(k + 1) * batch_size]
            x_batch, t_batch = x_train[idx], t_train[idx]
            optimizer.update(network.params, grad_fn(x_batch, t_batch))
            history.train_loss.append(float(network.loss(x_batch, t_batch)))
            bar.update()
            if (i + 1) % iters_per_epoch == 0:
                evaluate(i + 1)
                bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", test_acc=f"{history.test_acc[-1]:.4f}")
    if iters % iters_per_epoch:
        evaluate(iters)
    return history


def plot_history(history: TrainingHistory, title: str):
    """A figure with the accuracies per epoch (left) and the loss per iteration, raw and smoothed (right)."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    ax_acc.plot(history.epochs, history.train_acc, marker="o", label="train acc")
    ax_acc.plot(history.epochs, history.test_acc, marker="s", linestyle="--", label="test acc")
    ax_acc.set_xlabel("epochs")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1.0)
    ax_acc.legend(loc="lower right")
    iterations = np.arange(1, len(history.train_loss) + 1)
    ax_loss.plot(iterations, history.train_loss, color="0.75", linewidth=0.5, label="loss")
    if history.train_loss:
        ax_loss.plot(iterations, smooth_curve(history.train_loss), label="smoothed")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(loc="upper right")
    fig.suptitle(title)
    return fig


def main(argv: Sequence[str] | None = None) -> TrainingHistory:
    """Train the chapter 4 network, print the accuracies per epoch and save the learning curves."""
    parser = make_parser("Train chapter 4's two-layer sigmoid network on MNIST with SGD", quick=True)
    parser.add_argument("--iters", type=int, default=None,
                        help=f"iterations (default {BOOK_ITERS}; 2 with --numerical)")
    parser.add_argument("--batch-size", type=int, default=100, help="mini-batch size (default 100)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--hidden", type=int, default=50, help="hidden units (default 50)")
    parser.add_argument("--numerical", action="store_true",
                        help="use the numerical gradient (the book's slow path, float64): time it and train briefly")
    args = parser.parse_args(argv)
    if args.iters is not None and args.iters < 0:
        parser.error(f"--iters must be >= 0, got {args.iters}")
    if args.batch_size < 1 or args.hidden < 1:
        parser.error("--batch-size and --hidden must be at least 1")
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

    history = train_network(network, grad_fn, x_train, t_train, x_test, t_test, iters, args.batch_size,
                            SGD(lr=args.lr), rng, desc="numerical gradient" if args.numerical else "training")
    print(f"final: train acc {history.train_acc[-1]:.4f}, test acc {history.test_acc[-1]:.4f}")
    kind = "numerical gradient" if args.numerical else "backprop"
    fig = plot_history(history, f"chapter 4: {x_train.shape[1]}-{hidden}-{t_train.shape[1]} sigmoid, {iters} "
                                f"iterations, batch {args.batch_size}, lr {args.lr} ({kind})")
    finish_figure(fig, args, default_name="ch04_train_neuralnet.png")
    return history


if __name__ == "__main__":
    main()
