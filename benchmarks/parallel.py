"""Two cores, three ways: one training step on one BLAS thread, on two BLAS threads, and split over two threads
(``common.parallel.DataParallel``: a half batch per thread, one BLAS thread each); each way in a fresh process,
the ways taking turns round by round. ``--busy`` runs it all beside one CPU-bound process (a core taken by
another program); ``half`` times one half batch alone, the best the split step could do.

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

MODES = {"one": "1 BLAS thread", "blas2": "2 BLAS threads", "split2": "split over 2 threads (1 BLAS thread each)",
         "half": "half the batch, 1 BLAS thread"}


def _worker(mode: str, network_name: str, batch: int, steps: int) -> None:
    """Time ``steps`` training steps (after one warm-up) and print their median in ms as JSON."""
    from benchmarks import networks
    from common.optimizer import Adam
    from common.parallel import DataParallel
    from common.threads import set_threads

    set_threads(2 if mode == "blas2" else 1)
    spec = next(s for s in networks.NETWORKS if s.name == network_name)
    network = networks.build(spec)
    x, t = networks.batch(spec, batch // 2 if mode == "half" else batch)
    if mode == "split2":
        network = DataParallel(network, 2)
    optimizer = Adam()
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimizer.update(network.params, network.gradient(x, t))
        times.append(time.perf_counter() - start)
    print(json.dumps({"median_ms": 1000 * float(np.median(times[1:]))}))


def _run(mode: str, network_name: str, batch: int, steps: int) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "benchmarks.parallel", "--worker", mode, "--network", network_name,
           "--batch", str(batch), "--steps", str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def main(argv: list[str] | None = None) -> dict[str, list[float]] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("DeepConvNet", "SimpleConvNet"), default="DeepConvNet")
    parser.add_argument("--rounds", type=int, default=3, help="each way once per round (default 3)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per process (default 12)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--busy", action="store_true", help="beside one CPU-bound process")
    parser.add_argument("--worker", choices=tuple(MODES), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.rounds, args.steps, args.batch - 1) < 1:
        parser.error("--rounds and --steps must be at least 1, --batch at least 2")
    if args.worker:
        _worker(args.worker, args.network, args.batch, args.steps)
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
