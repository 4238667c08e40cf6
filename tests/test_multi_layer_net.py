"""MultiLayerNet and MultiLayerNetExtend: backprop against numerical gradients, dtypes, weight decay, modes."""

from __future__ import annotations

import numpy as np
import pytest

from common.layers import BatchNormalization, Dropout
from common.multi_layer_net import MultiLayerNet
from common.multi_layer_net_extend import MultiLayerNetExtend
from common.trainer import Trainer


def data(n=4, d=5, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, k, size=n)


def assert_grads_match(net, x, t):
    numeric = net.numerical_gradient(x, t)
    backprop = net.gradient(x, t)
    assert backprop.keys() == net.params.keys() == numeric.keys()
    for key in net.params:
        assert backprop[key].shape == net.params[key].shape
        np.testing.assert_allclose(backprop[key], numeric[key], rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_multi_layer_net_gradient(activation, lam):
    np.random.seed(1)
    net = MultiLayerNet(5, [6, 4], 3, activation=activation, weight_init_std=0.5, weight_decay_lambda=lam,
                        dtype=np.float64)
    x, t = data()
    assert_grads_match(net, x, t)


@pytest.mark.parametrize("use_batchnorm", [False, True])
@pytest.mark.parametrize("lam", [0.0, 0.2])
def test_extend_gradient_bn_and_weight_decay(use_batchnorm, lam):
    np.random.seed(2)
    net = MultiLayerNetExtend(5, [6, 4], 3, activation="relu", weight_init_std=0.5, weight_decay_lambda=lam,
                              use_batchnorm=use_batchnorm, dtype=np.float64)
    x, t = data(n=5, seed=3)
    t = np.eye(3)[t]  # one-hot targets too
    assert_grads_match(net, x, t)
    if use_batchnorm:
        assert {"gamma1", "beta1", "gamma2", "beta2"} <= net.params.keys()
        assert "gamma3" not in net.params


def test_extend_sigmoid_bn_gradient():
    np.random.seed(3)
    net = MultiLayerNetExtend(4, [5, 5, 5], 2, activation="Sigmoid", weight_init_std="xavier",
                              use_batchnorm=True, dtype=np.float64)
    assert_grads_match(net, *data(n=6, d=4, k=2, seed=4))


@pytest.mark.parametrize("cls_kwargs", [
    (MultiLayerNet, {"weight_decay_lambda": 0.1}),
    (MultiLayerNetExtend, {"use_batchnorm": True, "use_dropout": True, "weight_decay_lambda": 0.1}),
])
def test_float32_gradients_stay_float32(cls_kwargs):
    cls, kwargs = cls_kwargs
    np.random.seed(0)
    net = cls(784, [20, 20], 10, **kwargs)
    x, t = data(n=8, d=784, k=10, dtype=np.float32)
    grads = net.gradient(x, t)
    for key, g in grads.items():
        assert net.params[key].dtype == np.float32, key
        assert g.dtype == np.float32, key
    assert net.predict(x).dtype == np.float32


def test_weight_decay_term_value():
    np.random.seed(0)
    plain = MultiLayerNet(5, [4, 4], 3, weight_decay_lambda=0, dtype=np.float64)
    np.random.seed(0)
    decayed = MultiLayerNet(5, [4, 4], 3, weight_decay_lambda=0.7, dtype=np.float64)
    x, t = data()
    expected = 0.5 * 0.7 * sum(np.sum(decayed.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert decayed.loss(x, t) - plain.loss(x, t) == pytest.approx(expected, rel=1e-12)
    # biases do not count
    decayed.params["b1"][:] = 100.0
    assert decayed.weight_decay_penalty() == pytest.approx(expected, rel=1e-12)
    grads = decayed.gradient(x, t)
    assert grads["b1"].shape == (4,)


def test_gradient_adds_lambda_w():
    np.random.seed(0)
    net = MultiLayerNet(5, [4], 3, weight_decay_lambda=0.0, dtype=np.float64)
    x, t = data()
    g0 = {k: v.copy() for k, v in net.gradient(x, t).items()}
    net.weight_decay_lambda = 0.5
    g1 = net.gradient(x, t)
    np.testing.assert_allclose(g1["W1"], g0["W1"] + 0.5 * net.params["W1"])
    np.testing.assert_allclose(g1["b1"], g0["b1"])


def test_bad_activation_and_init_raise():
    with pytest.raises(ValueError, match="activation"):
        MultiLayerNet(5, [4], 3, activation="tanhh")
    with pytest.raises(ValueError, match="activation"):
        MultiLayerNetExtend(5, [4], 3, activation="softplus")
    with pytest.raises(ValueError, match="weight_init_std"):
        MultiLayerNet(5, [4], 3, weight_init_std="lecun")


def test_structure_and_init_scale():
    np.random.seed(0)
    net = MultiLayerNetExtend(784, [100, 50], 10, use_batchnorm=True, use_dropout=True, weight_init_std="he")
    assert list(net.layers) == ["Affine1", "BatchNorm1", "Activation_function1", "Dropout1",
                                "Affine2", "BatchNorm2", "Activation_function2", "Dropout2", "Affine3"]
    assert net.params["W1"].shape == (784, 100) and net.params["b3"].shape == (10,)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.05)
    assert net.params["W2"].std() == pytest.approx(np.sqrt(2 / 100), rel=0.05)
    assert net.last_layer.__class__.__name__ == "SoftmaxWithLoss"
    # layers share memory with params, so in-place optimizer updates reach them
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.layers["BatchNorm1"].gamma is net.params["gamma1"]
    plain = MultiLayerNet(784, [100], 10, weight_init_std=0.01)
    assert list(plain.layers) == ["Affine1", "Activation_function1", "Affine2"]
    assert plain.params["W1"].std() == pytest.approx(0.01, rel=0.05)


def test_dropout_modes_and_alias():
    np.random.seed(0)
    net = MultiLayerNetExtend(5, [50], 3, use_dropout=True, dropout_ration=0.3)
    assert isinstance(net.layers["Dropout1"], Dropout) and net.layers["Dropout1"].dropout_ratio == 0.3
    x, _ = data(n=3, dtype=np.float32)
    np.testing.assert_array_equal(net.predict(x), net.predict(x))  # test mode is deterministic
    assert not np.array_equal(net.predict(x, train_flg=True), net.predict(x, train_flg=True))
    alias = MultiLayerNetExtend(5, [4], 3, use_dropout=True, dropout_ratio=0.2)
    assert alias.dropout_ratio == alias.dropout_ration == 0.2
    with pytest.raises(ValueError, match="disagree"):
        MultiLayerNetExtend(5, [4], 3, dropout_ration=0.3, dropout_ratio=0.2)
    with pytest.raises(ValueError, match="dropout ratio"):
        MultiLayerNetExtend(5, [4], 3, dropout_ratio=1.0)


def test_batchnorm_obeys_train_flg():
    np.random.seed(0)
    net = MultiLayerNetExtend(5, [6], 3, use_batchnorm=True)
    assert isinstance(net.layers["BatchNorm1"], BatchNormalization)
    x, _ = data(n=8, dtype=np.float32)
    x = x * 3 + 2
    train_out = net.predict(x, train_flg=True)  # batch statistics
    bn = net.layers["BatchNorm1"]
    mean_before = bn.running_mean.copy()
    test_out = net.predict(x)  # running statistics, which test mode does not update
    np.testing.assert_array_equal(bn.running_mean, mean_before)
    assert not np.allclose(train_out, test_out)


def test_accuracy_labels_one_hot_and_partial_batches():
    np.random.seed(0)
    net = MultiLayerNet(5, [8], 3)
    x, t = data(n=23, dtype=np.float32, seed=5)
    expected = float(np.mean(net.predict(x).argmax(axis=1) == t))
    assert net.accuracy(x, t, batch_size=5) == pytest.approx(expected)
    assert net.accuracy(x, np.eye(3, dtype=np.float32)[t], batch_size=7) == pytest.approx(expected)
    net2 = MultiLayerNet(5, [8], 3)
    t_pred = net2.predict(x).argmax(axis=1)
    assert net2.accuracy(x, t_pred, batch_size=10) == 1.0  # the last partial batch counts


def test_extend_with_batchnorm_learns_through_trainer():
    rng = np.random.default_rng(0)
    centers = 2 * rng.standard_normal((3, 10))
    t = np.arange(300) % 3
    x = (centers[t] + 0.7 * rng.standard_normal((300, 10))).astype(np.float32)
    np.random.seed(0)
    net = MultiLayerNetExtend(10, [20, 20], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.1,
                              weight_decay_lambda=1e-4)
    tr = Trainer(net, x[:200], t[:200], x[200:], t[200:], epochs=5, mini_batch_size=20, optimizer="adam",
                 optimizer_param={"lr": 0.01}, verbose=False, seed=0)
    tr.train()
    assert tr.final_test_acc > 0.9
    assert net.accuracy(x[200:], t[200:]) == tr.final_test_acc
