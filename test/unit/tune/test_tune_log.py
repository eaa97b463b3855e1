"""The evaluation log: written as evaluations finish, resumable after an interruption."""

from __future__ import annotations

import json

import pytest

from fuseflow import tune


def space():
    return tune.Space([tune.Ordinal("b", [4, 8, 16, 32, 64]), tune.Permutation("order", "ijk"),
                       tune.Categorical("fmt", ["csr", "dcsr"])], constraints=["b >= 8 or fmt == 'csr'"])


def cost(p):
    if p["b"] == 64 and p["order"][0] == "k":
        raise tune.Infeasible("overflow")
    return p["b"] * (1 + p["order"].index("k")) + (3 if p["fmt"] == "csr" else 1) * 100 / p["b"]


class Interrupt:
    """An objective that is 'interrupted' (Ctrl-C) on its n-th call."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, p):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return cost(p)


def records(path):
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_each_evaluation_is_logged_as_it_finishes(tmp_path):
    log = tmp_path / "run" / "log.jsonl"
    seen = []

    def objective(p):
        # by the time the k-th evaluation starts, the k-1 before it are on disk
        seen.append(len(records(log)) - 1)
        return cost(p)

    res = tune.minimize(objective, space(), budget=8, seed=0, log=log)
    assert seen == list(range(8))
    recs = records(log)
    assert recs[0]["type"] == "header" and recs[0]["seed"] == 0
    evs = recs[1:]
    assert [r["index"] for r in evs] == list(range(8))
    assert [r["value"] for r in evs] == [e.value for e in res.history]
    assert all(set(r) >= {"point", "value", "feasible", "wall_time", "error", "phase"} for r in evs)


def test_resume_after_interrupt_loses_nothing_and_matches_uninterrupted_run(tmp_path):
    full = tune.minimize(cost, space(), budget=12, seed=4, log=tmp_path / "full.jsonl")
    log = tmp_path / "cut.jsonl"
    with pytest.raises(KeyboardInterrupt):
        tune.minimize(Interrupt(9), space(), budget=12, seed=4, log=log)
    assert len(records(log)) == 1 + 8  # header + the 8 finished evaluations
    calls = []
    res = tune.minimize(lambda p: calls.append(p) or cost(p), space(), budget=12, seed=4,
                        log=log, resume=True)
    assert len(calls) == 4  # only the missing evaluations ran
    key = space().key
    assert [key(e.point) for e in res.history] == [key(e.point) for e in full.history]
    assert [e.value for e in res.history] == [e.value for e in full.history]
    assert len(records(log)) == 1 + 12


def test_torn_last_line_is_dropped_and_cut(tmp_path):
    log = tmp_path / "log.jsonl"
    tune.minimize(cost, space(), budget=5, seed=1, log=log)
    with open(log, "a") as fh:
        fh.write('{"type": "evaluation", "index": 5, "poi')  # died mid-write
    header, evs = tune.read_log(log, space())
    assert header is not None and len(evs) == 5
    res = tune.minimize(cost, space(), budget=7, seed=1, log=log, resume=True)
    assert len(res.history) == 7
    assert len(records(log)) == 1 + 7  # every line parses again


def test_existing_log_needs_resume_and_the_same_space(tmp_path):
    log = tmp_path / "log.jsonl"
    tune.minimize(cost, space(), budget=3, seed=0, log=log)
    with pytest.raises(tune.LogError, match="already exists"):
        tune.minimize(cost, space(), budget=3, seed=0, log=log)
    other = tune.Space([tune.Ordinal("b", [4, 8])])
    with pytest.raises(tune.LogError, match="different space"):
        tune.minimize(lambda p: p["b"], other, budget=3, log=log, resume=True)


def test_resume_with_budget_already_spent_runs_nothing(tmp_path):
    log = tmp_path / "log.jsonl"
    tune.minimize(cost, space(), budget=4, seed=0, log=log)
    res = tune.minimize(lambda p: pytest.fail("must not evaluate"), space(), budget=4, seed=0,
                        log=log, resume=True)
    assert len(res.history) == 4
