"""Helpers shared by the kernel tests (test_kernels.py, test_elementwise.py)."""

import numpy as np

TOL = {np.float32: 2e-5, np.float64: 1e-11}


def channels_last(a: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values stored channels-last (what a Convolution outputs)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def close(actual, expected, dtype, scale: float = 1.0) -> None:
    """allclose with the dtype's tolerance (float32 2e-5, float64 1e-11) times ``scale``."""
    tol = TOL[dtype] * scale
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)
