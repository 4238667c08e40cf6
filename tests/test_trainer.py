"""Trainer: one pass per epoch, int iterations per epoch, histories, printing, divergence, seeds, extras."""

from __future__ import annotations

import numpy as np
import pytest

from common.layers import Affine, Relu, SoftmaxWithLoss
from common.optimizer import Adam
from common.trainer import Trainer, batched_accuracy


class TinyNet:
    """(N, D) -> Affine -> Relu -> Affine -> SoftmaxWithLoss; records what the trainer feeds it.

    Column 0 of every input row carries the sample id / 1000 so batches can be traced back to samples.
    """

    def __init__(self, d: int = 6, hidden: int = 16, k: int = 3, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": (0.3 * rng.standard_normal((d, hidden))).astype(np.float32),
            "b1": np.zeros(hidden, dtype=np.float32),
            "W2": (0.3 * rng.standard_normal((hidden, k))).astype(np.float32),
            "b2": np.zeros(k, dtype=np.float32),
        }
        p = self.params
        self.layers = [Affine(p["W1"], p["b1"]), Relu(), Affine(p["W2"], p["b2"])]
        self.last_layer = SoftmaxWithLoss()
        self.seen_ids: list[np.ndarray] = []
        self.predict_sizes: list[int] = []
        self.loss_calls = 0

    def predict(self, x):
        self.predict_sizes.append(len(x))
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        self.loss_calls += 1
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t):
        self.seen_ids.append(np.rint(x[:, 0] * 1000).astype(int))
        y = x
        for layer in self.layers:
            y = layer.forward(y)
        self.last_layer.forward(y, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        a1, a2 = self.layers[0], self.layers[2]
        return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}


def blobs(n: int, d: int = 6, k: int = 3, seed: int = 0, one_hot: bool = False):
    """Three well-separated Gaussian blobs; column 0 is the sample id / 1000."""
    centers = 3 * np.random.default_rng(123).standard_normal((k, d - 1))  # the same classes in every split
    rng = np.random.default_rng(seed)
    t = (np.arange(n) % k).astype(np.uint8)
    x = np.empty((n, d), dtype=np.float32)
    x[:, 0] = np.arange(n) / 1000
    x[:, 1:] = centers[t] + 0.5 * rng.standard_normal((n, d - 1))
    if one_hot:
        t = np.eye(k, dtype=np.float32)[t]
    return x, t


def make_trainer(net=None, n_train=103, n_test=47, **kwargs):
    x_train, t_train = blobs(n_train, seed=1)
    x_test, t_test = blobs(n_test, seed=2)
    kwargs.setdefault("verbose", False)
    kwargs.setdefault("epochs", 3)
    kwargs.setdefault("mini_batch_size", 10)
    return Trainer(net or TinyNet(), x_train, t_train, x_test, t_test, **kwargs)


def test_every_sample_once_per_epoch_and_partial_last_batch():
    tr = make_trainer()
    assert isinstance(tr.iter_per_epoch, int) and tr.iter_per_epoch == 11
    assert tr.max_iter == 33
    tr.train()
    seen = tr.network.seen_ids
    assert len(seen) == 33
    for epoch in range(3):
        batches = seen[epoch * 11:(epoch + 1) * 11]
        assert [len(b) for b in batches] == [10] * 10 + [3]
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(103))
    # a fresh permutation each epoch
    assert not np.array_equal(np.concatenate(seen[:11]), np.concatenate(seen[11:22]))
    assert tr.current_epoch == 3 and tr.current_iter == 33


def test_history_lengths_and_learning():
    tr = make_trainer(epochs=4, optimizer="sgd", optimizer_param={"lr": 0.1})
    tr.train()
    assert len(tr.train_loss_list) == 4 * 11
    assert len(tr.train_acc_list) == len(tr.test_acc_list) == 4
    assert tr.val_acc_list == []
    assert all(isinstance(v, float) for v in tr.train_loss_list + tr.train_acc_list)
    assert tr.final_test_acc > 0.9
    assert np.mean(tr.train_loss_list[-11:]) < np.mean(tr.train_loss_list[:11])


