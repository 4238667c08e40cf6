"""Chapter 4 scripts: numerical derivatives and gradients, the sigmoid TwoLayerNet and its training script."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_grads_close
from PIL import Image

from ch04_learning import (
    gradient_1d,
    gradient_2d,
    gradient_method,
    gradient_simplenet,
    train_neuralnet,
    two_layer_net,
)
from ch04_learning.two_layer_net import TwoLayerNet
from common.functions import softmax


def figure_args(path) -> list[str]:
    return ["--quick", "--no-show", "--save", str(path)]


def assert_png(path) -> None:
    with Image.open(path) as img:
        assert img.format == "PNG"


def test_gradient_1d_derivatives_and_tangents(tmp_path, capsys):
    out = tmp_path / "g1.png"
    d5, d10 = gradient_1d.main(figure_args(out))
    assert d5 == pytest.approx(0.2, abs=1e-9)
    assert d10 == pytest.approx(0.3, abs=1e-9)
    assert capsys.readouterr().out.splitlines()[:2] == [str(d5), str(d10)]
    assert_png(out)
    tangent = gradient_1d.tangent_line(gradient_1d.function_1, 5.0)
    assert tangent(5.0) == pytest.approx(gradient_1d.function_1(5.0))
    assert tangent(6.0) - tangent(5.0) == pytest.approx(0.2, abs=1e-9)


def test_gradient_2d_field_is_twice_the_points(tmp_path):
    out = tmp_path / "g2.png"
    grad = gradient_2d.main(figure_args(out))
    assert_png(out)
    x0 = np.arange(-2, 2.5, 0.25)
    X, Y = np.meshgrid(x0, x0)
    points = np.stack([X.ravel(), Y.ravel()], axis=1)
    assert grad.shape == points.shape == (324, 2)
    np.testing.assert_allclose(grad, 2 * points, atol=1e-7)


def test_numerical_gradient_points_per_row():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(5, 3))

    def f(p):  # not separable across points: a bug mixing rows would show
        return p[0] * p[1] + np.sin(p[2])

    grad = gradient_2d.numerical_gradient_points(f, points)
    expected = np.stack([points[:, 1], points[:, 0], np.cos(points[:, 2])], axis=1)
    np.testing.assert_allclose(grad, expected, atol=1e-7)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        gradient_2d.numerical_gradient_points(f, points[0])


def test_gradient_method_path(tmp_path, capsys):
    out = tmp_path / "gm.png"
    history = gradient_method.main(figure_args(out))
    assert_png(out)
    assert history.shape == (21, 2)
    np.testing.assert_allclose(history[0], [-3.0, 4.0])
    # each step multiplies x by 1 - 2 * lr = 0.8
    np.testing.assert_allclose(history, np.array([-3.0, 4.0]) * 0.8 ** np.arange(21)[:, None], rtol=1e-6)
    assert "[-0.0345" in capsys.readouterr().out


def test_gradient_simplenet_matches_analytic(capsys):
    dW = gradient_simplenet.main(["--quick"])
    assert "dW =" in capsys.readouterr().out
    np.random.seed(0)
    net = gradient_simplenet.simpleNet()
    assert net.W.shape == (2, 3) and net.W.dtype == np.float64
    x = np.array([0.6, 0.9])
    t = np.array([0.0, 0.0, 1.0])
    expected = np.outer(x, softmax(x @ net.W) - t)
    np.testing.assert_allclose(dW, expected, atol=1e-5)


@pytest.mark.parametrize("one_hot", [False, True])
def test_two_layer_net_gradient_matches_numerical(one_hot):
    np.random.seed(3)
    net = TwoLayerNet(6, 5, 4, weight_init_std=1.0, dtype=np.float64)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 6))
    labels = rng.integers(0, 4, size=3)
    t = np.eye(4)[labels] if one_hot else labels
    analytic = net.gradient(x, t)
    assert_grads_close(analytic, net.numerical_gradient(x, t), rtol=1e-5, atol=1e-8)
    for key, value in analytic.items():
        assert value.shape == net.params[key].shape


def test_two_layer_net_float32_by_default():
    net = TwoLayerNet(784, 50, 10)
    assert all(p.dtype == np.float32 for p in net.params.values())
    rng = np.random.default_rng(0)
    x = rng.random((4, 784), dtype=np.float32)
    t = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    grads = net.gradient(x, t)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.predict(x).dtype == np.float32
    y = net.predict(x)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
    assert net.loss(x, t) == pytest.approx(-np.mean(np.log(y[np.arange(4), [1, 2, 3, 4]])), rel=1e-5)


def test_two_layer_net_accuracy_in_batches_and_errors():
    np.random.seed(0)
    net = TwoLayerNet(8, 5, 3, weight_init_std=1.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 8)).astype(np.float32)
    t = rng.integers(0, 3, size=23)
    expected = np.mean(net.predict(x).argmax(axis=1) == t)
    assert net.accuracy(x, t) == pytest.approx(expected)
    assert net.accuracy(x, t, batch_size=5) == pytest.approx(expected)
    assert net.accuracy(x, np.eye(3)[t]) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        net.predict(x[:, :4])
    with pytest.raises(ValueError, match="hidden_size"):
        TwoLayerNet(8, 0, 3)


def test_two_layer_net_module_compares_gradients(capsys):
    diffs = two_layer_net.main(["--quick"])
    assert set(diffs) == {"W1", "b1", "W2", "b2"}
    assert max(diffs.values()) < 1e-8
    assert "W1:" in capsys.readouterr().out


def test_train_neuralnet_quick_learns_and_is_reproducible(fake_mnist, tmp_path):
    fake_mnist(train_neuralnet)
    out = tmp_path / "train.png"
    args = ["--quick", "--no-show", "--save", str(out), "--iters", "60", "--lr", "2"]
    history = train_neuralnet.main(args)
    assert_png(out)
    assert len(history.train_loss) == 60
    assert history.epochs == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    assert history.test_acc[-1] > history.test_acc[0] + 0.3
    again = train_neuralnet.main(args)
    assert again.train_loss == history.train_loss
    assert again.test_acc == history.test_acc


def test_train_neuralnet_numerical_path(fake_mnist, tmp_path, capsys):
    fake_mnist(train_neuralnet)
    out = tmp_path / "num.png"
    history = train_neuralnet.main(["--quick", "--no-show", "--save", str(out), "--numerical", "--batch-size", "5",
                                    "--iters", "1"])
    text = capsys.readouterr().out
    assert "numerical gradient:" in text and "would take about" in text and "hours" in text
    assert len(history.train_loss) == 1
    assert_png(out)


@pytest.mark.parametrize("option", [["--batch-size", "0"], ["--lr", "nan"], ["--lr", "-0.1"], ["--iters", "-1"],
                                    ["--hidden", "abc"], ["--seed", "-1"]])
def test_bad_options_are_usage_errors_before_any_work(option, monkeypatch, capsys):
    def no_data(**kwargs):
        raise AssertionError("the data must not be loaded for a bad option")

    monkeypatch.setattr(train_neuralnet, "load_mnist", no_data)
    with pytest.raises(SystemExit) as info:
        train_neuralnet.main(option)
    assert info.value.code == 2
    assert option[0] in capsys.readouterr().err
