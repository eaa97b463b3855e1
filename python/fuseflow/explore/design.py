"""The design space of one workload: fusion granularity x layouts x association x per-region
dataflow order x optimize.

    ex = Explorer(workloads.gcn(nodes=24, features=8, hidden=8, classes=4))
    space = ex.space()                 # a tune.Space
    ex.evaluate(point)                 # -> Outcome (cycles, per-region cycles, estimate, ...)
    tune.minimize(ex.objective, space, budget=20, seed=0)

Parameters: ``fusion`` (categorical: unfused, layers, full and any explicit op-index groups);
``order_<fusion>_<r>`` (an integer index into region r's legal orders, 0..n-1, *conditional* on
``fusion``: it exists only for that granularity, and only when the region has more than one
legal order); ``layouts`` (categorical "declared"/"auto" when both are explored: whether dense
inputs may be read in any level order, paying relayouts; with "auto" the order parameters are
``order_<fusion>_auto_<r>``, conditional on both); ``associate`` (categorical "keep"/"left"/
"right" when several are explored: how chains of contractions are associated,
``fuseflow-reassociate``; order parameters ``order_<fusion>[_auto]_left_<r>`` and so on);
``optimize`` (categorical True/False); ``par_<fusion>[_auto][_left]_<r>`` (ordinal, when several
lane counts are explored: the lanes region r's outermost loop is forked into, ``sam-parallelize``;
which loop that is follows the region's order parameter, so order x lanes chooses both the
variable and the factor; conditional like the orders; a configuration over
``HardwareConfig.pe_budget`` primitives is infeasible). Orders depend on the fusion, layouts and association
choices (the regions and their constraints do), so conditional
parameters list exactly the legal orders of every
granularity: no point of the space is out of range, and the tuner never spends an evaluation on
a configuration that is illegal by construction. A granularity whose regions have no legal order
(or that the lowering rejects) stays in the space and evaluates as ``tune.Infeasible``, so the
tuner's feasibility classifier learns it.

The module is parsed and partitioned once per fusion choice (granularity, layouts and
association: ``Explorer.partitioned``); the legal orders, the heuristic and every point's
compile start from that partitioned module (a copy of it, for a compile).

An evaluation is a pure function of (workload, inputs, compile options, hardware config):
compile (cached by ``CompileOptions.key()``), simulate with ``check=True`` (a mismatch against
PyTorch is a bug and raises ``SimulationMismatch``), return cycles. Infeasible: an illegal order,
an unsupported op, a lowering error, a simulator guard (cycle/wall limit), deadlock or
accumulator overflow.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fuseflow import tune
from fuseflow.errors import FuseflowError
from fuseflow.explore.heuristic import Estimate, HeuristicError, RegionEstimator
from fuseflow.passes.fusion_modes import FUSION_MODES, fusion_text

FUSIONS = tuple(FUSION_MODES)  # the granularities explored by default
VARIANT_DEFAULTS = {"layouts": "declared", "associate": "keep", "block": "none"}


class ExploreError(FuseflowError):
    """A bad exploration request (unknown fusion, empty space, ...)."""


@dataclass(frozen=True)
class FusionInfo:
    """One fusion granularity: its regions' legal orders (as variable lists), or why it is
    infeasible."""

    name: str
    fusion: str | tuple[tuple[int, ...], ...]
    orders: tuple[tuple[tuple[str, ...], ...], ...] = ()
    infeasible: str = ""
    key: str = ""  # identifier used in parameter names (the name, or groups<k>)
    layouts: str = "declared"  # fuseflow.passes.lowering.LAYOUT_MODES
    associate: str = "keep"  # fuseflow.passes.reassociate.ASSOCIATIONS
    block: str = "none"  # sparse inputs read as tiles: "none" or "mask16", "mask16_w8" (block_choices)

    @property
    def variant(self) -> dict[str, str]:
        """The schedule choices besides fusion this granularity's regions were read with."""
        return {"layouts": self.layouts, "associate": self.associate, "block": self.block}

    def param(self, r: int, kind: str = "order") -> str:
        tag = "".join(f"{v}_" for k, v in self.variant.items() if v != VARIANT_DEFAULTS[k])
        return f"{kind}_{self.key or self.name}_{tag}{r}"


