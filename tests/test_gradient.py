"""common.gradient: central differences, in-place perturbation, and gradient descent (chapter 4)."""

from __future__ import annotations

import numpy as np
import pytest

from common.gradient import gradient_descent, numerical_diff, numerical_gradient


def function_1(x):
    return 0.01 * x ** 2 + 0.1 * x


def function_2(x):
    return np.sum(x ** 2)


def test_numerical_diff_book_values():
    assert numerical_diff(function_1, 5) == pytest.approx(0.2, abs=1e-9)
    assert numerical_diff(function_1, 10) == pytest.approx(0.3, abs=1e-9)
    assert numerical_diff(np.sin, 0.3) == pytest.approx(np.cos(0.3), rel=1e-7)


def test_numerical_gradient_book_values():
    for point, expected in [([3.0, 4.0], [6.0, 8.0]), ([0.0, 2.0], [0.0, 4.0]), ([3.0, 0.0], [6.0, 0.0])]:
        np.testing.assert_allclose(numerical_gradient(function_2, np.array(point)), expected, atol=1e-7)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 3, 2)])
def test_numerical_gradient_any_shape(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    a = rng.standard_normal(shape)

    def f(v):
        return float(np.sum(a * v ** 3))

    g = numerical_gradient(f, x)
    assert g.shape == x.shape and g.dtype == x.dtype
    np.testing.assert_allclose(g, 3 * a * x ** 2, rtol=1e-6, atol=1e-7)


def test_numerical_gradient_restores_x_exactly():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    numerical_gradient(function_2, x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_perturbs_in_place_for_shared_parameters():
    """The book's networks pass an f that ignores its argument and reads the parameters it shares with x."""
    W = np.array([[0.5, -1.0], [2.0, 0.25]])
    x_in = np.array([1.0, 3.0])

    def loss(_):
        return float(np.sum((x_in @ W) ** 2))

    g = numerical_gradient(loss, W)
    np.testing.assert_allclose(g, 2 * np.outer(x_in, x_in @ W), rtol=1e-7)


def test_numerical_gradient_non_contiguous_view():
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    view = base[:, ::2]
    g = numerical_gradient(function_2, view)
    np.testing.assert_allclose(g, 2 * view, rtol=1e-7)
    np.testing.assert_array_equal(base, np.arange(12).reshape(3, 4))


@pytest.mark.parametrize("x", [np.array([1, 2]), np.array([True, False]), np.array([1, 2], dtype=np.uint8)])
def test_numerical_gradient_refuses_integer_arrays(x):
    with pytest.raises(TypeError, match="floating"):
        numerical_gradient(function_2, x)


def test_numerical_gradient_refuses_non_arrays():
    with pytest.raises(TypeError, match="list"):
        numerical_gradient(function_2, [1.0, 2.0])


def test_gradient_descent_on_quadratic():
    init_x = np.array([-3.0, 4.0])
    x = gradient_descent(function_2, init_x, lr=0.1, step_num=100)
    np.testing.assert_allclose(x, 0, atol=1e-8)  # the book reaches about 1e-10
    np.testing.assert_array_equal(init_x, [-3.0, 4.0])  # the caller's array is not touched


def test_gradient_descent_learning_rate_matters():
    too_small = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
    np.testing.assert_allclose(too_small, [-3.0, 4.0], rtol=1e-6)
    # the exact recursion x <- (1 - 2 lr) x with lr = 0.3 shrinks by 0.4 per step
    x = gradient_descent(function_2, np.array([1.0, -2.0]), lr=0.3, step_num=5)
    np.testing.assert_allclose(x, 0.4 ** 5 * np.array([1.0, -2.0]), rtol=1e-6)


def test_gradient_descent_accepts_integer_start():
    x = gradient_descent(function_2, np.array([-3, 4]), lr=0.1, step_num=100)
    assert np.issubdtype(x.dtype, np.floating)
    np.testing.assert_allclose(x, 0, atol=1e-8)


def test_numerical_gradient_refuses_read_only_and_complex_arrays():
    x = np.array([1.0, 2.0])
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        numerical_gradient(function_2, x)
    with pytest.raises(TypeError, match="complex"):
        numerical_gradient(function_2, np.array([1.0 + 0j]))


@pytest.mark.parametrize("h, error", [(0.0, ValueError), (-1e-4, ValueError), (float("nan"), ValueError),
                                      ("1e-4", TypeError)])
def test_numerical_gradient_refuses_bad_step(h, error):
    with pytest.raises(error, match="h"):
        numerical_gradient(function_2, np.array([1.0, 2.0]), h=h)


@pytest.mark.parametrize("lr, error", [(0.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                       (float("inf"), ValueError), ("0.1", TypeError)])
def test_gradient_descent_refuses_bad_learning_rates(lr, error):
    with pytest.raises(error, match="lr"):
        gradient_descent(function_2, np.array([-3.0, 4.0]), lr=lr)


@pytest.mark.parametrize("step_num", [-1, 2.5, float("nan"), "10", True])
def test_gradient_descent_refuses_bad_step_counts(step_num):
    with pytest.raises(ValueError, match="step_num"):
        gradient_descent(function_2, np.array([-3.0, 4.0]), step_num=step_num)


def test_gradient_descent_book_extremes_still_run():
    """ch04 gradient_method: lr = 10.0 diverges to huge values, lr = 1e-10 barely moves; both are accepted."""
    big = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert np.all(np.abs(big) > 1e10)
    assert gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=0).tolist() == [-3.0, 4.0]
