"""The package is a library, the current directory the workspace: outputs never land in the package, bad output
places fail before the work, ``main()`` never reads the host's argv, and the layout rules hold."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from ch03_network import and_gate
from ch07_cnn import train_convnet
from ch08_deep import train_deepnet
from common import plotting
from common.training import resolve_output, shipped_weight_files

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.name for p in REPO.glob("ch0*") if p.is_dir())
SCRIPTS = sorted(p for chapter in CHAPTERS for p in (REPO / chapter).glob("*.py") if p.name != "__init__.py")


def test_shipped_weights_are_known():
    names = {path.name for path in shipped_weight_files()}
    assert {"params.npz", "deep_convnet_params.npz", "sample_weight.npz"} <= names


def test_default_output_is_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_output(None, "params.npz") == tmp_path / "params.npz"
    assert resolve_output(str(tmp_path / "x.npz"), "params.npz") == tmp_path / "x.npz"


def test_default_name_inside_a_chapter_folder_is_renamed_away_from_the_shipped_file(monkeypatch, capsys):
    monkeypatch.chdir(REPO / "ch07_cnn")  # the book's way: cd ch07_cnn && python train_convnet.py
    path = resolve_output(None, "params.npz")
    assert path.name == "params_trained.npz" and path.resolve() not in shipped_weight_files()
    assert "shipped" in capsys.readouterr().out
    # replacing a shipped file takes an explicit --out naming it
    assert resolve_output(str(REPO / "ch07_cnn" / "params.npz"), "params.npz") == REPO / "ch07_cnn" / "params.npz"


@pytest.mark.parametrize("make_bad", [
    lambda tmp: tmp / "weights.pkl",  # wrong suffix
    lambda tmp: tmp / "missing" / "w.npz",  # missing folder
    lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "w.npz",  # the folder is a file
    lambda tmp: tmp,  # a folder, not a file
])
def test_bad_outputs_fail_with_one_line(tmp_path, make_bad):
    with pytest.raises(SystemExit) as info:
        resolve_output(str(make_bad(tmp_path)), "params.npz")
    assert str(info.value).startswith("error:") and "\n" not in str(info.value)


@pytest.mark.parametrize("script", [train_convnet, train_deepnet])
def test_unusable_out_fails_before_training(script, tmp_path, monkeypatch):
    def no_data(**kwargs):
        raise AssertionError("training data loaded although --out is unusable")

    monkeypatch.setattr(script, "load_mnist", no_data)
    with pytest.raises(SystemExit, match="does not exist"):
        script.main(["--quick", "--no-show", "--out", str(tmp_path / "nowhere" / "w.npz")])
    with pytest.raises(SystemExit, match=r"\.npz"):
        script.main(["--quick", "--no-show", "--out", str(tmp_path / "w.pkl")])


def test_main_never_reads_the_host_argv(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    and_gate.main()
    assert "(1, 1) -> 1" in capsys.readouterr().out


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_script_has_main_argv_none_and_passes_its_argv_explicitly(path):
    module = importlib.import_module(f"{path.parent.name}.{path.stem}")
    source = path.read_text(encoding="utf-8")
    if 'if __name__ == "__main__":' not in source:
        return  # a library module of the chapter (a network, helpers)
    signature = inspect.signature(module.main)
    assert signature.parameters["argv"].default is None
    assert "main(sys.argv[1:])" in source


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_chapters_import_only_common_dataset_and_themselves(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            top = name.split(".")[0]
            assert top not in CHAPTERS or top == path.parent.name, f"{path.name} imports {name}"


@pytest.mark.parametrize("folder", ["common", "dataset", *CHAPTERS, "tests", "benchmarks", "notebooks"])
def test_no_module_over_400_lines(folder):
    for path in (REPO / folder).glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{folder}/{path.name} has {lines} lines"


def test_inline_figures_are_shown_not_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plotting, "is_inline_backend", lambda: True)
    shown = []
    monkeypatch.setattr(plotting.plt, "show", lambda: shown.append(True))
    monkeypatch.setattr(plotting, "is_interactive_backend", lambda: True)
    assert plotting.finish_figure(plt.figure(), default_name="x.png") is None
    assert shown and not (tmp_path / "figures").exists()
    assert plotting.finish_figure(plt.figure(), save=str(tmp_path / "asked.png")) == tmp_path / "asked.png"
    assert (tmp_path / "asked.png").stat().st_size > 0


def test_unwritable_figure_place_is_a_usage_error_before_the_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as info:
        train_convnet.main(["--quick", "--save", str(tmp_path / "file" / "fig.png")])
    assert info.value.code == 2
    assert "is not a folder" in capsys.readouterr().err


def test_failed_figure_write_is_one_line_not_a_traceback(tmp_path, capsys):
    target = tmp_path / "fig.png"
    target.mkdir()  # savefig cannot write a file where a folder is
    assert plotting.finish_figure(plt.figure(), save=str(target)) is None
    assert "could not save the figure" in capsys.readouterr().err


def test_threads_option_is_checked_and_applied(capsys):
    from common import threads

    and_gate.main(["--threads", "1"])
    if threads.available():
        assert threads.blas_threads() == 1
    with pytest.raises(SystemExit) as info:
        and_gate.main(["--threads", "0"])
    assert info.value.code == 2 and "--threads" in capsys.readouterr().err
