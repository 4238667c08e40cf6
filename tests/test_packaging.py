"""Packaging: every package imports, pyproject's package list matches the source tree, and the installed
library works from any directory."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "common",
    "dataset",
    "ch03_network",
    "ch04_learning",
    "ch05_backprop",
    "ch06_techniques",
    "ch07_cnn",
    "ch08_deep",
]


def _all_modules() -> list[str]:
    """Every module of the packages above, except ``__main__`` modules (importing one runs it)."""
    names = []
    for package in PACKAGES:
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == ROOT / name


@pytest.mark.parametrize("name", _all_modules())
def test_every_module_imports_without_running(name):
    """Importing a chapter script must not train, plot or download: work happens under ``__main__`` only."""
    importlib.import_module(name)


def test_pyproject_package_list_matches_source_tree():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(ROOT / "pyproject.toml", "rb") as f:
        listed = tomllib.load(f)["tool"]["setuptools"]["packages"]
    dev_only = {"benchmarks"}  # run from the repository root, never installed
    on_disk = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name not in dev_only)
    assert sorted(listed) == on_disk, (
        f"[tool.setuptools] packages lists {sorted(listed)} but these top-level folders have an __init__.py: {on_disk}"
    )
    assert set(PACKAGES) <= set(listed)


def test_import_from_another_directory(tmp_path):
    code = (
        "import numpy as np\n"
        "from common.layers import Convolution\n"
        "import common\n"
        "conv = Convolution(np.ones((2, 1, 3, 3), dtype=np.float32), np.zeros(2, dtype=np.float32))\n"
        "out = conv.forward(np.ones((1, 1, 4, 4), dtype=np.float32))\n"
        "print(out.shape, out.dtype, float(out.sum()))\n"
        "print(common.__file__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "(1, 2, 2, 2) float32 72.0"
    assert Path(lines[1]).resolve() == ROOT / "common" / "__init__.py"
