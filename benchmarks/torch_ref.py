"""PyTorch equivalents of our layers and networks, the comparison point (never a dependency: imported lazily).

:func:`to_torch` translates a network's ordered layers one by one (Convolution -> Conv2d, Pooling -> MaxPool2d,
Affine -> Flatten + Linear, Relu -> ReLU, the book's Dropout -> Dropout and a constant scale) and copies the
weights, so the two networks have identical shapes and parameters; :func:`max_abs_difference` checks that they
compute the same scores. Everything is float32 on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from common.layers import Affine, Convolution, Dropout, Pooling, Relu

__all__ = ["torch_or_none", "to_torch", "max_abs_difference", "torch_train_step", "torch_inference",
           "torch_layer_pass"]


def torch_or_none():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _scale_module(torch, factor: float):
    """A module multiplying by a constant: after torch's inverted Dropout it gives the book's non-inverted one
    (training: mask * x; inference: x * (1 - ratio))."""

    class Scale(torch.nn.Module):
        def forward(self, x):
            return x * factor

    return Scale()


def _translate(torch, layer, flat: bool):
    """The torch modules doing what ``layer`` does (a list); ``flat``: whether the input is already (N, D)."""
    nn = torch.nn
    if isinstance(layer, Convolution):
        fn, c, fh, fw = layer.W.shape
        conv = nn.Conv2d(c, fn, (fh, fw), stride=layer.stride, padding=layer.pad)
        conv.weight.data = torch.from_numpy(np.array(layer.W, dtype=np.float32))
        conv.bias.data = torch.from_numpy(np.array(layer.b, dtype=np.float32))
        return [conv]
    if isinstance(layer, Pooling):
        return [nn.MaxPool2d((layer.pool_h, layer.pool_w), stride=layer.stride, padding=layer.pad)]
    if isinstance(layer, Affine):
        d, m = layer.W.shape
        linear = nn.Linear(d, m)
        linear.weight.data = torch.from_numpy(np.ascontiguousarray(layer.W.T, dtype=np.float32))
        linear.bias.data = torch.from_numpy(np.array(layer.b, dtype=np.float32))
        return [linear] if flat else [nn.Flatten(), linear]
    if isinstance(layer, Relu):
        return [nn.ReLU()]
    if isinstance(layer, Dropout):
        if layer.inverted:
            return [nn.Dropout(layer.dropout_ratio)]
        return [nn.Dropout(layer.dropout_ratio), _scale_module(torch, 1 - layer.dropout_ratio)]
    raise TypeError(f"no PyTorch translation for layer {type(layer).__name__}")


def to_torch(network, torch=None):
    """An ``nn.Sequential`` with the layers and the current weights of ``network`` (float32)."""
    torch = torch or torch_or_none()
    modules = []
    flat = not hasattr(network, "input_dim")
    for layer in network.layers.values():
        modules += _translate(torch, layer, flat)
        flat = flat or isinstance(layer, Affine)
    return torch.nn.Sequential(*modules)


def max_abs_difference(network, model, x: np.ndarray, has_train_flag: bool) -> float:
    """max |ours - torch| of the inference scores for ``x`` (the translation check)."""
    torch = torch_or_none()
    ours = network.predict(x, train_flg=False) if has_train_flag else network.predict(x)
    model.eval()
    with torch.no_grad():
        theirs = model(torch.from_numpy(x)).numpy()
    model.train()
    return float(np.max(np.abs(ours - theirs)))


def torch_train_step(model, x: np.ndarray, t: np.ndarray) -> Callable[[], None]:
    """One training step: cross-entropy of the scores, backward, Adam (lr 0.001, eps 1e-7 as the book's Adam)."""
    torch = torch_or_none()
    xt, tt = torch.from_numpy(x), torch.from_numpy(np.asarray(t, dtype=np.int64))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(xt), tt).backward()
        optimizer.step()

    return step


def torch_inference(model, x: np.ndarray) -> Callable[[], object]:
    """Scores of one batch in eval mode without autograd."""
    torch = torch_or_none()
    xt = torch.from_numpy(x)

    def run():
        model.eval()
        with torch.no_grad():
            return model(xt)

    return run


def torch_layer_pass(module, x: np.ndarray, dout: np.ndarray | None, target: np.ndarray | None = None):
    """(forward, backward) callables timing one module: forward builds the graph, backward runs it again
    (retain_graph) into fresh gradients. With ``target`` the module is a loss: forward(x, target)."""
    torch = torch_or_none()
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    tt = None if target is None else torch.from_numpy(np.asarray(target, dtype=np.int64))
    module.train()

    def forward():
        return module(xt) if tt is None else module(xt, tt)

    graph = forward()
    grad = None if dout is None else torch.from_numpy(np.ascontiguousarray(dout))

    def backward():
        xt.grad = None
        for p in module.parameters():
            p.grad = None
        graph.backward(grad, retain_graph=True)

    return forward, backward
