"""common.io: .npz parameter files (round trip, safe loading, refusing pickles and bad content, atomic writes,
cleaning up after interrupted writers)."""

from __future__ import annotations

import io
import os
import pickle
import re
import signal
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import KILLED_WRITER

from common import io as cio
from common.io import atomic_write, load_params, save_params


def _params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "W1": rng.standard_normal((4, 3)).astype(np.float32),
        "b1": np.zeros(3, dtype=np.float32),
        "W2": rng.standard_normal((2, 1, 3, 3)),  # float64
        "gamma1": np.ones(5, dtype=np.float16),
        "scale": np.array(0.5, dtype=np.float32),  # 0-d
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


# ---------------------------------------------------------------------------------------------------------
# load_params: every kind of bad file is one clear ValueError naming the file (and the array)
# ---------------------------------------------------------------------------------------------------------


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.write_bytes(b"hello, not a zip at all"), "is not an .npz archive"),
        (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
        (lambda p: p.write_bytes(pickle.dumps({"W": np.ones(2)})), "looks like a pickle"),
        (lambda p: p.write_bytes(_npy(np.ones(3))), "single-array .npy file"),
        (lambda p: _zip(p, {}), "empty archive"),
        (lambda p: _zip(p, {"W.npy": _npy(np.ones(2))[:-3]}), "array 'W' is not a valid .npy array"),
        (lambda p: _zip(p, {"W.npy": b"garbage"}), "array 'W' is not a valid .npy array"),
        (lambda p: _zip(p, {"W.txt": b"1 2 3"}), "member 'W.txt' is not a .npy array"),
        (lambda p: p.write_bytes(save_params({"W": np.ones(50)}, p).read_bytes()[:-40]), "damaged"),
    ],
    ids=["not-zip", "empty-file", "pickle", "npy-named-npz", "empty-npz", "truncated-member", "garbage-member",
         "foreign-member", "truncated-zip"],
)
def test_bad_npz_files_give_clear_errors(tmp_path, make, expected):
    path = tmp_path / "net.npz"
    make(path)
    with pytest.raises(ValueError) as err:
        load_params(path)
    message = str(err.value)
    assert expected in message and str(path) in message
    assert "pickled data" not in message  # NumPy's misleading message for a non-zip file


def test_npy_file_is_explained(tmp_path):
    np.save(tmp_path / "W.npy", np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"\.npy file.*save_params writes as \.npz"):
        load_params(tmp_path / "W.npy")


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.array([True, False]), "dtype bool"),
        (np.arange(3), "dtype int64"),
        (np.arange(3, dtype=np.uint8), "dtype uint8"),
        (np.ones(2, dtype=np.complex128), "dtype complex128"),
        (np.array(["a", "b"]), "dtype <U1"),
        (np.array([1.0, np.nan], dtype=np.float32), "1 non-finite value(s)"),
        (np.array([np.inf, -np.inf, 0.0]), "2 non-finite value(s)"),
        (np.full((2, 2), np.nan, dtype=np.float16), "4 non-finite value(s)"),
    ],
    ids=["bool", "int", "uint8", "complex", "str", "nan", "inf", "nan-f16"],
)
def test_every_array_is_validated_naming_file_and_key(tmp_path, value, expected):
    path = tmp_path / "p.npz"
    _zip(path, {"W1.npy": _npy(np.ones((2, 2), np.float32)), "bad_one.npy": _npy(value)})
    with pytest.raises(ValueError) as err:
        load_params(path)
    message = str(err.value)
    assert expected in message and "'bad_one'" in message and str(path) in message


def test_pickle_content_is_validated_too(tmp_path):
    def pkl(obj):
        path = tmp_path / f"p{len(list(tmp_path.iterdir()))}.pkl"
        path.write_bytes(pickle.dumps(obj))
        return path

    cases = [
        (pkl([np.ones(2)]), "holds a list, expected a dict of parameter arrays"),
        (pkl({1: np.ones(2)}), "parameter names must be strings, got 1"),
        (pkl({"W": np.ones(2), "b": np.array([1, 2])}), "array 'b' has dtype int64"),
        (pkl({"W": [[1.0], [2.0, 3.0]]}), "parameter 'W' is a list that is not an array"),
        (pkl({"W": np.array([np.nan])}), "array 'W' holds 1 non-finite"),
        (pkl({}), "holds no arrays"),
    ]
    for path, expected in cases:
        with pytest.raises(ValueError) as err:
            load_params(path, allow_pickle=True)
        assert expected in str(err.value) and str(path) in str(err.value), str(err.value)
    path = tmp_path / "broken.pkl"
    path.write_bytes(b"\x80\x04not really")
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_params(path, allow_pickle=True)


