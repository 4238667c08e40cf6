"""common.layers: backward against float64 numerical gradients (element-wise, dense, dropout, batch
normalization, convolution and pooling over a geometry grid) and the layers' forward arithmetic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gradcheck import check_layer_grad, distinct_values

from common.layers import (
    AddLayer,
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    MulLayer,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _grads(layer, names: dict[str, str]):
    """backward(dy) for check_layer_grad: runs layer.backward and collects the named gradient attributes."""
    def backward(dy):
        dx = layer.backward(dy)
        return dx, {name: getattr(layer, attr) for name, attr in names.items()}
    return backward


# --------------------------------------------------------------------------------------------------------
# Gradient checks, element-wise and dense layers
# --------------------------------------------------------------------------------------------------------

def test_relu_backward(rng):
    layer = Relu()
    x = distinct_values((2, 3, 4), rng)
    check_layer_grad(layer.forward, _grads(layer, {}), x, rng=rng)


def test_sigmoid_backward(rng):
    layer = Sigmoid()
    x = rng.standard_normal((3, 5)) * 3
    check_layer_grad(layer.forward, _grads(layer, {}), x, rng=rng)


@pytest.mark.parametrize("x_shape", [(4, 6), (2, 3, 2, 2)], ids=["2d", "4d"])
def test_affine_backward(rng, x_shape):
    d = int(np.prod(x_shape[1:]))
    W = rng.standard_normal((d, 5))
    b = rng.standard_normal(5)
    layer = Affine(W, b)
    x = rng.standard_normal(x_shape)
    grads = check_layer_grad(layer.forward, _grads(layer, {"W": "dW", "b": "db"}), x, {"W": W, "b": b}, rng=rng)
    assert grads["x"].shape == x_shape


def test_mul_layer_backward(rng):
    layer = MulLayer()
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def backward(d):
        dx, dy = layer.backward(d)
        return dx, {"y": dy}

    check_layer_grad(lambda a: layer.forward(a, y), backward, x, {"y": y}, rng=rng)


def test_add_layer_backward(rng):
    layer = AddLayer()
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def backward(d):
        dx, dy = layer.backward(d)
        return dx, {"y": dy}

    check_layer_grad(lambda a: layer.forward(a, y), backward, x, {"y": y}, rng=rng)


def test_mul_add_book_apple_example():
    """Chapter 5's apple shopping graph: 2 apples at 100, tax 1.1 -> 220; d/dapple = 2.2, d/dnum = 110, d/dtax = 200."""
    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(100.0, 2.0), 1.1)
    dapple_price, dtax = mul_tax.backward(1.0)
    dapple, dnum = mul_apple.backward(dapple_price)
    assert price == pytest.approx(220.0)
    assert (dapple, dnum, dtax) == pytest.approx((2.2, 110.0, 200.0))


@pytest.mark.parametrize("target", ["labels", "one_hot"])
def test_softmax_with_loss_backward(rng, target):
    layer = SoftmaxWithLoss()
    x = rng.standard_normal((4, 5)) * 2
    labels = np.array([0, 3, 4, 3])
    t = labels if target == "labels" else np.eye(5)[labels]
    dout = 1.7
    grads = check_layer_grad(lambda a: layer.forward(a, t), _grads(layer, {}), x, dy=dout)
    # dout scales the gradient linearly (the book ignored it)
    layer.forward(x, t)
    np.testing.assert_allclose(grads["x"], dout * layer.backward(1.0), rtol=1e-12)


def test_softmax_with_loss_default_dout_is_one(rng):
    layer = SoftmaxWithLoss()
    x = rng.standard_normal((3, 4))
    t = np.array([1, 0, 3])
    layer.forward(x, t)
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(layer.backward(), (y - np.eye(4)[t]) / 3, rtol=1e-12)


# --------------------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------------------

def _fixed_mask_dropout(ratio: float, inverted: bool, seed: int = 7):
    """A Dropout whose forward always draws the same mask (a fresh generator with the same seed each time)."""
    layer = Dropout(ratio, inverted=inverted)

    def forward(x, train_flg=True):
        layer.rng = np.random.default_rng(seed)
        return layer.forward(x, train_flg=train_flg)

    return layer, forward


