"""Chapter 8: DeepConvNet, the residual block and SmallResNet, and the chapter scripts."""

from __future__ import annotations

import numpy as np
import pytest

from ch08_deep import half_float_network, misclassified_mnist, train_deepnet, train_resnet
from ch08_deep.deep_convnet import SHIPPED_PARAMS, DeepConvNet
from ch08_deep.residual import GlobalAvgPooling, ResidualBlock, SmallResNet
from common.gradient import numerical_gradient
from common.layers import Dropout

TINY_CONV = {f"conv_param_{i}": {"filter_num": n} for i, n in enumerate((2, 2, 3, 3, 4, 4), 1)}


def tiny_deep(dtype=np.float64, seed: int = 0, **kwargs) -> DeepConvNet:
    """A DeepConvNet on 12x12 inputs with 2-4 filters per convolution. Its biases are set to small positive
    values: with zero biases, a window of zeros (after ReLU) gives a pre-activation of exactly 0, a ReLU kink
    where central differences are meaningless."""
    np.random.seed(seed)
    net = DeepConvNet(input_dim=(1, 12, 12), **TINY_CONV, hidden_size=6, output_size=5, dtype=dtype, **kwargs)
    for key, param in net.params.items():
        if key.startswith("b"):
            param[...] = np.random.uniform(0.01, 0.1, size=param.shape)
    return net


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


# -- DeepConvNet ---------------------------------------------------------------------------------------------------

def test_parameter_count_and_architecture():
    net = DeepConvNet()
    assert sum(p.size for p in net.params.values()) == 123_552
    assert net.params["W7"].shape == (1024, 50) and net.params["W8"].shape == (50, 10)
    assert net.params["W4"].shape == (32, 32, 3, 3) and net.layers["Conv4"].pad == 2
    assert all(p.dtype == np.float32 for p in net.params.values())
    kinds = [type(layer).__name__ for layer in net.layers.values()]
    assert kinds == ["Convolution", "Relu", "Convolution", "Relu", "Pooling"] * 3 + [
        "Affine", "Relu", "Dropout", "Affine", "Dropout"]
    assert net.param_layers == {1: "Conv1", 2: "Conv2", 3: "Conv3", 4: "Conv4", 5: "Conv5", 6: "Conv6",
                                7: "Affine1", 8: "Affine2"}
    # only the first convolution skips dx (its input is the images); the others must pass gradients on
    assert [net.layers[f"Conv{i}"].input_grad for i in range(1, 7)] == [False] + [True] * 5


def test_he_initialisation_uses_fan_in():
    np.random.seed(0)
    net = DeepConvNet()
    assert net.params["W6"].std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.05)
    assert net.params["W7"].std() == pytest.approx(np.sqrt(2 / 1024), rel=0.05)
    assert net.params["W8"].std() == pytest.approx(np.sqrt(2 / 50), rel=0.2)


def test_shapes_follow_input_dim():
    net = tiny_deep()  # 12 -> 12 -> 6 -> 6 -> 8 (pad 2) -> 4 -> 4 -> 2
    assert net.params["W7"].shape == (4 * 2 * 2, 6)
    assert net.predict(np.zeros((2, 1, 12, 12))).shape == (2, 5)


def test_backprop_matches_numerical_gradient_with_fixed_dropout_masks():
    net = tiny_deep()
    rng = np.random.default_rng(0)
    x = rng.random((3, 1, 12, 12))
    t = np.array([0, 3, 4])
    grads = net.gradient(x, t)  # draws the dropout masks
    numerical = net.numerical_gradient(x, t, h=1e-6)  # reuses them
    for key in net.params:
        assert relative_error(grads[key], numerical[key]) < 1e-5, key


def test_gradient_check_of_the_dropout_path_by_reseeding_the_masks():
    rng = np.random.default_rng(5)
    x, t = rng.random((2, 1, 12, 12)), np.array([1, 2])
    net = tiny_deep(rng=None)

    def reseed():
        for layer in net.layers.values():
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng(7)

    reseed()
    grads = {k: v.copy() for k, v in net.gradient(x, t).items()}

    def loss(_):
        reseed()
        return net.loss(x, t, train_flg=True)

    for key in ("W1", "b6", "W7", "W8"):
        assert relative_error(grads[key], numerical_gradient(loss, net.params[key], 1e-6)) < 1e-5, key


