"""The tuning space: parameters, known constraints, conditional parameters, feasible sampling.

    >>> from fuseflow.tune import Ordinal, Permutation
    >>> space = Space([Ordinal("b", [8, 16, 32]), Permutation("order", ["i", "j", "k"])],
    ...               constraints=[lambda p: p["b"] <= 16 or p["order"][0] == "i"])
    >>> len(space.enumerate())
    14

A point is a ``dict`` from parameter name to value (a tuple for permutations, ``None`` for an
inactive conditional parameter). Constraints are callables over the point (or strings of the
expression language in :mod:`fuseflow.tune.expr`) returning true when the point is allowed.

Sampling only yields feasible points. When every parameter is finite and the feasible space is
small, it is enumerated once as a tree: parameters are assigned in order and a constraint prunes
a branch as soon as every parameter it reads is assigned (a constraint that reads a parameter not
yet assigned is simply retried deeper in the tree). Sampling is then uniform over the feasible
points. Otherwise points are drawn by rejection sampling. An empty space raises
``EmptySpaceError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from fuseflow.tune.expr import Expression
from fuseflow.tune.params import Param, SpaceError


class EmptySpaceError(SpaceError):
    """No point satisfies the known constraints."""


class _Pending(BaseException):
    """Raised when a constraint reads a parameter the tree has not assigned yet.

    A ``BaseException`` so that a constraint's own ``except Exception`` cannot swallow it.
    """


class _Partial(Mapping):
    """A read-only view of a partially assigned point used while enumerating the tree."""

    __slots__ = ("_values",)

    def __init__(self, values: dict):
        self._values = values

    def __getitem__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise _Pending(key) from None

    def get(self, key, default=None):
        return self[key]

    def __iter__(self) -> Iterator:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


Constraint = Callable[[Mapping], bool] | str


def _as_predicate(c: Constraint, what: str, names: set[str]) -> tuple[Callable, str]:
    if isinstance(c, str):
        expr = Expression(c)
        unknown = expr.names - names
        if unknown:
            raise SpaceError(f"{what} {c!r} uses unknown parameter(s): {', '.join(sorted(unknown))}")
        return expr, c
    if not callable(c):
        raise SpaceError(f"{what} must be a callable or an expression string, got {c!r}")
    return c, getattr(c, "__qualname__", repr(c))


def point_key(point: Mapping, names: Sequence[str]) -> tuple:
    """A hashable identity of a point."""
    return tuple(point.get(n) for n in names)


class Space:
    """An ordered list of parameters with known constraints.

    ``enumeration_limit`` bounds the number of feasible points (and tree nodes, times 20) that
    are enumerated before falling back to rejection sampling; ``max_rejections`` bounds the
    attempts to draw one feasible point by rejection.
    """

    def __init__(self, params: Sequence[Param], constraints: Sequence[Constraint] = (), *,
                 enumeration_limit: int = 20000, max_rejections: int = 20000):
        params = list(params)
        if not params:
            raise SpaceError("a space needs at least one parameter")
        for p in params:
            if not isinstance(p, Param):
                raise SpaceError(f"not a parameter: {p!r}")
        self.params = params
        self.names = [p.name for p in params]
        if len(set(self.names)) != len(self.names):
            raise SpaceError("duplicate parameter names")
        self.by_name = {p.name: p for p in params}
        names = set(self.names)
        self._constraints = [_as_predicate(c, "constraint", names) for c in constraints]
        self._conditions = {}
        for i, p in enumerate(params):
            if p.condition is not None:
                pred, _ = _as_predicate(p.condition, f"condition of {p.name}", set(self.names[:i]))
                self._conditions[p.name] = pred
        self.enumeration_limit = enumeration_limit
        self.max_rejections = max_rejections
        self._feasible: list[dict] | None = None
        self._enumerated = False
        self.width = sum(p.width for p in params)

    # -- description --------------------------------------------------------------------------
    def describe(self) -> dict:
        return {"params": [p.describe() for p in self.params],
                "constraints": [label for _, label in self._constraints],
                "conditional": sorted(self._conditions)}

    def signature(self) -> str:
        """A stable text identity of the space's parameters (used to match a resumed log)."""
        return json.dumps([p.describe() for p in self.params], sort_keys=True, default=repr)

    def __repr__(self) -> str:
        return f"Space({self.names}, constraints={len(self._constraints)})"

    # -- points ---------------------------------------------------------------------------------
    def is_active(self, name: str, point: Mapping) -> bool:
        cond = self._conditions.get(name)
        return True if cond is None else bool(cond(point))

    def normalize(self, point: Mapping) -> dict:
        """Canonical form: validated values, ``None`` for inactive parameters, defaults for
        active parameters missing a value."""
        out: dict = {}
        for p in self.params:
            if not self.is_active(p.name, out):
                out[p.name] = None
                continue
            v = point.get(p.name)
            out[p.name] = p.default if v is None else p.validate(v)
        return out

    def violations(self, point: Mapping) -> list[str]:
        """Labels of the known constraints that ``point`` breaks."""
        bad = []
        for pred, label in self._constraints:
            try:
                ok = pred(point)
            except _Pending:
                raise
            except Exception as e:
                raise SpaceError(f"constraint {label} failed on {point}: {type(e).__name__}: {e}") from e
            if not ok:
                bad.append(label)
        return bad

    def is_feasible(self, point: Mapping) -> bool:
        return not self.violations(point)

    def default_point(self) -> dict:
        return self.normalize({})

    def key(self, point: Mapping) -> tuple:
        return point_key(point, self.names)

    def to_json(self, point: Mapping) -> dict:
        return {p.name: p.to_json(point.get(p.name)) for p in self.params}

    def from_json(self, data: Mapping) -> dict:
        missing = [n for n in self.names if n not in data]
        if missing:
            raise SpaceError(f"point is missing parameter(s) {missing}")
        return self.normalize({p.name: p.from_json(data[p.name]) for p in self.params})

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, points: Sequence[Mapping]) -> np.ndarray:
        """Points as an ``(n, width)`` array in ``[0, 1]`` (inactive parameters encode their
        default, so they do not look like a move)."""
        rows = []
        for pt in points:
            row: list[float] = []
            for p in self.params:
                v = pt.get(p.name)
                row.extend(p.encode(p.default if v is None else v))
            rows.append(row)
        return np.asarray(rows, dtype=float).reshape(len(rows), self.width)

    # -- enumeration --------------------------------------------------------------------------
    def _enumerate(self) -> list[dict] | None:
        """All feasible points, or ``None`` when the space is continuous or too large."""
        if self._enumerated:
            return self._feasible
        self._enumerated = True
        domains = [p.values() for p in self.params]
        if any(d is None for d in domains):
            return None
        limit, node_limit = self.enumeration_limit, self.enumeration_limit * 20
        out: list[dict] = []
        nodes = 0
        pending = list(range(len(self._constraints)))

        def admissible(values: dict, todo: list[int]) -> tuple[bool, list[int]]:
            view, left = _Partial(values), []
            for ci in todo:
                pred, label = self._constraints[ci]
                try:
                    ok = pred(view)
                except _Pending:
                    left.append(ci)
                    continue
                except Exception as e:
                    raise SpaceError(f"constraint {label} failed on {values}: {type(e).__name__}: {e}") from e
                if not ok:
                    return False, left
            return True, left

        def walk(i: int, values: dict, todo: list[int]) -> bool:
            nonlocal nodes
            if i == len(self.params):
                out.append(dict(values))
                return len(out) <= limit
            p = self.params[i]
            try:
                active = self.is_active(p.name, _Partial(values))
            except _Pending:
                raise SpaceError(f"condition of {p.name} reads a later parameter") from None
            for v in (domains[i] if active else [None]):
                nodes += 1
                if nodes > node_limit:
                    return False
                values[p.name] = v
                ok, left = admissible(values, todo)
                if ok and not walk(i + 1, values, left):
                    del values[p.name]
                    return False
                del values[p.name]
            return True

        if walk(0, {}, pending):
            self._feasible = out
        if self._feasible is not None and not self._feasible:
            raise EmptySpaceError(f"no point satisfies the constraints of {self}")
        return self._feasible

    def enumerate(self) -> list[dict]:
        """Every feasible point (raises ``SpaceError`` when the space cannot be enumerated)."""
        pts = self._enumerate()
        if pts is None:
            raise SpaceError(f"{self} is continuous or larger than the enumeration limit "
                             f"({self.enumeration_limit})")
        return list(pts)

    @property
    def feasible_points(self) -> list[dict] | None:
        """The enumerated feasible points, or ``None`` when sampling is by rejection."""
        return self._enumerate()

    def size(self) -> int | float:
        """Number of feasible points (``inf`` when unknown: continuous or too large)."""
        pts = self._enumerate()
        return math.inf if pts is None else len(pts)

    # -- sampling -------------------------------------------------------------------------------
    def _raw_sample(self, rng: np.random.Generator) -> dict:
        out: dict = {}
        for p in self.params:
            out[p.name] = p.sample(rng) if self.is_active(p.name, out) else None
        return out

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[dict]:
        """``n`` feasible points drawn uniformly (with replacement)."""
        pts = self._enumerate()
        if pts is not None:
            return [dict(pts[i]) for i in rng.integers(len(pts), size=n)]
        out = []
        for _ in range(n):
            for _attempt in range(self.max_rejections):
                cand = self._raw_sample(rng)
                if self.is_feasible(cand):
                    out.append(cand)
                    break
            else:
                raise EmptySpaceError(
                    f"no feasible point found in {self.max_rejections} random draws from {self}; "
                    "the constraints may be unsatisfiable")
        return out

    def latin_hypercube(self, rng: np.random.Generator, n: int) -> list[dict]:
        """``n`` feasible points stratified per parameter (Latin hypercube); a stratified
        combination that breaks a constraint is replaced by a uniform feasible sample."""
        if n <= 0:
            return []
        cols = {p.name: p.stratified(n, rng) for p in self.params}
        out = []
        for i in range(n):
            pt = self.normalize({name: col[i] for name, col in cols.items()})
            out.append(pt if self.is_feasible(pt) else self.sample(rng)[0])
        return out

    def neighbours(self, point: Mapping, rng: np.random.Generator) -> list[dict]:
        """Feasible points one local move away: ordinal +-1, another category, a swap in a
        permutation, a small real/integer step."""
        out = []
        for p in self.params:
            v = point.get(p.name)
            if v is None:
                continue
            for nv in p.neighbours(v, rng):
                cand = dict(point)
                cand[p.name] = nv
                cand = self.normalize(cand)
                if self.is_feasible(cand):
                    out.append(cand)
        return out

    def validate_point(self, point: Mapping) -> dict:
        """Normalize ``point`` and check the known constraints (raises ``SpaceError``)."""
        unknown = set(point) - set(self.names)
        if unknown:
            raise SpaceError(f"unknown parameter(s) {sorted(unknown)}")
        pt = self.normalize(point)
        bad = self.violations(pt)
        if bad:
            raise SpaceError(f"point {pt} breaks constraint(s): {', '.join(bad)}")
        return pt