@pytest.mark.parametrize("inverted", [False, True])
def test_dropout_train_backward_fixed_mask(rng, inverted):
    layer, forward = _fixed_mask_dropout(0.4, inverted)
    x = rng.standard_normal((6, 7))
    grads = check_layer_grad(forward, _grads(layer, {}), x, rng=rng)
    kept = layer.mask
    assert 0 < kept.sum() < kept.size
    assert np.all(grads["x"][~kept] == 0)
    out = forward(x)
    scale = 1 / 0.6 if inverted else 1.0
    np.testing.assert_allclose(out, x * kept * scale)


@pytest.mark.parametrize("inverted", [False, True])
def test_dropout_test_mode_forward(rng, inverted):
    layer = Dropout(0.3, inverted=inverted)
    x = rng.standard_normal((4, 5))
    expected = x if inverted else x * 0.7
    np.testing.assert_allclose(layer.forward(x, train_flg=False), expected)


@pytest.mark.parametrize("inverted", [False, True])
def test_dropout_test_mode_backward(rng, inverted):
    """backward after a test-mode forward must be the gradient of the test-mode function (x * (1 - ratio), or x
    for inverted dropout), not reuse a stale training mask. Known bug in common/layers.py (see report)."""
    layer, forward = _fixed_mask_dropout(0.3, inverted)
    x = rng.standard_normal((4, 5))
    forward(x, train_flg=True)  # leaves a training mask behind
    check_layer_grad(lambda a: forward(a, train_flg=False), _grads(layer, {}), x, rng=rng)


def test_dropout_inverted_keeps_expectation():
    layer = Dropout(0.5, inverted=True, rng=np.random.default_rng(0))
    x = np.ones((200, 200))
    assert layer.forward(x).mean() == pytest.approx(1.0, abs=0.02)


def test_dropout_ratio_validated():
    with pytest.raises(ValueError, match="dropout_ratio"):
        Dropout(1.0)


# --------------------------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "x_shape, gamma_size",
    [((5, 4), 4), ((3, 2, 2, 3), 12), ((2, 3, 3, 4), 3)],
    ids=["per-activation-2d", "per-activation-4d", "per-channel-4d"],
)
def test_batchnorm_backward(rng, x_shape, gamma_size):
    gamma = rng.uniform(0.5, 1.5, gamma_size)
    beta = rng.standard_normal(gamma_size)
    layer = BatchNormalization(gamma, beta)
    x = rng.standard_normal(x_shape) * 2 + 1
    grads = check_layer_grad(
        layer.forward, _grads(layer, {"gamma": "dgamma", "beta": "dbeta"}), x, {"gamma": gamma, "beta": beta}, rng=rng
    )
    assert grads["x"].shape == x_shape


@pytest.mark.parametrize("x_shape, gamma_size", [((5, 4), 4), ((2, 3, 3, 4), 3)], ids=["2d", "per-channel-4d"])
def test_batchnorm_test_mode_backward(rng, x_shape, gamma_size):
    """backward after forward(train_flg=False) must differentiate the test-mode function (fixed running
    statistics: dx = gamma * dout / sqrt(running_var + eps)), not reuse the last training batch's statistics.
    Known bug in common/layers.py (see report)."""
    gamma = rng.uniform(0.5, 1.5, gamma_size)
    beta = rng.standard_normal(gamma_size)
    layer = BatchNormalization(gamma, beta, momentum=0.5)
    layer.forward(rng.standard_normal(x_shape) * 2 + 1, train_flg=True)  # sets running statistics
    x = rng.standard_normal(x_shape)
    check_layer_grad(lambda a: layer.forward(a, train_flg=False), _grads(layer, {"gamma": "dgamma", "beta": "dbeta"}),
                     x, {"gamma": gamma, "beta": beta}, rng=rng)


def test_batchnorm_per_channel_statistics(rng):
    """Per-channel mode normalises each channel over N, H and W: with gamma 1, beta 0 every channel of the output
    has mean 0 and variance 1 (up to eps)."""
    c = 3
    layer = BatchNormalization(np.ones(c), np.zeros(c))
    x = rng.standard_normal((4, c, 5, 5)) * np.array([1.0, 5.0, 0.2]).reshape(1, c, 1, 1) + 3
    y = layer.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)


