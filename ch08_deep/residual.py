"""A residual block (ResNet, He et al. 2015; chapter 8.4 of the book) and a small residual CNN for MNIST.

    out = relu( BN(conv3x3(relu(BN(conv3x3_stride(x))))) + shortcut(x) )

The shortcut is the identity when the block keeps the shape, else a 1x1 convolution with the block's stride
(the "projection" shortcut). Batch normalisation is per channel (statistics over N, H and W). Convolutions followed
by batch normalisation have no trainable bias (BN's beta plays that role).

Notation: N batch, C input channels, FN output channels, H x W input, OH x OW output, K classes.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from common.layers import Affine, BatchNormalization, Convolution, Relu, SoftmaxWithLoss
from common.network import ConvNetBase
from common.weight_init import init_weight

__all__ = ["ConvBN", "ResidualBlock", "GlobalAvgPooling", "SmallResNet"]


class ConvBN:
    """Convolution without bias followed by per-channel batch normalisation.

    Args:
        in_channels: C.  out_channels: FN.  filter_size, stride, pad: of the convolution.
        dtype: of the parameters.

    ``params``: W (FN, C, FH, FW) He-initialised, gamma (FN,) ones, beta (FN,) zeros.
    ``buffers``: running_mean, running_var (FN,), used when ``train_flg`` is False.
    """

    uses_train_flg = True  # batch statistics in training, running statistics otherwise

    def __init__(self, in_channels: int, out_channels: int, filter_size: int = 3, stride: int = 1, pad: int = 1,
                 dtype=np.float32) -> None:
        W = init_weight((out_channels, in_channels, filter_size, filter_size), "he", dtype=dtype)
        self.params = {"W": W, "gamma": np.ones(out_channels, dtype=dtype), "beta": np.zeros(out_channels, dtype=dtype)}
        self.buffers = {"running_mean": np.zeros(out_channels, dtype=dtype),
                        "running_var": np.ones(out_channels, dtype=dtype)}
        self.conv = Convolution(W, np.zeros(out_channels, dtype=dtype), stride, pad)
        self.bn = BatchNormalization(self.params["gamma"], self.params["beta"],
                                     running_mean=self.buffers["running_mean"], running_var=self.buffers["running_var"])
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        """x (N, C, H, W) -> (N, FN, OH, OW)."""
        return self.bn.forward(self.conv.forward(x), train_flg)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, FN, OH, OW) -> dx (N, C, H, W); fills ``grads`` (same keys as ``params``)."""
        dx = self.conv.backward(self.bn.backward(dout))
        self.grads = {"W": self.conv.dW, "gamma": self.bn.dgamma, "beta": self.bn.dbeta}
        return dx


class ResidualBlock:
    """Two 3x3 conv-BN stages with a skip connection: relu(BN(conv(relu(BN(conv(x))))) + shortcut(x)).

    Args:
        in_channels: C.  out_channels: FN.
        stride: of the first convolution (2 halves H and W).
        dtype: of the parameters.

    ``forward(x, train_flg=True)``: x (N, C, H, W) -> (N, FN, OH, OW), OH = (H - 1) // stride + 1.
    ``backward(dout)`` returns dx and fills ``grads``. ``params`` (and ``grads``) keys: W1, gamma1, beta1, W2,
    gamma2, beta2, plus Ws, bs for the 1x1 projection when stride != 1 or C != FN.
    ``buffers``: the batch-norm running statistics, running_mean1/2, running_var1/2.
    """

    uses_train_flg = True

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dtype=np.float32) -> None:
        self.stage1 = ConvBN(in_channels, out_channels, 3, stride, 1, dtype)
        self.relu1 = Relu()
        self.stage2 = ConvBN(out_channels, out_channels, 3, 1, 1, dtype)
        self.relu_out = Relu()
        self.params: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        for i, stage in ((1, self.stage1), (2, self.stage2)):
            self.params.update({f"{key}{i}": value for key, value in stage.params.items()})
            self.buffers.update({f"{key}{i}": value for key, value in stage.buffers.items()})
        self.projection: Convolution | None = None
        if stride != 1 or in_channels != out_channels:
            self.params["Ws"] = init_weight((out_channels, in_channels, 1, 1), "he", dtype=dtype)
            self.params["bs"] = np.zeros(out_channels, dtype=dtype)
            self.projection = Convolution(self.params["Ws"], self.params["bs"], stride=stride, pad=0)
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        h = self.relu1.forward(self.stage1.forward(x, train_flg))
        h = self.stage2.forward(h, train_flg)
        shortcut = x if self.projection is None else self.projection.forward(x)
        return self.relu_out.forward(h + shortcut)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        d = self.relu_out.backward(dout)  # flows into both branches
        dx = self.stage1.backward(self.relu1.backward(self.stage2.backward(d)))
        grads = {}
        for i, stage in ((1, self.stage1), (2, self.stage2)):
            grads.update({f"{key}{i}": value for key, value in stage.grads.items()})
        if self.projection is None:
            dx = dx + d
        else:
            dx = dx + self.projection.backward(d)
            grads["Ws"], grads["bs"] = self.projection.dW, self.projection.db
        self.grads = grads
        return dx


