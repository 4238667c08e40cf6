"""The usage patterns of the book's own scripts (both book repositories), run against this library.

Each test mimics what a chapter script of the book does, in its style: star imports that bring ``np``, optimizers
on dicts of Python floats, labels as a column (N, 1), gradient checks that print tiny differences, the Trainer
called with the book's arguments. Code that is exec'd below never imports NumPy itself, like those scripts.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

STAR_MODULES = {
    "common.functions": ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "softmax", "step_function",
                         "identity_function", "mean_squared_error", "cross_entropy_error", "softmax_loss"],
    "common.optimizer": ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"],
    "common.gradient": ["numerical_gradient"],
    "common.trainer": ["Trainer", "SGD", "Adam"],
}


@pytest.mark.parametrize("module", sorted(STAR_MODULES))
def test_star_import_brings_numpy_and_the_book_names(module):
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    assert namespace["np"] is np
    missing = [name for name in STAR_MODULES[module] if name not in namespace]
    assert missing == []
    assert not [name for name in namespace if name.startswith("_") and name != "__builtins__"]


def _toy_run(optimizer, steps: int = 30):
    """ch06 optimizer_compare_naive / show_optimizer_*: f(x, y) = x^2 / 20 + y^2 from (-7, 2) with float params."""
    init_pos = (-7.0, 2.0)
    params = {}
    params["x"], params["y"] = init_pos[0], init_pos[1]
    grads = {}
    grads["x"], grads["y"] = 0, 0
    history = []
    for _ in range(steps):
        history.append((params["x"], params["y"]))
        grads["x"], grads["y"] = params["x"] / 10.0, 2.0 * params["y"]
        optimizer.update(params, grads)
    return params, history


BOOK_TOY_RATES = {"SGD": 0.95, "Momentum": 0.1, "AdaGrad": 1.5, "Adam": 0.3, "Nesterov": 0.1, "RMSprop": 0.1}


@pytest.mark.parametrize("name", sorted(BOOK_TOY_RATES))
def test_optimizer_on_dict_of_python_floats(name):
    namespace: dict = {}
    exec("from common.optimizer import *", namespace)
    lr = BOOK_TOY_RATES[name]
    params, history = _toy_run(namespace[name](lr=lr))
    assert all(type(v) is float for point in history for v in point)
    assert type(params["x"]) is float and type(params["y"]) is float
    start, end = np.hypot(-7.0, 2.0), np.hypot(params["x"], params["y"])
    assert end < 0.5 * start  # every optimizer of the figure heads for the minimum at (0, 0)
    # the same path as with parameters held in arrays, updated in place
    xy = {"x": np.array([-7.0]), "y": np.array([2.0])}
    opt = namespace[name](lr=lr)
    for point in history:
        np.testing.assert_allclose([xy["x"][0], xy["y"][0]], point, rtol=1e-12)
        opt.update(xy, {"x": xy["x"] / 10.0, "y": 2.0 * xy["y"]})


def test_optimizers_dict_loop_as_in_optimizer_compare_naive():
    namespace: dict = {}
    exec("from common.optimizer import *", namespace)
    optimizers = OrderedDict()
    for key in ("SGD", "Momentum", "AdaGrad", "Adam"):
        optimizers[key] = namespace[key](lr=BOOK_TOY_RATES[key])
    finals = {key: _toy_run(opt)[0] for key, opt in optimizers.items()}
    assert abs(finals["Adam"]["y"]) < 2.0 and abs(finals["AdaGrad"]["x"]) < 7.0


KOREAN_TWO_LAYER_NET = '''
from common.functions import *
from common.gradient import numerical_gradient


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        a1 = np.dot(x, self.params['W1']) + self.params['b1']
        z1 = sigmoid(a1)
        return softmax(np.dot(z1, self.params['W2']) + self.params['b2'])

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)
        return {key: numerical_gradient(loss_W, self.params[key]) for key in ('W1', 'b1', 'W2', 'b2')}
'''


@pytest.mark.parametrize("target", ["labels", "column", "one_hot"])
def test_ch04_two_layer_net_written_with_star_import(target):
    """ch04/two_layer_net.py: only `from common.functions import *`, then np, sigmoid, softmax, the loss and a
    numerical gradient through a lambda that ignores its argument."""
    namespace: dict = {}
    exec(KOREAN_TWO_LAYER_NET, namespace)
    np.random.seed(0)
    net = namespace["TwoLayerNet"](input_size=4, hidden_size=5, output_size=3, weight_init_std=0.5)
    x = np.random.rand(6, 4)
    labels = np.array([0, 2, 1, 1, 0, 2])
    t = {"labels": labels, "column": labels.reshape(-1, 1), "one_hot": np.eye(3)[labels]}[target]
    grads = net.numerical_gradient(x, t)
    # backprop of the same network, written out (sigmoid hidden layer, softmax cross-entropy)
    p = net.params
    z1 = 1 / (1 + np.exp(-(x @ p["W1"] + p["b1"])))
    dy = (net.predict(x) - np.eye(3)[labels]) / len(x)
    dz1 = dy @ p["W2"].T * z1 * (1 - z1)
    expected = {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": z1.T @ dy, "b2": dy.sum(0)}
    for key, g in expected.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-5, atol=1e-7)


def test_ch04_gradient_simplenet_pattern():
    """gradient_simplenet.py: 1-D x and a 1-D one-hot t through cross_entropy_error(softmax(z), t)."""
    namespace: dict = {}
    exec("from common.functions import softmax, cross_entropy_error\n"
         "from common.gradient import numerical_gradient\nimport numpy as np", namespace)
    W = np.array([[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]])
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    softmax, cee = namespace["softmax"], namespace["cross_entropy_error"]

    def f(_):
        return cee(softmax(x @ W), t)

    assert f(W) == pytest.approx(0.9280682857864075, rel=1e-6)  # the value the book prints
    dW = namespace["numerical_gradient"](f, W)
    np.testing.assert_allclose(dW, np.outer(x, softmax(x @ W) - t), rtol=1e-6)


def test_ch07_gradient_check_with_label_column():
    """ch07/gradient_check.py: a 10x10 image, T = np.array([1]).reshape((1,1)); backprop vs numerical gradient."""
    from ch07_cnn.simple_convnet import SimpleConvNet

    np.random.seed(0)
    network = SimpleConvNet(input_dim=(1, 10, 10),
                            conv_param={"filter_num": 10, "filter_size": 3, "pad": 0, "stride": 1},
                            hidden_size=10, output_size=10, weight_init_std=0.01)
    X = np.random.rand(100).reshape((1, 1, 10, 10))
    T = np.array([1]).reshape((1, 1))
    grad_num = network.numerical_gradient(X, T)
    grad = {key: value.copy() for key, value in network.gradient(X, T).items()}
    assert sorted(grad_num) == sorted(grad)
    for key, value in grad_num.items():
        assert np.abs(grad[key] - value).mean() < 1e-5, key  # noise, not a backprop bug (values near 1e-4 ... 1e-1)
    for key, value in network.gradient(X, np.array([1])).items():
        np.testing.assert_array_equal(grad[key], value)  # the column is read as the label it holds
    # the column gives the same loss as the plain label and as the one-hot row
    assert network.loss(X, T) == network.loss(X, np.array([1])) == pytest.approx(network.loss(X, np.eye(10)[[1]]))


def test_ch06_optimizer_compare_mnist_pattern():
    """optimizer_compare_mnist.py: star import of common.optimizer (np comes with it), one MultiLayerNet per
    optimizer, `optimizers[key].update(networks[key].params, grads)` with float32 parameters updated in place."""
    from common.multi_layer_net import MultiLayerNet

    namespace: dict = {}
    exec("from common.optimizer import *", namespace)
    np_ = namespace["np"]
    rng = np_.random.default_rng(0)
    x = rng.random((40, 12)).astype(np_.float32)
    t = (x[:, 0] > 0.5).astype(np_.uint8) + (x[:, 1] > 0.5)
    optimizers, networks = {}, {}
    for key in ("SGD", "Momentum", "AdaGrad", "Adam"):
        optimizers[key] = namespace[key]() if key != "SGD" else namespace[key](lr=0.1)
        networks[key] = MultiLayerNet(input_size=12, hidden_size_list=[8, 8], output_size=3)
    for key in optimizers:
        arrays = dict(networks[key].params)
        first = networks[key].loss(x, t)
        for _ in range(30):
            grads = networks[key].gradient(x, t)
            optimizers[key].update(networks[key].params, grads)
        assert all(networks[key].params[k] is arrays[k] for k in arrays)  # in place: the layers see the update
        assert networks[key].loss(x, t) < first


def test_trainer_called_as_the_book_calls_it(capsys):
    """ch07 train_convnet / ch06 overfit_*: positional data, optimizer by name, optimizer_param, sample count."""
    from common.multi_layer_net import MultiLayerNet

    rng = np.random.default_rng(1)
    x_train = rng.random((60, 8)).astype(np.float32)
    t_train = (x_train[:, 0] > 0.5).astype(np.uint8)
    x_test = rng.random((30, 8)).astype(np.float32)
    t_test = (x_test[:, 0] > 0.5).astype(np.uint8)
    np.random.seed(0)
    network = MultiLayerNet(input_size=8, hidden_size_list=[10], output_size=2)
    lr = 10 ** np.random.uniform(-6, -2)  # hyperparameter_optimization.py draws NumPy floats
    namespace: dict = {}
    exec("from common.trainer import Trainer", namespace)
    trainer = namespace["Trainer"](network, x_train, t_train, x_test, t_test, epochs=2, mini_batch_size=20,
                                   optimizer="sgd", optimizer_param={"lr": lr}, evaluate_sample_num_per_epoch=1000)
    trainer.train()
    out = capsys.readouterr().out
    assert "=== epoch:1, train acc:" in out and "=============== Final Test Accuracy ===============" in out
    assert len(trainer.train_loss_list) == 6 and len(trainer.test_acc_list) == 2
    # labels as a column work with the Trainer too
    trainer = namespace["Trainer"](network, x_train, t_train.reshape(-1, 1), x_test, t_test.reshape(-1, 1),
                                   epochs=1, mini_batch_size=20, optimizer="Adam", optimizer_param={"lr": 0.001},
                                   verbose=False)
    trainer.train()
    assert trainer.final_test_acc == network.accuracy(x_test, t_test)


def test_ch06_batch_norm_network_updated_by_optimizer():
    """batch_norm_test.py: the BN network's gamma/beta are updated by the same optimizer call."""
    from common.multi_layer_net_extend import MultiLayerNetExtend
    from common.optimizer import SGD

    rng = np.random.default_rng(2)
    x = rng.random((20, 6)).astype(np.float32)
    t = (x[:, 0] > 0.5).astype(np.uint8)
    network = MultiLayerNetExtend(input_size=6, hidden_size_list=[5, 5], output_size=2, use_batchnorm=True)
    gamma = network.params["gamma1"]
    before = gamma.copy()
    SGD(lr=0.5).update(network.params, network.gradient(x, t))
    assert network.params["gamma1"] is gamma and not np.array_equal(gamma, before)
