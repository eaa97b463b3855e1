"""Canonical SAM graphs built with ``SamBuilder``: the one definition of the classic kernels.

Each builder function makes one ``func.func`` in the current Context (which must have the sam
dialect loaded). The checked-in copies in ``test/lit/dialects/sam/graphs/`` are these graphs, and
the simulator reads its hand-run kernels from them (``fuseflow.sim.examples``, naming tensors by
``TENSORS``); ``python -m fuseflow.dialects.sam_examples NAME`` prints one::

    func.func @spmv(%arg0: tensor<4x5xf32, #csr>, %arg1: tensor<5xf32>) -> tensor<4xf32> {
      %0 = "sam.root"() : () -> !sam.ref<index>
      %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} ...

Sizes: I = 4, K = 6, J = 5 (distinct so that a dimension mix-up is visible; the block-sparse
SpMM has J = 8, a multiple of its 2 x 2 tiles).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from fuseflow.bindings import ir
from fuseflow.dialects.sam_builder import SamBuilder, build_graph

NI, NK, NJ = 4, 6, 5

CSR = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>"
CSC = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>"
DCSR = "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>"
BSR = ("#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, "
       "d0 mod 2 : dense, d1 mod 2 : dense) }>")
BSC = ("#sparse_tensor.encoding<{ map = (d0, d1) -> (d1 floordiv 2 : dense, d0 floordiv 2 : compressed, "
       "d0 mod 2 : dense, d1 mod 2 : dense) }>")


def _t(shape: str, enc: str | None = None) -> ir.Type:
    return ir.Type.parse(f"tensor<{shape}xf32{', ' + enc if enc else ''}>")


def spmv() -> ir.Module:
    """y(i) = sum_j A(i,j) x(j); A CSR, x and y dense; order i, j.
    x's root is repeated over i; the j loop intersects A's row with x; reduce over j."""
    a_t, x_t, y_t = _t(f"{NI}x{NJ}", CSR), _t(f"{NJ}"), _t(f"{NI}")

    def body(b: SamBuilder, A, x):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        cja, rja = b.fiber_lookup(A, ri, 1, "compressed", "j")
        cjx, rjx = b.fiber_lookup(x, b.repeat(root, ci), 0, "dense", "j")
        _, (ra, rx) = b.intersect([cja, cjx], [rja, rjx], "j")
        y = b.reduce(b.alu("mul", b.array(A, ra), b.array(x, rx)), "add")
        return [b.write_tensor(y_t, [ci], y)]

    return build_graph("spmv", [a_t, x_t], [y_t], body)


def spmv_locate() -> ir.Module:
    """SpMV with a locator: iterate A's row and look each j up in the dense x instead of
    co-iterating x (x's root, repeated over i, is the located level's parent ref)."""
    a_t, x_t, y_t = _t(f"{NI}x{NJ}", CSR), _t(f"{NJ}"), _t(f"{NI}")

    def body(b: SamBuilder, A, x):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        cj, rja = b.fiber_lookup(A, ri, 1, "compressed", "j")
        ra, rx, _ = b.locate(x, cj, rja, b.repeat(root, ci), 0, "j")
        y = b.reduce(b.alu("mul", b.array(A, ra), b.array(x, rx)), "add")
        return [b.write_tensor(y_t, [ci], y)]

    return build_graph("spmv_locate", [a_t, x_t], [y_t], body)


def spmv_par2() -> ir.Module:
    """SpMV parallelized over i with 2 lanes: fork A's i-level crd and ref streams, run the j
    loop per lane, join the row results and the row coordinates (depth 0: each forked i token
    yields one token) before the writers."""
    a_t, x_t, y_t = _t(f"{NI}x{NJ}", CSR), _t(f"{NJ}"), _t(f"{NI}")

    def body(b: SamBuilder, A, x):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        ci_lanes, ys = b.fork(ci, 2), []
        for ci_l, ri_l in zip(ci_lanes, b.fork(ri, 2), strict=True):
            cja, rja = b.fiber_lookup(A, ri_l, 1, "compressed", "j")
            cjx, rjx = b.fiber_lookup(x, b.repeat(root, ci_l), 0, "dense", "j")
            _, (ra, rx) = b.intersect([cja, cjx], [rja, rjx], "j")
            ys.append(b.reduce(b.alu("mul", b.array(A, ra), b.array(x, rx)), "add"))
        return [b.write_tensor(y_t, [b.join(ci_lanes, 0)], b.join(ys, 0))]

    return build_graph("spmv_par2", [a_t, x_t], [y_t], body)


def spmm_ijk() -> ir.Module:
    """C(i,j) = sum_k A(i,k) B(k,j); A CSR, B CSC, C dense; order i, j, k (inner product).
    B's root is repeated over i, A's i-ref over j; k is intersected and reduced."""
    a_t, b_t, c_t = _t(f"{NI}x{NK}", CSR), _t(f"{NK}x{NJ}", CSC), _t(f"{NI}x{NJ}")

    def body(b: SamBuilder, A, B):
        ci, cj, c = _inner_product(b, A, B)
        return [b.write_tensor(c_t, [ci, cj], c)]

    return build_graph("spmm_ijk", [a_t, b_t], [c_t], body)


def _inner_product(b: SamBuilder, A, B, tile: tuple[int, ...] = ()):
    """The i, j, k loops of SpMM as an inner product (on ``tile``-shaped values if given): the
    i and j crd streams and the products reduced over k."""
    root = b.root()
    ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
    cj, rjb = b.fiber_lookup(B, b.repeat(root, ci), 0, "dense", "j")
    cka, rka = b.fiber_lookup(A, b.repeat(ri, cj), 1, "compressed", "k")
    ckb, rkb = b.fiber_lookup(B, rjb, 1, "compressed", "k")
    _, (ra, rb) = b.intersect([cka, ckb], [rka, rkb], "k")
    return ci, cj, b.reduce(b.alu("matmul" if tile else "mul", b.array(A, ra, tile), b.array(B, rb, tile)), "add")


def bspmm_ijk() -> ir.Module:
    """C(i,j) = sum_k A(i,k) B(k,j) on 2 x 2 tiles; A, C BSR, B BSC; order i, j, k over blocks.
    The wiring of ``spmm_ijk`` with tile values: the ALU is a tile matmul, the reduce adds tiles,
    and the output's two block levels are written (its tile levels are the values)."""
    nj = 8
    a_t, b_t, c_t = _t(f"{NI}x{NK}", BSR), _t(f"{NK}x{nj}", BSC), _t(f"{NI}x{nj}", BSR)

    def body(b: SamBuilder, A, B):
        ci, cj, c = _inner_product(b, A, B, (2, 2))
        levels = [b.fiber_write(ci, 0, "dense"), b.fiber_write(cj, 1, "compressed")]
        return [b.output(c_t, levels, b.val_write(c))]

    return build_graph("bspmm_ijk", [a_t, b_t], [c_t], body)


