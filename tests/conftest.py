"""Shared test fixtures: headless matplotlib, small synthetic MNIST-shaped data (no download), and the
dataset.mnist tests' local HTTP mirror (``server``) and data-folder isolation (``isolated``)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import dataclasses  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from mnist_helpers import Mirror  # noqa: E402

from dataset import mnist  # noqa: E402


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


@pytest.fixture
def server() -> Iterator[Mirror]:
    mirror = Mirror()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            mirror.requests.append(self.path)
            mirror.agents.append(self.headers.get("User-Agent", ""))
            status, body, delay = mirror.routes.get(self.path, (404, b"not here", 0.0))
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    mirror.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every dataset.mnist test (``pytestmark`` in tests/test_mnist_*.py): data and user cache under tmp_path,
    and the real data sets cut off from the network."""
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(mnist, "MNIST", dataclasses.replace(mnist.MNIST, mirrors=(), wheel=None))
    monkeypatch.setattr(
        mnist, "FASHION_MNIST", dataclasses.replace(mnist.FASHION_MNIST, mirrors=(), local_dirs=())
    )
    return tmp_path / "data"


# A child process that starts an atomic write of sys.argv[1] and hangs in it, to be killed mid-write.
KILLED_WRITER = """
import sys, time
from common.io import atomic_write
def write(f):
    f.write(b"x" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(600)
atomic_write(sys.argv[1], write)
"""
