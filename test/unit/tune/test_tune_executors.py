"""Executors: serial, local process pool, Ray (when installed)."""

from __future__ import annotations

import importlib.util
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


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_executor_without_ray_is_a_clear_error():
    with pytest.raises(tune.ExecutorError, match="optional 'ray' extra"):
        tune.make_executor("ray")


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (optional extra: pip install 'fuseflow[ray]')")
def test_ray_executor_runs_evaluations():
    objective = ImportedCallable("spmm_model.py:cycles", EXAMPLES)
    res = tune.minimize(objective, spmm_space(), budget=4, seed=0, executor="ray", workers=2,
                        doe=3)
    assert len(res.history) == 4 and res.best_value is not None
