"""common.functions: the book's values, dtype preservation and numerical stability.

pytest turns RuntimeWarning into an error (pyproject), so an overflow in exp fails these tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numerical_grads

from common.functions import (
    check_target,
    cross_entropy_error,
    identity_function,
    labels_from_target,
    log_softmax,
    mean_squared_error,
    predicted_labels,
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


def test_labels_from_target_accepts_every_book_form():
    expected = [2, 0, 1]
    forms = [np.array(expected, dtype=np.uint8), np.array(expected, dtype=np.int64), np.array([2.0, 0.0, 1.0]),
             np.array(expected).reshape(3, 1), np.eye(3, dtype=np.float32)[expected], np.eye(3, dtype=bool)[expected],
             np.array([[0.05, 0.05, 0.9], [0.8, 0.1, 0.1], [0.0, 1.0, 0.0]]), expected]
    for t in forms:
        labels = labels_from_target(t, 3)
        np.testing.assert_array_equal(labels, expected)
        assert labels.dtype == np.intp and labels.shape == (3,)
    # K unknown: labels only need to be >= 0, a 2-D target gives K by its width
    np.testing.assert_array_equal(labels_from_target(np.array([7, 0]), None), [7, 0])
    np.testing.assert_array_equal(labels_from_target(np.eye(5)[[4, 1]], None), [4, 1])
    np.testing.assert_array_equal(labels_from_target(np.array([[7], [0]]), None), [7, 0])


BAD_TARGETS = [
    (np.array([0, 3]), ValueError, r"\[0, 3\); got 3 at index 1"),
    (np.array([-1, 0]), ValueError, r"got -1 at index 0"),
    (np.array([255], dtype=np.uint8), ValueError, "255"),
    (np.array([0.0, np.nan]), ValueError, "finite.*nan"),
    (np.array([0.0, np.inf]), ValueError, "finite"),
    (np.array([0.5, 1.0]), TypeError, "integer"),
    (np.array([[1], [3]]), ValueError, r"\[0, 3\)"),
    (np.array([True, False]), TypeError, "bool"),
    (np.array(["0", "1"]), TypeError, "dtype"),
    (np.array([0j, 1j]), TypeError, "complex"),
    (np.array([[-1.0, 1.0, 1.0], [0, 0, 1]]), ValueError, "negative entry in row 0"),
    (np.array([[0, 0, 1], [0, 0, 5.0]]), ValueError, "row 1 sums to 5"),
    (np.array([[0, 0, 0], [0, 0, 1.0]]), ValueError, "row 0 sums to 0"),
    (np.array([[0, np.nan, 1.0]]), ValueError, "non-finite"),
    (np.array([[0.5, 0.5, 0.0]]), ValueError, "ambiguous"),
    (np.eye(4)[[0, 1]], ValueError, r"\(2, 4\).*one-hot \(N, 3\)"),
    (np.zeros((2, 3, 1)), ValueError, r"\(2, 3, 1\)"),
    (np.array(1), ValueError, r"shape \(\)"),
]


@pytest.mark.parametrize("t, error, match", BAD_TARGETS, ids=[m for _, _, m in BAD_TARGETS])
def test_labels_from_target_rejects_bad_targets(t, error, match):
    with pytest.raises(error, match=match):
        labels_from_target(t, 3)


def test_labels_from_target_num_classes_checked():
    for k in (0, -1, 2.0, True, "3"):
        with pytest.raises(ValueError, match="num_classes"):
            labels_from_target(np.array([0]), k)


def test_check_target_returns_labels_or_validated_rows():
    soft = np.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    assert check_target(soft, 2, 3) is not None
    np.testing.assert_array_equal(check_target(soft, 2, 3), soft)  # soft targets allowed for a loss, ties too
    np.testing.assert_array_equal(check_target(np.array([[2], [0]]), 2, 3), [2, 0])
    assert check_target(np.array([1, 2]), 2, 3).dtype == np.intp
    with pytest.raises(ValueError, match="batch has 3 samples"):
        check_target(np.array([1, 2]), 3, 3)
    with pytest.raises(ValueError, match="sums to 2"):
        check_target(np.array([[1.0, 1.0, 0.0]]), 1, 3)
    with pytest.raises(ValueError, match="negative"):
        check_target(np.array([[1.5, -0.5, 0.0]]), 1, 3)
    # float32 rows of a softmax sum to 1 only up to rounding: accepted
    rng = np.random.default_rng(0)
    e = np.exp(rng.standard_normal((50, 10))).astype(np.float32)
    check_target(e / e.sum(axis=1, keepdims=True), 50, 10)


def test_predicted_labels_non_finite_rows_are_never_correct():
    scores = np.array([[0.1, 0.9, 0.0], [np.nan, np.nan, np.nan], [5.0, np.inf, 1.0], [0.0, 2.0, -np.inf],
                       [3.0, 1.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(predicted_labels(scores), [1, -1, -1, -1, 0])
    assert predicted_labels(scores).dtype == np.intp
    np.testing.assert_array_equal(predicted_labels(np.array([[1, 5], [7, 2]])), [1, 0])
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        predicted_labels(np.zeros(3))


@pytest.mark.parametrize("loss", ["cross_entropy_error", "softmax_loss", "SoftmaxWithLoss"])
def test_losses_agree_on_every_label_form_and_reject_bad_targets(loss):
    fn = {"cross_entropy_error": lambda x, t: cross_entropy_error(softmax(x), t), "softmax_loss": softmax_loss,
          "SoftmaxWithLoss": lambda x, t: SoftmaxWithLoss().forward(x, t)}[loss]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    labels = np.array([2, 0, 1, 1])
    expected = fn(x, labels)
    for t in (labels.reshape(4, 1), np.eye(3)[labels], labels.astype(np.float64), labels.astype(np.uint8)):
        assert fn(x, t) == pytest.approx(expected, rel=1e-12)
    for t, error in ((np.array([2, 0, 1, 3]), ValueError), (np.array([2, 0, 1, -1]), ValueError),
                     (np.array([2, 0, 1, np.nan]), ValueError), (-np.eye(3)[labels], ValueError),
                     (5 * np.eye(3)[labels], ValueError), (np.eye(4)[labels], ValueError),
                     (np.array([2, 0, 1]), ValueError), (np.array(["a"] * 4), TypeError)):
        with pytest.raises(error):
            fn(x, t)


def test_softmax_with_loss_soft_targets_and_backward_with_label_column():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3))
    soft = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    layer = SoftmaxWithLoss()
    assert layer.forward(x, soft) == pytest.approx(-np.sum(soft * log_softmax(x)) / 2, rel=1e-12)
    np.testing.assert_allclose(layer.backward(1.0), (softmax(x) - soft) / 2, rtol=1e-12)
    layer.forward(x, np.array([[2], [0]]))
    np.testing.assert_allclose(layer.backward(1.0), (softmax(x) - np.eye(3)[[2, 0]]) / 2, rtol=1e-12)


def test_empty_batches_rejected_with_clear_message():
    with pytest.raises(ValueError, match="empty batch"):
        softmax_loss(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="N >= 1"):
        SoftmaxWithLoss().forward(np.zeros((0, 3)), np.zeros(0, dtype=int))
