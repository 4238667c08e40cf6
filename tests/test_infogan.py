"""The DCGAN's InfoGAN option (``--codes K``): G's input carries a one-hot code, D's second head recovers it."""

from __future__ import annotations

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
    dcgan.main(["--quick", "--no-show", "--codes", "4", "--g-base", "8", "--d-base", "4"])
    out = capsys.readouterr().out
    assert "code loss" in out and out.strip().splitlines()[-1].startswith("dcgan score: confident ")
    assert dcgan.Generator.from_file(tmp_path / "dcgan_generator.npz").codes == 4
    dcgan.main(["--sample", "--quick", "--no-show", "--params", "dcgan_generator.npz"])
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("dcgan score: confident ")


@pytest.mark.parametrize("option, value", [("--codes", "1"), ("--codes", "-2"), ("--info-weight", "-1"),
                                           ("--info-weight", "nan")])
def test_bad_code_options_are_usage_errors(option, value, capsys):
    with pytest.raises(SystemExit) as info:
        dcgan.main(["--quick", option, value])
    assert info.value.code == 2 and option in capsys.readouterr().err
