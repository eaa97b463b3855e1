"""A compiled SAM program: the lowered module plus what is needed to run and check it.

The program function (``fuseflow.program``) holds constants (model weights), one ``func.call``
per fusion region (a SAM graph function), ``sparse_tensor.convert`` where a graph wrote its
result in another storage order or format, and the return. ``Program.run`` walks it and
``fuseflow.sim.runner`` simulates each graph (in order, or side by side with ``workers``); the
cycle count of the program is the sum over regions (FuseFlow's convention).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuseflow.bindings import ir, op_name
from fuseflow.constants import ConstantReader
from fuseflow.errors import FuseflowError


@dataclass(frozen=True)
class RegionInfo:
    """One fusion region as lowered: graph function name, the chosen order, the legal orders
    (each spelled as its variables with commas, ``"i,k,j"``) and the expressions."""

    name: str
    order: str
    orders: tuple[str, ...]
    exprs: tuple[str, ...]

    @property
    def order_index(self) -> int:
        return self.orders.index(self.order)


@dataclass
class ProgramResult:
    """Outputs (dense numpy, in result order), total cycles (the sum over regions and
    relayouts), cycles per region (by graph name) and per-region, per-node simulator
    statistics."""

    outputs: list[np.ndarray]
    cycles: int
    region_cycles: dict[str, int]
    stats: dict[str, Any] = field(default_factory=dict)
    trace_events: list[dict] = field(default_factory=list)
    # per region (graph name): (words of the compiler-sized fan-out buffers, the most they held)
    region_buffers: dict[str, tuple[int, int]] = field(default_factory=dict)
    # cycles of each relayout (``fuseflow.relayout``), by name; included in ``cycles``
    relayouts: dict[str, int] = field(default_factory=dict)
    # per region: the most bytes the simulator's growing structures held at once
    region_memory: dict[str, int] = field(default_factory=dict)

    @property
    def memory_peak(self) -> int:
        """The most bytes the simulator held for any one region (regions run one after another;
        ``HardwareConfig.max_memory_mb`` bounds it)."""
        return max(self.region_memory.values(), default=0)

    @property
    def buffer_words(self) -> int:
        """On-chip buffer words of the largest region (regions run one after another)."""
        return max((w for w, _ in self.region_buffers.values()), default=0)

    @property
    def lane_busy(self) -> dict[str, dict[str, int]]:
        """Per region: busy cycles per parallel lane, by full lane tag (``"2"``, ``"2.1"``; see
        ``fuseflow.sim.resources``); empty for a serial region."""
        from fuseflow.sim.resources import lane_busy

        return {name: lane_busy(nodes) for name, nodes in self.stats.items()}

    @property
    def lane_imbalance(self) -> dict[str, float]:
        """Per parallel region: busy cycles of its busiest outermost lane over their mean (1.0 =
        balanced; nested tags count toward their outermost lane). Serial regions are left out."""
        from fuseflow.sim.resources import lane_imbalance

        return {name: lane_imbalance(busy) for name, busy in self.lane_busy.items() if busy}

    def lane_summary(self) -> list[str]:
        """One line per parallel region: its lanes, the imbalance and the busy cycles per
        outermost lane (``fuseflow.sim.resources.lane_line``)."""
        from fuseflow.sim.resources import lane_line

        return [lane_line(name, busy) for name, busy in self.lane_busy.items() if busy]

    def totals(self) -> dict[str, int]:
        nodes = [n for region in self.stats.values() for n in region]
        return {
            "tokens": sum(n.tokens_out for n in nodes),
            "ops": sum(n.ops for n in nodes),
            "bytes_read": sum(n.bytes_read for n in nodes),
            "bytes_written": sum(n.bytes_written for n in nodes),
        }

    def write_trace(self, path) -> None:
        """The trace events held (``trace=True``) as a Chrome/Perfetto trace, one process per
        region, end to end (gzip for a ``.gz`` path)."""
        from fuseflow.sim.trace import TraceWriter

        with TraceWriter(path) as w:
            w.add(self.trace_events)


def _dense(value) -> np.ndarray:
    """A value the program runner holds as a dense array (a region's result is kept as written,
    a ``TensorData``, between regions)."""
    from fuseflow.sim.tensors import TensorData

    return value.to_dense() if isinstance(value, TensorData) else value


def _input_shapes(inputs, names: list[str]) -> list[tuple | None]:
    """The shapes of the forward() arguments among ``inputs`` (a sequence or a dict by name);
    None where one is not given or has no shape."""
    if isinstance(inputs, dict):
        values = [inputs.get(n) for n in names]
    else:
        seq = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        values = seq[: len(names)] + [None] * (len(names) - len(seq))
    return [tuple(v.shape) if hasattr(v, "shape") else None for v in values]


def dtype_tolerance(dtype) -> tuple[float, float]:
    """(rtol, atol) a check allows for outputs of torch ``dtype`` (float32 and wider: 1e-4, 1e-5)."""
    import torch

    return {torch.float16: (1e-2, 1e-3), torch.bfloat16: (2e-2, 1e-2)}.get(dtype, (1e-4, 1e-5))


def to_numpy(value, what: str = "input") -> np.ndarray:
    """A dense numpy array from a torch tensor (dense or sparse), scipy sparse or array of real
    numbers (bool, integer or float; bfloat16 is widened to float32, exactly). Raises
    ``FuseflowError`` naming ``what`` and the dtype for anything else (complex, strings, objects)."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach()
            if value.layout != torch.strided:
                value = value.to_dense()
            if value.dtype == torch.bfloat16:  # numpy has no bfloat16
                value = value.float()
            if value.is_complex():
                raise FuseflowError(f"{what}: dtype {value.dtype} is not supported (real numbers only)")
            return value.cpu().numpy()
    except ImportError:  # torch is a dependency; keep this module importable without it
        pass
    array = np.asarray(value.toarray()) if hasattr(value, "toarray") else np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise FuseflowError(f"{what}: dtype {array.dtype} is not supported (real numbers: bool, integer or float)")
    return array


