"""``fuseflow.compile``: a PyTorch model to a SAM program, stage by stage.

    prog = fuseflow.compile(model, example_args, sparse={"adj": "csr"}, fusion="layers",
                            order={"region0": "ikj"})
    prog.stage("lowered")        # MLIR text of any stage: imported, normalized, partitioned, lowered
    prog.regions                 # per region: variables, expression, chosen and legal orders
    result = fuseflow.simulate(prog, inputs, check=True)

Stages (each is plain MLIR that ``fuseflow-opt`` reads back):
``imported`` (torch-mlir linalg + sparse_tensor), ``normalized`` (``fuseflow-normalize``),
``partitioned`` (``fuseflow-partition``), ``lowered`` (``convert-linalg-to-sam``) and, unless
``optimize=False``, ``optimized`` (``sam-iterate-locate``, ``sam-dedup-streams``: locate instead
of co-iteration where exact, duplicate streams removed). The program runs the last stage.
``CompileOptions`` builds each stage's passes; each region is read once (``partition``) and
lowered from that reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fuseflow.bindings import print_module
from fuseflow.errors import FuseflowError, PipelineError
from fuseflow.passes.fusion_modes import UNFUSED, Fusion, check_fusion
from fuseflow.passes.lowering import LAYOUT_MODES, InfeasibleOrder
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.pipeline import Pipeline
from fuseflow.passes.reassociate import ASSOCIATIONS
from fuseflow.program import Program

STAGES = ("imported", "normalized", "partitioned", "lowered", "optimized")


@dataclass(frozen=True)
class CompileOptions:
    """Everything besides the model that decides the compiled program (hashable, ``key()``).
    It builds the passes of each stage itself (``normalize_pass`` ... ``graph_passes``), with
    their options set from these fields: no pipeline text is written or parsed on the way."""

    fusion: Fusion = UNFUSED  # fuseflow.passes.fusion_modes: a strategy name or op-index groups
    order: int | tuple[tuple[str, str], ...] | tuple[str, ...] | None = None
    optimize: bool = True  # sam-iterate-locate + sam-dedup-streams on the graphs (exact)
    intermediates: str = ""  # format of values passed between regions ("" = as declared)
    layouts: str = "declared"  # LAYOUT_MODES: whether inputs' level orders (dense or sparse) are chosen
    associate: str = "keep"  # ASSOCIATIONS: re-associate contraction chains (fuseflow-reassociate)
    pins: tuple[tuple[str, str], ...] = ()  # (input name, dense level order or sparse format) read so
    par: str = ""  # sam-parallelize's option: lanes per loop, for every region or per region

    @classmethod
    def make(cls, fusion=UNFUSED, order=None, optimize=True, intermediates="", layouts=None,
             associate=None, par=None) -> CompileOptions:
        fusion = check_fusion(fusion)
        if isinstance(order, Mapping):
            order = tuple(sorted((str(k), order_text(v)) for k, v in order.items()))
        elif isinstance(order, Sequence) and not isinstance(order, str):
            order = tuple(order_text(v) for v in order)
        elif order is not None and not isinstance(order, int):
            raise FuseflowError(f"order must be None, an index, a list or a dict, got {order!r}")
        layouts = "declared" if layouts is None else layouts
        pins: tuple[tuple[str, str], ...] = ()
        if isinstance(layouts, Mapping):
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in layouts.items()):
                raise FuseflowError(f"layouts={{...}} maps input names to format strings, got {dict(layouts)!r}")
            pins, layouts = tuple(sorted(layouts.items())), "declared"
        if layouts not in LAYOUT_MODES:
            raise FuseflowError(f"layouts must be one of {', '.join(LAYOUT_MODES)} or a dict "
                                f"{{input name: dense level order or sparse format}}, got {layouts!r}")
        associate = "keep" if associate is None else associate
        if associate not in ASSOCIATIONS:
            raise FuseflowError(f"associate must be one of {', '.join(ASSOCIATIONS)}, got {associate!r}")
        return cls(fusion, order, bool(optimize), str(intermediates or ""), layouts, associate, pins, par_text(par))

    def key(self) -> str:
        return repr((self.fusion, self.order, self.optimize, self.intermediates, self.layouts, self.associate,
                     self.pins, self.par))

    def normalize_pass(self) -> ModulePass:
        """``fuseflow-normalize`` with this association."""
        from fuseflow.passes.normalize import NormalizePass

        return NormalizePass(associate=self.associate)

    def partition_pass(self) -> ModulePass:
        """``fuseflow-partition`` by this fusion strategy."""
        from fuseflow.passes.partition import PartitionPass

        return PartitionPass.for_fusion(self.fusion, self.intermediates)

    def lowering_pass(self, orders: list[str], regions: list | None = None) -> ModulePass:
        """``convert-linalg-to-sam`` in ``orders`` (one per region); ``regions``: the regions
        ``partition`` read (the pass lowers them instead of reading them again)."""
        from fuseflow.passes.convert_linalg_to_sam import ConvertLinalgToSamPass

        lower = ConvertLinalgToSamPass(orders=orders, layouts=self.layouts)
        lower.regions = regions
        return lower

    def graph_passes(self) -> list[ModulePass]:
        """The passes on the lowered graphs: the exact optimizations (``optimize``), the lanes
        (``par``) and, always last, the FIFO depth each fan-out edge needs."""
        from fuseflow.passes.sam_dedup_streams import SamDedupStreamsPass
        from fuseflow.passes.sam_iterate_locate import SamIterateLocatePass
        from fuseflow.passes.sam_parallelize import SamParallelizePass
        from fuseflow.passes.sam_size_buffers import SamSizeBuffersPass

        passes: list[ModulePass] = [SamIterateLocatePass(), SamDedupStreamsPass()] if self.optimize else []
        if self.par:
            passes.append(SamParallelizePass(par=self.par))
        return [*passes, SamSizeBuffersPass()]

    def orders_for(self, n_regions: int) -> list[str]:
        """The per-region ``orders`` option of convert-linalg-to-sam."""
        if self.order is None:
            return ["best"] * n_regions
        if isinstance(self.order, int):
            return [str(self.order)] * n_regions
        if self.order and isinstance(self.order[0], tuple):
            chosen = dict(self.order)
            names = {f"region{r}" for r in range(n_regions)} | {str(r) for r in range(n_regions)}
            unknown = sorted(set(chosen) - names)
            if unknown:
                raise FuseflowError(f"order names unknown region(s) {unknown}; there are {n_regions} (region0..region{n_regions - 1})")
            return [chosen.get(f"region{r}", chosen.get(str(r), "best")) for r in range(n_regions)]
        if len(self.order) != n_regions:
            raise FuseflowError(f"order lists {len(self.order)} entries for {n_regions} regions")
        return list(self.order)


def par_text(par) -> str:
    """``par`` as ``sam-parallelize``'s option text, checked: None -> ``""`` (serial); an int ->
    every region's outermost loop; ``"i:4,j:2"`` -> those loops in every region; a dict
    ``{"region0": "i:4", "region2": 2}`` -> per region."""
    from fuseflow.passes.sam_parallelize import ParallelizeError, parse_par

    if par is None or par == "":
        return ""
    if isinstance(par, bool):
        raise FuseflowError(f"par must be a lane count, 'VAR:FACTOR[,VAR:FACTOR]' or a dict per region, got {par!r}")
    if isinstance(par, int):
        text = str(par)
    elif isinstance(par, (list, tuple)) and par and all(isinstance(x, int) and not isinstance(x, bool) for x in par):
        text = ",".join(map(str, par))
    elif isinstance(par, str):
        text = par.strip()
        if "=" in text or ";" in text:
            raise FuseflowError(f"par={par!r}: give per-region lanes as a dict, e.g. {{'region0': 'i:4'}}")
    elif isinstance(par, Mapping):
        parts = []
        for region, spec in sorted(par.items(), key=lambda kv: str(kv[0])):
            name = f"region{region}" if isinstance(region, int) else str(region)
            if not isinstance(spec, (int, str)) or isinstance(spec, bool) or not name.startswith("region"):
                raise FuseflowError(f"par={{...}} maps region names ('region0') to 'VAR:FACTOR' or a lane count, "
                                    f"got {region!r}: {spec!r}")
            parts.append(f"{name}={spec}")
        text = ";".join(parts)
    else:
        raise FuseflowError(f"par must be a lane count, 'VAR:FACTOR[,VAR:FACTOR]' or a dict per region, got {par!r}")
    try:
        parse_par(text)
    except ParallelizeError as e:
        raise FuseflowError(f"par: {e}") from None
    return text


def order_text(v) -> str:
    """A region's order as the compiler spells it: an index (``"2"``), ``"best"``, or the
    variables with commas (``"i,k,j"``, as ``fuseflow.order`` and ``Program.regions`` spell it),
    from an int, a list of variables, ``"i,k,j"`` or ``"ikj"`` (one-letter variables)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ",".join(str(x).strip() for x in v)
    text = str(v).replace(" ", "")
    if "," in text or text.isdigit() or text == "best":
        return text
    return ",".join(text)


