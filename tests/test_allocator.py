"""common.allocator: freed blocks kept for reuse (glibc), measured by page faults in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import allocator

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from common.allocator import keep_freed_memory
    print(keep_freed_memory(), keep_freed_memory())
def step():  # three 8 MiB arrays, written (every page touched), then freed: a training step's pattern
    arrays = [np.ones(2 << 20, dtype=np.float32) for _ in range(3)]
    del arrays
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def _faults_per_step(mode: str) -> tuple[list[str], float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, check=True)
    lines = out.stdout.split("\n")
    return lines[:-2], float(lines[-2])


def _glibc() -> bool:
    return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION") or "")


@pytest.mark.skipif(not _glibc(), reason="malloc tuning is glibc's (Linux); elsewhere the function returns False")
def test_kept_memory_is_reused_without_page_faults():
    """Default glibc gives most of the freed 24 MiB back and faults it in again each step; kept, no faults."""
    printed, kept = _faults_per_step("keep")
    _, default = _faults_per_step("default")
    assert printed == ["True True"]
    assert default > 500 and kept < 10


def test_keep_freed_memory_answers_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setattr(allocator, "_mallopt_all", lambda: calls.append(1) or False)
    assert allocator.keep_freed_memory() is False and allocator.keep_freed_memory() is False
    assert calls == [1]


def test_not_applied_off_linux(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator._mallopt_all() is False


@pytest.mark.parametrize("workload, expected", [("large", [1]), ("small", [])])
def test_large_workload_scripts_keep_freed_memory(monkeypatch, workload, expected):
    """The chapter 7-8 scripts' parser ("large" workload) applies it when it parses; chapters 3-6 do not."""
    from common import cli

    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(cli, "set_threads", lambda *a: None)
    cli.make_parser("test", workload=workload).parse_args([])
    assert calls == expected
