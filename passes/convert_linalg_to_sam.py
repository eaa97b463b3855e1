"""convert-linalg-to-sam: lower each fusion region to one SAM graph function."""

from __future__ import annotations

from fuseflow.bindings import arith, func, ir, op_name, sparse_tensor, tensor
from fuseflow.dialects.sam_builder import SamBuilder
from fuseflow.dialects.sam_graph import LOOP_ALIASES_ATTR, SamGraph, check_loop_nests
from fuseflow.errors import FuseflowError
from fuseflow.passes.lowering import (
    LAYOUT_MODES,
    UNIT,
    Region,
    build_region,
    drop_unit_levels,
    is_init_only,
    is_unit_reshape,
    lower_region,
    show,
)
from fuseflow.passes.partition import REGION_ATTR, computations
from fuseflow.passes.pass_base import ModulePass, Option, PassFailure
from fuseflow.passes.registry import register

PROGRAM_ATTR = "fuseflow.program"


def regions_of(fn) -> list[list[ir.Operation]]:
    """The fusion regions of a function: ops grouped by `fuseflow.region` (ops without the
    attribute are regions of their own), in program order of their first op."""
    groups: dict[object, list[ir.Operation]] = {}
    for n, op in enumerate(computations(fn)):
        key = ir.IntegerAttr(op.attributes[REGION_ATTR]).value if REGION_ATTR in op.attributes else ("op", n)
        groups.setdefault(key, []).append(op)
    return list(groups.values())


def analyze_regions(fn, prefix: str, layouts: str = "declared") -> list[Region]:
    return [build_region(f"{prefix}{r}", ops, layouts) for r, ops in enumerate(regions_of(fn))]


def _str_array(items) -> ir.ArrayAttr:
    return ir.ArrayAttr.get([ir.StringAttr.get(x) for x in items])


