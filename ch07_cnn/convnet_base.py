"""What the chapter 7-8 convolutional networks share: input checks, batched accuracy and ``.npz`` parameter files.

A network class sets ``input_dim`` (C, H, W), ``dtype`` and ``params`` (name -> array, the very arrays its layers
hold) and implements ``predict``. Networks with extra state that is not trained (batch-norm running statistics)
override :meth:`ConvNetBase.state_arrays` so that the state is saved and loaded with the parameters.

Notation: N batch, C channels, H x W image size, K classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from common import io
from common.util import batched_accuracy

__all__ = ["ConvNetBase", "conv_params_with_defaults"]

_CONV_KEYS = ("filter_num", "filter_size", "pad", "stride")


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
        if int(value) != value or value < (0 if key == "pad" else 1):
            raise ValueError(f"conv_param[{key!r}] must be a {'non-negative' if key == 'pad' else 'positive'} int, "
                             f"got {value!r}")
        merged[key] = int(value)
    return merged


class ConvNetBase:
    """Mix-in for networks with ``input_dim``, ``dtype``, ``params`` and ``predict(x)`` (inference by default)."""

    input_dim: tuple[int, int, int]
    dtype: np.dtype
    params: dict[str, np.ndarray]

    def predict(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - every network defines it
        raise NotImplementedError

    def as_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as an (N, C, H, W) array of the network's dtype.

        Accepts (N, C, H, W) or flattened (N, C*H*W) images (reshaped); anything else raises ValueError.
        """
        x = np.asarray(x)
        c, h, w = self.input_dim
        if x.ndim == 2 and x.shape[1] == c * h * w:
            x = x.reshape(-1, c, h, w)
        if x.ndim != 4 or x.shape[1:] != (c, h, w):
            raise ValueError(f"{type(self).__name__} expects images of shape (N, {c}, {h}, {w}) or (N, {c * h * w}), "
                             f"got {x.shape}")
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"images must be numeric, got dtype {x.dtype}")
        return x.astype(self.dtype, copy=False)

    def predict_labels(self, x: np.ndarray, batch_size: int = 100, desc: str | None = None) -> np.ndarray:
        """argmax of :meth:`predict` (inference mode), ``batch_size`` images at a time: (N,) intp.

        ``desc`` shows a progress bar with that label (for slow runs such as float16 arithmetic).
        """
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        starts = tqdm(range(0, len(x), batch_size), desc=desc, leave=False, disable=desc is None)
        chunks = [self.predict(x[i:i + batch_size]).argmax(axis=1) for i in starts]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.intp)

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
        """Fraction of correctly classified samples, predicted ``batch_size`` at a time in inference mode.

        Args:
            x: (N, C, H, W) images.  t: (N,) labels or (N, K) one-hot.
            batch_size: samples per ``predict`` call. Every sample counts, including a final partial batch
                (the book's version scored that batch as wrong).

        Returns:
            a Python float in [0, 1] (0.0 for no samples).
        """
        return batched_accuracy(self, x, t, batch_size)

    def backprop(self) -> dict[str, np.ndarray]:
        """Backward pass after a forward through ``loss``: dout = 1 at the loss, then every layer in reverse order.
        Returns the gradients W{i}, b{i} of the parameter-bearing layers (``param_layers``: index -> layer name)."""
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i, name in self.param_layers.items():
            grads[f"W{i}"] = self.layers[name].dW
            grads[f"b{i}"] = self.layers[name].db
        return grads

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every array a parameter file holds: the parameters (and, in subclasses, running statistics)."""
        return self.params

    def save_params(self, file_name: str | os.PathLike = "params.npz") -> Path:
        """Write :meth:`state_arrays` to an ``.npz`` file (atomically); returns the path written."""
        return io.save_params(self.state_arrays(), file_name)

    def load_params(self, file_name: str | os.PathLike = "params.npz", allow_pickle: bool = False) -> None:
        """Read parameters written by :meth:`save_params` and copy them IN PLACE into the network's arrays.

        Copying in place keeps the layers (and an optimizer's state) pointing at the same arrays; values are
        cast to the network's dtype (so a float16 copy of a network can load float32 weights).
        A ``.pkl`` file is refused unless ``allow_pickle=True`` (loading a pickle can run arbitrary code).
        Missing or unexpected names, or shapes that differ from this network's, raise ValueError.
        """
        loaded = io.load_params(file_name, allow_pickle=allow_pickle)
        state = self.state_arrays()
        missing = sorted(set(state) - set(loaded))
        extra = sorted(set(loaded) - set(state))
        if missing or extra:
            raise ValueError(f"{file_name}: parameter names do not match {type(self).__name__}; "
                             f"missing {missing}, unexpected {extra}")
        wrong = [f"{key}: file {loaded[key].shape}, network {state[key].shape}"
                 for key in state if loaded[key].shape != state[key].shape]
        if wrong:
            raise ValueError(f"{file_name}: parameter shapes do not match this {type(self).__name__} "
                             f"(built with other sizes?): " + "; ".join(wrong))
        for key, array in state.items():
            array[...] = loaded[key]
