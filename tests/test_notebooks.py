"""The chapter notebooks in notebooks/: each runs top to bottom in a fresh kernel, and the stored outputs are current.

The run uses quick mode and synthetic digits (``DLFS_NOTEBOOK_QUICK=1``, ``DLFS_NOTEBOOK_DATA=synthetic``), so it
needs no MNIST cache and no network: the kernel's data folder is an empty temporary folder and its proxies point at a
closed port, so a notebook that tried to download anything would fail here. Needs nbclient, nbformat and ipykernel
(all in the ``dev`` extra); without them these tests are skipped with that reason.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = ["ch03", "ch04", "ch05", "ch06", "ch07", "ch08"]
MAX_BYTES = 1_000_000

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[dev]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[dev]')")


def _load_execute():
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOKS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = _load_execute()
# matplotlib builds its font cache on first use and may log that on stderr; build it here, not inside a kernel
importlib.import_module("matplotlib.font_manager")
PATHS = execute.notebook_paths(NOTEBOOKS)


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _problems(nb) -> list[str]:
    """Error outputs and stderr stream outputs (warnings, progress bars falling back to text), one line each."""
    found = []
    for index, cell in enumerate(_code_cells(nb), 1):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"code cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found.append(f"code cell {index} wrote to stderr: {output.text.strip()[:300]!r}")
    return found


def _image_count(nb) -> int:
    return sum(
        1
        for cell in _code_cells(nb)
        for output in cell.get("outputs", [])
        if output.output_type in ("display_data", "execute_result") and "image/png" in output.get("data", {})
    )


def test_one_notebook_per_chapter():
    names = [path.name for path in PATHS]
    for chapter in CHAPTERS:
        assert any(name.startswith(chapter) for name in names), f"no notebook for {chapter} in {names}"


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_notebook_runs_cleanly_in_quick_mode(path: Path, tmp_path: Path):
    env = execute.kernel_env(quick=True, synthetic=True)
    env["DLFS_DATA_DIR"] = str(tmp_path / "no-data-here")  # any real MNIST load would have to download...
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = "http://127.0.0.1:9"  # ...and every download fails at once
    env["PIP_NO_INDEX"] = "1"
    nb = execute.run_notebook(path, env=env, timeout=300)
    assert _problems(nb) == []
    assert _image_count(nb) >= 1, f"{path.name} showed no figure"
    banner = "".join(o.get("text", "") for o in _code_cells(nb)[0].outputs if o.output_type == "stream")
    assert "mode: quick" in banner and "synthetic" in banner, banner
    for cell in _code_cells(nb):
        assert cell.execution_count is not None


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_stored_outputs_are_current(path: Path):
    """The committed file was executed top to bottom in one fresh kernel, in full mode on MNIST, without problems."""
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes; keep it under 1 MB"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; re-run `python notebooks/execute.py {path.stem}`")
    assert _problems(nb) == []
    assert _image_count(nb) >= 1
    banner = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    assert "mode: full; data: MNIST" in banner, f"{path.name} was stored from a quick or synthetic run: {banner!r}"


def test_notebooks_have_no_embedded_widget_state_or_timing():
    """Outputs stay small and diffs stay readable: no per-cell timing metadata, no widget state."""
    for path in PATHS:
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert "widgets" not in raw.get("metadata", {}), path.name
        for cell in raw["cells"]:
            assert "execution" not in cell.get("metadata", {}), path.name
