"""common.weight_init: the std rules of chapter 6 and init_weight's dtype and fan_in defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.weight_init import init_std, init_weight


@pytest.mark.parametrize("name", ["he", "relu", "He", "ReLU", "RELU"])
def test_he_std(name):
    assert init_std(name, 50) == pytest.approx(math.sqrt(2 / 50), rel=1e-15)


@pytest.mark.parametrize("name", ["xavier", "sigmoid", "Xavier", "SIGMOID"])
def test_xavier_std(name):
    assert init_std(name, 100) == pytest.approx(0.1, rel=1e-15)


@pytest.mark.parametrize("value", [0.01, 1, np.float32(0.5)])
def test_numeric_std_used_as_is(value):
    out = init_std(value, 784)
    assert out == pytest.approx(float(value)) and type(out) is float


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="tanh"):
        init_std("tanh", 10)


def test_init_weight_dense_defaults():
    np.random.seed(3)
    w = init_weight((500, 20))  # he, fan_in = shape[0]
    np.random.seed(3)
    expected = (math.sqrt(2 / 500) * np.random.randn(500, 20)).astype(np.float32)
    assert w.dtype == np.float32 and w.shape == (500, 20)
    np.testing.assert_array_equal(w, expected)


def test_init_weight_conv_fan_in_is_c_fh_fw():
    np.random.seed(4)
    w = init_weight((16, 3, 3, 3), "xavier")
    np.random.seed(4)
    expected = (math.sqrt(1 / 27) * np.random.randn(16, 3, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(w, expected)


def test_init_weight_explicit_fan_in_and_dtype():
    np.random.seed(5)
    w = init_weight((10, 4), "he", fan_in=8, dtype=np.float64)
    np.random.seed(5)
    assert w.dtype == np.float64
    np.testing.assert_array_equal(w, 0.5 * np.random.randn(10, 4))


def test_init_weight_numeric_std_statistics():
    np.random.seed(6)
    w = init_weight((400, 300), 0.01)
    assert w.std() == pytest.approx(0.01, rel=0.02)
    assert abs(w.mean()) < 1e-3
