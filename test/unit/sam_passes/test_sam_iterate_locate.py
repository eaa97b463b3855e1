"""sam-iterate-locate on graphs built with SamBuilder: when an intersect becomes a locate."""

from __future__ import annotations

from sam_pass_cases import LINALG_CASES, assert_well_formed, lowered_variants, op_counts
from sam_pass_cases import tensor_type as _t

from fuseflow.bindings import ir, print_module
from fuseflow.dialects import sam_examples
from fuseflow.dialects.sam import level_size
from fuseflow.dialects.sam_builder import build_graph
from fuseflow.dialects.sam_graph import sam_functions
from fuseflow.passes import get_pass, run_pipeline
from fuseflow.passes.sam_iterate_locate import crd_bound

CSR = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>"
CSC = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>"
BSR = ("#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, "
       "d0 mod 2 : dense, d1 mod 2 : dense) }>")


def _locate(module) -> None:
    run_pipeline(module, "builtin.module(sam-iterate-locate)")
    assert_well_formed(module)


def _body_text(module) -> list[str]:
    """The printed ops of the module's single graph (the function header left out)."""
    (g,) = sam_functions(module)
    return [str(op) for op in g.ops]


def test_registered_with_docstring():
    cls = get_pass("sam-iterate-locate")
    assert cls is not None and "Preconditions" in cls.__doc__ and "Guarantees after" in cls.__doc__
    assert cls.options == {}


def test_spmv_becomes_the_canonical_locate_graph(ctx):
    m = sam_examples.spmv()
    _locate(m)
    assert _body_text(m) == _body_text(sam_examples.spmv_locate())


def _spmv(x_size: int = 5, dense_first: bool = False, extra_use: bool = False, a_cols: int = 5):
    a_t, x_t, y_t = _t(f"4x{a_cols}", CSR), _t(f"{x_size}"), _t("4")

    def body(b, A, x):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        ca, ra = b.fiber_lookup(A, ri, 1, "compressed", "j")
        cx, rx = b.fiber_lookup(x, b.repeat(root, ci), 0, "dense", "j")
        pairs = [(cx, rx), (ca, ra)] if dense_first else [(ca, ra), (cx, rx)]
        cj, outs = b.intersect([p[0] for p in pairs], [p[1] for p in pairs], "j")
        ra2, rx2 = outs[::-1] if dense_first else outs
        y = b.reduce(b.alu("mul", b.array(A, ra2), b.array(x, rx2)), "add")
        outs_ = [b.write_tensor(y_t, [ci], y)]
        if extra_use:
            b.array(x, rx)  # a second reader of the dense scanner's ref
        return outs_

    return build_graph("spmv", [a_t, x_t], [y_t], body)


def test_dense_input_first_is_rewired_by_position(ctx):
    m = _spmv(dense_first=True)
    _locate(m)
    counts = op_counts(m)
    assert counts["sam.locate"] == 1 and "sam.intersect" not in counts
    g = sam_functions(m)[0]
    loc = next(op for op in g.ops if op.name == "sam.locate")
    A, x = g.args
    scan_a = next(op for op in g.ops if op.name == "sam.fiber_lookup" and op.operands[0] == A
                  and ir.IntegerAttr(op.attributes["level"]).value == 1)
    assert list(loc.operands)[:3] == [x, scan_a.results[0], scan_a.results[1]]
    loads = {op.operands[0]: op.operands[1] for op in g.ops if op.name == "sam.array"}
    assert loads[A] == loc.results[0] and loads[x] == loc.results[1]


def test_scanner_with_another_user_is_kept(ctx):
    m = _spmv(extra_use=True)
    before = print_module(m)
    _locate(m)
    assert print_module(m) == before


def test_iterated_side_wider_than_the_dense_level_is_kept(ctx):
    m = _spmv(x_size=5, a_cols=6)
    before = print_module(m)
    _locate(m)
    assert print_module(m) == before


def test_narrower_iterated_side_is_rewritten(ctx):
    m = _spmv(x_size=6, a_cols=5)
    _locate(m)
    assert op_counts(m)["sam.locate"] == 1


def test_two_dense_inputs_are_kept(ctx):
    m = sam_examples.sddmm()
    _locate(m)
    g = sam_functions(m)[0]
    inter = [ir.StringAttr(op.attributes["index"]).value for op in g.ops if op.name == "sam.intersect"]
    # i (S dense, A dense) and k (A dense, B dense) stay; j (S compressed, B dense) is located
    assert inter == ["i", "k"]
    assert op_counts(m)["sam.locate"] == 1


