"""Fair comparison with PyTorch: each library in a process of its own, taking turns, same threads, same work.

    python -m benchmarks.fair                               # every workload, policy threads, 7 rounds
    python -m benchmarks.fair --threads 1 --rounds 9 --only DeepConvNet --json fair.json

In one process NumPy's OpenBLAS threads and PyTorch's OpenMP threads compete for the cores, which slowed
PyTorch's DeepConvNet step by almost 2x, so here two worker processes (ours and PyTorch, started with the same
thread count) each build the same float32 model with the same weights and data, then wait for orders on stdin.
The parent runs them alternately, one round of ``--steps`` steps at a time (who goes first alternates too), so
only one of them computes at any moment and both meet the same disturbances of a shared machine. Reported:
median and IQR of each side's step times over all rounds, and the ratio ours / PyTorch of each round's medians.

``--baseline DIR`` compares with another version of our library instead of PyTorch (before/after a change):
DIR holds a complete ``common`` package, which the second worker imports in place of this one's. Our workers
(both, with --baseline) keep freed memory as the training scripts do (:mod:`common.allocator`); PyTorch's runs
as PyTorch does by default.

Workloads: a training step (backprop gradient + Adam) of TwoLayerNet, SimpleConvNet and DeepConvNet at batch
100, and per-channel batch normalisation forward + backward on (100, 16, 28, 28) (BatchNorm2d).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["WORKLOADS", "main", "compare"]

WORKLOADS = ("TwoLayerNet", "SimpleConvNet", "DeepConvNet", "BatchNorm2d")
REPO_ROOT = Path(__file__).resolve().parent.parent
MALLOC_DEFAULT_ENV = "DLFS_FAIR_MALLOC_DEFAULT"  # set by --malloc-default for the workers


# --- the worker side ------------------------------------------------------------------------------------------

def _ours(workload: str, batch: int):
    """A zero-argument callable doing one unit of our work."""
    from benchmarks import networks
    from common.layers import BatchNormalization

    try:
        from common.parallel import spread
    except ImportError:  # a --baseline version from before common.parallel
        def spread(network):
            return network
    if workload != "TwoLayerNet" and not os.environ.get(MALLOC_DEFAULT_ENV):  # the chapter 7-8 scripts' setting
        _keep_freed_memory()

    if workload == "BatchNorm2d":
        rng = np.random.default_rng(0)
        layer = BatchNormalization(np.ones(16, dtype=np.float32), np.zeros(16, dtype=np.float32))
        x = rng.standard_normal((batch, 16, 28, 28), dtype=np.float32)
        dout = rng.standard_normal(x.shape, dtype=np.float32)

        def step():
            layer.forward(x, True)
            layer.backward(dout)

        return step
    spec = next(s for s in networks.NETWORKS if s.name == workload)
    network = networks.build(spec)
    if workload != "TwoLayerNet":  # as the convolutional training scripts do: 2+ threads split the batch
        network = spread(network)
    x, t = networks.batch(spec, batch)
    step = networks.train_step(network, x, t)
    step.workers = getattr(network, "workers", 1)
    return step


def _keep_freed_memory() -> None:
    """What the training scripts do (``common.cli``, "large" workload): :mod:`common.allocator` of this checkout,
    loaded by its path, so that a --baseline side (whose ``common`` may predate it) gets it too."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_fair_allocator", REPO_ROOT / "common" / "allocator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.keep_freed_memory()


def _torch(workload: str, batch: int):
    """The same work in PyTorch (same shapes, weights and data)."""
    import torch

    from benchmarks import networks, torch_ref

    if workload == "BatchNorm2d":
        rng = np.random.default_rng(0)
        bn = torch.nn.BatchNorm2d(16, eps=1e-6, momentum=0.1)
        x = torch.from_numpy(rng.standard_normal((batch, 16, 28, 28), dtype=np.float32)).requires_grad_(True)
        dout = torch.from_numpy(rng.standard_normal(tuple(x.shape), dtype=np.float32))

        def step():
            x.grad = None
            bn.weight.grad = bn.bias.grad = None
            bn(x).backward(dout)

        return step
    spec = next(s for s in networks.NETWORKS if s.name == workload)
    model = torch_ref.to_torch(networks.build(spec), torch)
    x, t = networks.batch(spec, batch)
    return torch_ref.torch_train_step(model, x, t)


