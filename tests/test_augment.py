"""Data augmentation: shapes, dtypes, value range, sample order, seeding and the geometry of each transform."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_mnist

from ch07_cnn.simple_convnet import SimpleConvNet
from common.augment import Augmenter, random_affine, random_jitter, random_shift
from common.trainer import Trainer


class FixedRng:
    """Stands in for a Generator: ``uniform`` returns its upper bound, ``integers`` a fixed value."""

    def __init__(self, integer: int = 0) -> None:
        self.integer = integer

    def uniform(self, low, high, size=None):
        return np.full(size, high, dtype=np.float64)

    def integers(self, low, high, size=None):
        return np.full(size, self.integer, dtype=np.int64)


@pytest.fixture
def images() -> np.ndarray:
    (x, _), _ = synthetic_mnist(flatten=False, n_train=16, n_test=1)
    return x


def test_augmenter_keeps_shape_dtype_range_and_input(images):
    original = images.copy()
    out = Augmenter()(images, np.random.default_rng(0))
    assert out.shape == images.shape == (16, 1, 28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out, images)
    np.testing.assert_array_equal(images, original)


def test_same_seed_same_batch_other_seed_other_batch(images):
    aug = Augmenter()
    a = aug(images, np.random.default_rng(42))
    b = aug(images, np.random.default_rng(42))
    c = aug(images, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_each_output_depends_only_on_its_own_input(images):
    """Labels stay aligned: changing input j (same seed) changes output j and no other."""
    aug = Augmenter()
    base = aug(images, np.random.default_rng(0))
    for j in (0, 7, 15):
        changed = images.copy()
        changed[j] = 1 - changed[j]
        out = aug(changed, np.random.default_rng(0))
        differs = np.any(out != base, axis=(1, 2, 3))
        np.testing.assert_array_equal(np.flatnonzero(differs), [j])


def test_all_off_is_an_exact_copy(images):
    out = Augmenter(max_shift=0, max_rotation=0, scale_range=(1, 1), brightness=0, contrast=0)(
        images, np.random.default_rng(0))
    np.testing.assert_array_equal(out, images)
    assert out is not images


def test_shift_is_an_integer_translation_with_zero_fill(images):
    rng = np.random.default_rng(3)
    out = random_shift(images, rng, max_shift=2)
    padded = np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(len(images)):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if np.array_equal(out[i], padded[i, :, dy:dy + 28, dx:dx + 28])]
        assert matches, f"sample {i} is not a shift of its input"
    assert out.dtype == images.dtype


def test_shift_by_fixed_offset():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) / 16
    out = random_shift(x, FixedRng(integer=0), max_shift=1)  # crop offset 0: moved down-right by 1
    expected = np.zeros_like(x)
    expected[..., 1:, 1:] = x[..., :-1, :-1]
    np.testing.assert_array_equal(out, expected)


def test_affine_identity_and_exact_quarter_turn():
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(random_affine(x, rng, max_rotation=0, scale_range=(1, 1)), x)
    turned = random_affine(x, FixedRng(), max_rotation=90, scale_range=(1, 1))  # +90 degrees for every sample
    candidates = [np.rot90(x, k, axes=(2, 3)) for k in (1, 3)]
    assert any(np.allclose(turned, c, atol=1e-5) for c in candidates)


def test_affine_zoom_out_fills_with_zeros_and_zoom_in_keeps_the_centre():
    x = np.ones((1, 1, 9, 9), dtype=np.float32)
    small = random_affine(x, FixedRng(), max_rotation=0, scale_range=(0.5, 0.5))
    assert small[0, 0, 4, 4] == 1 and small[0, 0, 0, 0] == 0 and small[0, 0, 8, 8] == 0
    big = random_affine(x, FixedRng(), max_rotation=0, scale_range=(2, 2))
    np.testing.assert_allclose(big, 1)


def test_jitter_range_and_background():
    x = np.zeros((4, 1, 5, 5), dtype=np.float32)
    x[:, :, 2, 2] = 1
    out = random_jitter(x, np.random.default_rng(0), brightness=0.0, contrast=0.3)
    assert np.all(out[:, :, 0, 0] == 0)  # a gain keeps the black background black
    assert out.max() <= 1 and out.min() >= 0 and out.dtype == np.float32


def test_bad_input_and_parameters():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        Augmenter()(np.zeros((2, 784), dtype=np.float32), rng)
    with pytest.raises(TypeError, match="float"):
        Augmenter()(np.zeros((2, 1, 28, 28), dtype=np.uint8), rng)
    for kwargs in ({"max_shift": -1}, {"max_rotation": -1}, {"scale_range": (1.2, 0.8)}, {"contrast": 1.5},
                   {"brightness": -0.1}):
        with pytest.raises(ValueError):
            Augmenter(**kwargs)


def test_trainer_trains_with_augmentation():
    (x_train, t_train), (x_test, t_test) = synthetic_mnist(flatten=False, n_train=200, n_test=50)
    np.random.seed(0)
    net = SimpleConvNet(conv_param={"filter_num": 4}, hidden_size=10)
    seen = []

    def augment(x, rng):
        seen.append(x.shape)
        return Augmenter()(x, rng)

    trainer = Trainer(net, x_train, t_train, x_test, t_test, epochs=1, mini_batch_size=50, optimizer="adam",
                      optimizer_param={"lr": 0.01}, verbose=False, seed=0, augment=augment)
    trainer.train()
    assert seen == [(50, 1, 28, 28)] * 4
    assert len(trainer.train_loss_list) == 4 and all(np.isfinite(trainer.train_loss_list))
