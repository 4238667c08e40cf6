"""Execute the chapter notebooks top to bottom in a fresh kernel and store their outputs in place.

    python notebooks/execute.py                 # every notebook, full mode, real MNIST (what is committed)
    python notebooks/execute.py ch05_backprop   # only the notebooks whose name contains a given text
    python notebooks/execute.py --quick --synthetic --check   # what the tests do, without writing anything

Each notebook runs with the ``notebooks/`` folder as its working directory, as in Jupyter. ``--quick`` and
``--synthetic`` set ``DLFS_NOTEBOOK_QUICK=1`` and ``DLFS_NOTEBOOK_DATA=synthetic`` for the kernel (see
``_nbutil.py``). Files are written to a temporary name and renamed, so an interrupted run never leaves a
half-written notebook. ``tests/test_notebooks.py`` uses :func:`run_notebook` from this file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT = 900  # seconds; a full-mode cell may train for a minute or two on a busy machine


def notebook_paths(folder: Path = HERE) -> list[Path]:
    """The chapter notebooks, in chapter order: ``folder/ch*.ipynb``."""
    return sorted(folder.glob("ch*.ipynb"))


def kernel_env(quick: bool, synthetic: bool) -> dict[str, str]:
    """The kernel's environment: ours, with the notebook switches set and any forced matplotlib backend removed
    (CI exports ``MPLBACKEND=Agg``; a kernel must keep its inline backend to show figures)."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.pop("DLFS_NOTEBOOK_QUICK", None)
    env.pop("DLFS_NOTEBOOK_DATA", None)
    if quick:
        env["DLFS_NOTEBOOK_QUICK"] = "1"
    if synthetic:
        env["DLFS_NOTEBOOK_DATA"] = "synthetic"
    return env


def run_notebook(path: Path, *, quick: bool = False, synthetic: bool = False, timeout: int = CELL_TIMEOUT,
                 env: dict[str, str] | None = None):
    """Execute the notebook at ``path`` in a fresh ``python3`` kernel; return the executed notebook node.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env if env is not None else kernel_env(quick, synthetic))
    return nb


def write_atomic(nb, path: Path) -> None:
    """Write notebook ``nb`` to ``path`` through a temporary file in the same folder and a rename."""
    import nbformat

    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".ipynb.tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; keep the usual permissions of a source file
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose file name contains one of these")
    parser.add_argument("--quick", action="store_true", help="quick mode (DLFS_NOTEBOOK_QUICK=1)")
    parser.add_argument("--synthetic", action="store_true", help="synthetic digits instead of MNIST")
    parser.add_argument("--check", action="store_true", help="execute but do not write the outputs back")
    args = parser.parse_args(argv)
    if (args.quick or args.synthetic) and not args.check:
        parser.error("outputs are only stored from full runs on real data; add --check to --quick/--synthetic")
    paths = [p for p in notebook_paths() if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        parser.error(f"no notebook in {HERE} matches {args.names}")
    total = time.perf_counter()
    for path in paths:
        start = time.perf_counter()
        nb = run_notebook(path, quick=args.quick, synthetic=args.synthetic)
        if not args.check:
            write_atomic(nb, path)
        size = path.stat().st_size / 1024
        print(f"{path.name}: {time.perf_counter() - start:.1f} s" + ("" if args.check else f", {size:.0f} KiB written"))
    print(f"total: {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
