"""What the numbers were measured on: NumPy's BLAS (library, kernel, threads), OPENBLAS_* variables, the GEMM peak.

threadpoolctl is optional (imported lazily); without it the BLAS entries say so and the thread count cannot be
set from here (set OPENBLAS_NUM_THREADS instead).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time

import numpy as np

from common.threads import free_cores  # the library's policy: the cores other work leaves free now

__all__ = ["blas_info", "blas_threads", "free_cores", "limit_blas_threads", "openblas_env", "gemm_peak",
           "system_info"]


def blas_info() -> list[dict]:
    """threadpoolctl's description of every BLAS library loaded (library, version, kernel, threads), or []."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("internal_api", "prefix", "version", "architecture", "num_threads", "threading_layer", "filepath")
    return [{k: lib.get(k) for k in keep} for lib in threadpool_info() if lib.get("user_api") == "blas"]


def blas_threads() -> int | None:
    """Threads NumPy's BLAS uses now (None when threadpoolctl is missing)."""
    info = blas_info()
    return info[0]["num_threads"] if info else None


def limit_blas_threads(threads: int | None):
    """Context manager limiting BLAS to ``threads`` threads (no-op when None or threadpoolctl is missing)."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def openblas_env() -> dict[str, str]:
    """The OPENBLAS_* environment variables present (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE change the kernel)."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")}


def gemm_peak(n: int = 2048, repeats: int = 5) -> dict:
    """float32 GEMM throughput of this machine now: the median GFLOP/s of an (n, n) @ (n, n) np.matmul."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=out)  # warm-up: threads, pages
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        seconds.append(time.perf_counter() - start)
    flops = 2.0 * n ** 3
    return {"n": n, "repeats": repeats, "gflops_median": flops / np.median(seconds) / 1e9,
            "gflops_best": flops / min(seconds) / 1e9}


def system_info() -> dict:
    """Python, NumPy, CPU count, BLAS and OPENBLAS_* variables (torch is reported by the caller)."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "blas": blas_info(),
        "openblas_env": openblas_env(),
    }
