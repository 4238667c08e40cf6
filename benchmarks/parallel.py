"""Two cores, three ways: one training step on one BLAS thread, on two BLAS threads, and split over two threads
(``common.parallel.DataParallel``: a half batch per thread, one BLAS thread each); each way in a fresh process,
the ways taking turns round by round. ``--busy`` runs it all beside one CPU-bound process (a core taken by
another program); ``half`` times one half batch alone, the best the split step could do, and ``pair`` two half
batches in two processes at once: what the machine itself takes from two busy cores.

    python -m benchmarks.parallel                         # DeepConvNet, 3 rounds x 12 steps
    python -m benchmarks.parallel --busy --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.fair import REPO_ROOT

__all__ = ["MODES", "main"]

PAIR_START_S = 4.0  # "pair": seconds from launch until both processes start timing (imports and warm-up first)

MODES = {"one": "1 BLAS thread", "blas2": "2 BLAS threads", "split2": "split over 2 threads (1 BLAS thread each)",
         "half": "half the batch, 1 BLAS thread", "pair": "half batches in 2 processes at once (slower)"}


def _worker(mode: str, network_name: str, batch: int, steps: int, start_at: float | None = None) -> None:
    """Time ``steps`` training steps (after one warm-up, and after wall-clock ``start_at`` if given, so that two
    workers time the same seconds) and print their median in ms as JSON."""
    from benchmarks import networks
    from common.allocator import keep_freed_memory
    from common.optimizer import Adam
    from common.parallel import DataParallel
    from common.threads import set_threads

    set_threads(2 if mode == "blas2" else 1)
    keep_freed_memory()  # as the training scripts do
    spec = next(s for s in networks.NETWORKS if s.name == network_name)
    network = networks.build(spec)
    x, t = networks.batch(spec, batch // 2 if mode == "half" else batch)
    if mode == "split2":
        network = DataParallel(network, 2)
    optimizer = Adam()
    optimizer.update(network.params, network.gradient(x, t))  # warm-up
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.update(network.params, network.gradient(x, t))
        times.append(time.perf_counter() - start)
    print(json.dumps({"median_ms": 1000 * float(np.median(times))}))


def _run(mode: str, network_name: str, batch: int, steps: int) -> float:
    """The median step of ``mode`` in a fresh process; for "pair", two "half" processes started together (no
    shared Python lock or address space, only the machine) and the slower one's median, as a split step waits
    for its slower half."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "benchmarks.parallel", "--worker", "half" if mode == "pair" else mode,
           "--network", network_name, "--batch", str(batch), "--steps", str(steps)]
    if mode == "pair":  # both start timing together, once both have imported and warmed up
        cmd += ["--start-at", str(time.time() + PAIR_START_S)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
             for _ in range(2 if mode == "pair" else 1)]
    medians = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd, out)
        medians.append(json.loads(out.strip().splitlines()[-1])["median_ms"])
    return max(medians)


def main(argv: list[str] | None = None) -> dict[str, list[float]] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("DeepConvNet", "SimpleConvNet"), default="DeepConvNet")
    parser.add_argument("--rounds", type=int, default=3, help="each way once per round (default 3)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per process (default 12)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--busy", action="store_true", help="beside one CPU-bound process")
    parser.add_argument("--worker", choices=tuple(MODES), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.rounds, args.steps, args.batch - 1) < 1:
        parser.error("--rounds and --steps must be at least 1, --batch at least 2")
    if args.worker:
        _worker(args.worker, args.network, args.batch, args.steps, args.start_at)
        return None
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        found: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                found[mode].append(_run(mode, args.network, args.batch, args.steps))
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    print(f"{args.network}, batch {args.batch}, {'beside one CPU-bound process' if args.busy else 'quiet'}: "
          f"median ms per step of {args.steps}, one process per way and round")
    for mode, values in found.items():
        print(f"  {MODES[mode]:44s} " + " ".join(f"{v:7.1f}" for v in values))
    return found


if __name__ == "__main__":
    main()
