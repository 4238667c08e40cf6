"""common.layers contracts: inputs never mutated, shared parameter arrays, dtype preservation, input
validation naming the shapes, the train-mode protocol, BN running statistics and empty batches."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gradcheck import distinct_values

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
from common.reference import batchnorm_backward_naive


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


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


@pytest.mark.parametrize("x_channels_last", [False, True], ids=["x-nchw", "x-nhwc"])
@pytest.mark.parametrize("dout_channels_last", [False, True], ids=["dout-nchw", "dout-nhwc"])
def test_batchnorm_per_channel_any_memory_order_matches_the_books_chain(rng, x_channels_last, dout_channels_last):
    """Per channel, x and dout may each be NCHW- or channels-last in memory: forward keeps x's order, and the
    gradients equal the book's chain on the (N*H*W, C) matrix (float64, random upstream gradient)."""
    n, c, h, w = 3, 4, 5, 2

    def laid_out(a, channels_last):
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) if channels_last else a

    x = rng.standard_normal((n, c, h, w)) * 3 + 1
    dout = rng.standard_normal((n, c, h, w))
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    layer = BatchNormalization(gamma.copy(), beta.copy())
    y = layer.forward(laid_out(x, x_channels_last))
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous == x_channels_last or h * w == 1
    dx = layer.backward(laid_out(dout, dout_channels_last))
    x2, d2 = x.transpose(0, 2, 3, 1).reshape(-1, c), dout.transpose(0, 2, 3, 1).reshape(-1, c)
    mean, std = x2.mean(axis=0), np.sqrt(x2.var(axis=0) + layer.eps)
    np.testing.assert_allclose(y.transpose(0, 2, 3, 1).reshape(-1, c), gamma * (x2 - mean) / std + beta, rtol=1e-10)
    dx_ref, dgamma_ref, dbeta_ref = batchnorm_backward_naive(x2, gamma, d2, eps=layer.eps)
    np.testing.assert_allclose(dx.transpose(0, 2, 3, 1).reshape(-1, c), dx_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, dgamma_ref, rtol=1e-9)
    np.testing.assert_allclose(layer.dbeta, dbeta_ref, rtol=1e-9)


def test_affine_without_input_grad_sets_the_same_dW_db_and_returns_none(rng):
    """input_grad=False (a network's first layer): backward returns None, dW and db bit for bit the default's."""
    W, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    x, dout = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal((4, 5))
    full, no_dx = Affine(W, b), Affine(W, b, input_grad=False)
    np.testing.assert_array_equal(full.forward(x), no_dx.forward(x))
    dx = full.backward(dout)
    assert dx.shape == x.shape and no_dx.backward(dout) is None
    np.testing.assert_array_equal(no_dx.dW, full.dW)
    np.testing.assert_array_equal(no_dx.db, full.db)
    no_dx.input_grad = True  # switchable, as Convolution's
    np.testing.assert_array_equal(no_dx.backward(dout), dx)
    for bad in ("False", 0, None):
        with pytest.raises(TypeError, match="Affine input_grad must be True or False"):
            Affine(W, b, input_grad=bad)


def test_first_affine_of_the_mlps_skips_dx_and_the_gradient_is_unchanged(rng):
    """TwoLayerNet and MultiLayerNet build their first Affine without dx; the parameter gradients are bit for bit
    those of the same network with every dx computed."""
    from ch05_backprop.two_layer_net import TwoLayerNet
    from common.multi_layer_net import MultiLayerNet

    x, t = rng.standard_normal((6, 20)), np.array([0, 1, 2, 0, 1, 2])
    for net in (TwoLayerNet(20, 8, 3, dtype=np.float64), MultiLayerNet(20, [8, 7], 3, dtype=np.float64)):
        affines = [layer for layer in net.layers.values() if isinstance(layer, Affine)]
        assert [a.input_grad for a in affines] == [False] + [True] * (len(affines) - 1)
        fast = {k: v.copy() for k, v in net.gradient(x, t).items()}
        affines[0].input_grad = True
        np.testing.assert_equal(net.gradient(x, t), fast)
