"""Peak memory (max RSS) of DeepConvNet training, measured in a fresh subprocess so nothing else counts.

Run directly: ``python -m benchmarks.memory --steps 20 --batch 100`` prints one JSON line with the child's
max RSS. ``--script MODULE -- ARGS`` instead runs a chapter script (e.g. ``ch08_deep.train_deepnet --quick``) as
``__main__`` and reports its peak. :func:`peak_rss` does the spawning for benchmarks.run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import networks

__all__ = ["peak_rss", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> dict:
    """This process's peak resident set size in MiB.

    ``getrusage`` is the portable source, but on Linux a child's ru_maxrss also counts the RSS its parent had
    when it forked (the forked address space is accounted at exec), so a big benchmark process would inflate
    it. The kernel's VmHWM (/proc/self/status) is the peak of this process's own address space; it is the
    number reported as ``max_rss_mb`` when available.
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"ru_maxrss_mb": rss / 2 ** 20 if sys.platform == "darwin" else rss / 2 ** 10}
    result["max_rss_mb"] = result["ru_maxrss_mb"]
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                result["max_rss_mb"] = int(line.split()[1]) / 2 ** 10  # kB
                result["source"] = "VmHWM"
    return result


def _train_steps(steps: int, batch: int) -> dict:
    spec = next(s for s in networks.NETWORKS if s.name == "DeepConvNet")
    network = networks.build(spec)
    if isinstance(network, str):
        return {"skipped": network}
    x, t = networks.batch(spec, batch)
    step = networks.train_step(network, x, t)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    network.predict(x, train_flg=False)  # an evaluation pass too, as training scripts do
    return {"what": f"DeepConvNet, {steps} training steps (gradient + Adam) at batch {batch}",
            "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps of DeepConvNet (default 20)")
    parser.add_argument("--batch", type=int, default=100, help="batch size (default 100)")
    parser.add_argument("--script", default=None, help="run this module as __main__ instead (arguments after --)")
    parser.add_argument("script_args", nargs="*", help="arguments of --script")
    args = parser.parse_args(argv)
    if args.script:
        sys.argv = [args.script] + args.script_args
        runpy.run_module(args.script, run_name="__main__", alter_sys=True)
        result = {"what": " ".join(["python -m", args.script] + args.script_args)}
    else:
        np.random.seed(0)
        result = _train_steps(args.steps, args.batch)
    result.update(_peak_rss_mb())
    print("PEAK_RSS " + json.dumps(result), flush=True)


def peak_rss(args: list[str], threads: int | None = None, timeout: float = 600) -> dict:
    """Run ``python -m benchmarks.memory ARGS`` in a subprocess (with ``threads`` BLAS threads when given) and
    return its JSON report, or a dict with an "error"."""
    env = dict(os.environ)
    if threads:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "benchmarks.memory"] + args
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "command": " ".join(cmd[1:])}
    for line in proc.stdout.splitlines():
        if line.startswith("PEAK_RSS "):
            return json.loads(line[len("PEAK_RSS "):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit status {proc.returncode}: " + " | ".join(tail), "command": " ".join(cmd[1:])}


if __name__ == "__main__":
    main()