@dataclass(frozen=True)
class Partitioned:
    """A module normalized and partitioned for one fusion choice, its regions as read
    (``fuseflow.compiler.partition``) and the IR of the stages so far."""

    imported: object  # fuseflow.frontend.ImportedModel: keeps the module the regions point into alive
    regions: list
    stages: dict[str, str]


@dataclass
class Outcome:
    """One evaluated point."""

    point: dict
    options_key: str
    feasible: bool
    cycles: int | None = None
    region_cycles: dict[str, int] = field(default_factory=dict)  # and "relayout <name>" lines: they sum to cycles
    estimate: Estimate | None = None
    wall_time: float = 0.0
    error: str = ""
    pruned: bool = False
    primitives: int | None = None  # SAM primitives of the largest region (the PE budget's measure)
    lanes: dict[str, int] = field(default_factory=dict)  # region -> lanes, where parallel
    formats: dict[str, str] = field(default_factory=dict)  # "<graph> arg<n>" -> format read, where chosen


def block_choices(blocks) -> dict[str, dict[str, int]]:
    """The values of the ``block`` parameter for ``blocks`` (``{input name: [block sizes]}``, 0:
    the declared format): every combination, by name (``"none"``, ``"mask16"``, ``"mask16_w8"``)
    -> ``compile(block=...)``."""
    if not blocks:
        return {"none": {}}
    for name, sizes in blocks.items():
        if not sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 0 for b in sizes):
            raise ExploreError(f"block sizes of '{name}' must be integers >= 0 (0: its declared format), got {list(sizes)}")
    out = {}
    for combo in itertools.product(*(dict.fromkeys(sizes) for sizes in blocks.values())):
        chosen = {n: b for n, b in zip(blocks, combo, strict=True) if b}
        out["_".join(f"{n.replace('.', '_')}{b}" for n, b in chosen.items()) or "none"] = chosen
    return out


def fusion_name(fusion) -> str:
    """The value of the ``fusion`` parameter: a strategy's name, or ``groups:0,1;2``."""
    return fusion if isinstance(fusion, str) else "groups:" + fusion_text(fusion)


