"""Chapter 8 beyond the book: the DCGAN (ch08_deep/dcgan.py) and transfer learning (ch08_deep/transfer_learning.py),
in quick mode on synthetic data, headless, run in a temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_mnist
from gradcheck import assert_grads_close, numerical_grads

from ch08_deep import dcgan, transfer_learning
from ch08_deep.deep_convnet import SHIPPED_PARAMS
from common import io
from common.gan_layers import SigmoidWithLoss, Tanh

PACKAGE = Path(dcgan.__file__).resolve().parent.parent
SCORE_LINE = re.compile(r"^dcgan score: confident (\d\.\d{3}), entropy (\d\.\d{3})$")


def _package_files() -> dict[str, tuple[int, int]]:
    """Every file of the chapter folders and common/ (no caches), with its size and modification time."""
    found = {}
    for folder in ("ch08_deep", "common", "ch07_cnn"):
        for path in (PACKAGE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_dcgan_quick_training_writes_only_to_the_current_directory(fake_mnist, capsys, tmp_path):
    fake_mnist(dcgan)
    before = _package_files()
    confident, entropy = dcgan.main(["--quick", "--no-show", "--seed", "1"])
    out = capsys.readouterr().out
    match = SCORE_LINE.match(out.strip().splitlines()[-1])
    assert match, out
    assert float(match.group(1)) == pytest.approx(confident, abs=5e-4)
    assert float(match.group(2)) == pytest.approx(entropy, abs=5e-4)
    assert 0 <= confident <= 1 and 0 <= entropy <= np.log(10) + 1e-9
    assert (tmp_path / "dcgan_generator.npz").is_file()
    assert (tmp_path / "figures" / "dcgan.png").is_file()
    assert (tmp_path / "figures" / "dcgan_epoch01.png").is_file()
    assert _package_files() == before
    # the trained generator draws with --sample --params
    dcgan.main(["--sample", "--quick", "--no-show", "--params", str(tmp_path / "dcgan_generator.npz"),
                "--save", str(tmp_path / "drawn.png")])
    assert SCORE_LINE.match(_last_line(capsys))
    assert (tmp_path / "drawn.png").is_file()


def test_dcgan_same_seed_same_numbers(fake_mnist, capsys):
    fake_mnist(dcgan)
    small = ["--quick", "--no-show", "--seed", "3", "--g-base", "8", "--d-base", "4"]
    first = dcgan.main([*small, "--out", "a.npz"])
    second = dcgan.main([*small, "--out", "b.npz"])
    assert first == second
    a, b = io.load_params("a.npz"), io.load_params("b.npz")
    assert all(np.array_equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("out,message", [("weights.pkl", "must end in .npz"), ("no/such/folder/g.npz", "does not exist")])
def test_dcgan_checks_the_output_before_training(fake_mnist, monkeypatch, out, message):
    def no_data(**_):
        raise AssertionError("the data was loaded before the output path was checked")

    fake_mnist(dcgan)
    monkeypatch.setattr(dcgan, "load_mnist", no_data)
    with pytest.raises(SystemExit, match=message):
        dcgan.main(["--quick", "--no-show", "--out", out])


def test_dcgan_sample_with_the_shipped_generator(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert dcgan.SHIPPED_GENERATOR.is_file() and dcgan.SHIPPED_GENERATOR.stat().st_size < 2_000_000
    before = _package_files()
    dcgan.main(["--sample", "--quick", "--no-show"])
    assert SCORE_LINE.match(_last_line(capsys))
    assert (tmp_path / "figures" / "dcgan_samples.png").is_file()
    assert _package_files() == before


def test_the_shipped_generator_draws_digits_of_every_class():
    """A regression guard on the shipped file: 300 samples, most classified confidently, every digit present
    (the README quotes its scores on 1,000 samples with --sample)."""
    from ch08_deep.deep_convnet import DeepConvNet

    classifier = DeepConvNet()
    classifier.load_params(SHIPPED_PARAMS)
    gen = dcgan.Generator.from_file(dcgan.SHIPPED_GENERATOR)
    images = gen.generate(gen.noise(np.random.default_rng(5), 300))
    confident, entropy = dcgan.score_images((images + 1) / 2, classifier)
    assert confident >= 0.9 and entropy >= 2.2


def test_average_into_is_an_exponential_moving_average():
    avg, gen = dcgan.Generator(base=4, rng=np.random.default_rng(0)), dcgan.Generator(base=4, rng=np.random.default_rng(1))
    before = {key: a.copy() for key, a in avg.params.items()}
    dcgan.average_into(avg, gen, 0.75)
    for key, a in avg.params.items():
        np.testing.assert_allclose(a, 0.75 * before[key] + 0.25 * gen.params[key], rtol=1e-6, atol=1e-7)
        assert a is not gen.params[key]


def test_refresh_statistics_fits_the_running_statistics_to_the_weights():
    gen = dcgan.Generator(base=8, rng=np.random.default_rng(0))
    z = np.random.default_rng(1).standard_normal((500, gen.z_dim)).astype(np.float32)
    train_mode = gen.forward(z, train_flg=True)
    for key, a in gen.running.items():
        a[...] = 5.0 if "mean" in key else 100.0
    scale = np.mean(np.abs(train_mode))
    assert np.mean(np.abs(gen.generate(z) - train_mode)) > 0.5 * scale
    dcgan.refresh_statistics(gen, np.random.default_rng(2))
    assert np.mean(np.abs(gen.generate(z) - train_mode)) < 0.05 * scale
    assert all(bn.momentum == 0.9 for name, bn in gen.layers.items() if name.startswith("BatchNorm"))


def test_dcgan_ema_saves_the_averaged_generator(fake_mnist, capsys):
    fake_mnist(dcgan)
    small = ["--quick", "--no-show", "--seed", "3", "--g-base", "8", "--d-base", "4"]
    dcgan.main([*small, "--ema", "0", "--out", "plain.npz"])
    dcgan.main([*small, "--ema", "0.5", "--out", "averaged.npz"])
    assert SCORE_LINE.match(_last_line(capsys))
    plain, averaged = io.load_params("plain.npz"), io.load_params("averaged.npz")
    assert plain.keys() == averaged.keys()
    assert not np.array_equal(plain["W1"], averaged["W1"])


@pytest.mark.parametrize("option, value", [("--ema", "1"), ("--ema", "-0.1"), ("--ema", "nan"), ("--ema", "1.5"),
                                           ("--real-target", "0.5"), ("--real-target", "1.1"),
                                           ("--real-target", "nan")])
def test_dcgan_refuses_bad_training_options(option, value, capsys):
    with pytest.raises(SystemExit) as info:
        dcgan.main(["--quick", option, value])
    assert info.value.code == 2 and option in capsys.readouterr().err


def test_label_smoothing_changes_only_the_discriminators_real_target(monkeypatch):
    seen = []
    original = dcgan.SigmoidWithLoss.forward

    def spy(self, x, t):
        seen.append((round(float(t.min()), 6), round(float(t.max()), 6)))
        return original(self, x, t)

    monkeypatch.setattr(dcgan.SigmoidWithLoss, "forward", spy)
    rng = np.random.default_rng(0)
    gen, disc = dcgan.Generator(base=4, rng=rng), dcgan.Discriminator(base=2, rng=rng)
    x = rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32)
    fixed_z = rng.standard_normal((2, gen.z_dim)).astype(np.float32)
    dcgan.train(gen, disc, x, 1, 4, 2e-4, rng, fixed_z, real_target=0.9)
    assert seen == [(0.9, 0.9), (0.0, 0.0), (1.0, 1.0)] * 2  # per step: D real, D fake, G's target stays 1


def test_generator_and_discriminator_shapes():
    rng = np.random.default_rng(0)
    gen, disc = dcgan.Generator(rng=rng), dcgan.Discriminator(rng=rng)
    images = gen.forward(rng.standard_normal((5, dcgan.Z_DIM)).astype(np.float32), train_flg=True)
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.float32
    assert np.all(np.abs(images) <= 1)
    logits = disc.forward(images)
    assert logits.shape == (5, 1) and logits.dtype == np.float32
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        gen.generate(np.zeros((2, 10)))


def test_adversarial_gradients_match_numerical_ones():
    """Backpropagation through D into G (the generator's step) and D's own gradients, in float64.

    The (leaky) ReLUs are swapped for tanh: with batch normalisation in between, some unit always sits within a
    finite-difference step of a kink. The layers themselves are checked in test_gan_layers.py and test_layers.py;
    this checks the wiring (parameter names, gradients, the order of the layers)."""
    rng = np.random.default_rng(1)
    gen = dcgan.Generator(z_dim=2, base=2, dtype=np.float64, rng=rng)
    disc = dcgan.Discriminator(base=2, dtype=np.float64, rng=rng)
    for net, names in ((gen, ("Relu1", "Relu2")), (disc, ("LeakyRelu1", "LeakyRelu2"))):
        for name in names:
            net.layers[name] = Tanh()
    for p in (*gen.params.values(), *disc.params.values()):
        p += 0.1 * rng.standard_normal(p.shape)  # away from the tiny initial weights, so every path matters
    z = rng.standard_normal((3, 2))
    target = np.ones((3, 1))
    loss = SigmoidWithLoss()

    def f() -> float:
        return float(loss.forward(disc.forward(gen.forward(z, train_flg=True), train_flg=True), target))

    f()
    dimages, d_grads = disc.backward(loss.backward())
    d_grads = {key: g.copy() for key, g in d_grads.items()}
    _, g_grads = gen.backward(dimages)
    assert_grads_close(g_grads, numerical_grads(f, gen.params))
    assert_grads_close(d_grads, numerical_grads(f, disc.params))


def test_generator_files_round_trip_and_bad_files_change_nothing(tmp_path):
    rng = np.random.default_rng(2)
    gen = dcgan.Generator(base=8, rng=rng)
    gen.forward(rng.standard_normal((4, dcgan.Z_DIM)).astype(np.float32), train_flg=True)  # running statistics
    path = gen.save_params(tmp_path / "g.npz")
    copy = dcgan.Generator.from_file(path)
    assert copy.base == 8
    z = rng.standard_normal((3, dcgan.Z_DIM))
    np.testing.assert_array_equal(copy.generate(z), gen.generate(z))
    half = gen.save_params(tmp_path / "g16.npz", dtype=np.float16)
    assert io.load_params(half)["W1"].dtype == np.float16
    np.testing.assert_allclose(dcgan.Generator.from_file(half).generate(z), gen.generate(z), atol=0.02)

    state = {key: a.copy() for key, a in copy.state_arrays().items()}
    arrays = io.load_params(path)
    arrays["W3"] = np.full_like(arrays["W3"], np.nan)
    io.save_params(arrays, tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="W3"):
        copy.load_params(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="W1 has shape"):
        copy.load_params(dcgan.Generator(base=4).save_params(tmp_path / "small.npz"))
    with pytest.raises(ValueError, match="not a generator"):
        copy.load_params(SHIPPED_PARAMS)
    assert all(np.array_equal(a, state[key]) for key, a in copy.state_arrays().items())


class _FixedClassifier:
    def __init__(self, labels: np.ndarray, margin: float) -> None:
        self.labels, self.margin, self.seen = labels, margin, 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        labels = self.labels[self.seen:self.seen + len(x)]
        self.seen += len(x)
        return np.eye(10)[labels] * self.margin


def test_score_images_counts_confident_samples_and_class_entropy():
    images = np.zeros((250, 1, 28, 28), dtype=np.float32)
    uniform = np.arange(250) % 10
    confident, entropy = dcgan.score_images(images, _FixedClassifier(uniform, 10.0))
    assert confident == 1.0 and entropy == pytest.approx(np.log(10))
    # margin 2: top probability e^2 / (e^2 + 9) = 0.45 < 0.9; one class only: entropy 0
    confident, entropy = dcgan.score_images(images, _FixedClassifier(np.zeros(250, int), 2.0))
    assert confident == 0.0 and entropy == 0.0


def _fake_fashion(normalize=True, flatten=True, one_hot_label=False):
    return synthetic_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label, seed=5)


def test_transfer_learning_quick(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(transfer_learning, "load_fashion_mnist", _fake_fashion)
    before = _package_files()
    results = transfer_learning.main(["--quick", "--no-show"])
    assert set(results) == set(transfer_learning.MODES)
    for accuracies in results.values():
        assert sorted(accuracies) == [10, 40]
        assert all(0 <= a <= 1 for a in accuracies.values())
    out = capsys.readouterr().out
    assert "| N | frozen | finetune | scratch |" in out
    assert (tmp_path / "figures" / "transfer_learning.png").is_file()
    assert _package_files() == before


def test_frozen_mode_updates_only_the_head():
    (x, t), _ = synthetic_mnist(flatten=False, n_train=40, n_test=10)
    shipped = io.load_params(SHIPPED_PARAMS)
    nets = {mode: transfer_learning.make_network(mode, seed=4) for mode in transfer_learning.MODES}
    for key in transfer_learning.HEAD_PARAMS:  # one fresh head, the same in every mode
        assert np.array_equal(nets["frozen"].params[key], nets["scratch"].params[key])
        assert not np.array_equal(nets["frozen"].params[key], shipped[key])
    assert np.array_equal(nets["finetune"].params["W1"], shipped["W1"])
    assert not np.array_equal(nets["scratch"].params["W1"], shipped["W1"])

    start = {mode: {k: p.copy() for k, p in net.params.items()} for mode, net in nets.items()}
    for mode, net in nets.items():
        transfer_learning.fine_tune(net, mode, x, t, steps=2, batch_size=16, lr=1e-3, seed=0)
    for key, value in nets["frozen"].params.items():
        changed = not np.array_equal(value, start["frozen"][key])
        assert changed == (key in transfer_learning.HEAD_PARAMS), key
    assert not np.array_equal(nets["finetune"].params["W1"], start["finetune"]["W1"])
    with pytest.raises(ValueError, match="mode"):
        transfer_learning.make_network("linear-probe", seed=0)
