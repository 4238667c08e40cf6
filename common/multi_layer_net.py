"""The fully connected network of chapter 6: Affine -> activation, repeated, then Affine -> SoftmaxWithLoss.

Notation: N batch size, D = input_size, K = output_size, L = number of Affine layers (hidden layers + 1).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from common.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from common.network import NetworkBase
from common.weight_init import init_weight

# "np" too: the book's modules have no __all__, so `from ... import *` in its scripts also brought NumPy.
__all__ = ["MultiLayerNet", "np"]

_ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}


def activation_layer(name: str):
    """A new Relu or Sigmoid layer for ``name`` ('relu' or 'sigmoid', case-insensitive)."""
    try:
        return _ACTIVATIONS[str(name).lower()]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; use 'relu' or 'sigmoid'") from None


class MultiLayerNet(NetworkBase):
    """A fully connected network ``input_size -> hidden_size_list... -> output_size`` with L2 weight decay.

    Args:
        input_size: D, features per sample (784 for MNIST).
        hidden_size_list: units of each hidden layer, e.g. [100, 100, 100].
        output_size: K, number of classes.
        activation: 'relu' or 'sigmoid' (case-insensitive).
        weight_init_std: a number (fixed std), 'relu'/'he' (sqrt(2 / fan_in)) or 'sigmoid'/'xavier'
            (sqrt(1 / fan_in)); see :mod:`common.weight_init`. Weights are drawn from NumPy's global generator.
        weight_decay_lambda: lambda of the penalty 0.5 * lambda * sum(W**2) over the weights (not the biases).
        dtype: dtype of every parameter; float32 by default, float64 for gradient checks.

    Attributes:
        params: ``W1``..``WL`` of shape (fan_in, fan_out) and ``b1``..``bL`` of shape (fan_out,), all ``dtype``.
        layers: ordered dict ``Affine1``, ``Activation_function1``, ..., ``AffineL`` (the book's names).
        last_layer: the SoftmaxWithLoss layer; after ``gradient`` its ``loss`` holds the batch's data loss.

    ``predict(x, train_flg=False)``, ``accuracy`` (batched; labels (N,), (N, 1) or one-hot), ``numerical_gradient``
    (in float64, of the training loss) and ``save_params``/``load_params`` come from
    :class:`common.network.NetworkBase`.
    """

    def __init__(self, input_size: int, hidden_size_list: list[int], output_size: int, activation: str = "relu",
                 weight_init_std: float | str = "relu", weight_decay_lambda: float = 0, dtype=np.float32) -> None:
        self.input_size = int(input_size)
        self.hidden_size_list = [int(h) for h in hidden_size_list]
        self.output_size = int(output_size)
        self.hidden_layer_num = len(self.hidden_size_list)
        self.activation = str(activation)
        activation_layer(activation)  # validate the name before building anything
        self.weight_decay_lambda = float(weight_decay_lambda)
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        for i in range(1, len(sizes)):
            self.params[f"W{i}"] = init_weight((sizes[i - 1], sizes[i]), weight_init_std, dtype=self.dtype)
            self.params[f"b{i}"] = np.zeros(sizes[i], dtype=self.dtype)

        self.layers: OrderedDict[str, object] = OrderedDict()
        for i in range(1, self.hidden_layer_num + 1):
            self.layers[f"Affine{i}"] = Affine(self.params[f"W{i}"], self.params[f"b{i}"], input_grad=i > 1)
            self._add_hidden_extras(i)
            self.layers[f"Activation_function{i}"] = activation_layer(activation)
            self._add_after_activation(i)
        last = self.hidden_layer_num + 1
        self.layers[f"Affine{last}"] = Affine(self.params[f"W{last}"], self.params[f"b{last}"], input_grad=last > 1)
        self.last_layer = SoftmaxWithLoss()

    # Hooks for MultiLayerNetExtend (batch normalization before the activation, dropout after it).
    def _add_hidden_extras(self, i: int) -> None:
        pass

    def _add_after_activation(self, i: int) -> None:
        pass

    @property
    def weight_keys(self) -> list[str]:
        """``['W1', ..., 'WL']``: the parameters the weight decay applies to."""
        return [f"W{i}" for i in range(1, self.hidden_layer_num + 2)]

    def penalty(self) -> float:
        """The weight-decay term that :meth:`loss` adds."""
        return self.weight_decay_penalty()

    def weight_decay_penalty(self) -> float:
        """0.5 * lambda * sum over the weights W1..WL of sum(W**2) (biases and BN parameters excluded)."""
        if self.weight_decay_lambda == 0:
            return 0.0
        return 0.5 * self.weight_decay_lambda * sum(float(np.sum(np.square(self.params[k]))) for k in self.weight_keys)

    def as_input(self, x: np.ndarray) -> np.ndarray:
        """``x`` as (N, D) of the network's dtype (N-D samples are flattened by the first Affine)."""
        x = super().as_input(x)
        if x.ndim < 2 or x[0].size != self.input_size:
            raise ValueError(f"{type(self).__name__} expects input of shape (N, {self.input_size}), got {x.shape}")
        return x

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagated gradient of ``loss(x, t, train_flg=True)``: a dict with the keys of ``params``, each of
        its parameter's shape and dtype; weights get the weight-decay term dW + lambda * W."""
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        lam = self.weight_decay_lambda
        grads: dict[str, np.ndarray] = {}
        for i in range(1, self.hidden_layer_num + 2):
            affine = self.layers[f"Affine{i}"]
            weight = self.params[f"W{i}"]
            grads[f"W{i}"] = affine.dW + lam * weight if lam else affine.dW
            grads[f"b{i}"] = affine.db
            bn = self.layers.get(f"BatchNorm{i}")
            if bn is not None:
                grads[f"gamma{i}"] = bn.dgamma
                grads[f"beta{i}"] = bn.dbeta
        return grads
