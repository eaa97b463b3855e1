"""Unit (keepdim) dimensions, reshape region boundaries and reshape-fed inputs whose level
order the lowering chooses, on hand-written linalg IR."""

from fuseflow.bindings import ir, op_name
from fuseflow.context import parse_module
from fuseflow.passes.convert_linalg_to_sam import analyze_regions
from fuseflow.passes.lowering import UNIT, build_region, is_init_only, show
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