def compile(model, example_args=None, sparse=None, fusion=UNFUSED, order=None, *, optimize=True,  # noqa: A001
            intermediates="", layouts=None, associate=None, par=None, dynamic=None, block=None) -> Program:
    """Import ``model`` (see ``fuseflow.frontend.import_model``: an ``nn.Module`` or a
    ``torch.export.ExportedProgram``, with torch, numpy or scipy arguments), normalize,
    partition into fusion regions and lower each region to a SAM graph in the chosen dataflow
    order.

    Raises ``InfeasibleOrder`` when a region has no legal order (or the requested one is
    illegal), ``UnsupportedOp`` naming an op the lowering cannot express, and other
    ``FuseflowError``s for bad arguments. ``optimize`` runs the exact graph optimizations
    (``sam-iterate-locate``, ``sam-dedup-streams``) after the lowering; ``intermediates`` is the format values crossing regions
    are materialized in (e.g. ``"d1:dense,d0:dense"``; default: as their producer declares).
    ``layouts``: ``"declared"`` (default) reads every runtime dense input and intermediate in the
    level order its type declares (weights and reshapes are laid out freely anyway);
    ``"auto"`` lets each region read any input in the level order its best dataflow order
    needs (a sparse one keeping its level kinds: CSR read as CSC), paying a relayout
    (``ProgramResult.relayouts``) where the value arrives in another one (lifted weights are
    laid out offline, free); a dict ``{input name: format}`` pins the level order every region
    reads a dense input in (``{"d": "d1:dense,d0:dense"}``) or the format of a sparse one
    (``{"a": "csc"}``), a relayout where it arrives in another order.
    ``associate``: ``"keep"`` (default) computes contraction chains as written; ``"left"``
    rewrites ``A @ (X @ W)`` into ``(A @ X) @ W``, ``"right"`` the reverse
    (``fuseflow-reassociate``; equal up to float rounding).
    ``par``: parallel lanes (``sam-parallelize``): ``4`` forks every region's outermost loop into 4
    lanes, ``(4, 2)`` its outermost two loop levels (4 x 2 lanes), ``"i:4,j:2"`` loops i and j of
    every region, ``{"region1": "i:4", "region2": 2}`` per region; None (default) is serial.
    ``dynamic``: the dimensions of forward() arguments that may vary, ``{"x": [0]}`` (or, as
    torch.export's ``dynamic_shapes``, ``{"x": {0: "batch"}}``): the program runs inputs of
    other sizes there on a program compiled for their shapes with the same options (compiled on
    first use, then cached: ``Program.for_shapes``); other shape changes are refused naming the
    input. Shapes are static in every compiled graph (SAM streams carry sizes as coordinates).
    ``block``: sparsity blocking, ``{input or weight name: B}``: that sparse tensor is read as
    B x B tiles (``bsr(B,B)``, or ``bsc(B,B)`` where its format is column-major; 0 keeps it
    scalar), and every region that reads it runs on tile streams (docs/lowering.md, "Sparsity
    blocking"); the same as naming the block format in ``sparse=``.
    """
    from fuseflow.frontend import import_model
    from fuseflow.frontend.importer import prepare

    sparse = blocked_formats(sparse, block)
    options = CompileOptions.make(fusion, order, optimize, intermediates, layouts, associate, par)
    model, example_args = prepare(model, example_args)  # an ExportedProgram, numpy or scipy arguments
    imported = import_model(model, example_args, sparse=sparse)
    program = compile_imported(imported, options, model=model, example_args=example_args)
    if dynamic:
        program.dynamic = _dynamic_dims(dynamic, imported)

        def recompile(inputs, model=model, sparse=sparse, options=options):
            args = list(inputs.values()) if isinstance(inputs, dict) else list(inputs)
            n = len([s for s in imported.inputs if s.kind == "input"])
            fresh = import_model(model, tuple(args[:n]), sparse=sparse)
            variant = compile_imported(fresh, options, model=model, example_args=tuple(args[:n]))
            variant.dynamic = program.dynamic
            return variant

        program._recompile = recompile
    return program


