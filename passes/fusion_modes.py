"""The fusion strategies: which computing ops of a function ``fuseflow-partition`` puts in one
region, and how a strategy is written.

A strategy is one of the names in ``FUSION_MODES`` or explicit op-index groups (one tuple of op
indices per region, in program order from 0)::

    FUSION_MODES["layers"].regions(ops)   # [[0, 1, 2, 3], [4, 5, 6, 7]] for a 2-layer GCN
    parse_fusion("0,1;2,3")               # ((0, 1), (2, 3)): from text (CLIs, pass options)
    check_fusion([[0, 1], [2, 3]])        # ((0, 1), (2, 3)): from Python values (compile())
    fusion_text(((0, 1), (2, 3)))         # "0,1;2,3", and "layers" for a name

Every other module (the compiler, the CLIs, the explorer, the partition pass) reads the names
and their meaning from here; it imports the MLIR bindings only when a strategy runs, so the
CLIs read the names without loading them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fuseflow.errors import FuseflowError

if TYPE_CHECKING:
    from fuseflow.bindings import ir

UNFUSED, LAYERS, FULL = "unfused", "layers", "full"
GROUPS = "groups"  # fuseflow-partition's mode for explicit op-index groups

Fusion = str | tuple[tuple[int, ...], ...]


def is_contraction(op: ir.Operation) -> bool:
    """A generic with a reduction loop reading two or more tensors (a matmul-like product)."""
    from fuseflow.bindings import ir, op_name
    from fuseflow.passes.ir_utils import num_inputs

    if op_name(op) != "linalg.generic":
        return False
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    tensors = [v for v in list(op.operands)[: num_inputs(op)] if isinstance(v.type, ir.RankedTensorType)]
    return any("reduction" in it for it in iters) and len(tensors) >= 2


def layer_groups(ops: list[ir.Operation]) -> list[list[int]]:
    """Layers: a run of contractions followed by the elementwise/normalization ops that consume
    them; a contraction that follows a non-contraction starts a new layer. (GCN: [X@W, A@XW,
    +b, relu] per layer; SAE: [x@W, +b, relu]; a transformer block: attention, projections and
    the FFN each end at their first non-contraction tail.)"""
    groups: list[list[int]] = []
    prev_contraction = True
    for n, op in enumerate(ops):
        c = is_contraction(op)
        if not groups or (c and not prev_contraction):
            groups.append([])
        groups[-1].append(n)
        prev_contraction = c
    return groups


@dataclass(frozen=True)
class FusionMode:
    """A named strategy: ``regions(ops)`` lists the op indices of each region (program order)."""

    name: str
    summary: str
    regions: Callable[[list[ir.Operation]], list[list[int]]]


FUSION_MODES: dict[str, FusionMode] = {m.name: m for m in (
    FusionMode(UNFUSED, "one region per op", lambda ops: [[n] for n in range(len(ops))]),
    FusionMode(LAYERS, "one region per layer: a run of contractions and the ops that consume them", layer_groups),
    FusionMode(FULL, "one region for the whole function", lambda ops: [list(range(len(ops)))] if ops else []),
)}


def mode_names(sep: str = ", ") -> str:
    """The names of the strategies, in order, for messages and help texts."""
    return sep.join(FUSION_MODES)


def parse_groups(text: str) -> tuple[tuple[int, ...], ...]:
    """``"0,1;2,3"`` -> ``((0, 1), (2, 3))`` (``,`` within and ``;`` between regions); raises
    ``ValueError`` when an index is not an integer."""
    return tuple(tuple(int(x) for x in g.split(",") if x.strip()) for g in text.split(";") if g.strip())


def fusion_text(fusion: Fusion) -> str:
    """A strategy as text: its name, or its groups as ``"0,1;2,3"`` (``parse_fusion`` reads it)."""
    if isinstance(fusion, str):
        return fusion
    return ";".join(",".join(str(x) for x in g) for g in fusion)


def parse_fusion(text: str, what: str = "fusion") -> Fusion:
    """A strategy from user text: a name of ``FUSION_MODES`` or groups like ``"0,1;2"``."""
    text = text.strip()
    if text in FUSION_MODES:
        return text
    try:
        groups = parse_groups(text)
    except ValueError:
        groups = ()
    if not groups:
        raise FuseflowError(f"{what} must be {mode_names()} or op-index groups like '0,1;2', got '{text}'")
    return groups


def check_fusion(fusion) -> Fusion:
    """A strategy from Python values (a name, or a list of op-index lists), as the compiler keeps
    it: the name, or a tuple of int tuples."""
    if isinstance(fusion, str):
        if fusion not in FUSION_MODES:
            raise FuseflowError(f"fusion must be one of {mode_names()} or a list of op-index groups, got '{fusion}'")
        return fusion
    try:
        return tuple(tuple(int(x) for x in g) for g in fusion)
    except (TypeError, ValueError):
        raise FuseflowError(f"fusion groups must be lists of op indices, got {fusion!r}") from None


__all__ = ["FULL", "FUSION_MODES", "GROUPS", "LAYERS", "UNFUSED", "Fusion", "FusionMode", "check_fusion",
           "fusion_text", "is_contraction", "layer_groups", "mode_names", "parse_fusion", "parse_groups"]
