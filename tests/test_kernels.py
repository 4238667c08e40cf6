"""common.kernels against their specifications: the plain loops of common.reference, the book's im2col of
common.util and one-line NumPy expressions; in float32 and float64, in the memory layouts the networks feed
them (channels-last activations as well as contiguous NCHW), and with the batch cut into several chunks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from kernel_helpers import channels_last, close

from common import kernels
from common.layers import Convolution, Pooling
from common.reference import (
    conv2d_backward_naive,
    conv2d_naive,
    max_pool_backward_naive,
    max_pool_naive,
)
from common.util import im2col


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


_channels_last, _close = channels_last, close

LAYOUTS = {"nchw": lambda a: a, "channels_last": _channels_last}


# --------------------------------------------------------------------------------------------------------
# Element-wise selects and reductions
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_keep_and_zero_where_are_np_where_bit_for_bit(rng, dtype):
    values = _channels_last(rng.standard_normal((2, 3, 4, 5)).astype(dtype))
    values.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, np.nan, -np.inf]
    mask = _channels_last(rng.random(values.shape) < 0.5)
    for got, expected in ((kernels.keep_where(mask, values), np.where(mask, values, 0)),
                          (kernels.zero_where(mask, values), np.where(mask, 0, values))):
        assert got.dtype == dtype and got.shape == values.shape
        np.testing.assert_array_equal(got, expected.astype(dtype))
        assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_keep_where_writes_into_a_strided_out(rng):
    values = rng.standard_normal((4, 6))
    keep = rng.random((4, 6)) < 0.5
    big = np.full((8, 12), 5.0)
    out = big[::2, ::2]
    assert kernels.keep_where(keep, values, out=out) is out
    np.testing.assert_array_equal(big[::2, ::2], np.where(keep, values, 0))
    assert np.all(big[1::2] == 5.0)


def test_zero_where_falls_back_to_np_where_for_other_inputs(rng):
    mask = rng.random((3, 4)) < 0.5
    np.testing.assert_array_equal(kernels.zero_where(mask, 2.0), np.where(mask, 0, 2.0))
    ints = rng.integers(-5, 5, size=(3, 4))
    got = kernels.zero_where(mask, ints)
    assert got.dtype == ints.dtype
    np.testing.assert_array_equal(got, np.where(mask, 0, ints))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_sums_is_sum_over_rows(rng, dtype):
    d = rng.standard_normal((1000, 7)).astype(dtype)
    got = kernels.column_sums(d)
    assert got.dtype == dtype and got.shape == (7,)
    _close(got, d.astype(np.float64).sum(axis=0), dtype, scale=50)


def test_workspace_reuses_and_reallocates():
    work = kernels.Workspace()
    a = work.get("a", (3, 4), np.float32)
    a[:] = 1
    assert work.get("a", (3, 4), np.float32) is a
    b = work.get("a", (3, 4), np.float64)
    assert b is not a and b.dtype == np.float64 and not b.any()
    f = work.get("a", (3, 4), np.float64, order="F")
    assert f.flags.f_contiguous and not f.flags.c_contiguous


# --------------------------------------------------------------------------------------------------------
# im2col and convolution
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("c, kernel, stride, pad", [(1, (3, 3), 1, 1), (3, (3, 2), 2, 0), (4, (1, 1), 1, 2)])
def test_im2col_nhwc_is_im2col_with_channels_last_columns(rng, order, c, kernel, stride, pad):
    """Same numbers as the book's im2col, columns reordered (c, fh, fw) -> (fh, fw, c), into a C- or F-ordered buffer."""
    x = rng.standard_normal((2, c, 7, 6))
    fh, fw = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).transpose(0, 2, 3, 1)
    book = im2col(x, fh, fw, stride, pad)
    out = np.empty(book.shape, order=order)
    col = kernels.im2col_nhwc(xp, fh, fw, stride, out=out)
    assert col is out
    expected = book.reshape(len(book), c, fh, fw).transpose(0, 2, 3, 1).reshape(len(book), -1)
    np.testing.assert_array_equal(col, expected)
    np.testing.assert_array_equal(kernels.im2col_nhwc(xp, fh, fw, stride), expected)


CONV_GEOMETRY = [  # (C, FN, (FH, FW), stride, pad, (H, W)); C*FH*FW <= FN takes the one-product dx path
    (c, fn, k, s, p, size)
    for (c, fn), k, s, p, size in itertools.product([(1, 4), (3, 4), (8, 3)], [(3, 2), (1, 1), (3, 3)], [1, 2],
                                                    [0, 1, 2], [(7, 6), (5, 5)])
]
CHUNKS = {"one chunk": None, "one image per chunk": 1, "two images and a tail": 2}


