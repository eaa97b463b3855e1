"""One evaluation of the objective, and its record.

An objective takes a point (``dict``) and returns a number (or, for multi-objective tuning, a
sequence of numbers). It signals a hidden constraint (deadlock, overflow, out of memory, ...) by
raising ``Infeasible`` or by returning ``Infeasible`` (the class or an instance). A non-finite
value is also recorded as infeasible.

This module stays free of torch so that executor workers start fast.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fuseflow.errors import FuseflowError


class Infeasible(Exception):  # noqa: N818 -- the name reads as the objective's answer
    """The objective cannot be evaluated at this point (a hidden constraint)."""


@dataclass(frozen=True)
class Evaluation:
    """One finished evaluation.

    ``value`` is the (first) objective value, ``values`` every objective value; both are
    ``None`` for an infeasible point, whose ``error`` says why.
    """

    index: int
    point: dict
    value: float | None
    values: tuple[float, ...] | None
    feasible: bool
    wall_time: float
    error: str | None = None
    phase: str = "search"
    extra: dict = field(default_factory=dict)


class ObjectiveError(FuseflowError):
    """The objective answered something that is not a result (a bug in the objective: the run
    stops with this message rather than recording a point as infeasible)."""


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the objective's answer and its cost in seconds."""

    values: tuple[float, ...] | None
    error: str | None
    wall_time: float

    @property
    def feasible(self) -> bool:
        return self.values is not None


def _as_values(result: Any, n_objectives: int) -> tuple[tuple[float, ...] | None, str | None]:
    if result is Infeasible or isinstance(result, Infeasible):
        return None, str(result) if isinstance(result, Infeasible) and str(result) else "infeasible"
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        vals: tuple = (float(result),)
    elif isinstance(result, Sequence) and not isinstance(result, str):
        vals = tuple(float(v) for v in result)
    elif hasattr(result, "__float__"):
        vals = (float(result),)
    else:
        raise ObjectiveError(f"the objective returned {type(result).__name__}, expected a number, a sequence "
                             "of numbers or tune.Infeasible")
    if len(vals) != n_objectives:
        raise ObjectiveError(f"the objective returned {len(vals)} value(s), expected {n_objectives}")
    if not all(math.isfinite(v) for v in vals):
        return None, f"non-finite objective value {vals}"
    return vals, None


def evaluate(objective: Callable[[dict], Any], point: Mapping, n_objectives: int = 1,
             infeasible_errors: tuple[type[BaseException], ...] = ()) -> Outcome:
    """Run ``objective`` on ``point``; ``Infeasible`` (and ``infeasible_errors``) become an
    infeasible outcome, and so does running out of memory (``MemoryError``, the simulator's
    ``MemoryBudgetError``): a point that needs more than the machine gives is a hidden
    constraint. Any other exception propagates."""
    from fuseflow.sim.errors import MemoryBudgetError

    start = time.perf_counter()
    try:
        vals, err = _as_values(objective(dict(point)), n_objectives)
    except Infeasible as e:
        vals, err = None, str(e) or "infeasible"
    except (*infeasible_errors, MemoryError, MemoryBudgetError) as e:
        vals, err = None, f"{type(e).__name__}: {e}"
    return Outcome(vals, err, time.perf_counter() - start)
