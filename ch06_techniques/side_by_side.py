"""Helpers shared by the chapter-6 comparison scripts: several networks trained on the same mini-batches,
and their smoothed loss curves in one plot."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from tqdm.auto import tqdm

from common.util import smooth_curve

__all__ = ["epoch_batches", "train_side_by_side", "plot_loss_curves", "mean_tail"]

MARKERS = ["o", "x", "s", "D", "^", "v", "*"]


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless index batches: each epoch is a fresh permutation of range(n) cut into batch_size pieces
    (the last piece of an epoch may be smaller), so every sample is used once per epoch."""
    while True:
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield perm[start:start + batch_size]


def train_side_by_side(networks: Mapping[str, object], optimizers: Mapping[str, object], x: np.ndarray,
                       t: np.ndarray, iterations: int, batch_size: int, rng: np.random.Generator,
                       report_every: int = 100, verbose: bool = True) -> dict[str, list[float]]:
    """Train every network with its optimizer on the same sequence of mini-batches.

    Args:
        networks, optimizers: dicts with the same keys (the curve names).
        x: (N, 784) inputs; t: (N,) labels.
        iterations: updates per network.
    Returns:
        name -> list of the ``iterations`` mini-batch losses (before each update, read from ``last_layer``).
    Every ``report_every`` iterations the current losses are printed as in the book.
    """
    losses: dict[str, list[float]] = {name: [] for name in networks}
    batches = epoch_batches(len(x), batch_size, rng)
    for i in tqdm(range(iterations), desc="training", disable=not verbose):
        idx = next(batches)
        x_batch, t_batch = x[idx], t[idx]
        for name, network in networks.items():
            grads = network.gradient(x_batch, t_batch)
            optimizers[name].update(network.params, grads)
            losses[name].append(float(network.last_layer.loss))
        if verbose and i % report_every == 0:
            lines = [f"===========iteration:{i}==========="]
            lines += [f"{name}:{losses[name][-1]}" for name in networks]
            tqdm.write("\n".join(lines))
    return losses


def mean_tail(values: list[float], count: int = 100) -> float:
    """Mean of the last ``count`` values (all when fewer): a less noisy 'final loss' than one batch."""
    return float(np.mean(values[-count:]))


def plot_loss_curves(ax, losses: Mapping[str, list[float]], ylim: tuple[float, float] = (0, 1)) -> None:
    """Smoothed loss curves (common.util.smooth_curve) with a marker every ~100 iterations."""
    for k, (name, values) in enumerate(losses.items()):
        n = len(values)
        ax.plot(np.arange(n), smooth_curve(np.asarray(values)), marker=MARKERS[k % len(MARKERS)],
                markevery=max(n // 20, 1), label=name)
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss")
    ax.set_ylim(*ylim)
    ax.legend()
