"""Benchmark suite: layers and networks of the book, ours against PyTorch, in one process.

    python -m benchmarks.run            # the full run (a few minutes on 2 cores)
    python -m benchmarks.run --quick    # tiny repeat counts and the smaller shapes, under a minute

Measures, alternating the implementations round by round (see benchmarks.timing): forward and backward of
every layer kind at the shapes of the book's networks; a training step (gradient + Adam) and inference of
TwoLayerNet, SimpleConvNet and DeepConvNet; the same in PyTorch when it is importable, with the same thread
count; achieved GFLOP/s against this machine's float32 GEMM peak; the peak memory of DeepConvNet training in a
subprocess; and which BLAS ran. Prints tables and writes everything to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import layer_cases, memory, networks, sysinfo, torch_ref
from benchmarks.timing import Stats, alternate

__all__ = ["main", "run"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny repeat counts and the smaller shapes (< 1 min)")
    parser.add_argument("--json", default=None,
                        help="where to write the results (default bench_results/<timestamp>.json)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: NumPy's BLAS threads, but no more than the cores "
                             "free now, common.threads.free_cores)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 20, quick 3)")
    parser.add_argument("--batch", type=int, default=100, help="batch size of the networks (default 100)")
    parser.add_argument("--layer-batch", type=int, default=None,
                        help="batch size of the layer cases (default: --batch; quick: 20)")
    parser.add_argument("--gemm-size", type=int, default=None, help="n of the n x n GEMM peak (default 2048, quick 1024)")
    parser.add_argument("--memory-steps", type=int, default=None,
                        help="DeepConvNet training steps of the peak-memory run (default 20, quick 3; 0 skips it)")
    parser.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch even if installed")
    parser.add_argument("--no-script", action="store_true",
                        help="skip the peak memory of `ch08_deep.train_deepnet --quick` (needs MNIST; --quick skips it)")
    parser.add_argument("--only", choices=["layers", "networks", "memory"], action="append", default=None,
                        help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 20)
    args.layer_batch = args.layer_batch or (20 if args.quick else args.batch)
    args.gemm_size = args.gemm_size or (1024 if args.quick else 2048)
    args.memory_steps = 3 if args.quick and args.memory_steps is None else (
        20 if args.memory_steps is None else args.memory_steps)
    return args


def _ratio(ours: float, theirs: float | None) -> float | None:
    return None if not theirs else ours / theirs


def _fmt(value, spec: str = ".2f", width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}{spec}}"


def bench_layers(args, torch, peak: float) -> list[dict]:
    """Forward and backward of every layer case, ours and (if given) torch's, alternating."""
    rows = []
    for case in layer_cases.layer_cases(args.quick):
        rng = np.random.default_rng(0)
        layer, x, dout, target = case.make(args.layer_batch, rng)
        cases = {}
        cases["ours_fwd"], cases["ours_bwd"] = layer_cases.ours_layer_pass(layer, x, dout, target)
        if torch is not None:
            module = case.make_torch(torch, layer)
            cases["torch_fwd"], cases["torch_bwd"] = torch_ref.torch_layer_pass(module, x, dout, target)
        stats = alternate(cases, args.repeats, warmup=1 if args.quick else 2)
        flops = case.flops(args.layer_batch)
        ours = stats["ours_fwd"].median + stats["ours_bwd"].median
        theirs = stats["torch_fwd"].median + stats["torch_bwd"].median if torch is not None else None
        gflops = 3 * flops / ours / 1e6 if flops else None
        rows.append({"name": case.name, "kind": case.kind, "batch": args.layer_batch, "flops_forward": flops,
                     **{k: v.as_dict() for k, v in stats.items()},
                     "ratio_ours_over_torch": _ratio(ours, theirs),
                     "gflops": gflops, "fraction_of_peak": gflops / peak if gflops else None})
    return rows


def bench_networks(args, torch, peak: float) -> list[dict]:
    """A training step and inference of each network, ours and torch's, alternating."""
    rows = []
    for spec in networks.NETWORKS:
        network = networks.build(spec)
        if isinstance(network, str):
            rows.append({"name": spec.name, "skipped": network})
            continue
        x, t = networks.batch(spec, args.batch)
        flops = networks.forward_flops(network, args.batch)
        train = {"ours": networks.train_step(network, x, t)}
        infer = {"ours": networks.inference(network, spec, x)}
        check = None
        if torch is not None:
            model = torch_ref.to_torch(network, torch)
            check = torch_ref.max_abs_difference(network, model, x, spec.has_train_flag)
            train["torch"] = torch_ref.torch_train_step(model, x, t)
            infer["torch"] = torch_ref.torch_inference(model, x)
        for task, cases, task_flops in (("train step", train, 3 * flops), ("inference", infer, flops)):
            stats = alternate(cases, args.repeats, warmup=1 if args.quick else 2)
            ours = stats["ours"].median
            theirs = stats["torch"].median if "torch" in stats else None
            gflops = task_flops / ours / 1e6
            rows.append({"name": spec.name, "task": task, "batch": args.batch, "flops": task_flops,
                         **{k: v.as_dict() for k, v in stats.items()},
                         "ratio_ours_over_torch": _ratio(ours, theirs),
                         "gflops": gflops, "fraction_of_peak": gflops / peak,
                         "torch_max_abs_difference": check})
    return rows


def bench_memory(args, threads: int) -> list[dict]:
    """Peak RSS of DeepConvNet training steps (and of the training script's --quick run) in subprocesses."""
    rows = []
    if args.memory_steps > 0:
        rows.append(memory.peak_rss(["--steps", str(args.memory_steps), "--batch", str(args.batch)], threads))
    if not (args.no_script or args.quick) and (memory.REPO_ROOT / "dataset" / "mnist.pkl").exists():
        tmp = Path(tempfile.gettempdir())
        rows.append(memory.peak_rss(["--script", "ch08_deep.train_deepnet", "--", "--quick", "--no-show",
                                     "--save", str(tmp / "bench_train_deepnet.png"),
                                     "--out", str(tmp / "bench_deep_convnet_params.npz")], threads))
    return rows