class Explorer:
    """The design space and objective of one workload (``fuseflow.workloads.Workload``).

    ``fusions``: granularities (names or op-index group lists; default unfused, layers, full);
    ``optimize``: the values of the ``optimize`` parameter; ``layouts``: the values of the
    ``layouts`` parameter ("declared", "auto"); ``associate``: the values of the ``associate``
    parameter ("keep", "left", "right"); ``lanes``: the lane counts of each region's outermost
    loop (``(1,)``: serial, no parameter); ``blocks``: sparsity blocking, ``{sparse input name:
    block sizes}`` (0: its declared format), the values of the ``block`` parameter
    (``block_choices``; each is its own import of the model); ``hw``: a ``HardwareConfig`` (its
    ``pe_budget`` bounds the primitives of a region);
    ``prune``: a factor: configurations whose estimated work exceeds ``prune`` x the least
    estimated work of their block choice are infeasible without compiling or simulating (None:
    off).
    """

    def __init__(self, workload, fusions: Sequence = FUSIONS, optimize: Sequence[bool] = (True, False),
                 hw=None, prune: float | None = None, layouts: Sequence[str] = ("declared",),
                 associate: Sequence[str] = ("keep",), lanes: Sequence[int] = (1,), blocks=None):
        from fuseflow.bindings import print_module
        from fuseflow.frontend import import_model
        from fuseflow.passes.lowering import LAYOUT_MODES
        from fuseflow.passes.reassociate import ASSOCIATIONS

        if not fusions:
            raise ExploreError("at least one fusion granularity is needed")
        if prune is not None and not prune >= 1.0:
            raise ExploreError(f"the pruning factor must be >= 1, got {prune}")
        self.workload = workload
        self.hw = hw
        self.prune = prune
        self.optimize_values = tuple(dict.fromkeys(bool(o) for o in optimize))
        if not self.optimize_values:
            raise ExploreError("optimize needs at least one value")
        # the values explored per choice; a choice with one value is fixed (not a parameter)
        self.variants: dict[str, tuple[str, ...]] = {}
        for key, values, allowed in (("layouts", layouts, LAYOUT_MODES), ("associate", associate, ASSOCIATIONS)):
            chosen = tuple(dict.fromkeys(values))
            if not chosen or any(v not in allowed for v in chosen):
                raise ExploreError(f"{key} must be values of {', '.join(allowed)}, got {list(values)}")
            self.variants[key] = chosen
        self.blocks = block_choices(blocks)
        self.variants["block"] = tuple(self.blocks)
        self.layout_values, self.associate_values = self.variants["layouts"], self.variants["associate"]
        self.lane_values = tuple(dict.fromkeys(lanes))
        if not self.lane_values or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in self.lane_values):
            raise ExploreError(f"lanes must be integers >= 1, got {list(lanes)}")
        from fuseflow.compiler import blocked_formats

        # one import per block choice (a blocked input changes the imported types)
        self._imports = {}
        for choice, sizes in self.blocks.items():
            imported = import_model(workload.model, workload.args, sparse=blocked_formats(workload.sparse, sizes))
            self._imports[choice] = (imported, print_module(imported.module))
        self._imported = self._imports["none" if "none" in self.blocks else next(iter(self.blocks))][0]
        self._args = [np.asarray(a, np.float64) for a in self._bound_args()]
        self.fusions: list[FusionInfo] = []
        self._partitions: dict[tuple, Partitioned] = {}
        self._estimators: dict[tuple, RegionEstimator | None] = {}
        for k, f in enumerate(fusions):
            for lay, assoc, block in itertools.product(self.layout_values, self.associate_values, self.blocks):
                info = self._analyze(f, lay, assoc, block)
                self.fusions.append(dataclasses.replace(info, key=info.name if info.name.isidentifier() else f"groups{k}"))
        first = {k: v[0] for k, v in self.variants.items()}
        names = [f.name for f in self.fusions if f.variant == first]
        if len(set(names)) != len(names):
            raise ExploreError(f"duplicate fusion granularities: {names}")
        self._programs: dict[str, object] = {}
        self.recipe = None  # an ExplorerRecipe when built from one (explore.remote): workers rebuild it
        self._reference_work: dict[str, float | None] = {}  # per block choice

    # -- analysis ------------------------------------------------------------------------------
    def _bound_args(self):
        from fuseflow.program import to_numpy

        return [to_numpy(a) for a in self._imported.bind(list(self.workload.args))]

    def _fresh(self, block: str = "none"):
        from fuseflow.context import make_context, parse_module

        imported, text = self._imports[block]
        return dataclasses.replace(imported, module=parse_module(text, make_context()))

    def partitioned(self, fusion, layouts: str = "declared", associate: str = "keep", block: str = "none") -> Partitioned:
        """The module parsed, normalized and partitioned for this fusion choice (once: cached)."""
        from fuseflow.compiler import CompileOptions, partition

        options = CompileOptions.make(fusion, layouts=layouts, associate=associate)
        key = (fusion_name(options.fusion), layouts, associate, block)
        if key not in self._partitions:
            imported, stages = self._fresh(block), {}
            regions = partition(imported, options, stages)
            self._partitions[key] = Partitioned(imported, regions, stages)
        return self._partitions[key]

    def _analyze(self, fusion, layouts: str = "declared", associate: str = "keep", block: str = "none") -> FusionInfo:
        from fuseflow.compiler import CompileOptions

        fusion = CompileOptions.make(fusion).fusion
        name = fusion_name(fusion)
        variant = {"layouts": layouts, "associate": associate, "block": block}
        try:
            orders = []
            for region in self.partitioned(fusion, layouts, associate, block).regions:
                legal = region.legal_orders()
                if not legal:
                    return FusionInfo(name, fusion, infeasible=f"{region.name}: no legal dataflow order "
                                                                f"({region.describe_constraints()})", **variant)
                orders.append(tuple(tuple(o) for o in legal))
        except _infeasible_errors() as e:
            return FusionInfo(name, fusion, infeasible=str(e), **variant)
        return FusionInfo(name, fusion, tuple(orders), **variant)

    def estimator(self, info: FusionInfo) -> RegionEstimator | None:
        """The heuristic for a granularity (None when it cannot be estimated)."""
        key = (info.name, info.layouts, info.associate, info.block)
        if key not in self._estimators:
            try:
                part = self.partitioned(info.fusion, info.layouts, info.associate, info.block)
                self._estimators[key] = RegionEstimator.from_partitioned(
                    part.imported.module, part.imported.func_name, self._args, layouts=info.layouts,
                    regions=part.regions)
            except HeuristicError:
                self._estimators[key] = None
        return self._estimators[key]

    def info(self, name: str, layouts: str | None = None, associate: str | None = None,
             block: str | None = None) -> FusionInfo:
        want = {"layouts": self.layout_values[0] if layouts is None else layouts,
                "associate": self.associate_values[0] if associate is None else associate,
                "block": self.variants["block"][0] if block is None else block}
        for f in self.fusions:
            if f.name == name and f.variant == want:
                return f
        names = ", ".join(dict.fromkeys(f.name for f in self.fusions))
        raise ExploreError(f"unknown fusion '{name}' with {want}; the space has {names} with "
                           + ", ".join(f"{k} {'/'.join(v)}" for k, v in self.variants.items()))

    # -- the space -----------------------------------------------------------------------------
    def space(self) -> tune.Space:
        names = list(dict.fromkeys(f.name for f in self.fusions))
        params: list[tune.Param] = [tune.Categorical("fusion", names, default=names[0])]
        explored = [k for k, values in self.variants.items() if len(values) > 1]
        for k in explored:
            params.append(tune.Categorical(k, list(self.variants[k]), default=self.variants[k][0]))
        for info in self.fusions:
            for r, orders in enumerate(info.orders):
                if len(orders) > 1:
                    params.append(tune.Integer(
                        info.param(r), 0, len(orders) - 1, default=0,
                        condition=lambda p, n=info.name, v=info.variant:
                            p["fusion"] == n and all(p[k] == v[k] for k in explored)))
            if len(self.lane_values) > 1:
                for r in range(len(info.orders)):
                    params.append(tune.Ordinal(
                        info.param(r, "par"), list(self.lane_values), default=self.lane_values[0],
                        condition=lambda p, n=info.name, v=info.variant:
                            p["fusion"] == n and all(p[k] == v[k] for k in explored)))
        if len(self.optimize_values) > 1:
            params.append(tune.Categorical("optimize", list(self.optimize_values),
                                           default=self.optimize_values[0]))
        return tune.Space(params)

    def points(self) -> list[dict]:
        """Every point of the space (fusion-major, then orders, then optimize)."""
        out = []
        lane_choices = self.lane_values if len(self.lane_values) > 1 else (None,)
        for info in self.fusions:
            choices = [range(len(o)) if len(o) > 1 else [None] for o in info.orders]
            for idx, lanes in itertools.product(itertools.product(*choices),
                                                itertools.product(lane_choices, repeat=len(info.orders))):
                for opt in self.optimize_values:
                    p = {"fusion": info.name}
                    for k, values in self.variants.items():
                        if len(values) > 1:
                            p[k] = info.variant[k]
                    for r, i in enumerate(idx):
                        if i is not None:
                            p[info.param(r)] = i
                    for r, n in enumerate(lanes):
                        if n is not None:
                            p[info.param(r, "par")] = n
                    if len(self.optimize_values) > 1:
                        p["optimize"] = opt
                    out.append(p)
        return out

    def order_indices(self, point: dict) -> tuple[FusionInfo, list[int]]:
        info = self.info(point["fusion"], point.get("layouts"), point.get("associate"), point.get("block"))
        idx = []
        for r, orders in enumerate(info.orders):
            i = point.get(info.param(r))
            i = 0 if i is None else int(i)
            if not 0 <= i < len(orders):
                raise ExploreError(f"{info.param(r)} = {i} is out of range (0..{len(orders) - 1})")
            idx.append(i)
        return info, idx

    def orders_text(self, point: dict) -> list[str]:
        """The order of each region at ``point``, spelled ``"i,k,j"``."""
        info, idx = self.order_indices(point)
        return [",".join(info.orders[r][i]) for r, i in enumerate(idx)]

    def options(self, point: dict):
        """The ``CompileOptions`` of a point."""
        from fuseflow.compiler import CompileOptions

        info, idx = self.order_indices(point)
        opt = point.get("optimize", self.optimize_values[0])
        return CompileOptions.make(info.fusion, idx if info.orders else None, bool(opt), layouts=info.layouts,
                                   associate=info.associate, par=self.lanes(point) or None)

    def lanes(self, point: dict) -> dict[str, int]:
        """Lanes of each parallel region's outermost loop at ``point`` (serial regions left out)."""
        info = self.info(point["fusion"], point.get("layouts"), point.get("associate"), point.get("block"))
        out = {}
        for r in range(len(info.orders)):
            n = int(point.get(info.param(r, "par"), self.lane_values[0]))
            if n not in self.lane_values:
                raise ExploreError(f"{info.param(r, 'par')} = {n} is not one of {list(self.lane_values)}")
            if n > 1:
                out[f"region{r}"] = n
        return out

    # -- heuristic -----------------------------------------------------------------------------
    def estimate(self, point: dict) -> Estimate | None:
        info, idx = self.order_indices(point)
        if info.infeasible:
            return None
        est = self.estimator(info)
        if est is None:
            return None
        return est.total([info.orders[r][i] for r, i in enumerate(idx)])

    def heuristic_point(self, info: FusionInfo) -> dict | None:
        """The point of ``info``'s granularity with each region in the order the cost heuristic
        rates cheapest, by the compiler's own rule (``fuseflow.compiler.cheapest_orders``); None
        when it cannot be estimated or is infeasible."""
        from fuseflow.compiler import cheapest_orders, weight_arguments

        if info.infeasible:
            return None
        est = self.estimator(info)
        if est is None:
            return None
        imported = self.partitioned(info.fusion, info.layouts, info.associate, info.block).imported
        picks = cheapest_orders(est, est.regions, ["best"] * len(est.regions), weight_arguments(imported))
        p: dict = {"fusion": info.name}
        for k, values in self.variants.items():
            if len(values) > 1:
                p[k] = info.variant[k]
        for r, orders in enumerate(info.orders):
            if len(orders) > 1:
                p[info.param(r)] = int(picks[r])
            if len(self.lane_values) > 1:
                p[info.param(r, "par")] = self.lane_values[0]
        if len(self.optimize_values) > 1:
            p["optimize"] = self.optimize_values[0]
        return p

    def n_points(self) -> int:
        """The number of points of the space (counted, not enumerated: spaces with layouts and
        association as parameters reach millions of points)."""
        per_info = [math.prod(len(o) for o in info.orders) * len(self.lane_values) ** len(info.orders)
                    for info in self.fusions]
        return sum(per_info) * len(self.optimize_values)

    def reference_work(self, block: str | None = None) -> float | None:
        """The least estimated work over the points of block choice ``block`` (default: the
        first; the pruning reference): estimates add up over regions, so it is the least, over
        granularities, of the sum of each region's least estimate (no enumeration).

        Points are compared within their block choice only: the estimate counts the arithmetic
        and traffic of tiles like those of scalars, but a tile unit does B x B of it per step,
        so work does not rank a blocked program against a scalar one."""
        block = self.variants["block"][0] if block is None else block
        if block not in self._reference_work:
            works = []
            for info in self.fusions:
                est = None if info.infeasible or info.block != block else self.estimator(info)
                if est is not None:
                    works.append(sum(min(est.estimate(r, o).work for o in orders)
                                     for r, orders in enumerate(info.orders)))
            self._reference_work[block] = min(works) if works else None
        return self._reference_work[block]

    def pruned(self, estimate: Estimate | None, block: str | None = None) -> bool:
        """Whether a point of block choice ``block`` with this estimate is pruned."""
        if self.prune is None or estimate is None:
            return False
        ref = self.reference_work(block)
        return ref is not None and estimate.work > self.prune * ref

    # -- evaluation ----------------------------------------------------------------------------
    def program(self, options, block: str = "none"):
        """The compiled program of ``options`` and block choice ``block`` (cached): lowered from
        a copy of its fusion choice's partitioned module."""
        from fuseflow.compiler import lower, read_regions
        from fuseflow.context import clone_module

        key = (options.key(), block)
        if key not in self._programs:
            part = self.partitioned(options.fusion, options.layouts, options.associate, block)
            imported = dataclasses.replace(part.imported, module=clone_module(part.imported.module))
            self._programs[key] = lower(imported, options, read_regions(imported, options), dict(part.stages),
                                        model=self.workload.model)
        return self._programs[key]

    def evaluate(self, point: dict) -> Outcome:
        """Compile and simulate one point (checked against PyTorch). Infeasible points come
        back with ``feasible=False`` and the reason; a mismatch raises."""
        import fuseflow

        t0 = time.perf_counter()
        info, _ = self.order_indices(point)
        options = self.options(point)
        out = Outcome(dict(point), options.key() + ("" if info.block == "none" else f" block={info.block}"), False)
        if info.infeasible:
            out.error = info.infeasible
            out.wall_time = time.perf_counter() - t0
            return out
        out.estimate = self.estimate(point)
        if self.pruned(out.estimate, info.block):
            out.pruned = True
            out.error = (f"pruned: estimated work {out.estimate.work:.3g} > {self.prune:g} x "
                         f"{self.reference_work(info.block):.3g}"
                         + ("" if len(self.variants["block"]) == 1 else f" (block {info.block})"))
            out.wall_time = time.perf_counter() - t0
            return out
        try:
            prog = self.program(options, info.block)
            res = fuseflow.simulate(prog, list(self.workload.args), hw=self.hw, check=True)
        except _infeasible_errors() as e:
            out.error = f"{type(e).__name__}: {e}"
        else:
            out.feasible = True
            out.cycles = int(res.cycles)
            out.region_cycles = {k: int(v) for k, v in res.region_cycles.items()}
            out.region_cycles.update({f"relayout {k}": int(v) for k, v in res.relayouts.items()})
            out.primitives = max((sum(c.values()) for c in prog.primitives.values()), default=0)
            out.lanes = {k: v for k, v in prog.lanes.items() if v > 1}
            out.formats = prog.read_formats()
        out.wall_time = time.perf_counter() - t0
        return out

    def objective(self, point: dict) -> float:
        """``tune.minimize`` objective: simulated cycles; ``tune.Infeasible`` otherwise."""
        out = self.evaluate(point)
        if not out.feasible:
            raise tune.Infeasible(out.error)
        return float(out.cycles)


def _infeasible_errors() -> tuple[type[BaseException], ...]:
    from fuseflow.errors import BlockingError
    from fuseflow.passes.lowering import InfeasibleOrder, LoweringError, UnsupportedOp
    from fuseflow.sim.errors import (
        BufferBudgetError,
        DeadlockError,
        GuardError,
        PeBudgetError,
        SpaccOverflowError,
    )

    # GuardError covers the simulator's cycle, wall-time and memory budgets (MemoryBudgetError);
    # a MemoryError anywhere in compiling a point is that point's failure too (``fuseflow.limits``)
    return (InfeasibleOrder, UnsupportedOp, LoweringError, BlockingError, GuardError, DeadlockError, SpaccOverflowError,
            BufferBudgetError, PeBudgetError, MemoryError)


__all__ = ["FUSIONS", "ExploreError", "Explorer", "FusionInfo", "Outcome", "Partitioned", "block_choices", "fusion_name"]