def test_books_pickle_of_floats_is_accepted(tmp_path):
    """The book's sample_weight.pkl: a dict of float arrays (and Python float lists convert to float64)."""
    path = tmp_path / "sample_weight.pkl"
    path.write_bytes(pickle.dumps({"W1": np.ones((3, 2), np.float32), "b1": [0.5, 0.25]}))
    loaded = load_params(path, allow_pickle=True)
    assert loaded["W1"].dtype == np.float32 and loaded["b1"].dtype == np.float64


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_params(tmp_path / "nope.npz")


# ---------------------------------------------------------------------------------------------------------
# atomic_write temp names and cleaning up after writers killed with SIGKILL
# ---------------------------------------------------------------------------------------------------------


def _age(path, seconds: float) -> None:
    t = path.stat().st_mtime - seconds
    os.utime(path, (t, t))


def test_temp_name_carries_the_writers_pid(tmp_path):
    seen = []
    atomic_write(tmp_path / "a.bin", lambda f: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1
    assert re.fullmatch(rf"\.a\.bin\.{os.getpid()}\.[a-z0-9_]{{8}}\.tmp", seen[0]), seen




def _killed_writer_temp(target) -> tuple[int, object]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(cio.__file__)))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=root))
    try:
        assert proc.stdout.readline().strip() == b"writing"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    temps = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and f".{proc.pid}." in temps[0].name
    return proc.pid, temps[0]


def test_temp_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "params.npz"
    _, temp = _killed_writer_temp(target)
    save_params({"W": np.ones(2)}, target)
    assert temp.exists()  # too fresh: a writer in another PID namespace could look dead
    _age(temp, cio.DEAD_WRITER_GRACE + 1)
    save_params({"W": np.ones(2)}, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.npz"]


def test_clean_stale_temps_spares_live_writers_and_other_files(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait(timeout=30)
    try:
        files = {
            "live_fresh": f".w.npz.{live.pid}.abcd1234.tmp",
            "live_old": f".w.npz.{live.pid}.abcd5678.tmp",
            "dead_fresh": f".w.npz.{done.pid}.efgh1234.tmp",
            "dead_old": f".w.npz.{done.pid}.efgh5678.tmp",
            "legacy_fresh": ".w.npz.ijkl1234.tmp",
            "legacy_old": "w.npz.ijkl5678.tmp",
            "other_target": f".x.npz.{done.pid}.mnop1234.tmp",
            "not_ours": "w.npz.tmp",
            "user_file": "w.npz",
        }
        for name in files.values():
            (tmp_path / name).write_bytes(b"x")
        _age(tmp_path / files["live_old"], 120)
        _age(tmp_path / files["dead_old"], 120)
        _age(tmp_path / files["legacy_old"], cio.STALE_AFTER + 1)
        _age(tmp_path / files["other_target"], cio.STALE_AFTER + 1)
        removed = cio.clean_stale_temps(tmp_path, ["w.npz"])
        assert sorted(p.name for p in removed) == sorted([files["dead_old"], files["legacy_old"]])
        _age(tmp_path / files["live_old"], cio.STALE_AFTER)  # not changed for an hour: abandoned by anyone
        assert [p.name for p in cio.clean_stale_temps(tmp_path, ["w.npz"])] == [files["live_old"]]
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {files[k] for k in ("live_fresh", "dead_fresh", "legacy_fresh", "other_target", "not_ours",
                                           "user_file")}
        assert cio.clean_stale_temps(tmp_path / "missing", ["w.npz"]) == []
    finally:
        live.kill()
        live.wait(timeout=30)