def _chunk_bytes(images: int | None, oh: int, ow: int, k: int, itemsize: int) -> int:
    return kernels.CHUNK_BYTES if images is None else images * oh * ow * k * itemsize


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("c, fn, kernel, stride, pad", [(1, 4, (3, 3), 1, 1), (3, 2, (2, 3), 2, 2), (4, 6, (3, 1), 1, 0),
                                                   (4, 4, (3, 3), 1, 1), (6, 2, (5, 5), 1, 2), (3, 3, (3, 3), 1, 0)])
def test_conv_kernels_match_the_loops_in_every_chunking(rng, monkeypatch, dtype, chunk, c, fn, kernel, stride, pad):
    """conv_forward / conv_backward against conv2d_naive / conv2d_backward_naive, with the batch of 5 images
    processed in one chunk, one image at a time, or two at a time with a smaller last chunk."""
    n, h, w = 5, 6, 5
    oh, ow = (h + 2 * pad - kernel[0]) // stride + 1, (w + 2 * pad - kernel[1]) // stride + 1
    monkeypatch.setattr(kernels, "CHUNK_BYTES",
                        _chunk_bytes(CHUNKS[chunk], oh, ow, c * kernel[0] * kernel[1], np.dtype(dtype).itemsize))
    W = rng.standard_normal((fn, c) + kernel).astype(dtype)
    b = rng.standard_normal(fn).astype(dtype)
    x = _channels_last(rng.standard_normal((n, c, h, w)).astype(dtype))
    work = kernels.Workspace()
    out = kernels.conv_forward(x, W, b, stride, pad, work)
    assert out.dtype == dtype
    _close(out, conv2d_naive(x, W, b, stride, pad), dtype)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dW, db = kernels.conv_backward(dout, x.shape, W, stride, pad, work)
    for got, expected in zip((dx, dW, db), conv2d_backward_naive(x, W, dout, stride, pad), strict=True):
        assert got.dtype == dtype and got.shape == expected.shape
        _close(got, expected, dtype, scale=5)


@pytest.mark.parametrize("c, fn, kernel, stride, pad, flipped", [
    ((4, 4, (3, 3), 1, 1, True)), ((6, 2, (5, 5), 1, 0, True)), ((3, 3, (1, 1), 1, 0, True)),
    ((4, 5, (3, 3), 1, 1, False)), ((4, 4, (3, 3), 2, 1, False)), ((4, 4, (3, 2), 1, 1, False)),
    ((4, 4, (3, 3), 1, 3, False)),
])
def test_stride_1_dx_is_a_convolution_with_flipped_filters_when_fn_le_c(rng, monkeypatch, c, fn, kernel, stride, pad,
                                                                        flipped):
    """Stride 1, square filters, pad < FH and FN <= C take the flipped-filter route (spied), the rest col2im by
    offsets; both give the loops' dx, in float32 and float64, also with dout not channels-last."""
    calls = []
    real = kernels._dx_by_flipped_filters
    monkeypatch.setattr(kernels, "_dx_by_flipped_filters", lambda *a: calls.append(1) or real(*a))
    for dtype in (np.float32, np.float64):
        W = rng.standard_normal((fn, c) + kernel).astype(dtype)
        x = _channels_last(rng.standard_normal((3, c, 7, 6)).astype(dtype))
        work = kernels.Workspace()
        out = kernels.conv_forward(x, W, np.zeros(fn, dtype), stride, pad, work)
        for dout in (_channels_last(rng.standard_normal(out.shape).astype(dtype)),
                     rng.standard_normal(out.shape).astype(dtype)):
            dx, dW, _ = kernels.conv_backward(dout, x.shape, W, stride, pad, work)
            e_dx, e_dW, _ = conv2d_backward_naive(x, W, dout, stride, pad)
            assert dx.dtype == dtype and dx.shape == x.shape
            _close(dx, e_dx, dtype, scale=5)
            _close(dW, e_dW, dtype, scale=5)
    assert len(calls) == (4 if flipped else 0)


@pytest.mark.parametrize("c, fn, kernel, stride, pad", [(1, 5, (5, 5), 1, 0), (3, 4, (3, 3), 2, 1)])
def test_convolution_without_input_grad_sets_the_same_dW_db_and_returns_none(rng, c, fn, kernel, stride, pad):
    """input_grad=False (a network's first layer): backward returns None and dW, db are the loops' values."""
    W, b = rng.standard_normal((fn, c) + kernel), rng.standard_normal(fn)
    x = rng.standard_normal((3, c, 9, 8))
    layer = Convolution(W, b, stride=stride, pad=pad, input_grad=False)
    dout = rng.standard_normal(layer.forward(x).shape)
    assert layer.backward(dout) is None
    _, dW, db = conv2d_backward_naive(x, W, dout, stride, pad)
    _close(layer.dW, dW, np.float64)
    _close(layer.db, db, np.float64)
    with pytest.raises(TypeError, match="input_grad must be True or False"):
        Convolution(W, b, input_grad="False")
    layer.input_grad = True  # switchable: the same layer then returns dx again
    dx = layer.backward(dout)
    _close(dx, conv2d_backward_naive(x, W, dout, stride, pad)[0], np.float64)


