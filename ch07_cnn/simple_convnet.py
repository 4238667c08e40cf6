"""Chapter 7's ``SimpleConvNet``: conv - relu - pool - affine - relu - affine - softmax.

Notation: N batch, C channels, H x W image, FN filters of FH x FW (square, ``filter_size``), OH x OW conv output,
PH x PW pooled output, K classes.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from common.layers import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss
from common.network import ConvNetBase, conv_params_with_defaults
from common.util import conv_output_size

__all__ = ["SimpleConvNet", "DEFAULT_CONV_PARAM", "SHIPPED_PARAMS", "TRAIN_COMMAND"]

DEFAULT_CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
SHIPPED_PARAMS = Path(__file__).resolve().with_name("params.npz")  # trained with --augment --lr-decay 0.9: 0.9910
TRAIN_COMMAND = "python -m ch07_cnn.train_convnet"


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
        self.layers["Conv1"] = Convolution(self.params["W1"], self.params["b1"], cp["stride"], cp["pad"],
                                           input_grad=False)  # the images need no gradient: skip dx
        self.layers["Relu1"] = Relu()
        self.layers["Pool1"] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers["Affine1"] = Affine(self.params["W2"], self.params["b2"])
        self.layers["Relu2"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W3"], self.params["b3"])
        self.last_layer = SoftmaxWithLoss()

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the loss by backpropagation, same keys, shapes and dtype as ``params``.

        ``predict``, ``loss``, ``accuracy`` (batched), ``numerical_gradient`` (in float64; its step ``h`` can be
        made smaller, e.g. 1e-6, so a step rarely crosses a ReLU kink or swaps a pooling maximum) and the
        parameter files come from :class:`common.network.ConvNetBase`. The batch's loss stays in ``last_layer.loss``.
        """
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i, name in enumerate(("Conv1", "Affine1", "Affine2"), 1):
            grads[f"W{i}"], grads[f"b{i}"] = self.layers[name].dW, self.layers[name].db
        return grads