def test_loss_comes_from_gradient_without_extra_forward():
    tr = make_trainer(epochs=1)
    tr.train()
    assert tr.network.loss_calls == 0
    # the recorded value is the batch loss before the update
    net = TinyNet()
    tr2 = make_trainer(net, epochs=1, seed=0)
    x0 = tr2.x_train[np.random.default_rng(0).permutation(103)[:10]]
    t0 = tr2.t_train[np.random.default_rng(0).permutation(103)[:10]]
    expected = float(SoftmaxWithLoss().forward(TinyNet().predict(x0), t0))
    assert tr2.train_step() == pytest.approx(expected, rel=1e-6)


class NoLastLayerNet(TinyNet):
    def __init__(self):
        super().__init__()
        self.lastLayer = self.last_layer  # the book's ch05 name
        del self.last_layer

    def gradient(self, x, t):
        self.last_layer = self.lastLayer
        try:
            return super().gradient(x, t)
        finally:
            del self.last_layer


def test_book_lastlayer_name_and_loss_fallback():
    net = NoLastLayerNet()
    tr = make_trainer(net, epochs=1)
    tr.train()
    assert net.loss_calls == 0 and len(tr.train_loss_list) == 11

    class Bare(TinyNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            self.last_layer.loss = None
            return grads

    bare = Bare()
    tr = make_trainer(bare, epochs=1)
    tr.train()
    assert bare.loss_calls == 11


def test_verbose_false_prints_nothing(capsys):
    make_trainer(verbose=False).train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_prints_book_lines(capsys):
    make_trainer(verbose=True, epochs=2).train()
    out = capsys.readouterr().out
    assert "=== epoch:1, train acc:" in out and "=== epoch:2, train acc:" in out and ", test acc:" in out
    assert "=============== Final Test Accuracy ===============" in out
    assert "test acc:" in out.split("Final Test Accuracy")[1]


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


def test_same_seed_same_history_different_seed_differs():
    a = make_trainer(TinyNet(seed=0), seed=5, optimizer="Momentum")
    b = make_trainer(TinyNet(seed=0), seed=5, optimizer="Momentum")
    c = make_trainer(TinyNet(seed=0), seed=6, optimizer="Momentum")
    for tr in (a, b, c):
        tr.train()
    assert a.train_loss_list == b.train_loss_list
    assert a.train_acc_list == b.train_acc_list and a.test_acc_list == b.test_acc_list
    assert a.train_loss_list != c.train_loss_list


def test_lr_decay_multiplies_lr_each_epoch():
    tr = make_trainer(optimizer="SGD", optimizer_param={"lr": 0.1}, lr_decay=0.5)
    tr.train()
    assert tr.optimizer.lr == pytest.approx(0.1 * 0.5 ** 3)
    assert make_trainer(optimizer_param={"lr": 0.1}).optimizer.lr == 0.1


def test_early_stopping_stops_on_validation_plateau(capsys):
    x_val, t_val = blobs(30, seed=3)
    tr = make_trainer(epochs=10, optimizer_param={"lr": 1e-12}, x_val=x_val, t_val=t_val,
                      early_stopping_patience=2, verbose=True)
    tr.train()
    assert tr.stopped_early
    assert len(tr.val_acc_list) == len(tr.train_acc_list) == 3  # best at epoch 1, no gain in 2 and 3
    assert tr.best_epoch == 1 and tr.current_iter == 33
    out = capsys.readouterr().out
    assert "val acc:" in out and "early stopping" in out


def test_early_stopping_does_not_trigger_while_improving():
    x_val, t_val = blobs(30, seed=3)
    tr = make_trainer(epochs=3, x_val=x_val, t_val=t_val, early_stopping_patience=5)
    tr.train()
    assert not tr.stopped_early and len(tr.val_acc_list) == 3


def test_early_stopping_needs_validation_set():
    with pytest.raises(ValueError, match="validation"):
        make_trainer(early_stopping_patience=2)


def test_evaluation_in_mini_batches_counts_every_sample():
    class Oracle(TinyNet):
        """Predicts the true label of the sample id it sees (labels are id % 3)."""

        def predict(self, x):
            self.predict_sizes.append(len(x))
            ids = np.rint(x[:, 0] * 1000).astype(int)
            return np.eye(3, dtype=np.float32)[ids % 3]

    net = Oracle()
    tr = make_trainer(net, epochs=1, eval_batch_size=10, evaluate_sample_num_per_epoch=25)
    tr.train()
    # one test sample to learn K (label check), per epoch 25 train + 25 test samples, final: the whole test set of 47
    assert net.predict_sizes == [1] + [10, 10, 5] * 2 + [10, 10, 10, 10, 7]
    assert tr.train_acc_list == [1.0] and tr.test_acc_list == [1.0] and tr.final_test_acc == 1.0


def test_one_hot_labels():
    x_train, t_train = blobs(60, seed=1, one_hot=True)
    x_test, t_test = blobs(30, seed=2, one_hot=True)
    tr = Trainer(TinyNet(), x_train, t_train, x_test, t_test, epochs=5, mini_batch_size=10,
                 optimizer="adam", optimizer_param={"lr": 0.01}, verbose=False, seed=0)
    tr.train()
    assert tr.final_test_acc > 0.9
    assert batched_accuracy(tr.network, x_test, t_test, 7) == tr.final_test_acc


def test_augment_is_called_with_rng_and_its_output_is_trained_on():
    calls = []

    def augment(x_batch, rng):
        assert isinstance(rng, np.random.Generator)
        calls.append(len(x_batch))
        out = x_batch.copy()
        out[:, 0] = 0.999  # every sample now claims id 999
        return out

    net = TinyNet()
    tr = make_trainer(net, epochs=2, augment=augment)
    tr.train()
    assert calls == ([10] * 10 + [3]) * 2
    assert all((ids == 999).all() for ids in net.seen_ids)


def test_optimizer_names_and_objects():
    assert type(make_trainer(optimizer="ADAM", optimizer_param={"lr": 0.001}).optimizer).__name__ == "Adam"
    opt = Adam(lr=0.002)
    assert make_trainer(optimizer=opt).optimizer is opt
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_trainer(optimizer="lbfgs")


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


class Oracle(TinyNet):
    """Predicts class (sample id % 3) from column 0; trains like TinyNet."""

    def predict(self, x):
        self.predict_sizes.append(len(x))
        ids = np.rint(x[:, 0] * 1000).astype(int)
        return np.eye(3, dtype=np.float32)[ids % 3]


def test_each_accuracy_is_measured_on_its_own_set():
    """Train, test and validation sets scored 1, 0 and 1/2: swapping any two sets in the epoch bookkeeping fails."""
    x_train, t_train = blobs(30, seed=1)
    x_test, t_test = blobs(12, seed=2)
    x_val, t_val = blobs(10, seed=3)
    t_test = (t_test + 1) % 3  # the oracle is wrong on every test sample
    t_val[:5] = (t_val[:5] + 1) % 3  # ... and on half of the validation set
    tr = Trainer(Oracle(), x_train, t_train, x_test, t_test, epochs=2, mini_batch_size=10, verbose=False,
                 x_val=x_val, t_val=t_val)
    tr.train()
    assert tr.train_acc_list == [1.0, 1.0]
    assert tr.test_acc_list == [0.0, 0.0] and tr.final_test_acc == 0.0
    assert tr.val_acc_list == [0.5, 0.5]


def test_nan_scores_never_count_as_correct():
    class NaNScores(TinyNet):
        def predict(self, x):
            return np.full((len(x), 3), np.nan, dtype=np.float32)

    x, _ = blobs(9)
    tr = Trainer(NaNScores(), x, np.zeros(9, np.uint8), x, np.zeros(9, np.uint8), epochs=1, verbose=False)
    tr.train()  # argmax of an all-NaN row is 0 == the label, yet none is correct
    assert tr.train_acc_list == [0.0] and tr.final_test_acc == 0.0


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