class Program:
    """A lowered model. ``stages`` maps stage names to MLIR text."""

    def __init__(self, module, imported, stages: dict[str, str], options, model=None):
        self.module = module
        self.imported = imported
        self.stages = stages
        self.options = options
        self.model = model
        self._relayouts = None
        # dimensions that may vary ({input: {dim, ...}}) and how to compile for other shapes
        self.dynamic: dict[str, set[int]] = {}
        self._recompile = None
        self._variants: dict[tuple, Program] = {}
        self._graphs: dict = {}  # region name -> simulator graph (``region_graph``)

    def for_shapes(self, inputs) -> Program:
        """The program to run ``inputs`` on: this one when their shapes are the ones it was
        compiled for; for other sizes of its dynamic dimensions (``compile(dynamic=...)``) the
        program compiled for those shapes (compiled on first use, then cached); anything else
        is refused naming the input, both shapes and what to do."""
        if self.imported is None:
            return self
        specs = [s for s in self.imported.inputs if s.kind == "input"]
        given = _input_shapes(inputs, [s.name for s in specs])
        wrong = [(s, shape) for s, shape in zip(specs, given, strict=False)
                 if shape is not None and tuple(shape) != tuple(s.shape)]
        if not wrong:
            return self
        fixed = [(s, shape) for s, shape in wrong
                 if len(shape) != len(s.shape)
                 or any(a != b and d not in self.dynamic.get(s.name, ()) for d, (a, b) in enumerate(zip(shape, s.shape, strict=True)))]
        if fixed or self._recompile is None:
            s, shape = (fixed or wrong)[0]
            free = sorted(self.dynamic.get(s.name, ()))
            raise FuseflowError(
                f"input '{s.name}' has shape {tuple(shape)}; the program was compiled for {tuple(s.shape)}"
                + (f" (dimension(s) {free} may vary)" if free else "")
                + f": compile again for this shape, or declare the dimensions that may vary "
                  f"(fuseflow.compile(..., dynamic={{'{s.name}': [dim, ...]}}))")
        key = tuple(tuple(shape) for shape in given)
        if key not in self._variants:
            self._variants[key] = self._recompile(inputs)
        return self._variants[key]

    # -- inspection ------------------------------------------------------------------------
    def stage(self, name: str) -> str:
        if name not in self.stages:
            raise FuseflowError(f"unknown stage '{name}'; stages: {', '.join(self.stages)}")
        return self.stages[name]

    @property
    def entry(self):
        for op in self.module.body.operations:
            if op_name(op) == "func.func" and "fuseflow.program" in op.attributes:
                return op
        raise FuseflowError("the module has no program function (run convert-linalg-to-sam)")

    def graph(self, name: str):
        for op in self.module.body.operations:
            if op_name(op) == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == name:
                return op
        raise FuseflowError(f"the module has no graph @{name}")

    @property
    def regions(self) -> list[RegionInfo]:
        out = []
        for op in self.entry.regions[0].blocks[0].operations:
            if op_name(op) != "func.call":
                continue
            name = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            g = self.graph(name).attributes
            out.append(RegionInfo(
                name,
                ir.StringAttr(g["fuseflow.order"]).value,
                tuple(ir.StringAttr(a).value for a in ir.ArrayAttr(g["fuseflow.orders"])),
                tuple(ir.StringAttr(a).value for a in ir.ArrayAttr(g["fuseflow.expr"])),
            ))
        return out

    @property
    def relayouts(self) -> list:
        """Where the program reads a dense value in another level order than it is stored in
        (``fuseflow.relayout.Relayout``: name, elements)."""
        if self._relayouts is None:
            from fuseflow.relayout import program_relayouts

            self._relayouts = program_relayouts(self.entry, self.weight_arguments())
        return list(self._relayouts)

    def input_names(self) -> list[str]:
        return self.imported.input_names() if self.imported is not None else []

    def read_formats(self) -> dict[str, str]:
        """The inputs the regions read in another level order than the value arrives in
        (``layouts="auto"`` or pinned), by ``"<graph> arg<n>"``: the format read (``"csc"``,
        ``"d1:dense,d0:dense"``)."""
        from fuseflow.frontend.formats import format_from_encoding
        from fuseflow.relayout import source, stored_order

        out = {}
        for op in self.entry.regions[0].blocks[0].operations:
            if op_name(op) != "func.call":
                continue
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            for n, v in enumerate(op.operands):
                read, have = stored_order(v.type), stored_order(source(v).type)
                if isinstance(read, tuple) and isinstance(have, tuple) and read != have:
                    enc = ir.RankedTensorType(v.type).encoding
                    out[f"{callee} arg{n}"] = "dense" if enc is None else format_from_encoding(str(enc)).name
        return out

    def weight_arguments(self) -> list:
        """The program function's arguments that are lifted weights (``sparse=`` names them)."""
        from fuseflow.compiler import weight_arguments

        return [] if self.imported is None else weight_arguments(self.imported)

    @property
    def primitives(self) -> dict[str, Counter]:
        """Per region (graph name): its primitives by sam op name without ``sam.`` (every sam op
        but ``sam.output``, writers included); what ``HardwareConfig.pe_budget`` limits."""
        from fuseflow.dialects.sam_graph import sam_functions
        from fuseflow.sim.resources import sam_primitives

        return {g.name: sam_primitives(g) for g in sam_functions(self.module)}

    @property
    def primitive_totals(self) -> dict[str, int]:
        """Per region: its primitive count (the sum of ``primitives``)."""
        return {name: sum(counts.values()) for name, counts in self.primitives.items()}

    @property
    def lanes(self) -> dict[str, int]:
        """Per region: its parallel lanes (the product of its forked factors; 1 when serial)."""
        from fuseflow.dialects.sam_graph import sam_functions
        from fuseflow.sim.resources import lane_count, sam_lane_tags

        return {g.name: lane_count(sam_lane_tags(g)) for g in sam_functions(self.module)}

    # -- execution -------------------------------------------------------------------------
    def bind(self, inputs) -> list[np.ndarray]:
        args = self.imported.bind(inputs) if self.imported is not None else list(inputs)
        names = self.input_names() or [f"arg{k}" for k in range(len(args))]
        return [to_numpy(a, f"input '{names[k]}'" if k < len(names) else f"input {k}").astype(np.float32, copy=False)
                for k, a in enumerate(args)]

    def region_graph(self, name: str):
        """The simulator graph of region ``name`` (``fuseflow.sim.graph.Graph``), read from its
        sam function once and kept: every run of the program simulates the same graphs."""
        if name not in self._graphs:
            from fuseflow.dialects.sam_graph import SamGraph
            from fuseflow.sim.from_mlir import graph_from_func

            self._graphs[name] = graph_from_func(SamGraph(self.graph(name)))
        return self._graphs[name]

    def run(self, inputs, *, hw=None, engine: str = "cycle", trace=False, progress=None,
            workers: int = 1) -> ProgramResult:
        """Simulate every region in program order on ``inputs`` (forward() arguments);
        ``engine`` is "cycle" (the compiled engine) or "functional" (the functional model).
        ``trace``: True (events in the result), a path (written region by region) or
        ``fuseflow.sim.TraceOptions``; ``progress(region, cycles, tokens, fraction)``: called
        about twice a second during long regions (see ``fuseflow.sim.engine.run_region``);
        ``workers``: processes that run the regions' cycle simulations side by side
        (``fuseflow.sim.runner``: the same results as in order). Inputs of other sizes in
        dynamic dimensions run on the program compiled for them (``for_shapes``)."""
        variant = self.for_shapes(inputs)
        if variant is not self:
            return variant.run(inputs, hw=hw, engine=engine, trace=trace, progress=progress, workers=workers)
        from fuseflow.sim import HardwareConfig
        from fuseflow.sim.resources import check_pe_budget
        from fuseflow.sim.runner import Runner

        config = hw or HardwareConfig()
        runner = Runner(config, engine=engine, trace=trace, progress=progress, workers=workers)
        if runner.engine == "cycle" and config.pe_budget:
            # every region before the first is simulated (the engine checks each one again)
            lanes = self.lanes
            for region, counts in self.primitives.items():
                check_pe_budget(region, counts, lanes[region], config.pe_budget)
        (outputs, relayouts), runs = runner.run(lambda region: self._walk(inputs, config, region))
        return ProgramResult(outputs, sum(r.cycles for r in runs) + sum(relayouts.values()),
                             {r.name: r.cycles for r in runs}, {r.name: r.stats for r in runs},
                             [ev for r in runs for ev in r.trace], {r.name: r.buffers for r in runs}, relayouts,
                             {r.name: r.memory for r in runs})

    def _walk(self, inputs, hw, region) -> tuple[list[np.ndarray], dict[str, int]]:
        """Execute the program function, ``region`` simulating each graph call (see
        ``fuseflow.sim.runner``): the outputs (dense, in result order) and the relayouts' cycles."""
        from fuseflow.relayout import sparse_words

        block = self.entry.regions[0].blocks[0]
        args = self.bind(inputs)
        if len(args) != len(block.arguments):
            raise FuseflowError(f"the program takes {len(block.arguments)} inputs, got {len(args)}")
        env: dict = dict(zip(block.arguments, args, strict=True))
        constants = ConstantReader(self.module)
        outputs: list[np.ndarray] = []
        # relayouts happen between the regions; each is a line of its own in the cycle count (a
        # sparse one is costed on its stored entries once the program holds the value)
        relayouts = {r.name: hw.relayout_cycles(r.elements) for r in self.relayouts if not r.sparse_levels}
        pending = [r for r in self.relayouts if r.sparse_levels]

        def cost_sparse_relayouts() -> None:
            for r in [r for r in pending if r.value in env]:
                relayouts[r.name] = hw.relayout_cycles(sparse_words(_dense(env[r.value]), r.sparse_levels))
                pending.remove(r)

        for op in block.operations:
            name = op_name(op)
            if name == "arith.constant":
                if isinstance(op.results[0].type, ir.RankedTensorType):
                    env[op.results[0]] = constants.array(op.attributes["value"]).astype(np.float32)
            elif name == "func.call":
                cost_sparse_relayouts()
                callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
                written = region(callee, self.region_graph(callee), [env[v] for v in op.operands],
                                 sum(relayouts.values()))
                # a result travels as written (its stored entries, explicit zeros included) to
                # the regions that read it
                env.update(zip(op.results, written, strict=True))
            elif name == "sparse_tensor.convert":
                env[op.results[0]] = env[op.operands[0]]
            elif name in DENSE_OPS:
                env[op.results[0]] = DENSE_OPS[name](op, _dense(env[op.operands[0]]))
            elif name == "func.return":
                outputs = [_dense(env[v]) for v in op.operands]
            elif any(True for r in op.results for _ in r.uses):
                raise FuseflowError(f"{op.location}: the program runner does not execute '{name}'")
        cost_sparse_relayouts()
        return outputs, relayouts

    def reference(self, inputs) -> list[np.ndarray]:
        """PyTorch eager outputs of the compiled model on ``inputs``."""
        return self.reference_outputs(inputs)[0]

    def reference_outputs(self, inputs) -> tuple[list[np.ndarray], tuple[float, float]]:
        """PyTorch eager outputs of the compiled model on ``inputs``, and the (rtol, atol) their
        dtype allows (float32: 1e-4, 1e-5; float16: 1e-2, 1e-3; bfloat16: 2e-2, 1e-2).

        Sparse inputs are densified (torch lacks many sparse kernels, e.g. CSR row sums): the
        same values as stored-entry semantics while every value is finite. With a NaN or Inf in
        some input, 0 x inf would be NaN densely where a sparse kernel skips the absent zero, so
        the model runs on the sparse inputs as given (PyTorch's own semantics), and a model
        PyTorch cannot run sparsely is refused rather than checked wrongly."""
        if self.model is None:
            raise FuseflowError("this program was not compiled from a PyTorch model; pass expected outputs")
        import torch

        from fuseflow.frontend.importer import as_torch

        args = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        args = [as_torch(a, f"input {k}") for k, a in enumerate(args)]  # numpy, scipy: as compiled
        sparse = [isinstance(a, torch.Tensor) and a.layout != torch.strided for a in args]
        dense = [a.to_dense() if s else a for a, s in zip(args, sparse, strict=True)]
        non_finite = any(isinstance(a, torch.Tensor) and a.is_floating_point() and not torch.isfinite(a).all()
                         for a in dense)
        stored_only = non_finite and any(sparse)
        with torch.no_grad():
            try:
                out = self.model(*(args if stored_only else dense))
            except Exception as e:  # the user's inputs do not fit their own model
                if stored_only:
                    raise FuseflowError("the inputs hold NaN or Inf and PyTorch has no sparse kernel for this model "
                                        f"({type(e).__name__}), so check=True cannot compute its stored-entry "
                                        "result; compare with expected= instead") from None
                raise FuseflowError(f"the model fails in PyTorch eager on these inputs (the reference for "
                                    f"check=True): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        outs = out if isinstance(out, (list, tuple)) else [out]
        tolerances = [dtype_tolerance(o.dtype if isinstance(o, torch.Tensor) else None) for o in outs]
        return [to_numpy(o) for o in outs], max(tolerances)


def _reshape(op, value: np.ndarray) -> np.ndarray:
    """``tensor.expand_shape``/``collapse_shape``: a row-major reinterpretation."""
    return np.reshape(value, ir.RankedTensorType(op.results[0].type).shape)


def _slice(op, value: np.ndarray) -> np.ndarray:
    """``tensor.extract_slice`` with static offsets, sizes and strides (no rank reduction)."""
    offsets, sizes, strides = (list(ir.DenseI64ArrayAttr(op.attributes[k]))
                               for k in ("static_offsets", "static_sizes", "static_strides"))
    if len(op.operands) != 1 or ir.RankedTensorType(op.results[0].type).rank != value.ndim:
        raise FuseflowError(f"{op.location}: the program runner executes static, rank-preserving slices only")
    index = tuple(slice(o, o + n * s, s) for o, n, s in zip(offsets, sizes, strides, strict=True))
    return np.ascontiguousarray(value[index])


# Ops between regions executed on dense values: the partition places region boundaries at them
# (fuseflow.passes.lowering.RUNNER_RESHAPES) and the lowering reinserts unit dims and casts.
DENSE_OPS = {
    "tensor.expand_shape": _reshape,
    "tensor.collapse_shape": _reshape,
    "tensor.extract_slice": _slice,
    "arith.extf": lambda op, v: v,  # values are float32 arrays throughout (see ``bind``)
    "arith.truncf": lambda op, v: v,
}


