"""Chapter 5 scripts: the computational-graph examples, the backprop TwoLayerNet, its gradient check and training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_grads_close
from PIL import Image

import common.layers
from ch05_backprop import buy_apple, buy_apple_orange, gradient_check, layer_naive, train_neuralnet
from ch05_backprop.two_layer_net import TwoLayerNet
from common.layers import SoftmaxWithLoss

REPO = Path(__file__).resolve().parents[1]


def test_layer_naive_reexports_common_layers():
    assert layer_naive.MulLayer is common.layers.MulLayer
    assert layer_naive.AddLayer is common.layers.AddLayer


def test_buy_apple_prints_the_books_values(capsys):
    buy_apple.main(["--quick"])
    assert capsys.readouterr().out.splitlines() == ["price: 220", "dApple: 2.2", "dApple_num: 110", "dTax: 200"]


def test_buy_apple_orange_prints_the_books_values(capsys):
    values = buy_apple_orange.main([])
    assert capsys.readouterr().out.splitlines() == [
        "price: 715", "dApple: 2.2", "dApple_num: 110", "dOrange: 3.3", "dOrange_num: 165", "dTax: 650",
    ]
    assert values["dOrange"] == pytest.approx(3.3) and values["price"] == pytest.approx(715)


def test_clean_only_removes_rounding_artifacts():
    assert buy_apple.clean(220.00000000000003) == 220 and isinstance(buy_apple.clean(220.00000000000003), int)
    assert buy_apple.clean(3.3000000000000003) == 3.3
    assert buy_apple.clean(0.125) == 0.125


def relu_safe_net(dtype=np.float64, seed=0):
    """A small float64 net and data whose hidden pre-activations all lie far from ReLU's kink at 0."""
    np.random.seed(seed)
    net = TwoLayerNet(6, 5, 4, weight_init_std=1.0, dtype=dtype)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 6)).astype(dtype)
    labels = rng.integers(0, 4, size=3)
    a1 = x @ net.params["W1"] + net.params["b1"]
    assert np.abs(a1).min() > 1e-2
    return net, x, labels


@pytest.mark.parametrize("one_hot", [False, True])
def test_two_layer_net_backprop_matches_numerical(one_hot):
    net, x, labels = relu_safe_net()
    t = np.eye(4)[labels] if one_hot else labels
    analytic = {key: value.copy() for key, value in net.gradient(x, t).items()}
    assert_grads_close(analytic, net.numerical_gradient(x, t), rtol=1e-5, atol=1e-8)


def test_two_layer_net_structure_and_dtypes():
    net = TwoLayerNet(784, 50, 10)
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert isinstance(net.lastLayer, SoftmaxWithLoss) and net.last_layer is net.lastLayer
    assert net.layers["Affine1"].W is net.params["W1"] and net.layers["Affine2"].b is net.params["b2"]
    rng = np.random.default_rng(0)
    x = rng.random((5, 784), dtype=np.float32)
    t = rng.integers(0, 10, size=5).astype(np.uint8)
    grads = net.gradient(x, t)
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.lastLayer.loss == pytest.approx(net.loss(x, t))
    assert net.predict(x.reshape(5, 1, 28, 28)).shape == (5, 10)
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        net.predict(x[:, :100])
    replacement = SoftmaxWithLoss()
    net.last_layer = replacement
    assert net.lastLayer is replacement


def test_two_layer_net_float64_option_and_accuracy_batches():
    net, x, labels = relu_safe_net()
    assert all(p.dtype == np.float64 for p in net.params.values())
    expected = np.mean(net.predict(x).argmax(axis=1) == labels)
    assert net.accuracy(x, labels, batch_size=2) == pytest.approx(expected) == net.accuracy(x, np.eye(4)[labels])


def test_gradient_check_script_passes(fake_mnist, capsys):
    fake_mnist(gradient_check)
    diffs = gradient_check.main(["--quick"])
    assert set(diffs) == {"W1", "b1", "W2", "b2"}
    assert max(diffs.values()) < gradient_check.TOLERANCE
    assert "gradient check passed" in capsys.readouterr().out


def test_gradient_check_script_fails_on_a_wrong_gradient(fake_mnist, monkeypatch):
    fake_mnist(gradient_check)
    original = TwoLayerNet.gradient

    def broken(self, x, t):
        grads = original(self, x, t)
        return {**grads, "b2": grads["b2"] + 1e-3}

    monkeypatch.setattr(TwoLayerNet, "gradient", broken)
    with pytest.raises(SystemExit, match="FAILED.*b2"):
        gradient_check.main(["--quick"])


def test_train_neuralnet_quick_learns_and_is_reproducible(fake_mnist, tmp_path):
    fake_mnist(train_neuralnet)
    out = tmp_path / "curve.png"
    args = ["--quick", "--no-show", "--save", str(out), "--iters", "30"]
    history = train_neuralnet.main(args)
    with Image.open(out) as img:
        assert img.format == "PNG"
    assert len(history.train_loss) == 30
    assert history.epochs == list(range(11))
    assert history.test_acc[-1] > history.test_acc[0] + 0.3
    assert history.train_loss[-1] < history.train_loss[0]
    again = train_neuralnet.main(args)
    assert again.train_loss == history.train_loss and again.test_acc == history.test_acc


def test_train_neuralnet_default_figure_name(fake_mnist, tmp_path):
    fake_mnist(train_neuralnet)
    train_neuralnet.main(["--quick", "--no-show", "--iters", "3"])
    assert (tmp_path / "figures" / "ch05_train_neuralnet.png").is_file()


def test_buy_apple_runs_as_a_file_from_any_directory(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "ch05_backprop" / "buy_apple.py")], cwd=tmp_path,
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.splitlines()[0] == "price: 220"
