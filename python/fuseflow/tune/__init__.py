"""``fuseflow.tune``: a Bayesian autotuner for compiler schedules (BaCO-class).

    from fuseflow import tune
    space = tune.Space([tune.Ordinal("b", [8, 16, 32]), tune.Permutation("order", ["i", "j", "k"])],
                       constraints=[lambda p: p["b"] <= 16 or p["order"][0] == "i"])
    result = tune.minimize(objective, space, budget=40, seed=0)  # objective(dict) -> float
    result.best_point, result.best_value, result.history

The objective raises (or returns) ``tune.Infeasible`` where it cannot run (a hidden
constraint). See docs/tuner.md for the algorithm and the scenario file format of
``fuseflow tune``.
"""

from __future__ import annotations

from fuseflow.tune.evaluation import Evaluation, Infeasible
from fuseflow.tune.executors import (
    Executor,
    ExecutorError,
    ProcessExecutor,
    RayExecutor,
    SerialExecutor,
    make_executor,
)
from fuseflow.tune.expr import Expression, ExpressionError
from fuseflow.tune.log import LogError, read_log
from fuseflow.tune.optimizer import Result, Settings, TuneError, Tuner, minimize
from fuseflow.tune.params import Categorical, Integer, Ordinal, Param, Permutation, Real, SpaceError
from fuseflow.tune.pareto import pareto_front
from fuseflow.tune.space import EmptySpaceError, Space

__all__ = [
    "Categorical", "EmptySpaceError", "Evaluation", "Executor", "ExecutorError", "Expression",
    "ExpressionError", "Infeasible", "Integer", "LogError", "Ordinal", "Param", "Permutation",
    "ProcessExecutor", "RayExecutor", "Real", "Result", "SerialExecutor", "Settings", "Space",
    "SpaceError", "TuneError", "Tuner", "make_executor", "minimize", "pareto_front", "read_log",
]
