"""Optimizers of chapter 6.

``update(params, grads)`` takes two dicts. Every key of ``grads`` must be a key of ``params``, and only those
parameters are updated: a parameter missing from ``grads`` is left untouched (a frozen parameter).

* NumPy arrays (ndim >= 1, floating dtype) are updated IN PLACE: layers hold references to these arrays, so
  rebinding a key would silently stop learning.
* Plain numbers, as in the book's toy-function scripts (``params['x'] = -7.0``), NumPy scalars and 0-d arrays
  cannot be changed in place; they are updated by rebinding ``params[key]`` to a new value of the same kind
  (Python float, NumPy scalar of the same dtype, new 0-d array).

State (velocities, squared-gradient sums) is created lazily per key with the parameter's dtype. Hyperparameters
are validated when set, also later: ``optimizer.lr *= 0.5`` (learning-rate decay) must keep lr finite and > 0.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

# The book's common/optimizer.py has no __all__, so its scripts' `from common.optimizer import *` also brings
# `np` (ch06/optimizer_compare_mnist.py never imports NumPy itself). "np" is listed to keep that working.
__all__ = ["np", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS", "make_optimizer"]


def check_rate(name: str, value) -> float:
    """A learning rate (or other step factor) as a Python float: a finite real number > 0.

    Raises:
        TypeError: ``value`` is not a real number (a string, a bool, an array with more than one element).
        ValueError: ``value`` is NaN, infinite, zero or negative.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)) \
            or np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value


def _check_fraction(name: str, value) -> float:
    """A decay factor in [0, 1) as a Python float (momentum, RMSprop's decay_rate, Adam's betas)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)) \
            or np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


class _Hyper:
    """A hyperparameter attribute validated by ``check`` on every assignment, in ``__init__`` and later."""

    def __init__(self, check) -> None:
        self.check = check

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, obj, owner=None):
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj, value) -> None:
        setattr(obj, self.slot, self.check(self.name, value))


class Optimizer:
    """Base class: checks ``params`` and ``grads`` and applies ``_step`` to each parameter named in ``grads``."""

    lr = _Hyper(check_rate)

    def update(self, params: dict, grads: dict) -> None:
        """Update the parameters named in ``grads`` (see the module docstring). All checks run before any change."""
        work = _prepare(params, grads)
        self._begin()
        for key, p, g, rebind in work:
            self._step(key, p, g)
            if rebind is not None:
                params[key] = rebind(p)

    def _begin(self) -> None:
        """Called once per ``update`` before the per-parameter steps."""

    def _step(self, key, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


def _prepare(params: dict, grads: dict) -> list:
    """Validate the two dicts; return (key, array to change in place, gradient, rebind function or None)."""
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise TypeError(f"params and grads must be dicts, got {type(params).__name__} and {type(grads).__name__}")
    extra = [key for key in grads if key not in params]
    if extra:
        raise ValueError(f"grads has keys that are not in params: {extra}; params has {list(params)}")
    work = []
    for key, g in grads.items():
        p = params[key]
        g = np.asarray(g)
        if g.dtype.kind not in "iuf":
            raise TypeError(f"grads[{key!r}] must hold real numbers, got dtype {g.dtype}")
        if isinstance(p, np.ndarray) and p.ndim > 0:
            if p.dtype.kind != "f":
                raise TypeError(f"params[{key!r}] must be a floating-point array to be updated, got dtype {p.dtype}")
            if not p.flags.writeable:
                raise ValueError(f"params[{key!r}] is a read-only array and cannot be updated in place")
            work_p, rebind = p, None
        elif isinstance(p, (np.ndarray, np.generic)) and p.dtype.kind == "f":
            work_p = np.array(p)  # a private 0-d copy
            rebind = (lambda w: w) if isinstance(p, np.ndarray) else (lambda w: w[()])
        elif isinstance(p, numbers.Real) and not isinstance(p, (bool, np.bool_)):
            work_p, rebind = np.array(float(p)), (lambda w: float(w))
        else:
            raise TypeError(f"params[{key!r}] must be a float array or a real number, got {type(p).__name__}"
                            + (f" of dtype {p.dtype}" if hasattr(p, "dtype") else ""))
        if g.shape != work_p.shape:
            raise ValueError(f"grads[{key!r}] has shape {g.shape}, params[{key!r}] has {work_p.shape}")
        work.append((key, work_p, g, rebind))
    return work


class SGD(Optimizer):
    """p <- p - lr * g."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def _step(self, key, p, g) -> None:
        p -= self.lr * g


