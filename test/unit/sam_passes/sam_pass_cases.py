"""Shared inputs and checks for the sam pass tests: linalg programs to lower, sam graphs from the
lit tests, random input tensors, and an output comparison through the simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fuseflow.bindings import ir, print_module
from fuseflow.context import make_context, parse_module
from fuseflow.dialects.sam_graph import SamGraph, check_loop_nests, sam_functions
from fuseflow.passes import run_pipeline
from fuseflow.sim import simulate_graph
from fuseflow.sim.from_mlir import graph_from_func
from fuseflow.sim.graph import GraphSequence

ROOT = Path(__file__).resolve().parents[3]
CANONICAL = ROOT / "test" / "lit" / "dialects" / "sam" / "graphs"
LIT_PASSES = ROOT / "test" / "lit" / "passes"
LOWER = "builtin.module(fuseflow-partition{mode=full},convert-linalg-to-sam)"

HEADER = """
#csr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#csc = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
#dcsr = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
"""

_MATMUL_BODY = """
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
"""


def _matmul(ta: str, tb: str, m: int, n: int) -> str:
    return HEADER + f"""
func.func @mm(%A: {ta}, %B: {tb}) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.generic {{indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%A, %B : {ta}, {tb}) outs(%f : tensor<{m}x{n}xf32>) {{{_MATMUL_BODY}  }} -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


def _elementwise(name: str, ta: str, tb: str, op: str, map_b: str = "#id") -> str:
    return HEADER + f"""
func.func @{name}(%A: {ta}, %B: {tb}) -> tensor<4x5xf32> {{
  %e = tensor.empty() : tensor<4x5xf32>
  %r = linalg.generic {{indexing_maps = [#id, {map_b}, #id], iterator_types = ["parallel", "parallel"]}}
      ins(%A, %B : {ta}, {tb}) outs(%e : tensor<4x5xf32>) {{
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.{op} %x, %y : f32
    linalg.yield %p : f32
  }} -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}}
"""


_SUM_TIMES_DENSE = HEADER + """
func.func @sum_times_dense(%A: tensor<4x5xf32, #csr>, %B: tensor<4x5xf32, #csr>, %X: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %e = tensor.empty() : tensor<4x5xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %B : tensor<4x5xf32, #csr>, tensor<4x5xf32, #csr>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.addf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %X : tensor<4x5xf32>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  return %m : tensor<4x5xf32>
}
"""

_SPMV = HEADER + """
func.func @spmv(%A: tensor<4x5xf32, #dcsr>, %x: tensor<5xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#id, #col, #row], iterator_types = ["parallel", "reduction"]}
      ins(%A, %x : tensor<4x5xf32, #dcsr>, tensor<5xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""

_SPMV_TWO_DENSE = HEADER + """
func.func @spmv2(%A: tensor<4x5xf32, #csr>, %x: tensor<5xf32>, %z: tensor<5xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#id, #col, #col, #row], iterator_types = ["parallel", "reduction"]}
      ins(%A, %x, %z : tensor<4x5xf32, #csr>, tensor<5xf32>, tensor<5xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %c : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""

_TWO_OUTPUTS = HEADER + """
func.func @two(%A: tensor<4x5xf32, #csr>, %X: tensor<4x5xf32>) -> (tensor<4x5xf32>, tensor<4x5xf32>) {
  %e = tensor.empty() : tensor<4x5xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%A, %X : tensor<4x5xf32, #csr>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  %n = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %X : tensor<4x5xf32>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<4x5xf32>
  return %m, %n : tensor<4x5xf32>, tensor<4x5xf32>
}
"""

# name -> linalg program; each is lowered in every legal order of its regions.
LINALG_CASES = {
    "spmm_csr_dense": _matmul("tensor<4x5xf32, #csr>", "tensor<5x3xf32>", 4, 3),
    "spmm_csc_dense": _matmul("tensor<4x5xf32, #csc>", "tensor<5x3xf32>", 4, 3),
    "spmm_dense_csr": _matmul("tensor<4x5xf32>", "tensor<5x3xf32, #csr>", 4, 3),
    "spmm_csr_csr": _matmul("tensor<4x5xf32, #csr>", "tensor<5x3xf32, #csr>", 4, 3),
    "mask_csr_dense": _elementwise("mask", "tensor<4x5xf32, #csr>", "tensor<4x5xf32>", "mulf"),
    "mask_dcsr_dense": _elementwise("mask2", "tensor<4x5xf32, #dcsr>", "tensor<4x5xf32>", "mulf"),
    "scale_rows": _elementwise("scale", "tensor<4x5xf32, #csr>", "tensor<4xf32>", "mulf", "#row"),
    "add_csr_dense": _elementwise("addd", "tensor<4x5xf32, #csr>", "tensor<4x5xf32>", "addf"),
    "add_dcsr_dcsr": _elementwise("adds", "tensor<4x5xf32, #dcsr>", "tensor<4x5xf32, #dcsr>", "addf"),
    "sum_times_dense": _SUM_TIMES_DENSE,
    "spmv_dcsr": _SPMV,
    "spmv_two_dense": _SPMV_TWO_DENSE,  # A's row times two dense vectors: a chain of locates
    "two_outputs": _TWO_OUTPUTS,  # one region, two outputs: one root per output, merged by cse
}


def canonical_paths() -> list[Path]:
    return sorted(CANONICAL.glob("*.mlir"))


def sam_chunks(path: Path) -> list[str]:
    """The ``// -----`` chunks of a lit file that hold sam graphs (not linalg programs)."""
    return [c for c in path.read_text().split("// -----") if '"sam.' in c and "linalg." not in c]


def lowered_variants(text: str) -> list[ir.Module]:
    """``text`` lowered once per legal order of its (single) region."""
    ctx = make_context()
    probe = parse_module(text, ctx)
    run_pipeline(probe, LOWER)
    (graph,) = sam_functions(probe)
    n_orders = len(ir.ArrayAttr(graph.func.attributes["fuseflow.orders"]))
    out = []
    for k in range(n_orders):
        m = parse_module(text, ctx)
        run_pipeline(m, LOWER.replace("convert-linalg-to-sam", f"convert-linalg-to-sam{{orders={k}}}"))
        out.append(m)
    return out


def random_inputs(graph: SamGraph, seed: int) -> list[np.ndarray]:
    """Dense arrays for the graph's tensor arguments, about half zeros, each matrix with one
    empty row (a different row per argument, so that unions see rows only one side has). The
    simulator converts them to each argument's storage format."""
    rng = np.random.default_rng(seed)
    out = []
    for k, arg in enumerate(graph.args):
        shape = tuple(ir.RankedTensorType(arg.type).shape)
        x = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        x[rng.random(shape) < 0.5] = 0.0
        if len(shape) == 2:
            x[(seed + k) % shape[0], :] = 0.0
        out.append(x)
    return out


def simulate_outputs(graph: SamGraph, inputs, engine: str) -> dict:
    """Output name -> (formats, per-level seg/crd arrays, values) of one graph function."""
    res = simulate_graph(GraphSequence([graph_from_func(graph)]), inputs, engine=engine)
    out = {}
    for name, td in res.tensors.items():
        levels = [(lv.format, None if lv.seg is None else lv.seg.tolist(), None if lv.crd is None else lv.crd.tolist())
                  for lv in td.levels]
        out[name] = (levels, np.asarray(td.vals).tolist())
    return out


def assert_well_formed(module: ir.Module) -> None:
    assert module.operation.verify()
    for g in sam_functions(module):
        assert check_loop_nests(g) == [], g.name


def assert_same_results(before: ir.Module, after: ir.Module, seeds=(0, 1, 2), engines=("functional", "compiled")):
    """Every graph function of ``after`` produces exactly (bit for bit, level arrays included)
    the outputs of its namesake in ``before`` on random inputs."""
    old = {g.name: g for g in sam_functions(before)}
    new = {g.name: g for g in sam_functions(after)}
    assert old.keys() == new.keys()
    for name, g in new.items():
        for seed in seeds:
            inputs = random_inputs(g, seed)
            for engine in engines:
                want = simulate_outputs(old[name], inputs, engine)
                got = simulate_outputs(g, inputs, engine)
                assert got == want, f"@{name} seed {seed} engine {engine}"


def clone(module: ir.Module) -> ir.Module:
    return parse_module(print_module(module), module.context)


def op_counts(module: ir.Module) -> dict[str, int]:
    total: dict[str, int] = {}
    for g in sam_functions(module):
        for k, v in g.op_counts().items():
            total[k] = total.get(k, 0) + v
    return total


def tensor_type(shape: str, enc: str | None = None) -> ir.Type:
    """``tensor<{shape}xf32>`` with an optional encoding (needs an active Context)."""
    return ir.Type.parse(f"tensor<{shape}xf32{', ' + enc if enc else ''}>")
