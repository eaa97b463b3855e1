"""Known constraints, analysed once so that points can be built feasible step by step.

    >>> from fuseflow.tune import Ordinal, Permutation
    >>> params = [Permutation("order", ["i", "j", "k"]), Ordinal("b", [8, 16, 32]), Ordinal("p", [1, 2, 4])]
    >>> cs = ConstraintSet(params, ["before(order, 'i', 'k')", "p * 8 <= b"])
    >>> len(cs.domain(0))   # the unary precedence constraint filters the orders once
    3
    >>> cs.admissible(2, {"order": ("i", "j", "k"), "b": 8})
    [1]

An expression constraint reads a known set of parameters. It is *checked at* the last of them in
parameter order, so a point assigned in that order can test it as soon as it becomes decidable;
one that reads a single parameter also filters that parameter's values once (a precedence
constraint on a permutation leaves exactly its linear extensions). Results are memoized by the
values of the parameters read (the finite ones), so the constraint is evaluated once per
distinct combination, and the values a parameter may take next are cached per context.
Feasibility checks stop at the first broken constraint. A callable constraint is opaque: it is
checked once every parameter is assigned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fuseflow.tune.expr import Expression
from fuseflow.tune.params import Param, SpaceError

_MEMO_LIMIT = 500_000  # entries per memo: beyond it, results are computed, not stored


class Pending(BaseException):
    """Raised when a constraint reads a parameter that is not assigned yet.

    A ``BaseException`` so that a constraint's own ``except Exception`` cannot swallow it.
    """


class Partial(Mapping):
    """A read-only view of a partially assigned point: reading a missing name raises
    ``Pending``."""

    __slots__ = ("_values",)

    def __init__(self, values: dict):
        self._values = values

    def __getitem__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise Pending(key) from None

    def get(self, key, default=None):
        return self[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class ConstraintSet:
    """The constraints ``(predicate, label)`` of a space over ``params`` (in order)."""

    def __init__(self, params: Sequence[Param], constraints: Sequence[tuple[Callable, str]]):
        self.params = list(params)
        self.constraints = list(constraints)
        index = {p.name: i for i, p in enumerate(self.params)}
        finite = {p.name for p in self.params if p.values() is not None}
        n = len(self.params)
        self._names: list[tuple[str, ...] | None] = []
        self._memo: list[dict | None] = []
        self.checks_at: list[list[int]] = [[] for _ in range(n)]
        self.opaque: list[int] = []  # callables: checked on a complete point
        for ci, (pred, _label) in enumerate(self.constraints):
            if isinstance(pred, Expression):
                names = tuple(sorted(pred.names, key=index.__getitem__))
                self._names.append(names)
                self._memo.append({} if set(names) <= finite else None)
                self.checks_at[index[names[-1]] if names else 0].append(ci)
            else:
                self._names.append(None)
                self._memo.append(None)
                self.opaque.append(ci)
        # the context of step i: the other parameters its checks read
        self._context: list[tuple[str, ...]] = []
        for i, p in enumerate(self.params):
            ctx = {nm for ci in self.checks_at[i] for nm in self._names[ci]} - {p.name}
            self._context.append(tuple(sorted(ctx, key=index.__getitem__)))
        self._domains: list[list | None] = [self._filtered(i) for i in range(n)]
        self._admissible: list[dict] = [{} for _ in range(n)]

    # -- checking -----------------------------------------------------------------------------
    def holds(self, ci: int, point: Mapping) -> bool:
        """Constraint ``ci`` on ``point`` (memoized by the values it reads)."""
        memo = self._memo[ci]
        if memo is None:
            return self._call(ci, point)
        key = tuple(point.get(nm) for nm in self._names[ci])
        try:
            return memo[key]
        except KeyError:
            ok = self._call(ci, point)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = ok
            return ok

    def _call(self, ci: int, point: Mapping) -> bool:
        pred, label = self.constraints[ci]
        try:
            return bool(pred(point))
        except Pending:
            raise
        except Exception as e:
            raise SpaceError(f"constraint {label} failed on {dict(point)}: {type(e).__name__}: {e}") from e

    def feasible(self, point: Mapping) -> bool:
        """All constraints hold (stops at the first that does not)."""
        return all(self.holds(ci, point) for ci in range(len(self.constraints)))

    def violations(self, point: Mapping) -> list[str]:
        """Labels of the constraints ``point`` breaks."""
        return [label for ci, (_, label) in enumerate(self.constraints) if not self.holds(ci, point)]

    def opaque_hold(self, point: Mapping) -> bool:
        return all(self.holds(ci, point) for ci in self.opaque)

    # -- step-by-step construction -----------------------------------------------------------
    def _filtered(self, i: int) -> list | None:
        """Parameter i's values that its single-parameter constraints allow."""
        p = self.params[i]
        vals = p.values()
        if vals is None:
            return None
        unary = [ci for ci in self.checks_at[i] if self._names[ci] == (p.name,)]
        if not unary:
            return vals
        return [v for v in vals if all(self.holds(ci, {p.name: v}) for ci in unary)]

    def domain(self, i: int) -> list | None:
        """Parameter i's values after the single-parameter constraints (``None``: continuous)."""
        return self._domains[i]

    def check_step(self, i: int, values: Mapping) -> bool:
        """The constraints checked at parameter i hold for ``values`` (assigned up to i)."""
        return all(self.holds(ci, values) for ci in self.checks_at[i])

    def admissible(self, i: int, values: Mapping) -> list:
        """Parameter i's values allowed by the constraints decidable once it is assigned, given
        the earlier parameters in ``values`` (a finite parameter; cached per context)."""
        ctx = tuple(values.get(nm) for nm in self._context[i])
        cache = self._admissible[i]
        try:
            return cache[ctx]
        except KeyError:
            pass
        name, trial = self.params[i].name, dict(values)
        out = []
        for v in self._domains[i]:
            trial[name] = v
            if self.check_step(i, trial):
                out.append(v)
        if len(cache) < _MEMO_LIMIT:
            cache[ctx] = out
        return out
