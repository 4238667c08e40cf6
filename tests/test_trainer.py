"""Trainer: one pass per epoch, int iterations per epoch, histories, printing, seeds, lr decay, early
stopping, evaluation in mini-batches, each accuracy on its own set, augment and optimizers."""

from __future__ import annotations

import numpy as np
import pytest
from trainer_helpers import TinyNet, blobs, make_trainer

from common.layers import SoftmaxWithLoss
from common.optimizer import Adam
from common.trainer import Trainer, batched_accuracy


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