def blocked_formats(sparse, block) -> dict | None:
    """``sparse=`` with the formats ``block=`` asks for: ``{name: B}`` -> ``bsr(B,B)`` (``bsc``
    where the declared format is column-major); B = 0 leaves the name's format as it is."""
    from collections.abc import Mapping

    if not block:
        return sparse
    if not isinstance(block, Mapping):
        raise FuseflowError(f"block= maps sparse input names to block sizes, e.g. {{'mask': 16}}; got {block!r}")
    out = dict(sparse or {})
    for name, size in block.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise FuseflowError(f"block= gives '{name}' the block size {size!r}; a block size is a positive integer (0: not blocked)")
        if size:
            declared = str(out.get(name, "csr")).replace(" ", "").lower()
            out[name] = f"{'bsc' if declared.startswith(('csc', 'dcsc', 'bsc')) else 'bsr'}({size},{size})"
    return out


def _dynamic_dims(dynamic, imported) -> dict[str, set[int]]:
    """``compile(dynamic=...)`` checked against the model's inputs: {name: {dim, ...}}."""
    from collections.abc import Mapping

    if not isinstance(dynamic, Mapping):
        raise FuseflowError(f"dynamic= maps input names to dimensions, e.g. {{'x': [0]}}; got {type(dynamic).__name__}")
    specs = {s.name: s for s in imported.inputs if s.kind == "input"}
    out = {}
    for name, dims in dynamic.items():
        if name not in specs:
            raise FuseflowError(f"dynamic= names '{name}', which is not a forward() argument ({', '.join(specs)})")
        dims = list(dims.keys()) if isinstance(dims, Mapping) else list(dims)
        rank = len(specs[name].shape)
        bad = [d for d in dims if not isinstance(d, int) or not -rank <= d < rank]
        if bad:
            raise FuseflowError(f"dynamic= gives dimension(s) {bad} for '{name}', which has {rank}")
        out[name] = {d % rank for d in dims}
    return out