def spmm_ikj() -> ir.Module:
    """C(i,j) = sum_k A(i,k) B(k,j); A, B, C CSR; order i, k, j (Gustavson).
    B's root is repeated over i, A's value ref over j; k is not innermost: spacc of order 1
    accumulates the j fibers over k per row i."""
    a_t, b_t, c_t = _t(f"{NI}x{NK}", CSR), _t(f"{NK}x{NJ}", CSR), _t(f"{NI}x{NJ}", CSR)

    def body(b: SamBuilder, A, B):
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        cka, rka = b.fiber_lookup(A, ri, 1, "compressed", "k")
        ckb, rkb = b.fiber_lookup(B, b.repeat(root, ci), 0, "dense", "k")
        ck, (ra, rb) = b.intersect([cka, ckb], [rka, rkb], "k")
        cj, rjb = b.fiber_lookup(B, rb, 1, "compressed", "j")
        prod = b.alu("mul", b.array(A, b.repeat(ra, cj)), b.array(B, rjb))
        (cj_out,), c = b.spacc([cj, ck], prod)
        return [b.write_tensor(c_t, [ci, cj_out], c)]

    return build_graph("spmm_ikj", [a_t, b_t], [c_t], body)


def spmm_kij() -> ir.Module:
    """C(i,j) = sum_k A(i,k) B(k,j); A CSC, B CSR, C DCSR; order k, i, j (outer product).
    B's k-ref is repeated over i, A's value ref over j; spacc of order 2 accumulates the (i, j)
    entries over k (crd streams passed at their own loop levels: j, i, k)."""
    a_t, b_t, c_t = _t(f"{NI}x{NK}", CSC), _t(f"{NK}x{NJ}", CSR), _t(f"{NI}x{NJ}", DCSR)

    def body(b: SamBuilder, A, B):
        root = b.root()
        cka, rka = b.fiber_lookup(A, root, 0, "dense", "k")
        ckb, rkb = b.fiber_lookup(B, root, 0, "dense", "k")
        ck, (ra, rb) = b.intersect([cka, ckb], [rka, rkb], "k")
        ci, ria = b.fiber_lookup(A, ra, 1, "compressed", "i")
        cj, rjb = b.fiber_lookup(B, b.repeat(rb, ci), 1, "compressed", "j")
        prod = b.alu("mul", b.array(A, b.repeat(ria, cj)), b.array(B, rjb))
        (cj_out, ci_out), c = b.spacc([cj, ci, ck], prod)
        return [b.write_tensor(c_t, [ci_out, cj_out], c)]

    return build_graph("spmm_kij", [a_t, b_t], [c_t], body)


