"""benchmarks/: the quick mode's code paths on tiny shapes (no timing assertions; PyTorch optional). The kernels
the benchmarks time are checked against their plain references in tests/test_kernels.py."""

from __future__ import annotations

import json
import os

import pytest

from benchmarks import layer_cases, networks, run, timing

TINY = ["--quick", "--batch", "4", "--layer-batch", "2", "--repeats", "1", "--gemm-size", "32", "--memory-steps", "1"]


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------------------
# The benchmark suite
# --------------------------------------------------------------------------------------------------------

def test_quick_run_writes_every_section(tmp_path, capsys):
    path = tmp_path / "bench.json"
    run.main(TINY + ["--json", str(path)])
    result = json.loads(path.read_text())
    printed = capsys.readouterr().out
    assert "== Layers" in printed and "== Networks" in printed and "GEMM peak" in printed
    assert result["gemm_peak"]["gflops_median"] > 0
    assert "openblas_env" in result["system"] and isinstance(result["system"]["blas"], list)
    assert len(result["layers"]) == len(layer_cases.layer_cases(quick=True))
    for row in result["layers"]:
        assert row["ours_fwd"]["repeats"] == 1 and row["ours_bwd"]["median"] >= 0
    timed = [row for row in result["networks"] if "skipped" not in row]
    assert {row["task"] for row in timed} == {"train step", "inference"}
    for row in timed:
        assert row["ours"]["median"] > 0 and row["gflops"] > 0
        if _has_torch():
            assert row["torch"]["median"] > 0 and row["ratio_ours_over_torch"] > 0
            assert row["torch_max_abs_difference"] < 1e-4  # the translated PyTorch network computes the same
    memory = result["memory"][0]
    assert memory["max_rss_mb"] > 10, memory


def test_run_without_torch(tmp_path):
    result = run.main(TINY + ["--no-torch", "--only", "networks", "--json", str(tmp_path / "r.json")])
    assert result["torch"] is None and "layers" not in result and "memory" not in result
    for row in result["networks"]:
        assert "torch" not in row and row.get("ratio_ours_over_torch") is None


def test_alternate_interleaves_and_counts():
    calls = []
    stats = timing.alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert stats["a"].repeats == 3 and stats["a"].min <= stats["a"].median <= stats["a"].max
    with pytest.raises(ValueError):
        timing.alternate({"a": lambda: None}, repeats=0)


def test_forward_flops_match_the_book_networks():
    """The analytic counts quoted in the README: 0.173 GFLOP (SimpleConvNet) and 1.755 GFLOP (DeepConvNet)."""
    specs = {spec.name: spec for spec in networks.NETWORKS}
    simple = networks.build(specs["SimpleConvNet"])
    deep = networks.build(specs["DeepConvNet"])
    if isinstance(simple, str) or isinstance(deep, str):
        pytest.skip("chapter 7/8 networks missing")
    assert networks.forward_flops(simple, 100) == 2 * 100 * (24 * 24 * 30 * 25 + 4320 * 100 + 100 * 10)
    assert networks.forward_flops(deep, 100) == 1_754_468_000


def test_parallel_benchmark_times_every_way_in_its_own_process(capsys):
    from benchmarks import parallel

    found = parallel.main(["--network", "SimpleConvNet", "--rounds", "1", "--steps", "1", "--batch", "4"])
    assert set(found) == set(parallel.MODES) and all(len(v) == 1 and v[0] > 0 for v in found.values())
    printed = capsys.readouterr().out
    assert "SimpleConvNet, batch 4, quiet" in printed and "split over 2 threads" in printed


@pytest.mark.parametrize("malloc_default", [False, True])
def test_fair_benchmark_against_a_baseline_reports_times_and_page_faults(capsys, malloc_default):
    """--baseline runs the other side from a folder's own `common` (here: this checkout), no PyTorch needed;
    --malloc-default leaves both of our workers on glibc's malloc settings, and they say so."""
    from benchmarks import fair

    rows = fair.main(["--only", "BatchNorm2d", "--rounds", "2", "--steps", "2", "--batch", "4", "--threads", "1",
                      "--baseline", str(fair.REPO_ROOT)] + (["--malloc-default"] if malloc_default else []))
    (row,) = rows
    for side in ("ours_info", "torch_info"):
        assert ("glibc malloc defaults" in row[side]["ours"]) == malloc_default
    assert fair.MALLOC_DEFAULT_ENV not in __import__("os").environ
    assert row["ours"]["n"] == row["torch"]["n"] == 4 and len(row["ratio_per_round"]) == 2
    assert all(isinstance(v, float) and v >= 0 for v in row["faults_per_step"].values())
    printed = capsys.readouterr().out
    assert "minor page faults per step: ours " in printed and "BatchNorm2d" in printed


def test_fair_reads_an_older_workers_bare_list_of_times():
    import io

    from benchmarks import fair

    class Worker:
        stdin = io.StringIO()
        stdout = io.StringIO("[0.5, 0.25]\n" + json.dumps({"times": [0.1], "minor_faults": 7}) + "\n")

    assert fair._ask(Worker, 2) == ([0.5, 0.25], None)
    assert fair._ask(Worker, 1) == ([0.1], 7)
    assert Worker.stdin.getvalue() == "run 2\nrun 1\n"


@pytest.mark.skipif(not hasattr(os, "getloadavg"), reason="needs a load average")
def test_thread_policy_benchmark_prints_both_readings(capsys):
    from benchmarks import thread_policy

    thread_policy.main(["--busy", "1", "--seconds", "0.2", "--every", "0", "--readings", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("1 busy processes ran 0 s and stopped")
    assert len(lines) == 3
    for line in lines[1:]:
        assert "load average" in line and "free by the load average" in line and "free_cores() " in line
        assert 1 <= int(line.rsplit(" ", 1)[1]) <= (os.cpu_count() or 1)