def partition(imported, options: CompileOptions, stages: dict | None = None) -> list:
    """Normalize and partition ``imported.module`` in place (recording the IR of each stage in
    ``stages`` when given); returns the regions read as fused einsums (``passes.einsum.Region``,
    with their variables, expressions and legal orders), before any lowering. The regions point
    into the module: keep ``imported`` alive while using them."""
    module = imported.module
    if options.pins:
        pin_layouts(imported, options.pins)
    if stages is not None:
        stages["imported"] = print_module(module)
    _run(module, Pipeline([options.normalize_pass()]))
    if stages is not None:
        stages["normalized"] = print_module(module)
    _run(module, Pipeline([options.partition_pass()]))
    if stages is not None:
        stages["partitioned"] = print_module(module)
    return read_regions(imported, options)


def read_regions(imported, options: CompileOptions) -> list:
    """The regions of partitioned ``imported.module`` read as fused einsums (``region<r>``)."""
    from fuseflow.passes.convert_linalg_to_sam import analyze_regions

    return analyze_regions(_entry(imported.module, imported.func_name), "region", options.layouts)


def compile_imported(imported, options: CompileOptions, model=None, example_args=None) -> Program:
    """The stages after import, on an ``ImportedModel``. A region whose order is not chosen
    gets the one the cost heuristic rates cheapest on ``example_args`` (``best_orders``), or
    without them the cheapest on dense bounds (``Region.best_order``)."""
    stages: dict[str, str] = {}
    regions = partition(imported, options, stages)
    return lower(imported, options, regions, stages, example_args, model)


