"""Parameter types of a tuning space.

Each parameter knows how to sample a value, list its neighbours (for local search), place a value
on a Latin-hypercube stratum, and encode a value as numbers in ``[0, 1]`` for the surrogate.

    >>> [round(x, 4) for x in Ordinal("b", [8, 16, 32, 64]).encode(16)]  # log scale
    [0.3333]
    >>> Permutation("order", ["i", "j", "k"], encoding="kendall").encode(("j", "i", "k"))
    [0.0, 1.0, 1.0]

A parameter may be *conditional*: ``condition`` is a predicate over the point (seeing only the
parameters declared before it). When it is false the parameter is inactive and its value is
``None``.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fuseflow.errors import FuseflowError

Condition = Callable[[Any], bool]

ENCODINGS = ("spearman", "kendall", "hamming")


class SpaceError(FuseflowError):
    """A tuning space (or a point in it) is malformed."""


class Param(abc.ABC):
    """Base class: a named parameter with an optional default and activation condition."""

    kind = "param"

    def __init__(self, name: str, default: Any = None, condition: Condition | None = None):
        if not isinstance(name, str) or not name.isidentifier():
            raise SpaceError(f"parameter name must be an identifier, got {name!r}")
        self.name = name
        self.condition = condition
        self._default = default

    # -- subclasses implement --------------------------------------------------------------
    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """A uniformly drawn value."""

    @abc.abstractmethod
    def neighbours(self, value: Any, rng: np.random.Generator) -> list[Any]:
        """Values one local move from ``value`` (excluding it)."""

    @abc.abstractmethod
    def encode(self, value: Any) -> list[float]:
        """``width`` numbers in ``[0, 1]`` for the surrogate."""

    @property
    @abc.abstractmethod
    def width(self) -> int:
        """Number of encoded features."""

    @abc.abstractmethod
    def validate(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise ``SpaceError``."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """A JSON description (it identifies the space of a log)."""

    # -- shared ------------------------------------------------------------------------------
    def values(self) -> list[Any] | None:
        """Every value, for finite parameters (``None`` for continuous ones)."""
        return None

    def stratified(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` values, one per stratum of the parameter's range, in random order."""
        vals = self.values()
        if vals is None:
            raise SpaceError(f"{self.name}: no stratification")
        idx = [(i * len(vals)) // n for i in range(n)]
        rng.shuffle(idx)
        return [vals[i] for i in idx]

    @property
    def default(self) -> Any:
        return self._default

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, value: Any) -> Any:
        return None if value is None else self.validate(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _unit(x: float, lo: float, hi: float) -> float:
    return 0.5 if hi == lo else (x - lo) / (hi - lo)


class Real(Param):
    """A real number in ``[low, high]`` (``log=True``: sampled and encoded on a log scale)."""

    kind = "real"

    def __init__(self, name, low: float, high: float, *, log: bool = False, default=None,
                 condition: Condition | None = None):
        super().__init__(name, default, condition)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise SpaceError(f"{name}: need finite low <= high, got [{low}, {high}]")
        if log and low <= 0:
            raise SpaceError(f"{name}: log scale needs low > 0")
        self.low, self.high, self.log = float(low), float(high), log
        if default is not None:
            self._default = self.validate(default)

    def _fwd(self, x: float) -> float:
        return math.log(x) if self.log else x

    def _inv(self, t: float) -> float:
        return math.exp(t) if self.log else t

    @property
    def default(self):
        if self._default is not None:
            return self._default
        return self._inv((self._fwd(self.low) + self._fwd(self.high)) / 2)

    def sample(self, rng):
        t = rng.uniform(self._fwd(self.low), self._fwd(self.high))
        return min(max(self._inv(t), self.low), self.high)

    def stratified(self, n, rng):
        lo, hi = self._fwd(self.low), self._fwd(self.high)
        ts = [lo + (hi - lo) * (i + rng.uniform()) / n for i in range(n)]
        rng.shuffle(ts)
        return [min(max(self._inv(t), self.low), self.high) for t in ts]

    def neighbours(self, value, rng):
        lo, hi = self._fwd(self.low), self._fwd(self.high)
        t, out = self._fwd(value), []
        for step in (-0.05, 0.05, rng.normal(0, 0.02)):
            v = min(max(self._inv(t + step * (hi - lo)), self.low), self.high)
            if v != value:
                out.append(v)
        return out

    def encode(self, value):
        return [_unit(self._fwd(value), self._fwd(self.low), self._fwd(self.high))]

    width = 1

    def validate(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpaceError(f"{self.name}: expected a number, got {value!r}")
        if not self.low <= value <= self.high:
            raise SpaceError(f"{self.name}: {value} outside [{self.low}, {self.high}]")
        return float(value)

    def describe(self):
        return {"type": "real", "name": self.name, "low": self.low, "high": self.high, "log": self.log}


class Integer(Param):
    """An integer in ``[low, high]`` inclusive (``log=True``: log-scaled)."""

    kind = "integer"

    def __init__(self, name, low: int, high: int, *, log: bool = False, default=None,
                 condition: Condition | None = None):
        super().__init__(name, default, condition)
        if int(low) != low or int(high) != high or low > high:
            raise SpaceError(f"{name}: need integers low <= high, got [{low}, {high}]")
        if log and low <= 0:
            raise SpaceError(f"{name}: log scale needs low > 0")
        self.low, self.high, self.log = int(low), int(high), log
        if default is not None:
            self._default = self.validate(default)

    def _fwd(self, x):
        return math.log(x) if self.log else float(x)

    @property
    def default(self):
        if self._default is not None:
            return self._default
        mid = (self._fwd(self.low) + self._fwd(self.high)) / 2
        return min(max(round(math.exp(mid) if self.log else mid), self.low), self.high)

    def values(self):
        return list(range(self.low, self.high + 1)) if self.high - self.low < 4096 else None

    def sample(self, rng):
        if not self.log:
            return int(rng.integers(self.low, self.high + 1))
        t = rng.uniform(math.log(self.low - 0.5 if self.low > 1 else self.low),
                        math.log(self.high + 0.5))
        return min(max(round(math.exp(t)), self.low), self.high)

    def stratified(self, n, rng):
        if not self.log and self.values() is not None:
            return super().stratified(n, rng)
        out = []
        lo, hi = self._fwd(self.low), self._fwd(self.high)
        for i in range(n):
            t = lo + (hi - lo) * (i + rng.uniform()) / n
            out.append(min(max(round(math.exp(t) if self.log else t), self.low), self.high))
        rng.shuffle(out)
        return out

    def neighbours(self, value, rng):
        big = max(2, (self.high - self.low) // 20)
        cand = {value - 1, value + 1, value - big, value + big}
        if self.log:
            cand |= {value * 2, value // 2}
        return sorted(v for v in cand if self.low <= v <= self.high and v != value)

    def encode(self, value):
        return [_unit(self._fwd(value), self._fwd(self.low), self._fwd(self.high))]

    width = 1

    def validate(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or int(value) != value:
            raise SpaceError(f"{self.name}: expected an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise SpaceError(f"{self.name}: {value} outside [{self.low}, {self.high}]")
        return int(value)

    def describe(self):
        return {"type": "integer", "name": self.name, "low": self.low, "high": self.high, "log": self.log}


class _Choices(Param):
    """A parameter that takes one of a listed set of distinct values (ordinal, categorical)."""

    def _set_values(self, vals: list, what: str) -> None:
        if not vals:
            raise SpaceError(f"{self.name}: {what} needs at least one value")
        if len(set(vals)) != len(vals):
            raise SpaceError(f"{self.name}: duplicate values")
        self._values = vals
        self._index = {v: i for i, v in enumerate(vals)}

    @property
    def default(self):
        return self._values[0] if self._default is None else self._default

    def values(self):
        return list(self._values)

    def sample(self, rng):
        return self._values[int(rng.integers(len(self._values)))]

    def validate(self, value):
        try:
            if value in self._index:
                return self._values[self._index[value]]
        except TypeError:
            pass
        raise SpaceError(f"{self.name}: {value!r} is not one of {self._values}")


class Ordinal(_Choices):
    """An ordered list of values, e.g. block sizes ``[8, 16, 32, 64]``.

    ``log=None`` (default) encodes on a log scale when every value is a positive number and the
    values are powers of two; ``log=True`` forces it for positive numbers, ``False`` encodes by
    rank position in value order.
    """

    kind = "ordinal"

    def __init__(self, name, values: Sequence, *, log: bool | None = None, default=None,
                 condition: Condition | None = None):
        super().__init__(name, default, condition)
        vals = list(values)
        self._set_values(vals, "an ordinal")
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        if numeric and vals != sorted(vals):
            raise SpaceError(f"{name}: numeric ordinal values must be increasing")
        positive = numeric and all(v > 0 for v in vals)
        if log is None:
            log = positive and all(float(v).is_integer() and (int(v) & (int(v) - 1)) == 0 for v in vals)
        if log and not positive:
            raise SpaceError(f"{name}: log scale needs positive numeric values")
        self.log = bool(log)
        if self.log:
            lo, hi = math.log(vals[0]), math.log(vals[-1])
            self._codes = [_unit(math.log(v), lo, hi) for v in vals]
        elif numeric:
            self._codes = [_unit(v, vals[0], vals[-1]) for v in vals]
        else:
            self._codes = [_unit(i, 0, len(vals) - 1) for i in range(len(vals))]
        if default is not None:
            self._default = self.validate(default)

    def neighbours(self, value, rng):
        i = self._index[value]
        return [self._values[j] for j in (i - 1, i + 1) if 0 <= j < len(self._values)]

    def encode(self, value):
        return [self._codes[self._index[value]]]

    width = 1

    def describe(self):
        return {"type": "ordinal", "name": self.name, "values": list(self._values), "log": self.log}


class Categorical(_Choices):
    """Unordered choices, one-hot encoded."""

    kind = "categorical"

    def __init__(self, name, choices: Sequence, *, default=None, condition: Condition | None = None):
        super().__init__(name, default, condition)
        self._set_values(list(choices), "a categorical")
        if default is not None:
            self._default = self.validate(default)

    def neighbours(self, value, rng):
        return [v for v in self._values if v != value]

    def encode(self, value):
        code = [0.0] * len(self._values)
        code[self._index[value]] = 1.0
        return code

    @property
    def width(self):
        return len(self._values)

    def describe(self):
        return {"type": "categorical", "name": self.name, "choices": list(self._values)}


class Permutation(Param):
    """An order of ``items`` (a loop order, a dataflow order); values are tuples of the items.

    Encodings for the surrogate: ``spearman`` (position of each item, n features), ``kendall``
    (one bit per item pair: is the first before the second, n(n-1)/2 features), ``hamming``
    (n x n one-hot of item-at-position).
    """

    kind = "permutation"

    def __init__(self, name, items: Sequence, *, encoding: str = "spearman", default=None,
                 condition: Condition | None = None):
        super().__init__(name, default, condition)
        its = list(items)
        if not its:
            raise SpaceError(f"{name}: a permutation needs at least one item")
        if len(set(its)) != len(its):
            raise SpaceError(f"{name}: duplicate permutation items")
        if encoding not in ENCODINGS:
            raise SpaceError(f"{name}: encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.items, self.encoding = tuple(its), encoding
        self._pos = {v: i for i, v in enumerate(its)}
        if default is not None:
            self._default = self.validate(default)

    @property
    def default(self):
        return self.items if self._default is None else self._default

    def values(self):
        if math.factorial(len(self.items)) > 40320:
            return None
        return list(itertools.permutations(self.items))

    def stratified(self, n, rng):
        return [self.sample(rng) for _ in range(n)]

    def sample(self, rng):
        return tuple(self.items[i] for i in rng.permutation(len(self.items)))

    def neighbours(self, value, rng):
        n, out, seen = len(value), [], {value}
        pairs = [(i, i + 1) for i in range(n - 1)] + [
            (i, j) for i in range(n) for j in range(i + 2, n)]
        for i, j in pairs:
            v = list(value)
            v[i], v[j] = v[j], v[i]
            t = tuple(v)
            if t not in seen:
                seen.add(t)
                out.append(t)
        return out

    def encode(self, value):
        n = len(self.items)
        where = [0] * n  # position of each item
        for p, item in enumerate(value):
            where[self._pos[item]] = p
        if self.encoding == "spearman":
            return [_unit(w, 0, n - 1) for w in where]
        if self.encoding == "kendall":
            return [1.0 if where[a] < where[b] else 0.0 for a in range(n) for b in range(a + 1, n)]
        code = [0.0] * (n * n)
        for p, item in enumerate(value):
            code[p * n + self._pos[item]] = 1.0
        return code

    @property
    def width(self):
        n = len(self.items)
        return {"spearman": n, "kendall": n * (n - 1) // 2, "hamming": n * n}[self.encoding]

    def validate(self, value):
        if isinstance(value, str):
            value = tuple(s.strip() for s in value.split(","))
        try:
            t = tuple(value)
        except TypeError:
            raise SpaceError(f"{self.name}: expected a sequence of {self.items}, got {value!r}") from None
        if sorted(map(repr, t)) != sorted(map(repr, self.items)) or len(set(t)) != len(t):
            raise SpaceError(f"{self.name}: {value!r} is not a permutation of {list(self.items)}")
        return tuple(self.items[self._pos[v]] for v in t)

    def to_json(self, value):
        return None if value is None else list(value)

    def describe(self):
        return {"type": "permutation", "name": self.name, "items": list(self.items),
                "encoding": self.encoding}
