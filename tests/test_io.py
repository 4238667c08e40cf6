"""common.io: .npz parameter files (round trip, safe loading, refusing pickles, atomic writes)."""

from __future__ import annotations

import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

from common import io as cio
from common.io import atomic_write, load_params, save_params


def _params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "W1": rng.standard_normal((4, 3)).astype(np.float32),
        "b1": np.zeros(3, dtype=np.float32),
        "W2": rng.standard_normal((2, 1, 3, 3)),  # float64
        "gamma1": np.ones(5, dtype=np.float16),
        "steps": np.array(7, dtype=np.int64),  # 0-d
    }


def _assert_same(loaded: dict, params: dict) -> None:
    assert list(loaded) == list(params)  # keys kept, in order
    for key, value in params.items():
        assert loaded[key].dtype == value.dtype, key
        assert loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value)


def test_round_trip_keeps_keys_dtypes_values(tmp_path):
    params = _params()
    path = save_params(params, tmp_path / "params.npz")
    assert path == tmp_path / "params.npz"
    _assert_same(load_params(path), params)


def test_written_file_is_a_plain_npz(tmp_path):
    params = _params()
    path = save_params(params, tmp_path / "net.npz")
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as data:
        _assert_same({key: data[key] for key in data.files}, params)


def test_suffix_added_and_found(tmp_path):
    path = save_params({"W": np.ones(2, dtype=np.float32)}, tmp_path / "sub" / "weights")
    assert path == tmp_path / "sub" / "weights.npz" and path.exists()  # parent folder created
    np.testing.assert_array_equal(load_params(tmp_path / "sub" / "weights")["W"], [1, 1])


def test_any_parameter_name_survives(tmp_path):
    """np.savez(f, **params) breaks on the names 'file' and 'allow_pickle'; these must round-trip too."""
    params = {"file": np.arange(3.0), "allow_pickle": np.ones(2), "conv1/W": np.zeros((1, 2))}
    _assert_same(load_params(save_params(params, tmp_path / "p.npz")), params)


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        save_params({"W": np.ones(2)}, tmp_path / "params.pkl")
    assert not (tmp_path / "params.pkl").exists()


def test_pickle_refused_unless_allowed(tmp_path):
    path = tmp_path / "params.pkl"
    params = {"W1": np.arange(6, dtype=np.float32).reshape(2, 3)}
    with open(path, "wb") as f:
        pickle.dump(params, f)
    with pytest.raises(ValueError, match="arbitrary code") as err:
        load_params(path)
    assert "allow_pickle=True" in str(err.value) and ".npz" in str(err.value)
    loaded = load_params(path, allow_pickle=True)
    _assert_same(loaded, params)


def test_npz_with_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, W=np.array([{"a": 1}], dtype=object))  # a pickle inside an .npz
    with pytest.raises(ValueError, match="allow_pickle"):
        load_params(path)


def test_object_array_fails_at_save_and_keeps_old_file(tmp_path):
    """Saving what cannot be loaded safely fails while writing; the previous file survives, no temp file stays."""
    path = save_params({"W": np.ones(3)}, tmp_path / "p.npz")
    with pytest.raises(ValueError, match="allow_pickle"):
        save_params({"W": np.zeros(3), "ragged": np.array([np.zeros(1), np.zeros(2)], dtype=object)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]
    np.testing.assert_array_equal(load_params(path)["W"], np.ones(3))


def test_atomic_write_leaves_no_temp_file(tmp_path):
    save_params(_params(), tmp_path / "a.npz")
    save_params(_params(), tmp_path / "a.npz")  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_failed_write_does_not_clobber(tmp_path, monkeypatch):
    path = tmp_path / "p.npz"
    save_params({"W": np.full(4, 3.0)}, path)
    before = path.read_bytes()

    def broken_writer(f, arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(cio, "_write_npz", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        save_params({"W": np.zeros(4)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]


def test_atomic_write_interrupted(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"old")

    def write(f):
        f.write(b"new but ")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"


def test_non_string_keys_rejected(tmp_path):
    with pytest.raises(TypeError, match="strings"):
        save_params({1: np.ones(2)}, tmp_path / "p.npz")


def test_saved_file_has_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_params({"W": np.ones(2, dtype=np.float32)}, tmp_path / "p.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp alone would give 0o600
