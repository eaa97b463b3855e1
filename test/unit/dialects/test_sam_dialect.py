"""The sam dialect: loading, types, attributes and the Python verifiers driven from Python."""

import pytest

from fuseflow import context
from fuseflow.bindings import MLIRError, ir
from fuseflow.context import make_context, parse_module
from fuseflow.dialects import sam
from fuseflow.dialects.sam_builder import SamBuilder, build_graph
from fuseflow.errors import ParseError

CSR = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>"


def test_loader_registered_once_and_every_context_parses():
    assert context.DIALECT_LOADERS.count(sam.load) == 1
    for _ in range(2):
        ctx = make_context()
        assert ctx.is_dialect_loaded("sam")
        sam.load(ctx)  # loading again is a no-op, not DialectAlreadyLoadedError
        m = parse_module('func.func @f() -> !sam.ref<index> {\n'
                         '  %0 = "sam.root"() : () -> !sam.ref<index>\n  return %0 : !sam.ref<index>\n}', ctx)
        assert '"sam.root"' in str(m)


def test_plain_context_does_not_know_sam():
    with ir.Context(), pytest.raises(MLIRError):
        ir.Type.parse("!sam.crd<index>")


def test_types_and_helpers():
    with make_context(), ir.Location.unknown():
        t = ir.Type.parse("!sam.val<f32, array<i64: 4, 4>>")
        assert isinstance(t, sam.ValType)
        assert sam.tile_shape(t) == (4, 4)
        assert sam.val_elem_type(t) == ir.F32Type.get()
        assert sam.val_type(ir.F32Type.get(), [4, 4]) == t
        assert sam.tile_shape(sam.val_type(ir.F32Type.get())) == ()
        assert str(sam.crd_type()) == "!sam.crd<index>"
        assert str(sam.ref_type()) == "!sam.ref<index>"
        assert str(sam.repsig_type()) == "!sam.repsig"
        assert [sam.type_kind(x) for x in (sam.crd_type(), sam.ref_type(), t, sam.repsig_type(),
                                           sam.level_type(), sam.values_type(), ir.F32Type.get())] == [
            "crd", "ref", "val", "repsig", "level", "values", None]


def test_tensor_level_formats():
    with make_context():
        csr = ir.Type.parse(f"tensor<4x5xf32, {CSR}>")
        coo = ir.Type.parse("tensor<4x5xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> "
                            "(d0 : compressed(nonunique), d1 : singleton) }>>")
        bsr = ir.Type.parse("tensor<4x6xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, "
                            "d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense) }>>")
        F = sam.LevelFormat
        assert sam.tensor_level_formats(csr) == [F.DENSE, F.COMPRESSED]
        assert sam.tensor_level_formats(coo) == [F.COMPRESSED, F.SINGLETON]
        assert sam.tensor_level_formats(bsr) == [F.DENSE, F.COMPRESSED, F.DENSE, F.DENSE]
        assert sam.tensor_level_formats(ir.Type.parse("tensor<3x4x5xf32>")) == [F.DENSE] * 3
        assert sam.tensor_level_formats(ir.F32Type.get()) is None


def test_alu_kind_partition():
    assert {k.value for k in sam.BINARY_ALU_KINDS} == {"add", "sub", "mul", "div", "max", "min", "matmul", "matmul_nt",
                                                       "matmul_tn", "matmul_tt"}
    assert {k.value for k in sam.UNARY_ALU_KINDS} == {"neg", "exp", "relu", "rsqrt", "sqrt", "sigmoid", "tanh",
                                                      "gelu", "rcp", "transpose", "row_sum", "row_max", "row_min",
                                                      "col_sum", "col_max", "col_min"}
    assert sam.AluKind("max").is_binary and not sam.AluKind("relu").is_binary


def _graph(body, inputs=("tensor<4x5xf32, #csr>",)):
    def build():
        types = [ir.Type.parse(t.replace("#csr", CSR)) for t in inputs]
        return build_graph("g", types, [], lambda b, *args: (body(b, *args), [])[1])
    return build


def _verify(build):
    ctx = make_context()
    with ctx, ir.Location.unknown():
        module = build()
        with context.collecting(ctx) as diags:
            try:
                ok = module.operation.verify()
            except MLIRError:
                ok = False
    return ok, [d.message for d in diags]


def test_builder_ops_verify():
    def body(b: SamBuilder, A):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, sam.LevelFormat.DENSE, "i")
        cj, rj = b.fiber_lookup(A, ri, 1, "compressed", "j")
        v = b.array(A, rj)
        w = b.alu("mul", v, scalar=2.0)
        w = b.alu(sam.AluKind.RELU, b.alu("add", v, w))
        r = b.reduce(w, sam.ReduceKind.MAX)
        lanes = b.fork(cj, 3)
        b.join(lanes)
        b.crd_hold(ci, cj)
        b.crd_drop(ci, cj)
        b.spacc([cj, ci], w)
        b.fiber_write(ci, 0, "dense")
        b.val_write(r)
    ok, diags = _verify(_graph(body))
    assert ok, diags


