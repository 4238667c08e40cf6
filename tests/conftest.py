"""Shared test fixtures: headless matplotlib and small synthetic MNIST-shaped data (no download)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def synthetic_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False,
                    n_train: int = 300, n_test: int = 100, seed: int = 0):
    """MNIST-shaped data with the book's dtypes: each class is a fixed random 28x28 pattern plus noise,
    so a network can learn it a little. Returns ((x_train, t_train), (x_test, t_test))."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, size=(10, 784))

    def make(n: int):
        t = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(t)
        noise = rng.integers(-60, 61, size=(n, 784))
        x = np.clip(prototypes[t] + noise, 0, 255).astype(np.uint8)
        if normalize:
            x = x.astype(np.float32) / np.float32(255.0)
        if not flatten:
            x = x.reshape(n, 1, 28, 28)
        if one_hot_label:
            t = np.eye(10, dtype=np.float32)[t]
        return x, t

    return make(n_train), make(n_test)


@pytest.fixture
def fake_mnist(monkeypatch, tmp_path):
    """Return ``use(*modules)``: replaces ``load_mnist`` in each module by :func:`synthetic_mnist` and
    runs the test in a temporary directory (so figures land there)."""
    monkeypatch.chdir(tmp_path)

    def loader(normalize=True, flatten=True, one_hot_label=False):
        return synthetic_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)

    def use(*modules):
        for module in modules:
            monkeypatch.setattr(module, "load_mnist", loader, raising=False)
        return loader

    return use
