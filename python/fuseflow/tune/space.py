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
points. Otherwise points are *built* feasible: parameters are assigned in order, each drawn
uniformly among the values that the constraints decidable at that step allow
(``fuseflow.tune.constraints``), restarting on a dead end; a single-parameter constraint such
as a precedence between loops filters that parameter's values once. Whether to enumerate is
decided from an estimate of the feasible space's size (Knuth's estimator over random paths of
the same tree), so a large space is never walked up to the limit first. An empty space raises
``EmptySpaceError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from fuseflow.tune.constraints import ConstraintSet, Partial, Pending
from fuseflow.tune.expr import Expression
from fuseflow.tune.params import Param, SpaceError

# The code of every feature of an inactive parameter: outside the [0, 1] of active values, so
# that a branch of a conditional space does not alias the others (encoded as its default, an
# inactive parameter looked like a point that *chose* the default, and the surrogate read the
# other branches' results as evidence about that value).
INACTIVE_CODE = -1.0


class EmptySpaceError(SpaceError):
    """No point satisfies the known constraints."""


class _NodeLimit(Exception):
    """The enumeration met more tree nodes than it may visit."""


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
        self._cs = ConstraintSet(params, self._constraints)
        self._codes: list[dict | None] = [None if p.values() is None and p.kind != "permutation" else {}
                                          for p in params]
        self._feasible: list[dict] | None = None
        self._enumerated = False
        self.width = sum(p.width for p in params)

    # -- description --------------------------------------------------------------------------
    def describe(self) -> dict:
        return {"params": [p.describe() for p in self.params],
                "constraints": [label for _, label in self._constraints],
                "conditional": sorted(self._conditions)}

    @property
    def conditional(self) -> bool:
        """Whether some parameter is active only under a condition on others."""
        return bool(self._conditions)

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
        return self._cs.violations(point)

    def is_feasible(self, point: Mapping) -> bool:
        """Every known constraint holds (checking stops at the first that does not)."""
        return self._cs.feasible(point)

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
        """Points as an ``(n, width)`` array: active values in ``[0, 1]``, inactive parameters
        ``INACTIVE_CODE`` in every feature."""
        rows = []
        codes = self._codes  # per parameter: value -> its code (finite parameters repeat values)
        for pt in points:
            row: list[float] = []
            for p, memo in zip(self.params, codes, strict=True):
                v = pt.get(p.name)
                if v is None:
                    row.extend([INACTIVE_CODE] * p.width)
                    continue
                code = memo.get(v) if memo is not None else None
                if code is None:
                    code = p.encode(v)
                    if memo is not None and len(memo) < 100_000:
                        memo[v] = code
                row.extend(code)
            rows.append(row)
        return np.asarray(rows, dtype=float).reshape(len(rows), self.width)

    def differing_parameters(self, points: Sequence[Mapping]) -> float:
        """The mean number of parameters in which two of ``points`` differ (an inactive
        parameter differs from an active one; 0 for fewer than two points).

        This is the dimension the surrogate's points actually spread over: a categorical or a
        permutation is one parameter however many features encode it, and the parameters of
        another branch of a conditional space stay inactive (equal) between the points of a
        branch.
        """
        n = len(points)
        if n < 2:
            return 0.0
        pairs = n * (n - 1) / 2
        total = 0.0
        for name in self.names:
            counts: dict = {}
            for pt in points:
                v = pt.get(name)
                counts[v] = counts.get(v, 0) + 1
            total += pairs - sum(c * (c - 1) / 2 for c in counts.values())
        return total / pairs

    # -- enumeration --------------------------------------------------------------------------
    def _walk(self, node_limit: float = math.inf) -> Iterator[dict]:
        """Every feasible point, depth first over the parameter tree (finite spaces only);
        stops early (raising ``_NodeLimit``) after ``node_limit`` tree nodes."""
        cs, n, nodes = self._cs, len(self.params), 0

        def admits_opaque(values: dict, todo: list[int]) -> tuple[bool, list[int]]:
            view, left = Partial(values), []
            for ci in todo:
                try:
                    ok = cs.holds(ci, view)
                except Pending:
                    left.append(ci)
                    continue
                if not ok:
                    return False, left
            return True, left

        def walk(i: int, values: dict, todo: list[int]) -> Iterator[dict]:
            nonlocal nodes
            if i == n:
                yield dict(values)
                return
            p = self.params[i]
            try:
                active = self.is_active(p.name, Partial(values))
            except Pending:
                raise SpaceError(f"condition of {p.name} reads a later parameter") from None
            if active:
                choices = cs.admissible(i, values)
            else:
                values[p.name] = None
                choices = [None] if cs.check_step(i, values) else []
            for v in choices:
                nodes += 1
                if nodes > node_limit:
                    raise _NodeLimit
                values[p.name] = v
                ok, left = admits_opaque(values, todo)
                if ok:
                    yield from walk(i + 1, values, left)
            values.pop(p.name, None)

        yield from walk(0, {}, list(cs.opaque))

    def iter_feasible(self) -> Iterator[dict]:
        """Every feasible point of a finite space, with no size limit (a generator)."""
        if any(d is None for d in (p.values() for p in self.params)):
            raise SpaceError(f"{self} has a continuous parameter: it cannot be enumerated")
        return self._walk()

    def estimated_size(self, paths: int = 256) -> float:
        """An unbiased estimate of the number of feasible points of a finite space (Knuth's
        estimator: the mean over random root-to-leaf paths of the product of the branching
        factors met, 0 for a path that ends in a dead end)."""
        rng = np.random.default_rng(12345)
        total = 0.0
        for _ in range(paths):
            _, weight = self._construct(rng, weighted=True)
            total += weight
        return total / paths

    def _enumerate(self) -> list[dict] | None:
        """All feasible points, or ``None`` when the space is continuous or too large."""
        if self._enumerated:
            return self._feasible
        self._enumerated = True
        if any(p.values() is None for p in self.params):
            return None
        limit = self.enumeration_limit
        if self.estimated_size() > 4 * limit:
            return None
        out: list[dict] = []
        try:
            for pt in self._walk(node_limit=limit * 20):
                out.append(pt)
                if len(out) > limit:
                    return None
        except _NodeLimit:
            return None
        if not out:
            raise EmptySpaceError(f"no point satisfies the constraints of {self}")
        self._feasible = out
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
        """The enumerated feasible points, or ``None`` when points are built by sampling."""
        return self._enumerate()

    def size(self) -> int | float:
        """Number of feasible points (``inf`` when unknown: continuous or too large)."""
        pts = self._enumerate()
        return math.inf if pts is None else len(pts)

    # -- sampling -------------------------------------------------------------------------------
    def _construct(self, rng: np.random.Generator, prefer: Mapping | None = None,
                   weighted: bool = False) -> tuple[dict | None, float]:
        """One attempt at building a feasible point parameter by parameter: each value is drawn
        among those the constraints decidable at its step allow (``prefer``'s value when it is
        one of them). Returns ``(point or None on a dead end, product of the branching
        factors)``; the weight is only computed when ``weighted``."""
        cs, out, weight = self._cs, {}, 1.0
        draws = rng.random(len(self.params))  # one draw per parameter (rng calls are slow)
        for i, p in enumerate(self.params):
            cond = self._conditions.get(p.name)
            if cond is not None and not cond(out):
                out[p.name] = None
                if not cs.check_step(i, out):
                    return None, 0.0
                continue
            if cs.domain(i) is None:  # continuous: draw until the step's checks pass
                for _ in range(64):
                    out[p.name] = p.sample(rng)
                    if cs.check_step(i, out):
                        break
                else:
                    return None, 0.0
                continue
            allowed = cs.admissible(i, out)
            if not allowed:
                return None, 0.0
            if weighted:
                weight *= len(allowed)
            want = None if prefer is None else prefer.get(p.name)
            if want is not None and want in allowed:
                out[p.name] = want
            else:
                out[p.name] = allowed[int(draws[i] * len(allowed))]
        if not cs.opaque_hold(out):
            return None, 0.0
        return out, weight

    def _build(self, rng: np.random.Generator, prefer: Mapping | None = None) -> dict:
        for attempt in range(self.max_rejections):
            if prefer is not None and attempt:  # a preferred value may be what fails: drop some
                prefer = {k: v for k, v in prefer.items() if rng.random() < 0.5}
            pt, _ = self._construct(rng, prefer)
            if pt is not None:
                return pt
        raise EmptySpaceError(
            f"no feasible point found in {self.max_rejections} attempts to build one in {self}; "
            "the constraints may be unsatisfiable")

    def repair(self, point: Mapping, rng: np.random.Generator) -> dict:
        """``point`` if it is feasible, else a feasible point built step by step keeping each
        of its values that the constraints allow given the earlier ones."""
        pt = self.normalize(point)
        return pt if self.is_feasible(pt) else self._build(rng, prefer=pt)

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[dict]:
        """``n`` feasible points (with replacement): uniform over the enumerated space, else
        built step by step (each value uniform among those the constraints allow)."""
        pts = self._enumerate()
        if pts is not None:
            return [dict(pts[i]) for i in rng.integers(len(pts), size=n)]
        return [self._build(rng) for _ in range(n)]

    def latin_hypercube(self, rng: np.random.Generator, n: int) -> list[dict]:
        """``n`` feasible points stratified per parameter (Latin hypercube); a stratified
        combination that breaks a constraint is repaired: built step by step keeping each of
        its values that the constraints allow."""
        if n <= 0:
            return []
        cols = {p.name: p.stratified(n, rng) for p in self.params}
        out = []
        for i in range(n):
            out.append(self.repair({name: col[i] for name, col in cols.items()}, rng))
        return out

    def neighbours(self, point: Mapping, rng: np.random.Generator) -> list[dict]:
        """Feasible points one local move away: ordinal +-1, another category, a swap in a
        permutation, a small real/integer step."""
        out = []
        conditional = self.conditional
        for p in self.params:
            v = point.get(p.name)
            if v is None:
                continue
            for nv in p.neighbours(v, rng):
                cand = dict(point)
                cand[p.name] = nv
                if conditional:
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
