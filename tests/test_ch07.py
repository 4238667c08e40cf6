"""Chapter 7: SimpleConvNet (gradients, shapes, parameter files, accuracy) and the chapter scripts."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ch07_cnn import apply_filter, gradient_check, train_convnet, visualize_filter
from ch07_cnn.simple_convnet import SHIPPED_PARAMS, SimpleConvNet

SMALL = {"input_dim": (1, 10, 10), "conv_param": {"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1},
         "hidden_size": 7, "output_size": 4}


def small_net(dtype=np.float64, seed: int = 0, **kwargs) -> SimpleConvNet:
    np.random.seed(seed)
    return SimpleConvNet(**{**SMALL, "weight_init_std": 0.3, **kwargs}, dtype=dtype)


def test_parameter_count_and_shapes_at_defaults():
    net = SimpleConvNet()
    assert sum(p.size for p in net.params.values()) == 433_890
    shapes = {key: p.shape for key, p in net.params.items()}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert list(net.layers) == ["Conv1", "Relu1", "Pool1", "Affine1", "Relu2", "Affine2"]


@pytest.mark.parametrize("conv_param, flat", [
    ({"filter_num": 4, "filter_size": 3, "pad": 1, "stride": 1}, 4 * 5 * 5),   # 10 -> 10 -> 5
    ({"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 2}, 2 * 2 * 2),   # 10 -> 4 -> 2
    ({"filter_num": 5, "filter_size": 4, "pad": 0, "stride": 1}, 5 * 3 * 3),   # 10 -> 7 -> 3 (odd size floors)
])
def test_layer_shapes_follow_input_and_conv_params(conv_param, flat):
    net = SimpleConvNet(input_dim=(1, 10, 10), conv_param=conv_param, hidden_size=6)
    assert net.params["W2"].shape == (flat, 6)
    assert net.predict(np.zeros((3, 1, 10, 10), dtype=np.float32)).shape == (3, 10)


def test_partial_conv_param_takes_defaults_and_bad_keys_fail():
    net = SimpleConvNet(conv_param={"filter_num": 8})
    assert net.params["W1"].shape == (8, 1, 5, 5)
    with pytest.raises(ValueError, match="filter_nums"):
        SimpleConvNet(conv_param={"filter_nums": 8})
    with pytest.raises(ValueError, match="does not fit"):
        SimpleConvNet(input_dim=(1, 3, 3))


def test_backprop_matches_numerical_gradient_float64():
    net = small_net()
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 10, 10))
    t = np.array([1, 3])
    grads = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t, h=1e-6)
    for key in net.params:
        assert grads[key].shape == net.params[key].shape
        np.testing.assert_allclose(grads[key], numerical[key], rtol=1e-4, atol=1e-8, err_msg=key)


def test_first_convolution_skips_the_input_gradient_and_nothing_else_changes():
    net = small_net()
    assert net.layers["Conv1"].input_grad is False
    rng = np.random.default_rng(2)
    x, t = rng.random((3, 1, 10, 10)), np.array([0, 2, 3])
    grads = {key: g.copy() for key, g in net.gradient(x, t).items()}
    net.layers["Conv1"].input_grad = True
    for key, g in net.gradient(x, t).items():
        np.testing.assert_array_equal(grads[key], g, err_msg=key)


def test_one_hot_targets_give_the_same_gradient():
    net = small_net()
    x = np.random.default_rng(2).random((3, 1, 10, 10))
    t = np.array([0, 2, 3])
    g_labels = {k: v.copy() for k, v in net.gradient(x, t).items()}
    g_onehot = net.gradient(x, np.eye(4)[t])
    for key in g_labels:
        np.testing.assert_allclose(g_labels[key], g_onehot[key], rtol=1e-12)


def test_float32_end_to_end_and_loss_left_in_last_layer():
    net = SimpleConvNet()
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    grads = net.gradient(x, np.array([1, 2, 3, 4]))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.predict(x).dtype == np.float32
    assert np.isfinite(net.last_layer.loss) and net.last_layer.loss > 0


def test_input_checks_and_flattened_input():
    net = small_net()
    x = np.random.default_rng(0).random((2, 1, 10, 10))
    np.testing.assert_array_equal(net.predict(x.reshape(2, -1)), net.predict(x))
    with pytest.raises(ValueError, match=r"\(N, 1, 10, 10\)"):
        net.predict(np.zeros((2, 1, 12, 12)))


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    net = small_net(dtype=np.float32, seed=0)
    x = np.random.default_rng(3).random((5, 1, 10, 10)).astype(np.float32)
    path = net.save_params(tmp_path / "p.npz")
    other = small_net(dtype=np.float32, seed=1)
    arrays_before = {key: p for key, p in other.params.items()}
    assert not np.array_equal(other.predict(x), net.predict(x))
    other.load_params(path)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))  # the layers see the loaded values
    assert all(other.params[key] is arrays_before[key] for key in arrays_before)  # copied in place


def test_default_file_name_is_npz(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = small_net()
    net.save_params()
    assert (tmp_path / "params.npz").exists()
    small_net(seed=5).load_params()


def test_pickle_refused_unless_allowed(tmp_path):
    net = small_net()
    path = tmp_path / "params.pkl"
    with open(path, "wb") as f:
        pickle.dump({k: v.copy() for k, v in net.params.items()}, f)
    other = small_net(seed=1)
    with pytest.raises(ValueError, match="pickle"):
        other.load_params(path)
    other.load_params(path, allow_pickle=True)
    np.testing.assert_array_equal(other.params["W1"], net.params["W1"])


def test_load_rejects_wrong_shapes_and_names(tmp_path):
    path = small_net().save_params(tmp_path / "small.npz")
    with pytest.raises(ValueError, match=r"W2: file \(48, 7\), network"):
        small_net(hidden_size=9).load_params(path)
    np.savez(tmp_path / "partial.npz", W1=np.zeros((3, 1, 3, 3)))
    with pytest.raises(ValueError, match="missing"):
        small_net().load_params(tmp_path / "partial.npz")


@pytest.mark.parametrize("batch_size", [1, 7, 10, 100])
def test_accuracy_counts_every_sample_including_partial_batch(batch_size):
    net = small_net()
    x = np.random.default_rng(4).random((23, 1, 10, 10))
    predicted = net.predict(x).argmax(axis=1)
    assert net.accuracy(x, predicted, batch_size=batch_size) == 1.0  # the book scored the last 3 as wrong
    t = predicted.copy()
    t[[0, 21, 22]] = (t[[0, 21, 22]] + 1) % 4
    assert net.accuracy(x, t, batch_size=batch_size) == pytest.approx(20 / 23)
    assert net.accuracy(x, np.eye(4)[t], batch_size=batch_size) == pytest.approx(20 / 23)
    with pytest.raises(ValueError):
        net.accuracy(x, t[:5])


def _mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


def test_train_convnet_quick_writes_to_the_current_directory_never_the_shipped_file(fake_mnist, tmp_path, capsys):
    fake_mnist(train_convnet)  # also makes tmp_path the current directory
    before = _mtime(SHIPPED_PARAMS)
    train_convnet.main(["--quick", "--no-show", "--save", str(tmp_path / "acc.png")])
    assert (tmp_path / "acc.png").stat().st_size > 0
    SimpleConvNet().load_params(tmp_path / "params.npz")  # the book's file name, in the workspace
    assert f"Saved Network Parameters to {tmp_path / 'params.npz'}" in capsys.readouterr().out
    out = tmp_path / "mine.npz"
    train_convnet.main(["--quick", "--no-show", "--save", str(tmp_path / "acc2.png"), "--out", str(out)])
    SimpleConvNet().load_params(out)
    assert _mtime(SHIPPED_PARAMS) == before


def test_gradient_check_script_passes_and_fails_loudly(capsys):
    gradient_check.main(["--quick"])
    assert "gradient check passed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        gradient_check.main(["--quick", "--tol", "1e-30"])
    assert info.value.code not in (0, None)


@pytest.fixture
def trained_params(tmp_path):
    np.random.seed(0)
    return str(SimpleConvNet().save_params(tmp_path / "trained.npz"))


def test_visualize_filter_writes_figure(tmp_path, trained_params, monkeypatch):
    monkeypatch.chdir(tmp_path)
    visualize_filter.main(["--quick", "--no-show", "--params", trained_params, "--save", str(tmp_path / "f.png")])
    assert (tmp_path / "f.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="train_convnet"):
        visualize_filter.main(["--no-show", "--params", str(tmp_path / "missing.npz")])


def test_apply_filter_writes_figure(tmp_path, trained_params, monkeypatch):
    monkeypatch.chdir(tmp_path)
    apply_filter.main(["--quick", "--no-show", "--params", trained_params, "--filters", "0", "29"])
    assert (tmp_path / "figures" / "apply_filter.png").stat().st_size > 0
    image = apply_filter.sample_photo(32)
    assert image.dtype == np.float32 and image.shape[0] == 32 and 0 <= image.min() and image.max() <= 1
    with pytest.raises(SystemExit):
        apply_filter.main(["--quick", "--no-show", "--params", trained_params, "--filters", "30"])


def test_shipped_weights_load_and_fit_the_network():
    path = SHIPPED_PARAMS
    if not path.exists():
        pytest.skip("ch07_cnn/params.npz not trained yet")
    net = SimpleConvNet()
    net.load_params(path)
    assert all(np.all(np.isfinite(p)) for p in net.params.values())
    with np.load(path) as data:
        assert {k: data[k].shape for k in data.files} == {k: p.shape for k, p in net.params.items()}
