"""Chapter 8's ``DeepConvNet``: six 3x3 convolutions, three poolings, two affine layers with dropout.

    conv16 - relu - conv16 - relu - pool
    conv32 - relu - conv32(pad 2) - relu - pool
    conv64 - relu - conv64 - relu - pool
    affine(hidden) - relu - dropout - affine(K) - dropout - softmax

Notation: N batch, C channels, H x W image, K classes. He initialisation, std = sqrt(2 / fan_in), where fan_in is
C*FH*FW for a convolution and the flattened input size for an affine layer.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from common.layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss
from common.network import ConvNetBase, conv_params_with_defaults
from common.util import conv_output_size
from common.weight_init import init_weight

__all__ = ["DeepConvNet", "DEFAULT_CONV_PARAMS", "SHIPPED_PARAMS", "TRAIN_COMMAND"]

# trained with --augment --epochs 40 --lr-decay 0.9 (test accuracy 0.9961)
SHIPPED_PARAMS = Path(__file__).resolve().with_name("deep_convnet_params.npz")
TRAIN_COMMAND = "python -m ch08_deep.train_deepnet"

DEFAULT_CONV_PARAMS = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)


class DeepConvNet(ConvNetBase):
    """The book's deep CNN (123,552 parameters with the defaults; about 99.4 % on MNIST).

    Args:
        input_dim: (C, H, W) of one image.
        conv_param_1 ... conv_param_6: ``filter_num``, ``filter_size``, ``pad``, ``stride`` of each convolution
            (missing keys take the defaults above: 16, 16, 32, 32, 64, 64 filters of 3x3, pad 1 except conv 4's 2).
        hidden_size: units of the first affine layer.  output_size: K.
        dropout_ratio: of both dropout layers (the book's non-inverted dropout).
        dtype: float32 by default; float64 for gradient checks, float16 for half-precision inference.
        rng: a ``np.random.Generator`` for the dropout masks (default: NumPy's global generator).

    Parameters W1..W6, b1..b6 (convolutions), W7, b7, W8, b8 (affine layers), numbered in layer order.
    ``param_layers`` maps each index to the name of the layer in ``layers`` that holds it.
    """

    def __init__(self, input_dim: tuple[int, int, int] = (1, 28, 28),
                 conv_param_1: dict | None = None, conv_param_2: dict | None = None,
                 conv_param_3: dict | None = None, conv_param_4: dict | None = None,
                 conv_param_5: dict | None = None, conv_param_6: dict | None = None,
                 hidden_size: int = 50, output_size: int = 10, dropout_ratio: float = 0.5,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        if len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        self.input_dim = tuple(int(v) for v in input_dim)
        self.dtype = np.dtype(dtype)
        given = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        conv_params = [conv_params_with_defaults(p, d) for p, d in zip(given, DEFAULT_CONV_PARAMS, strict=True)]

        self.params: dict[str, np.ndarray] = {}
        self.layers: OrderedDict[str, object] = OrderedDict()
        self.param_layers: dict[int, str] = {}
        channels, h, w = self.input_dim
        index = 0
        for block in range(3):  # two convolutions and one pooling per block
            for cp in conv_params[2 * block:2 * block + 2]:
                index += 1
                fn, fs = cp["filter_num"], cp["filter_size"]
                W = init_weight((fn, channels, fs, fs), "he", dtype=self.dtype)  # fan_in = C*FH*FW
                b = np.zeros(fn, dtype=self.dtype)
                conv = Convolution(W, b, cp["stride"], cp["pad"], input_grad=index > 1)  # images need no gradient
                self._register(index, f"Conv{index}", W, b, conv)
                self.layers[f"Relu{index}"] = Relu()
                channels = fn
                h = conv_output_size(h, fs, cp["stride"], cp["pad"])
                w = conv_output_size(w, fs, cp["stride"], cp["pad"])
            self.layers[f"Pool{block + 1}"] = Pooling(pool_h=2, pool_w=2, stride=2)
            h, w = conv_output_size(h, 2, 2), conv_output_size(w, 2, 2)

        sizes = (channels * h * w, hidden_size, output_size)  # flattened features -> hidden -> K
        for affine in (1, 2):
            index += 1
            W = init_weight(sizes[affine - 1:affine + 1], "he", dtype=self.dtype)  # fan_in = rows of W
            b = np.zeros(W.shape[1], dtype=self.dtype)
            self._register(index, f"Affine{affine}", W, b, Affine(W, b))
            if affine == 1:
                self.layers[f"Relu{index}"] = Relu()
            self.layers[f"Dropout{affine}"] = Dropout(dropout_ratio, rng=rng)
        self.last_layer = SoftmaxWithLoss()

    def _register(self, index: int, name: str, W: np.ndarray, b: np.ndarray, layer) -> None:
        """Store W{index}, b{index} in ``params`` and ``layer`` (which holds them) in ``layers`` under ``name``."""
        self.params[f"W{index}"], self.params[f"b{index}"] = W, b
        self.layers[name] = layer
        self.param_layers[index] = name

    def loss(self, x: np.ndarray, t: np.ndarray, train_flg: bool = True) -> float:
        """Mean cross-entropy loss, with dropout active by default (the book's training loss); t labels or one-hot."""
        return super().loss(x, t, train_flg)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, h: float = 1e-4) -> dict[str, np.ndarray]:
        """Central-difference gradients (float64) of the training loss with the dropout masks of the last
        :meth:`gradient` call held fixed, so the two are comparable. Call ``gradient(x, t)`` first, same x."""
        n = self.as_input(x).shape[0]
        for name, layer in self.layers.items():
            if isinstance(layer, Dropout) and (layer.mask is None or layer.mask.shape[0] != n):
                raise ValueError(f"{name} has no dropout mask for a batch of {n}: call gradient(x, t) "
                                 "with the same x before numerical_gradient(x, t)")
        return super().numerical_gradient(x, t, h)

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the training loss (dropout active) by backpropagation; same keys/shapes/dtype as ``params``.

        The loss of this batch is left in ``self.last_layer.loss``.
        """
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i, name in self.param_layers.items():
            grads[f"W{i}"], grads[f"b{i}"] = self.layers[name].dW, self.layers[name].db
        return grads