@pytest.mark.parametrize("body, message", [
    (lambda b, A: b.fiber_lookup(A, b.root(), 1, "dense", "j"),
     'format "dense" contradicts the tensor encoding (level 1 is compressed)'),
    (lambda b, A: b.fiber_lookup(A, b.root(), 3, "dense", "j"), "level 3 is outside the tensor's 2 storage levels"),
    (lambda b, A: b.alu("exp", b.array(A, b.root()), b.array(A, b.root())), 'unary kind "exp" takes 1 operand, got 2'),
    (lambda b, A: b.alu("div", b.array(A, b.root())), 'binary kind "div" without a \'scalar\' attribute'),
    (lambda b, A: b.spacc([b.fiber_lookup(A, b.root(), 0, "dense", "i")[0]], b.array(A, b.root())),
     "order must be 1 or 2, got 0"),
    (lambda b, A: b.intersect([b.fiber_lookup(A, b.root(), 0, "dense", "i")[0]], [b.root()], "i"),
     "needs at least 2 inputs, got 1"),
    (lambda b, A: b.repeat_sig_gen(b.array(A, b.root())), "input must be a !sam.crd or !sam.ref stream"),
])
def test_builder_verifier_errors(body, message):
    ok, diags = _verify(_graph(body))
    assert not ok
    assert any(message in d for d in diags), diags


def test_parse_error_carries_location():
    text = ('func.func @f(%c: !sam.crd<index>) {\n'
            '  %0 = "sam.repeat_sig_gen"(%c) : (!sam.crd<index>) -> !sam.repsig\n'
            '  %1 = "sam.repeat"(%c, %0) : (!sam.crd<index>, !sam.repsig) -> !sam.crd<index>\n  return\n}')
    with pytest.raises(ParseError) as e:
        parse_module(text, filename="g.mlir")
    assert "g.mlir:3:8: error: 'sam.repeat' op repeated input must be a !sam.ref or !sam.val stream" in str(e.value)


def test_pure_ops_are_cse_d_but_sinks_survive():
    from fuseflow.bindings import PassManager

    text = ('func.func @f(%c: !sam.crd<index>) {\n'
            '  %0 = "sam.repeat_sig_gen"(%c) : (!sam.crd<index>) -> !sam.repsig\n'
            '  %1 = "sam.repeat_sig_gen"(%c) : (!sam.crd<index>) -> !sam.repsig\n'
            '  %2 = "sam.fiber_write"(%c) {format = "dense", level = 0 : i64} : (!sam.crd<index>) -> !sam.level\n'
            '  return\n}')
    ctx = make_context()
    m = parse_module(text, ctx)
    with ctx:
        PassManager.parse("builtin.module(canonicalize,cse)").run(m.operation)
    out = str(m)
    assert "sam.repeat_sig_gen" not in out  # unused and Pure
    assert "sam.fiber_write" in out


def test_every_op_has_a_verifier_and_a_generic_form_example():
    names = {cls._op_name for cls in sam.Sam.operations}
    assert names == {"root", "fiber_lookup", "locate", "intersect", "union", "repeat_sig_gen", "repeat", "array",
                     "alu", "reduce", "spacc", "crd_drop", "crd_hold", "fiber_write", "val_write", "fork", "join",
                     "output"}
    for cls in sam.Sam.operations:
        assert "check" in {k for c in cls.__mro__ for k in vars(c)}, cls
        assert f'"sam.{cls._op_name}"(' in (cls.__doc__ or ""), cls


def test_sinks_are_not_pure():
    pure = {cls._op_name for cls in sam.Sam.operations if ext_pure(cls)}
    assert {"fiber_write", "val_write", "output"}.isdisjoint(pure)
    assert {"root", "fiber_lookup", "intersect", "alu"} <= pure


def ext_pure(cls) -> bool:
    from fuseflow.bindings import ext

    return ext.Pure in cls._traits


def test_joiner_with_mixed_payloads_keeps_the_callers_order():
    ctx = make_context()
    with ctx, ir.Location.unknown():
        a_t = ir.Type.parse(f"tensor<4x5xf32, {CSR}>")
        seen = {}

        def body(b: SamBuilder, A, B):
            root = b.root()
            ca, ra = b.fiber_lookup(A, root, 0, "dense", "i")
            cb, rb = b.fiber_lookup(B, root, 0, "dense", "i")
            va = b.array(A, ra)
            crd, outs = b.intersect([ca, cb, ca], [va, rb, va], "i")
            seen["types"] = [str(v.type) for v in outs]
            seen["op"] = crd.owner
            return []

        module = build_graph("g", [a_t, a_t], [], body)
        assert module.operation.verify()
        op = seen["op"]
        assert isinstance(op, sam.IntersectOp)
        assert seen["types"] == ["!sam.val<f32, array<i64>>", "!sam.ref<index>", "!sam.val<f32, array<i64>>"]
        assert [sam.stream_kind(v) for v in op.payloads] == ["ref", "val", "val"]
        assert len(list(op.crds)) == 3 and len(op.out_payloads) == 3
        assert "operandSegmentSizes = array<i32: 3, 1, 2>" in str(op)


def test_builder_rejects_unpaired_joiner_inputs():
    ctx = make_context()
    with ctx, ir.Location.unknown():
        def body(b: SamBuilder, A):
            c, r = b.fiber_lookup(A, b.root(), 0, "dense", "i")
            with pytest.raises(ValueError, match="2 crd streams but 1 payloads"):
                b.intersect([c, c], [r], "i")
            return []

        build_graph("g", [ir.Type.parse(f"tensor<4x5xf32, {CSR}>")], [], body)