def test_numerical_gradient_needs_masks_first():
    net = tiny_deep()
    with pytest.raises(ValueError, match="call gradient"):
        net.numerical_gradient(np.zeros((2, 1, 12, 12)), np.array([0, 1]))


def test_inference_is_deterministic_and_training_mode_is_not():
    net = tiny_deep(dtype=np.float32)
    x = np.random.default_rng(1).random((4, 1, 12, 12), dtype=np.float32)
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    assert not np.array_equal(net.predict(x, train_flg=True), net.predict(x, train_flg=True))


def test_float32_gradients():
    net = DeepConvNet()
    grads = net.gradient(np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32), np.array([3, 7]))
    assert all(grads[key].dtype == np.float32 and grads[key].shape == p.shape for key, p in net.params.items())
    assert np.isfinite(net.last_layer.loss)


def test_save_load_round_trip_and_refusals(tmp_path):
    net = tiny_deep(dtype=np.float32)
    x = np.random.default_rng(2).random((5, 1, 12, 12), dtype=np.float32)
    path = net.save_params(tmp_path / "deep.npz")
    other = tiny_deep(dtype=np.float32, seed=3)
    other.load_params(path)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    with pytest.raises(ValueError, match="W7"):
        DeepConvNet(input_dim=(1, 12, 12), **TINY_CONV, hidden_size=8, output_size=5).load_params(path)
    (tmp_path / "deep.pkl").write_bytes(b"not even read")
    with pytest.raises(ValueError, match="pickle"):
        other.load_params(tmp_path / "deep.pkl")


def test_float16_copy_loads_float32_weights(tmp_path):
    net = tiny_deep(dtype=np.float32)
    path = net.save_params(tmp_path / "deep.npz")
    half = DeepConvNet(input_dim=(1, 12, 12), **TINY_CONV, hidden_size=6, output_size=5, dtype=np.float16)
    half.load_params(path)
    x = np.random.default_rng(0).random((3, 1, 12, 12), dtype=np.float32)
    y16 = half.predict(x)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16, net.predict(x), rtol=2e-2, atol=2e-2)


def test_accuracy_counts_partial_batch():
    net = tiny_deep()
    x = np.random.default_rng(4).random((13, 1, 12, 12))
    predicted = net.predict(x).argmax(axis=1)
    assert net.accuracy(x, predicted, batch_size=5) == 1.0
    assert net.accuracy(x, np.eye(5)[predicted], batch_size=100) == 1.0


# -- residual block ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cin, cout, stride", [(3, 3, 1), (2, 4, 2), (2, 2, 2)])
def test_residual_block_gradients(cin, cout, stride):
    np.random.seed(0)
    block = ResidualBlock(cin, cout, stride, dtype=np.float64)
    assert ("Ws" in block.params) == (stride != 1 or cin != cout)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, cin, 5, 5))
    out = block.forward(x)
    assert out.shape == (2, cout, (5 - 1) // stride + 1, (5 - 1) // stride + 1)
    dy = rng.standard_normal(out.shape)
    dx = block.backward(dy)

    def f(_):
        return np.sum(block.forward(x) * dy)

    assert relative_error(dx, numerical_gradient(f, x, 1e-6)) < 1e-6
    assert block.grads.keys() == block.params.keys()
    for key, param in block.params.items():
        assert relative_error(block.grads[key], numerical_gradient(f, param, 1e-6)) < 1e-6, key


def test_residual_block_identity_shortcut_passes_gradient_through():
    np.random.seed(0)
    block = ResidualBlock(2, 2, 1, dtype=np.float64)
    for key in ("gamma2", "beta2"):
        block.params[key][...] = 0  # residual branch outputs 0: the block is relu(x)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4))
    np.testing.assert_allclose(block.forward(x), np.maximum(x, 0))
    np.testing.assert_allclose(block.backward(np.ones_like(x)), (x > 0).astype(float))


def test_global_average_pooling():
    layer = GlobalAvgPooling()
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2)
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=(2, 3)))
    np.testing.assert_allclose(layer.backward(np.ones((2, 3))), np.full(x.shape, 0.25))


