"""Where dataset.mnist keeps its data: $DLFS_DATA_DIR, checkout or installed package, read-only folders and
the user cache fallback, sub-folders, and --where / --clear."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from mnist_helpers import (
    FILES,
    Mirror,
    assert_same,
    make_arrays,
    no_tmp_left,
    tiny_spec,
    write_gz,
)

from dataset import folders, mnist

pytestmark = pytest.mark.usefixtures("isolated")  # data under tmp_path, no network (tests/conftest.py)


# ---------------------------------------------------------------------------------------------------------
# Read-only and unwritable folders
# ---------------------------------------------------------------------------------------------------------


def test_read_only_data_dir_falls_back_to_user_cache(
    isolated: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)  # copied in by hand, then the folder became read-only
    real = folders.is_writable
    monkeypatch.setattr(folders, "is_writable", lambda folder: folder != isolated and real(folder))
    spec = tiny_spec(arrays)
    got = mnist.prepare(spec)
    fallback = tmp_path / "xdg" / "dlfs-numpy"
    assert got.cache == fallback / "tiny.pkl" and got.cache.is_file()
    assert_same(got.arrays, arrays)
    notices = [ln for ln in capsys.readouterr().err.splitlines() if "not writable" in ln]
    assert notices == [f"Tiny: {isolated} is not writable; using {fallback} instead"]
    assert not (isolated / "tiny.pkl").exists()
    assert mnist.prepare(spec).source == f"cache {fallback / 'tiny.pkl'}"


def test_read_only_data_dir_with_a_good_cache_is_used_as_is(isolated: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    spec = tiny_spec(arrays)
    mnist.prepare(spec)
    capsys.readouterr()
    monkeypatch.setattr(folders, "is_writable", lambda folder: False)
    assert mnist.prepare(spec).source == f"cache {isolated / 'tiny.pkl'}"
    assert capsys.readouterr().err == ""


def test_writability_is_probed_for_real(tmp_path: Path) -> None:
    assert folders.is_writable(tmp_path / "new" / "folder")
    (tmp_path / "afile").write_text("x")
    assert not folders.is_writable(tmp_path / "afile" / "sub")  # even root cannot create this
    assert no_tmp_left(tmp_path)


def test_data_dir_is_resolved_at_call_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "one"))
    assert mnist.data_dir_from_env() == tmp_path / "one"
    monkeypatch.setenv("DLFS_DATA_DIR", "")
    assert mnist.data_dir_from_env() == Path(mnist.__file__).resolve().parent
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.user_cache_dir() == tmp_path / "home" / ".cache" / "dlfs-numpy"
    arrays = make_arrays()
    write_gz(tmp_path / "two", arrays)
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "two"))
    assert mnist.prepare(tiny_spec(arrays)).cache == tmp_path / "two" / "tiny.pkl"


def test_fashion_downloads_go_to_their_own_subfolder(server: Mirror, isolated: Path) -> None:
    arrays = make_arrays(seed=3)
    spec = tiny_spec(arrays, cache_name="fashion-mnist.pkl", subdir="fashion-mnist")
    got = mnist.prepare(dataclasses.replace(spec, mirrors=(server.publish("fashion", arrays),)), timeout=5)
    assert_same(got.arrays, arrays)
    assert sorted(p.name for p in (isolated / "fashion-mnist").iterdir()) == sorted(FILES.values())
    assert not (isolated / FILES["train_img"]).exists()
    assert got.cache == isolated / "fashion-mnist.pkl"


def test_nothing_writable_still_loads_uncached(server: Mirror, isolated: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    monkeypatch.setattr(folders, "is_writable", lambda folder: False)
    got = mnist.prepare(tiny_spec(arrays, mirrors=(server.publish("good", arrays),)), timeout=5)
    assert_same(got.arrays, arrays)
    assert got.cache is None
    assert "not writable either; the data will not be cached" in capsys.readouterr().err
    assert not isolated.exists() or not any(isolated.iterdir())


# ---------------------------------------------------------------------------------------------------------
# Where the data lives: checkout, installed package, $DLFS_DATA_DIR; --where and --clear
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tree", ["site-packages", "dist-packages"])
def test_installed_package_uses_the_user_cache(tmp_path: Path, monkeypatch, capsys, tree: str) -> None:
    installed = tmp_path / "venv" / "lib" / "python3.12" / tree / "dataset"
    installed.mkdir(parents=True)
    monkeypatch.setattr(folders, "package_dir", lambda: installed)
    monkeypatch.delenv("DLFS_DATA_DIR")
    user = tmp_path / "xdg" / "dlfs-numpy"
    assert mnist.data_dir_from_env() == user
    arrays = make_arrays()
    write_gz(user, arrays)
    got = mnist.prepare(tiny_spec(arrays))
    assert got.cache == user / "tiny.pkl"
    assert list(installed.iterdir()) == []  # nothing written into the installed package
    assert mnist.main(["--where"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"data folder: {user}  (per-user cache: the package is installed")
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "mine"))  # the variable still wins
    assert mnist.data_dir_from_env() == tmp_path / "mine"


def test_source_checkout_keeps_the_books_dataset_folder(tmp_path: Path, monkeypatch) -> None:
    checkout = tmp_path / "src" / "dlfs-numpy" / "dataset"
    checkout.mkdir(parents=True)
    monkeypatch.setattr(folders, "package_dir", lambda: checkout)
    monkeypatch.delenv("DLFS_DATA_DIR")
    assert mnist.data_dir_from_env() == checkout
    arrays = make_arrays()
    write_gz(checkout, arrays)
    assert mnist.prepare(tiny_spec(arrays)).cache == checkout / "tiny.pkl"
    assert folders.origin_of(checkout) == "the dataset/ folder of this source checkout"
    assert not folders.is_installed(Path(mnist.__file__).resolve().parent)  # this test run: a checkout


def test_where_and_clear_touch_only_our_files(isolated: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays, cache_name="mnist.pkl"))
    mnist.prepare(mnist.MNIST)
    write_gz(isolated / "fashion-mnist", arrays)
    (isolated / "fashion-mnist.pkl").write_bytes(b"old cache")
    (isolated / "notes.txt").write_text("mine")
    (isolated / "fashion-mnist" / "README").write_text("mine too")
    dead = isolated / ".mnist.pkl.999999999.abcd1234.tmp"  # a pid that cannot exist: a killed writer's
    dead.write_bytes(b"half")
    t = time.time() - 120
    os.utime(dead, (t, t))
    live = isolated / f".mnist.pkl.{os.getpid()}.abcd5678.tmp"  # a loader still writing
    live.write_bytes(b"half")
    user = tmp_path / "xdg" / "dlfs-numpy"
    user.mkdir(parents=True)
    (user / "mnist.pkl").write_bytes(b"fallback cache")

    assert mnist.main(["--where"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"data folder: {isolated}  ($DLFS_DATA_DIR)"
    assert f"{isolated / 'mnist.pkl'}" in out and f"{isolated / 'fashion-mnist' / FILES['test_img']}" in out
    assert sorted(p.name for p in isolated.rglob("*")) == sorted(
        [*FILES.values(), "mnist.pkl", "fashion-mnist", *FILES.values(), "fashion-mnist.pkl", "notes.txt",
         "README", dead.name, live.name]
    )  # --where changes nothing

    assert mnist.main(["--clear"]) == 0
    out = capsys.readouterr().out
    assert f"removed {isolated / 'mnist.pkl'}" in out and f"removed {user / 'mnist.pkl'}" in out
    assert sorted(str(p.relative_to(isolated)) for p in isolated.rglob("*")) == sorted(
        ["notes.txt", "fashion-mnist", "fashion-mnist/README", live.name]
    )
    assert not (user / "mnist.pkl").exists()
    (isolated / "fashion-mnist" / "README").unlink()
    assert mnist.main(["--clear"]) == 0
    assert not (isolated / "fashion-mnist").exists()  # an emptied sub-folder goes too


def test_data_dir_that_is_a_file_or_too_long_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays))
    for value, expected in [
        (afile, "names a regular file, not a folder"),
        (afile / "sub", f"lies inside {str(afile)!r}, which is a regular file"),
        (tmp_path / ("x" * 300) / "data", "has a name component of 300 bytes; the file system allows at most"),
    ]:
        monkeypatch.setenv("DLFS_DATA_DIR", str(value))
        with pytest.raises(ValueError) as err:
            mnist.load_mnist()
        assert expected in str(err.value) and "$DLFS_DATA_DIR" in str(err.value)
        assert mnist.main([]) == 2
        assert mnist.main(["--where"]) == 2
        err_text = capsys.readouterr().err
        assert expected in err_text and "Traceback" not in err_text
    with pytest.raises(ValueError, match="data_dir argument"):
        mnist.prepare(tiny_spec(arrays), data_dir=afile)
