"""Executors: serial, local process pool, Ray (when installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fuseflow import tune
from fuseflow.tune.scenario import ImportedCallable

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tune"


def spmm_space():
    return tune.Space(
        [tune.Permutation("order", ["i", "k", "j"]), tune.Ordinal("bi", [4, 8, 16, 32, 64]),
         tune.Ordinal("bj", [4, 8, 16, 32, 64]), tune.Ordinal("par", [1, 2, 4, 8])],
        constraints=["par <= bi", "bi * bj <= 4096"])


def test_serial_executor_future():
    ex = tune.make_executor("serial")
    assert ex.submit(abs, -3).result() == 3
    fut = ex.submit(int, "x")
    assert isinstance(fut.exception(), ValueError)


def test_unknown_executor():
    with pytest.raises(tune.ExecutorError, match="unknown executor"):
        tune.make_executor("threads")


def test_process_pool_runs_batches_like_serial(tmp_path):
    objective = ImportedCallable("spmm_model.py:cycles", EXAMPLES)  # picklable by reference
    kw = dict(budget=6, seed=2, batch_size=2, doe=3)
    par = tune.minimize(objective, spmm_space(), executor="process", workers=2, **kw,
                        log=tmp_path / "log.jsonl")
    ser = tune.minimize(objective, spmm_space(), executor="serial", **kw)
    key = spmm_space().key
    assert [key(e.point) for e in par.history] == [key(e.point) for e in ser.history]
    assert [e.value for e in par.history] == [e.value for e in ser.history]
    assert len(tune.read_log(tmp_path / "log.jsonl", spmm_space())[1]) == 6


def test_ray_executor_without_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the 'ray' extra were not installed
    with pytest.raises(tune.ExecutorError, match="optional 'ray' extra"):
        tune.make_executor("ray")


def test_an_address_is_for_ray_only():
    with pytest.raises(tune.ExecutorError, match="does not apply to the process executor"):
        tune.make_executor("process", 2, address="127.0.0.1:6379")


def _history(res):
    return [(sorted(e.point.items()), e.value, e.feasible) for e in res.history]


def test_ray_executor_on_a_local_instance_equals_serial():
    """With no address, the executor starts a local Ray instance for the run and stops it."""
    import ray

    objective = ImportedCallable("spmm_model.py:cycles", EXAMPLES)
    kw = dict(budget=5, seed=0, doe=3, batch_size=2)
    res = tune.minimize(objective, spmm_space(), executor="ray", workers=2, **kw)
    assert not ray.is_initialized()
    assert _history(res) == _history(tune.minimize(objective, spmm_space(), executor="serial", **kw))


def test_ray_executor_on_an_existing_cluster_equals_serial(ray_cluster):
    objective = ImportedCallable("spmm_model.py:cycles", EXAMPLES)
    kw = dict(budget=5, seed=3, doe=3, batch_size=2)
    ex = tune.make_executor("ray", address=ray_cluster)
    assert ex.workers == 2  # the cluster's CPUs
    res = tune.minimize(objective, spmm_space(), executor=ex, **kw)
    assert _history(res) == _history(tune.minimize(objective, spmm_space(), executor="serial", **kw))


def test_an_unreachable_cluster_is_a_clear_error_at_once():
    import socket
    import time

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(tune.ExecutorError, match=f"cannot reach the Ray cluster at '127.0.0.1:{port}'"):
        tune.make_executor("ray", address=f"127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 30