def test_small_resnet_gradient_and_round_trip(tmp_path):
    np.random.seed(0)
    net = SmallResNet(input_dim=(1, 8, 8), channels=(2, 3), output_size=4, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, t = rng.random((3, 1, 8, 8)), np.array([0, 1, 3])
    grads = net.gradient(x, t)
    assert grads.keys() == net.params.keys()
    for key in ("stem_W", "block1_gamma1", "block2_W2", "block2_Ws", "fc_W"):
        num = numerical_gradient(lambda _: net.loss(x, t), net.params[key], 1e-6)
        assert relative_error(grads[key], num) < 1e-5, key
    path = net.save_params(tmp_path / "res.npz")
    with np.load(path) as data:
        assert "block1_running_mean1" in data.files  # batch-norm statistics travel with the weights
    np.random.seed(1)
    other = SmallResNet(input_dim=(1, 8, 8), channels=(2, 3), output_size=4, dtype=np.float64)
    other.load_params(path)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    assert net.accuracy(x, net.predict(x).argmax(axis=1), batch_size=2) == 1.0


# -- scripts -------------------------------------------------------------------------------------------------------

def _mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


@pytest.mark.parametrize("extra", [[], ["--augment", "--lr-decay", "0.9"]])
def test_train_deepnet_quick_never_writes_shipped_weights(fake_mnist, tmp_path, extra):
    fake_mnist(train_deepnet)  # also makes tmp_path the current directory
    before = _mtime(SHIPPED_PARAMS)
    train_deepnet.main(["--quick", "--no-show", "--save", str(tmp_path / "deep.png"), *extra])
    assert (tmp_path / "deep.png").stat().st_size > 0
    DeepConvNet().load_params(tmp_path / "deep_convnet_params.npz")
    assert _mtime(SHIPPED_PARAMS) == before


@pytest.fixture
def deep_params(tmp_path):
    np.random.seed(0)
    return str(DeepConvNet().save_params(tmp_path / "deep_trained.npz"))


def test_misclassified_mnist_writes_both_figures(fake_mnist, tmp_path, deep_params, capsys):
    fake_mnist(misclassified_mnist)
    misclassified_mnist.main(["--quick", "--no-show", "--params", deep_params, "--save", str(tmp_path / "m.png")])
    assert (tmp_path / "m.png").stat().st_size > 0
    assert (tmp_path / "m_confusion.png").stat().st_size > 0
    assert "test accuracy" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="train_deepnet"):
        misclassified_mnist.main(["--quick", "--no-show", "--params", str(tmp_path / "none.npz")])


def test_confusion_matrix_counts():
    m = misclassified_mnist.confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_half_float_network_prints_three_accuracies(fake_mnist, deep_params, capsys):
    fake_mnist(half_float_network)
    half_float_network.main(["--quick", "--params", deep_params, "--samples", "5"])
    out = capsys.readouterr().out
    for line in ("1. float32 weights, float32 arithmetic", "2. float16 weights, float32 arithmetic",
                 "3. float16 weights, float16 arithmetic"):
        assert line in out


def test_round_weights_to_float16():
    net = tiny_deep(dtype=np.float32)
    half_float_network.round_weights_to_float16(net)
    for p in net.params.values():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, p.astype(np.float16).astype(np.float32))


def test_train_resnet_quick(fake_mnist, tmp_path, capsys):
    fake_mnist(train_resnet)
    train_resnet.main(["--quick", "--no-show", "--save", str(tmp_path / "r.png"), "--out", str(tmp_path / "r.npz")])
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "r.npz").exists()
    assert "SmallResNet test accuracy" in capsys.readouterr().out


def test_shipped_weights_load_and_fit_the_network():
    path = SHIPPED_PARAMS
    if not path.exists():
        pytest.skip("ch08_deep/deep_convnet_params.npz not trained yet")
    net = DeepConvNet()
    net.load_params(path)
    assert all(np.all(np.isfinite(p)) for p in net.params.values())
    with np.load(path) as data:
        assert {k: data[k].shape for k in data.files} == {k: p.shape for k, p in net.params.items()}