def _print_system(result: dict) -> None:
    system = result["system"]
    print("== System ==")
    print(f"Python {system['python']}, NumPy {system['numpy']}, {system['cpu_count']} CPUs, {system['platform']}")
    if system["load_average"]:
        print("load average at start: " + ", ".join(f"{v:.2f}" for v in system["load_average"]))
    for lib in system["blas"] or [{"internal_api": "BLAS unknown (threadpoolctl not installed)"}]:
        print(f"BLAS: {lib.get('internal_api')} {lib.get('version') or ''} ({lib.get('prefix') or ''}), "
              f"kernel (coretype) {lib.get('architecture')}, {lib.get('num_threads')} threads")
    env = " ".join(f"{k}={v}" for k, v in system["openblas_env"].items()) or "none"
    print(f"OPENBLAS_* variables: {env}")
    print(f"threads used: {result['threads']} (BLAS" + (", torch.set_num_threads)" if result["torch"] else ")"))
    print(f"PyTorch: {result['torch'] or 'not compared'}")
    gemm = result["gemm_peak"]
    print(f"float32 GEMM peak ({gemm['n']}x{gemm['n']} matmul): {gemm['gflops_median']:.1f} GFLOP/s median, "
          f"{gemm['gflops_best']:.1f} best")


def _print_layers(rows: list[dict]) -> None:
    print(f"\n== Layers (batch {rows[0]['batch']}; ms, median [IQR]) ==")
    print(f"{'layer':58s} {'ours fwd':>22s} {'ours bwd':>22s} {'torch fwd':>22s} {'torch bwd':>22s} "
          f"{'ratio':>6s} {'GFLOP/s':>8s} {'%peak':>6s}")
    for row in rows:
        cells = [str(Stats(**row[k])) if k in row else f"{'-':>8s}" for k in ("ours_fwd", "ours_bwd", "torch_fwd",
                                                                            "torch_bwd")]
        peak = None if row["fraction_of_peak"] is None else 100 * row["fraction_of_peak"]
        print(f"{row['name']:58s} " + " ".join(f"{c:>22s}" for c in cells)
              + f" {_fmt(row['ratio_ours_over_torch'], width=6)} {_fmt(row['gflops'], '.1f')} {_fmt(peak, '.0f', 6)}")


def _print_networks(rows: list[dict]) -> None:
    print("\n== Networks (ms, median [IQR]; ratio = ours / PyTorch; GFLOP/s of ours) ==")
    print(f"{'network':14s} {'task':11s} {'batch':>5s} {'ours':>24s} {'PyTorch':>24s} {'ratio':>6s} "
          f"{'GFLOP/s':>8s} {'%peak':>6s}")
    for row in rows:
        if "skipped" in row:
            print(f"{row['name']:14s} skipped: {row['skipped']}")
            continue
        theirs = str(Stats(**row["torch"])) if "torch" in row else "-"
        print(f"{row['name']:14s} {row['task']:11s} {row['batch']:5d} {str(Stats(**row['ours'])):>24s} "
              f"{theirs:>24s} {_fmt(row['ratio_ours_over_torch'], width=6)} {row['gflops']:8.1f} "
              f"{100 * row['fraction_of_peak']:6.1f}")
    checks = {r["name"]: r["torch_max_abs_difference"] for r in rows if r.get("torch_max_abs_difference") is not None}
    if checks:
        print("PyTorch translation check, max |scores ours - torch|: "
              + ", ".join(f"{k} {v:.1e}" for k, v in checks.items()))


def _print_memory(rows: list[dict]) -> None:
    print("\n== Peak memory (max RSS of a fresh process) ==")
    for row in rows:
        if "error" in row or "skipped" in row:
            print(f"{row.get('command', '')}: {row.get('error') or row.get('skipped')}")
        else:
            source = f" ({row['source']}; getrusage says {row['ru_maxrss_mb']:.0f})" if "source" in row else ""
            print(f"{row['what']}: {row['max_rss_mb']:.0f} MiB{source}")


def run(args: argparse.Namespace) -> dict:
    """Run the selected sections and return the results (as written to JSON)."""
    torch = None if args.no_torch else torch_ref.torch_or_none()
    threads = args.threads or min(sysinfo.blas_threads() or os.cpu_count(), sysinfo.free_cores())
    sections = set(args.only or ["layers", "networks", "memory"])
    result = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick, "threads": threads,
              "repeats": args.repeats, "torch": None}
    with sysinfo.limit_blas_threads(threads):
        if torch is not None:
            torch.set_num_threads(threads)
            result["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
        result["system"] = sysinfo.system_info()
        result["gemm_peak"] = sysinfo.gemm_peak(args.gemm_size, repeats=3 if args.quick else 7)
        _print_system(result)
        peak = result["gemm_peak"]["gflops_median"]
        if "layers" in sections:
            result["layers"] = bench_layers(args, torch, peak)
            _print_layers(result["layers"])
        if "networks" in sections:
            result["networks"] = bench_networks(args, torch, peak)
            _print_networks(result["networks"])
    if "memory" in sections:
        result["memory"] = bench_memory(args, threads)
        _print_memory(result["memory"])
    return result


def main(argv: list[str] | None = None) -> dict:
    args = _parse(argv)
    result = run(args)
    path = Path(args.json) if args.json else Path("bench_results") / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"\nresults written to {path}")
    return result


if __name__ == "__main__":
    main()
