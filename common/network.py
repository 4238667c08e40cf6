"""What every network of the book shares: the train-mode protocol, input checks, batched accuracy, a float64
numerical gradient and ``.npz`` parameter files that are loaded all or nothing.

A network sets ``params`` (name -> array, the very arrays its layers hold), ``layers`` (an ordered dict, in
forward order), ``last_layer`` (a loss layer) and ``dtype``; convolutional networks also set ``input_dim``
(C, H, W). It writes its own ``gradient`` as the book does: the loss, then ``dout = last_layer.backward(1)`` and
every layer's ``backward`` in reverse order.

Train-mode protocol: a layer whose class sets ``uses_train_flg = True`` (Dropout, BatchNormalization, blocks
containing them) gets ``forward(x, train_flg)``; every other layer gets ``forward(x)``.

Notation: N batch, C channels, H x W image, D features, K classes.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from common import io
from common.functions import labels_from_target, predicted_labels
from common.gradient import numerical_gradient

__all__ = ["NetworkBase", "ConvNetBase", "forward_layers", "batched_accuracy", "conv_params_with_defaults",
           "as_float64"]

_CONV_KEYS = ("filter_num", "filter_size", "pad", "stride")


def forward_layers(layers: Iterable, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
    """Run ``x`` through ``layers`` in order, passing ``train_flg`` to the layers that use it."""
    for layer in layers:
        x = layer.forward(x, train_flg) if getattr(layer, "uses_train_flg", False) else layer.forward(x)
    return x


def batched_accuracy(network, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
    """Fraction of samples whose predicted class equals the label, ``batch_size`` samples per ``predict`` call.

    Args:
        network: anything with ``predict(x) -> (n, K)`` scores (inference mode).
        x: (N, ...) inputs.  t: (N,) labels, a column (N, 1) or one-hot (N, K), checked against K.
        batch_size: samples per call; the last chunk may be smaller and still counts (the book scored it as wrong).

    Returns:
        a Python float in [0, 1]; 0.0 for an empty set. A sample with a NaN or infinite score is wrong.
    """
    n = len(x)
    if len(t) != n:
        raise ValueError(f"x has {n} samples but t has {len(t)}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    batch_size = int(batch_size)
    correct, labels = 0, None
    for start in range(0, n, batch_size):
        y = network.predict(x[start:start + batch_size])
        if labels is None:  # checked once K is known, before the remaining batches
            labels = labels_from_target(t, y.shape[1])
        correct += int(np.sum(predicted_labels(y) == labels[start:start + batch_size]))
    return correct / n if n else 0.0


def conv_params_with_defaults(conv_param: dict | None, default: dict) -> dict:
    """``default`` updated by ``conv_param``; unknown keys and non-positive sizes raise ValueError."""
    merged = dict(default)
    if conv_param is not None:
        unknown = sorted(set(conv_param) - set(_CONV_KEYS))
        if unknown:
            raise ValueError(f"unknown conv_param keys {unknown}; expected some of {list(_CONV_KEYS)}")
        merged.update(conv_param)
    for key in _CONV_KEYS:
        value = merged[key]
        low = 0 if key == "pad" else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or int(value) != value \
                or value < low:
            raise ValueError(f"conv_param[{key!r}] must be a {'non-negative' if low == 0 else 'positive'} int, "
                             f"got {value!r}")
        merged[key] = int(value)
    return merged


def as_float64(obj):
    """A deep copy of ``obj`` (a network or layer) in which every floating-point array is float64.

    Arrays shared inside ``obj`` (a parameter held by ``params`` and by its layer) stay shared in the copy, so
    changing ``copy.params[key]`` changes what the copy's layers compute. The original is not touched.
    """
    twin = copy.deepcopy(obj)
    converted: dict[int, np.ndarray] = {}
    seen: set[int] = set()

    def cast(value):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype != np.float64:
            if id(value) not in converted:
                converted[id(value)] = value.astype(np.float64)
            return converted[id(value)]
        visit(value)
        return value

    def visit(value) -> None:
        if id(value) in seen or isinstance(value, (np.ndarray, str, bytes, int, float, type)) or value is None:
            return
        seen.add(id(value))
        if isinstance(value, dict):
            for key in list(value):
                value[key] = cast(value[key])
        elif isinstance(value, list):
            value[:] = [cast(item) for item in value]
        elif hasattr(value, "__dict__") and type(value).__module__.split(".")[0] not in ("numpy", "builtins"):
            for key, item in vars(value).items():
                setattr(value, key, cast(item))
            if isinstance(getattr(value, "dtype", None), np.dtype):
                value.dtype = np.dtype(np.float64)

    visit(twin)
    return twin


class NetworkBase:
    """Mix-in for networks with ``params``, ``layers``, ``last_layer`` and ``dtype`` (see the module docstring)."""

    params: dict[str, np.ndarray]
    dtype: np.dtype

    def as_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as a numeric array of the network's dtype (subclasses also check its shape)."""
        x = np.asarray(x)
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"{type(self).__name__} expects numeric input, got dtype {x.dtype}")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"{type(self).__name__} expects a non-empty batch (N, ...), got shape {x.shape}")
        return x.astype(self.dtype, copy=False)

    def predict(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Scores (N, K) before the softmax; Dropout and BatchNormalization run in training mode when ``train_flg``."""
        return forward_layers(self.layers.values(), self.as_input(x), train_flg)

    def penalty(self) -> float:
        """A term added to the loss (weight decay); 0 here."""
        return 0.0

    def loss(self, x: np.ndarray, t: np.ndarray, train_flg: bool = False) -> float:
        """Mean cross-entropy of the scores of x against t (labels (N,), a column (N, 1) or one-hot (N, K))."""
        return self.last_layer.forward(self.predict(x, train_flg), t) + self.penalty()

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
        """Fraction of x classified as t, predicted ``batch_size`` samples at a time in inference mode; every sample
        counts, a final partial batch included, and a NaN score is never correct (see :func:`batched_accuracy`)."""
        return batched_accuracy(self, x, t, batch_size)

    def predict_labels(self, x: np.ndarray, batch_size: int = 100, desc: str | None = None) -> np.ndarray:
        """Predicted classes (N,) intp, ``batch_size`` samples at a time (-1 for non-finite scores).
        ``desc`` shows a progress bar with that label."""
        from tqdm.auto import tqdm

        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        starts = tqdm(range(0, len(x), int(batch_size)), desc=desc, leave=False, disable=desc is None)
        chunks = [predicted_labels(self.predict(x[i:i + batch_size])) for i in starts]
        return np.concatenate(chunks).astype(np.intp) if chunks else np.zeros(0, dtype=np.intp)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, h: float = 1e-4) -> dict[str, np.ndarray]:
        """Central-difference gradients of the training loss for every parameter, computed in float64.

        A float32 network's own arithmetic is too coarse for a step of 1e-4 (differences of 1e-4 would look like
        wrong backprop), so the loss is evaluated on a float64 copy of the network: the results are float64
        arrays with ``params``' keys and shapes, and this network (its running statistics too) is not changed.
        Slow: one forward pass per parameter element and direction; use tiny inputs.
        """
        twin = as_float64(self)
        for layer in twin.layers.values():  # dropout: the masks of the last forward pass stay fixed
            if hasattr(layer, "reuse_mask"):
                layer.reuse_mask = True
        x64 = np.asarray(x).astype(np.float64)

        def f(_):
            return twin.loss(x64, t, train_flg=True)

        return {key: numerical_gradient(f, param, h) for key, param in twin.params.items()}

    # -- parameter files ----------------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every array a parameter file holds: the parameters (and, in subclasses, running statistics)."""
        return self.params

    def save_params(self, file_name: str | os.PathLike = "params.npz") -> Path:
        """Write :meth:`state_arrays` to an ``.npz`` file (atomically); returns the path written."""
        return io.save_params(self.state_arrays(), file_name)

    def load_params(self, file_name: str | os.PathLike = "params.npz", allow_pickle: bool = False) -> None:
        """Read a file written by :meth:`save_params` and copy it IN PLACE into the network's arrays, all or nothing.

        Every array is checked first (names, shapes, finite real values that fit this network's dtype); only then
        is anything copied, so a bad file leaves the network as it was. Copying in place keeps the layers (and an
        optimizer's state) pointing at the same arrays. A ``.pkl`` file is refused unless ``allow_pickle=True``.
        """
        loaded = io.load_params(file_name, allow_pickle=allow_pickle)
        state = self.state_arrays()
        name = type(self).__name__
        missing, extra = sorted(set(state) - set(loaded)), sorted(set(loaded) - set(state))
        if missing or extra:
            raise ValueError(f"{file_name}: parameter names do not match {name}; missing {missing}, unexpected {extra}")
        wrong = [f"{key}: file {np.shape(loaded[key])}, network {state[key].shape}"
                 for key in state if np.shape(loaded[key]) != state[key].shape]
        if wrong:
            raise ValueError(f"{file_name}: parameter shapes do not match this {name} (built with other sizes?): "
                             + "; ".join(wrong))
        cast = {}
        for key, array in state.items():
            value = np.asarray(loaded[key])
            if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
                raise ValueError(f"{file_name}: {key} must hold finite real numbers, got dtype {value.dtype}"
                                 + ("" if value.dtype.kind not in "fiu" else " with NaN or infinite values"))
            with np.errstate(over="ignore"):
                cast[key] = value.astype(array.dtype)
            if not np.all(np.isfinite(cast[key])):
                raise ValueError(f"{file_name}: {key} has values too large for {array.dtype}")
        for key, array in state.items():
            array[...] = cast[key]


class ConvNetBase(NetworkBase):
    """A network of images: ``input_dim`` = (C, H, W); accepts (N, C, H, W) or flattened (N, C*H*W) input."""

    input_dim: tuple[int, int, int]

    def as_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an (N, C, H, W) array of the network's dtype; anything else raises ValueError/TypeError."""
        x = np.asarray(x)
        c, h, w = self.input_dim
        if x.ndim == 2 and x.shape[1] == c * h * w:
            x = x.reshape(-1, c, h, w)
        if x.ndim != 4 or x.shape[1:] != (c, h, w):
            raise ValueError(f"{type(self).__name__} expects images of shape (N, {c}, {h}, {w}) or (N, {c * h * w}), "
                             f"got {x.shape}")
        return super().as_input(x)
