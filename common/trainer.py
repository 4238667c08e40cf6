"""The chapter-6 ``Trainer``: mini-batch training of any network with ``params``, ``gradient`` and ``predict``.

How it differs from the book's trainer (same constructor, same printed lines, same history lists):

* an epoch is one pass over a fresh random permutation of the training set, so every sample is used exactly
  once per epoch (the book samples each batch with replacement);
* ``iter_per_epoch`` is the int ceil(N / mini_batch_size) and the last, smaller batch is trained on (the book's
  float iterations-per-epoch silently skips epochs when N is not a multiple of the batch size);
* the loss recorded in ``train_loss_list`` is the one ``network.gradient`` already computed (read from
  ``network.last_layer.loss`` or ``network.lastLayer.loss``), i.e. the mini-batch loss *before* the update and
  without a weight-decay penalty; the book ran an extra forward pass after the update to get it. Only networks
  without such a layer fall back to ``network.loss(x, t)``;
* no loss line per iteration: one tqdm progress bar per epoch shows the running mean loss;
* accuracies are computed in mini-batches of ``eval_batch_size`` (memory stays small for CNNs) and count every
  sample, including the last partial batch;
* a NaN or infinite loss (or gradient) stops training at once with a ``FloatingPointError`` naming the epoch and
  iteration, all or nothing: the optimizer update of that batch is not applied and the running statistics of
  batch-norm layers (``running_mean``/``running_var``, which the forward pass already changed) are restored, so
  the network is exactly as it was before the bad batch;
* inputs are checked once, at construction: arrays (lists are converted) of finite real numbers, non-empty
  training and test sets, targets as labels (N,), a label column (N, 1) (flattened to (N,)) or one-hot (N, K)
  with valid rows; label ranges and one-hot widths are checked against the network's output width before the
  first update; counts must be ints (``epochs`` >= 0, batch sizes and ``evaluate_sample_num_per_epoch`` >= 1);
* accuracies count a sample whose scores contain NaN or inf as wrong (``common.network.batched_accuracy``);
* extras, all off by default: ``seed``, ``lr_decay``, a validation set with early stopping, data augmentation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from common.functions import check_target
from common.network import batched_accuracy
from common.optimizer import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, check_rate, make_optimizer

# The book's common/trainer.py has no __all__ and star-imports common.optimizer, so `from common.trainer import *`
# brought `np` and the optimizer classes too; they are listed to keep that working.
__all__ = ["Trainer", "batched_accuracy", "np", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]


def _count(name: str, value, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; integral floats (20.0) pass, bools, NaN, 2.5 and strings do not."""
    ok = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok or not math.isfinite(value) or value != int(value) or value < minimum:
        kind = "a non-negative" if minimum == 0 else "a positive" if minimum == 1 else f"an int >= {minimum},"
        raise ValueError(f"{name} must be {kind} int, got {value!r}")
    return int(value)


