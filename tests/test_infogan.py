"""The DCGAN's InfoGAN option (``--codes K``): G's input carries a one-hot code, D's second head recovers it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gradcheck import assert_grads_close, numerical_grads

from ch08_deep import dcgan
from common import io
from common.gan_layers import SigmoidWithLoss, Tanh
from common.layers import SoftmaxWithLoss


def test_noise_is_z_followed_by_a_one_hot_code():
    gen = dcgan.Generator(z_dim=5, base=4, codes=3, rng=np.random.default_rng(0))
    x = gen.noise(np.random.default_rng(1), 400)
    assert x.shape == (400, 8) and x.dtype == np.float32 and gen.in_dim == 8
    np.testing.assert_array_equal(x[:, :5], np.random.default_rng(1).standard_normal((400, 5)).astype(np.float32))
    codes = x[:, 5:]
    assert set(np.unique(codes)) == {0.0, 1.0} and np.all(codes.sum(axis=1) == 1)
    assert np.all(np.bincount(codes.argmax(axis=1), minlength=3) > 100)  # every category drawn
    chosen = gen.noise(np.random.default_rng(2), 4, np.array([2, 0, 1, 2]))
    np.testing.assert_array_equal(chosen[:, 5:].argmax(axis=1), [2, 0, 1, 2])
    for bad in (np.array([0, 3]), np.array([-1, 0]), np.array([0.0, 1.0]), np.array([0, 1, 2])):
        with pytest.raises(ValueError, match="code must be 2 integers in"):
            gen.noise(np.random.default_rng(2), 2, bad)
    with pytest.raises(ValueError, match=r"\(N, 8\) \(z_dim 5 \+ codes 3\)"):
        gen.generate(np.zeros((2, 5)))
    # without codes the input is the same stream of normal numbers as before the option existed
    plain = dcgan.Generator(z_dim=5, base=4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(plain.noise(np.random.default_rng(1), 3),
                                  np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32))


@pytest.mark.parametrize("codes", [-1, 1])
def test_bad_code_counts_are_refused(codes):
    with pytest.raises(ValueError, match="codes"):
        dcgan.Generator(base=4, codes=codes)
    with pytest.raises(ValueError, match="codes"):
        dcgan.Discriminator(base=2, codes=codes)


def test_code_head_adds_nothing_to_d_when_it_gets_no_gradient():
    """Same seed with and without the head: same body weights, same logits, same body gradients; the head's own
    gradients are zero when backward gets no dq."""
    x = np.random.default_rng(3).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    plain = dcgan.Discriminator(base=2, rng=np.random.default_rng(4))
    coded = dcgan.Discriminator(base=2, rng=np.random.default_rng(4), codes=10)
    dout = np.random.default_rng(5).standard_normal((4, 1)).astype(np.float32)
    np.testing.assert_array_equal(coded.forward(x, train_flg=True), plain.forward(x, train_flg=True))
    assert coded.q.shape == (4, 10)
    dx_plain, g_plain = plain.backward(dout)
    dx_coded, g_coded = coded.backward(dout)
    np.testing.assert_array_equal(dx_coded, dx_plain)
    assert set(g_coded) == set(g_plain) | {"Wq", "bq"}
    for key, g in g_plain.items():
        np.testing.assert_array_equal(g_coded[key], g)
    assert not np.any(g_coded["Wq"]) and not np.any(g_coded["bq"])


def test_code_loss_gradients_match_numerical_ones():
    """The whole InfoGAN objective on a generated batch, adversarial + weight * code cross-entropy, in float64:
    gradients of G's parameters (through D's two heads) and of D's, including the code head."""
    rng = np.random.default_rng(6)
    gen = dcgan.Generator(z_dim=2, base=2, dtype=np.float64, rng=rng, codes=3)
    disc = dcgan.Discriminator(base=2, dtype=np.float64, rng=rng, codes=3)
    for net, names in ((gen, ("Relu1", "Relu2")), (disc, ("LeakyRelu1", "LeakyRelu2"))):
        for name in names:
            net.layers[name] = Tanh()  # no kinks within a finite-difference step (see test_ch08_beyond.py)
    for p in (*gen.params.values(), *disc.params.values()):
        p += 0.1 * rng.standard_normal(p.shape)
    z = gen.noise(rng, 4, np.array([0, 2, 1, 2]))
    code, target, weight = z[:, 2:], np.ones((4, 1)), 0.7
    loss, info = SigmoidWithLoss(), SoftmaxWithLoss()

    def f() -> float:
        logits = disc.forward(gen.forward(z, train_flg=True), train_flg=True)
        return float(loss.forward(logits, target) + weight * info.forward(disc.q, code))

    f()
    dimages, d_grads = disc.backward(loss.backward(), info.backward(weight))
    d_grads = {key: g.copy() for key, g in d_grads.items()}
    _, g_grads = gen.backward(dimages)
    assert_grads_close(g_grads, numerical_grads(f, gen.params))
    assert_grads_close(d_grads, numerical_grads(f, disc.params))


