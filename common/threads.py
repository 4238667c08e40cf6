"""How many threads NumPy's BLAS may use: a small policy, and the switches that apply it.

Why: on a 2-core laptop the matrix products of the MLP chapters (e.g. (100, 784) @ (784, 50)) are too small to
gain from a second BLAS thread, and when another program keeps a core busy, a BLAS thread that waits for its
descheduled sibling makes every product several times slower (measured in this project: chapter 5's 2,000
training iterations 3.1 s quiet, 8.0 s with one busy core at 2 threads, 3.3 s at 1 thread). The convolutional
networks of chapters 7-8 do gain from every free core.

The policy (:func:`policy_threads`): ``"small"`` workloads (chapters 3-6) use 1 thread; ``"large"`` ones
(chapters 7-8) use the cores that are free now (:func:`free_cores`, at least 1).

Thread counts are set through ``threadpoolctl`` (a dependency, see the README); when it is not installed every
function here is a no-op that reports ``None`` (``OPENBLAS_NUM_THREADS=N`` set before starting Python still
works). Nothing here reads or changes ``OPENBLAS_CORETYPE`` or other variables that pick a BLAS kernel.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

__all__ = ["WORKLOADS", "available", "blas_threads", "blas_threads_info", "busy_cpus", "free_cores", "limit_threads",
           "policy_threads", "set_threads"]

WORKLOADS = ("small", "large")


def _controller():
    """threadpoolctl's ThreadpoolController (created once), or None when threadpoolctl is missing."""
    global _CONTROLLER
    if _CONTROLLER is False:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = None
        else:
            _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


_CONTROLLER = False  # not looked up yet


def available() -> bool:
    """Whether the BLAS thread count can be changed from inside Python (threadpoolctl is installed)."""
    return _controller() is not None


def _blas_pools() -> list[dict]:
    controller = _controller()
    if controller is None:
        return []
    return [info for info in controller.info() if info.get("user_api") == "blas"]


def blas_threads() -> int | None:
    """Threads NumPy's BLAS uses now, or None when unknown (threadpoolctl missing)."""
    pools = _blas_pools()
    return max(info["num_threads"] for info in pools) if pools else None


def blas_threads_info() -> str:
    """One line saying which BLAS runs, its kernel (coretype) and thread count, e.g. for a benchmark header."""
    pools = _blas_pools()
    if not pools:
        return "BLAS unknown (threadpoolctl not installed): thread count not controllable from Python"
    return "; ".join(f"{p.get('internal_api')} {p.get('version') or ''}, kernel {p.get('architecture')}, "
                     f"{p.get('num_threads')} threads" for p in pools)


_PROC_STAT = "/proc/stat"  # Linux: CPU time ticks since boot, first line summed over all CPUs


def busy_cpus(interval: float = 0.1) -> float | None:
    """CPUs kept busy by other work over the next ``interval`` seconds (Linux), e.g. 1.0 for one busy core.

    Reads the CPU time counters of ``/proc/stat`` before and after sleeping ``interval`` (so the caller itself is
    not counted): (1 - idle share of the window) * CPU count. None where they cannot be read (other systems).
    """
    def ticks() -> tuple[int, int]:
        with open(_PROC_STAT, encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
        return sum(fields), fields[3] + fields[4]

    try:
        total0, idle0 = ticks()
        time.sleep(interval)
        total1, idle1 = ticks()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return (1.0 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def free_cores(busy: float | None = None) -> int:
    """Cores not busy with other processes now: CPU count minus the busy CPUs, rounded, at least 1.

    The busy CPUs are ``busy`` when given, else :func:`busy_cpus` (a 0.1 s sample) where it can be read, else the
    1-minute load average. The load average lags: right after another job ends it still counts that job (a quiet
    2-core machine read 1 free core for 80 s, so a training started then ran on one thread throughout), and a job
    started a few seconds ago barely shows in it. Where neither can be read, every core counts as free.
    """
    cpus = os.cpu_count() or 1
    if busy is None:
        busy = busy_cpus()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (OSError, AttributeError):
            return cpus
    return max(1, min(cpus, int(cpus - busy + 0.5)))


def _check_threads(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive int, got {n!r}")
    return n


def policy_threads(workload: str = "large") -> int:
    """The thread count the policy picks for ``workload``: ``"small"`` -> 1, ``"large"`` -> :func:`free_cores`."""
    if workload not in WORKLOADS:
        raise ValueError(f"workload must be one of {WORKLOADS}, got {workload!r}")
    return 1 if workload == "small" else free_cores()


def set_threads(n: int | None = None, workload: str = "large") -> int | None:
    """Set NumPy's BLAS threads for the rest of the process (what a script's ``--threads N`` option calls).

    Args:
        n: exactly this many threads (a positive int); None applies :func:`policy_threads` for ``workload``.
        workload: ``"small"`` (chapters 3-6: 1 thread) or ``"large"`` (chapters 7-8: the free cores); only used
            when ``n`` is None.

    Returns:
        the thread count now in effect, or None when threads cannot be controlled (threadpoolctl is missing:
        nothing is changed).

    Raises:
        ValueError: ``n`` is not a positive int or ``workload`` is unknown.
    """
    n = policy_threads(workload) if n is None else _check_threads(n)
    controller = _controller()
    if controller is None:
        return None
    controller.limit(limits=n, user_api="blas")
    return blas_threads()


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[int | None]:
    """Within the ``with`` block BLAS uses at most ``n`` threads; the previous counts come back afterwards.

    ``n`` None changes nothing. Yields the thread count in effect (None when not controllable). A no-op
    without threadpoolctl. Setting threads costs a library scan (about a millisecond): wrap whole runs, not
    single products.
    """
    controller = _controller()
    if n is None or controller is None:
        yield blas_threads()
        return
    with controller.limit(limits=_check_threads(n), user_api="blas"):
        yield blas_threads()
