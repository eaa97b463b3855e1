"""Unit (keepdim) dimensions, reshape region boundaries and reshape-fed inputs whose level
order the lowering chooses, on hand-written linalg IR."""

import pytest

from fuseflow.bindings import ir, op_name
from fuseflow.context import make_context, parse_module
from fuseflow.errors import FuseflowError
from fuseflow.passes.convert_linalg_to_sam import analyze_regions
from fuseflow.passes.lowering import UNIT, build_region, drop_unit_levels, is_init_only, show
from fuseflow.passes.partition import REGION_ATTR
from fuseflow.passes.pipeline import run_pipeline

ROWSUM_KEEPDIM = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
func.func @main(%X: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4x1xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%X : tensor<4x6xf32>) outs(%f1 : tensor<4x1xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %a = arith.addf %x, %acc : f32
    linalg.yield %a : f32
  } -> tensor<4x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<4x1xf32>) outs(%e1 : tensor<4x1xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = arith.constant 6.0 : f32
    %d = arith.divf %x, %c : f32
    linalg.yield %d : f32
  } -> tensor<4x6xf32>
  %e2 = tensor.empty() : tensor<4x6xf32>
  %c = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%X, %m : tensor<4x6xf32>, tensor<4x1xf32>) outs(%e2 : tensor<4x6xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %d = arith.subf %x, %y : f32
    linalg.yield %d : f32
  } -> tensor<4x6xf32>
  return %c : tensor<4x6xf32>
}
""".replace("} -> tensor<4x6xf32>\n  %e2", "} -> tensor<4x1xf32>\n  %e2")

SPLIT_HEADS = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#in3 = affine_map<(h, i, j) -> (j, h, i)>
#out3 = affine_map<(h, i, j) -> (h, i, j)>
func.func @main(%X: tensor<4x6xf32>) -> tensor<2x3x4xf32> {
  %e = tensor.empty() : tensor<4x6xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%X : tensor<4x6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<4x6xf32>
  %r = tensor.expand_shape %y [[0], [1, 2]] output_shape [4, 2, 3] : tensor<4x6xf32> into tensor<4x2x3xf32>
  %e3 = tensor.empty() : tensor<2x3x4xf32>
  %t = linalg.generic {indexing_maps = [#in3, #out3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r : tensor<4x2x3xf32>) outs(%e3 : tensor<2x3x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<2x3x4xf32>
  return %t : tensor<2x3x4xf32>
}
"""


def _computations(m):
    fn = m.body.operations[0]
    return [op.operation for op in fn.regions[0].blocks[0].operations
            if op_name(op) == "linalg.generic" and not is_init_only(op.operation)]


def test_unit_dimensions_drop_out_of_the_variables():
    m = parse_module(ROWSUM_KEEPDIM)
    r = build_region("r", _computations(m))
    (out,) = r.outputs
    assert r.vars == ["i", "j", "k"]  # no variable for the size-1 dimension
    assert show(out.expr) == "sub(T0[i,j], div(add_k(T0[i,k]), 6))"
    # the statistic alone: its output keeps a unit "variable" for the size-1 dimension
    stat = build_region("s", _computations(m)[:2])
    assert stat.outputs[0].vars == ("i", UNIT)
    assert stat.legal_orders() == [["i", "j"]]


def test_unit_output_is_written_without_the_unit_dim_and_reshaped():
    m = parse_module(ROWSUM_KEEPDIM)
    run_pipeline(m, "builtin.module(fuseflow-partition{mode=unfused},convert-linalg-to-sam)")
    text = str(m)
    assert "-> tensor<4xf32>" in text  # the graph of the statistic
    assert "tensor.expand_shape" in text and "into tensor<4x1xf32>" in text


def test_full_partition_cuts_at_a_splitting_reshape():
    m = parse_module(SPLIT_HEADS)
    run_pipeline(m, "builtin.module(fuseflow-partition{mode=full})")
    regions = [ir.IntegerAttr(op.attributes[REGION_ATTR]).value for op in _computations(m)]
    assert regions == [0, 1]


def test_reshape_fed_input_is_read_in_the_level_order_the_dataflow_needs():
    m = parse_module(SPLIT_HEADS)
    run_pipeline(m, "builtin.module(fuseflow-partition{mode=full})")
    r = analyze_regions(m.body.operations[0], "region")[1]
    assert r.free_inputs() == {0}
    assert r.precedences() == set()  # its storage order constrains nothing
    order = r.legal_orders()[0]
    assert order == ["i", "j", "k"]  # output h,i,j in output order
    t = str(r.input_type(0, order))  # the (j,h,i)-indexed input stored h-major
    assert "(d0, d1, d2) -> (d1 : dense, d2 : dense, d0 : dense)" in t


