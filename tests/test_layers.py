"""common.layers: backward against float64 numerical gradients, the fast kernels against the plain-loop
reference, dtype preservation, parameter sharing and input validation."""

from __future__ import annotations

import itertools
import re

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


# --------------------------------------------------------------------------------------------------------
# Layers leave the caller's arrays alone and share parameter arrays
# --------------------------------------------------------------------------------------------------------

def test_relu_backward_does_not_mutate_dout(rng):
    layer = Relu()
    x = distinct_values((3, 4), rng)
    layer.forward(x)
    dout = rng.standard_normal((3, 4))
    before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert not np.shares_memory(dx, dout)
    np.testing.assert_array_equal(dx, np.where(x > 0, dout, 0))


def _layer_cases(rng):
    c = 2
    return {
        "relu": (Relu(), rng.standard_normal((3, 4))),
        "sigmoid": (Sigmoid(), rng.standard_normal((3, 4))),
        "affine": (Affine(rng.standard_normal((12, 3)), np.zeros(3)), rng.standard_normal((2, c, 2, 3))),
        "dropout": (Dropout(0.5, rng=np.random.default_rng(0)), rng.standard_normal((3, 4))),
        "batchnorm": (BatchNormalization(np.ones(c), np.zeros(c)), rng.standard_normal((2, c, 3, 3))),
        "convolution": (Convolution(rng.standard_normal((3, c, 2, 2)), np.zeros(3), pad=1),
                        rng.standard_normal((2, c, 4, 4))),
        "pooling": (Pooling(2, 2, stride=1, pad=1), rng.standard_normal((2, c, 4, 4))),
    }


@pytest.mark.parametrize("name", ["relu", "sigmoid", "affine", "dropout", "batchnorm", "convolution", "pooling"])
def test_layers_do_not_mutate_inputs(rng, name):
    layer, x = _layer_cases(rng)[name]
    x_before = x.copy()
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dout_before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)


def test_softmax_with_loss_does_not_mutate_inputs(rng):
    layer = SoftmaxWithLoss()
    x = rng.standard_normal((3, 4))
    t = np.eye(4)[[0, 2, 1]]
    x_before, t_before = x.copy(), t.copy()
    layer.forward(x, t)
    layer.backward(2.0)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(t, t_before)


def test_affine_shares_parameter_arrays(rng):
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    layer = Affine(W, b)
    assert layer.W is W and layer.b is b
    x = rng.standard_normal((2, 4))
    y0 = layer.forward(x)
    W *= 2  # an optimizer's in-place update
    b += 1
    np.testing.assert_allclose(layer.forward(x), 2 * (y0 - (b - 1)) + b)


def test_convolution_shares_parameter_arrays(rng):
    W, b = rng.standard_normal((2, 1, 3, 3)), np.zeros(2)
    layer = Convolution(W, b)
    x = rng.standard_normal((1, 1, 5, 5))
    y0 = layer.forward(x)
    W -= 0.5 * W  # in place
    np.testing.assert_allclose(layer.forward(x), 0.5 * y0)


def test_batchnorm_shares_parameter_arrays(rng):
    gamma, beta = np.ones(3), np.zeros(3)
    layer = BatchNormalization(gamma, beta)
    x = rng.standard_normal((4, 3))
    y0 = layer.forward(x)
    gamma *= 3
    beta += 1
    np.testing.assert_allclose(layer.forward(x), 3 * y0 + 1)


# --------------------------------------------------------------------------------------------------------
# dtype: a float32 network stays float32, float64 stays float64
# --------------------------------------------------------------------------------------------------------

