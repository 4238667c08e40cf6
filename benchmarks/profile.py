"""Per-layer profile of one training step (gradient + Adam) of the book's networks.

    python -m benchmarks.profile --network DeepConvNet --steps 10      # table on stdout
    python -m benchmarks.profile --network SimpleConvNet --threads 1 --json prof.json

Every layer's ``forward`` and ``backward`` (and the optimizer's update) is wrapped with a timer on the instance,
so the network runs its own code unchanged; each step's times are recorded and the table shows, per layer and
direction, the median over the steps in ms, the achieved GFLOP/s (convolution and affine layers: forward
2*N*OH*OW*FN*C*FH*FW, backward twice that) and the share of the median step. The rows do not add up exactly to
the step (Python overhead between layers, the loss layer counts as one row).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks import networks
from common.layers import Affine, Convolution
from common.optimizer import Adam
from common.threads import blas_threads_info, limit_threads

__all__ = ["profile_step", "main"]


def _layer_flops(layer, x_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Forward multiply-adds x 2 of a convolution or affine layer (0 for the others)."""
    if isinstance(layer, Convolution):
        fn, c, fh, fw = layer.W.shape
        return 2 * out_shape[0] * out_shape[2] * out_shape[3] * fn * c * fh * fw
    if isinstance(layer, Affine):
        return 2 * x_shape[0] * layer.W.shape[0] * layer.W.shape[1]
    return 0


def _wrap(obj, method: str, key: tuple[str, str], times: dict, shapes: dict) -> None:
    """Replace ``obj.method`` by a timed call of the original, recording into ``times[key]``."""
    original = getattr(obj, method)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = original(*args, **kwargs)
        times[key].append(time.perf_counter() - start)
        if method == "forward" and key not in shapes:
            shapes[key] = (np.shape(args[0]), np.shape(out))
        return out

    setattr(obj, method, timed)


def profile_step(name: str, batch: int = 100, steps: int = 10, warmup: int = 2, seed: int = 0) -> dict:
    """Time ``steps`` training steps of network ``name`` layer by layer (after ``warmup`` untimed steps).

    Returns {"network", "batch", "steps", "step_ms" (median), "rows": [{"layer", "direction", "ms", "gflops",
    "share"}]}.
    """
    spec = next(s for s in networks.NETWORKS if s.name == name)
    network = networks.build(spec, seed)
    if isinstance(network, str):
        return {"network": name, "skipped": network}
    x, t = networks.batch(spec, batch, seed)
    optimizer = Adam(lr=0.001)
    for _ in range(warmup):
        optimizer.update(network.params, network.gradient(x, t))
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    shapes: dict[tuple[str, str], tuple] = {}
    for layer_name, layer in list(network.layers.items()) + [("SoftmaxWithLoss", network.last_layer)]:
        for method in ("forward", "backward"):
            _wrap(layer, method, (layer_name, method), times, shapes)
    _wrap(optimizer, "update", ("Adam", "update"), times, shapes)
    step_times = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.update(network.params, network.gradient(x, t))
        step_times.append(time.perf_counter() - start)
    step = float(np.median(step_times))
    rows = []
    for (layer_name, method), ts in times.items():
        ms = float(np.median(ts)) * 1e3
        layer = network.layers.get(layer_name)
        x_shape, out_shape = shapes.get((layer_name, "forward"), ((), ()))
        flops = _layer_flops(layer, x_shape, out_shape) * (2 if method == "backward" else 1)
        rows.append({"layer": layer_name, "direction": method, "ms": ms,
                     "gflops": flops / ms / 1e6 if flops and ms > 0 else None, "share": ms / 1e3 / step})
    q1, q3 = np.percentile(np.asarray(step_times) * 1e3, [25, 75])
    return {"network": name, "batch": batch, "steps": steps, "step_ms": step * 1e3, "step_iqr_ms": [q1, q3],
            "rows": rows}


def _print(result: dict) -> None:
    print(f"\n== {result['network']}: one training step, batch {result['batch']}, median of {result['steps']} "
          f"steps: {result['step_ms']:.1f} ms [IQR {result['step_iqr_ms'][0]:.1f}-{result['step_iqr_ms'][1]:.1f}] ==")
    print(f"{'layer':16s} {'pass':9s} {'ms':>8s} {'GFLOP/s':>8s} {'share':>6s}")
    for row in result["rows"]:
        gflops = f"{row['gflops']:8.1f}" if row["gflops"] else f"{'-':>8s}"
        print(f"{row['layer']:16s} {row['direction']:9s} {row['ms']:8.2f} {gflops} {100 * row['share']:5.1f}%")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", action="append", choices=[s.name for s in networks.NETWORKS], default=None,
                        help="network to profile (repeatable; default SimpleConvNet and DeepConvNet)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the thread policy's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = []
    with limit_threads(args.threads):
        print("BLAS: " + blas_threads_info())
        for name in args.network or ["SimpleConvNet", "DeepConvNet"]:
            results.append(profile_step(name, args.batch, args.steps, seed=args.seed))
            _print(results[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    from common.allocator import keep_freed_memory

    keep_freed_memory()  # as the training scripts do (not in main(): a test calling it keeps its allocator)
    main()
