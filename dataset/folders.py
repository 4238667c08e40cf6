"""Where the data files live, and removing them again (``python -m dataset.mnist --where`` / ``--clear``).

The data folder is, in this order:

1. ``$DLFS_DATA_DIR`` when set and non-empty (created if missing; a regular file or an over-long name there is
   a ValueError with a message, not a fallback);
2. the ``dataset/`` folder beside this file in a source checkout (as in the book);
3. the per-user cache ``$XDG_CACHE_HOME/dlfs-numpy`` (default ``~/.cache/dlfs-numpy``) when the package is
   installed (its folder lies inside ``site-packages`` / ``dist-packages``: the installed package is read-only
   at run time, and ``pip uninstall`` would leave 53 MB behind).

When the chosen folder is not writable (a read-only checkout or data folder), a good cache already there is
still used, and anything new is written to the per-user cache instead, with a one-line notice.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from common.io import clean_stale_temps
from dataset.spec import ENV_DATA_DIR, DatasetSpec

USER_CACHE_NAME = "dlfs-numpy"
INSTALL_FOLDERS = ("site-packages", "dist-packages")


def package_dir() -> Path:
    """The folder of the ``dataset`` package (``dataset/`` in a checkout)."""
    return Path(__file__).resolve().parent


def is_installed(folder: Path) -> bool:
    """Whether ``folder`` lies inside an installed package tree (a ``site-packages``/``dist-packages`` folder)."""
    return any(part in INSTALL_FOLDERS for part in Path(folder).parts)


def user_cache_dir() -> Path:
    """The per-user folder: ``$XDG_CACHE_HOME/dlfs-numpy`` or ``~/.cache/dlfs-numpy``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / USER_CACHE_NAME


def data_dir_from_env(pkg_dir: Path | None = None) -> Path:
    """The primary data folder: ``$DLFS_DATA_DIR`` when set and non-empty; else ``pkg_dir`` (default: this
    package's folder) in a source checkout, or :func:`user_cache_dir` when that folder is an installed one."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    pkg_dir = package_dir() if pkg_dir is None else Path(pkg_dir)
    return user_cache_dir() if is_installed(pkg_dir) else pkg_dir


def _stat_mode(path: Path) -> int | None:
    """``path``'s st_mode, or None when it does not exist or cannot be examined (never raises)."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system holding ``folder``'s nearest existing ancestor allows."""
    probe = folder
    while _stat_mode(probe) is None and probe != probe.parent:
        probe = probe.parent
    try:
        return os.pathconf(probe, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_data_dir(folder: Path, origin: str) -> None:
    """Raise ValueError (naming ``folder`` and where it came from, ``origin``) when it can never be a folder.

    Problems reported: a component longer than the file system allows, the path or one of its parents
    being an existing non-folder (a regular file). A folder that is merely read-only is fine (see the module
    doc: the per-user cache takes over).
    """
    limit = _name_max(folder)
    for part in folder.parts:
        if len(os.fsencode(part)) > limit:
            raise ValueError(
                f"data folder {str(folder)!r} ({origin}) has a name component of {len(os.fsencode(part))} bytes; "
                f"the file system allows at most {limit} ({part[:20]}...)"
            )
    probe = folder
    while probe != probe.parent:
        mode = _stat_mode(probe)
        if mode is not None and not stat.S_ISDIR(mode):
            what = "names" if probe == folder else f"lies inside {str(probe)!r}, which is"
            raise ValueError(
                f"data folder {str(folder)!r} ({origin}) {what} a regular file, not a folder; "
                f"point {ENV_DATA_DIR} at a folder (it is created if missing) or unset it"
            )
        probe = probe.parent


def origin_of(folder: Path) -> str:
    """Where the primary data folder ``folder`` came from, in words (for messages and ``--where``)."""
    if os.environ.get(ENV_DATA_DIR, "").strip():
        return f"${ENV_DATA_DIR}"
    if folder == package_dir():
        return "the dataset/ folder of this source checkout"
    return "per-user cache: the package is installed, and installed files stay read-only"


def is_writable(folder: Path) -> bool:
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


def describe(specs: Iterable[DatasetSpec], primary: Path | None = None) -> list[str]:
    """Lines for ``--where``: the data folder, where it came from, the fallback in use, and our files there."""
    primary = data_dir_from_env() if primary is None else primary
    lines = [f"data folder: {primary}  ({origin_of(primary)})"]
    folders = [primary]
    if primary.is_dir() and not os.access(primary, os.W_OK):
        fallback = user_cache_dir()
        lines.append(f"  not writable: new files go to {fallback}")
        folders.append(fallback)
    specs = list(specs)
    for folder in folders:
        for spec in specs:
            for name in spec.our_files():
                path = folder / name
                if path.is_file():
                    lines.append(f"  {path}  {path.stat().st_size / 2**20:.1f} MiB")
    return lines


def clear(specs: Iterable[DatasetSpec], primary: Path | None = None) -> tuple[list[Path], list[str]]:
    """Remove this library's data files (caches, the ``.gz`` files, abandoned temporary files of them) from the
    data folder and the per-user cache. Other files, and a temporary file a live loader is still writing, are
    never touched; an emptied ``fashion-mnist/`` sub-folder is removed. Returns (removed paths, problems)."""
    primary = data_dir_from_env() if primary is None else primary
    removed: list[Path] = []
    problems: list[str] = []
    specs = list(specs)
    for folder in dict.fromkeys([primary, user_cache_dir()]):
        for spec in specs:
            names = spec.our_files()
            for name in names:
                path = folder / name
                try:
                    if path.is_file() or path.is_symlink():
                        path.unlink()
                        removed.append(path)
                except OSError as exc:
                    problems.append(f"{path}: {exc.strerror or exc}")
            for sub in {str(Path(n).parent) for n in names}:
                where = folder / sub
                removed += clean_stale_temps(where, [Path(n).name for n in names])
                if sub != "." and where.is_dir():
                    try:
                        where.rmdir()  # only when empty
                    except OSError as exc:
                        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                            problems.append(f"{where}: {exc.strerror or exc}")
    return removed, problems