def _small_conv_net(dtype, rng):
    """Convolution-BN(per channel)-Relu-Pooling-Affine-Relu-Dropout-Affine-SoftmaxWithLoss on (2, 1, 8, 8)."""
    def p(*shape):
        return (0.1 * rng.standard_normal(shape)).astype(dtype)

    layers = [
        Convolution(p(4, 1, 3, 3), p(4), stride=1, pad=1),
        BatchNormalization(np.ones(4, dtype=dtype), np.zeros(4, dtype=dtype)),
        Relu(),
        Pooling(2, 2, stride=2),
        Affine(p(4 * 4 * 4, 6), p(6)),
        Relu(),
        Dropout(0.5, rng=np.random.default_rng(0)),
        Affine(p(6, 3), p(3)),
    ]
    return layers, SoftmaxWithLoss()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_keeps_dtype(rng, dtype):
    layers, last = _small_conv_net(dtype, rng)
    h = rng.standard_normal((2, 1, 8, 8)).astype(dtype)
    for layer in layers:
        h = layer.forward(h)
        assert h.dtype == dtype, type(layer).__name__
    loss = last.forward(h, np.array([0, 2]))
    assert np.asarray(loss).dtype == dtype
    d = last.backward()
    assert d.dtype == dtype
    for layer in reversed(layers):
        d = layer.backward(d)
        assert d.dtype == dtype, type(layer).__name__
        for attr in ("dW", "db", "dgamma", "dbeta"):
            if hasattr(layer, attr):
                assert getattr(layer, attr).dtype == dtype, f"{type(layer).__name__}.{attr}"
    assert d.shape == (2, 1, 8, 8)


# --------------------------------------------------------------------------------------------------------
# Bad input raises ValueError naming the shapes
# --------------------------------------------------------------------------------------------------------

