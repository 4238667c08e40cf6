"""Chapter 7's ``SimpleConvNet``: conv - relu - pool - affine - relu - affine - softmax.

Notation: N batch, C channels, H x W image, FN filters of FH x FW (square, ``filter_size``), OH x OW conv output,
PH x PW pooled output, K classes.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ch07_cnn.convnet_base import ConvNetBase, conv_params_with_defaults
from common.gradient import numerical_gradient
from common.layers import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss
from common.util import conv_output_size

__all__ = ["SimpleConvNet", "DEFAULT_CONV_PARAM"]

DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


class SimpleConvNet(ConvNetBase):
    """Conv(FN, FH x FW) - Relu - Pool(2x2, stride 2) - Affine(hidden) - Relu - Affine(K) - SoftmaxWithLoss.

    Args:
        input_dim: (C, H, W) of one image.
        conv_param: ``filter_num``, ``filter_size``, ``pad``, ``stride`` (missing keys take the defaults
            30, 5, 0, 1).
        hidden_size: units of the hidden affine layer.
        output_size: K.
        weight_init_std: std of the Gaussian initial weights (all three weight arrays, as in the book).
        dtype: float32 by default; float64 for gradient checks.

    Parameters (``params``): W1 (FN, C, FH, FW), b1 (FN,), W2 (FN*PH*PW, hidden), b2 (hidden,),
    W3 (hidden, K), b3 (K,): 433,890 numbers with the defaults.
    """

    def __init__(self, input_dim: tuple[int, int, int] = (1, 28, 28), conv_param: dict | None = None,
                 hidden_size: int = 100, output_size: int = 10, weight_init_std: float = 0.01,
                 dtype=np.float32) -> None:
        if len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        self.input_dim = tuple(int(v) for v in input_dim)
        self.dtype = np.dtype(dtype)
        cp = conv_params_with_defaults(conv_param, DEFAULT_CONV_PARAM)
        c, h, w = self.input_dim
        fn, fs = cp["filter_num"], cp["filter_size"]
        oh = conv_output_size(h, fs, cp["stride"], cp["pad"])
        ow = conv_output_size(w, fs, cp["stride"], cp["pad"])
        ph, pw = conv_output_size(oh, 2, 2), conv_output_size(ow, 2, 2)
        pool_output_size = fn * ph * pw

        def randn(*shape: int) -> np.ndarray:
            return (weight_init_std * np.random.randn(*shape)).astype(self.dtype)

        self.params = {
            "W1": randn(fn, c, fs, fs),
            "b1": np.zeros(fn, dtype=self.dtype),
            "W2": randn(pool_output_size, hidden_size),
            "b2": np.zeros(hidden_size, dtype=self.dtype),
            "W3": randn(hidden_size, output_size),
            "b3": np.zeros(output_size, dtype=self.dtype),
        }
        self.layers = OrderedDict()
        self.layers["Conv1"] = Convolution(self.params["W1"], self.params["b1"], cp["stride"], cp["pad"])
        self.layers["Relu1"] = Relu()
        self.layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = Affine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W3"], self.params["b3"])
        self.last_layer = SoftmaxWithLoss()
        # parameter index -> the layer holding W{i}, b{i}
        self.param_layers = {1: "Conv1", 2: "Affine1", 3: "Affine2"}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) (or flattened (N, C*H*W)). Returns the scores (N, K) in the network's dtype."""
        out = self.as_input(x)
        for layer in self.layers.values():
            out = layer.forward(out)
        return out

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean cross-entropy loss; t: (N,) labels or (N, K) one-hot."""
        return self.last_layer.forward(self.predict(x), t)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray, h: float = 1e-4) -> dict[str, np.ndarray]:
        """Central-difference gradients of :meth:`loss` for every parameter (slow; use float64 and tiny shapes).

        ``h`` is the step; in float64 a smaller one (1e-6) makes it less likely that a step crosses a ReLU kink
        or swaps the maximum of a pooling window, the two places where the loss is not differentiable.
        """
        def loss_w(_):
            return self.loss(x, t)

        return {key: numerical_gradient(loss_w, param, h) for key, param in self.params.items()}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of :meth:`loss` by backpropagation, same keys, shapes and dtype as ``params``.

        The loss of this batch is left in ``self.last_layer.loss``.
        """
        self.loss(x, t)
        return self.backprop()