def test_unions_and_compressed_pairs_are_kept(ctx):
    for build in (sam_examples.add, sam_examples.mul, sam_examples.spmm_ijk, sam_examples.spmm_kij):
        m = build()
        before = print_module(m)
        _locate(m)
        assert print_module(m) == before, build.__name__


def test_level_sizes_follow_the_storage_order(ctx):
    assert [level_size(_t("4x5", CSR), lv) for lv in (0, 1)] == [4, 5]
    assert [level_size(_t("4x5", CSC), lv) for lv in (0, 1)] == [5, 4]
    assert level_size(_t("4x5"), 1) == 5
    # a blocked level has a coordinate per block, an in-block level one per position in the block
    assert [level_size(_t("4x4", BSR), lv) for lv in range(4)] == [2, 2, 2, 2]
    assert [level_size(_t("8x4", BSR), lv) for lv in range(4)] == [4, 2, 2, 2]
    assert level_size(_t("4x5", CSR), 2) is None
    assert [level_size(_t("?x5"), lv) for lv in (0, 1)] == [None, 5]


def test_crd_bounds_through_joiners(ctx):
    m = sam_examples.add()  # union of two CSR 4x5 matrices at i and j
    g = sam_functions(m)[0]
    unions = [op for op in g.ops if op.name == "sam.union"]
    assert [crd_bound(u.results[0]) for u in unions] == [4, 5]
    m = sam_examples.spmm_ikj()
    g = sam_functions(m)[0]
    spacc = next(op for op in g.ops if op.name == "sam.spacc")
    assert crd_bound(spacc.results[0]) == crd_bound(spacc.operands[0]) is not None
    assert crd_bound(g.args[0]) is None


def test_idempotent(ctx):
    m = _spmv()
    _locate(m)
    once = print_module(m)
    _locate(m)
    assert print_module(m) == once


def test_two_dense_inputs_beside_a_sparse_one_become_a_locate_chain(ctx):
    """y(i) = sum_j A(i,j) x(j) z(j): A's row is iterated, x and z are located in turn."""
    a_t, v_t, y_t = _t("4x5", CSR), _t("5"), _t("4")

    def body(b, A, x, z):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        ca, ra = b.fiber_lookup(A, ri, 1, "compressed", "j")
        cx, rx = b.fiber_lookup(x, b.repeat(root, ci), 0, "dense", "j")
        cz, rz = b.fiber_lookup(z, b.repeat(root, ci), 0, "dense", "j")
        _, (rx2, ra2, rz2) = b.intersect([cx, ca, cz], [rx, ra, rz], "j")
        p = b.alu("mul", b.alu("mul", b.array(A, ra2), b.array(x, rx2)), b.array(z, rz2))
        return [b.write_tensor(y_t, [ci], b.reduce(p, "add"))]

    m = build_graph("spmv3", [a_t, v_t, v_t], [y_t], body)
    _locate(m)
    g = sam_functions(m)[0]
    A, x, z = g.args
    counts = op_counts(m)
    assert "sam.intersect" not in counts and counts["sam.locate"] == 2 and counts["sam.fiber_lookup"] == 2
    first, second = [op for op in g.ops if op.name == "sam.locate"]
    assert first.operands[0] == x and second.operands[0] == z
    assert second.operands[1] == first.results[2] and second.operands[2] == first.results[0]
    loads = {op.operands[0]: op.operands[1] for op in g.ops if op.name == "sam.array"}
    assert loads == {A: second.results[0], x: first.results[1], z: second.results[1]}


def test_lowered_self_intersect_with_a_dense_input_leaves_no_intersect():
    """The lowering's intersect(u, u, x) for (A + B) * X at j: x is located in the union u,
    and the remaining intersect(u, u) of one N-free stream with itself is removed. (At i every
    operand is dense: the lowering needs no joiner there.)"""
    (m,) = lowered_variants(LINALG_CASES["sum_times_dense"])
    assert op_counts(m)["sam.intersect"] == 1
    _locate(m)
    counts = op_counts(m)
    assert "sam.intersect" not in counts and counts["sam.locate"] == 1 and counts["sam.union"] == 1
