"""The ``sam`` dialect: Sparse Abstract Machine dataflow graphs (types, attributes, ops).

The lowering passes build it and the simulator reads it; the primitive semantics are those of
SAM_SEMANTICS.md sections 1, 2 and 5, the exact op signatures are in docs/sam_dialect.md. The
dialect is defined with IRDL from Python, so only the generic assembly form exists::

    %crd, %ref = "sam.fiber_lookup"(%A, %root) {format = "compressed", index = "j", level = 1 : i64}
        : (tensor<4x4xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)

Every Context made by ``fuseflow.context.make_context()`` has the dialect loaded (once); the
loader is ``load``. The checked-in IRDL snapshot ``dialects/sam.irdl.mlir`` is regenerated with
``python -m fuseflow.dialects.sam_irdl > dialects/sam.irdl.mlir``.
"""


from collections.abc import Sequence

from fuseflow import context as _context
from fuseflow.bindings import ext, ir
from fuseflow.dialects.sam_types import (  # noqa: F401  (the dialect's types, re-exported)
    BINARY_ALU_KINDS,
    MATMUL_KINDS,
    STREAM_KINDS,
    TILE_ONLY_KINDS,
    UNARY_ALU_KINDS,
    AluKind,
    CrdType,
    LevelFormat,
    LevelType,
    ReduceKind,
    RefType,
    RepsigType,
    Sam,
    ValType,
    ValuesType,
    crd_type,
    level_size,
    level_type,
    ref_type,
    repsig_type,
    stream_kind,
    tensor_level_formats,
    tile_shape,
    type_kind,
    val_elem_type,
    val_type,
    values_type,
)

Operand = ext.Operand
Result = ext.Result
Pure = ext.Pure


# ----------------------------------------------------------------------------------------------
# Attribute builders (the ops' ``make``)


def _str(value: str) -> ir.StringAttr:
    return ir.StringAttr.get(str(value))


