"""Safe files: parameter ``.npz`` files, and the one atomic-write helper every module uses.

* :func:`save_params` / :func:`load_params`: a dict of arrays as an ``.npz`` archive, read with
  ``allow_pickle=False``. A pickle can run arbitrary code when loaded, so a ``.pkl`` is refused unless the caller
  passes ``allow_pickle=True`` (only for files you created yourself or fully trust). Everything
  :func:`load_params` returns has been checked: string names, real floating-point arrays, finite values; a bad
  file raises one ValueError naming the file and the array, and nothing is returned.
* :func:`atomic_write`: a file is written to a temporary name in the target folder and renamed into place, so
  readers see the old file or the new one, never half of one. Temporary names carry the writer's process id
  (``.<name>.<pid>.<8 random chars>.tmp``), so :func:`clean_stale_temps` can remove what an interrupted writer
  (``kill -9``, power loss) left behind without touching a file another process is still writing.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["save_params", "load_params", "atomic_write", "clean_stale_temps"]

STALE_AFTER = 3600.0  # seconds without a change after which any temporary file of ours is abandoned
DEAD_WRITER_GRACE = 30.0  # seconds a temporary file of a dead writer is kept (a writer in another PID namespace)

_NPY_MAGIC = b"\x93NUMPY"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object], *, fsync: bool = True) -> Path:
    """Call ``write(f)`` on a new temporary file beside ``path``, then rename it to ``path``. Returns the path.

    ``f`` is opened ``w+b`` (a writer may read back what it wrote, e.g. to verify a download). When ``write``
    raises, the temporary file is removed and ``path`` is left as it was. The parent folder is created if
    needed; stale temporary files of earlier interrupted writes of the same ``path`` are cleaned up first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path.parent, [path.name])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _pid_alive(pid: int) -> bool | None:
    """True/False when the process ``pid`` exists / does not; None when that cannot be told."""
    if pid <= 0:
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return None
    return True


def clean_stale_temps(
    folder: str | os.PathLike,
    names: Iterable[str],
    *,
    stale_after: float = STALE_AFTER,
    dead_grace: float = DEAD_WRITER_GRACE,
) -> list[Path]:
    """Remove abandoned temporary files of :func:`atomic_write` for the files ``names`` in ``folder``.

    Only names of our own pattern for exactly these targets are considered (``.<name>.<pid>.<8 chars>.tmp``, and
    the older ``.<name>.<8 chars>.tmp`` / ``<name>.<8 chars>.tmp`` without a pid). One is removed when its writer
    process no longer exists and it has not changed for ``dead_grace`` seconds, or when it has not changed for
    ``stale_after`` seconds whoever wrote it. A file a live writer is filling is never touched. Returns the
    removed paths; files that vanish meanwhile (another cleaner) or cannot be removed are skipped.
    """
    folder = Path(folder)
    patterns = []
    for name in names:
        escaped = re.escape(name)
        patterns.append(re.compile(rf"\.{escaped}\.(?P<pid>\d{{1,10}})\.[a-z0-9_]{{8}}\.tmp"))
        patterns.append(re.compile(rf"\.?{escaped}\.[a-z0-9_]{{8}}\.tmp"))
    if not patterns:
        return []
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.endswith(".tmp"):
            continue
        match = next((m for p in patterns if (m := p.fullmatch(entry.name))), None)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = match.groupdict().get("pid")
        dead = pid is not None and _pid_alive(int(pid)) is False
        if age >= stale_after or (dead and age >= dead_grace):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def save_params(params: dict[str, np.ndarray], file_name: str | os.PathLike) -> Path:
    """Write a dict of arrays to ``file_name`` (.npz is added when there is no suffix). Returns the path."""
    path = Path(file_name)
    if path.suffix == "":
        path = path.with_suffix(".npz")
    if path.suffix != ".npz":
        raise ValueError(f"parameters are saved as .npz (safe to load); got {str(path)!r}")
    arrays = {key: np.asarray(value) for key, value in params.items()}
    bad = [key for key in arrays if not isinstance(key, str)]
    if bad:
        raise TypeError(f"parameter names must be strings, got {bad!r}")
    return atomic_write(path, lambda f: _write_npz(f, arrays))