def sddmm() -> ir.Module:
    """C(i,j) = S(i,j) * sum_k A(i,k) B(j,k); S, C CSR, A and B dense; order i, j, k.
    S's sparsity drives i and j (intersections), A's i-ref is repeated over j, B's root over i;
    the dot product over k is reduced and scaled by S's value."""
    s_t, a_t, b_t, c_t = _t(f"{NI}x{NJ}", CSR), _t(f"{NI}x{NK}"), _t(f"{NJ}x{NK}"), _t(f"{NI}x{NJ}", CSR)

    def body(b: SamBuilder, S, A, B):
        root = b.root()
        cis, ris = b.fiber_lookup(S, root, 0, "dense", "i")
        cia, ria = b.fiber_lookup(A, root, 0, "dense", "i")
        ci, (rs_i, ra_i) = b.intersect([cis, cia], [ris, ria], "i")
        cjs, rjs = b.fiber_lookup(S, rs_i, 1, "compressed", "j")
        cjb, rjb = b.fiber_lookup(B, b.repeat(root, ci), 0, "dense", "j")
        cj, (rs, rb_j) = b.intersect([cjs, cjb], [rjs, rjb], "j")
        cka, rka = b.fiber_lookup(A, b.repeat(ra_i, cj), 1, "dense", "k")
        ckb, rkb = b.fiber_lookup(B, rb_j, 1, "dense", "k")
        _, (ra, rb) = b.intersect([cka, ckb], [rka, rkb], "k")
        dot = b.reduce(b.alu("mul", b.array(A, ra), b.array(B, rb)), "add")
        c = b.alu("mul", b.array(S, rs), dot)
        return [b.write_tensor(c_t, [ci, cj], c)]

    return build_graph("sddmm", [s_t, a_t, b_t], [c_t], body)


def _elementwise(name: str, joiner: str, alu: str, out_enc: str, drop: bool) -> ir.Module:
    a_t, b_t, c_t = _t(f"{NI}x{NJ}", CSR), _t(f"{NI}x{NJ}", CSR), _t(f"{NI}x{NJ}", out_enc)

    def body(b: SamBuilder, A, B):
        join = getattr(b, joiner)
        root = b.root()
        cia, ria = b.fiber_lookup(A, root, 0, "dense", "i")
        cib, rib = b.fiber_lookup(B, root, 0, "dense", "i")
        ci, (ra_i, rb_i) = join([cia, cib], [ria, rib], "i")
        cja, rja = b.fiber_lookup(A, ra_i, 1, "compressed", "j")
        cjb, rjb = b.fiber_lookup(B, rb_i, 1, "compressed", "j")
        cj, (ra, rb) = join([cja, cjb], [rja, rjb], "j")
        c = b.alu(alu, b.array(A, ra), b.array(B, rb))
        if drop:
            ci, cj = b.crd_drop(ci, cj)
        return [b.write_tensor(c_t, [ci, cj], c)]

    return build_graph(name, [a_t, b_t], [c_t], body)


def add() -> ir.Module:
    """C = A + B elementwise; A, B, C CSR; union over i and j (absent side reads 0)."""
    return _elementwise("add", "union", "add", CSR, drop=False)


def mul() -> ir.Module:
    """C = A * B elementwise; A, B CSR, C DCSR; intersect over i and j, then crd_drop removes
    the rows whose intersection is empty before the compressed row level is written."""
    return _elementwise("mul", "intersect", "mul", DCSR, drop=True)


GRAPHS: dict[str, Callable[[], ir.Module]] = {
    "spmv": spmv,
    "spmv_locate": spmv_locate,
    "spmv_par2": spmv_par2,
    "spmm_ijk": spmm_ijk,
    "bspmm_ijk": bspmm_ijk,
    "spmm_ikj": spmm_ikj,
    "spmm_kij": spmm_kij,
    "sddmm": sddmm,
    "add": add,
    "mul": mul,
}

# Each graph's tensors as in its formula, arguments then the result: (name, indices). The
# simulator binds a graph's inputs by these names and sizes its output from them.
_SPMV = (("A", "ij"), ("x", "j"), ("out", "i"))
_SPMM = (("A", "ik"), ("B", "kj"), ("out", "ij"))
_ELEMENTWISE = (("A", "ij"), ("B", "ij"), ("out", "ij"))
TENSORS: dict[str, tuple[tuple[str, str], ...]] = {
    "spmv": _SPMV,
    "spmv_locate": _SPMV,
    "spmv_par2": _SPMV,
    "spmm_ijk": _SPMM,
    "bspmm_ijk": _SPMM,
    "spmm_ikj": _SPMM,
    "spmm_kij": _SPMM,
    "sddmm": (("S", "ij"), ("A", "ik"), ("B", "jk"), ("out", "ij")),
    "add": _ELEMENTWISE,
    "mul": _ELEMENTWISE,
}


def main(argv: list[str] | None = None) -> int:
    from fuseflow.bindings import print_module
    from fuseflow.context import make_context

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in GRAPHS:
        sys.stderr.write(f"usage: python -m fuseflow.dialects.sam_examples {{{','.join(GRAPHS)}}}\n")
        return 2
    with make_context(), ir.Location.unknown():
        module = GRAPHS[argv[0]]()
        if not module.operation.verify():
            return 1
        sys.stdout.write(print_module(module))
    return 0


if __name__ == "__main__":
    sys.exit(main())
