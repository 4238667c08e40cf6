"""Shared helpers of the Trainer tests (``from trainer_helpers import TinyNet, blobs, make_trainer``)."""

from __future__ import annotations

import numpy as np

from common.layers import Affine, Relu, SoftmaxWithLoss
from common.trainer import Trainer


class TinyNet:
    """(N, D) -> Affine -> Relu -> Affine -> SoftmaxWithLoss; records what the trainer feeds it.

    Column 0 of every input row carries the sample id / 1000 so batches can be traced back to samples.
    """

    def __init__(self, d: int = 6, hidden: int = 16, k: int = 3, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": (0.3 * rng.standard_normal((d, hidden))).astype(np.float32),
            "b1": np.zeros(hidden, dtype=np.float32),
            "W2": (0.3 * rng.standard_normal((hidden, k))).astype(np.float32),
            "b2": np.zeros(k, dtype=np.float32),
        }
        p = self.params
        self.layers = [Affine(p["W1"], p["b1"]), Relu(), Affine(p["W2"], p["b2"])]
        self.last_layer = SoftmaxWithLoss()
        self.seen_ids: list[np.ndarray] = []
        self.predict_sizes: list[int] = []
        self.loss_calls = 0

    def predict(self, x):
        self.predict_sizes.append(len(x))
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        self.loss_calls += 1
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t):
        self.seen_ids.append(np.rint(x[:, 0] * 1000).astype(int))
        y = x
        for layer in self.layers:
            y = layer.forward(y)
        self.last_layer.forward(y, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        a1, a2 = self.layers[0], self.layers[2]
        return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}


def blobs(n: int, d: int = 6, k: int = 3, seed: int = 0, one_hot: bool = False):
    """Three well-separated Gaussian blobs; column 0 is the sample id / 1000."""
    centers = 3 * np.random.default_rng(123).standard_normal((k, d - 1))  # the same classes in every split
    rng = np.random.default_rng(seed)
    t = (np.arange(n) % k).astype(np.uint8)
    x = np.empty((n, d), dtype=np.float32)
    x[:, 0] = np.arange(n) / 1000
    x[:, 1:] = centers[t] + 0.5 * rng.standard_normal((n, d - 1))
    if one_hot:
        t = np.eye(k, dtype=np.float32)[t]
    return x, t


def make_trainer(net=None, n_train=103, n_test=47, **kwargs):
    x_train, t_train = blobs(n_train, seed=1)
    x_test, t_test = blobs(n_test, seed=2)
    kwargs.setdefault("verbose", False)
    kwargs.setdefault("epochs", 3)
    kwargs.setdefault("mini_batch_size", 10)
    return Trainer(net or TinyNet(), x_train, t_train, x_test, t_test, **kwargs)