def _one_step(info_weight: float) -> tuple[dcgan.Generator, dcgan.Discriminator]:
    rng = np.random.default_rng(7)
    gen, disc = dcgan.Generator(base=4, rng=rng, codes=4), dcgan.Discriminator(base=2, rng=rng, codes=4)
    x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    dcgan.train(gen, disc, x, 1, 4, 2e-4, rng, gen.noise(rng, 2), info_weight=info_weight)
    return gen, disc


def test_the_code_loss_trains_both_networks_only_when_weighted():
    rng = np.random.default_rng(7)
    dcgan.Generator(base=4, rng=rng, codes=4)
    start = dcgan.Discriminator(base=2, rng=rng, codes=4)  # the initial weights of _one_step's D
    gen0, disc0 = _one_step(0.0)
    gen1, disc1 = _one_step(1.0)
    np.testing.assert_array_equal(disc0.params["Wq"], start.params["Wq"])  # zero gradient: Adam leaves it
    assert not np.array_equal(disc1.params["Wq"], start.params["Wq"])
    assert not np.array_equal(gen1.params["W1"], gen0.params["W1"])


def test_train_refuses_networks_with_different_codes():
    rng = np.random.default_rng(8)
    gen, disc = dcgan.Generator(base=4, rng=rng, codes=3), dcgan.Discriminator(base=2, rng=rng, codes=4)
    x = np.zeros((4, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="3 code categories, the discriminator 4"):
        dcgan.train(gen, disc, x, 1, 4, 2e-4, rng, gen.noise(rng, 2))


def test_a_generator_with_codes_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(9)
    gen = dcgan.Generator(z_dim=6, base=8, rng=rng, codes=5)
    gen.forward(gen.noise(rng, 4), train_flg=True)
    path = gen.save_params(tmp_path / "g.npz")
    assert io.load_params(path)["code_prior"].shape == (5,)
    copy = dcgan.Generator.from_file(path)
    assert (copy.z_dim, copy.codes, copy.base) == (6, 5, 8)
    z = gen.noise(rng, 3)
    np.testing.assert_array_equal(copy.generate(z), gen.generate(z))
    with pytest.raises(ValueError, match="code_prior"):  # a plain generator's file does not fit
        copy.load_params(dcgan.Generator(z_dim=11, base=8).save_params(tmp_path / "plain.npz"))


def test_quick_training_and_sampling_with_codes(fake_mnist, capsys, tmp_path):
    fake_mnist(dcgan)
    dcgan.main(["--quick", "--no-show", "--mode", "infogan", "--codes", "4", "--g-base", "8", "--d-base", "4"])
    out = capsys.readouterr().out
    assert "code loss" in out and out.strip().splitlines()[-1].startswith("dcgan score: confident ")
    assert dcgan.Generator.from_file(tmp_path / "dcgan_generator.npz").codes == 4
    dcgan.main(["--sample", "--quick", "--no-show", "--params", "dcgan_generator.npz"])
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("dcgan score: confident ")


@pytest.mark.parametrize("args, message", [(["--mode", "infogan", "--codes", "1"], "--codes must be at least 2"),
                                           (["--mode", "infogan", "--codes", "-2"], "--codes must be at least 2"),
                                           (["--codes", "4"], "--codes is for --mode infogan"),
                                           (["--mode", "dcgan", "--codes", "4"], "--codes is for --mode infogan"),
                                           (["--mode", "gan"], "--mode"), (["--info-weight", "-1"], "--info-weight"),
                                           (["--info-weight", "nan"], "--info-weight")])
def test_bad_code_options_are_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        dcgan.main(["--quick", *args])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_with_labels_the_code_head_also_learns_the_real_images_classes(monkeypatch):
    """AC-GAN: per step the code loss sees the real batch's labels, then the fake batch's codes (D, then G)."""
    seen = []
    original = dcgan.SoftmaxWithLoss.forward

    def spy(self, x, t):
        seen.append(t.argmax(axis=1).tolist())
        return original(self, x, t)

    monkeypatch.setattr(dcgan.SoftmaxWithLoss, "forward", spy)
    rng = np.random.default_rng(10)
    gen, disc = dcgan.Generator(base=4, rng=rng, codes=3), dcgan.Discriminator(base=2, rng=rng, codes=3)
    x = rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 2, 2])
    train_rng = np.random.default_rng(11)
    dcgan.train(gen, disc, x, 1, 4, 2e-4, train_rng, gen.noise(rng, 2), labels=labels)
    replay = np.random.default_rng(11)
    perm = replay.permutation(8)
    codes = gen.noise(replay, 4)[:, -3:].argmax(axis=1).tolist()
    assert seen[0] == labels[perm[:4]].tolist()
    assert seen[1] == seen[2] == codes  # D's fake step and G's step: the codes G drew with
    assert len(seen) == 6


