"""The BLAS thread policy (common.threads) and the scripts' --threads option: threadpoolctl is a dependency."""

import os

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
def test_free_cores_subtracts_the_load(monkeypatch, load, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    assert threads.free_cores() == expected


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