@register
class ConvertLinalgToSamPass(ModulePass):
    """Lower every fusion region of every function to a SAM graph (`sam` dialect).

    Each region (ops sharing a `fuseflow.region` number, see `fuseflow-partition`; an op
    without one is its own region) becomes a `func.func @<fn>_region<r>` from the region's input
    tensors to its output tensors, built by the lowering-table method of SAM_SEMANTICS.md
    section 4 in the dataflow order chosen for that region. The original function becomes the
    program: constants, one `func.call` per region in program order, `sparse_tensor.convert`
    where a graph writes its result in another storage order or format than the op declared,
    `tensor.collapse_shape` where a graph reads a sparse value without its unit dimensions
    (`drop_unit_levels`), `tensor.expand_shape` reinserting the unit dimensions a graph does not
    write, `arith.extf`/`truncf` where the lowering read through a cast, the reshapes and slices between regions
    (executed by the program runner), and the return. Graph functions carry `fuseflow.region`, `fuseflow.order` (the chosen
    order), `fuseflow.orders` (all legal orders, the tuner's space) and `fuseflow.expr`.

    Options: `orders` - one entry per region in region order: an index into that region's legal
    orders (default 0) or an explicit permutation of its variables such as `ikj` or, braced,
    `{i,k,j}` (the spelling of `fuseflow.order`; `orders={{i,k,j},0}`). `layouts` -
    `declared` (default: a dense runtime input or intermediate is read in its declared level
    order, which constrains the order) or `auto` (any input but a block-sparse one is read in the
    level order the chosen order needs, a sparse one keeping its level kinds: a
    `sparse_tensor.convert` to that layout, which the program runner charges as a relayout where
    it is not the order the value arrives in). Every region is read before any is lowered; a
    region's input computed by an earlier region is then the value that region's call put in its
    place (of the same type). From Python, `regions` may hold the function's regions as
    `fuseflow.compiler.partition` read them (`analyze_regions`): they are lowered as read, not
    read again (no pipeline text carries them).
    Preconditions: computing ops are `linalg.generic` (generalize named ops, fold transposes
    and sparse casts first). Fails with a located error for an op the lowering does not support
    and for an illegal or infeasible order.
    Guarantees after: no computing linalg op is left; every graph verifies.
    """

    name = "convert-linalg-to-sam"
    orders = Option(list[str], [], "per-region dataflow order: index or permutation (e.g. 0,ikj,1 or {{i,k,j},1})")
    layouts = Option(str, "declared", "declared: inputs are read as their types say; auto: every input "
                     "(dense, or sparse keeping its level kinds) in the level order the dataflow order needs "
                     "(a relayout where it differs)",
                     choices=list(LAYOUT_MODES))
    regions: list[Region] | None = None  # read before the pass (see above); not a text option

    def run(self, module: ir.Operation) -> None:
        self.error: FuseflowError | None = None
        fns = [op for op in module.regions[0].blocks[0].operations
               if op_name(op) == "func.func" and len(op.regions[0].blocks) > 0
               and PROGRAM_ATTR not in op.attributes and not _is_graph(op)]
        for fn in fns:
            try:
                self._convert(fn)
            except FuseflowError as e:
                self.error = e
                raise PassFailure(str(e), getattr(getattr(e, "op", None), "location", None)) from e

    def _convert(self, fn) -> None:
        fname = ir.StringAttr(fn.attributes["sym_name"]).value
        groups = regions_of(fn)
        if len(self.orders) > len(groups):
            raise FuseflowError(f"orders has {len(self.orders)} entries but @{fname} has {len(groups)} regions")
        # every region is read before any is lowered (or was, by the caller): the reading the
        # orders were chosen on is the one lowered, from Python and from text alike
        if self.regions is not None and _reads_of(self.regions, groups):
            read = self.regions
        else:
            read = [build_region(f"{fname}_region{r}", ops, self.layouts) for r, ops in enumerate(groups)]
        replaced: list[tuple[ir.Value, ir.Value]] = []  # region results -> the values now in their place
        for r, region in enumerate(read):
            region.name = f"{fname}_region{r}"
            # inputs computed by earlier regions: their calls' results are now in their place
            region.inputs = [_replacement(v, replaced) for v in region.inputs]
            choice = self.orders[r] if r < len(self.orders) else None
            order = region.choose_order(choice)
            graph = self._emit_graph(fn, region, order)
            replaced += self._replace_with_call(fn, region, graph)
        for op in reversed(list(fn.regions[0].blocks[0].operations)):
            op = op.operation
            if op_name(op) in ("tensor.empty", "linalg.fill", "linalg.generic") and is_init_only(op) \
                    and not list(op.results[0].uses):
                op.erase()
        fn.attributes[PROGRAM_ATTR] = ir.UnitAttr.get()

    def _emit_graph(self, fn, region: Region, order: list[str]):
        in_types = [region.graph_type(n, order) for n in range(len(region.inputs))]
        with ir.InsertionPoint(fn):
            graph = func.FuncOp(region.name, ir.FunctionType.get(in_types, []))
            block = graph.add_entry_block()
        with ir.InsertionPoint(block):
            b = SamBuilder()
            args = list(block.arguments)
            low = lower_region(b, region, order, args)
            outs = low.outputs
            func.ReturnOp(outs)
        graph.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(in_types, [o.type for o in outs]))
        if low.aliases:
            graph.attributes[LOOP_ALIASES_ATTR] = _str_array(f"{a}={b}" for a, b in sorted(low.aliases))
        problems = check_loop_nests(SamGraph(graph))
        if problems:  # a lowering bug: every stream must sit in the loops its consumers expect
            raise FuseflowError(f"{region.name}: the emitted graph is mis-wired: {'; '.join(problems)}")
        i64 = ir.IntegerType.get_signless(64)
        graph.attributes[REGION_ATTR] = ir.IntegerAttr.get(i64, int(region.name.rsplit("region", 1)[1]))
        graph.attributes["fuseflow.order"] = ir.StringAttr.get(",".join(order))
        graph.attributes["fuseflow.orders"] = _str_array(",".join(o) for o in region.legal_orders())
        names = [_value_name(v) for v in region.inputs]
        graph.attributes["fuseflow.expr"] = _str_array(
            f"{','.join(o.vars)}: {show(o.expr, names)}" for o in region.outputs)
        return graph

    def _replace_with_call(self, fn, region: Region, graph) -> list[tuple[ir.Value, ir.Value]]:
        """Replace the region's ops by a call of ``graph``; returns (result, its replacement)."""
        last = region.ops[-1]
        result_types = list(ir.FunctionType(ir.TypeAttr(graph.attributes["function_type"]).value).results)
        with ir.InsertionPoint(last), last.location:
            arg_types = list(ir.FunctionType(ir.TypeAttr(graph.attributes["function_type"]).value).inputs)
            operands = [_operand(v, t) for v, t in zip(region.inputs, arg_types, strict=True)]
            call = func.CallOp(result_types, ir.FlatSymbolRefAttr.get(region.name), operands)
            values = []
            for out, res in zip(region.outputs, call.results, strict=True):
                res = _restore_unit_dims(_cast(res, out), out)
                if res.type != out.value.type:
                    res = sparse_tensor.ConvertOp(out.value.type, res).result
                values.append(res)
        for out, v in zip(region.outputs, values, strict=True):
            out.value.replace_all_uses_with(v)
        replaced = [(out.value, v) for out, v in zip(region.outputs, values, strict=True)]
        members = {op.operation for op in region.ops}
        first = region.ops[0].operation
        block_ops = [op.operation for op in fn.regions[0].blocks[0].operations]
        for op in reversed(block_ops[block_ops.index(first):block_ops.index(last.operation) + 1]):
            if op in members:
                if list(op.results[0].uses):
                    raise FuseflowError(f"{region.name}: a value computed in the region is used before "
                                        "the region ends (regions must be contiguous)")
                op.erase()
            elif len(op.results) == 1 and is_unit_reshape(op.results[0]) and not list(op.results[0].uses):
                # an unsqueeze the region's reads looked through: dead once they are gone
                source = op.operands[0]
                if isinstance(source, ir.OpResult) and source.owner.operation in members:
                    op.erase()
        return replaced


