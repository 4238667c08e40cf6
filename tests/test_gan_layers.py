"""Tests of common.gan_layers: Deconvolution against its plain-loop reference and as the adjoint of Convolution,
float64 gradient checks with random upstream gradients, LeakyRelu, Tanh and SigmoidWithLoss."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_layer_grad, distinct_values

from common.gan_layers import Deconvolution, LeakyRelu, SigmoidWithLoss, Tanh, deconv_output_size, deconv_reference
from common.layers import Convolution

GRID = [(stride, pad, kernel) for stride in (1, 2) for pad in (0, 1) for kernel in ((3, 3), (2, 3), (4, 4), (1, 2))]


def _deconv(rng, stride, pad, kernel, c_in=2, c_out=3, dtype=np.float64):
    W = rng.standard_normal((c_in, c_out, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return Deconvolution(W, b, stride, pad)


@pytest.mark.parametrize("stride,pad,kernel", GRID)
def test_deconvolution_matches_the_plain_loop_reference(stride, pad, kernel):
    rng = np.random.default_rng(1)
    layer = _deconv(rng, stride, pad, kernel)
    x = rng.standard_normal((2, 2, 4, 5))  # non-square input
    out = layer.forward(x)
    oh = (4 - 1) * stride - 2 * pad + kernel[0]
    ow = (5 - 1) * stride - 2 * pad + kernel[1]
    assert out.shape == (2, 3, oh, ow)
    np.testing.assert_allclose(out, deconv_reference(x, layer.W, layer.b, stride, pad), rtol=1e-12, atol=1e-12)


def test_reference_scatters_each_pixel_as_a_scaled_kernel():
    """One input pixel of value 2 at (1, 0) with stride 2: the output holds 2*W at rows 2.., cols 0.., plus b."""
    W = np.arange(6, dtype=np.float64).reshape(1, 1, 2, 3)
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = 2.0
    expected = np.full((1, 1, 4, 5), 0.5)
    expected[0, 0, 2:4, 0:3] += 2 * W[0, 0]
    np.testing.assert_array_equal(deconv_reference(x, W, np.array([0.5]), stride=2), expected)
    np.testing.assert_array_equal(Deconvolution(W, np.array([0.5]), stride=2).forward(x), expected)


@pytest.mark.parametrize("stride,pad,kernel", GRID)
def test_deconvolution_gradients(stride, pad, kernel):
    rng = np.random.default_rng(2)
    layer = _deconv(rng, stride, pad, kernel)
    x = rng.standard_normal((2, 2, 3, 4))

    def backward(dy):
        dx = layer.backward(dy)
        return dx, {"W": layer.dW, "b": layer.db}

    grads = check_layer_grad(layer.forward, backward, x, {"W": layer.W, "b": layer.b}, rng=rng)
    assert grads["W"].shape == layer.W.shape and grads["b"].shape == layer.b.shape


@pytest.mark.parametrize("stride,pad,kernel", GRID)
def test_deconvolution_is_the_adjoint_of_convolution(stride, pad, kernel):
    """<conv(z), x> = <z, deconv(x)> for the same W, stride and pad (both without bias)."""
    rng = np.random.default_rng(3)
    W = rng.standard_normal((2, 3, *kernel))  # Convolution: 2 filters of 3 channels; Deconvolution: 2 -> 3
    x = rng.standard_normal((2, 2, 3, 4))
    deconv = Deconvolution(W, np.zeros(3), stride, pad)
    y = deconv.forward(x)
    z = rng.standard_normal(y.shape)
    conv_z = Convolution(W, np.zeros(2), stride, pad).forward(z)
    assert conv_z.shape == x.shape
    np.testing.assert_allclose(np.sum(conv_z * x), np.sum(z * y), rtol=1e-12)
    # and deconvolution's dx is exactly convolution's forward
    np.testing.assert_allclose(deconv.backward(z), conv_z, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_bytes", [1, 700, 1 << 20])
@pytest.mark.parametrize("stride,pad,kernel", [(2, 1, (4, 4)), (1, 0, (3, 2))])
def test_deconvolution_in_chunks_matches_the_loops(monkeypatch, chunk_bytes, stride, pad, kernel):
    """7 images cut into chunks of one image, of a few images with a smaller last chunk, or all at once: forward
    against the reference, dx against conv2d_naive, dW and db against plain sums over every (pixel, offset)."""
    from common import kernels
    from common.reference import conv2d_naive

    monkeypatch.setattr(kernels, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(4)
    layer = _deconv(rng, stride, pad, kernel)
    x = rng.standard_normal((7, 2, 3, 4))
    out = layer.forward(x)
    np.testing.assert_allclose(out, deconv_reference(x, layer.W, layer.b, stride, pad), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, conv2d_naive(dout, layer.W, np.zeros(2), stride, pad), rtol=1e-12, atol=1e-12)
    fh, fw = kernel
    dpad = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dW = np.zeros_like(layer.W)
    for p in range(fh):
        for q in range(fw):
            window = dpad[:, :, p:p + stride * 3:stride, q:q + stride * 4:stride]  # (N, C_out, 3, 4)
            dW[:, :, p, q] = np.einsum("ncij,noij->co", x, window)
    np.testing.assert_allclose(layer.dW, dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.db, dout.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_deconvolution_keeps_the_dtype(dtype):
    rng = np.random.default_rng(4)
    layer = _deconv(rng, 2, 1, (4, 4), dtype=dtype)
    x = rng.standard_normal((3, 2, 7, 7)).astype(dtype)
    out = layer.forward(x)
    assert out.shape == (3, 3, 14, 14) and out.dtype == dtype
    dx = layer.backward(np.ones_like(out))
    assert dx.dtype == layer.dW.dtype == layer.db.dtype == dtype
    assert dx.shape == x.shape


def test_deconvolution_rejects_bad_geometry_naming_shapes():
    rng = np.random.default_rng(5)
    layer = _deconv(rng, 1, 0, (3, 3))
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\).*\(1, 3, 4, 4\)"):
        layer.forward(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="expects input"):
        layer.forward(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(C_in, C_out, FH, FW\)"):
        Deconvolution(np.zeros((2, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"bias b must have shape \(3,\)"):
        Deconvolution(np.zeros((2, 3, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="stride"):
        Deconvolution(np.zeros((2, 3, 3, 3)), np.zeros(3), stride=0)
    with pytest.raises(ValueError, match="output size -1"):
        Deconvolution(np.zeros((2, 3, 1, 1)), np.zeros(3), pad=1).forward(np.zeros((1, 2, 1, 1)))
    layer.forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ValueError, match=r"dout has shape \(1, 3, 5, 5\), expected \(1, 3, 6, 6\)"):
        layer.backward(np.zeros((1, 3, 5, 5)))


def test_deconv_output_size():
    assert deconv_output_size(7, 4, 2, 1) == 14
    assert deconv_output_size(14, 4, 2, 1) == 28
    assert deconv_output_size(3, 3) == 5
    with pytest.raises(ValueError):
        deconv_output_size(1, 1, 1, 1)


def test_leaky_relu_values_and_dtype():
    layer = LeakyRelu(0.2)
    x = np.array([[-2.0, -0.0, 0.0, 3.0]], dtype=np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[-0.4, 0.0, 0.0, 3.0]], dtype=np.float32))
    dx = layer.backward(np.array([[1.0, 1.0, 1.0, 1.0]], dtype=np.float32))
    np.testing.assert_array_equal(dx, np.array([[0.2, 0.2, 0.2, 1.0]], dtype=np.float32))
    np.testing.assert_array_equal(LeakyRelu(0).forward(np.array([-1.0, 2.0])), [0.0, 2.0])


@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.5])
def test_leaky_relu_gradient(alpha):
    rng = np.random.default_rng(6)
    layer = LeakyRelu(alpha)
    x = distinct_values((2, 3, 4, 5), rng)  # no value within 0.004 of the kink at 0
    check_layer_grad(layer.forward, lambda dy: (layer.backward(dy), {}), x, rng=rng)


@pytest.mark.parametrize("alpha", [-0.1, float("nan"), float("inf"), "0.2", True])
def test_leaky_relu_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        LeakyRelu(alpha)


def test_leaky_relu_rejects_integers_and_wrong_dout():
    layer = LeakyRelu()
    with pytest.raises(TypeError, match="int"):
        layer.forward(np.array([1, -2]))
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        layer.backward(np.zeros((3, 2)))


def test_tanh_values_gradient_and_dtype():
    rng = np.random.default_rng(7)
    layer = Tanh()
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(layer.forward(x), np.tanh(x))
    check_layer_grad(layer.forward, lambda dy: (layer.backward(dy), {}), x, rng=rng)
    out = layer.forward(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [-1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="dout"):
        layer.backward(np.zeros(4))


def _naive_bce(x, t):
    y = 1 / (1 + np.exp(-x))
    return float(np.mean(-(t * np.log(y) + (1 - t) * np.log(1 - y))))


def test_sigmoid_with_loss_matches_the_definition_and_gradient():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 1)) * 3
    t = rng.random((5, 1))  # soft targets are allowed
    layer = SigmoidWithLoss()
    assert layer.forward(x, t) == pytest.approx(_naive_bce(x, t), rel=1e-12)
    dout = 1.7
    dx = check_layer_grad(lambda v: layer.forward(v, t), lambda d: (layer.backward(d), {}), x, dy=dout)["x"]
    np.testing.assert_allclose(dx, dout * (1 / (1 + np.exp(-x)) - t) / x.size, rtol=1e-12)


def test_sigmoid_with_loss_is_exact_for_huge_logits():
    layer = SigmoidWithLoss()
    x = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    t = np.array([[1.0], [0.0], [0.0], [1.0]])
    loss = layer.forward(x, t)
    assert loss == pytest.approx((0 + 0 + 1000 + 1000) / 4)
    np.testing.assert_array_equal(layer.backward(), np.array([[0.0], [0.0], [0.25], [-0.25]]))
    layer32 = SigmoidWithLoss()
    loss32 = layer32.forward(x.astype(np.float32), t.astype(np.float32))
    assert np.isfinite(loss32) and np.asarray(loss32).dtype == np.float32
    assert layer32.backward().dtype == np.float32


def test_sigmoid_with_loss_accepts_integer_and_bool_targets():
    x = np.array([[0.3], [-1.2]])
    ref = SigmoidWithLoss().forward(x, np.array([[1.0], [0.0]]))
    assert SigmoidWithLoss().forward(x, np.array([[1], [0]])) == ref
    assert SigmoidWithLoss().forward(x, np.array([[True], [False]])) == ref


@pytest.mark.parametrize("t,error,match", [
    (np.ones((4,)), ValueError, r"target shape \(4,\) differs from logits shape \(4, 1\)"),
    (np.full((4, 1), 1.5), ValueError, r"\[0, 1\]"),
    (np.full((4, 1), -0.1), ValueError, r"\[0, 1\]"),
    (np.full((4, 1), np.nan), ValueError, r"got nan at index \(0, 0\) \(of 4 bad values\)"),
    (np.array([["a"], ["b"], ["c"], ["d"]]), TypeError, "dtype"),
])
def test_sigmoid_with_loss_rejects_bad_targets(t, error, match):
    with pytest.raises(error, match=match):
        SigmoidWithLoss().forward(np.zeros((4, 1)), t)


def test_sigmoid_with_loss_rejects_integer_logits():
    with pytest.raises(TypeError, match="floating"):
        SigmoidWithLoss().forward(np.zeros((2, 1), dtype=np.int64), np.zeros((2, 1)))
