"""Chapter-6 scripts: every main() runs headless in --quick mode on synthetic MNIST and writes its figure."""

from __future__ import annotations

import numpy as np
import pytest

from ch06_techniques import (
    batch_norm_gradient_check,
    batch_norm_test,
    hyperparameter_optimization,
    optimizer_compare_mnist,
    optimizer_compare_naive,
    overfit_dropout,
    overfit_weight_decay,
    weight_init_activation_histogram,
    weight_init_compare,
)
from ch06_techniques.side_by_side import epoch_batches

QUICK = ["--quick", "--no-show"]


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The quick runs multiply small matrices, where a second BLAS thread only adds waiting; on a shared
    2-core machine it made this file 5-15x slower. Use one thread when threadpoolctl is available."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run(module, tmp_path, *extra):
    png = tmp_path / f"{module.__name__.rsplit('.', 1)[-1]}.png"
    result = module.main([*QUICK, "--save", str(png), *extra])
    assert png.is_file() and png.stat().st_size > 1000
    return result


def test_optimizer_compare_naive_all_and_one(tmp_path):
    paths = run(optimizer_compare_naive, tmp_path)
    assert set(paths) == {"SGD", "Momentum", "AdaGrad", "Adam", "RMSprop", "Nesterov"}
    for name, path in paths.items():
        assert path.shape == (31, 2)
        np.testing.assert_array_equal(path[0], [-7.0, 2.0])
        f0, f_end = optimizer_compare_naive.f(*path[0]), optimizer_compare_naive.f(*path[-1])
        assert f_end < 0.1 * f0, name  # every optimizer gets close to the minimum in 30 steps
    one = run(optimizer_compare_naive, tmp_path, "--optimizer", "ADAM")
    assert list(one) == ["Adam"]


def test_optimizer_compare_naive_sgd_first_step_matches_the_book():
    path = optimizer_compare_naive.optimizer_path("sgd", 0.95, steps=1)
    np.testing.assert_allclose(path[1], [-7 + 0.95 * 0.7, 2 - 0.95 * 4])


def test_optimizer_compare_mnist(fake_mnist, tmp_path, capsys):
    fake_mnist(optimizer_compare_mnist)
    losses = run(optimizer_compare_mnist, tmp_path, "--optimizers", "sgd", "adam", "rmsprop")
    assert list(losses) == ["SGD", "Adam", "RMSprop"]
    assert all(len(v) == 60 and np.all(np.isfinite(v)) for v in losses.values())
    assert np.mean(losses["Adam"][-10:]) < np.mean(losses["Adam"][:10])
    out = capsys.readouterr()
    assert "SGD:" in out.out + out.err and "mean loss over the last" in out.out


def test_weight_init_activation_histogram(tmp_path):
    outputs = run(weight_init_activation_histogram, tmp_path, "--init", "he", "--activation", "relu")
    assert len(outputs) == 5 and outputs[0].shape == (200, 100) and outputs[0].dtype == np.float32
    sig = run(weight_init_activation_histogram, tmp_path, "--init", "0.01", "--activation", "sigmoid")
    assert abs(float(sig[-1].mean()) - 0.5) < 0.01 and float(sig[-1].std()) < 0.05  # all units alike


def test_weight_init_compare(fake_mnist, tmp_path):
    fake_mnist(weight_init_compare)
    losses = run(weight_init_compare, tmp_path)
    assert list(losses) == ["std=0.01", "Xavier", "He"]
    # std 0.01: the signal dies out and the loss stays at ln(10)
    assert np.mean(losses["std=0.01"][-10:]) == pytest.approx(np.log(10), abs=0.02)


def test_batch_norm_test_single_and_grid(fake_mnist, tmp_path):
    fake_mnist(batch_norm_test)
    results = run(batch_norm_test, tmp_path)
    (result,) = results.values()
    assert len(result["bn"]) == len(result["plain"]) == 3  # epoch 0 + 2 quick epochs
    grid = run(batch_norm_test, tmp_path, "--grid")
    assert len(grid) == 4
    # W = 1 overflows float32 in the plain network: reported as diverged, not a crash
    assert grid[1.0]["plain_diverged"] and np.isnan(grid[1.0]["plain_test"])
    assert grid[1.0]["bn_diverged"] is None and len(grid[1.0]["bn"]) == 3


