"""Index-variable unification, constraints and order enumeration on hand-written linalg IR."""

import pytest

from fuseflow.bindings import op_name
from fuseflow.context import parse_module
from fuseflow.passes.lowering import (
    InfeasibleOrder,
    UnsupportedOp,
    build_region,
    is_init_only,
    show,
)

HEADER = """
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#csc = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>
"""

MATMUL = """
  %{res} = linalg.generic {{indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%{a}, %{b} : {ta}, {tb}) outs(%{init} : tensor<{m}x{n}xf32>) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<{m}x{n}xf32>
"""


def _fill(name, m, n):
    return (f"  %e{name} = tensor.empty() : tensor<{m}x{n}xf32>\n"
            f"  %{name} = linalg.fill ins(%zero : f32) outs(%e{name} : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>\n")


def chain_module(ta="tensor<4x5xf32, #csr>", tb="tensor<5x6xf32>", tc="tensor<6x3xf32>"):
    body = "  %zero = arith.constant 0.0 : f32\n" + _fill("i0", 4, 6) + _fill("i1", 4, 3)
    body += MATMUL.format(res="ab", a="A", b="B", ta=ta, tb=tb, init="i0", m=4, n=6)
    body += MATMUL.format(res="abc", a="ab", b="C", ta="tensor<4x6xf32>", tb=tc, init="i1", m=4, n=3)
    return (HEADER + f"func.func @main(%A: {ta}, %B: {tb}, %C: {tc}) -> tensor<4x3xf32> {{\n" + body
            + "  return %abc : tensor<4x3xf32>\n}\n")


def region_of(text, which=None):
    m = parse_module(text)
    fn = m.body.operations[0]
    ops = [op.operation for op in fn.regions[0].blocks[0].operations
           if op_name(op) == "linalg.generic" and not is_init_only(op.operation)]
    if which is not None:
        ops = [ops[w] for w in which]
    return m, build_region("r", ops)


def test_spmm_unfused_orders_follow_storage_formats():
    _, r = region_of(chain_module(), [0])
    (out,) = r.outputs
    assert show(out.expr) == "add_k(mul(T0[i,k], T1[k,j]))"
    assert out.vars == ("i", "j")
    # A CSR: i<k; B row-major: k<j -> only i,k,j (spacc order 1 at the root)
    assert r.legal_orders() == [["i", "k", "j"]]


def test_spmm_with_csc_and_column_major_operands_has_more_orders():
    _, r = region_of(chain_module(ta="tensor<4x5xf32, #csc>", tb="tensor<5x6xf32, #csc>"), [0])
    # A CSC: k<i; B CSC: j<k -> j,k,i is the only topological sort
    assert r.legal_orders() == [["j", "k", "i"]]


def test_three_matmul_chain_fused_unifies_variables_and_counts_orders():
    _, r = region_of(chain_module())
    (out,) = r.outputs
    # (A @ B) @ C: the inner product's column variable is the outer product's reduction variable
    assert show(out.expr) == "add_l(mul(add_k(mul(T0[i,k], T1[k,l])), T2[l,j]))"
    assert r.vars == ["i", "j", "k", "l"]
    assert r.precedences() == {("i", "k"), ("k", "l"), ("l", "j")}
    # storage fixes i,k,l,j: both reductions have a trailing variable (k: l; l: j), so each
    # becomes an order-1 sparse accumulator, the inner one nested in the outer one's loops
    assert r.legal_orders() == [["i", "k", "l", "j"]]
    assert r.order_problems(["i", "k", "l", "j"]) == []
    # k,l,i,j: the outer accumulator (l; then i, j) feeds the output, but the inner one would
    # need order 2 (k; then l, i) below the root
    problems = r.order_problems(["k", "l", "i", "j"])
    assert "reduction over k has 2 variables after it (l,i): an order-2 sparse accumulator must " \
        "feed the output directly" in problems


def test_three_matmul_chain_with_column_major_middle_operand():
    _, r = region_of(chain_module(tb="tensor<5x6xf32, #csc>"))  # B stored column-major: l<k
    # the outer reduction l is followed by at most two output variables (spacc); the inner one
    # iterates (i, l, k) wherever j sits (j is not in its scope: its value is repeated over j), so
    # i,l,j,k and i,l,k,j build one graph and are listed once; l,k,i,j would put an order-2
    # accumulator below the root
    assert ["".join(o) for o in r.legal_orders()] == ["iljk", "lijk", "ljik"]
    assert r.choose_order("ilkj") == list("iljk")  # the listed order that builds the same graph


def test_accumulator_rules():
    _, r = region_of(chain_module(tb="tensor<5x6xf32, #csc>"))  # add_l(add_k(A[i,k] B[k,l]) C[l,j])
    assert all(not r.order_problems(o) for o in r.legal_orders())
    # l,i,k,j: the outer reduction accumulates over i,j (order 2, at the root: fine); the inner
    # one over k is innermost among the loops it depends on (l, i) and hoisted out of j
    assert r.order_problems(["l", "i", "k", "j"]) == []
    assert r.canonical_order(["l", "i", "k", "j"]) == ["l", "i", "j", "k"]  # j outside its scope
    # i,k,j,l: j (which the inner reduction does not depend on) sits between k and its trailing l
    assert any("does not depend on j, which comes between it and its output variable l" in p
               for p in r.order_problems(["i", "k", "j", "l"]))
    # prefix pruning: i,k,j cannot be completed; i,l can
    assert not r._prefix_feasible(["i", "k", "j"])
    assert r._prefix_feasible(["i", "l"])


def test_choose_order_by_permutation_and_errors():
    _, r = region_of(chain_module(), [0])
    assert r.choose_order("ikj") == ["i", "k", "j"]
    assert r.choose_order("i,k,j") == ["i", "k", "j"]
    with pytest.raises(InfeasibleOrder, match="k must come before j|i must come before k"):
        r.choose_order("kij")
    with pytest.raises(InfeasibleOrder, match="not a permutation"):
        r.choose_order("ij")
    with pytest.raises(InfeasibleOrder, match="out of range"):
        r.choose_order(3)


def test_unsupported_body_names_the_op():
    text = HEADER + """
func.func @main(%A: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = math.cos %x : f32
    linalg.yield %c : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
"""
    with pytest.raises(UnsupportedOp, match="unsupported operation 'math.cos'"):
        region_of(text)
