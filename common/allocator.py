"""Keep freed memory for reuse: fewer page faults for the large, short-lived arrays of a training step.

A convolutional training step allocates and frees arrays of megabytes (layer outputs, gradients). With its
default settings glibc's ``malloc`` hands blocks that large back to the operating system when they are freed
(``munmap``, or trimming the top of the heap), so the next step's arrays start on fresh pages, and the kernel
has to fault in and zero every 4 KiB page again: about 2,000 page faults per SimpleConvNet step here.
:func:`keep_freed_memory` asks malloc to serve such arrays from its heap and keep what is freed, so a step reuses
the last step's memory. The process's peak memory stays the same (the step needs that much anyway); memory freed
after training is kept by the process instead of being returned.

The chapter 7 and 8 training scripts call it (``common.cli`` does, for their "large" workload), as do the
benchmarks' own workers; in a notebook, call it once if you like. It changes speed only, never a number.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["keep_freed_memory"]

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # blocks up to 32 MiB (glibc's largest setting) come from the heap, not fresh mappings
TRIM_THRESHOLD = 1 << 30  # give the top of the heap back to the system only when 1 GiB of it is free
TOP_PAD = 64 << 20  # grow the heap 64 MiB at a time

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed blocks (see the module docstring); True if it did. Only on Linux with
    glibc (elsewhere False, nothing changed); once per process (later calls return the first answer)."""
    global _applied
    if _applied is None:
        _applied = _mallopt_all()
    return _applied


def _mallopt_all() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only (musl also has mallopt, but ignores these parameters)  # noqa: B018
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all(mallopt(param, value) == 1 for param, value in settings)
