"""dataset.mnist's local files and pickle cache: hand-copied files, rebuilding bad caches, safe unpickling,
concurrent loaders and the temporary files of killed ones."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import KILLED_WRITER
from mnist_helpers import (
    FILES,
    KEYS,
    N_TEST,
    N_TRAIN,
    Mirror,
    assert_same,
    closed_port_url,
    gz_bytes,
    make_arrays,
    no_tmp_left,
    sha,
    tiny_spec,
    write_gz,
)

from dataset import mnist

pytestmark = pytest.mark.usefixtures("isolated")  # data under tmp_path, no network (tests/conftest.py)


# ---------------------------------------------------------------------------------------------------------
# Local files and the cache
# ---------------------------------------------------------------------------------------------------------


def test_gz_files_copied_by_hand_need_no_network(isolated: Path) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    got = mnist.prepare(tiny_spec(arrays, mirrors=(closed_port_url(),)))
    assert got.source == f"local files in {isolated}"
    assert_same(got.arrays, arrays)


def test_corrupt_local_file_is_reported_then_mirror_used(server: Mirror, isolated: Path, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    (isolated / FILES["test_label"]).write_bytes(b"\x1f\x8bgarbage")
    spec = tiny_spec(arrays, mirrors=(server.publish("good", arrays),))
    got = mnist.prepare(spec, timeout=5)
    assert_same(got.arrays, arrays)
    assert server.requests == [f"/good/{FILES['test_label']}"]
    assert f"local files in {isolated}: t10k-labels-idx1-ubyte.gz: bad gzip" in capsys.readouterr().err
    assert (isolated / FILES["test_label"]).read_bytes() == gz_bytes(arrays["test_label"])


def test_truncated_cache_is_rebuilt(isolated: Path, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    spec = tiny_spec(arrays)
    cache = mnist.prepare(spec).cache
    assert cache is not None
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    got = mnist.prepare(spec)
    assert_same(got.arrays, arrays)
    err = capsys.readouterr().err
    assert len([ln for ln in err.splitlines() if "unreadable" in ln]) == 1
    assert f"cache {cache}: unreadable" in err and "rebuilding" in err
    assert cache.read_bytes() == data
    assert mnist.prepare(spec).source == f"cache {cache}"


def test_cache_with_wrong_content_is_rebuilt(isolated: Path, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    spec = tiny_spec(arrays)
    tampered = dict(arrays, train_label=(arrays["train_label"] + 1).astype(np.uint8))
    (isolated / "tiny.pkl").write_bytes(pickle.dumps(tampered, protocol=5))
    assert_same(mnist.prepare(spec).arrays, arrays)
    err = capsys.readouterr().err
    assert f"cache {isolated / 'tiny.pkl'}: train_label: checksum mismatch" in err and "rebuilding it" in err


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def test_cache_cannot_run_code(isolated: Path, tmp_path: Path, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    marker = tmp_path / "pwned"
    isolated.mkdir(parents=True, exist_ok=True)
    (isolated / "tiny.pkl").write_bytes(pickle.dumps({"train_img": _Exploit(marker)}))
    assert_same(mnist.prepare(tiny_spec(arrays)).arrays, arrays)
    assert not marker.exists()
    assert "refusing to load builtins.exec" in capsys.readouterr().err


def test_cache_written_by_the_books_pickle_is_accepted(isolated: Path) -> None:
    arrays = make_arrays()
    isolated.mkdir(parents=True)
    with open(isolated / "tiny.pkl", "wb") as f:  # what the book's init_mnist writes
        pickle.dump(arrays, f, -1)
    got = mnist.prepare(tiny_spec(arrays))
    assert got.source.startswith("cache ")
    assert_same(got.arrays, arrays)


def test_our_cache_is_readable_with_plain_pickle(isolated: Path) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    cache = mnist.prepare(tiny_spec(arrays)).cache
    assert cache is not None
    with open(cache, "rb") as f:
        assert_same(pickle.load(f), arrays)


# ---------------------------------------------------------------------------------------------------------
# Concurrent loaders
# ---------------------------------------------------------------------------------------------------------


def test_concurrent_threads_all_succeed(server: Mirror, isolated: Path) -> None:
    arrays = make_arrays()
    spec = tiny_spec(arrays, mirrors=(server.publish("good", arrays),))
    barrier = threading.Barrier(4)
    results: list[object] = []

    def load() -> None:
        barrier.wait()
        try:
            results.append(mnist.prepare(spec, timeout=5).arrays)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4
    for r in results:
        assert isinstance(r, dict), r
        assert_same(r, arrays)
    assert mnist.prepare(spec).source == f"cache {isolated / 'tiny.pkl'}"
    assert no_tmp_left(isolated)


_CHILD = """
import dataclasses, json, sys
from dataset import mnist
cfg = json.loads(sys.argv[1])
spec = dataclasses.replace(mnist.MNIST, name="Tiny", cache_name="tiny.pkl", sha256=cfg["sha"], mirrors=(),
                           wheel=None, n_train=cfg["n_train"], n_test=cfg["n_test"])
for _ in range(3):
    arrays = mnist.prepare(spec).arrays
print("ok", sum(int(a.sum()) for a in arrays.values()))
"""


def test_concurrent_processes_all_succeed(isolated: Path) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    cfg = json.dumps({"sha": {k: sha(arrays[k]) for k in KEYS}, "n_train": N_TRAIN, "n_test": N_TEST})
    env = dict(os.environ, PYTHONPATH=str(Path(mnist.__file__).resolve().parent.parent))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, cfg], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    total = sum(int(a.sum()) for a in arrays.values())
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()
        assert out.decode().split() == ["ok", str(total)]
    assert mnist.prepare(tiny_spec(arrays)).source == f"cache {isolated / 'tiny.pkl'}"
    assert no_tmp_left(isolated)


# ---------------------------------------------------------------------------------------------------------
# Stale temporary files of killed loaders
# ---------------------------------------------------------------------------------------------------------




def test_temp_files_of_a_killed_loader_are_cleaned_up(isolated: Path) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    env = dict(os.environ, PYTHONPATH=str(Path(mnist.__file__).resolve().parent.parent))
    temps = []
    for target in (isolated / "tiny.pkl", isolated / FILES["test_img"]):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], env=env, stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"writing"
            proc.kill()  # SIGKILL: no cleanup handler runs
        finally:
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        [temp] = [p for p in isolated.iterdir() if p.name.startswith(f".{target.name}.{proc.pid}.")]
        t = time.time() - 60
        os.utime(temp, (t, t))
        temps.append(temp)
    foreign = isolated / "someone-elses.tmp"
    foreign.write_bytes(b"keep")
    got = mnist.prepare(tiny_spec(arrays))
    assert got.cache == isolated / "tiny.pkl"
    assert not any(t.exists() for t in temps)
    assert foreign.exists()
    (isolated / ".tiny.pkl.999999999.zzzz1111.tmp").write_bytes(b"x")  # fresh: a writer elsewhere may own it
    assert mnist.prepare(tiny_spec(arrays)).source.startswith("cache ")
    assert (isolated / ".tiny.pkl.999999999.zzzz1111.tmp").exists()