class GlobalAvgPooling:
    """Mean over H and W: (N, C, H, W) -> (N, C)."""

    def __init__(self) -> None:
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, C) -> dx (N, C, H, W), each position getting dout / (H*W)."""
        h, w = self.input_shape[2:]
        return np.broadcast_to((dout / (h * w))[:, :, None, None], self.input_shape).copy()


class SmallResNet(ConvNetBase):
    """conv3x3-BN-relu stem, one residual block per stage (the first keeps the size, the others stride 2),
    global average pooling, affine, softmax.

    Args:
        input_dim: (C, H, W).
        channels: output channels of the stem/first stage and of each later stage (default 16, 32, 64:
            28x28 -> 28x28 -> 14x14 -> 7x7 on MNIST, 77,658 parameters).
        output_size: K.  dtype: float32 by default.

    ``params`` keys are ``<layer>_<name>``, e.g. ``stem_W``, ``block2_gamma1``, ``fc_W``; ``buffers`` hold the
    batch-norm running statistics and are saved with the parameters.
    """

    def __init__(self, input_dim: tuple[int, int, int] = (1, 28, 28), channels: tuple[int, ...] = (16, 32, 64),
                 output_size: int = 10, dtype=np.float32) -> None:
        if len(input_dim) != 3 or not channels:
            raise ValueError(f"need input_dim (C, H, W) and at least one stage; got {input_dim!r}, {channels!r}")
        self.input_dim = tuple(int(v) for v in input_dim)
        self.channels = tuple(int(v) for v in channels)
        self.dtype = np.dtype(dtype)
        self.layers: OrderedDict[str, object] = OrderedDict()
        self.layers["stem"] = ConvBN(self.input_dim[0], channels[0], 3, 1, 1, dtype)
        self.layers["stem_relu"] = Relu()
        in_ch = channels[0]
        for i, out_ch in enumerate(channels, 1):
            stride = 1 if i == 1 else 2
            self.layers[f"block{i}"] = ResidualBlock(in_ch, out_ch, stride, dtype)
            in_ch = out_ch
        self.layers["gap"] = GlobalAvgPooling()
        fc_W = init_weight((in_ch, output_size), "he", dtype=dtype)
        self.layers["fc"] = Affine(fc_W, np.zeros(output_size, dtype=dtype))
        self.last_layer = SoftmaxWithLoss()

        # the blocks, which hold their own params, grads and batch-norm buffers
        self.blocks = [name for name, layer in self.layers.items() if hasattr(layer, "buffers")]
        self.params: dict[str, np.ndarray] = {"fc_W": self.layers["fc"].W, "fc_b": self.layers["fc"].b}
        self.buffers: dict[str, np.ndarray] = {}
        for name in self.blocks:
            self.params.update({f"{name}_{key}": value for key, value in self.layers[name].params.items()})
            self.buffers.update({f"{name}_{key}": value for key, value in self.layers[name].buffers.items()})

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Parameters and batch-norm running statistics (what a parameter file holds)."""
        return {**self.params, **self.buffers}

    def loss(self, x: np.ndarray, t: np.ndarray, train_flg: bool = True) -> float:
        """Mean cross-entropy with batch statistics by default; t labels (N,), (N, 1) or one-hot (N, K)."""
        return super().loss(x, t, train_flg)

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagated gradients of the training loss, same keys/shapes/dtype as ``params``."""
        self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {"fc_W": self.layers["fc"].dW, "fc_b": self.layers["fc"].db}
        for name in self.blocks:
            grads.update({f"{name}_{key}": value for key, value in self.layers[name].grads.items()})
        return grads