def test_convolution_wrong_ndim(rng):
    layer = Convolution(rng.standard_normal((2, 3, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=re.escape("(3, 5, 5)")):
        layer.forward(rng.standard_normal((3, 5, 5)))


def test_convolution_filters_must_be_4d(rng):
    with pytest.raises(ValueError, match=re.escape("(2, 3, 3)")):
        Convolution(rng.standard_normal((2, 3, 3)), np.zeros(2))


def test_convolution_channel_mismatch(rng):
    layer = Convolution(rng.standard_normal((2, 3, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=re.escape("(1, 2, 5, 5)")) as err:
        layer.forward(rng.standard_normal((1, 2, 5, 5)))
    assert "(2, 3, 3, 3)" in str(err.value)


def test_convolution_filter_larger_than_padded_input(rng):
    layer = Convolution(rng.standard_normal((2, 1, 5, 3)), np.zeros(2), pad=0)
    with pytest.raises(ValueError, match="5x3") as err:
        layer.forward(rng.standard_normal((1, 1, 4, 4)))
    assert "(1, 1, 4, 4)" in str(err.value)


def test_pooling_wrong_ndim(rng):
    with pytest.raises(ValueError, match=re.escape("(2, 6, 6)")):
        Pooling(2, 2).forward(rng.standard_normal((2, 6, 6)))


def test_pooling_window_larger_than_input(rng):
    with pytest.raises(ValueError, match="does not fit"):
        Pooling(4, 4, stride=1).forward(rng.standard_normal((1, 1, 3, 5)))


def test_softmax_with_loss_labels_out_of_range(rng):
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        SoftmaxWithLoss().forward(rng.standard_normal((2, 4)), np.array([1, 4]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        SoftmaxWithLoss().forward(rng.standard_normal((2, 4)), np.array([-1, 0]))


def test_softmax_with_loss_one_hot_width_mismatch(rng):
    with pytest.raises(ValueError, match=re.escape("(2, 5)")):
        SoftmaxWithLoss().forward(rng.standard_normal((2, 4)), np.eye(5)[[0, 1]])


def test_softmax_with_loss_batch_mismatch(rng):
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        SoftmaxWithLoss().forward(rng.standard_normal((2, 4)), np.array([0, 1, 2]))


def test_affine_feature_mismatch(rng):
    layer = Affine(rng.standard_normal((6, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=re.escape("(6, 3)")) as err:
        layer.forward(rng.standard_normal((2, 7)))
    assert "(2, 7)" in str(err.value)


@pytest.mark.parametrize("x_shape", [(2, 4), (2, 3, 2, 2)])
def test_batchnorm_gamma_size_mismatch(rng, x_shape):
    layer = BatchNormalization(np.ones(5), np.zeros(5))
    with pytest.raises(ValueError, match=re.escape(str(x_shape))):
        layer.forward(rng.standard_normal(x_shape))


def test_batchnorm_gamma_beta_shapes_must_match():
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        BatchNormalization(np.ones(3), np.zeros(4))


# --------------------------------------------------------------------------------------------------------
# Contracts: exact ReLU kink, train-mode protocol, dropout mask reuse, BN running statistics, empty batches
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_passes_no_gradient_at_exactly_zero(dtype):
    """x == 0 exactly (zero-padded image borders, ReLU'd activations) gets no gradient, as the book's mask x <= 0."""
    layer = Relu()
    x = np.array([[-1.0, 0.0, -0.0, 2.0]], dtype=dtype)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.full((1, 4), 3.0, dtype=dtype)), [[0.0, 0.0, 0.0, 3.0]])


def test_train_mode_protocol_flags():
    assert Dropout.uses_train_flg is True and BatchNormalization.uses_train_flg is True
    for cls in (Relu, Sigmoid, Affine, Convolution, Pooling, MulLayer, AddLayer, SoftmaxWithLoss):
        assert not getattr(cls, "uses_train_flg", False), cls.__name__


def test_dropout_reuse_mask(rng):
    layer = Dropout(0.5, rng=np.random.default_rng(3))
    assert layer.reuse_mask is False
    x = rng.standard_normal((20, 10))
    first = layer.forward(x)
    mask = layer.mask.copy()
    assert not np.array_equal(layer.forward(x) != 0, mask)  # a fresh mask by default
    layer.mask = mask
    layer.reuse_mask = True
    np.testing.assert_array_equal(layer.forward(x * 2), 2 * first * (mask == (first != 0)))
    np.testing.assert_array_equal(layer.mask, mask)
    layer.forward(rng.standard_normal((3, 10)))  # another shape: a new mask is drawn
    assert layer.mask.shape == (3, 10)


@pytest.mark.parametrize("x_shape, gamma_size", [((6, 4), 4), ((2, 3, 4, 4), 3)], ids=["2d", "per-channel-4d"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_batchnorm_skips_running_update_for_non_finite_batch(rng, x_shape, gamma_size, bad):
    layer = BatchNormalization(np.ones(gamma_size), np.zeros(gamma_size), momentum=0.5)
    layer.forward(rng.standard_normal(x_shape), train_flg=True)
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    x = rng.standard_normal(x_shape)
    x.flat[3] = bad
    with np.errstate(invalid="ignore"):  # inf - inf: NumPy warns, the layer must still keep its statistics
        out = layer.forward(x, train_flg=True)
    assert not np.isfinite(out).all()  # the bad batch shows in the output (and so in the loss)
    np.testing.assert_array_equal(layer.running_mean, mean)
    np.testing.assert_array_equal(layer.running_var, var)
    layer.forward(rng.standard_normal(x_shape), train_flg=True)  # a good batch updates them again
    assert not np.array_equal(layer.running_mean, mean)


def test_batchnorm_updates_running_statistics_in_place(rng):
    mean, var = np.zeros(3), np.ones(3)
    layer = BatchNormalization(np.ones(3), np.zeros(3), running_mean=mean, running_var=var)
    layer.forward(rng.standard_normal((5, 3)) + 4, train_flg=True)
    assert layer.running_mean is mean and layer.running_var is var and mean.min() > 0


@pytest.mark.parametrize("b_shape", [(2,), (4,), (3, 1)])
def test_convolution_bias_must_have_one_element_per_filter(rng, b_shape):
    with pytest.raises(ValueError, match=re.escape(str(b_shape))) as err:
        Convolution(rng.standard_normal((3, 2, 3, 3)), np.zeros(b_shape))
    assert "FN = 3" in str(err.value)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "affine", "dropout", "convolution", "pooling"])
def test_empty_batch_gives_empty_results(rng, name):
    layer, x = _layer_cases(rng)[name]
    x = x[:0]
    out = layer.forward(x)
    assert out.shape[0] == 0
    dx = layer.backward(np.zeros(out.shape, dtype=out.dtype))
    assert dx.shape == x.shape


def test_batchnorm_training_on_an_empty_batch_is_a_clear_error():
    layer = BatchNormalization(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="at least one sample"):
        layer.forward(np.zeros((0, 3)), train_flg=True)
