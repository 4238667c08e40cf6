"""common.plotting and common.cli: figures are saved where asked, windows are shown only when possible."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import pytest

from common import plotting
from common.cli import make_parser, seed_everything
from common.plotting import finish_figure, plt


@pytest.fixture
def no_show(monkeypatch):
    """Replace plt.show by a recorder; returns the list of calls."""
    calls = []
    monkeypatch.setattr(plotting.plt, "show", lambda *a, **k: calls.append(1))
    return calls


def _figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 1])
    return fig


def test_backend_is_non_interactive_in_tests():
    """conftest selects Agg unless the environment chose a backend (MPLBACKEND) itself."""
    if os.environ.get("MPLBACKEND", "agg").lower() != "agg":
        pytest.skip(f"MPLBACKEND={os.environ['MPLBACKEND']} set by the environment")
    assert matplotlib.get_backend().lower() == "agg"
    assert not plotting.is_interactive_backend()


def test_save_path_from_args(tmp_path, monkeypatch, no_show):
    monkeypatch.chdir(tmp_path)
    args = make_parser("demo", quick=True).parse_args(["--save", str(tmp_path / "out" / "plot.png")])
    path = finish_figure(_figure(), args, default_name="demo.png")
    assert path == tmp_path / "out" / "plot.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "figures").exists()
    assert no_show == []


def test_default_path_is_figures_under_cwd(tmp_path, monkeypatch, no_show, capsys):
    monkeypatch.chdir(tmp_path)
    args = make_parser("demo").parse_args([])
    path = finish_figure(_figure(), args, default_name="demo.png")
    assert (tmp_path / path).resolve() == (tmp_path / "figures" / "demo.png").resolve()
    assert (tmp_path / "figures" / "demo.png").is_file()
    assert "demo.png" in capsys.readouterr().out
    assert no_show == []  # Agg: never plt.show, even without --no-show


def test_save_without_suffix_gets_png(tmp_path, no_show):
    args = make_parser("demo").parse_args(["--save", str(tmp_path / "curve"), "--no-show"])
    assert finish_figure(_figure(), args).name == "curve.png"
    assert (tmp_path / "curve.png").is_file()


def test_show_only_when_interactive_and_allowed(tmp_path, monkeypatch, no_show):
    monkeypatch.setattr(plotting, "is_interactive_backend", lambda: True)
    finish_figure(_figure(), make_parser("d").parse_args(["--save", str(tmp_path / "a.png")]))
    assert no_show == [1]
    finish_figure(_figure(), make_parser("d").parse_args(["--save", str(tmp_path / "b.png"), "--no-show"]))
    assert no_show == [1]


def test_figure_is_closed(tmp_path, no_show):
    fig = _figure()
    finish_figure(fig, save=str(tmp_path / "c.png"))
    assert not plt.fignum_exists(fig.number)


def test_parser_options_and_seed():
    parser = make_parser("demo", quick=True, seed=5)
    args = parser.parse_args([])
    assert (args.seed, args.quick, args.save, args.no_show) == (5, False, None, False)
    assert not hasattr(make_parser("demo", figure=False).parse_args([]), "save")
    rng = seed_everything(11)
    a = (np.random.rand(3), rng.random(3))
    rng = seed_everything(11)
    np.testing.assert_array_equal(a[0], np.random.rand(3))
    np.testing.assert_array_equal(a[1], rng.random(3))