@pytest.mark.parametrize("x_shape, gamma_size", [((5, 4), 4), ((2, 3, 3, 4), 3)], ids=["2d", "per-channel-4d"])
def test_batchnorm_calls_never_leak_into_each_other(rng, x_shape, gamma_size):
    """An earlier output is never overwritten by a later call, and backward belongs to the last forward (train
    or test mode), exactly as in a fresh layer."""
    gamma, beta = rng.uniform(0.5, 1.5, gamma_size), rng.standard_normal(gamma_size)
    layer = BatchNormalization(gamma.copy(), beta.copy())
    x1, x2, dy = (rng.standard_normal(x_shape) for _ in range(3))
    y1 = layer.forward(x1)
    kept = y1.copy()
    for train in (True, False):
        y2 = layer.forward(x2, train_flg=train)
        dx = layer.backward(dy)
        fresh = BatchNormalization(gamma.copy(), beta.copy(), running_mean=layer.running_mean.copy(),
                                   running_var=layer.running_var.copy())
        if train:
            fresh.running_mean, fresh.running_var = None, None
        np.testing.assert_array_equal(fresh.forward(x2, train_flg=train), y2)
        np.testing.assert_array_equal(fresh.backward(dy), dx)
        np.testing.assert_array_equal(fresh.dgamma, layer.dgamma)
        np.testing.assert_array_equal(y1, kept)


def test_batchnorm_keeps_its_centred_buffer_while_the_batch_shape_holds(rng):
    """Train mode writes x - mean into the previous call's buffer (no fresh pages per step) when shape and dtype
    match, and allocates anew when either changes; every result is a fresh layer's."""
    layer = BatchNormalization(np.ones(3, dtype=np.float32), np.zeros(3, dtype=np.float32))
    batches = [rng.standard_normal(shape).astype(dtype) for shape, dtype in
               [((4, 3, 5, 5), np.float32), ((4, 3, 5, 5), np.float32), ((2, 3, 5, 5), np.float32),
                ((2, 3, 5, 5), np.float64)]]
    previous = None
    for i, x in enumerate(batches):
        dy = rng.standard_normal(x.shape).astype(x.dtype)
        y, dx = layer.forward(x), layer.backward(dy)
        fresh = BatchNormalization(np.ones(3, dtype=np.float32), np.zeros(3, dtype=np.float32))
        np.testing.assert_array_equal(fresh.forward(x), y)
        np.testing.assert_array_equal(fresh.backward(dy), dx)
        assert (layer.xc is previous) == (i == 1)
        previous = layer.xc


def test_batchnorm_running_statistics_used_in_test_mode(rng):
    layer = BatchNormalization(np.ones(4), np.zeros(4), momentum=0.0)
    x = rng.standard_normal((8, 4)) * 3 + 2
    layer.forward(x, train_flg=True)
    np.testing.assert_allclose(layer.running_mean, x.mean(axis=0))
    np.testing.assert_allclose(layer.running_var, x.var(axis=0))
    y = layer.forward(x, train_flg=False)
    np.testing.assert_allclose(y, (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-6))


# --------------------------------------------------------------------------------------------------------
# Convolution and pooling: gradients over a geometry grid, and against the naive reference
# --------------------------------------------------------------------------------------------------------

CONV_GRID = list(itertools.product([1, 2], [0, 1, 2], [(3, 2), (2, 3), (1, 1)], [(5, 6), (7, 4)]))


@pytest.mark.parametrize("stride, pad, kernel, size", CONV_GRID)
def test_convolution_backward(rng, stride, pad, kernel, size):
    fh, fw = kernel
    W = rng.standard_normal((3, 2, fh, fw))
    b = rng.standard_normal(3)
    layer = Convolution(W, b, stride=stride, pad=pad)
    x = rng.standard_normal((2, 2) + size)
    check_layer_grad(layer.forward, _grads(layer, {"W": "dW", "b": "db"}), x, {"W": W, "b": b}, rng=rng)


POOL_GRID = [
    (stride, pad, window, size)
    for stride, pad, window, size in itertools.product([1, 2], [0, 1, 2], [(2, 3), (3, 2), (4, 5)], [(5, 6), (7, 5)])
    if 2 * pad <= min(window)
]


