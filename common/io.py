"""Safe parameter files: ``.npz`` written atomically and read with ``allow_pickle=False``.

Pickle files can run arbitrary code when loaded, so a ``.pkl`` is refused unless the caller explicitly
passes ``allow_pickle=True`` (only for files you created yourself or fully trust).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["save_params", "load_params", "atomic_write"]


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(file_object)`` on a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
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
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_params(file_name: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Read a dict of arrays from an ``.npz`` file (or, only with ``allow_pickle=True``, a ``.pkl``)."""
    path = Path(file_name)
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
