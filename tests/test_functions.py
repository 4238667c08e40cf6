"""common.functions: the book's values, dtype preservation and numerical stability.

pytest turns RuntimeWarning into an error (pyproject), so an overflow in exp fails these tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numerical_grads

from common.functions import (
    cross_entropy_error,
    identity_function,
    labels_from_target,
    log_softmax,
    mean_squared_error,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_loss,
    step_function,
    sum_squared_error,
)
from common.layers import SoftmaxWithLoss

# The book's chapter 4 example: the true class is 2.
T_ONE_HOT = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.float64)
Y_GOOD = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_BAD = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_identity_and_step():
    x = np.array([-1.0, 0.0, 2.0])
    assert identity_function(x) is x
    out = step_function(x)
    np.testing.assert_array_equal(out, [0, 0, 1])
    assert np.issubdtype(out.dtype, np.integer)


def test_relu_and_relu_grad():
    x = np.array([-2.0, 0.0, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(relu(x), [0, 0, 3])
    assert relu(x).dtype == np.float32
    g = relu_grad(x)
    np.testing.assert_array_equal(g, [0, 1, 1])  # the book: 1 where x >= 0
    assert g.dtype == np.float32


def test_sigmoid_values_and_dtype():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert sigmoid(x.astype(np.float32)).dtype == np.float32
    assert sigmoid(np.array([0, 1])).dtype == np.float64  # integers are promoted, not truncated


def test_sigmoid_huge_inputs_no_overflow_warning():
    out = sigmoid(np.array([-1000.0, 1000.0, -1e308]))
    np.testing.assert_array_equal(out, [0.0, 1.0, 0.0])
    out32 = sigmoid(np.array([-1000.0, 1000.0], dtype=np.float32))
    np.testing.assert_array_equal(out32, [0.0, 1.0])
    assert out32.dtype == np.float32


def test_sigmoid_grad_matches_numerical():
    x = np.linspace(-4, 4, 9)
    numeric = numerical_grads(lambda: float(np.sum(sigmoid(x))), {"x": x})["x"]
    np.testing.assert_allclose(sigmoid_grad(x), numeric, rtol=1e-6, atol=1e-9)


def test_softmax_last_axis_any_ndim():
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 5), (2, 3, 5)]:
        x = rng.standard_normal(shape)
        y = softmax(x)
        assert y.shape == shape
        np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), rtol=1e-12)
    assert softmax(np.zeros((2, 4), dtype=np.float32)).dtype == np.float32


def test_softmax_huge_logits():
    np.testing.assert_array_equal(softmax(np.array([1000.0, -1000.0])), [1.0, 0.0])
    np.testing.assert_array_equal(softmax(np.array([[1010.0, 1000.0, 990.0]])),
                                  softmax(np.array([[20.0, 10.0, 0.0]])))
    np.testing.assert_array_equal(softmax(np.array([-1000.0, -1000.0])), [0.5, 0.5])


def test_log_softmax_exact_for_huge_logits():
    out = log_softmax(np.array([[1000.0, -1000.0], [-1000.0, -1000.0]]))
    np.testing.assert_array_equal(out[0], [0.0, -2000.0])
    np.testing.assert_allclose(out[1], [-np.log(2), -np.log(2)], rtol=1e-15)


def test_mean_squared_error_book_values():
    assert mean_squared_error(Y_GOOD, T_ONE_HOT) == pytest.approx(0.0975)
    assert mean_squared_error(Y_BAD, T_ONE_HOT) == pytest.approx(0.5975)
    assert sum_squared_error is mean_squared_error
    with pytest.raises(ValueError, match=r"\(10,\).*\(9,\)"):
        mean_squared_error(Y_GOOD, T_ONE_HOT[:9])


@pytest.mark.parametrize("target", ["one_hot", "label"])
def test_cross_entropy_error_book_values_1d(target):
    """1-D y is a batch of one; t as one-hot (10,) or a single label."""
    t = T_ONE_HOT if target == "one_hot" else np.array(2)
    assert cross_entropy_error(Y_GOOD, t) == pytest.approx(-np.log(0.6 + 1e-7), rel=1e-12)
    assert cross_entropy_error(Y_BAD, t) == pytest.approx(-np.log(0.1 + 1e-7), rel=1e-12)


def test_cross_entropy_error_batch_mean_labels_and_one_hot():
    y = np.stack([Y_GOOD, Y_BAD])
    labels = np.array([2, 7])
    expected = -(np.log(0.6 + 1e-7) + np.log(0.6 + 1e-7)) / 2
    assert cross_entropy_error(y, labels) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(y, np.eye(10)[labels]) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(cross_entropy_error(np.array([[1.0, 0.0]]), np.array([1])))  # log(0 + 1e-7)


def test_cross_entropy_error_rejects_bad_targets():
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        cross_entropy_error(Y_GOOD, np.array(10))
    with pytest.raises(ValueError, match="batch sizes"):
        cross_entropy_error(np.stack([Y_GOOD, Y_BAD]), np.array([1, 2, 3]))


def test_labels_from_target():
    np.testing.assert_array_equal(labels_from_target(np.eye(4)[[3, 0]], 4), [3, 0])
    np.testing.assert_array_equal(labels_from_target(np.array([1.0, 2.0]), 4), [1, 2])
    with pytest.raises(TypeError, match="integer"):
        labels_from_target(np.array([0.5, 1.0]), 4)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        labels_from_target(np.zeros((2, 3)), 4)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_softmax_loss_huge_logits_exact(sign):
    x = sign * np.array([[1000.0, -1000.0], [1000.0, -1000.0]])
    t = np.array([0, 1])
    # log-softmax rows: sign=+1 -> [0, -2000]; sign=-1 -> [-2000, 0]; the mean of the picked entries is 1000 either way
    assert softmax_loss(x, t) == 1000.0
    assert softmax_loss(x, np.eye(2)[t]) == 1000.0
    assert softmax_loss(x[0], np.array(0 if sign > 0 else 1)) == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_with_loss_huge_logits_exact(dtype):
    layer = SoftmaxWithLoss()
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], dtype=dtype)
    loss = layer.forward(x, np.array([1, 1]))
    assert loss == 1000.0  # (2000 + 0) / 2, exactly
    dx = layer.backward(2.0)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    assert layer.forward(np.full((1, 3), 1000.0, dtype=dtype), np.array([0])) == pytest.approx(np.log(3))


def test_softmax_loss_matches_cross_entropy_of_softmax():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6))
    t = np.array([0, 5, 2, 2])
    expected = -np.mean(np.log(softmax(x)[np.arange(4), t]))
    assert softmax_loss(x, t) == pytest.approx(expected, rel=1e-12)
    layer = SoftmaxWithLoss()
    assert layer.forward(x, t) == pytest.approx(expected, rel=1e-12)