def _i64(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def _fmt(value) -> str:
    return value.value if isinstance(value, LevelFormat) else str(value)


# ----------------------------------------------------------------------------------------------
# Verification helpers


class VerifyError(Exception):
    """Raised inside a verifier; turned into an error diagnostic on the op."""


def _kind(value: ir.Value) -> str | None:
    return type_kind(value.type)


def _expect(value: ir.Value, what: str, *kinds: str) -> None:
    got = _kind(value)
    if got not in kinds:
        want = " or ".join(f"!sam.{k}" for k in kinds)
        raise VerifyError(f"{what} must be a {want} stream, got {value.type}")
    if got in ("crd", "ref") and str(value.type) != f"!sam.{got}<index>":
        raise VerifyError(f"{what}: a {got} stream's element type is index, got {value.type}")


def _attr_str(op, name: str) -> str:
    attrs = op.operation.attributes
    if name not in attrs or not isinstance(attrs[name], ir.StringAttr):
        raise VerifyError(f"requires string attribute '{name}'")
    return ir.StringAttr(attrs[name]).value


def _attr_int(op, name: str) -> int:
    attrs = op.operation.attributes
    if name not in attrs or not isinstance(attrs[name], ir.IntegerAttr):
        raise VerifyError(f"requires integer attribute '{name}'")
    return ir.IntegerAttr(attrs[name]).value


def _enum(op, name: str, cls):
    value = _attr_str(op, name)
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise VerifyError(f"'{name}' must be one of {allowed}; got \"{value}\"") from None


def _index(op) -> str:
    name = _attr_str(op, "index")
    if not name:
        raise VerifyError("'index' must be a non-empty index variable name")
    return name


def _same_type(a: ir.Value, b: ir.Value, what: str) -> None:
    if a.type != b.type:
        raise VerifyError(f"{what}: {a.type} vs {b.type}")


def _check_tensor_level(tensor: ir.Value, level: int, fmt: LevelFormat) -> list[LevelFormat]:
    try:
        formats = tensor_level_formats(tensor.type)
    except ValueError as e:
        raise VerifyError(f"tensor operand: {e}") from None
    if formats is None:
        raise VerifyError(f"tensor operand must be a ranked tensor, got {tensor.type}")
    if not 0 <= level < len(formats):
        raise VerifyError(f"level {level} is outside the tensor's {len(formats)} storage levels")
    if formats[level] != fmt:
        raise VerifyError(
            f"format \"{fmt.value}\" contradicts the tensor encoding (level {level} is {formats[level].value})"
        )
    return formats


class LoopNestError(ValueError):
    """A graph whose streams are wired across mismatched loop nests (e.g. a missing repeat)."""


def _mismatch(op, message: str):
    raise LoopNestError(f"{op.operation.name}: {message}")


def _same_nest(op, nests, what: str):
    if any(n != nests[0] for n in nests):
        _mismatch(op, f"{what} are in different loop nests: " + " vs ".join(str(n) for n in nests))
    return nests[0]


class SamOp(Sam.Operation):
    """Shared verifier plumbing (every op class defines ``check()``, raising ``VerifyError``) and
    the facts the graph analyses read from each op (defaults here, overridden per op):

    - ``loop_nest(ins, alias)``: the loop nest (tuple of index variables) of each result from
      those of the operands (None for non-streams); raises ``LoopNestError`` on a mis-wiring
      (``sam_graph.loop_nests``);
    - ``crd_bound(n, bound)``: an exclusive bound on the coordinates of crd result ``n``, or None
      (``bound(value)`` gives an operand's; ``sam-iterate-locate``);
    - ``may_carry_empty(n, may)``: whether result ``n`` may carry ``N`` tokens (``may(value)``
      for an operand's; ``sam-dedup-streams``).
    """

    def loop_nest(self, ins: list, alias: dict[str, str]) -> list:
        return [None] * len(self.operation.results)

    def crd_bound(self, n: int, bound) -> int | None:
        return None

    def may_carry_empty(self, n: int, may) -> bool:
        return True

    def structure(self, node: int, of, unite) -> list:
        """A structure id per result (``sam-parallelize``'s lane balance): streams with equal ids
        carry data and stop tokens at the same positions. ``of(value)``: an operand's id;
        ``unite(ids)``: one id for streams known to agree. By default each result is new."""
        return [("new", node, r) for r in range(len(self.operation.results))]

    def _index_var(self, alias: dict[str, str]) -> str:
        index = _attr_str(self, "index")
        return alias.get(index, index)

    def _check_segments(self) -> None:
        op = self.operation
        for attr, spec, values in (("operandSegmentSizes", self._ODS_OPERAND_SEGMENTS, op.operands),
                                   ("resultSegmentSizes", self._ODS_RESULT_SEGMENTS, op.results)):
            if spec is None:
                continue
            if attr not in op.attributes:
                raise VerifyError(f"requires '{attr}' (one entry per group: {len(spec)} entries)")
            sizes = list(ir.DenseI32ArrayAttr(op.attributes[attr]))
            if len(sizes) != len(spec) or sum(sizes) != len(values) or any(n < 0 for n in sizes):
                raise VerifyError(f"'{attr}' {sizes} does not split {len(values)} values into {len(spec)} groups")
            for size, want in zip(sizes, spec, strict=True):
                if want == 1 and size != 1:
                    raise VerifyError(f"'{attr}' {sizes} gives {size} values to a single-value group")

    def verify_invariants(self) -> bool:
        try:
            self._check_segments()
            self.check()
        except VerifyError as e:
            self.location.emit_error(f"'{self.operation.name}' op {e}")
            return False
        except Exception as e:  # noqa: BLE001  (a verifier must report, never raise)
            # Structure the checks above do not anticipate: report it, never crash the caller.
            self.location.emit_error(f"'{self.operation.name}' op is malformed: {e}")
            return False
        return True


# ----------------------------------------------------------------------------------------------
# Operations


class RootOp(SamOp, name="root", traits=[Pure]):
    """Root generator: emits ``0, D`` on a ref stream.

    ``%r = "sam.root"() : () -> !sam.ref<index>``
    """

    out_ref: Result[RefType]

    @classmethod
    def make(cls, b) -> ir.Value:
        return cls(ref_type(), **b.kw()).out_ref

    def check(self) -> None:
        _expect(self.out_ref, "result", "ref")

    def loop_nest(self, ins, alias):
        return [()]

    def structure(self, node, of, unite):
        return ["root"]

    def may_carry_empty(self, n, may):
        return False


class FiberLookupOp(SamOp, name="fiber_lookup", traits=[Pure]):
    """Level scanner: for each input ref, the (crd, ref) pairs of that fiber of level ``level``.

    ``%c, %r = "sam.fiber_lookup"(%A, %ref) {format = "compressed", index = "j", level = 1 : i64}
    : (tensor<4x4xf32, #csr>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)``
    """

    tensor: Operand[ir.RankedTensorType]
    in_ref: Operand[RefType]
    level: ir.IntegerAttr
    format: ir.StringAttr
    index: ir.StringAttr
    out_crd: Result[CrdType]
    out_ref: Result[RefType]

    @classmethod
    def make(cls, b, tensor: ir.Value, ref: ir.Value, level: int, fmt, index: str) -> tuple[ir.Value, ir.Value]:
        op = cls(tensor, ref, _i64(level), _str(_fmt(fmt)), _str(index), crd_type(), ref_type(), **b.kw())
        return op.out_crd, op.out_ref

    def check(self) -> None:
        _expect(self.in_ref, "input ref", "ref")
        _expect(self.out_crd, "first result", "crd")
        _expect(self.out_ref, "second result", "ref")
        _index(self)
        _check_tensor_level(self.tensor, _attr_int(self, "level"), _enum(self, "format", LevelFormat))

    def loop_nest(self, ins, alias):
        return [ins[1] + (self._index_var(alias),)] * 2

    def crd_bound(self, n, bound):
        return level_size(self.tensor.type, _attr_int(self, "level"))

    def may_carry_empty(self, n, may):
        return may(self.in_ref)

    def structure(self, node, of, unite):
        if _attr_str(self, "format") == LevelFormat.DENSE:  # a dense scan: its parent's, by size
            return [("dense", level_size(self.tensor.type, _attr_int(self, "level")), of(self.in_ref))] * 2
        return [("scan", node)] * 2


class LocateOp(SamOp, name="locate", traits=[Pure]):
    """Locator: iterate one operand (``in_crd``, ``in_ref``) and look each coordinate up in the
    dense level ``level`` of ``tensor`` under the located level's parent ref ``parent_ref``.
    Results: the iterated payload passed through, the located ref, the coordinate.

    ``%r, %l, %c = "sam.locate"(%B, %crd, %ref, %parent) {format = "dense", index = "j",
    level = 1 : i64} : (tensor<4x4xf32>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
    -> (!sam.ref<index>, !sam.ref<index>, !sam.crd<index>)``
    """

    tensor: Operand[ir.RankedTensorType]
    in_crd: Operand[CrdType]
    in_ref: Operand[RefType | ValType]
    parent_ref: Operand[RefType]
    level: ir.IntegerAttr
    format: ir.StringAttr
    index: ir.StringAttr
    out_ref: Result[RefType | ValType]
    out_located: Result[RefType]
    out_crd: Result[CrdType]

    @classmethod
    def make(cls, b, tensor: ir.Value, crd: ir.Value, payload: ir.Value, parent_ref: ir.Value, level: int,
             index: str) -> tuple[ir.Value, ir.Value, ir.Value]:
        """(passed-through payload, located ref, crd) for a dense level of ``tensor``."""
        op = cls(tensor, crd, payload, parent_ref, _i64(level), _str("dense"), _str(index), payload.type, ref_type(),
                 crd_type(), **b.kw())
        return op.out_ref, op.out_located, op.out_crd

    def check(self) -> None:
        _expect(self.in_crd, "iterated crd", "crd")
        _expect(self.in_ref, "iterated payload", "ref", "val")
        _expect(self.parent_ref, "parent ref", "ref")
        _same_type(self.in_ref, self.out_ref, "passed-through payload type differs")
        _expect(self.out_located, "located result", "ref")
        _expect(self.out_crd, "crd result", "crd")
        _index(self)
        fmt = _enum(self, "format", LevelFormat)
        if fmt != LevelFormat.DENSE:
            raise VerifyError(f"can only locate into a dense level, got \"{fmt.value}\"")
        _check_tensor_level(self.tensor, _attr_int(self, "level"), fmt)

    def loop_nest(self, ins, alias):
        crd, payload, parent = ins[1], ins[2], ins[3]
        _same_nest(self, [crd, payload], "iterated crd and payload")
        if parent != crd[:-1]:
            _mismatch(self, f"parent ref nest {parent} is not one loop outside the iterated {crd}")
        return [crd] * 3

    def crd_bound(self, n, bound):
        return bound(self.in_crd)

    def may_carry_empty(self, n, may):
        if n == 0:
            return may(self.in_ref)
        if n == 1:
            return may(self.in_crd) or may(self.parent_ref)
        return may(self.in_crd)

    def structure(self, node, of, unite):
        return [of(self.in_crd)] * 3


class _JoinerOp(SamOp):
    """Shared shape of intersect and union.

    IRDL gives every value of one variadic group the same type, so the payloads are two groups:
    ``ref_payloads`` then ``val_payloads``; together (``payloads``, refs first) they pair with
    ``crds`` by position, and the results mirror them (``out_payloads``).
    """

    @property
    def payloads(self) -> list[ir.Value]:
        return list(self.ref_payloads) + list(self.val_payloads)

    @property
    def out_payloads(self) -> list[ir.Value]:
        return list(self.out_ref_payloads) + list(self.out_val_payloads)

    @classmethod
    def make(cls, b, crds: Sequence[ir.Value], payloads: Sequence[ir.Value], index: str):
        """(crd, [payloads]); payloads are ref or val streams in any order (the op stores refs
        first, crds reordered alike; the result follows ``payloads``)."""
        crds, payloads = list(crds), list(payloads)
        if len(crds) != len(payloads):
            raise ValueError(f"{len(crds)} crd streams but {len(payloads)} payloads")
        kinds = [stream_kind(p) for p in payloads]
        order = [i for i, k in enumerate(kinds) if k != "val"] + [i for i, k in enumerate(kinds) if k == "val"]
        refs = [payloads[i] for i in order if kinds[i] != "val"]
        vals = [payloads[i] for i in order if kinds[i] == "val"]
        op = cls([crds[i] for i in order], refs, vals, _str(index), crd_type(), [p.type for p in refs],
                 [p.type for p in vals], **b.kw())
        outs = op.out_payloads
        result = [None] * len(payloads)
        for pos, i in enumerate(order):
            result[i] = outs[pos]
        return op.out_crd, result

    def check(self) -> None:
        crds = list(self.crds)
        refs, vals = list(self.ref_payloads), list(self.val_payloads)
        out_refs, out_vals = list(self.out_ref_payloads), list(self.out_val_payloads)
        for i, c in enumerate(crds):
            _expect(c, f"crd operand #{i}", "crd")
        for i, p in enumerate(refs):
            _expect(p, f"ref payload operand #{i}", "ref")
        for i, p in enumerate(vals):
            _expect(p, f"val payload operand #{i}", "val")
        _expect(self.out_crd, "crd result", "crd")
        if len(crds) < 2:
            raise VerifyError(f"needs at least 2 inputs, got {len(crds)}")
        if len(crds) != len(refs) + len(vals):
            raise VerifyError(f"has {len(crds)} crd operands but {len(refs) + len(vals)} payload operands")
        if (len(out_refs), len(out_vals)) != (len(refs), len(vals)):
            raise VerifyError(f"has {len(refs)} ref and {len(vals)} val payload operands but "
                              f"{len(out_refs)} ref and {len(out_vals)} val payload results")
        for i, (p, o) in enumerate(zip(refs + vals, out_refs + out_vals, strict=True)):
            _same_type(p, o, f"payload result #{i} type differs from its operand")
        _index(self)

    def loop_nest(self, ins, alias):
        nest = _same_nest(self, ins, "joined streams")
        index = self._index_var(alias)
        if not nest or nest[-1] != index:
            _mismatch(self, f"joins over \"{index}\" but its inputs' innermost loop is {nest[-1:] or 'none'}")
        return [nest] * len(self.operation.results)

    def structure(self, node, of, unite):
        ids = {of(c) for c in self.crds}
        return [ids.pop() if len(ids) == 1 else ("join", node)] * len(self.operation.results)


class IntersectOp(_JoinerOp, name="intersect", traits=[Pure]):
    """N-ary intersecter: coordinates present in every input, with each input's payload.

    ``%c, %r:2, %v = "sam.intersect"(%c0, %c1, %c2, %r0, %r1, %v2) {index = "j",
    operandSegmentSizes = array<i32: 3, 2, 1>, resultSegmentSizes = array<i32: 1, 2, 1>}
    : (!sam.crd<index>, !sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>,
    !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>,
    !sam.val<f32, array<i64>>)``
    """

    crds: Sequence[Operand[CrdType]]
    ref_payloads: Sequence[Operand[RefType]]
    val_payloads: Sequence[Operand[ValType]]
    index: ir.StringAttr
    out_crd: Result[CrdType]
    out_ref_payloads: Sequence[Result[RefType]]
    out_val_payloads: Sequence[Result[ValType]]

    def crd_bound(self, n, bound):
        known = [b for b in (bound(c) for c in self.crds) if b is not None]
        return min(known) if known else None

    def may_carry_empty(self, n, may):
        return n != 0 and may(self.payloads[n - 1])


class UnionOp(_JoinerOp, name="union", traits=[Pure]):
    """N-ary unioner: every coordinate present in some input; absent inputs get ``N`` payloads.

    ``%c, %r:2 = "sam.union"(%c0, %c1, %r0, %r1) {index = "j", operandSegmentSizes =
    array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>,
    !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>,
    !sam.ref<index>)``
    """

    crds: Sequence[Operand[CrdType]]
    ref_payloads: Sequence[Operand[RefType]]
    val_payloads: Sequence[Operand[ValType]]
    index: ir.StringAttr
    out_crd: Result[CrdType]
    out_ref_payloads: Sequence[Result[RefType]]
    out_val_payloads: Sequence[Result[ValType]]

    def crd_bound(self, n, bound):
        bounds = [bound(c) for c in self.crds]
        return None if None in bounds else max(bounds)

    def may_carry_empty(self, n, may):
        return n != 0


class RepeatSigGenOp(SamOp, name="repeat_sig_gen", traits=[Pure]):
    """Repeat-signal generator: data/``N`` -> ``R``, ``S_n`` -> ``S``, ``D`` -> ``D``.

    ``%s = "sam.repeat_sig_gen"(%crd) : (!sam.crd<index>) -> !sam.repsig``
    """

    in_stream: Operand[CrdType | RefType]
    out_sig: Result[RepsigType]

    @classmethod
    def make(cls, b, stream: ir.Value) -> ir.Value:
        return cls(stream, repsig_type(), **b.kw()).out_sig

    def check(self) -> None:
        _expect(self.in_stream, "input", "crd", "ref")
        _expect(self.out_sig, "result", "repsig")

    def loop_nest(self, ins, alias):
        return [ins[0]]

    def structure(self, node, of, unite):
        return [of(self.in_stream)]


class RepeatOp(SamOp, name="repeat", traits=[Pure]):
    """Repeater: re-emit each input token once per ``R`` of the repeat signal (broadcast).

    ``%r = "sam.repeat"(%ref, %sig) : (!sam.ref<index>, !sam.repsig) -> !sam.ref<index>``
    """

    in_stream: Operand[RefType | ValType]
    sig: Operand[RepsigType]
    out: Result[RefType | ValType]

    @classmethod
    def make(cls, b, stream: ir.Value, sig: ir.Value) -> ir.Value:
        """``stream`` repeated by signal ``sig`` (``SamBuilder.repeat`` makes the signal too)."""
        return cls(stream, sig, stream.type, **b.kw()).out

    def check(self) -> None:
        _expect(self.in_stream, "repeated input", "ref", "val")
        _expect(self.sig, "repeat signal", "repsig")
        _same_type(self.in_stream, self.out, "result type differs from the repeated input")

    def loop_nest(self, ins, alias):
        stream, sig = ins
        if stream != sig[:-1]:
            _mismatch(self, f"repeats a stream in {stream} over a signal in {sig} (needs the input one loop outside)")
        return [sig]

    def may_carry_empty(self, n, may):
        return may(self.in_stream)

    def structure(self, node, of, unite):
        return [of(self.sig)]


class ArrayOp(SamOp, name="array", traits=[Pure]):
    """Value load: ``vals[ref]`` (``N`` -> 0); a tiled result type loads B x B tiles from the
    tensor's trailing dense (in-block) levels. A tile of higher rank than the tensor's in-block
    levels repeats the block along its leading axes: a blocked vector read as B x B tiles whose
    rows are all that B-vector (a bias added to every row of a tile).

    ``%v = "sam.array"(%A, %ref) : (tensor<4x4xf32, #csr>, !sam.ref<index>) -> !sam.val<f32, array<i64>>``
    """

    tensor: Operand[ir.RankedTensorType]
    in_ref: Operand[RefType]
    out_val: Result[ValType]

    @classmethod
    def make(cls, b, tensor: ir.Value, ref: ir.Value, tile: Sequence[int] = ()) -> ir.Value:
        elem = ir.RankedTensorType(tensor.type).element_type
        return cls(tensor, ref, val_type(elem, tile), **b.kw()).out_val

    def check(self) -> None:
        _expect(self.in_ref, "input ref", "ref")
        _expect(self.out_val, "result", "val")
        try:
            formats = tensor_level_formats(self.tensor.type)
        except ValueError as e:
            raise VerifyError(f"tensor operand: {e}") from None
        if formats is None:
            raise VerifyError(f"tensor operand must be a ranked tensor, got {self.tensor.type}")
        elem = ir.RankedTensorType(self.tensor.type).element_type
        if val_elem_type(self.out_val.type) != elem:
            raise VerifyError(f"result element type {val_elem_type(self.out_val.type)} differs from the tensor's {elem}")
        tile = tile_shape(self.out_val.type)
        if any(t <= 0 for t in tile):
            raise VerifyError(f"tile shape must be positive, got {list(tile)}")
        if not tile:
            return
        in_block = len(formats) - ir.RankedTensorType(self.tensor.type).rank  # a blocked tensor's in-block levels
        if in_block <= 0:
            raise VerifyError(f"a {len(tile)}-d tile needs a blocked tensor, got {self.tensor.type}")
        if len(tile) < in_block:
            raise VerifyError(f"tile rank {len(tile)} is below the tensor's {in_block} in-block levels")
        if any(f != LevelFormat.DENSE for f in formats[-in_block:]):
            raise VerifyError(f"a tile needs the tensor's last {in_block} levels to be dense")

    def loop_nest(self, ins, alias):
        return [ins[1]]

    def structure(self, node, of, unite):
        return [of(self.in_ref)]


class AluOp(SamOp, name="alu", traits=[Pure]):
    """Arithmetic on value streams. Binary kinds take two operands, or one operand and a float
    ``scalar`` attribute (``x <kind> scalar``); unary kinds take one operand. On tile streams every
    kind is elementwise except the tile products: ``matmul`` (``a @ b``, an M x K and a K x N
    tile), ``matmul_nt`` (``a @ b^T``), ``matmul_tn`` (``a^T @ b``), ``matmul_tt`` (``a^T @ b^T``),
    ``transpose`` (of a square tile), and the in-tile reductions ``row_sum``/``row_max``/``row_min``
    (each row of a tile reduced, its statistic broadcast along the row) and
    ``col_sum``/``col_max``/``col_min`` (each column).

    ``%v = "sam.alu"(%a, %b) {kind = "mul", operandSegmentSizes = array<i32: 2>}
    : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>``
    ``%w = "sam.alu"(%a) {kind = "mul", operandSegmentSizes = array<i32: 1>, scalar = 2.0 : f32}
    : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>``
    """

    ins: Sequence[Operand[ValType]]
    kind: ir.StringAttr
    out_val: Result[ValType]

    @classmethod
    def make(cls, b, kind, *ins: ir.Value, scalar: float | None = None) -> ir.Value:
        kind = kind.value if isinstance(kind, AluKind) else str(kind)
        op = cls(list(ins), _str(kind), ins[0].type, **b.kw())
        if scalar is not None:
            op.operation.attributes["scalar"] = ir.FloatAttr.get(val_elem_type(ins[0].type), float(scalar))
        return op.out_val

    def check(self) -> None:
        ins = list(self.ins)
        for i, v in enumerate(ins):
            _expect(v, f"operand #{i}", "val")
        _expect(self.out_val, "result", "val")
        kind = _enum(self, "kind", AluKind)
        attrs = self.operation.attributes
        has_scalar = "scalar" in attrs
        if has_scalar and not isinstance(attrs["scalar"], ir.FloatAttr):
            raise VerifyError(f"'scalar' must be a float attribute, got {attrs['scalar']}")
        if kind in MATMUL_KINDS:
            self._check_matmul(kind, ins, has_scalar)
            return
        if kind in TILE_ONLY_KINDS and len(tile_shape(self.out_val.type)) != 2:
            raise VerifyError(f"kind \"{kind.value}\" works on 2-d tiles, got {self.out_val.type}")
        if kind.is_binary:
            want = 1 if has_scalar else 2
            if len(ins) != want:
                form = "with a 'scalar' attribute" if has_scalar else "without a 'scalar' attribute"
                raise VerifyError(f"binary kind \"{kind.value}\" {form} takes {want} operand(s), got {len(ins)}")
        else:
            if has_scalar:
                raise VerifyError(f"unary kind \"{kind.value}\" takes no 'scalar' attribute")
            if len(ins) != 1:
                raise VerifyError(f"unary kind \"{kind.value}\" takes 1 operand, got {len(ins)}")
        for i, v in enumerate(ins):
            _same_type(v, self.out_val, f"operand #{i} type differs from the result type")

    def loop_nest(self, ins, alias):
        return [_same_nest(self, ins, "operands")]

    def structure(self, node, of, unite):  # an ALU pairs its operands token for token
        return [unite([of(v) for v in self.ins])]

    def _check_matmul(self, kind: AluKind, ins, has_scalar: bool) -> None:
        k = kind.value
        if has_scalar or len(ins) != 2:
            raise VerifyError(f"kind \"{k}\" takes 2 tile operands and no 'scalar' attribute")
        a, b, out = (tile_shape(v.type) for v in (ins[0], ins[1], self.out_val))
        if len(a) != 2 or len(b) != 2:
            raise VerifyError(f"kind \"{k}\" needs 2-d tile operands, got {list(a)} and {list(b)}")
        if kind in (AluKind.MATMUL_TN, AluKind.MATMUL_TT):
            a = a[::-1]
        if kind in (AluKind.MATMUL_NT, AluKind.MATMUL_TT):
            b = b[::-1]
        if a[1] != b[0] or out != (a[0], b[1]):
            raise VerifyError(f"kind \"{k}\" of {list(tile_shape(ins[0].type))} and {list(tile_shape(ins[1].type))} "
                              f"tiles cannot give {list(out)} tiles")
        elems = {str(val_elem_type(v.type)) for v in (ins[0], ins[1], self.out_val)}
        if len(elems) != 1:
            raise VerifyError(f"kind \"{k}\" needs one element type, got {sorted(elems)}")


class ReduceOp(SamOp, name="reduce", traits=[Pure]):
    """Reducer: accumulate values until a stop (``S0`` -> sum; ``S_n`` -> sum, ``S_(n-1)``).

    ``%s = "sam.reduce"(%v) {kind = "add"} : (!sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>``
    """

    in_val: Operand[ValType]
    kind: ir.StringAttr
    out_val: Result[ValType]

    @classmethod
    def make(cls, b, val: ir.Value, kind="add") -> ir.Value:
        kind = kind.value if isinstance(kind, ReduceKind) else str(kind)
        return cls(val, _str(kind), val.type, **b.kw()).out_val

    def check(self) -> None:
        _expect(self.in_val, "input", "val")
        _expect(self.out_val, "result", "val")
        _enum(self, "kind", ReduceKind)
        _same_type(self.in_val, self.out_val, "result type differs from the input type")

    def loop_nest(self, ins, alias):
        if not ins[0]:
            _mismatch(self, "reduces a stream that is outside every loop")
        return [ins[0][:-1]]

    def structure(self, node, of, unite):
        return [("up", of(self.in_val))]


class SpaccOp(SamOp, name="spacc", traits=[Pure]):
    """Sparse accumulator of order 1 or 2. ``crds[0]`` is the innermost coordinate and
    ``crds[order]`` the reduced one; ``out_crds[i]`` corresponds to ``crds[i]``.

    ``%c, %v = "sam.spacc"(%cj, %ck, %val) {order = 1 : i64, operandSegmentSizes = array<i32: 2, 1>,
    resultSegmentSizes = array<i32: 1, 1>} : (!sam.crd<index>, !sam.crd<index>,
    !sam.val<f32, array<i64>>) -> (!sam.crd<index>, !sam.val<f32, array<i64>>)``
    """

    crds: Sequence[Operand[CrdType]]
    in_val: Operand[ValType]
    order: ir.IntegerAttr
    out_crds: Sequence[Result[CrdType]]
    out_val: Result[ValType]

    @classmethod
    def make(cls, b, crds: Sequence[ir.Value], val: ir.Value) -> tuple[list[ir.Value], ir.Value]:
        """Order ``len(crds) - 1`` (crds innermost first, reduced last)."""
        order = len(crds) - 1
        op = cls(list(crds), val, _i64(order), [crd_type()] * order, val.type, **b.kw())
        return list(op.out_crds), op.out_val

    def check(self) -> None:
        crds, outs = list(self.crds), list(self.out_crds)
        for i, c in enumerate(crds):
            _expect(c, f"crd operand #{i}", "crd")
        for i, c in enumerate(outs):
            _expect(c, f"crd result #{i}", "crd")
        _expect(self.in_val, "value operand", "val")
        order = _attr_int(self, "order")
        if order not in (1, 2):
            raise VerifyError(f"order must be 1 or 2, got {order}")
        if len(crds) != order + 1:
            raise VerifyError(f"of order {order} takes {order + 1} crd operands, got {len(crds)}")
        if len(outs) != order:
            raise VerifyError(f"of order {order} has {order} crd results, got {len(outs)}")
        _same_type(self.in_val, self.out_val, "value result type differs from the value operand")

    def loop_nest(self, ins, alias):
        order = _attr_int(self, "order")
        *crds, val = ins
        for m, c in enumerate(crds):
            if c != val[: len(val) - m]:
                _mismatch(self, f"crd operand #{m} nest {c} is not the value nest {val} minus {m} inner loop(s)")
        reduced = len(val) - 1 - order
        if reduced < 0:
            _mismatch(self, f"order {order} needs a value stream at least {order + 1} loops deep, got {val}")
        out = val[:reduced] + val[reduced + 1:]
        return [out[: len(out) - m] for m in range(order)] + [out]

    def crd_bound(self, n, bound):
        return bound(self.operation.operands[n])


class _CrdPairOp(SamOp):
    @classmethod
    def make(cls, b, outer: ir.Value, inner: ir.Value) -> tuple[ir.Value, ir.Value]:
        op = cls(outer, inner, crd_type(), crd_type(), **b.kw())
        return op.out_outer, op.out_inner

    def check(self) -> None:
        _expect(self.outer, "outer operand", "crd")
        _expect(self.inner, "inner operand", "crd")
        _expect(self.out_outer, "outer result", "crd")
        _expect(self.out_inner, "inner result", "crd")

    def _nests(self, ins):
        outer, inner = ins
        if outer != inner[:-1]:
            _mismatch(self, f"outer nest {outer} is not one loop outside the inner {inner}")
        return outer, inner

    def crd_bound(self, n, bound):
        return bound(self.operation.operands[n])


class CrdDropOp(_CrdPairOp, name="crd_drop", traits=[Pure]):
    """Drop outer coordinates whose inner fiber is empty.

    ``%o, %i = "sam.crd_drop"(%outer, %inner) : (!sam.crd<index>, !sam.crd<index>)
    -> (!sam.crd<index>, !sam.crd<index>)``
    """

    outer: Operand[CrdType]
    inner: Operand[CrdType]
    out_outer: Result[CrdType]
    out_inner: Result[CrdType]

    def loop_nest(self, ins, alias):
        return list(self._nests(ins))


class CrdHoldOp(_CrdPairOp, name="crd_hold", traits=[Pure]):
    """Repeat the outer coordinate for every inner coordinate.

    ``%o, %i = "sam.crd_hold"(%outer, %inner) : (!sam.crd<index>, !sam.crd<index>)
    -> (!sam.crd<index>, !sam.crd<index>)``
    """

    outer: Operand[CrdType]
    inner: Operand[CrdType]
    out_outer: Result[CrdType]
    out_inner: Result[CrdType]

    def loop_nest(self, ins, alias):
        return [self._nests(ins)[1]] * 2

    def structure(self, node, of, unite):
        return [of(self.inner)] * 2


class FiberWriteOp(SamOp, name="fiber_write"):
    """Level writer: builds level ``level`` (seg/crd arrays) of the output tensor of the
    ``sam.output`` that consumes it. A sink: not Pure.

    ``%l = "sam.fiber_write"(%crd) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level``
    """

    in_crd: Operand[CrdType]
    level: ir.IntegerAttr
    format: ir.StringAttr
    out: Result[LevelType]

    @classmethod
    def make(cls, b, crd: ir.Value, level: int, fmt) -> ir.Value:
        return cls(crd, _i64(level), _str(_fmt(fmt)), level_type(), **b.kw()).out

    def check(self) -> None:
        _expect(self.in_crd, "input", "crd")
        _expect(self.out, "result", "level")
        if _attr_int(self, "level") < 0:
            raise VerifyError("level must be non-negative")
        _enum(self, "format", LevelFormat)

    def loop_nest(self, ins, alias):
        level = _attr_int(self, "level")
        if len(ins[0]) != level + 1:
            _mismatch(self, f"writes level {level} from a stream in {ins[0]}")
        return [ins[0]]


class ValWriteOp(SamOp, name="val_write"):
    """Value writer: builds the output values array. A sink: not Pure.

    ``%w = "sam.val_write"(%v) : (!sam.val<f32, array<i64>>) -> !sam.values``
    """

    in_val: Operand[ValType]
    out: Result[ValuesType]

    @classmethod
    def make(cls, b, val: ir.Value) -> ir.Value:
        return cls(val, values_type(), **b.kw()).out

    def check(self) -> None:
        _expect(self.in_val, "input", "val")
        _expect(self.out, "result", "values")

    def loop_nest(self, ins, alias):
        return [ins[0]]


class ForkOp(SamOp, name="fork", traits=[Pure]):
    """Parallelizing fork: data tokens round-robin to ``lanes`` lanes, stops and done to all.

    ``%l:2 = "sam.fork"(%crd) {lanes = 2 : i64, resultSegmentSizes = array<i32: 2>}
    : (!sam.crd<index>) -> (!sam.crd<index>, !sam.crd<index>)``
    """

    in_stream: Operand[CrdType | RefType | ValType | RepsigType]
    lanes: ir.IntegerAttr
    outs: Sequence[Result[CrdType | RefType | ValType | RepsigType]]

    @classmethod
    def make(cls, b, stream: ir.Value, lanes: int) -> list[ir.Value]:
        return list(cls(stream, _i64(lanes), [stream.type] * lanes, **b.kw()).outs)

    def check(self) -> None:
        _expect(self.in_stream, "input", *STREAM_KINDS)
        lanes = _attr_int(self, "lanes")
        outs = list(self.outs)
        if lanes < 2:
            raise VerifyError(f"lanes must be at least 2, got {lanes}")
        if len(outs) != lanes:
            raise VerifyError(f"has lanes = {lanes} but {len(outs)} results")
        for i, o in enumerate(outs):
            _same_type(self.in_stream, o, f"lane #{i} type differs from the input")

    def loop_nest(self, ins, alias):
        return [ins[0]] * len(self.operation.results)

    def crd_bound(self, n, bound):
        return bound(self.in_stream)

    def may_carry_empty(self, n, may):
        return may(self.in_stream)

    def structure(self, node, of, unite):  # lanes of equally structured streams agree
        return [("lane", of(self.in_stream), r) for r in range(len(self.operation.results))]


class JoinOp(SamOp, name="join", traits=[Pure]):
    """Parallel join: merge the lanes back in fork order, one unit per lane in turn. ``depth``
    is the number of loop levels the joined stream has below the forked level: 0 when each forked
    token yields one token, else a unit is one fiber (up to and including its closing stop).

    ``%j = "sam.join"(%a, %b) {depth = 1 : i64, lanes = 2 : i64, operandSegmentSizes = array<i32: 2>}
    : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>``
    """

    ins: Sequence[Operand[CrdType | RefType | ValType | RepsigType]]
    lanes: ir.IntegerAttr
    depth: ir.IntegerAttr
    out: Result[CrdType | RefType | ValType | RepsigType]

    @classmethod
    def make(cls, b, lanes: Sequence[ir.Value], depth: int = 0) -> ir.Value:
        """Merge lane streams; ``depth`` = loop levels below the forked level."""
        return cls(list(lanes), _i64(len(lanes)), _i64(depth), lanes[0].type, **b.kw()).out

    def check(self) -> None:
        ins = list(self.ins)
        for i, v in enumerate(ins):
            _expect(v, f"lane #{i}", *STREAM_KINDS)
        lanes = _attr_int(self, "lanes")
        if lanes < 2:
            raise VerifyError(f"lanes must be at least 2, got {lanes}")
        if len(ins) != lanes:
            raise VerifyError(f"has lanes = {lanes} but {len(ins)} operands")
        if _attr_int(self, "depth") < 0:
            raise VerifyError(f"depth must be non-negative, got {_attr_int(self, 'depth')}")
        for i, v in enumerate(ins):
            _same_type(v, self.out, f"lane #{i} type differs from the result")

    def loop_nest(self, ins, alias):
        return [_same_nest(self, ins, "operands")]

    def crd_bound(self, n, bound):
        bounds = [bound(v) for v in self.ins]
        return None if None in bounds else max(bounds)

    def may_carry_empty(self, n, may):
        return any(may(v) for v in self.ins)


class OutputOp(SamOp, name="output"):
    """Assemble an output tensor from its level writers (one per level, in level order) and its
    value writer. A sink: not Pure.

    ``%C = "sam.output"(%l0, %l1, %w) {operandSegmentSizes = array<i32: 2, 1>}
    : (!sam.level, !sam.level, !sam.values) -> tensor<4x4xf32, #csr>``
    """

    levels: Sequence[Operand[LevelType]]
    vals: Operand[ValuesType]
    tensor: Result[ir.RankedTensorType]

    @classmethod
    def make(cls, b, tensor_type: ir.Type, levels: Sequence[ir.Value], values: ir.Value) -> ir.Value:
        return cls(list(levels), values, tensor_type, **b.kw()).tensor

    def check(self) -> None:
        levels = list(self.levels)
        for i, v in enumerate(levels):
            _expect(v, f"level operand #{i}", "level")
        _expect(self.vals, "values operand", "values")
        try:
            formats = tensor_level_formats(self.tensor.type)
        except ValueError as e:
            raise VerifyError(f"result tensor: {e}") from None
        if formats is None:
            raise VerifyError(f"result must be a ranked tensor, got {self.tensor.type}")
        writer = _producer(self.vals)
        if writer is None or writer.name != "sam.val_write":
            raise VerifyError("values operand must come from sam.val_write")
        val_t = writer.operands[0].type
        elem = ir.RankedTensorType(self.tensor.type).element_type
        if val_elem_type(val_t) != elem:
            raise VerifyError(f"written element type {val_elem_type(val_t)} differs from the tensor's {elem}")
        # a blocked result's block levels are written by fiber writers, its in-block levels are
        # the tiles (a vector result's tiles hold it along one axis)
        written = min(len(formats), ir.RankedTensorType(self.tensor.type).rank) if tile_shape(val_t) else len(formats)
        if len(levels) != written:
            raise VerifyError(f"needs {written} level writers for the result's levels, got {len(levels)}")
        for i, v in enumerate(levels):
            w = _producer(v)
            if w is None or w.name != "sam.fiber_write":
                raise VerifyError(f"level operand #{i} must come from sam.fiber_write")
            lvl = ir.IntegerAttr(w.attributes["level"]).value
            fmt = ir.StringAttr(w.attributes["format"]).value
            if lvl != i:
                raise VerifyError(f"level operand #{i} writes level {lvl}")
            if fmt != formats[i].value:
                raise VerifyError(
                    f"level {i} is written as \"{fmt}\" but the result encoding has \"{formats[i].value}\""
                )

    def loop_nest(self, ins, alias):
        *levels, vals = ins
        for k in range(1, len(levels)):
            if levels[k][:-1] != levels[k - 1]:
                _mismatch(self, f"level {k} is written from {levels[k]}, not inside level {k - 1}'s {levels[k - 1]}")
        if vals != (levels[-1] if levels else ()):
            _mismatch(self, f"values are in {vals} but the innermost written level is in {levels[-1] if levels else ()}")
        return [None]


def _producer(value: ir.Value):
    """The Operation defining ``value`` (None for a block argument)."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return owner.operation


def _all_ops(cls) -> list:
    return [c for sub in cls.__subclasses__() for c in ([sub] + _all_ops(sub))]


# op name ("sam.fiber_lookup") -> op class, for every op of the dialect
OPS: dict[str, type[SamOp]] = {c.OPERATION_NAME: c for c in _all_ops(SamOp) if hasattr(c, "OPERATION_NAME")}


# ----------------------------------------------------------------------------------------------
# Loading


def load(ctx: ir.Context) -> None:
    """Load the sam dialect into ``ctx`` (a no-op when already loaded)."""
    with ctx:
        if ctx.is_dialect_loaded(Sam.DIALECT_NAMESPACE):
            return
        Sam.load()


if load not in _context.DIALECT_LOADERS:
    _context.DIALECT_LOADERS.append(load)

