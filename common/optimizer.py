"""Optimizers of chapter 6. ``update(params, grads)`` takes two dicts with the same keys and changes every
parameter array IN PLACE: layers hold references to these arrays, so rebinding a key would silently stop
learning. State (velocities, squared-gradient sums) is created lazily per key with the parameter's dtype."""

from __future__ import annotations

import numpy as np

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS", "make_optimizer"]


def _check(params: dict, grads: dict) -> None:
    if params.keys() != grads.keys():
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ValueError(f"params and grads must have the same keys; missing in grads: {missing}, extra: {extra}")
    for key, p in params.items():
        if p.shape != grads[key].shape:
            raise ValueError(f"grads[{key!r}] has shape {grads[key].shape}, params[{key!r}] has {p.shape}")


class SGD:
    """p <- p - lr * g."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        for key, p in params.items():
            p -= self.lr * grads[key]


class Momentum:
    """v <- momentum * v - lr * g;  p <- p + v."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.v: dict | None = None

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        if self.v is None:
            self.v = {}
        for key, p in params.items():
            v = self.v.setdefault(key, np.zeros_like(p))
            v *= self.momentum
            v -= self.lr * grads[key]
            p += v


class Nesterov:
    """Nesterov's accelerated gradient in the corrected form:
    p <- p + m^2 v - (1 + m) lr g, then v <- m v - lr g."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.v: dict | None = None

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        if self.v is None:
            self.v = {}
        m = self.momentum
        for key, p in params.items():
            v = self.v.setdefault(key, np.zeros_like(p))
            g = grads[key]
            p += m * m * v - (1 + m) * self.lr * g
            v *= m
            v -= self.lr * g


class AdaGrad:
    """h <- h + g^2;  p <- p - lr g / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr
        self.h: dict | None = None

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        if self.h is None:
            self.h = {}
        for key, p in params.items():
            h = self.h.setdefault(key, np.zeros_like(p))
            g = grads[key]
            h += g * g
            p -= self.lr * g / (np.sqrt(h) + 1e-7)


class RMSprop:
    """h <- decay h + (1 - decay) g^2;  p <- p - lr g / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        self.lr, self.decay_rate = lr, decay_rate
        self.h: dict | None = None

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        if self.h is None:
            self.h = {}
        for key, p in params.items():
            h = self.h.setdefault(key, np.zeros_like(p))
            g = grads[key]
            h *= self.decay_rate
            h += (1 - self.decay_rate) * g * g
            p -= self.lr * g / (np.sqrt(h) + 1e-7)


class Adam:
    """Adam with bias correction folded into the step size, as in the book:
    m <- m + (1 - b1)(g - m);  v <- v + (1 - b2)(g^2 - v);
    p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + 1e-7)."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m: dict | None = None
        self.v: dict | None = None

    def update(self, params: dict, grads: dict) -> None:
        _check(params, grads)
        if self.m is None:
            self.m, self.v = {}, {}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key, p in params.items():
            m = self.m.setdefault(key, np.zeros_like(p))
            v = self.v.setdefault(key, np.zeros_like(p))
            g = grads[key]
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= float(lr_t) * m / (np.sqrt(v) + 1e-7)


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def make_optimizer(name: str, **params):
    """Build an optimizer by case-insensitive name (sgd, momentum, nesterov, adagrad, rmsprop, adam)."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}") from None
    return cls(**params)
