"""Evaluating explorer points in other processes (a local pool or a Ray cluster).

An ``Explorer`` holds imported MLIR modules and compiled programs, which do not travel between
processes; an ``ExplorerRecipe`` (the workload's name or file and the explorer's options) does.
Each worker process builds the explorer from its recipe once, then evaluates the points it is
sent, so the outcomes are those of a serial run point for point.

    recipe = ExplorerRecipe("gcn", explorer={"prune": 4.0})
    ex = recipe.build()                               # the driver's own copy (space, estimates)
    result = explore(ex, "exhaustive", executor="process", workers=2)
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

_BUILT: dict[bytes, object] = {}  # this process's explorers, by pickled recipe


@dataclass(frozen=True)
class ExplorerRecipe:
    """How to build an ``Explorer``: ``workload`` is a built-in name or a ``.py`` file defining
    ``workload()`` (``fuseflow.workloads.load``); ``workload_kw`` the built-in's keyword
    arguments (such as ``nodes``); ``explorer`` the ``Explorer`` keyword arguments."""

    workload: str
    workload_kw: dict = field(default_factory=dict)
    explorer: dict = field(default_factory=dict)

    def __post_init__(self):
        path = Path(self.workload)
        if path.suffix == ".py":  # workers may start in another folder
            object.__setattr__(self, "workload", str(path.resolve()))

    def load_workload(self):
        from fuseflow import workloads
        from fuseflow.errors import FuseflowError

        if not self.workload_kw:
            return workloads.load(self.workload)
        if self.workload not in workloads.BUILTIN:
            raise FuseflowError(f"workload options {sorted(self.workload_kw)} apply to built-in workloads only")
        return workloads.BUILTIN[self.workload](**self.workload_kw)

    def build(self):
        """A new ``Explorer`` that remembers this recipe (so ``explore`` can send it to workers)."""
        from fuseflow.explore.design import Explorer

        ex = Explorer(self.load_workload(), **self.explorer)
        ex.recipe = self
        return ex

    def built(self):
        """This process's explorer for the recipe, built on first use."""
        key = pickle.dumps(self)
        ex = _BUILT.get(key)
        if ex is None:
            ex = _BUILT[key] = self.build()
        return ex


def evaluate_point(recipe: ExplorerRecipe, point: dict):
    """``Explorer.evaluate`` in a worker: the full ``Outcome`` (cycles per region, primitives,
    formats), built from the recipe's explorer of this process."""
    return recipe.built().evaluate(point)


@dataclass(frozen=True)
class PointObjective:
    """``Explorer.objective`` in a worker, for the tuner: simulated cycles, or
    ``tune.Infeasible`` with the reason."""

    recipe: ExplorerRecipe

    def __call__(self, point: dict) -> float:
        return self.recipe.built().objective(point)
