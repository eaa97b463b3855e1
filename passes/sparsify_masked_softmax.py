"""fuseflow-sparsify-masked-softmax: softmax over a sparse mask's stored entries only."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.frontend.formats import Format, Level, format_from_encoding, levels_name
from fuseflow.passes.body_analysis import body_ops, float_constant
from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs, splice_function, users
from fuseflow.passes.lowering.region import has_sparse_level
from fuseflow.passes.pass_base import ModulePass, PassFailure
from fuseflow.passes.recognize_kernels import GROUP, KIND, PATTERN, ROLE
from fuseflow.passes.registry import register

_ROLES = ("mask", "select", "max", "sub", "exp", "sum", "div")

# The canonical stored-entries softmax. {S}: dense scores type, {M}: mask type, {P}: sparse
# result type (the mask's encoding, with dense leading levels for broadcast dimensions),
# {R}: row type (scores without the last dimension), maps as affine_map text. Bodies define
# their own constants: only top-level operands are remapped when the ops are cloned in.
_TEMPLATE = """
func.func @masked_softmax(%s: {S}, %m: {M}) -> {P} {{
  %minf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %e0 = tensor.empty() : {P}
  %sampled = linalg.generic {{indexing_maps = [{ID}, {MM}, {ID}], iterator_types = [{PAR}]}}
      ins(%s, %m : {S}, {M}) outs(%e0 : {P})
      attrs = {{fuseflow.kind = "sample", fuseflow.role = "sample"}} {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = sparse_tensor.binary %a, %b : f32, f32 to f32
      overlap = {{ ^bb0(%x: f32, %y: f32): sparse_tensor.yield %x : f32 }}
      left = {{}}
      right = {RIGHT}
    linalg.yield %r : f32
  }} -> {P}
  %er = tensor.empty() : {R}
  %fmax = linalg.fill ins(%minf : f32) outs(%er : {R}) -> {R}
  %max = linalg.generic {{indexing_maps = [{ID}, {ROW}], iterator_types = [{RED}]}}
      ins(%sampled : {P}) outs(%fmax : {R}) attrs = {{fuseflow.kind = "max", fuseflow.role = "max"}} {{
  ^bb0(%a: f32, %acc: f32):
    %minf_in = arith.constant 0xFF800000 : f32
    %r = sparse_tensor.reduce %a, %acc, %minf_in : f32 {{
      ^bb0(%x: f32, %y: f32):
        %q = arith.maximumf %x, %y : f32
        sparse_tensor.yield %q : f32
    }}
    linalg.yield %r : f32
  }} -> {R}
  %e1 = tensor.empty() : {P}
  %exp = linalg.generic {{indexing_maps = [{ID}, {ROW}, {ID}], iterator_types = [{PAR}]}}
      ins(%sampled, %max : {P}, {R}) outs(%e1 : {P})
      attrs = {{fuseflow.kind = "exp", fuseflow.role = "exp"}} {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = sparse_tensor.unary %a : f32 to f32
      present = {{ ^bb0(%x: f32):
        %d = arith.subf %x, %b : f32
        %q = math.exp %d : f32
        sparse_tensor.yield %q : f32 }}
      absent = {{}}
    linalg.yield %r : f32
  }} -> {P}
  %fsum = linalg.fill ins(%zero : f32) outs(%er : {R}) -> {R}
  %sum = linalg.generic {{indexing_maps = [{ID}, {ROW}], iterator_types = [{RED}]}}
      ins(%exp : {P}) outs(%fsum : {R}) attrs = {{fuseflow.kind = "sum", fuseflow.role = "sum"}} {{
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }} -> {R}
  %e2 = tensor.empty() : {P}
  %div = linalg.generic {{indexing_maps = [{ID}, {ROW}, {ID}], iterator_types = [{PAR}]}}
      ins(%exp, %sum : {P}, {R}) outs(%e2 : {P})
      attrs = {{fuseflow.kind = "div", fuseflow.role = "div"}} {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = sparse_tensor.unary %a : f32 to f32
      present = {{ ^bb0(%x: f32):
        %q = arith.divf %x, %b : f32
        sparse_tensor.yield %q : f32 }}
      absent = {{}}
    linalg.yield %r : f32
  }} -> {P}
  return %div : {P}
}}
"""


def _affine(n: int, dims: list[int]) -> str:
    all_dims = ", ".join(f"d{i}" for i in range(n))
    return f"affine_map<({all_dims}) -> ({', '.join(f'd{i}' for i in dims)})>"


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


def _is_masked_fill(cmp: ir.Operation, sel: ir.Operation) -> tuple[ir.Value, ir.Value] | None:
    """``(scores, mask)`` when ``sel`` is ``select(mask == 0, -inf, scores)`` (or the
    ``mask != 0`` / swapped form), else None."""
    ops = body_ops(cmp)
    if len(ops) != 1 or op_name(ops[0]) != "arith.cmpf":
        return None
    block = cmp.regions[0].blocks[0]
    a, b = ops[0].operands
    if not (a == block.arguments[0] and float_constant(b) == 0.0):
        return None
    # CmpFPredicate codes: 1 = oeq, 8 = ueq (mask == 0); 6 = one, 13 = une (mask != 0).
    code = ir.IntegerAttr(ops[0].attributes["predicate"]).value
    if code not in (1, 8, 6, 13):
        return None
    eq = code in (1, 8)
    sops = body_ops(sel)
    if len(sops) != 1 or op_name(sops[0]) != "arith.select" or num_inputs(sel) != 3:
        return None
    sblock = sel.regions[0].blocks[0]
    cond, t, f = sops[0].operands
    if cond != sblock.arguments[0] or sel.operands[0] != cmp.results[0]:
        return None
    fill_pos, keep_pos = (1, 2) if eq else (2, 1)
    fill_arg, keep_arg = (t, f) if eq else (f, t)
    if fill_arg != sblock.arguments[fill_pos] or keep_arg != sblock.arguments[keep_pos]:
        return None
    if _neg_inf(sel.operands[fill_pos]) is not True:
        return None
    if any(m != ir.AffineMap.get_identity(m.n_dims) for m in indexing_maps(cmp)):
        return None  # the compare must be elementwise on the mask
    if indexing_maps(sel)[keep_pos] != ir.AffineMap.get_identity(indexing_maps(sel)[keep_pos].n_dims):
        return None
    return sel.operands[keep_pos], cmp.operands[0]


def _neg_inf(v: ir.Value) -> bool:
    c = float_constant(v)
    if c is not None:
        return c == float("-inf")
    if isinstance(v, ir.OpResult) and op_name(v.owner.operation) == "arith.constant":
        try:
            dense = ir.DenseFPElementsAttr(v.owner.operation.attributes["value"])
            return dense.is_splat and ir.FloatAttr(dense.get_splat_value()).value == float("-inf")
        except (ValueError, TypeError):
            return False
    return False


@register
class SparsifyMaskedSoftmaxPass(ModulePass):
    """Rewrite a masked softmax into a softmax over the sparse mask's stored entries.

    Matches a `fuseflow.pattern = "masked_softmax"` group of `fuseflow-recognize-kernels`
    (PyTorch's `softmax(scores.masked_fill(M == 0, -inf))` with M sparse, imported densely by
    torch-mlir) and replaces it with five generics over a sparse tensor that has M's sparsity
    (M's encoding; broadcast leading dimensions, e.g. attention heads, become dense levels):

      sample: `sparse_tensor.binary` keeping scores where M stores an entry (SDDMM-like);
      max:    `sparse_tensor.reduce` with `maximumf` from -inf, over stored entries only;
      exp:    `sparse_tensor.unary` present={exp(x - max)} absent={} (absent stays absent);
      sum:    `addf` reduction (absent entries are zeros);
      div:    `sparse_tensor.unary` present={x / sum} absent={}.

    The result is sparse with that encoding; linalg users read it as is, others through a
    `sparse_tensor.convert`. Entries absent from M are -inf in PyTorch and get probability 0
    there, so the result equals PyTorch's whenever every row stores at least one entry, and
    rows never densify. Stored entries of M whose value is 0 count as stored here.
    Preconditions: `fuseflow-recognize-kernels` ran; f32 scores; softmax over the last
    dimension; M read through the identity or a trailing-dimensions map.
    Guarantees: the matched ops are gone; the new ops carry `fuseflow.kind`,
    `fuseflow.pattern = "masked_softmax"`, the group's id and roles sample/max/exp/sum/div.
    Options: none.
    """

    name = "fuseflow-sparsify-masked-softmax"

    def run(self, module: ir.Operation) -> None:
        groups: dict[int, dict[str, ir.Operation]] = {}

        def visit(op):
            attrs = op.attributes
            if PATTERN in attrs and ir.StringAttr(attrs[PATTERN]).value == "masked_softmax":
                role = ir.StringAttr(attrs[ROLE]).value
                if role in _ROLES:
                    groups.setdefault(ir.IntegerAttr(attrs[GROUP]).value, {})[role] = op.operation
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for gid, ops in sorted(groups.items()):
            if set(ops) == set(_ROLES):
                self._rewrite(module, gid, ops)

    def _rewrite(self, module: ir.Operation, gid: int, ops: dict[str, ir.Operation]) -> None:
        found = _is_masked_fill(ops["mask"], ops["select"])
        if found is None:
            return
        scores, mask = found
        sel = ops["select"]
        st = ir.RankedTensorType(scores.type)
        mt = ir.RankedTensorType(mask.type)
        if str(st.element_type) != "f32" or str(mt.element_type) != "f32":
            return
        if not (st.has_static_shape and mt.has_static_shape) or st.rank < 2:
            return
        r, k = st.rank, mt.rank
        mask_map = indexing_maps(sel)[0]
        expected = ir.AffineMap.get(r, 0, [ir.AffineDimExpr.get(i) for i in range(r - k, r)])
        if mask_map != expected or list(st.shape[r - k:]) != list(mt.shape):
            return
        menc = encoding(mt)
        if r == k:
            penc = str(mt.encoding)
        else:
            mfmt = format_from_encoding(str(mt.encoding))
            levels = tuple(Level(d, "dense") for d in range(r - k)) + tuple(
                Level(lv.dim + r - k, lv.kind, lv.block, lv.offset) for lv in mfmt.levels_for(k)
            )
            penc = Format(levels_name(levels), levels).encoding_text(r, menc.pos_width, menc.crd_width)
        ptype = f"tensor<{_shape_text(st.shape)}xf32, {penc}>"
        rtype = f"tensor<{_shape_text(st.shape[:-1])}xf32>"
        # Where M stores an entry that sparse scores do not, PyTorch's score is 0 (an implicit
        # zero, not -inf): the sample keeps it as 0. Dense scores (a column-major layout
        # included) store everything.
        right = "{ ^bb0(%y: f32): %z = arith.constant 0.000000e+00 : f32\n sparse_tensor.yield %z : f32 }" \
            if has_sparse_level(st) else "{}"
        text = _TEMPLATE.format(
            S=str(st), M=str(mt), P=ptype, R=rtype, RIGHT=right,
            ID=_affine(r, list(range(r))), MM=_affine(r, list(range(r - k, r))),
            ROW=_affine(r, list(range(r - 1))),
            PAR=", ".join(['"parallel"'] * r),
            RED=", ".join(['"parallel"'] * (r - 1) + ['"reduction"']),
        )
        try:
            (result,), cloned = splice_function(text, [scores, mask], sel, module.context)
        except Exception as e:  # a shape this template does not cover: leave the IR as is
            raise PassFailure(f"cannot build the stored-entries softmax: {e}", sel.location) from None
        for op in cloned:
            if KIND in op.attributes:
                op.attributes[PATTERN] = ir.StringAttr.get("masked_softmax")
                op.attributes[GROUP] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), gid)
        self._replace(ops["div"], result)
        for role in reversed(_ROLES):
            self._erase_dead(ops[role])

    def _replace(self, div: ir.Operation, sparse: ir.Value) -> None:
        dense_type = div.results[0].type
        for user in users(div.results[0]):
            target = sparse
            if not op_name(user).startswith("linalg."):
                with ir.InsertionPoint(user), user.location:
                    conv = ir.Operation.create("sparse_tensor.convert", results=[dense_type],
                                               operands=[sparse])
                target = conv.results[0]
            for i, v in enumerate(user.operands):
                if v == div.results[0]:
                    user.operands[i] = target

    def _erase_dead(self, op: ir.Operation) -> None:
        if not op.attached or any(True for r in op.results for _ in r.uses):
            return
        inputs = list(op.operands)
        op.erase()
        for v in inputs:  # the reshapes, fills and empties that only fed it
            p = v.owner.operation if isinstance(v, ir.OpResult) else None
            if p is not None and op_name(p) in ("tensor.expand_shape", "tensor.collapse_shape",
                                                "linalg.fill", "tensor.empty"):
                self._erase_dead(p)