def _worker(side: str, workload: str, batch: int, threads: int) -> None:
    """Build the work, report what runs, then answer "run K" lines with K step times (JSON) until EOF."""
    from common.threads import blas_threads_info, set_threads

    set_threads(threads)
    info = {"side": side, "blas": blas_threads_info(), "pid": os.getpid()}
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
        info["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
        step = _torch(workload, batch)
    else:
        step = _ours(workload, batch)
        workers = getattr(step, "workers", 1)
        info["ours"] = f"data parallel, {workers} workers x 1 BLAS thread" if workers > 1 else "BLAS threads"
        info["ours"] += ", glibc malloc defaults" if os.environ.get(MALLOC_DEFAULT_ENV) else ""
        info["blas"] = blas_threads_info()  # after _ours: data parallelism sets BLAS to 1 thread per worker
    for _ in range(2):  # warm-up: allocations, thread start-up
        step()
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        count = int(line.split()[1])
        times = []
        faults = _minor_faults()
        for _ in range(count):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        faults = None if faults is None else _minor_faults() - faults
        print(json.dumps({"times": times, "minor_faults": faults}), flush=True)


def _minor_faults() -> int | None:
    """This process's minor page faults so far (fresh memory touched for the first time); None where unknown."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


# --- the parent side ------------------------------------------------------------------------------------------

def _spawn(side: str, workload: str, batch: int, threads: int, baseline: str | None = None,
           malloc_default: bool = False):
    """Start one worker; returns (process, its info line). ``baseline``: a folder whose ``common`` package the
    worker imports first (the worker then times our code, from that folder). ``malloc_default``: our worker
    leaves glibc's malloc settings alone."""
    env = dict(os.environ)
    if malloc_default:
        env[MALLOC_DEFAULT_ENV] = "1"
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, str(REPO_ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.fair", "--worker", "ours" if baseline else side, "--only", workload,
           "--batch", str(batch), "--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            cwd=baseline or REPO_ROOT)
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"the {side} worker for {workload} exited with status {proc.returncode}")
    return proc, json.loads(line)


def _ask(proc: subprocess.Popen, steps: int) -> tuple[list[float], int | None]:
    """Step times in seconds and the minor page faults they took (None from a worker that does not count)."""
    proc.stdin.write(f"run {steps}\n")
    proc.stdin.flush()
    answer = json.loads(proc.stdout.readline())
    if isinstance(answer, list):  # a --baseline folder's older worker
        return answer, None
    return answer["times"], answer["minor_faults"]


def _summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    q1, median, q3 = np.percentile(ms, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "n": int(ms.size)}


def compare(workload: str, rounds: int, steps: int, batch: int, threads: int, pause: float = 0.05,
            baseline: str | None = None, malloc_default: bool = False) -> dict:
    """Alternate ``rounds`` rounds of ``steps`` steps between our worker and PyTorch's (or the ``baseline``
    version's, reported under "torch"); summarise both. ``malloc_default``: see :func:`_spawn` (our sides)."""
    workers = {"ours": _spawn("ours", workload, batch, threads, malloc_default=malloc_default),
               "torch": _spawn("torch", workload, batch, threads, baseline, malloc_default and baseline is not None)}
    times: dict[str, list[float]] = {"ours": [], "torch": []}
    faults: dict[str, list[int | None]] = {"ours": [], "torch": []}
    ratios = []
    try:
        for r in range(rounds):
            medians = {}
            for side in (("ours", "torch") if r % 2 == 0 else ("torch", "ours")):
                time.sleep(pause)  # let the other side's idle threads go to sleep first
                got, side_faults = _ask(workers[side][0], steps)
                times[side] += got
                faults[side].append(side_faults)
                medians[side] = float(np.median(got))
            ratios.append(medians["ours"] / medians["torch"])
    finally:
        for proc, _ in workers.values():
            proc.stdin.close()
            proc.wait(timeout=60)
    return {"workload": workload, "batch": batch, "threads": threads, "rounds": rounds, "steps": steps,
            "ours": _summary(times["ours"]), "torch": _summary(times["torch"]),
            "ratio_per_round": ratios, "ratio_median": float(np.median(ratios)),
            "faults_per_step": {side: None if None in got else sum(got) / (rounds * steps)
                                for side, got in faults.items()},
            "ours_info": workers["ours"][1], "torch_info": workers["torch"][1]}


def _print(rows: list[dict]) -> None:
    print(f"\n{'workload':14s} {'thr':>3s} {'ours ms, median [IQR]':>26s} {'PyTorch ms, median [IQR]':>26s} "
          f"{'ratio':>6s}  per-round ratios")
    for row in rows:
        cells = [f"{row[s]['median']:.2f} [{row[s]['q1']:.2f}-{row[s]['q3']:.2f}]" for s in ("ours", "torch")]
        per_round = " ".join(f"{v:.2f}" for v in row["ratio_per_round"])
        print(f"{row['workload']:14s} {row['threads']:3d} {cells[0]:>26s} {cells[1]:>26s} "
              f"{row['ratio_median']:6.2f}  {per_round}")


def main(argv: list[str] | None = None) -> list[dict] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=WORKLOADS, default=None, help="workload (repeatable)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per round (default: 20 for TwoLayerNet and BatchNorm2d, else 5)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of both sides (default: the thread policy, common.threads.policy_threads)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--baseline", default=None,
                        help="compare with the `common` package in this folder instead of PyTorch (before/after)")
    parser.add_argument("--malloc-default", action="store_true",
                        help="our workers keep glibc's default malloc settings (to measure common.allocator)")
    parser.add_argument("--worker", choices=["ours", "torch"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from common.threads import policy_threads

    if args.worker:
        _worker(args.worker, args.only[0], args.batch, args.threads)
        return None
    if args.baseline:
        args.baseline = str(Path(args.baseline).resolve())
        if not (Path(args.baseline) / "common" / "__init__.py").exists():
            parser.error(f"--baseline {args.baseline} has no common/ package")
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: nothing to compare with (pip install torch==2.13.0, the CPU wheel)")
            return []
    rows = []
    for workload in args.only or WORKLOADS:
        small = workload in ("TwoLayerNet", "BatchNorm2d")
        threads = args.threads or policy_threads("small" if workload == "TwoLayerNet" else "large")
        steps = args.steps or (20 if small else 5)
        print(f"{workload}: {args.rounds} rounds x {steps} steps, {threads} threads ...", flush=True)
        rows.append(compare(workload, args.rounds, steps, args.batch, threads, baseline=args.baseline,
                            malloc_default=args.malloc_default))
    other = f"baseline {args.baseline}" if args.baseline else f"PyTorch {rows[0]['torch_info']['torch']}"
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; ours: {rows[0]['ours_info']['blas']}; "
          f"compared with: {other} (column 'PyTorch')")
    for row in rows:
        faults = ", ".join(f"{name} {'?' if row['faults_per_step'][side] is None else round(row['faults_per_step'][side])}"
                           for side, name in (("ours", "ours"), ("torch", "other")))
        print(f"ours, {row['workload']}: {row['ours_info'].get('ours', 'BLAS threads')}; minor page faults per "
              f"step: {faults}")
    _print(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
