"""Numerical gradient checks shared by the test files (``from gradcheck import check_layer_grad``).

pytest puts ``tests/`` on ``sys.path`` (tests/ has no ``__init__.py``; rootdir-relative "prepend" import mode),
so any test module can import this helper by its plain name.

Every check compares an analytic gradient with central differences (``common.gradient.numerical_gradient``,
h = 1e-4) of the scalar ``sum(f(...) * dy)`` for a random upstream gradient ``dy``. An all-ones ``dy`` would hide
transposition and broadcasting bugs, so always pass a random one. Run the checks in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from common.gradient import numerical_gradient

__all__ = ["distinct_values", "numerical_grads", "assert_grads_close", "check_layer_grad"]


def distinct_values(shape: tuple[int, ...], rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
    """float64 array of ``shape`` whose values are all distinct, spaced by about ``scale`` and never near 0.

    A random permutation of (k - n/2 + 1/2) * scale plus jitter below scale/10: any two values differ by at
    least 0.8 * scale and every value is at least 0.4 * scale away from 0, so with scale >> h = 1e-4 no
    finite-difference step crosses a ReLU kink or changes which element of a max-pooling window wins.
    """
    n = int(np.prod(shape))
    centred = rng.permutation(n) - n / 2 + 0.5
    jitter = rng.uniform(-0.1, 0.1, size=n)
    return ((centred + jitter) * scale).reshape(shape).astype(np.float64)


def numerical_grads(f: Callable[[], float], arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Central-difference gradient of the zero-argument scalar function ``f`` with respect to each array.

    ``f`` must read the arrays by reference (they are perturbed in place and restored).
    """
    return {name: numerical_gradient(lambda _: f(), a) for name, a in arrays.items()}


def assert_grads_close(analytic: Mapping[str, np.ndarray], numeric: Mapping[str, np.ndarray],
                       rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Assert that two dicts of gradients have the same keys, shapes and (within tolerance) values."""
    assert analytic.keys() == numeric.keys(), (sorted(analytic), sorted(numeric))
    for name in numeric:
        a, n = np.asarray(analytic[name]), numeric[name]
        assert a.shape == n.shape, f"d{name}: analytic shape {a.shape}, numerical shape {n.shape}"
        np.testing.assert_allclose(a, n, rtol=rtol, atol=atol, err_msg=f"gradient with respect to {name}")


def check_layer_grad(forward: Callable[[np.ndarray], np.ndarray],
                     backward: Callable[[np.ndarray], tuple[np.ndarray, Mapping[str, np.ndarray]]],
                     x: np.ndarray, params: Mapping[str, np.ndarray] | None = None,
                     dy: np.ndarray | float | None = None, rng: np.random.Generator | None = None,
                     rtol: float = 1e-4, atol: float = 1e-6) -> dict[str, np.ndarray]:
    """Check a layer's backward against numerical gradients for its input and its parameters.

    Args:
        forward: ``forward(x) -> out``; reads the arrays of ``params`` by reference (as layers do).
        backward: ``backward(dy) -> (dx, grads)`` with ``grads`` a dict keyed like ``params``; it is called
            right after ``forward(x)``, as in a real network.
        x: float64 input; perturbed in place and restored.
        params: float64 parameter arrays held by the layer, by name.
        dy: upstream gradient of the output's shape (or a scalar for a loss); random normal when None.
        rng: generator for the default ``dy``.

    Returns:
        the analytic gradients, ``{"x": dx, **grads}`` (copies), for further assertions.
    """
    params = dict(params or {})
    out = forward(x)
    if dy is None:
        rng = rng if rng is not None else np.random.default_rng(0)
        dy = rng.standard_normal(np.shape(out))
    dx, grads = backward(dy)
    analytic = {"x": np.array(dx, copy=True), **{k: np.array(v, copy=True) for k, v in grads.items()}}
    numeric = numerical_grads(lambda: float(np.sum(forward(x) * dy)), {"x": x, **params})
    assert_grads_close(analytic, numeric, rtol=rtol, atol=atol)
    return analytic
