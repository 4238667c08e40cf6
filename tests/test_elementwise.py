"""Element-wise kernels (common.elementwise): ReLU's branch-free backward and batch normalisation's passes,
against np.where, the book's chain and plain broadcasting (bit for bit where the kernel promises it)."""

import numpy as np
import pytest
from kernel_helpers import channels_last, close

from common import elementwise, kernels
from common.layers import Relu
from common.reference import batchnorm_backward_naive


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


_channels_last, _close = channels_last, close

# --------------------------------------------------------------------------------------------------------
# ReLU and batch normalisation
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_exactly_np_where(rng, dtype):
    """The branch-free backward gives np.where(x <= 0, 0, dout) bit for bit, NaN and inf included."""
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["2d", "3d"])
def test_batchnorm_dx_is_the_books_chain(rng, dtype, layout):
    m, d = 60, 6
    x = (rng.standard_normal((m, d)) * 3 + 1).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, d).astype(dtype)
    dout = rng.standard_normal((m, d)).astype(dtype)
    eps = 1e-6
    std = np.sqrt(x.var(axis=0) + eps).astype(dtype)
    xc = x - x.mean(axis=0)
    # the same numbers as (A, D, B) = (5, D, 12) arrays: channel c of row a holds x[12a:12a+12, c]
    to3 = (lambda a: np.ascontiguousarray(a.reshape(5, 12, d).transpose(0, 2, 1))) if layout == "3d" else (lambda a: a)
    dbeta = kernels.channel_sums(to3(dout))
    dgamma = kernels.channel_dots(to3(xc), to3(dout)) / std
    dx = kernels.batchnorm_dx(to3(dout), to3(xc), std, gamma, dbeta, dgamma)
    if layout == "3d":
        dx = dx.transpose(0, 2, 1).reshape(m, d)
    expected_dx, expected_dgamma, expected_dbeta = batchnorm_backward_naive(x.astype(np.float64),
                                                                            gamma.astype(np.float64),
                                                                            dout.astype(np.float64), eps)
    assert dx.dtype == dtype and dx.shape == (m, d)
    _close(dx, expected_dx, dtype, scale=20)
    _close(dgamma, expected_dgamma, dtype, scale=20)
    _close(dbeta, expected_dbeta, dtype, scale=20)
    xn = xc / std
    _close(kernels.scale_shift(xn, gamma, gamma), gamma * xn + gamma, dtype)


@pytest.mark.parametrize("shape", [(100, 16, 784), (7, 3, 5), (13, 5, 1), (600, 3, 1), (512, 2, 1), (255, 4),
                                   (256, 4), (1000, 7), (1, 3, 1), (0, 4, 2), (0, 3), (5, 1, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_dots_are_sums_of_products(rng, shape, dtype):
    """channel_dots(a, b) == the float64 sums of a * b over every axis but 1, for 3-D and 2-D pairs, row counts
    below, at and between whole blocks, and empty ones."""
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    axes = (0, 2) if len(shape) == 3 else (0,)
    expected = (a.astype(np.float64) * b).sum(axis=axes)
    got = kernels.channel_dots(a, b)
    assert got.shape == (shape[1],) and got.dtype == dtype
    _close(got, expected, dtype, scale=10)
    np.testing.assert_allclose(kernels.channel_dots(a[::-1], b[::-1]), got, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("layout", ["rows", "channels_last"])
def test_channel_dots_of_a_large_batch_keep_float32_accuracy(rng, layout):
    """78,400 positive squares per channel (a (100, 16, 28, 28) batch): the two-level sums stay within 1e-6 of
    float64 (one running float32 sum drifts to about 1e-5 here)."""
    x = (rng.standard_normal((100, 16, 784)) + 3).astype(np.float32)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 1)).reshape(-1, 16)
    expected = np.square(x.astype(np.float64)).sum(axis=(0, 2) if x.ndim == 3 else 0)
    got = kernels.channel_dots(x, x)
    assert np.abs(got / expected - 1).max() < 1e-6


@pytest.mark.parametrize("shape", [(100, 16, 784), (7, 3, 5), (13, 5, 1), (78400 // 49, 16, 1), (12, 4),
                                   (1, 3, 1), (0, 4, 2), (5, 1, 9)])
@pytest.mark.parametrize("op", [np.subtract, np.true_divide, np.multiply, np.add])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)])
def test_per_channel_is_broadcasting_bit_for_bit(rng, shape, op, dtypes):
    """Whole-row calls give exactly the broadcast result (bits, dtype, promotion), new, into out, or in place."""
    a = rng.standard_normal(shape).astype(dtypes[0])
    v = rng.uniform(0.5, 2.0, shape[1]).astype(dtypes[1])
    v_b = v.reshape(-1, 1) if len(shape) == 3 else v
    expected = op(a, v_b)
    got = kernels.per_channel(op, a, v)
    assert got.shape == a.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if expected.dtype == a.dtype:
        inplace = a.copy()
        assert kernels.per_channel(op, inplace, v.reshape(-1, 1), out=inplace) is inplace
        np.testing.assert_array_equal(inplace, expected)


def test_per_channel_rows_are_whole_periods_for_awkward_row_counts(rng, monkeypatch):
    """Row counts with no convenient divisor (a prime, one row) still line the repeated vector up with channels."""
    monkeypatch.setattr(elementwise, "ROW_ELEMENTS", 40)
    for rows in (1, 2, 6, 7, 9, 97):
        a = rng.standard_normal((rows, 3, 2))
        v = np.array([1.0, 10.0, 100.0])
        np.testing.assert_array_equal(kernels.per_channel(np.multiply, a, v), a * v[:, None])


def test_per_channel_non_contiguous_arrays_are_broadcast(rng):
    a = rng.standard_normal((6, 4, 10))[:, :, ::2]
    v = rng.standard_normal(4)
    np.testing.assert_array_equal(kernels.per_channel(np.subtract, a, v), a - v[:, None])
    out = np.empty((5, 4, 6))[:, :, ::2]
    b = rng.standard_normal((5, 4, 3))
    kernels.per_channel(np.add, b, v, out=out)
    np.testing.assert_array_equal(out, b + v[:, None])
    m = rng.standard_normal((8, 6))[:, ::2]
    np.testing.assert_array_equal(kernels.per_channel(np.multiply, m, v[:3]), m * v[:3])


@pytest.mark.parametrize("shape", [(100, 16, 49), (50, 6), (9, 3, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_forward_is_the_normalised_batch(rng, shape, dtype):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's own mean and biased variance (float64)."""
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    d = shape[1]
    gamma, beta = rng.uniform(0.5, 1.5, d).astype(dtype), rng.standard_normal(d).astype(dtype)
    y, xc, mu, var, std = kernels.batchnorm_forward(x, gamma, beta, 1e-6)
    axes = (0, 2) if len(shape) == 3 else (0,)
    x64 = x.astype(np.float64)
    e_mu, e_var = x64.mean(axis=axes), x64.var(axis=axes)
    per = (slice(None), None) if len(shape) == 3 else (slice(None),)
    expected = gamma[per] * (x64 - e_mu[per]) / np.sqrt(e_var + 1e-6)[per] + beta[per]
    assert y.dtype == xc.dtype == dtype and y.shape == xc.shape == shape
    _close(y, expected, dtype, scale=10)
    _close(xc, x64 - e_mu[per], dtype, scale=10)
    _close(mu, e_mu, dtype, scale=10)
    _close(var, e_var, dtype, scale=10)
    _close(std, np.sqrt(e_var + 1e-6), dtype, scale=10)
