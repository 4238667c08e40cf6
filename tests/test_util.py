"""common.util: im2col/col2im (layout, adjointness, the book's shapes), conv_output_size and the small helpers."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from common.util import col2im, conv_output_size, im2col, shuffle_dataset, smooth_curve

GEOMETRY = list(itertools.product([1, 2], [0, 1, 2], [(3, 2), (2, 3), (1, 1), (4, 4)], [(5, 6), (7, 4)]))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(99)


def im2col_loop(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """The im2col matrix built element by element: row (n, oh, ow), column (c, fh, fw), both row-major."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    col = np.zeros((n * oh * ow, c * fh * fw), dtype=x.dtype)
    for s, i, j, ch, p, q in itertools.product(range(n), range(oh), range(ow), range(c), range(fh), range(fw)):
        r, k = i * stride + p - pad, j * stride + q - pad  # position in the unpadded input
        if 0 <= r < h and 0 <= k < w:
            col[(s * oh + i) * ow + j, (ch * fh + p) * fw + q] = x[s, ch, r, k]
    return col


@pytest.mark.parametrize("stride, pad, kernel, size", GEOMETRY)
def test_im2col_layout_matches_loop(rng, stride, pad, kernel, size):
    x = rng.standard_normal((2, 3) + size)
    np.testing.assert_array_equal(im2col(x, *kernel, stride=stride, pad=pad), im2col_loop(x, *kernel, stride, pad))


@pytest.mark.parametrize("stride, pad, kernel, size", GEOMETRY)
def test_im2col_col2im_adjoint(rng, stride, pad, kernel, size):
    """<im2col(x), y> == <x, col2im(y)> for random x, y."""
    x = rng.standard_normal((2, 3) + size)
    col = im2col(x, *kernel, stride=stride, pad=pad)
    y = rng.standard_normal(col.shape)
    lhs = np.sum(col * y)
    rhs = np.sum(x * col2im(y, x.shape, *kernel, stride=stride, pad=pad))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_col2im_sums_overlaps():
    """col2im of an all-ones matrix counts how many windows cover each pixel."""
    x_shape = (1, 1, 4, 4)
    ones = np.ones((conv_output_size(4, 3) ** 2, 9))
    counts = col2im(ones, x_shape, 3, 3, stride=1, pad=0)[0, 0]
    expected = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_col2im_keep_dtype(rng, dtype):
    x = rng.standard_normal((2, 3, 5, 5)).astype(dtype)
    col = im2col(x, 3, 3, stride=2, pad=1)
    assert col.dtype == dtype
    assert col2im(col, x.shape, 3, 3, stride=2, pad=1).dtype == dtype


def test_im2col_book_shapes(rng):
    assert im2col(rng.random((1, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (9, 75)
    assert im2col(rng.random((10, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (90, 75)


def test_im2col_rows_line_up_with_flattened_filters(rng):
    """im2col(x) @ W.reshape(FN, -1).T is the convolution (checked at one output position by hand)."""
    x = rng.standard_normal((2, 3, 6, 5))
    W = rng.standard_normal((4, 3, 3, 2))
    out = (im2col(x, 3, 2, stride=1, pad=0) @ W.reshape(4, -1).T).reshape(2, 4, 4, 4)  # (N, OH, OW, FN)
    n, i, j, f = 1, 2, 3, 2
    assert out[n, i, j, f] == pytest.approx(np.sum(x[n, :, i:i + 3, j:j + 2] * W[f]))


def test_im2col_rejects_wrong_ndim(rng):
    with pytest.raises(ValueError, match=re.escape("(3, 7, 7)")):
        im2col(rng.random((3, 7, 7)), 3, 3)


def test_col2im_rejects_wrong_col_shape(rng):
    with pytest.raises(ValueError, match=re.escape("(9, 74)")):
        col2im(rng.random((9, 74)), (1, 3, 7, 7), 5, 5)


def test_conv_output_size_is_int():
    for args, expected in [((28, 5), 24), ((7, 3, 2, 1), 4), ((6, 3, 2, 0), 2), ((28, 2, 2), 14), ((5, 1), 5)]:
        out = conv_output_size(*args)
        assert out == expected and type(out) is int


@pytest.mark.parametrize("args", [(4, 5), (2, 7, 1, 2), (3, 3, 0), (3, 3, 1, -1), (3, 0)])
def test_conv_output_size_raises_when_filter_does_not_fit(args):
    with pytest.raises(ValueError):
        conv_output_size(*args)


def test_smooth_curve_keeps_length_and_constants():
    for n in (1, 2, 3, 10, 50):
        assert smooth_curve(np.arange(n, dtype=float)).shape == (n,)
    np.testing.assert_allclose(smooth_curve(np.full(30, 2.5)), 2.5)
    rng = np.random.default_rng(0)
    noisy = np.linspace(3, 0, 200) + rng.normal(0, 0.3, 200)
    assert np.std(np.diff(smooth_curve(noisy))) < np.std(np.diff(noisy)) / 3


def test_shuffle_dataset_same_permutation():
    x = np.arange(20).reshape(10, 2)
    t = np.arange(10)
    xs, ts = shuffle_dataset(x, t, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(xs[:, 0] // 2, ts)
    assert sorted(ts) == list(range(10)) and not np.array_equal(ts, t)
    with pytest.raises(ValueError):
        shuffle_dataset(x, t[:5])
