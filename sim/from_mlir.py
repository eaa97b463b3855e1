"""Read sam-dialect MLIR into the simulator's compact ``Graph``.

Each ``func.func`` holding ``sam`` ops becomes one region (module order). Its tensor arguments
are the graph inputs, named ``arg0``, ``arg1``, ... (bind by these names or by position); level
formats and mode order come from the ``#sparse_tensor.encoding`` (a tensor without encoding is
all-dense; a BSR encoding ``(d0 floordiv B, d1 floordiv B, d0 mod B, d1 mod B)`` gives a blocked
input whose values are B x B tiles). Its results are the outputs, named ``out`` (one result) or
``out0``, ``out1``, ... In a multi-function module, region r+1 reads region r's outputs when its
argument count matches (argument k <- output k).

    func.func @spmv(%arg0: tensor<4x5xf32, #CSR>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
      %0 = "sam.root"() : () -> !sam.ref<index>
      %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} ...
      ...
    }
"""

from __future__ import annotations

from pathlib import Path

from fuseflow.errors import FuseflowError
from fuseflow.files import read_text
from fuseflow.sim.graph import Graph, GraphBuilder, GraphSequence, GraphTensor
from fuseflow.sim.primitives import BY_OP, LEVEL_LETTERS, Kind, Reader, Writer

# sparse_tensor level-type bits: the format in the high half, properties in the low one
_DENSE, _COMPRESSED, _SINGLETON = 65536, 262144, 524288
_NONUNIQUE = 0x1
# format -> (letter if nonunique, letter if unique); see tensors.py for the level formats
_LEVEL_LETTERS = {_DENSE: ("d", "d"), _COMPRESSED: ("n", "c"), _SINGLETON: ("t", "s")}


def _bindings():
    from fuseflow.bindings import ir, sparse_tensor
    from fuseflow.dialects import sam_graph

    return ir, sparse_tensor, sam_graph


def tensor_spec(name: str, ty, *, what: str) -> GraphTensor:
    """Format, mode order, shape and block of a (possibly sparse) ranked tensor type."""
    ir, st, _ = _bindings()
    from fuseflow.dialects.sam_types import block_layout
    try:
        rt = ir.RankedTensorType(ty)
    except (ValueError, TypeError):
        raise FuseflowError(f"{what}: expected a ranked tensor, got {ty}") from None
    shape = tuple(int(s) for s in rt.shape)
    if any(s < 0 for s in shape):
        raise FuseflowError(f"{what}: dynamic shapes are not supported ({ty})")
    if rt.encoding is None:
        return GraphTensor(name, "d" * len(shape), tuple(range(len(shape))), shape, 0)
    enc = st.EncodingAttr(rt.encoding)
    fmts = []
    for code, lt in zip(enc.lvl_formats_enum, enc.lvl_types, strict=True):
        if int(code) not in _LEVEL_LETTERS:
            raise FuseflowError(f"{what}: only dense, compressed and singleton levels are supported ({ty})")
        nonunique, plain = _LEVEL_LETTERS[int(code)]
        fmts.append(nonunique if int(lt) & _NONUNIQUE else plain)
    exprs = [str(r).replace(" ", "") for r in enc.dim_to_lvl.results]
    if all(e.startswith("d") and e[1:].isdigit() for e in exprs):
        return GraphTensor(name, "".join(fmts), tuple(int(e[1:]) for e in exprs), shape, 0)
    rank = len(shape)
    bad_block = f"{what}: blocked encodings need one square block size and dense inner levels ({ty})"
    try:
        blocked = block_layout(rt)
    except ValueError:
        raise FuseflowError(bad_block) from None
    if blocked is not None:
        if any(f != "d" for f in fmts[rank:]):
            raise FuseflowError(bad_block)
        return GraphTensor(name, "".join(fmts[:rank]), tuple(blocked.dims), shape, blocked.size, blocked.batch)
    raise FuseflowError(f"{what}: unsupported level map {enc.dim_to_lvl} ({ty})")


def load_program(source, ctx=None) -> GraphSequence:
    """``source``: an ``ir.Module``, MLIR text, or a path to a ``.mlir`` file."""
    ir, _, sam_graph = _bindings()
    if isinstance(source, (str, Path)) and (isinstance(source, Path) or "\n" not in source and Path(source).suffix == ".mlir"):
        source = read_text(Path(source), "input IR")
    if isinstance(source, str):
        from fuseflow.context import make_context, parse_module

        module = parse_module(source, ctx or make_context())
    elif isinstance(source, ir.Module):
        module = source
    else:
        raise FuseflowError(f"cannot simulate a {type(source).__name__}: pass a Graph, GraphSequence, MLIR module, text or path")
    funcs = sam_graph.sam_functions(module)
    if not funcs:
        raise FuseflowError("the module holds no func.func with sam ops")
    regions = [graph_from_func(f, region=r) for r, f in enumerate(funcs)]
    for prev, nxt in zip(regions, regions[1:], strict=False):
        if len(prev.outputs) == len(nxt.inputs):
            for spec, out in zip(nxt.inputs, prev.outputs, strict=True):
                spec.name = out.name
    return GraphSequence(regions)