def _as_inputs(name: str, x) -> np.ndarray:
    """Inputs (N, ...) as a real array with at least one axis and only finite values (checked once, here)."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise TypeError(f"{name} must be an array (N, ...) of numbers; converting it failed: {err}") from None
    if x.dtype.kind not in "iuf" or x.ndim == 0:
        raise TypeError(f"{name} must be an array (N, ...) of real numbers, got dtype {x.dtype}, shape {x.shape}")
    if x.dtype.kind == "f" and len(x):
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if bad.any():
            raise ValueError(f"{name} holds NaN or infinite values (first in sample {int(np.argmax(bad))}); "
                             "training on them would poison the parameters and BatchNormalization statistics")
    return x


def _as_targets(name: str, t: np.ndarray, n: int) -> np.ndarray:
    """Targets of ``n`` samples: labels (n,) (a column (n, 1) is flattened) or one-hot (n, K), checked."""
    try:
        checked = check_target(t, n, None)  # K is not known yet: labels >= 0, one-hot rows valid
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None
    return checked if checked.ndim == 2 else (t.reshape(n) if t.ndim == 2 else t)


class Trainer:
    """Train ``network`` with mini-batches for a number of epochs and record loss and accuracy histories.

    Args:
        network: has ``params`` (dict of arrays), ``gradient(x, t) -> grads`` (same keys) and ``predict(x)``.
        x_train: (N, ...) training inputs (finite).  t_train: (N,) labels, a column (N, 1) or (N, K) one-hot.
        x_test, t_test: the test set, same layout.
        epochs: passes over the training set.
        mini_batch_size: samples per update; the last batch of an epoch holds the rest.
        optimizer: a name (sgd, momentum, nesterov, adagrad, rmsprop, adam; case-insensitive) or an object
            with ``update(params, grads)``.
        optimizer_param: keyword arguments of the optimizer (default ``{'lr': 0.01}``).
        evaluate_sample_num_per_epoch: evaluate the per-epoch train/test accuracy on the first this many
            samples of each set (all when None). The final test accuracy always uses the whole test set.
        verbose: print the book's epoch lines and show progress bars; False prints nothing at all.

    Keyword-only extras:
        seed: seeds the ``np.random.Generator`` used for shuffling (and passed to ``augment``).
        lr_decay: multiply ``optimizer.lr`` by this factor after every epoch.
        x_val, t_val: a validation set; its accuracy goes to ``val_acc_list`` every epoch.
        early_stopping_patience: stop when the validation accuracy has not improved for this many epochs
            (needs ``x_val``; the test set is never used for decisions).
        augment: ``augment(x_batch, rng) -> x_batch``, applied to every training mini-batch.
        eval_batch_size: samples per ``predict`` call when measuring accuracy.
    """

    def __init__(self, network, x_train: np.ndarray, t_train: np.ndarray, x_test: np.ndarray, t_test: np.ndarray,
                 epochs: int = 20, mini_batch_size: int = 100, optimizer="SGD", optimizer_param: dict | None = None,
                 evaluate_sample_num_per_epoch: int | None = None, verbose: bool = True, *,
                 seed: int | None = None, lr_decay: float | None = None,
                 x_val: np.ndarray | None = None, t_val: np.ndarray | None = None,
                 early_stopping_patience: int | None = None,
                 augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
                 eval_batch_size: int = 100) -> None:
        sets = {}
        for name, x, t in (("train", x_train, t_train), ("test", x_test, t_test), ("val", x_val, t_val)):
            if (x is None) != (t is None):
                raise ValueError(f"give both x_{name} and t_{name}, or neither")
            if x is None:
                continue
            x = _as_inputs(f"x_{name}", x)
            if len(x) == 0:
                raise ValueError(f"the {'training' if name == 'train' else name} set is empty (x_{name} has shape "
                                 f"{x.shape})")
            t = np.asarray(t)
            if t.ndim == 0 or len(t) != len(x):
                raise ValueError(f"x_{name} has {len(x)} samples but t_{name} has "
                                 f"{len(t) if t.ndim else 'shape ()'}")
            sets[name] = (x, _as_targets(f"t_{name}", t, len(x)))
        epochs = _count("epochs", epochs, 0)
        mini_batch_size = _count("mini_batch_size", mini_batch_size, 1)
        eval_batch_size = _count("eval_batch_size", eval_batch_size, 1)
        if evaluate_sample_num_per_epoch is not None:
            evaluate_sample_num_per_epoch = _count("evaluate_sample_num_per_epoch", evaluate_sample_num_per_epoch, 1)
        if lr_decay is not None:
            lr_decay = check_rate("lr_decay", lr_decay)
        if seed is not None:
            seed = _count("seed", seed, 0)
        if early_stopping_patience is not None:
            if x_val is None:
                raise ValueError("early_stopping_patience needs a validation set (x_val, t_val); "
                                 "the test set is never used to decide when to stop")
            early_stopping_patience = _count("early_stopping_patience", early_stopping_patience, 1)
        if optimizer_param is not None and not isinstance(optimizer_param, dict):
            raise TypeError(f"optimizer_param must be a dict of keyword arguments, got {optimizer_param!r}")
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be a function (x_batch, rng) -> x_batch, got {augment!r}")
        if "test" not in sets:
            raise ValueError("x_test and t_test are required (the book's Trainer reports test accuracy every epoch)")
        x_train, t_train = sets["train"]
        x_test, t_test = sets["test"]
        x_val, t_val = sets.get("val", (None, None))

        self.network = network
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.x_val, self.t_val = x_val, t_val
        self.epochs = epochs
        self.batch_size = mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.verbose = verbose
        self.lr_decay = lr_decay
        self.early_stopping_patience = early_stopping_patience
        self.augment = augment
        self.eval_batch_size = eval_batch_size
        self.rng = np.random.default_rng(seed)

        if isinstance(optimizer, str):
            params = {"lr": 0.01} if optimizer_param is None else dict(optimizer_param)
            self.optimizer = make_optimizer(optimizer, **params)
        elif hasattr(optimizer, "update"):
            self.optimizer = optimizer
        else:
            raise TypeError(f"optimizer must be a name or an object with update(params, grads), got {optimizer!r}")
        if lr_decay is not None and not hasattr(self.optimizer, "lr"):
            raise TypeError(f"lr_decay needs an optimizer with an lr attribute; {self.optimizer!r} has none")

        self.train_size = len(x_train)
        self.iter_per_epoch = math.ceil(self.train_size / self.batch_size)
        self.max_iter = self.epochs * self.iter_per_epoch
        self.current_iter = 0
        self.current_epoch = 0

        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self.val_acc_list: list[float] = []
        self.best_val_acc: float | None = None
        self.best_epoch: int | None = None
        self.stopped_early = False
        self.final_test_acc: float | None = None

        self._perm: np.ndarray | None = None
        self._batch_in_epoch = 0
        self._epoch_loss_sum = 0.0
        self._bar = None
        self._labels_checked = False

    # -- one update ---------------------------------------------------------------------------------------------

    def _batch_loss(self, x_batch: np.ndarray, t_batch: np.ndarray) -> float:
        for name in ("last_layer", "lastLayer"):
            layer = getattr(self.network, name, None)
            if layer is not None and getattr(layer, "loss", None) is not None:
                return float(layer.loss)
        return float(self.network.loss(x_batch, t_batch))

    def train_step(self) -> float:
        """One optimizer update on the next mini-batch of the current epoch; returns that batch's loss.

        The first step of an epoch draws a new permutation; the last one closes the epoch (accuracies,
        printing, lr decay, early stopping).
        """
        if not self._labels_checked:
            self._check_label_range()
        if self._batch_in_epoch == 0:
            self._perm = self.rng.permutation(self.train_size)
            self._epoch_loss_sum = 0.0
            self._bar = tqdm(total=self.iter_per_epoch, desc=f"epoch {self.current_epoch + 1}/{self.epochs}",
                             disable=not self.verbose, leave=False)
        start = self._batch_in_epoch * self.batch_size
        idx = self._perm[start:start + self.batch_size]
        x_batch, t_batch = self.x_train[idx], self.t_train[idx]
        if self.augment is not None:
            x_batch = self.augment(x_batch, self.rng)

        saved = self._running_statistics()
        grads = self.network.gradient(x_batch, t_batch)
        loss = self._batch_loss(x_batch, t_batch)
        bad = None if math.isfinite(loss) else f"the training loss became {loss}"
        if bad is None:
            bad_keys = [key for key, g in grads.items() if not np.isfinite(g).all()]
            if bad_keys:
                bad = f"the gradient of {bad_keys} became non-finite (loss {loss})"
        if bad is not None:
            # all or nothing: no optimizer update, and the batch-norm running statistics are put back as they were
            for layer, name, original, values in saved:
                if values is not None:
                    original[...] = values
                setattr(layer, name, original)
            where = (f"at epoch {self.current_epoch + 1}, iteration {self.current_iter + 1} "
                     f"(batch {self._batch_in_epoch + 1} of the epoch)")
            self._close_bar()
            self._batch_in_epoch = 0
            raise FloatingPointError(
                f"{bad} {where}; training diverged. The parameters and running statistics are those before this "
                f"batch. Try a smaller learning rate (optimizer_param={{'lr': ...}})."
            )
        self.optimizer.update(self.network.params, grads)
        self.train_loss_list.append(loss)
        self.current_iter += 1
        self._batch_in_epoch += 1
        self._epoch_loss_sum += loss
        self._bar.update(1)
        self._bar.set_postfix(loss=f"{self._epoch_loss_sum / self._batch_in_epoch:.4f}", refresh=False)

        if self._batch_in_epoch == self.iter_per_epoch:
            self._batch_in_epoch = 0
            self._close_bar()
            self._end_epoch()
        return loss

    def _check_label_range(self) -> None:
        """Once, before the first update: every label of every set lies in [0, K) and one-hot targets have width K,
        where K is the width of the network's scores for one test sample (so a bad test label is reported now, not
        after the first epoch's work)."""
        k = np.shape(self.network.predict(self.x_test[:1]))[-1]
        for name, t in (("train", self.t_train), ("test", self.t_test), ("val", self.t_val)):
            if t is not None:
                try:
                    check_target(t, len(t), k)
                except (TypeError, ValueError) as err:
                    raise type(err)(f"t_{name}: {err} (the network predicts {k} classes)") from None
        self._labels_checked = True

    def _running_statistics(self) -> list[tuple]:
        """(layer, name, the object, a copy of its values) of every ``running_mean`` / ``running_var`` of the
        network's layers.

        A training forward pass updates them (or creates them, on the first batch) before the loss is known, so a
        diverging batch is undone from these copies (a few KB per BatchNormalization layer)."""
        layers = getattr(self.network, "layers", None)
        if isinstance(layers, dict):
            layers = layers.values()
        saved = []
        for layer in layers if layers is not None else ():
            for name in ("running_mean", "running_var"):
                if hasattr(layer, name):
                    value = getattr(layer, name)
                    saved.append((layer, name, value, value.copy() if isinstance(value, np.ndarray) else None))
        return saved

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # -- epoch bookkeeping --------------------------------------------------------------------------------------

    def _first(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.evaluate_sample_num_per_epoch
        return (x, t) if n is None else (x[:n], t[:n])

    def _end_epoch(self) -> None:
        self.current_epoch += 1
        train_acc = batched_accuracy(self.network, *self._first(self.x_train, self.t_train), self.eval_batch_size)
        test_acc = batched_accuracy(self.network, *self._first(self.x_test, self.t_test), self.eval_batch_size)
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        line = f"=== epoch:{self.current_epoch}, train acc:{train_acc}, test acc:{test_acc}"
        if self.x_val is not None:
            val_acc = batched_accuracy(self.network, self.x_val, self.t_val, self.eval_batch_size)
            self.val_acc_list.append(val_acc)
            line += f", val acc:{val_acc}"
            if self.best_val_acc is None or val_acc > self.best_val_acc:
                self.best_val_acc, self.best_epoch = val_acc, self.current_epoch
        if self.verbose:
            print(line + " ===")

        if self.lr_decay is not None:
            self.optimizer.lr *= self.lr_decay
        patience = self.early_stopping_patience
        if patience is not None and self.current_epoch - self.best_epoch >= patience:
            self.stopped_early = True
            if self.verbose:
                print(f"early stopping: validation accuracy has not improved for {patience} epochs "
                      f"(best {self.best_val_acc} at epoch {self.best_epoch})")

    # -- the whole run ------------------------------------------------------------------------------------------

    def train(self) -> None:
        """Run ``max_iter`` updates (``epochs`` full epochs, fewer on early stopping), then measure and print the
        final accuracy on the whole test set (stored in ``final_test_acc``)."""
        while self.current_iter < self.max_iter and not self.stopped_early:
            self.train_step()
        self.final_test_acc = batched_accuracy(self.network, self.x_test, self.t_test, self.eval_batch_size)
        if self.verbose:
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{self.final_test_acc}")