def _reads_of(regions: list[Region], groups: list[list[ir.Operation]]) -> bool:
    """Whether ``regions`` are the readings of ``groups`` (the same ops, region by region)."""
    return len(regions) == len(groups) and all(
        len(region.ops) == len(ops) and all(a.operation == b.operation for a, b in zip(region.ops, ops, strict=True))
        for region, ops in zip(regions, groups, strict=True))


def _replacement(v: ir.Value, replaced: list[tuple[ir.Value, ir.Value]]) -> ir.Value:
    """``v``, or the value an earlier region's call put in its place (same type: the call's
    result is converted back to the type the replaced op declared). The replaced value's op is
    erased: it is only compared, never read."""
    for old, new in replaced:
        if old == v:
            return new
    return v


def _operand(v: ir.Value, t: ir.Type) -> ir.Value:
    """``v`` as the graph argument of type ``t`` reads it: converted to ``t``'s layout or format,
    and for a sparse value read without its unit dimensions (``drop_unit_levels``) collapsed
    first (a reinterpretation of its stored entries, executed by the program runner)."""
    rank = ir.RankedTensorType(v.type).rank
    if ir.RankedTensorType(t).rank < rank:
        shape = ir.RankedTensorType(v.type).shape
        kept = [d for d in range(rank) if shape[d] != 1]
        groups = [[] for _ in kept]
        for d in range(rank):  # a unit dimension joins the next kept one (the last: the previous)
            groups[min(sum(k < d for k in kept), len(kept) - 1)].append(d)
        v = tensor.CollapseShapeOp(drop_unit_levels(v.type), v, _reassociation(groups)).result
    return v if v.type == t else sparse_tensor.ConvertOp(t, v).result


def _cast(res: ir.Value, out) -> ir.Value:
    """Casts are read through by the lowering: a graph writes its values' element type; cast
    the (dense) result to the declared one (``arith.extf``/``arith.truncf`` on the tensor)."""
    rt, want = ir.RankedTensorType(res.type), ir.RankedTensorType(out.value.type).element_type
    if rt.element_type == want:
        return res
    dense = ir.RankedTensorType.get(rt.shape, rt.element_type)
    if res.type != dense:
        res = sparse_tensor.ConvertOp(dense, res).result
    target = ir.RankedTensorType.get(rt.shape, want)
    widen = ir.FloatType(want).width > ir.FloatType(rt.element_type).width
    return (arith.ExtFOp if widen else arith.TruncFOp)(target, res).result


def _restore_unit_dims(res: ir.Value, out) -> ir.Value:
    """A graph writes an output without its unit dimensions; reinsert them (dense values: a
    row-major reinterpretation, which the program runner executes as a reshape)."""
    rt = ir.RankedTensorType(out.value.type)
    if ir.RankedTensorType(res.type).rank == rt.rank:
        return res
    dense = ir.RankedTensorType.get([n for n, v in zip(rt.shape, out.vars, strict=True) if v != UNIT],
                                    rt.element_type)
    if res.type != dense:
        res = sparse_tensor.ConvertOp(dense, res).result
    groups, current = [], []
    kept = [n for n, v in enumerate(out.vars) if v != UNIT]
    for n in range(rt.rank):
        current.append(n)
        if n in kept and len(groups) < len(kept) - 1:
            groups.append(current)
            current = []
    groups.append(current)
    if not kept:  # every dimension is a unit one: a 0-d value
        groups = []
    target = ir.RankedTensorType.get(rt.shape, rt.element_type)
    return tensor.ExpandShapeOp(target, res, _reassociation(groups), [], list(rt.shape)).result


def _reassociation(groups: list[list[int]]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])


def _is_graph(fn) -> bool:
    return "fuseflow.order" in fn.attributes


def _value_name(v: ir.Value) -> str:
    """A short name without printing (``Value.get_name`` verifies and prints the whole
    function each time): ``%argN`` for a function argument, else the producing op's name."""
    if isinstance(v, ir.BlockArgument):
        return f"%arg{v.arg_number}"
    if isinstance(v, ir.OpResult):
        return op_name(v.owner).split(".")[-1]
    return "?"
