"""Chapter 5.7.2: the two-layer network built from layers, with the gradient by backpropagation.

Layers, in order: Affine1 (W1 (D, H), b1 (H,)) - Relu1 - Affine2 (W2 (H, K), b2 (K,)), then the loss layer
``lastLayer`` = SoftmaxWithLoss. ``predict`` runs the ordered layers; ``gradient`` runs the loss forward
and every layer's ``backward`` in reverse order and collects each Affine's dW and db. The layers hold
references to the arrays in ``params``, so optimizers update them in place.

Notation: N batch size, D input size, H hidden size, K output size (classes).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from common.layers import Affine, Relu, SoftmaxWithLoss
from common.network import NetworkBase

__all__ = ["TwoLayerNet"]


class TwoLayerNet(NetworkBase):
    """D -> H (ReLU) -> K, trained through a SoftmaxWithLoss layer.

    Args:
        input_size, hidden_size, output_size: D, H, K.
        weight_init_std: weights are drawn as weight_init_std * N(0, 1) from NumPy's global generator.
        dtype: of the parameters; float32 by default, float64 for gradient checks.

    Attributes:
        params: dict W1, b1, W2, b2.
        layers: OrderedDict Affine1, Relu1, Affine2.
        lastLayer: the SoftmaxWithLoss layer (also reachable as ``last_layer``).

    ``predict``, ``loss``, ``accuracy``, ``numerical_gradient`` (in float64) and the parameter files come from
    :class:`common.network.NetworkBase`; ``gradient`` is the book's backward loop.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, weight_init_std: float = 0.01,
                 dtype=np.float32) -> None:
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.params: dict[str, np.ndarray] = {
            "W1": (weight_init_std * np.random.randn(input_size, hidden_size)).astype(dtype),
            "b1": np.zeros(hidden_size, dtype=dtype),
            "W2": (weight_init_std * np.random.randn(hidden_size, output_size)).astype(dtype),
            "b2": np.zeros(output_size, dtype=dtype),
        }
        self.dtype = np.dtype(dtype)
        self.layers: OrderedDict[str, object] = OrderedDict()
        # the input is data: Affine1 skips dx, half of its backward products
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"], input_grad=False)
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.lastLayer = SoftmaxWithLoss()

    @property
    def last_layer(self) -> SoftmaxWithLoss:
        """The loss layer (the book's ``lastLayer``)."""
        return self.lastLayer

    @last_layer.setter
    def last_layer(self, layer: SoftmaxWithLoss) -> None:
        self.lastLayer = layer

    def as_input(self, x: np.ndarray) -> np.ndarray:
        """x (N, D), or (N, ...) with D values per sample, as an array of the network's dtype."""
        x = super().as_input(x)
        d = self.params["W1"].shape[0]
        if x.ndim < 2 or x[0].size != d:
            raise ValueError(f"expected input of shape (N, {d}) (or (N, ...) with {d} values per sample), got {x.shape}")
        return x

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradient of ``loss(x, t)`` by backpropagation: a dict W1, b1, W2, b2 of the parameters' shapes.
        The loss of this batch is left in ``lastLayer.loss``."""
        self.loss(x, t)
        dout = self.lastLayer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        affine1, affine2 = self.layers["Affine1"], self.layers["Affine2"]
        return {"W1": affine1.dW, "b1": affine1.db, "W2": affine2.dW, "b2": affine2.db}