def test_batch_norm_weight_scale_parsing():
    assert batch_norm_test.parse_weight_scale("He") == "he"
    assert batch_norm_test.parse_weight_scale("0.1") == 0.1
    with pytest.raises(ValueError):
        batch_norm_test.parse_weight_scale("-1")


def test_batch_norm_gradient_check_passes(fake_mnist, capsys):
    fake_mnist(batch_norm_gradient_check)
    diffs = batch_norm_gradient_check.main(["--quick"])
    assert {"W1", "b1", "gamma1", "beta1", "gamma2", "beta2", "W3", "b3"} <= set(diffs)
    assert max(diffs.values()) < 1e-7
    assert "gradient check passed" in capsys.readouterr().out


def test_batch_norm_gradient_check_fails_loudly(fake_mnist):
    fake_mnist(batch_norm_gradient_check)
    with pytest.raises(SystemExit, match="FAILED"):
        batch_norm_gradient_check.main(["--quick", "--tol", "0"])


def test_overfit_weight_decay(fake_mnist, tmp_path, capsys):
    fake_mnist(overfit_weight_decay)
    trainer = run(overfit_weight_decay, tmp_path)
    assert len(trainer.train_acc_list) == 3 and trainer.network.weight_decay_lambda == 0.1
    plain = run(overfit_weight_decay, tmp_path, "--weight-decay", "0")
    assert plain.network.weight_decay_lambda == 0
    assert "=== epoch:3, train acc:" in capsys.readouterr().out


def test_overfit_dropout(fake_mnist, tmp_path):
    fake_mnist(overfit_dropout)
    trainer = run(overfit_dropout, tmp_path)
    assert "Dropout1" in trainer.network.layers and len(trainer.test_acc_list) == 3
    plain = run(overfit_dropout, tmp_path, "--dropout-ratio", "0")
    assert "Dropout1" not in plain.network.layers


def test_hyperparameter_optimization_never_uses_test_set(fake_mnist, tmp_path, monkeypatch):
    loader = fake_mnist(hyperparameter_optimization)
    seen = []

    def poisoned(**kwargs):
        (x_train, t_train), (x_test, t_test) = loader(**kwargs)
        x_test = np.full_like(x_test, np.nan)  # any use of the test set would show up as NaN
        seen.append(True)
        return (x_train, t_train), (x_test, t_test)

    monkeypatch.setattr(hyperparameter_optimization, "load_mnist", poisoned)
    trials = run(hyperparameter_optimization, tmp_path)
    assert seen and len(trials) == 4
    val_acc = [tr["val_acc"][-1] for tr in trials]
    assert val_acc == sorted(val_acc, reverse=True)
    for tr in trials:
        assert 1e-6 <= tr["lr"] <= 1e-2 and 1e-8 <= tr["weight_decay"] <= 1e-4
        assert len(tr["val_acc"]) == len(tr["train_acc"]) == 2


def test_validation_split_is_disjoint_and_shuffled():
    x = np.arange(50, dtype=np.float32).reshape(50, 1)
    t = np.arange(50)
    (xt, tt), (xv, tv) = hyperparameter_optimization.split_validation(x, t, 0.2, np.random.default_rng(0))
    assert len(xv) == 10 and len(xt) == 40
    assert sorted(np.concatenate([tt, tv]).tolist()) == list(range(50))
    np.testing.assert_array_equal(xv[:, 0], tv)
    assert not np.array_equal(tv, np.arange(10))


def test_epoch_batches_cover_each_epoch():
    gen = epoch_batches(10, 4, np.random.default_rng(0))
    first = [next(gen) for _ in range(3)]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))


def test_scripts_are_reproducible(fake_mnist, tmp_path):
    fake_mnist(optimizer_compare_mnist)
    a = run(optimizer_compare_mnist, tmp_path, "--seed", "3", "--optimizers", "momentum")
    b = run(optimizer_compare_mnist, tmp_path, "--seed", "3", "--optimizers", "momentum")
    assert a == b