@pytest.mark.parametrize("stride, pad, window, size", POOL_GRID)
def test_pooling_backward(rng, stride, pad, window, size):
    layer = Pooling(*window, stride=stride, pad=pad)
    x = distinct_values((2, 2) + size, rng)
    check_layer_grad(layer.forward, _grads(layer, {}), x, rng=rng)


@pytest.mark.parametrize("window, pad", [((2, 2), 2), ((3, 3), 2), ((2, 5), 2), ((1, 1), 1)])
def test_pooling_rejects_pad_larger_than_half_window(window, pad):
    with pytest.raises(ValueError, match="pad"):
        Pooling(*window, stride=1, pad=pad)


def test_pooling_book_geometry(rng):
    x = rng.standard_normal((2, 3, 28, 28)).astype(np.float32)
    out = Pooling(2, 2, stride=2).forward(x)
    assert out.shape == (2, 3, 14, 14)
    np.testing.assert_array_equal(out, x.reshape(2, 3, 14, 2, 14, 2).max(axis=(3, 5)))


def _bn_broadcast(x3, gamma, beta, dout3, eps):
    """The batch-norm arithmetic with plain broadcasting, pass for pass as the layer does it (the bit-exact spec)."""
    from common import kernels

    m = x3.shape[0] * x3.shape[2]
    mu = kernels.channel_sums(x3) / m
    xc = x3 - mu[:, None]
    std = np.sqrt(kernels.channel_dots(xc, xc) / m + eps)
    out = xc * (gamma / std)[:, None] + beta[:, None]
    dbeta, dgamma = kernels.channel_sums(dout3), kernels.channel_dots(xc, dout3) / std
    dx = xc * (dgamma / (m * std))[:, None]
    dx += (dbeta / m)[:, None]
    dx = (dout3 - dx) * (gamma / std)[:, None]
    return out, dx, dgamma, dbeta


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "per_activation_2d", "per_activation_4d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_is_bit_for_bit_the_broadcast_arithmetic(rng, layout, dtype):
    """The whole-row element-wise passes change speed only: every output equals the broadcast formulas exactly.
    (Train mode scales xc by gamma / std once instead of forming xn = xc / std: that is the formula specified.)"""
    from common import kernels

    n, c, h, w = 6, 4, 5, 3
    x = (rng.standard_normal((n, c, h, w)) * 2 + 0.5).astype(dtype)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        to3 = lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(-1, c, 1)  # noqa: E731
        back = lambda a: a.reshape(n, h, w, c).transpose(0, 3, 1, 2)  # noqa: E731
        d = c
    elif layout == "nchw":
        to3, back, d = (lambda a: a.reshape(n, c, -1)), (lambda a: a.reshape(n, c, h, w)), c
    elif layout == "per_activation_2d":
        x = x.reshape(n * 5, -1)[:, :12]
        to3, back, d = (lambda a: a.reshape(a.shape[0], -1, 1)), (lambda a: a.reshape(n * 5, 12)), 12
    else:
        to3, back, d = (lambda a: a.reshape(n, -1, 1)), (lambda a: a.reshape(n, c, h, w)), c * h * w
    gamma = rng.uniform(0.5, 1.5, d).astype(dtype)
    beta = rng.standard_normal(d).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    layer = BatchNormalization(gamma.copy(), beta.copy())
    out = layer.forward(x, True)
    dx = layer.backward(dout)
    e_out, e_dx, e_dgamma, e_dbeta = _bn_broadcast(to3(x), gamma, beta, to3(dout), layer.eps)
    np.testing.assert_array_equal(out, back(e_out))
    np.testing.assert_array_equal(dx, back(e_dx))
    np.testing.assert_array_equal(layer.dgamma, e_dgamma)
    np.testing.assert_array_equal(layer.dbeta, e_dbeta)
    # test mode: (x - running_mean) / sqrt(running_var + eps) * gamma + beta, backward dout * gamma / std
    test_out = layer.forward(x, False)
    std = np.sqrt(layer.running_var + layer.eps).astype(dtype)
    xn = (to3(x) - layer.running_mean.astype(dtype)[:, None]) / std[:, None]
    np.testing.assert_array_equal(test_out, back(xn * gamma[:, None] + beta[:, None]))
    np.testing.assert_array_equal(layer.backward(dout), back(to3(dout) * (gamma / std)[:, None]))
    np.testing.assert_array_equal(layer.dgamma, kernels.channel_dots(xn, to3(dout)))