CSR = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>"
OUTER_CSR = f"""
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @main(%A: tensor<4x1xf32, {CSR}>, %B: tensor<1x3xf32>) -> tensor<4x3xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {{indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%A, %B : tensor<4x1xf32, {CSR}>, tensor<1x3xf32>) outs(%f : tensor<4x3xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}}
"""


def test_a_reduction_over_a_unit_loop_is_its_one_term():
    m = parse_module(OUTER_CSR)
    (out,) = build_region("r", _computations(m)).outputs
    assert show(out.expr) == "mul(T0[i,_], T1[_,j])"  # K = 1: no reduction is left


def test_a_sparse_operand_with_a_unit_dim_is_read_without_it():
    m = parse_module(OUTER_CSR)
    r = build_region("r", _computations(m))
    order = r.legal_orders()[0]
    assert str(r.input_type(0, order)) == str(r.inputs[0].type)  # its own type, unit level included
    # the graph reads the kept level: the rows that have an entry (a compressed vector)
    assert str(r.graph_type(0, order)) == \
        "tensor<4xf32, #sparse_tensor.encoding<{ map = (d0) -> (d0 : compressed) }>>"
    assert str(r.graph_type(1, order)) == "tensor<1x3xf32>"  # dense operands keep their unit dims


def _dropped(text: str) -> str:
    with make_context():
        return str(drop_unit_levels(ir.Type.parse(text)))


def test_drop_unit_levels_keeps_the_other_levels_and_what_the_dropped_ones_decide():
    enc = "#sparse_tensor.encoding<{{ map = {} }}>"
    csr, csc = "(d0, d1) -> (d0 : dense, d1 : compressed)", "(d0, d1) -> (d1 : dense, d0 : compressed)"
    vector = f"tensor<8xf32, {enc.format('(d0) -> (d0 : compressed)')}>"
    assert _dropped(f"tensor<1x8xf32, {enc.format(csr)}>") == vector  # a row: its stored columns
    assert _dropped(f"tensor<8x1xf32, {enc.format(csr)}>") == vector  # a column: its non-empty rows
    assert _dropped(f"tensor<8x1xf32, {enc.format(csc)}>") == vector
    assert _dropped(f"tensor<1x1xf32, {enc.format(csr)}>") == "tensor<1x1xf32>"  # one value, read densely
    coo3 = "(d0, d1, d2) -> (d0 : compressed(nonunique), d1 : singleton(nonunique, soa), d2 : singleton(soa))"
    coo2 = f"tensor<4x5xf32, {enc.format('(d0, d1) -> (d0 : compressed(nonunique), d1 : singleton(soa))')}>"
    assert _dropped(f"tensor<1x4x5xf32, {enc.format(coo3)}>") == coo2  # batch 1: the 2-D COO slice
    assert _dropped(f"tensor<4x5x1xf32, {enc.format(coo3)}>") == coo2
    bcsr = "(d0, d1, d2) -> (d0 : dense, d1 : dense, d2 : compressed)"
    assert _dropped(f"tensor<1x4x5xf32, {enc.format(bcsr)}>") == f"tensor<4x5xf32, {enc.format(csr)}>"
    # the kept levels keep their storage order (renumbered); a dense level above a dropped
    # sparse one becomes compressed
    odd = "(d0, d1, d2) -> (d2 : dense, d0 : compressed, d1 : dense)"
    assert _dropped(f"tensor<1x4x3xf32, {enc.format(odd)}>") == \
        f"tensor<4x3xf32, {enc.format('(d0, d1) -> (d1 : compressed, d0 : dense)')}>"
    widths = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>"
    assert _dropped(f"tensor<8x1xf32, {widths}>").endswith("(d0 : compressed), posWidth = 32, crdWidth = 32 }>>")


def test_drop_unit_levels_refuses_a_level_kind_it_does_not_handle():
    loose = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : loose_compressed) }>"
    with pytest.raises(FuseflowError, match="a 'loose_compressed' level of .* with a unit dimension is not lowered"):
        _dropped(f"tensor<4x1xf32, {loose}>")