def lower(imported, options: CompileOptions, regions: list, stages: dict[str, str], example_args=None,
          model=None) -> Program:
    """Lower partitioned ``imported`` (whose regions ``partition`` or ``read_regions`` read:
    ``regions``) to graphs, optimize and size them: the program. ``stages`` holds the IR of the
    stages so far; the lowered and optimized ones are added."""
    module = imported.module
    orders = options.orders_for(len(regions))
    if example_args is not None and "best" in orders:
        orders = best_orders(imported, regions, orders, example_args)
    _run(module, Pipeline([options.lowering_pass(orders, regions)]))
    stages["lowered"] = print_module(module)
    _run(module, Pipeline(options.graph_passes()))
    stages["optimized" if options.optimize else "lowered"] = print_module(module)
    return Program(module, imported, stages, options, model=model)


def best_orders(imported, regions: list, orders: list[str], example_args) -> list[str]:
    """``orders`` with every ``"best"`` entry replaced by the index of the region's legal order
    with the fewest estimated operations on ``example_args`` (``fuseflow.explore.heuristic``:
    data-driven coordinate counts, so a mask that prunes a contraction counts), then the fewest
    bytes (relayouts included: ``fuseflow.relayout``), then the least work on dense bounds, then
    the first. Unchanged where the heuristic cannot estimate."""
    from fuseflow.explore.heuristic import HeuristicError, RegionEstimator
    from fuseflow.program import to_numpy

    try:
        args = [to_numpy(a) for a in imported.bind(list(example_args))]
        # the inputs' real statistics; values between regions count as dense (not computed)
        est = RegionEstimator.from_partitioned(imported.module, imported.func_name, args, evaluate=False,
                                               regions=regions)
    except (HeuristicError, FuseflowError):
        return orders
    return cheapest_orders(est, regions, orders, weight_arguments(imported))


def weight_arguments(imported) -> list:
    """The entry function's arguments that are lifted weights (``sparse=`` names them)."""
    fn = _entry(imported.module, imported.func_name)
    block = fn.regions[0].blocks[0]
    return [a for a, spec in zip(block.arguments, imported.inputs, strict=True) if spec.kind == "weight"]


