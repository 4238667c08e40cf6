"""The book's networks for timing: construction (lazy, skipped with a note when a chapter module is missing),
one training step (gradient + Adam update), inference, and the analytic FLOP count.

Notation: N batch size.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from common.layers import Affine, Convolution, Pooling
from common.optimizer import Adam
from common.util import conv_output_size

__all__ = ["NetSpec", "NETWORKS", "build", "batch", "train_step", "inference", "forward_flops"]


@dataclass(frozen=True)
class NetSpec:
    """Where a network class lives and how to build it at the book's sizes."""

    name: str
    module: str
    cls: str
    kwargs: dict
    input_shape: tuple[int, ...]  # one sample
    has_train_flag: bool  # predict(x, train_flg) (dropout) or predict(x)


NETWORKS = (
    NetSpec("TwoLayerNet", "ch05_backprop.two_layer_net", "TwoLayerNet",
            {"input_size": 784, "hidden_size": 50, "output_size": 10}, (784,), False),
    NetSpec("SimpleConvNet", "ch07_cnn.simple_convnet", "SimpleConvNet", {}, (1, 28, 28), False),
    NetSpec("DeepConvNet", "ch08_deep.deep_convnet", "DeepConvNet", {}, (1, 28, 28), True),
)


def build(spec: NetSpec, seed: int = 0):
    """A float32 instance of the network, or a string saying why it is unavailable."""
    try:
        module = importlib.import_module(spec.module)
    except ImportError as err:
        return f"{spec.module} not importable ({err})"
    np.random.seed(seed)
    return getattr(module, spec.cls)(**spec.kwargs)


def batch(spec: NetSpec, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random float32 images in [0, 1) of the network's input shape (N, ...) and int labels (N,)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + spec.input_shape, dtype=np.float32)
    t = rng.integers(0, 10, size=n)
    return x, t


def train_step(network, x: np.ndarray, t: np.ndarray) -> Callable[[], None]:
    """One training step as the book's training loop does it: backprop gradient, then Adam (lr 0.001)."""
    optimizer = Adam(lr=0.001)

    def step() -> None:
        optimizer.update(network.params, network.gradient(x, t))

    return step


def inference(network, spec: NetSpec, x: np.ndarray) -> Callable[[], np.ndarray]:
    """Scores of one batch in inference mode (dropout off)."""
    if spec.has_train_flag:
        return lambda: network.predict(x, train_flg=False)
    return lambda: network.predict(x)


def forward_flops(network, n: int) -> int:
    """Multiply-adds x 2 of the convolution and affine layers for a batch of ``n`` (element-wise work ignored).

    Convolution: 2*N*OH*OW*FN*C*FH*FW. Affine: 2*N*D*M. The shapes follow the layers in order, so the count
    is analytic (no run needed). A training step costs about 3x this (forward, dW, dx).
    """
    shape = None
    total = 0
    for layer in network.layers.values():
        if isinstance(layer, Convolution):
            fn, c, fh, fw = layer.W.shape
            h, w = shape if shape is not None else tuple(network.input_dim[1:])
            oh = conv_output_size(h, fh, layer.stride, layer.pad)
            ow = conv_output_size(w, fw, layer.stride, layer.pad)
            total += 2 * n * oh * ow * fn * c * fh * fw
            shape = (oh, ow)
        elif isinstance(layer, Affine):
            d, m = layer.W.shape
            total += 2 * n * d * m
        elif isinstance(layer, Pooling) and shape is not None:
            shape = (conv_output_size(shape[0], layer.pool_h, layer.stride, layer.pad),
                     conv_output_size(shape[1], layer.pool_w, layer.stride, layer.pad))
    return total
