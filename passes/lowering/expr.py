"""The expression IR of a fusion region (a "fused einsum"): ``Leaf`` reads of region inputs,
``Map`` ALU operations and ``Reduce`` reductions over named index variables.

Expressions are frozen dataclasses: structurally equal subexpressions compare and hash equal,
which is how the lowering recognises one node read by several consumers. ``UNIT`` stands for a
size-1 dimension (it indexes nothing). ``show`` prints einsum-like text, e.g.
``sum_k(mul(T0[i,k], T1[k,j]))``.
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass

UNIT = "_"  # the "variable" of a unit (size-1) dimension: it indexes nothing and drops out


@dataclass(frozen=True)
class Leaf:
    """A read of region input ``tensor`` (an index into ``Region.inputs``); ``vars[d]`` is the
    index variable of tensor dimension ``d`` (``UNIT`` for a size-1 dimension, read at 0)."""

    tensor: int
    vars: tuple[str, ...]

    def __hash__(self) -> int:  # computed once: expressions are deep and hashed often
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.tensor, self.vars))
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True)
class Map:
    """An elementwise ALU operation (``kind`` as in ``sam.alu``) over its ``args``; ``scalar``
    is the constant of a scalar form (``x <kind> scalar``)."""

    kind: str
    args: tuple
    scalar: float | None = None
    # Indices of the args that carry a sparse operand's stored entries when the op is evaluated
    # only there (a ``sparse_tensor.unary`` present body): its iteration is that operand's,
    # absent entries stay absent, so ops with f(0) != 0 (exp, subtracting a maximum) are legal.
    stored: tuple[int, ...] = ()

    def __hash__(self) -> int:  # computed once: expressions are deep and hashed often
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.kind, self.args, self.scalar, self.stored))
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True)
class Reduce:
    """Reduction of ``arg`` over index variable ``var`` (``kind``: add, max, min)."""

    kind: str
    var: str
    arg: object
    stored: bool = False  # over stored entries only (``sparse_tensor.reduce``): zeros ignored

    def __hash__(self) -> int:  # computed once: expressions are deep and hashed often
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.kind, self.var, self.arg, self.stored))
            object.__setattr__(self, "_hash", h)
        return h


Expr = Leaf | Map | Reduce


def intern(e: Expr) -> Expr:
    """``e`` with every subexpression replaced by the live equal one, if any: equal expressions
    (within a region, and across analyses of one program) become one object, so comparing and
    looking them up stops at identity instead of walking both trees."""
    if isinstance(e, Map):
        e = Map(e.kind, tuple(intern(a) for a in e.args), e.scalar, e.stored)
    elif isinstance(e, Reduce):
        e = Reduce(e.kind, e.var, intern(e.arg), e.stored)
    got = _INTERNED.get(e)
    if got is None:
        _INTERNED[e] = got = e
    return got


_INTERNED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _state(self) -> dict:
    """Pickled state without the cached hash (string hashes differ between processes)."""
    return {k: v for k, v in self.__dict__.items() if k != "_hash"}


for _cls in (Leaf, Map, Reduce):
    _cls.__getstate__ = _state

# ``sample``: the left value where both operands store an entry (``sparse_tensor.binary`` with
# overlap={yield left}, left={}, right={}): an intersection whose value is the left operand's.
# f(0) == 0: these keep the iteration space of their operand (zeros stay implicit).
ZERO_PRESERVING_UNARY = {"neg", "relu", "sqrt", "tanh", "gelu"}
ZERO_PRESERVING_SCALAR = {"mul", "div"}
REDUCE_IDENTITY = {"add": 0.0, "max": -math.inf, "min": math.inf}


def leaves(e: Expr) -> list[Leaf]:
    if isinstance(e, Leaf):
        return [e]
    if isinstance(e, Reduce):
        return leaves(e.arg)
    return [leaf for a in e.args for leaf in leaves(a)]


def free_vars(e: Expr) -> set[str]:
    """The index variables ``e``'s value depends on (unit dimensions excluded)."""
    return set(_free(e))


@functools.lru_cache(maxsize=1 << 16)
def _free(e: Expr) -> frozenset[str]:
    if isinstance(e, Leaf):
        return frozenset(e.vars) - {UNIT}
    if isinstance(e, Reduce):
        return _free(e.arg) - {e.var}
    return frozenset().union(*(_free(a) for a in e.args))


def reductions(e: Expr) -> list[Reduce]:
    if isinstance(e, Leaf):
        return []
    if isinstance(e, Reduce):
        return [e, *reductions(e.arg)]
    return [r for a in e.args for r in reductions(a)]


def rename(e: Expr, m: dict[str, str]) -> Expr:
    if isinstance(e, Leaf):
        return Leaf(e.tensor, tuple(m.get(v, v) for v in e.vars))
    if isinstance(e, Reduce):
        return Reduce(e.kind, m.get(e.var, e.var), rename(e.arg, m), e.stored)
    return Map(e.kind, tuple(rename(a, m) for a in e.args), e.scalar, e.stored)


def show(e: Expr, names: list[str] | None = None) -> str:
    """Einsum-like text, e.g. ``sum_k(mul(T0[i,k], T1[k,j]))``."""
    if isinstance(e, Leaf):
        t = names[e.tensor] if names else f"T{e.tensor}"
        return f"{t}[{','.join(e.vars)}]"
    if isinstance(e, Reduce):
        return f"{'stored_' if e.stored else ''}{e.kind}_{e.var}({show(e.arg, names)})"
    args = ", ".join(show(a, names) for a in e.args)
    return f"{'stored_' if e.stored else ''}{e.kind}({args}{'' if e.scalar is None else f', {e.scalar:g}'})"


# --------------------------------------------------------------------------------------------


def all_vars(e: Expr) -> set[str]:
    """Every index variable of an expression, bound or free (unit dimensions excluded)."""
    return set(_all(e))


@functools.lru_cache(maxsize=1 << 16)
def _all(e: Expr) -> frozenset[str]:
    if isinstance(e, Leaf):
        return frozenset(e.vars) - {UNIT}
    if isinstance(e, Reduce):
        return _all(e.arg) | {e.var}
    return frozenset().union(*(_all(a) for a in e.args))


def _vars_in_order(e: Expr) -> list[str]:
    if isinstance(e, Leaf):
        return [v for v in e.vars if v != UNIT]
    if isinstance(e, Reduce):
        return _vars_in_order(e.arg) + [e.var]
    return [v for a in e.args for v in _vars_in_order(a)]
