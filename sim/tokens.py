"""Python-level SAM tokens (reference model, tests, graph sources and sinks).

A stream is a list of tokens. Data tokens are plain numbers (crd/ref ints, val floats, or a
B x B numpy tile); the control tokens are typed objects, never strings:

- ``Stop(n)`` is ``S_n``. ``Stop(n, vac)`` with ``vac > 0`` is a *vacant* stop: it closes no
  fiber at the ``vac`` innermost levels (it only closes enclosing fibers). A scanner emits it for
  an input stop with no preceding fiber, e.g. refs ``S0`` give crds ``S1'`` (``vac=1``).
  Plain SAM cannot tell "an empty fiber, then the end of its parent" (``S1``) from "the end of an
  empty parent" (``S1'``); reductions and writers need the difference to stay aligned.
- ``DONE`` is ``D``; ``EMPTY`` is ``N``; ``REP`` is the repeat signal ``R`` (repsig streams, whose
  ``S`` is any ``Stop``).

``parse("0 1 S0 N S1' D")`` / ``render(tokens)`` convert the textual notation used in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Stop:
    level: int
    vac: int = 0

    def __repr__(self) -> str:
        return f"S{self.level}" + "'" * self.vac


class _Control:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return self.name


DONE = _Control("D")
EMPTY = _Control("N")
REP = _Control("R")


def is_stop(tok) -> bool:
    return type(tok) is Stop


def is_data(tok) -> bool:
    """A coordinate, reference or value (not a control token). ``N`` is not data."""
    return not isinstance(tok, (Stop, _Control))


def parse(text: str, *, val: bool = False) -> list:
    """Parse ``"0 1 S0 N S1' D R"``; numbers are ints unless ``val`` (then floats)."""
    out: list = []
    for word in text.split():
        if word == "D":
            out.append(DONE)
        elif word == "N":
            out.append(EMPTY)
        elif word == "R":
            out.append(REP)
        elif word[0] == "S" and word != "S":
            body = word[1:]
            vac = len(body) - len(body.rstrip("'"))
            out.append(Stop(int(body.rstrip("'")), vac))
        elif word == "S":
            out.append(Stop(0))
        else:
            out.append(float(word) if val or "." in word else int(word))
    return out


def render(tokens) -> str:
    parts = []
    for t in tokens:
        if isinstance(t, float) and t.is_integer():
            parts.append(str(int(t)))
        elif isinstance(t, np.ndarray):
            parts.append(f"tile{tuple(t.shape)}")
        else:
            parts.append(repr(t))
    return " ".join(parts)


def same_stream(a, b, *, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Token-exact equality, with float tolerance on values and tiles."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if is_data(x) != is_data(y):
            return False
        if not is_data(x):
            if x != y:
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol):
                return False
        elif not np.isclose(float(x), float(y), rtol=rtol, atol=atol, equal_nan=True):
            return False
    return True