@pytest.mark.parametrize("fn, names", [(4, ["col", "col_tail", "part", "part_tail", "xpad"]),  # dx by offsets
                                       (2, ["col", "col_tail", "dcol", "dcol_tail", "dpad", "xpad"])])  # flipped
def test_convolution_keeps_a_bounded_set_of_buffers_whatever_the_batch_sizes(rng, monkeypatch, fn, names):
    """Chunks of 4 images; batches of 1 to 11 images give tails of every size, yet the layer keeps one full-chunk
    and one tail buffer per name, not one per size."""
    monkeypatch.setattr(kernels, "CHUNK_BYTES", _chunk_bytes(4, 6, 6, 3 * 9, 8))
    layer = Convolution(rng.standard_normal((fn, 3, 3, 3)), np.zeros(fn), stride=1, pad=1)
    for n in range(1, 12):
        x = rng.standard_normal((n, 3, 6, 6))
        layer.backward(rng.standard_normal(layer.forward(x).shape))
    assert sorted(layer._work.buffers) == names


def test_convolution_book_matrices_and_buffer_reuse(rng):
    """``col``/``col_W`` are the book's matrices; a second forward reuses the buffers without touching the
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


# --------------------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------------------

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
    expected, _ = max_pool_naive(x, *window, stride=stride, pad=pad)
    np.testing.assert_array_equal(out, expected)
    dy = rng.standard_normal(out.shape)
    dx = layer.backward(LAYOUTS[layout](dy))
    np.testing.assert_allclose(dx, max_pool_backward_naive(x, dy, *window, stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window, stride, pad", [((2, 2), 2, 0), ((3, 3), 2, 1), ((2, 3), 1, 1)])
def test_pool_kernels_match_the_loops(rng, dtype, window, stride, pad):
    x = _channels_last(rng.integers(0, 3, size=(3, 4, 7, 6)).astype(dtype))  # ties: first maximum wins
    out = kernels.max_pool_forward(x, *window, stride, pad)
    expected, _ = max_pool_naive(x, *window, stride, pad)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = kernels.max_pool_backward(x, out, dout, *window, stride, pad)
    assert dx.dtype == dtype and dx.shape == x.shape
    _close(dx, max_pool_backward_naive(x, dout, *window, stride, pad), dtype)


@pytest.mark.parametrize("window, stride, pad, size", [((2, 2), 2, 0, (6, 6)), ((2, 2), 2, 1, (6, 4)),
                                                      ((3, 3), 3, 0, (6, 9)), ((2, 2), 2, 0, (7, 7))])
def test_pool_backward_writes_every_element_without_zeroing_first(rng, monkeypatch, window, stride, pad, size):
    """When the windows tile the input, dx is not zeroed before the offset loop: poison fresh buffers with NaN
    to show that every element is still written (and that untiled inputs are still zeroed)."""
    real_empty_like = np.empty_like

    def poisoned(*args, **kwargs):
        a = real_empty_like(*args, **kwargs)
        a.fill(np.nan)
        return a

    x = _channels_last(rng.integers(0, 3, size=(2, 3) + size).astype(np.float32))
    out = kernels.max_pool_forward(x, *window, stride, pad)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    monkeypatch.setattr(np, "empty_like", poisoned)
    dx = kernels.max_pool_backward(x, out, dout, *window, stride, pad)
    monkeypatch.undo()
    _close(dx, max_pool_backward_naive(x, dout, *window, stride, pad), np.float32)


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (1, 1)])
def test_pooling_ties_go_to_first_maximum(rng, stride, pad):
    """With ties every window's gradient goes to exactly one element: the first maximum in row-major order,
    and overlapping windows accumulate."""
    x = rng.integers(0, 3, size=(2, 2, 6, 5)).astype(np.float64)  # many ties
    x[0, 0] = 1.0  # a channel where every window is one big tie
    window = (3, 2)
    layer = Pooling(*window, stride=stride, pad=pad)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, max_pool_backward_naive(x, dout, *window, stride, pad), rtol=1e-12)
    np.testing.assert_allclose(dx.sum(), dout.sum(), rtol=1e-12)  # one recipient per window
