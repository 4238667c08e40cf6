"""Data parallelism on the cores of one machine: each batch is split across copies of a network that share its
parameters, and each copy runs forward and backward in its own Python thread.

Why threads work here: NumPy releases the GIL inside its kernels (matrix products, copies, element-wise loops),
so two threads run the heavy parts of two half-batches at the same time; with one BLAS thread each, the two cores
are busy with large pieces of work instead of splitting every small product in two (our convolutions multiply
cache-sized chunks, too small for a second BLAS thread to pay off).

    net = DataParallel(DeepConvNet(), workers=2)
    grads = net.gradient(x, t)          # the whole batch's gradient: the size-weighted mean of the halves'
    optimizer.update(net.params, grads)  # net.params is the network's own dict: updates reach every copy

The gradient equals the single-copy gradient (up to float rounding) for networks whose loss is a mean over the
batch and whose layers treat samples independently; batch normalisation does not (its statistics would be per
part), so networks holding a ``BatchNormalization`` layer are refused. Dropout draws its masks from a generator
of its own in each copy, so runs are reproducible, but not the same masks as one copy would draw.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from common.layers import BatchNormalization, Dropout
from common.threads import blas_threads, set_threads

__all__ = ["DataParallel", "spread"]


def _holds_norm(obj, depth: int = 3) -> bool:
    """Whether obj is, or holds within ``depth`` levels of attributes/containers, a BatchNormalization layer."""
    if isinstance(obj, BatchNormalization):
        return True
    if depth == 0 or isinstance(obj, np.ndarray):
        return False
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    else:
        children = getattr(obj, "__dict__", {}).values()
    return any(_holds_norm(child, depth - 1) for child in children)


def _norm_layers(network) -> list[str]:
    """Names of the network's layers that are or hold batch normalisation (e.g. a residual block's)."""
    return [name for name, layer in getattr(network, "layers", {}).items() if _holds_norm(layer)]


def spread(network, threads: int | None = None):
    """What the training scripts do with their threads: with n >= 2 (``threads``, or the BLAS threads in effect
    when None) and a network :class:`DataParallel` can split, ``DataParallel(network, n)`` with BLAS set to one
    thread per worker; otherwise ``network`` itself, BLAS unchanged (batch normalisation, one thread, or thread
    counts that cannot be controlled). Measured on 2 cores: a DeepConvNet step about 1.5x faster than with two
    BLAS threads (README, Performance)."""
    n = blas_threads() if threads is None else threads
    splittable = hasattr(network, "gradient") and hasattr(network, "params") and hasattr(network, "layers")
    if n is None or n < 2 or not splittable or _norm_layers(network):
        return network
    if set_threads(1) is None:  # BLAS threads not controllable: n workers x n BLAS threads would oversubscribe
        return network
    return DataParallel(network, n)


class DataParallel:
    """``network`` (with ``params``, ``layers``, ``gradient(x, t)``) spread over ``workers`` threads.

    ``gradient(x, t)``: x (N, ...) split into ``workers`` contiguous parts of N // workers or one more samples;
    returns {name: gradient} of the whole batch's mean loss, and leaves that loss in ``last_layer.loss``.
    ``predict(x)`` (inference mode) splits the same way and returns the parts' scores (N, K) in order, so
    :func:`common.network.batched_accuracy` and the Trainer's evaluations use every worker too.
    Every other attribute (accuracy, loss, params, layers, save_params, ...) is the network's own.
    """

    def __init__(self, network, workers: int = 2) -> None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        layers = getattr(network, "layers", None)
        if not hasattr(network, "params") or not hasattr(network, "gradient") or layers is None:
            raise TypeError(f"DataParallel needs a network with params, layers and gradient(x, t); got "
                            f"{type(network).__name__}")
        norms = _norm_layers(network)
        if norms:
            raise ValueError(f"DataParallel cannot split batches of a network with batch normalisation ({norms}): "
                             "its statistics would be computed per part")
        self.network, self.workers = network, int(workers)
        self.copies = [network] + [self._copy(network, k) for k in range(1, self.workers)]
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    @staticmethod
    def _copy(network, k: int):
        """A deep copy of network whose parameter arrays are network's own (so updates reach it), with a dropout
        generator of its own per layer, seeded from the original's generator (or NumPy's global one)."""
        shared = {id(p): p for p in network.params.values()}
        clone = copy.deepcopy(network, shared)
        for name, layer in clone.layers.items():
            if isinstance(layer, Dropout):
                source = network.layers[name].rng
                seed = source.integers(2**63) if source is not None else np.random.randint(2**31)
                layer.rng = np.random.default_rng([int(seed), k])
        return clone

    def __getattr__(self, name: str):
        return getattr(self.network, name)

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean training loss over x (N, ...), labels t (N,) or one-hot (N, K)."""
        n = len(x)
        if len(t) != n:
            raise ValueError(f"DataParallel.gradient: {n} inputs but {len(t)} targets")
        if self._pool is None or n < self.workers:
            return self.network.gradient(x, t)
        parts = [(x[a:b], t[a:b]) for a, b in self._bounds(n)]
        futures = [self._pool.submit(c.gradient, xi, ti) for c, (xi, ti) in zip(self.copies, parts, strict=True)]
        results = [f.result() for f in futures]
        weights = [len(xi) / n for xi, _ in parts]
        grads = {}
        for key, first in results[0].items():
            total = first * first.dtype.type(weights[0])
            for w, g in zip(weights[1:], results[1:], strict=True):
                total += g[key] * first.dtype.type(w)
            grads[key] = total
        losses = [float(c.last_layer.loss) for c in self.copies]
        self.network.last_layer.loss = sum(w * loss for w, loss in zip(weights, losses, strict=True))
        return grads

    def predict(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Scores (N, K) of x (N, ...): in inference mode the parts run on the workers at once (each sample's scores
        are what the network itself gives it, up to float rounding); in training mode (dropout drawing masks) and
        for fewer samples than workers, the network's own ``predict`` on the whole batch."""
        n = len(x)
        if train_flg or self._pool is None or n < self.workers:
            return self.network.predict(x, train_flg) if train_flg else self.network.predict(x)
        futures = [self._pool.submit(c.predict, x[a:b]) for c, (a, b) in zip(self.copies, self._bounds(n), strict=True)]
        return np.concatenate([f.result() for f in futures])

    def _bounds(self, n: int) -> list[tuple[int, int]]:
        """(start, stop) of each worker's contiguous part of n samples: n // workers or one more each."""
        edges = np.linspace(0, n, self.workers + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
