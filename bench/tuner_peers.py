"""The tuners ``bench/tuner_compare.py`` runs side by side, behind one signature:
``run(problem, budget, seed) -> (best-so-far trace, per-proposal overhead seconds)``.

* ``fuseflow``: ``fuseflow.tune.minimize`` with its defaults.
* ``random``: the space's own feasible sampler, without repeats.
* ``tpe``, ``gp``: Optuna's TPE and Gaussian-process samplers (Optuna's defaults). A
  permutation is a categorical over all its orders; conditional parameters are suggested only
  when active. Known constraints: a proposal that breaks one is repaired (``Space.repair``: the
  nearest feasible point keeping every value the constraints allow), the proposal is told it
  failed and the repaired point is added to the study as the evaluated trial, so each proposal
  costs one evaluation and the sampler learns from what was evaluated. Hidden failures are
  reported through the sampler's ``constraints_func`` with a value worse than any seen.
* ``hebo``: HEBO (Huawei, NeurIPS 2020 black-box optimization challenge) with its defaults, the
  same repair scheme; a permutation is a categorical over its orders. HEBO needs numpy < 1.25,
  so it runs in an environment of its own (``make hebo-env``) behind ``hebo_worker.py``.

Every tuner sees ``log(cost)`` (all costs are positive; a monotone transform that leaves the
optimum in place and spares the GP samplers a range of several decades). A peer whose package is
not installed is skipped with the reason, never replaced by numbers.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np

from fuseflow import tune


def best_so_far(values: list[float]) -> list[float]:
    out, cur = [], math.inf
    for v in values:
        cur = min(cur, v)
        out.append(cur)
    return out


def _evaluate(problem, point: dict) -> float:
    try:
        return float(problem.cost(point))
    except tune.Infeasible:
        return math.inf


def run_fuseflow(problem, budget: int, seed: int):
    res = tune.minimize(problem.cost, problem.space, budget=budget, seed=seed)
    vals = [e.value if e.feasible else math.inf for e in res.history]
    trace = best_so_far(vals)
    return trace + [trace[-1]] * (budget - len(trace)), res.overhead


def run_random(problem, budget: int, seed: int):
    rng = np.random.default_rng(seed)
    space = problem.space
    seen, hist = set(), []
    while len(hist) < budget:
        p = space.sample(rng)[0]
        k = space.key(p)
        if k in seen and len(seen) < space.size():
            continue
        seen.add(k)
        hist.append(_evaluate(problem, p))
    return best_so_far(hist), []


def _perm_label(order) -> str:
    return ",".join(map(str, order))


def _optuna_distributions(space: tune.Space) -> dict:
    import optuna.distributions as d

    out = {}
    for prm in space.params:
        if isinstance(prm, tune.Real):
            out[prm.name] = d.FloatDistribution(prm.low, prm.high, log=prm.log)
        elif isinstance(prm, tune.Integer):
            out[prm.name] = d.IntDistribution(prm.low, prm.high, log=prm.log)
        elif isinstance(prm, tune.Permutation):
            out[prm.name] = d.CategoricalDistribution(
                [_perm_label(x) for x in itertools.permutations(prm.items)])
        else:
            out[prm.name] = d.CategoricalDistribution(prm.values())
    return out


def _from_optuna(prm, value):
    if isinstance(prm, tune.Permutation):
        by_label = {_perm_label(x): x for x in itertools.permutations(prm.items)}
        return by_label[value]
    return value


def _to_optuna(prm, value):
    return _perm_label(value) if isinstance(prm, tune.Permutation) else value


def _suggest(trial, name: str, dist):
    import optuna.distributions as d

    if isinstance(dist, d.FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_categorical(name, dist.choices)


def _run_optuna(problem, budget: int, seed: int, make_sampler):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = problem.space
    dists = _optuna_distributions(space)
    rng = np.random.default_rng([seed, 99])

    def constraints(trial):
        return [trial.user_attrs.get("violation", 0.0)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(sampler=make_sampler(seed, constraints))
    hist: list[float] = []
    worst = -math.inf
    overhead: list[float] = []
    while len(hist) < budget:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask()
            point: dict = {}
            for prm in space.params:  # define by run: only active parameters are suggested
                if space.is_active(prm.name, point):
                    point[prm.name] = _from_optuna(prm, _suggest(trial, prm.name, dists[prm.name]))
                else:
                    point[prm.name] = None
        overhead.append(time.perf_counter() - t0)
        evaluated = space.repair(point, rng)
        v = _evaluate(problem, evaluated)
        hist.append(v)
        if math.isfinite(v):
            worst = max(worst, math.log(v))
        told = math.log(v) if math.isfinite(v) else (worst + 1.0 if math.isfinite(worst) else 1e6)
        attrs = {"violation": 0.0 if math.isfinite(v) else 1.0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if evaluated == space.normalize(point):
                for k, a in attrs.items():
                    trial.set_user_attr(k, a)
                study.tell(trial, told)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                params = {k: _to_optuna(space.by_name[k], x) for k, x in evaluated.items() if x is not None}
                study.add_trial(optuna.trial.create_trial(
                    params=params, distributions={k: dists[k] for k in params}, value=told,
                    user_attrs=attrs, constraints={"0": attrs["violation"]}))
    return best_so_far(hist), overhead


def run_tpe(problem, budget: int, seed: int):
    import optuna

    return _run_optuna(problem, budget, seed,
                       lambda s, c: optuna.samplers.TPESampler(seed=s, constraints_func=c))


def run_gp(problem, budget: int, seed: int):
    import optuna

    return _run_optuna(problem, budget, seed,
                       lambda s, c: optuna.samplers.GPSampler(seed=s, constraints_func=c))


HEBO_PYTHON = Path(__file__).resolve().parents[1] / ".venv-hebo" / "bin" / "python"


def hebo_python() -> str:
    """The interpreter that runs ``hebo_worker.py``: ``$FUSEFLOW_HEBO_PYTHON``, else the
    environment ``make hebo-env`` builds."""
    return os.environ.get("FUSEFLOW_HEBO_PYTHON") or str(HEBO_PYTHON)


def hebo_missing() -> str | None:
    """Why HEBO cannot run here, or ``None``."""
    python = hebo_python()
    if not Path(python).exists():
        return (f"no HEBO environment at {python} (`make hebo-env` builds it: HEBO 0.3.6 needs "
                "numpy < 1.25, so it runs in an environment of its own)")
    probe = subprocess.run([python, "-c", "import hebo"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{python} cannot import hebo: {probe.stderr.strip().splitlines()[-1:]}"
    return None


class _HeboWorker:
    """One HEBO optimizer in ``hebo_worker.py`` under the HEBO environment's interpreter."""

    def __init__(self, spec: list, seed: int, rand_sample: int):
        self.proc = subprocess.Popen([hebo_python(), str(Path(__file__).with_name("hebo_worker.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.call({"spec": spec, "seed": seed, "rand_sample": rand_sample})

    def call(self, msg: dict) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the HEBO worker exited (code {self.proc.wait()})")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"HEBO worker: {out['error']}")
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def run_hebo(problem, budget: int, seed: int):
    space = problem.space
    spec, labels = [], {}
    for prm in space.params:
        if isinstance(prm, tune.Real):
            spec.append({"name": prm.name, "type": "pow" if prm.log else "num",
                         "lb": prm.low, "ub": prm.high})
        elif isinstance(prm, tune.Integer):
            spec.append({"name": prm.name, "type": "int", "lb": prm.low, "ub": prm.high})
        else:
            vals = (list(itertools.permutations(prm.items)) if isinstance(prm, tune.Permutation)
                    else prm.values())
            labels[prm.name] = {str(i): v for i, v in enumerate(vals)}
            spec.append({"name": prm.name, "type": "cat", "categories": list(labels[prm.name])})
    inv = {name: {val: key for key, val in m.items()} for name, m in labels.items()}
    rng = np.random.default_rng([seed, 99])
    hist, overhead, worst = [], [], 0.0
    worker = _HeboWorker(spec, seed, rand_sample=4)
    try:
        while len(hist) < budget:
            t0 = time.perf_counter()
            row = worker.call({"cmd": "suggest"})["row"]
            overhead.append(time.perf_counter() - t0)
            point = {}
            for prm in space.params:
                raw = row[prm.name]
                point[prm.name] = labels[prm.name][str(raw)] if prm.name in labels else raw
            point = space.repair(space.normalize(point), rng)
            v = _evaluate(problem, point)
            hist.append(v)
            if math.isfinite(v):
                worst = max(worst, math.log(v))
            told = math.log(v) if math.isfinite(v) else worst + 1.0
            # HEBO learns from the evaluated (repaired) point; it has no conditional parameters,
            # so an inactive one keeps the value HEBO suggested
            obs = {k: row[k] if x is None else (inv[k][x] if k in inv else x) for k, x in point.items()}
            worker.call({"cmd": "observe", "row": obs, "y": told})
    finally:
        worker.close()
    return best_so_far(hist), overhead


TUNERS = {"fuseflow": run_fuseflow, "random": run_random, "tpe": run_tpe, "gp": run_gp,
          "hebo": run_hebo}
PEER_MISSING = {"hebo": hebo_missing}