def cheapest_orders(est, regions: list, orders: list[str], weights=()) -> list[str]:
    """``orders`` with every ``"best"`` entry replaced by the index of the region's legal order
    that ``est`` (a ``RegionEstimator`` of ``regions``) rates cheapest: fewest operations, then
    fewest bytes with relayouts (read and written once each), then the least work on dense
    bounds, then the first. Regions are taken in program order, each knowing the order the
    earlier ones write their results in; ``weights``: the program arguments that are lifted
    weights (free to lay out)."""
    from fuseflow.explore.heuristic import VALUE_BYTES
    from fuseflow.passes.lowering import order_work
    from fuseflow.relayout import FREE, region_relayouts, written_order

    chosen = list(orders)
    # results of the regions so far -> the order their graphs write them in; lifted weights are
    # laid out offline
    written: dict = dict.fromkeys(weights, FREE)
    for r, region in enumerate(regions):
        legal = region.legal_orders()
        if chosen[r] == "best" and legal:
            costs = []
            def stored(n: int, st=est.stats[r]) -> int:  # a sparse relayout's words (relayout.sparse_words)
                return st[n].coords[-1] * (1 + sum(st[n].compressed)) + st[n].shape[0] + 1

            for k, o in enumerate(legal):
                e = est.estimate(r, o)
                relaid = region_relayouts(region, o, written, stored)
                costs.append((e.ops, e.bytes + 2 * VALUE_BYTES * relaid, order_work(region, o), k))
            chosen[r] = str(min(costs)[-1])
        try:
            order = region.choose_order(chosen[r])
        except FuseflowError:
            continue  # the lowering reports it
        for out in region.outputs:
            written[out.value] = written_order(out, order, region.block)
    return chosen


def pin_layouts(imported, pins) -> None:
    """Make every use of the named inputs read them in the pinned level order or format: a
    ``sparse_tensor.convert`` at function entry (a relayout for the program runner)."""
    from fuseflow.bindings import ir
    from fuseflow.frontend.formats import DENSE, parse_format
    from fuseflow.passes.lowering import has_sparse_level

    names = imported.input_names()
    fn = _entry(imported.module, imported.func_name)
    block = fn.regions[0].blocks[0]
    for name, spec in pins:
        if name not in names:
            raise FuseflowError(f"layouts names '{name}', which is not an input of the program "
                                f"(inputs: {', '.join(names)}); values between regions take their format "
                                "from intermediates=")
        arg = block.arguments[names.index(name)]
        shape = list(ir.RankedTensorType(arg.type).shape)
        fmt = parse_format(spec)  # FormatError: an unknown format name
        fmt.validate(tuple(shape), f"input '{name}'")  # FormatError: the wrong rank
        levels = fmt.levels_for(len(shape))
        if any(lv.kind != DENSE for lv in levels) != has_sparse_level(arg.type) or fmt.block is not None:
            raise FuseflowError(f"layouts['{name}'] = '{spec}': layouts pin a dense input's level order (such as "
                                "'d1:dense,d0:dense') or a sparse input's format (such as 'csc'); whether an "
                                "input is sparse is declared with sparse=")
        enc = fmt.encoding_text(len(shape))
        with imported.module.context, ir.Location.unknown():
            pinned = ir.RankedTensorType.get(shape, ir.RankedTensorType(arg.type).element_type,
                                             ir.Attribute.parse(enc) if enc else None)
            if pinned == arg.type:
                continue
            with ir.InsertionPoint.at_block_begin(block):
                conv = ir.Operation.create("sparse_tensor.convert", results=[pinned], operands=[arg])
        for use in list(arg.uses):
            owner = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if owner != conv:
                owner.operands[use.operand_number] = conv.results[0]


def _run(module, pipeline: Pipeline) -> None:
    try:
        pipeline.run(module)
    except PipelineError:
        for element in pipeline.elements:
            cause = getattr(element, "error", None)
            if isinstance(cause, FuseflowError):
                raise cause from None
        raise


def _entry(module, name: str):
    for op in module.body.operations:
        if op.operation.name == "func.func" and str(op.attributes["sym_name"]).strip('"') == name:
            return op
    raise FuseflowError(f"the module has no function @{name}")


__all__ = ["STAGES", "CompileOptions", "InfeasibleOrder", "blocked_formats", "compile", "compile_imported", "lower", "partition", "read_regions"]
