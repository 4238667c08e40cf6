"""The BLAS thread policy (common.threads) and the scripts' --threads option: threadpoolctl is a dependency."""

import os
import subprocess
import sys

import pytest

from ch05_backprop import buy_apple
from common import cli, threads


@pytest.fixture(autouse=True)
def restore_threads():
    before = threads.blas_threads()
    yield
    threads.set_threads(before)


def test_threadpoolctl_is_installed_and_sees_numpys_blas():
    assert threads.available()
    assert threads.blas_threads() >= 1
    assert "threads" in threads.blas_threads_info() and "unknown" not in threads.blas_threads_info()


@pytest.mark.parametrize("n", [1, 2])
def test_set_threads_sets_exactly_n(n):
    assert threads.set_threads(n) == n
    assert threads.blas_threads() == n


def test_limit_threads_restores_the_previous_count():
    threads.set_threads(2)
    with threads.limit_threads(1) as inside:
        assert inside == 1 and threads.blas_threads() == 1
    assert threads.blas_threads() == 2
    with threads.limit_threads(None) as unchanged:
        assert unchanged == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be a positive int"):
        threads.set_threads(bad)


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="workload"):
        threads.policy_threads("medium")
    with pytest.raises(ValueError, match="workload"):
        cli.make_parser("x", workload="huge")


@pytest.mark.parametrize("load, expected", [(0.0, 4), (1.2, 3), (2.6, 1), (9.0, 1)])
def test_free_cores_subtracts_the_load_where_no_sample_can_be_taken(monkeypatch, load, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "busy_cpus", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    assert threads.free_cores() == expected


@pytest.mark.parametrize("busy, expected", [(0.05, 4), (1.2, 3), (2.6, 1), (4.0, 1)])
def test_free_cores_trusts_the_sample_over_the_lagging_load_average(monkeypatch, busy, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "busy_cpus", lambda: busy)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.9 - busy, 0.0, 0.0))  # a job that just ended, or just began
    assert threads.free_cores() == expected


@pytest.mark.parametrize("busy, expected", [(0.0, 4), (1.49, 3), (1.51, 2), (7.0, 1)])
def test_free_cores_of_a_given_reading_takes_no_sample(monkeypatch, busy, expected):
    """benchmarks.thread_policy applies the rule to a load average it read itself."""
    monkeypatch.setattr(os, "cpu_count", lambda: 4)

    def no_sampling():
        raise AssertionError("a given reading needs no sample")

    monkeypatch.setattr(threads, "busy_cpus", no_sampling)
    monkeypatch.setattr(os, "getloadavg", no_sampling)
    assert threads.free_cores(busy=busy) == expected


def test_free_cores_without_any_reading_counts_every_core(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    monkeypatch.setattr(threads, "busy_cpus", lambda: None)

    def no_load():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", no_load)
    assert threads.free_cores() == 3


def test_busy_cpus_is_the_non_idle_share_of_the_window_times_the_cpus(monkeypatch, tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice; idle and iowait are the idle ticks
    stat.write_text("cpu  100 5 95 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    later = "cpu  180 5 135 760 120 0 0 0 40 0\n"  # +120 busy ticks, +80 idle ticks (guest time is inside user)
    monkeypatch.setattr(threads, "_PROC_STAT", str(stat))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: stat.write_text(later))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert threads.busy_cpus() == pytest.approx(120 / 200 * 4)


def test_busy_cpus_is_none_where_the_counters_cannot_be_read(monkeypatch, tmp_path):
    monkeypatch.setattr(threads, "_PROC_STAT", str(tmp_path / "missing"))
    assert threads.busy_cpus() is None
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3 4 5 6 7 8\n")  # no tick in between: no window to measure
    monkeypatch.setattr(threads, "_PROC_STAT", str(stat))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)
    assert threads.busy_cpus() is None


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="/proc/stat is Linux's")
def test_busy_cpus_sees_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline().strip() == "spinning"
        busy = threads.busy_cpus(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and 0.5 <= busy <= os.cpu_count() + 1e-9


def test_policy_small_is_one_thread_large_is_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads, "free_cores", lambda: 3)
    assert threads.policy_threads("small") == 1
    assert threads.policy_threads("large") == 3


def test_a_small_script_runs_on_one_thread_unless_told(monkeypatch):
    threads.set_threads(2)
    buy_apple.main([])
    assert threads.blas_threads() == 1
    buy_apple.main(["--threads", "2"])
    assert threads.blas_threads() == 2


def test_a_large_workload_parser_takes_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads, "free_cores", lambda: 2)
    threads.set_threads(1)
    cli.make_parser("x", workload="large").parse_args([])
    assert threads.blas_threads() == 2
