"""benchmarks/: the quick mode's code paths on tiny shapes (no timing assertions; PyTorch optional), and the fast
kernels the benchmarks time, checked in float64 against the plain-loop reference of common/reference.py in the
memory layouts the networks actually feed them (channels-last activations, not only contiguous NCHW)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from benchmarks import layer_cases, networks, run, timing
from common.layers import Convolution, Pooling, Relu
from common.reference import conv2d_naive, max_pool_naive
from common.util import im2col, im2col_nhwc

TINY = ["--quick", "--batch", "4", "--layer-batch", "2", "--repeats", "1", "--gemm-size", "32", "--memory-steps", "1"]


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------------------
# The benchmark suite
# --------------------------------------------------------------------------------------------------------

def test_quick_run_writes_every_section(tmp_path, capsys):
    path = tmp_path / "bench.json"
    run.main(TINY + ["--json", str(path)])
    result = json.loads(path.read_text())
    printed = capsys.readouterr().out
    assert "== Layers" in printed and "== Networks" in printed and "GEMM peak" in printed
    assert result["gemm_peak"]["gflops_median"] > 0
    assert "openblas_env" in result["system"] and isinstance(result["system"]["blas"], list)
    assert len(result["layers"]) == len(layer_cases.layer_cases(quick=True))
    for row in result["layers"]:
        assert row["ours_fwd"]["repeats"] == 1 and row["ours_bwd"]["median"] >= 0
    timed = [row for row in result["networks"] if "skipped" not in row]
    assert {row["task"] for row in timed} == {"train step", "inference"}
    for row in timed:
        assert row["ours"]["median"] > 0 and row["gflops"] > 0
        if _has_torch():
            assert row["torch"]["median"] > 0 and row["ratio_ours_over_torch"] > 0
            assert row["torch_max_abs_difference"] < 1e-4  # the translated PyTorch network computes the same
    memory = result["memory"][0]
    assert memory["max_rss_mb"] > 10, memory


def test_run_without_torch(tmp_path):
    result = run.main(TINY + ["--no-torch", "--only", "networks", "--json", str(tmp_path / "r.json")])
    assert result["torch"] is None and "layers" not in result and "memory" not in result
    for row in result["networks"]:
        assert "torch" not in row and row.get("ratio_ours_over_torch") is None


def test_alternate_interleaves_and_counts():
    calls = []
    stats = timing.alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert stats["a"].repeats == 3 and stats["a"].min <= stats["a"].median <= stats["a"].max
    with pytest.raises(ValueError):
        timing.alternate({"a": lambda: None}, repeats=0)


def test_forward_flops_match_the_book_networks():
    """The analytic counts quoted in the README: 0.173 GFLOP (SimpleConvNet) and 1.755 GFLOP (DeepConvNet)."""
    specs = {spec.name: spec for spec in networks.NETWORKS}
    simple = networks.build(specs["SimpleConvNet"])
    deep = networks.build(specs["DeepConvNet"])
    if isinstance(simple, str) or isinstance(deep, str):
        pytest.skip("chapter 7/8 networks missing")
    assert networks.forward_flops(simple, 100) == 2 * 100 * (24 * 24 * 30 * 25 + 4320 * 100 + 100 * 10)
    assert networks.forward_flops(deep, 100) == 1_754_468_000


# --------------------------------------------------------------------------------------------------------
# Fast kernels against common/reference.py, in float64, for NCHW and channels-last memory
# --------------------------------------------------------------------------------------------------------

def _channels_last(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


LAYOUTS = {"nchw": lambda a: a, "channels_last": _channels_last}
CONV_GEOMETRY = [  # (C, FN, (FH, FW), stride, pad, (H, W)); C*FH*FW <= FN takes the one-product dx path
    (c, fn, k, s, p, size)
    for (c, fn), k, s, p, size in itertools.product([(1, 4), (3, 4), (8, 3)], [(3, 2), (1, 1), (3, 3)], [1, 2],
                                                    [0, 1, 2], [(7, 6), (5, 5)])
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("c, kernel, stride, pad", [(1, (3, 3), 1, 1), (3, (3, 2), 2, 0), (4, (1, 1), 1, 2)])
def test_im2col_nhwc_is_im2col_with_channels_last_columns(rng, order, c, kernel, stride, pad):
    """Same numbers as the book's im2col, columns reordered (c, fh, fw) -> (fh, fw, c), into a C- or F-ordered buffer."""
    x = rng.standard_normal((2, c, 7, 6))
    fh, fw = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).transpose(0, 2, 3, 1)
    book = im2col(x, fh, fw, stride, pad)
    out = np.empty(book.shape, order=order)
    col = im2col_nhwc(xp, fh, fw, stride, out=out)
    assert col is out
    expected = book.reshape(len(book), c, fh, fw).transpose(0, 2, 3, 1).reshape(len(book), -1)
    np.testing.assert_array_equal(col, expected)
    np.testing.assert_array_equal(im2col_nhwc(xp, fh, fw, stride), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("c, fn, kernel, stride, pad, size", CONV_GEOMETRY)
def test_convolution_matches_reference(rng, layout, c, fn, kernel, stride, pad, size):
    """forward == conv2d_naive; backward is its adjoint: <dx, v> = <conv(v; W, 0), dy>, <dW, V> = <conv(x; V, 0), dy>,
    db = sum of dy, for random directions v, V (exact linear identities, float64)."""
    to_layout = LAYOUTS[layout]
    W, b = rng.standard_normal((fn, c) + kernel), rng.standard_normal(fn)
    x = rng.standard_normal((2, c) + size)
    layer = Convolution(W, b, stride=stride, pad=pad)
    out = layer.forward(to_layout(x))
    np.testing.assert_allclose(out, conv2d_naive(x, W, b, stride, pad), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(out.shape)
    dx = layer.backward(to_layout(dy))
    assert dx.shape == x.shape and layer.dW.shape == W.shape and layer.db.shape == b.shape
    zero = np.zeros(fn)
    for _ in range(2):
        v, V = rng.standard_normal(x.shape), rng.standard_normal(W.shape)
        assert np.sum(dx * v) == pytest.approx(np.sum(conv2d_naive(v, W, zero, stride, pad) * dy), rel=1e-10, abs=1e-10)
        assert np.sum(layer.dW * V) == pytest.approx(np.sum(conv2d_naive(x, V, zero, stride, pad) * dy), rel=1e-10,
                                                     abs=1e-10)
    np.testing.assert_allclose(layer.db, dy.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_convolution_book_matrices_and_buffer_reuse(rng):
    """``col``/``col_W`` are the book's matrices; a second forward reuses the column buffer without touching the
    first output, and backward then belongs to the second input."""
    W, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    x1, x2 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 6, 6))
    layer = Convolution(W, b, stride=1, pad=1)
    out1 = layer.forward(x1)
    kept = out1.copy()
    np.testing.assert_array_equal(layer.col, im2col(x1, 3, 3, 1, 1))
    np.testing.assert_allclose((layer.col @ layer.col_W + b).reshape(2, 6, 6, 4).transpose(0, 3, 1, 2), out1)
    out2 = layer.forward(x2)
    np.testing.assert_array_equal(out1, kept)
    dy = rng.standard_normal(out2.shape)
    dx = layer.backward(dy)
    fresh = Convolution(W, b, stride=1, pad=1)
    fresh.forward(x2)
    np.testing.assert_allclose(dx, fresh.backward(dy), rtol=1e-12)
    np.testing.assert_allclose(layer.dW, fresh.dW, rtol=1e-12)


POOL_GEOMETRY = [(w, s, p, size) for w, s, p, size in itertools.product([(2, 2), (3, 2), (3, 3)], [1, 2, 3], [0, 1],
                                                                         [(6, 6), (7, 5)]) if 2 * p <= min(w)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("window, stride, pad, size", POOL_GEOMETRY)
def test_pooling_matches_reference(rng, layout, window, stride, pad, size):
    """forward == max_pool_naive; backward sends each window's dy to the reference's argmax (first maximum),
    accumulating over overlapping windows. Integer-valued inputs make many ties."""
    x = rng.integers(0, 4, size=(2, 3) + size).astype(np.float64)
    layer = Pooling(*window, stride=stride, pad=pad)
    out = layer.forward(LAYOUTS[layout](x))
    expected, arg = max_pool_naive(x, *window, stride=stride, pad=pad)
    np.testing.assert_array_equal(out, expected)
    dy = rng.standard_normal(out.shape)
    dx = layer.backward(LAYOUTS[layout](dy))
    ref = np.zeros_like(x)
    for idx in np.ndindex(dy.shape):
        r, c = arg[idx]
        ref[idx[0], idx[1], r, c] += dy[idx]
    np.testing.assert_allclose(dx, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_exactly_np_where(rng, dtype):
    """The branch-free backward gives np.where(mask, 0, dout) bit for bit, NaN and inf included."""
    x = _channels_last(rng.standard_normal((2, 3, 4, 5)).astype(dtype))
    dout = rng.standard_normal(x.shape).astype(dtype)
    dout.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, np.nan, -np.inf]
    layer = Relu()
    layer.forward(x)
    dx = layer.backward(dout)
    expected = np.where(x <= 0, 0, dout).astype(dtype)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, expected)
    assert np.array_equal(np.signbit(dx), np.signbit(expected))
