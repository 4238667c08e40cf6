"""Trainer checks: bad arguments, data and labels rejected at construction or before any update, label forms,
and a non-finite loss or gradient stopping training without applying the bad step."""

from __future__ import annotations

import numpy as np
import pytest
from trainer_helpers import TinyNet, blobs, make_trainer

from common.trainer import Trainer

BAD_ARGUMENTS = [
    ({"mini_batch_size": 0}, ValueError, "mini_batch_size"), ({"mini_batch_size": 2.5}, ValueError, "mini_batch_size"),
    ({"epochs": -1}, ValueError, "epochs"), ({"epochs": float("nan")}, ValueError, "epochs must be a non-negative int"),
    ({"epochs": float("inf")}, ValueError, "epochs"), ({"epochs": "3"}, ValueError, "epochs"),
    ({"epochs": True}, ValueError, "epochs"), ({"epochs": 1.5}, ValueError, "epochs"),
    ({"eval_batch_size": 0}, ValueError, "eval_batch_size"),
    ({"evaluate_sample_num_per_epoch": -1}, ValueError, "evaluate_sample_num_per_epoch"),
    ({"evaluate_sample_num_per_epoch": 0}, ValueError, "evaluate_sample_num_per_epoch"),
    ({"evaluate_sample_num_per_epoch": float("nan")}, ValueError, "evaluate_sample_num_per_epoch"),
    ({"lr_decay": 0}, ValueError, "lr_decay"), ({"lr_decay": float("nan")}, ValueError, "lr_decay"),
    ({"lr_decay": "0.5"}, TypeError, "lr_decay"),
    ({"optimizer_param": {"lr": "0.1"}}, TypeError, "lr must be a real number, got '0.1'"),
    ({"optimizer_param": {"lr": float("nan")}}, ValueError, "lr"), ({"optimizer_param": {"lr": 0}}, ValueError, "lr"),
    ({"optimizer_param": 0.1}, TypeError, "optimizer_param"), ({"optimizer": 3}, TypeError, "optimizer"),
    ({"seed": -1}, ValueError, "seed"), ({"augment": "flip"}, TypeError, "augment"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_ARGUMENTS, ids=[repr(k) for k, _, _ in BAD_ARGUMENTS])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_trainer(**kwargs)


def test_integral_counts_accepted_and_zero_epochs():
    tr = make_trainer(epochs=np.int64(2), mini_batch_size=10.0, evaluate_sample_num_per_epoch=1000)
    assert (tr.epochs, tr.batch_size) == (2, 10) and type(tr.batch_size) is int
    tr.train()
    assert len(tr.train_acc_list) == 2  # more samples asked than there are: all are used
    idle = make_trainer(epochs=0)
    idle.train()
    assert idle.train_loss_list == [] and idle.final_test_acc is not None


def test_lr_decay_needs_an_optimizer_with_lr():
    class Bare:
        def update(self, params, grads):
            pass

    with pytest.raises(TypeError, match="lr_decay"):
        make_trainer(optimizer=Bare(), lr_decay=0.5)


def test_mismatched_lengths():
    x, t = blobs(20)
    with pytest.raises(ValueError, match="20 samples but t_train has 19"):
        Trainer(TinyNet(), x, t[:19], x, t, verbose=False)
    with pytest.raises(ValueError, match="t_test has shape"):
        Trainer(TinyNet(), x, t, x, np.int64(1), verbose=False)


@pytest.mark.parametrize("form", ["column", "one_hot", "list"])
def test_label_forms_give_the_same_training(form):
    """Labels (N,), a column (N, 1) as the book's ch07 gradient check passes, one-hot and plain lists agree."""
    x_train, t_train = blobs(40, seed=1)
    x_test, t_test = blobs(20, seed=2)
    convert = {"column": lambda t: t.reshape(-1, 1), "one_hot": lambda t: np.eye(3, dtype=np.float32)[t],
               "list": lambda t: t.tolist()}[form]
    runs = []
    for tt, te in ((t_train, t_test), (convert(t_train), convert(t_test))):
        xs = (x_train.tolist(), x_test.tolist()) if form == "list" and tt is not t_train else (x_train, x_test)
        tr = Trainer(TinyNet(), xs[0], tt, xs[1], te, epochs=2, mini_batch_size=8, verbose=False, seed=3,
                     optimizer="adam", optimizer_param={"lr": 0.01})
        tr.train()
        runs.append(tr)
    a, b = runs
    np.testing.assert_allclose(a.train_loss_list, b.train_loss_list, rtol=1e-5 if form == "list" else 1e-6)
    assert a.train_acc_list == b.train_acc_list and a.test_acc_list == b.test_acc_list
    if form == "column":
        assert b.t_train.shape == (40,)


@pytest.mark.parametrize("bad, error, match", [
    ([[1.0, 2.0], [3.0]], TypeError, "x_train"),
    (np.array(["a", "b"]), TypeError, "x_train"),
    (np.array([[1 + 1j]]), TypeError, "x_train"),
])
def test_inputs_must_be_real_arrays(bad, error, match):
    x, t = blobs(10)
    with pytest.raises(error, match=match):
        Trainer(TinyNet(), bad, t[:len(bad)], x, t, verbose=False)


@pytest.mark.parametrize("which", ["x_train", "x_test", "x_val"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_rejected_at_construction(which, value):
    sets = {name: blobs(12, seed=i)[0] for i, name in enumerate(["x_train", "x_test", "x_val"])}
    sets[which][7, 3] = value
    _, t = blobs(12)
    with pytest.raises(ValueError, match=rf"{which} holds NaN or infinite values \(first in sample 7\)"):
        Trainer(TinyNet(), sets["x_train"], t, sets["x_test"], t, x_val=sets["x_val"], t_val=t, verbose=False)


def test_empty_sets_rejected():
    x, t = blobs(10)
    with pytest.raises(ValueError, match="training set is empty"):
        Trainer(TinyNet(), x[:0], t[:0], x, t, verbose=False)
    with pytest.raises(ValueError, match="test set is empty"):
        Trainer(TinyNet(), x, t, x[:0], t[:0], verbose=False)
    with pytest.raises(ValueError, match="required"):
        Trainer(TinyNet(), x, t, None, None, verbose=False)


@pytest.mark.parametrize("target, error, match", [
    (lambda t: t.astype(np.int64) - 1, ValueError, r"t_train: labels must be >= 0; got -1"),
    (lambda t: np.where(np.arange(len(t)) == 4, np.nan, t.astype(np.float32)), ValueError, "t_train.*finite"),
    (lambda t: t + 0.5, TypeError, "t_train.*integer"),
    (lambda t: -np.eye(3)[t], ValueError, "t_train.*negative"),
    (lambda t: 5 * np.eye(3)[t], ValueError, "t_train.*sum to 1"),
    (lambda t: t.astype(str), TypeError, "t_train"),
])
def test_bad_training_targets_rejected_at_construction(target, error, match):
    x, t = blobs(12)
    with pytest.raises(error, match=match):
        Trainer(TinyNet(), x, target(t), x, t, verbose=False)


@pytest.mark.parametrize("which", ["t_train", "t_test", "t_val"])
@pytest.mark.parametrize("bad", ["label_3", "label_255", "one_hot_width_4"])
def test_labels_out_of_range_rejected_before_any_update(which, bad):
    x, t = blobs(12)
    targets = {"t_train": t.copy(), "t_test": t.copy(), "t_val": t.copy()}
    if bad == "one_hot_width_4":
        targets[which] = np.eye(4, dtype=np.float32)[t]
    else:
        targets[which][5] = int(bad.split("_")[1])
    net = TinyNet()
    before = {k: v.copy() for k, v in net.params.items()}
    tr = Trainer(net, x, targets["t_train"], x, targets["t_test"], x_val=x, t_val=targets["t_val"],
                 epochs=1, verbose=False)
    with pytest.raises(ValueError, match=rf"{which}: .*the network predicts 3 classes"):
        tr.train()
    assert tr.current_iter == 0 and tr.train_loss_list == []
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)


def test_nan_loss_raises_naming_iteration():
    class Diverging(TinyNet):
        calls = 0

        def gradient(self, x, t):
            grads = super().gradient(x, t)
            Diverging.calls += 1
            if Diverging.calls == 14:
                self.last_layer.loss = np.float32(np.nan)
            return grads

    net = Diverging()
    tr = make_trainer(net, optimizer_param={"lr": 0.1})
    with pytest.raises(FloatingPointError, match=r"epoch 2, iteration 14") as info:
        tr.train()
    assert "nan" in str(info.value) and "smaller learning rate" in str(info.value)
    assert len(tr.train_loss_list) == 13  # the bad step was not recorded ...
    before = {k: v.copy() for k, v in net.params.items()}
    Diverging.calls = 100
    tr.train_step()  # ... and not applied: training can go on from the last good parameters
    assert any(not np.array_equal(before[k], net.params[k]) for k in before)


def test_inf_loss_raises():
    class Inf(TinyNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            self.last_layer.loss = np.inf
            return grads

    with pytest.raises(FloatingPointError, match="inf at epoch 1, iteration 1"):
        make_trainer(Inf()).train()


class BNNet(TinyNet):
    """TinyNet with a BatchNormalization layer after the first Affine; the loss of call ``nan_call`` is NaN."""

    def __init__(self, nan_call: int) -> None:
        super().__init__()
        from common.layers import BatchNormalization

        hidden = self.params["b1"].size
        self.params["gamma1"] = np.ones(hidden, dtype=np.float32)
        self.params["beta1"] = np.zeros(hidden, dtype=np.float32)
        self.bn = BatchNormalization(self.params["gamma1"], self.params["beta1"])
        self.layers.insert(1, self.bn)
        self.calls, self.nan_call = 0, nan_call

    def predict(self, x):
        y = self.layers[0].forward(x)
        y = self.bn.forward(y, train_flg=False)
        for layer in self.layers[2:]:
            y = layer.forward(y)
        return y

    def gradient(self, x, t):
        self.calls += 1
        y = self.layers[0].forward(x)
        y = self.bn.forward(y, train_flg=True)
        for layer in self.layers[2:]:
            y = layer.forward(y)
        self.last_layer.forward(y, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers[2:]):
            dout = layer.backward(dout)
        dout = self.bn.backward(dout)
        self.layers[0].backward(dout)
        if self.calls == self.nan_call:
            self.last_layer.loss = np.float32(np.nan)
        a1, a2 = self.layers[0], self.layers[3]
        return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db, "gamma1": self.bn.dgamma, "beta1": self.bn.dbeta}


@pytest.mark.parametrize("nan_call", [1, 5])
def test_nan_stop_leaves_network_and_batchnorm_statistics_as_before_the_bad_batch(nan_call):
    net = BNNet(nan_call)
    tr = make_trainer(net, optimizer="adam", optimizer_param={"lr": 0.01})
    for _ in range(nan_call - 1):
        tr.train_step()
    params = {k: v.copy() for k, v in net.params.items()}
    stats = [None if a is None else a.copy() for a in (net.bn.running_mean, net.bn.running_var)]
    objects = (net.bn.running_mean, net.bn.running_var)
    adam_iter = tr.optimizer.iter
    with pytest.raises(FloatingPointError, match=rf"iteration {nan_call}\b.*before this batch"):
        tr.train_step()
    for k, v in params.items():
        np.testing.assert_array_equal(net.params[k], v)
    for now, before, obj in zip((net.bn.running_mean, net.bn.running_var), stats, objects, strict=True):
        if before is None:  # never trained on: still None, or the zeros the Trainer's inference-mode predict made
            assert now is None or not np.any(now)
        else:
            assert now is obj
            np.testing.assert_array_equal(now, before)
    assert tr.optimizer.iter == adam_iter and len(tr.train_loss_list) == nan_call - 1


def test_non_finite_gradient_stops_without_update():
    class BadGrad(TinyNet):
        def gradient(self, x, t):
            grads = dict(super().gradient(x, t))
            grads["b2"] = np.full_like(grads["b2"], np.inf)
            return grads

    net = BadGrad()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(FloatingPointError, match=r"gradient of \['b2'\]"):
        make_trainer(net).train()
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)
