"""Timing: run several implementations of the same work alternately in one process and summarise each.

On a shared machine a single absolute time means little: another job can take a core for a few seconds. Running
the candidates in turn (A, B, A, B, ...) exposes them to the same disturbances, so their ratio stays meaningful;
medians and the interquartile range describe each one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Stats", "alternate"]


@dataclass(frozen=True)
class Stats:
    """Summary of repeated wall-clock times, in milliseconds."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    repeats: int

    @classmethod
    def of(cls, seconds: list[float]) -> Stats:
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        q1, median, q3 = np.percentile(ms, [25, 50, 75])
        return cls(float(median), float(q1), float(q3), float(ms.min()), float(ms.max()), len(ms))

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.median:8.2f} [{self.q1:.2f}-{self.q3:.2f}]"


def alternate(cases: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, Stats]:
    """Time every callable ``repeats`` times, interleaved (one call of each per round), after ``warmup`` rounds.

    Args:
        cases: name -> zero-argument callable doing one unit of work.
        repeats: timed rounds (at least 1).
        warmup: untimed rounds first (allocations, BLAS thread start-up, caches).

    Returns:
        name -> :class:`Stats` of the timed calls.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: Stats.of(ts) for name, ts in times.items()}
