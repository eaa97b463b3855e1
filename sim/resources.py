"""What a region occupies: its primitives (PEs) by kind, its parallel lanes and their work.

Every sam op but ``sam.output`` is one primitive (a PE): scanners, joiners, repeaters, arrays,
ALUs, reducers, accumulators, forks, joins and the writers. ``sam-parallelize`` tags each op it
clones into a lane with ``fuseflow.lane`` (``"2"``; ``"2.1"`` for lane 1 of a loop forked inside
lane 2); ``from_mlir`` carries the tag to ``Node.lane`` and the engine to ``NodeStats.lane``.
A region has as many lanes as it has innermost tags (``"0"``, ``"0.0"``, ``"0.1"`` are 2 lanes),
P1 x P2 for two forked levels; a serial region has 1.

    counts = graph_primitives(graph)            # Counter({"fiber_lookup": 12, "repeat": 8, ...})
    busy = lane_busy(region_stats)              # {"0": 1200, "1": 800}: busy cycles per lane
    lane_imbalance(busy)                        # 1.2: busiest outer lane over the mean
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from fuseflow.sim.errors import PeBudgetError
from fuseflow.sim.graph import HARNESS, PRIMITIVES, Graph

_NOT_PRIMITIVES = ("sam.output", "func.return")
_KINDS_SHOWN = 5  # kinds named by a PeBudgetError


def graph_primitives(g: Graph) -> Counter:
    """Primitives of a simulator graph by sam op name without ``sam.`` (``spacc`` of either
    order); the same counts as ``sam_primitives`` of the function it was read from."""
    return Counter(PRIMITIVES[n.kind].op.removeprefix("sam.") for n in g.nodes if n.kind not in HARNESS)


def sam_primitives(sg) -> Counter:
    """Primitives of a ``SamGraph`` (``fuseflow.dialects.sam_graph``) by op name without ``sam.``."""
    return Counter(op.name.removeprefix("sam.") for op in sg.ops
                   if op.name.startswith("sam.") and op.name not in _NOT_PRIMITIVES)


def sam_lane_tags(sg) -> set[str]:
    """The distinct ``fuseflow.lane`` tags of a ``SamGraph``'s ops."""
    from fuseflow.bindings import ir
    from fuseflow.passes.sam_parallelize import LANE_ATTR

    return {ir.StringAttr(op.attributes[LANE_ATTR]).value for op in sg.ops if LANE_ATTR in op.attributes}


def lane_count(tags: Iterable[str]) -> int:
    """Lanes of a region with these lane tags: the tags no other tag nests in (the innermost
    lanes; P1 x P2 for two forked levels), 1 without tags (serial)."""
    tags = {t for t in tags if t}
    inner = [t for t in tags if not any(u.startswith(t + ".") for u in tags)]
    return max(len(inner), 1)


def lane_busy(stats) -> dict[str, int]:
    """Busy cycles per lane tag (``NodeStats.busy_cycles`` summed over the nodes of the lane, by
    full tag: ``"2"`` and ``"2.1"`` apart); nodes outside every lane are left out."""
    out: dict[str, int] = {}
    for s in stats:
        if s.lane:
            out[s.lane] = out.get(s.lane, 0) + s.busy_cycles
    return dict(sorted(out.items(), key=lambda kv: _tag_key(kv[0])))


def outer_lane_busy(busy: dict[str, int]) -> dict[str, int]:
    """``lane_busy`` aggregated by outermost lane (the first component of each tag)."""
    out: dict[str, int] = {}
    for tag, cycles in busy.items():
        outer = tag.split(".")[0]
        out[outer] = out.get(outer, 0) + cycles
    return dict(sorted(out.items(), key=lambda kv: _tag_key(kv[0])))


def lane_imbalance(busy: dict[str, int]) -> float:
    """Busy cycles of the busiest outermost lane over the mean of the outermost lanes: 1.0 is
    balanced, P (the lane count) is all work in one lane. 1.0 without lanes or without work."""
    outer = outer_lane_busy(busy)
    total = sum(outer.values())
    if not outer or total == 0:
        return 1.0
    return max(outer.values()) * len(outer) / total


def lane_line(name: str, busy: dict[str, int]) -> str:
    """A report line for region ``name`` with these ``lane_busy``, e.g. ``main_region0: 4 lanes,
    imbalance 1.37 (busy cycles per lane 0=1,200 1=800 2=950 3=1,100)``."""
    outer = outer_lane_busy(busy)
    lanes = lane_count(busy)
    nested = lanes != len(outer)
    per_lane = " ".join(f"{tag}={cycles:,}" for tag, cycles in outer.items())
    return (f"{name}: {lanes} lanes{f' ({len(outer)} outer)' if nested else ''}, imbalance "
            f"{lane_imbalance(busy):.2f} (busy cycles per {'outer ' if nested else ''}lane {per_lane})")


def check_pe_budget(name: str, counts: Counter, lanes: int, budget: int) -> None:
    """Raise ``PeBudgetError`` when region ``name``'s primitives (``counts``) exceed ``budget``
    (``HardwareConfig.pe_budget``, 0 = unlimited); the message names the largest kinds."""
    total = sum(counts.values())
    if not budget or total <= budget:
        return
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in ranked[:_KINDS_SHOWN]) + (", ..." if len(ranked) > _KINDS_SHOWN else "")
    advice = f"use fewer lanes (it has {lanes})" if lanes > 1 else "fuse fewer operations into it"
    raise PeBudgetError(f"{name} uses {total:,} primitives (budget {budget:,}, HardwareConfig.pe_budget): "
                        f"{kinds}; {advice}")


def _tag_key(tag: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in tag.split("."))
