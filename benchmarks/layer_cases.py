"""The layer shapes of the book's networks, as benchmark cases: ours and PyTorch's, forward and backward.

Activations are handed to our layers in the memory order our networks produce them (channels-last, the order a
Convolution's output has, kept by ReLU and pooling); PyTorch gets ordinary contiguous (N, C, H, W) arrays.

Notation: N batch, C channels, H x W image, FN filters, F x F filter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from common.layers import Affine, BatchNormalization, Convolution, Pooling, Relu, SoftmaxWithLoss
from common.util import conv_output_size

__all__ = ["LayerCase", "layer_cases", "ours_layer_pass"]


@dataclass(frozen=True)
class LayerCase:
    """One benchmark case.

    make(n, rng) -> (layer, x, dout, target): our layer and its inputs for a batch of n (target only for a loss).
    make_torch(torch, layer) -> the equivalent torch module (same parameters).
    flops(n): forward multiply-adds x 2 (0 for element-wise layers); backward counts 2x that.
    """

    name: str
    kind: str
    make: Callable
    make_torch: Callable
    flops: Callable[[int], int]
    quick: bool


def _channels_last(a: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values stored channels-last, as our convolution outputs are."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _images(rng, shape, relu=False) -> np.ndarray:
    x = rng.standard_normal(shape, dtype=np.float32)
    if relu:
        np.maximum(x, 0, out=x)
    return _channels_last(x) if shape[1] > 1 else x


def _conv_case(label: str, c: int, fn: int, size: int, f: int, pad: int, quick: bool) -> LayerCase:
    out = conv_output_size(size, f, 1, pad)

    def make(n, rng):
        W = (np.sqrt(2.0 / (c * f * f)) * rng.standard_normal((fn, c, f, f))).astype(np.float32)
        b = np.zeros(fn, dtype=np.float32)
        return Convolution(W, b, 1, pad), _images(rng, (n, c, size, size)), _images(rng, (n, fn, out, out)), None

    def make_torch(torch, layer):
        conv = torch.nn.Conv2d(c, fn, f, stride=1, padding=pad)
        conv.weight.data = torch.from_numpy(layer.W.copy())
        conv.bias.data = torch.from_numpy(layer.b.copy())
        return conv

    name = f"conv {c}->{fn} {f}x{f} pad {pad} on {size}x{size} ({label})"
    return LayerCase(name, "conv", make, make_torch, lambda n: 2 * n * out * out * fn * c * f * f, quick)


def _pool_case(label: str, c: int, size: int, quick: bool) -> LayerCase:
    def make(n, rng):
        return (Pooling(2, 2, stride=2), _images(rng, (n, c, size, size), relu=True),
                _images(rng, (n, c, size // 2, size // 2)), None)

    return LayerCase(f"max-pool 2x2/2 on {c}x{size}x{size} ({label})", "pool", make,
                     lambda torch, layer: torch.nn.MaxPool2d(2, stride=2), lambda n: 0, quick)


def _affine_case(label: str, in_shape: tuple[int, ...], m: int, quick: bool) -> LayerCase:
    d = int(np.prod(in_shape))

    def make(n, rng):
        W = (np.sqrt(2.0 / d) * rng.standard_normal((d, m))).astype(np.float32)
        x = _images(rng, (n,) + in_shape, relu=True) if len(in_shape) == 3 else rng.random((n, d), dtype=np.float32)
        return Affine(W, np.zeros(m, dtype=np.float32)), x, rng.standard_normal((n, m), dtype=np.float32), None

    def make_torch(torch, layer):
        linear = torch.nn.Linear(d, m)
        linear.weight.data = torch.from_numpy(np.ascontiguousarray(layer.W.T))
        linear.bias.data = torch.from_numpy(layer.b.copy())
        return torch.nn.Sequential(torch.nn.Flatten(), linear)

    return LayerCase(f"affine {d}->{m} ({label})", "affine", make, make_torch, lambda n: 2 * n * d * m, quick)


def _relu_case(label: str, c: int, size: int, quick: bool) -> LayerCase:
    def make(n, rng):
        return Relu(), _images(rng, (n, c, size, size)), _images(rng, (n, c, size, size)), None

    return LayerCase(f"relu on {c}x{size}x{size} ({label})", "relu", make, lambda torch, layer: torch.nn.ReLU(),
                     lambda n: 0, quick)


def _batchnorm_case(label: str, shape: tuple[int, ...], quick: bool) -> LayerCase:
    size = shape[0]

    def make(n, rng):
        layer = BatchNormalization(np.ones(size, dtype=np.float32), np.zeros(size, dtype=np.float32))
        x = _images(rng, (n,) + shape) if len(shape) == 3 else rng.standard_normal((n,) + shape, dtype=np.float32)
        dout = _images(rng, (n,) + shape) if len(shape) == 3 else rng.standard_normal((n,) + shape, dtype=np.float32)
        return layer, x, dout, None

    def make_torch(torch, layer):
        cls = torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d
        return cls(size, eps=layer.eps, momentum=1 - layer.momentum)

    what = "per channel" if len(shape) == 3 else "per activation"
    return LayerCase(f"batch-norm {what} on {'x'.join(map(str, shape))} ({label})", "batchnorm", make, make_torch,
                     lambda n: 0, quick)


def _softmax_case(k: int, quick: bool) -> LayerCase:
    def make(n, rng):
        return SoftmaxWithLoss(), rng.standard_normal((n, k), dtype=np.float32), None, rng.integers(0, k, size=n)

    return LayerCase(f"softmax-with-loss over {k} classes", "loss", make,
                     lambda torch, layer: torch.nn.CrossEntropyLoss(), lambda n: 0, quick)


def ours_layer_pass(layer, x: np.ndarray, dout: np.ndarray | None, target: np.ndarray | None = None):
    """(forward, backward) callables timing one of our layers; backward reuses one forward's state.
    With ``target`` the layer is a loss: forward(x, target), backward(1)."""
    if target is None:
        layer.forward(x)
        return (lambda: layer.forward(x)), (lambda: layer.backward(dout))
    layer.forward(x, target)
    return (lambda: layer.forward(x, target)), (lambda: layer.backward(1))


def layer_cases(quick: bool = False) -> list[LayerCase]:
    """Every case (or only the ``quick`` subset)."""
    cases = [
        _conv_case("SimpleConvNet", 1, 30, 28, 5, 0, True),
        _conv_case("DeepConvNet 1", 1, 16, 28, 3, 1, False),
        _conv_case("DeepConvNet 2", 16, 16, 28, 3, 1, True),
        _conv_case("DeepConvNet 3", 16, 32, 14, 3, 1, False),
        _conv_case("DeepConvNet 4", 32, 32, 14, 3, 2, False),
        _conv_case("DeepConvNet 5", 32, 64, 8, 3, 1, False),
        _conv_case("DeepConvNet 6", 64, 64, 8, 3, 1, True),
        _pool_case("SimpleConvNet", 30, 24, True),
        _pool_case("DeepConvNet 1", 16, 28, False),
        _relu_case("SimpleConvNet", 30, 24, False),
        _relu_case("DeepConvNet 1", 16, 28, True),
        _affine_case("SimpleConvNet", (30, 12, 12), 100, True),
        _affine_case("DeepConvNet", (64, 4, 4), 50, False),
        _affine_case("TwoLayerNet", (784,), 50, False),
        _batchnorm_case("MultiLayerNetExtend", (100,), True),
        _batchnorm_case("ResNet-style", (16, 28, 28), False),
        _softmax_case(10, True),
    ]
    return [case for case in cases if case.quick or not quick]