class Momentum(Optimizer):
    """v <- momentum * v - lr * g;  p <- p + v."""

    momentum = _Hyper(_check_fraction)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.v: dict | None = None

    def _begin(self) -> None:
        if self.v is None:
            self.v = {}

    def _step(self, key, p, g) -> None:
        v = self.v.setdefault(key, np.zeros_like(p))
        v *= self.momentum
        v -= self.lr * g
        p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient in the corrected form:
    p <- p + m^2 v - (1 + m) lr g, then v <- m v - lr g."""

    momentum = _Hyper(_check_fraction)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.v: dict | None = None

    def _begin(self) -> None:
        if self.v is None:
            self.v = {}

    def _step(self, key, p, g) -> None:
        m = self.momentum
        v = self.v.setdefault(key, np.zeros_like(p))
        p += m * m * v - (1 + m) * self.lr * g
        v *= m
        v -= self.lr * g


class AdaGrad(Optimizer):
    """h <- h + g^2;  p <- p - lr g / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr
        self.h: dict | None = None

    def _begin(self) -> None:
        if self.h is None:
            self.h = {}

    def _step(self, key, p, g) -> None:
        h = self.h.setdefault(key, np.zeros_like(p))
        h += g * g
        p -= self.lr * g / (np.sqrt(h) + 1e-7)


class RMSprop(Optimizer):
    """h <- decay h + (1 - decay) g^2;  p <- p - lr g / (sqrt(h) + 1e-7)."""

    decay_rate = _Hyper(_check_fraction)

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        self.lr, self.decay_rate = lr, decay_rate
        self.h: dict | None = None

    def _begin(self) -> None:
        if self.h is None:
            self.h = {}

    def _step(self, key, p, g) -> None:
        h = self.h.setdefault(key, np.zeros_like(p))
        h *= self.decay_rate
        h += (1 - self.decay_rate) * g * g
        p -= self.lr * g / (np.sqrt(h) + 1e-7)


class Adam(Optimizer):
    """Adam with bias correction folded into the step size, as in the book:
    m <- m + (1 - b1)(g - m);  v <- v + (1 - b2)(g^2 - v);
    p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + 1e-7).
    The step count t is shared by all parameters and counts ``update`` calls."""

    beta1 = _Hyper(_check_fraction)
    beta2 = _Hyper(_check_fraction)

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m: dict | None = None
        self.v: dict | None = None
        self._lr_t = 0.0
        self._buffers: dict[np.dtype, np.ndarray] = {}  # scratch for _step, by dtype

    def _begin(self) -> None:
        if self.m is None:
            self.m, self.v = {}, {}
        self.iter += 1
        self._lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)

    def _step(self, key, p, g) -> None:
        m = self.m.setdefault(key, np.zeros_like(p))
        v = self.v.setdefault(key, np.zeros_like(p))
        a, b = self._scratch(p)  # the same numbers as the three lines above, without fresh temporaries
        np.subtract(g, m, out=a)
        a *= 1 - self.beta1
        m += a  # m += (1 - b1) * (g - m)
        np.multiply(g, g, out=a)
        a -= v
        a *= 1 - self.beta2
        v += a  # v += (1 - b2) * (g * g - v)
        np.multiply(m, float(self._lr_t), out=a)
        np.sqrt(v, out=b)
        b += 1e-7
        a /= b
        p -= a  # p -= lr_t * m / (sqrt(v) + 1e-7)

    def _scratch(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two kept scratch arrays of p's shape and dtype (views of one buffer per dtype, grown as needed):
        fresh temporaries of a large parameter cost page faults on every update."""
        buf = self._buffers.get(p.dtype)
        if buf is None or buf.shape[1] < p.size:
            buf = self._buffers[p.dtype] = np.empty((2, p.size), dtype=p.dtype)
        return buf[0, :p.size].reshape(p.shape), buf[1, :p.size].reshape(p.shape)


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def make_optimizer(name: str, **params) -> Optimizer:
    """Build an optimizer by case-insensitive name (sgd, momentum, nesterov, adagrad, rmsprop, adam)."""
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a str, got {name!r}")
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}") from None
    return cls(**params)
