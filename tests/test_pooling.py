"""Max pooling's window-major route (common.pooling) against the offset loop, bit for bit, and the route choice.
(Both routes are also checked against the plain loops of common.reference through the layer in test_kernels.py.)"""

import numpy as np
import pytest
from kernel_helpers import channels_last

from common import kernels, pooling
from common.layers import Pooling
from common.reference import max_pool_backward_naive, max_pool_naive


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(5)


def _awkward(rng, shape, dtype):
    """Small integers (many ties, whole windows of equal values) plus NaN, +-inf and signed zeros, channels-last."""
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    x[0, 0] = 1.0  # one channel where every window is a tie
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=min(12, flat.size), replace=False)
    flat[picks] = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, np.nan] * 2, dtype=dtype)[:picks.size]
    return channels_last(x)


def _same_bits(a, b):
    np.testing.assert_array_equal(a, b)  # NaN == NaN here
    assert np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [(6, 6), (7, 5), (9, 9), (4, 7)])
@pytest.mark.parametrize("window", [2, 3])
@pytest.mark.parametrize("channels", [1, 3, 16])
@pytest.mark.parametrize("dout_layout", ["channels_last", "nchw"])
def test_window_route_is_the_offset_loop_bit_for_bit(rng, dtype, size, window, channels, dout_layout):
    x = _awkward(rng, (2, channels) + size, dtype)
    slabs = kernels.pool_windows(x, window, window, window, 0)
    assert slabs is not None and slabs.shape == (window * window, 2, size[0] // window, size[1] // window, channels)
    out = kernels.max_pool_windows_forward(slabs)
    expected = kernels.max_pool_forward(x, window, window, window, 0)
    assert out.dtype == dtype and out.shape == expected.shape
    _same_bits(out, expected)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout = channels_last(dout) if dout_layout == "channels_last" else np.ascontiguousarray(dout)
    dx = kernels.max_pool_windows_backward(slabs, out, dout, x.shape)
    assert dx.dtype == dtype and dx.shape == x.shape
    _same_bits(dx, kernels.max_pool_backward(x, expected, dout, window, window, window, 0))


@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_window_route_matches_the_plain_loops(rng, size):
    x = channels_last(rng.integers(0, 3, size=(3, 4) + size).astype(np.float64))  # ties: first maximum wins
    slabs = kernels.pool_windows(x, 2, 2, 2, 0)
    out = kernels.max_pool_windows_forward(slabs)
    np.testing.assert_array_equal(out, max_pool_naive(x, 2, 2, 2, 0)[0])
    dout = rng.standard_normal(out.shape)
    dx = kernels.max_pool_windows_backward(slabs, out, dout, x.shape)
    np.testing.assert_array_equal(dx, max_pool_backward_naive(x, dout, 2, 2, 2, 0))
    np.testing.assert_allclose(dx.sum(), dout.sum(), rtol=1e-12)  # one recipient per window


def test_slabs_hold_one_window_offset_each(rng):
    x = channels_last(rng.standard_normal((2, 3, 6, 8)))
    slabs = kernels.pool_windows(x, 2, 2, 2, 0)
    for k, (p, q) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        np.testing.assert_array_equal(slabs[k], x[:, :, p::2, q::2].transpose(0, 2, 3, 1))
    assert slabs.flags.c_contiguous and not np.shares_memory(slabs, x)


@pytest.mark.parametrize("window, stride, pad, layout", [
    ((2, 2), 2, 0, "nchw"),  # not channels-last: runs of one number, the offset loop is better
    ((2, 2), 2, 1, "channels_last"),  # padding
    ((3, 3), 2, 0, "channels_last"),  # overlapping windows
    ((2, 2), 3, 0, "channels_last"),  # gaps between windows
    ((2, 3), 2, 0, "channels_last"),  # not square
])
def test_offset_loop_keeps_every_other_geometry(rng, window, stride, pad, layout):
    x = rng.standard_normal((2, 3, 7, 7))
    if layout == "channels_last":
        x = channels_last(x)
    assert kernels.pool_windows(x, *window, stride, pad) is None
    layer = Pooling(*window, stride=stride, pad=pad)
    out = layer.forward(x)
    assert layer.windows is None and layer.x is x
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(dout), max_pool_backward_naive(x, dout, *window, stride, pad),
                               rtol=1e-12, atol=1e-12)


def test_layer_goes_window_major_on_channels_last_input_and_drops_x(rng, monkeypatch):
    """The book's 2x2 stride-2 pooling after a convolution keeps the slabs, not a reference to its input, and both
    directions use them; the results are the offset loop's."""
    x = channels_last(rng.standard_normal((3, 4, 8, 6)).astype(np.float32))
    layer = Pooling(2, 2, stride=2)
    calls = []
    real = pooling.max_pool_windows_backward
    monkeypatch.setattr(kernels, "max_pool_windows_backward", lambda *a: calls.append(1) or real(*a))
    out = layer.forward(x)
    assert layer.windows is not None and layer.x is None and layer.x_shape == x.shape
    assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last, as the offset loop's
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    assert calls == [1]
    expected = kernels.max_pool_forward(x, 2, 2, 2, 0)
    _same_bits(out, expected)
    _same_bits(dx, kernels.max_pool_backward(x, expected, dout, 2, 2, 2, 0))
    assert dx.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("window, size", [(2, (6, 6)), (2, (7, 5)), (3, (6, 9))])
def test_window_route_gradient_check(rng, window, size):
    """float64 numerical gradient with a random upstream gradient, through the window-major route (distinct values,
    so no window has a tie that a small step would flip)."""
    from gradcheck import check_layer_grad, distinct_values

    layer = Pooling(window, window, stride=window)
    x = channels_last(distinct_values((2, 3) + size, rng))
    layer.forward(x)
    assert layer.windows is not None

    def backward(dy):
        return layer.backward(dy), {}

    check_layer_grad(layer.forward, backward, x, rng=rng)
