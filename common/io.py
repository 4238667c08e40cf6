"""Safe parameter files: ``.npz`` written atomically and read with ``allow_pickle=False``.

Pickle files can run arbitrary code when loaded, so a ``.pkl`` is refused unless the caller explicitly
passes ``allow_pickle=True`` (only for files you created yourself or fully trust).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["save_params", "load_params", "atomic_write"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(file_object)`` on a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


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


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """The .npz format of ``np.savez`` (one ``<key>.npy`` per array in a zip), written with allow_pickle=False
    so an object array fails here instead of producing a file that cannot be loaded. Unlike ``np.savez(f,
    **arrays)`` it accepts every name, including ``file`` and ``allow_pickle``."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def load_params(file_name: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Read a dict of arrays from an ``.npz`` file (or, only with ``allow_pickle=True``, a ``.pkl``).

    A name without a suffix means ``<name>.npz``, the file :func:`save_params` wrote for it.
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
        with open(path, "rb") as f:
            params = pickle.load(f)
        return {key: np.asarray(value) for key, value in params.items()}
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