def graph_from_func(sg, region: int = 0) -> Graph:
    """One ``SamGraph`` (``fuseflow.dialects.sam_graph``) -> ``Graph``; an op's
    ``fuseflow.lane`` (set by ``sam-parallelize``) becomes its node's ``lane``."""
    ir, _, _ = _bindings()
    from fuseflow.passes.sam_parallelize import LANE_ATTR
    b = GraphBuilder(sg.name)
    values: dict = {}
    tensor_ids: dict = {}
    src_of = {(e.dst, e.dst_operand): (e.src, e.src_result) for e in sg.edges}
    for k, arg in enumerate(sg.args):
        spec = tensor_spec(f"arg{k}", arg.type, what=f"@{sg.name} argument {k}")
        tensor_ids[(k, 0)] = b.input(spec.name, spec.format, spec.order, spec.block, spec.batch)
        b.inputs[-1].shape = spec.shape
    sized: dict = {}  # (consumer node, producer node, port) -> compiler depth
    n_results = len(sg.ops[-1].operands) if sg.ops and sg.ops[-1].name == "func.return" else 0
    outputs: dict = {}
    lanes: dict[str, str] = {}  # node name -> lane tag
    for idx, op in enumerate(sg.ops):
        name = op.name
        where = f"@{sg.name} op #{idx} ({name})"
        attrs = op.attributes
        node = len(sg.args) + idx
        ops = [src_of[(node, k)] for k in range(len(op.operands))]
        res = [(node, r) for r in range(len(op.results))]
        nm = f"{name.split('.')[-1]}{idx}"
        if LANE_ATTR in attrs:
            lanes[nm] = ir.StringAttr(attrs[LANE_ATTR]).value
        r = Reader(b, values, tensor_ids, ops, attrs, nm, where)
        if name == "sam.output":  # built with the writers it takes (read as pending Writers)
            outputs[res[0]] = (op, [values.get(v) for v in ops], where)
            continue
        if name == "func.return":
            for k, v in enumerate(ops):
                if v not in outputs:
                    raise FuseflowError(f"@{sg.name}: result {k} is not produced by sam.output")
                _emit_output(b, "out" if n_results == 1 else f"out{k}", *outputs[v])
            continue
        if name not in BY_OP:
            raise FuseflowError(f"{where}: unsupported op {name}")
        out = BY_OP[name].read(r, op)
        if len(out) != len(res):
            raise FuseflowError(f"{where}: expected {len(out)} results, found {len(res)}")
        for key, st in zip(res, out, strict=True):
            values[key] = st
        if "fuseflow.buffers" in attrs and not isinstance(out[0], Writer):
            depths = list(ir.DenseI64ArrayAttr(attrs["fuseflow.buffers"]))
            for k, d in enumerate(depths):
                if d > 0 and k < len(ops) and ops[k] in values:
                    sized[(out[0].node, values[ops[k]].node, values[ops[k]].port)] = int(d)
    g = b.build()
    for f, (p, pp, c, _) in enumerate(g.fifo_ends):
        d = sized.get((c, p, pp))
        if d:
            g.buffers[f] = max(g.buffers.get(f, 0), d)
    for n in g.nodes:
        n.region = region
        n.lane = lanes.get(n.name, "")
    return g


def _emit_output(b: GraphBuilder, name: str, op, handles, where: str) -> None:
    spec = tensor_spec(name, op.results[0].type, what=where)
    if not all(isinstance(h, Writer) for h in handles):
        raise FuseflowError(f"{where}: operands must be fiber_write / val_write results")
    oid = b.output(name, spec.format, spec.shape, spec.order, spec.block, spec.batch)
    for h in handles:
        if h.kind == Kind.FIBER_WRITE:
            level, fmt = h.level, h.format
            if level >= len(spec.format) or fmt not in ("dense", "compressed") or spec.format[level] != LEVEL_LETTERS[fmt][0]:
                raise FuseflowError(f"{where}: fiber_write of level {level} ({fmt}) does not match {spec.format!r}")
            b.fiber_write(h.stream, oid, level, name=h.name)
        else:
            b.val_write(h.stream, oid, name=h.name)