@pytest.mark.parametrize("labels, codes", [(np.array([0, 1, 2, 3]), 3), (np.array([0, 1, -1, 2]), 3),
                                           (np.array([0, 1, 2]), 3), (np.array([0.0, 1, 2, 0]), 3),
                                           (np.array([0, 0, 0, 0]), 0)])
def test_train_refuses_labels_that_do_not_fit_the_codes(labels, codes):
    rng = np.random.default_rng(12)
    gen, disc = dcgan.Generator(base=4, rng=rng, codes=codes), dcgan.Discriminator(base=2, rng=rng, codes=codes)
    before = {key: p.copy() for key, p in gen.params.items()}
    with pytest.raises(ValueError, match="labels must be 4 integers"):
        dcgan.train(gen, disc, np.zeros((4, 1, 28, 28), np.float32), 1, 4, 2e-4, rng, gen.noise(rng, 2),
                    labels=labels)
    assert all(np.array_equal(p, before[key]) for key, p in gen.params.items())


@pytest.mark.parametrize("mode, codes", [("acgan", 10), ("infogan", 10), ("dcgan", 0)])
def test_each_mode_builds_its_networks(fake_mnist, monkeypatch, mode, codes):
    fake_mnist(dcgan)
    seen = {}

    def spy(gen, disc, x_train, *args, labels=None, **kwargs):
        seen.update(gen=gen.codes, disc=disc.codes, labels=labels, n=len(x_train))
        return {"d": [], "g": [], "info": []}

    monkeypatch.setattr(dcgan, "train", spy)
    dcgan.main(["--quick", "--no-show", "--mode", mode, "--g-base", "8", "--d-base", "4"])
    assert seen["gen"] == seen["disc"] == codes
    if mode == "acgan":
        assert seen["labels"].shape == (seen["n"],) and seen["labels"].dtype == np.int64
    else:
        assert seen["labels"] is None


def test_code_purity_counts_each_codes_most_frequent_digit():
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    digits = np.array([7, 7, 3, 1, 1, 4, 5, 4, 4])
    majority, purity = dcgan.code_purity(codes, digits, 4)
    np.testing.assert_array_equal(majority, [7, 1, 4, -1])
    assert purity == pytest.approx(7 / 9)


def test_sampling_a_coded_generator_reports_what_each_code_draws(tmp_path, capsys):
    path = dcgan.Generator(base=8, rng=np.random.default_rng(13), codes=10).save_params(tmp_path / "g.npz")
    dcgan.main(["--sample", "--quick", "--no-show", "--params", str(path), "--save", str(tmp_path / "s.png")])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"codes 0-9 draw digits( -?\d){10} \(purity (0|1)\.\d{3}\)", lines[1]), lines
    assert lines[-1].startswith("dcgan score: confident ")


def test_discriminator_backward_without_the_image_gradient():
    """D's own updates skip the images' gradient: None, and the same parameter gradients bit for bit."""
    rng = np.random.default_rng(14)
    disc = dcgan.Discriminator(base=2, rng=rng, codes=3)
    x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    dout, dq = rng.standard_normal((4, 1)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    disc.forward(x, train_flg=True)
    dx, full = disc.backward(dout, dq)
    full = {key: g.copy() for key, g in full.items()}
    none, grads = disc.backward(dout, dq, input_grad=False)
    assert dx.shape == x.shape and none is None
    for key, g in full.items():
        np.testing.assert_array_equal(grads[key], g)
    np.testing.assert_array_equal(disc.backward(dout, dq)[0], dx)  # the next call gets it back