def _write_npz(f: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """The .npz format of ``np.savez`` (one ``<key>.npy`` per array in a zip), written with allow_pickle=False
    so an object array fails here instead of producing a file that cannot be loaded. Unlike ``np.savez(f,
    **arrays)`` it accepts every name, including ``file`` and ``allow_pickle``."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def load_params(file_name: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Read a dict of arrays from an ``.npz`` file (or, only with ``allow_pickle=True``, a ``.pkl``).

    A name without a suffix means ``<name>.npz``, the file :func:`save_params` wrote for it. Every array is
    checked before anything is returned: names are strings, dtypes are real floating point (float16/32/64),
    values are finite. Anything else raises one ValueError naming the file and the array (nothing is returned),
    so a caller can copy the arrays all or nothing. A missing file raises FileNotFoundError.
    """
    path = Path(file_name)
    if path.suffix == "":
        path = path.with_suffix(".npz")
    if path.suffix == ".pkl":
        if not allow_pickle:
            raise ValueError(
                f"refusing to load {str(path)!r}: loading a pickle can run arbitrary code hidden in the file. "
                "Use an .npz parameter file (save_params writes one), or pass allow_pickle=True only if you "
                "created this file yourself or trust its source completely."
            )
        return _check_params(path, _read_pickle(path))
    return _check_params(path, _read_npz(path))


def _read_pickle(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        try:
            obj = pickle.load(f)
        except Exception as exc:  # noqa: BLE001 - any failure to unpickle is reported the same way
            raise ValueError(f"{str(path)!r}: not a readable pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(
            f"{str(path)!r} holds a {type(obj).__name__}, expected a dict of parameter arrays (name -> array)"
        )
    out: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise ValueError(f"{str(path)!r}: parameter names must be strings, got {key!r} ({type(key).__name__})")
        try:
            out[key] = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{str(path)!r}: parameter {key!r} is a {type(value).__name__} that is not an array ({exc})"
            ) from None
    return out


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        head = f.read(8)
    where = repr(str(path))
    if not head:
        raise ValueError(f"{where} is empty (0 bytes), not an .npz archive; was its writing interrupted?")
    if head.startswith(_NPY_MAGIC):
        raise ValueError(
            f"{where} is a single-array .npy file, not an .npz archive: parameter files hold a dict of named "
            "arrays, which save_params writes as .npz (np.savez / np.savez_compressed make them too)"
        )
    if head.startswith(b"PK") and not zipfile.is_zipfile(path):
        raise ValueError(f"{where} is a damaged or truncated .npz archive (its zip directory is missing)")
    if not head.startswith(b"PK"):
        hint = " (it looks like a pickle; a .pkl name and allow_pickle=True load it)" if head[:1] == b"\x80" else ""
        raise ValueError(f"{where} is not an .npz archive (not a zip file){hint}; save_params writes one")
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            if not members:
                raise ValueError(f"{where} is an empty archive: it holds no arrays")
            for member in members:
                key = member[:-4] if member.endswith(".npy") else member
                if not member.endswith(".npy"):
                    raise ValueError(f"{where}: member {member!r} is not a .npy array")
                if key in out:
                    raise ValueError(f"{where}: array {key!r} appears twice")
                with zf.open(member) as raw:
                    try:
                        out[key] = np.lib.format.read_array(raw, allow_pickle=False)
                    except ValueError as exc:
                        if "allow_pickle" in str(exc):
                            raise ValueError(
                                f"{where}: array {key!r} holds Python objects (dtype object), which are only "
                                "readable by unpickling; refused (allow_pickle=False)"
                            ) from None
                        raise ValueError(f"{where}: array {key!r} is not a valid .npy array ({exc})") from None
                    except (EOFError, OSError) as exc:
                        raise ValueError(f"{where}: array {key!r} is truncated or corrupt ({exc})") from None
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{where} is a damaged .npz archive ({exc})") from None
    return out


def _check_params(path: Path, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every array a real floating-point array with finite values; raise naming the file and the array."""
    where = repr(str(path))
    if not params:
        raise ValueError(f"{where} holds no arrays")
    for key, a in params.items():
        if a.dtype.kind != "f":
            raise ValueError(
                f"{where}: array {key!r} has dtype {a.dtype}; parameters must be real floating point "
                "(float16, float32 or float64)"
            )
        if not np.isfinite(a).all():
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise ValueError(f"{where}: array {key!r} holds {bad} non-finite value(s) (NaN or inf)")
    return params
