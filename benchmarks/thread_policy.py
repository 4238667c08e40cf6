"""How the thread policy reads a machine whose other work just stopped: the load average lags, a sample does not.

Runs ``--busy`` CPU-bound processes for ``--seconds``, stops them, then every ``--every`` seconds prints the
1-minute load average, the free cores a load-average rule gives (CPU count minus the load, rounded), the busy CPUs
of a :func:`common.threads.busy_cpus` sample and :func:`common.threads.free_cores`. Run from the repository root:
``python -m benchmarks.thread_policy`` (about three minutes with the defaults).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from common.threads import busy_cpus, free_cores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="CPU-bound processes (default: one per CPU)")
    parser.add_argument("--seconds", type=float, default=75.0, help="how long they run (default 75)")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between readings afterwards (default 20)")
    parser.add_argument("--readings", type=int, default=6)
    args = parser.parse_args(argv)
    if not hasattr(os, "getloadavg"):
        sys.exit("this system has no load average to compare with")
    cpus = os.cpu_count() or 1
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        time.sleep(args.seconds)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    print(f"{cpus} CPUs; {args.busy} busy processes ran {args.seconds:.0f} s and stopped")
    start = time.perf_counter()
    for i in range(args.readings):
        if i:
            time.sleep(args.every)
        load = os.getloadavg()[0]
        by_load = free_cores(busy=load)
        busy = busy_cpus()
        sample = "n/a" if busy is None else f"{busy:.2f}"
        print(f"{time.perf_counter() - start:6.1f} s later: load average {load:.2f} -> {by_load} free by the load "
              f"average; sampled busy CPUs {sample}; free_cores() {free_cores()}", flush=True)


if __name__ == "__main__":
    main()
