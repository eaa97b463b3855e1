"""Hand-built SAM graphs of the classic sparse kernels (tests, benchmarks, examples).

Each function returns a ``Graph`` whose inputs are named as in the kernel's formula and whose
output is named ``"out"``. Dataflow orders follow SAM_SEMANTICS.md section 4: an operand that
does not index a loop is broadcast over it with a repeat; co-iterated operands meet in an
intersect (multiplied) or union (added).
"""

from __future__ import annotations

from fuseflow.sim.graph import Graph, GraphBuilder


def spmv() -> Graph:
    """``out(i) = A(i,j) * x(j)``; A CSR, x dense; order i, j with reduce."""
    b = GraphBuilder("spmv")
    A, x = b.input("A", "dc"), b.input("x", "d")
    out = b.output("out", "d", (("A", 0),))
    i_crd, a_i = b.fiber_lookup(b.root(), A, 0)
    j_a, a_ref = b.fiber_lookup(a_i, A, 1)
    x_root = b.repeat(b.root(), b.repeat_sig_gen(i_crd))
    j_x, x_ref = b.fiber_lookup(x_root, x, 0)
    _, (a2, x2) = b.intersect([(j_a, a_ref), (j_x, x_ref)])
    v = b.reduce(b.alu("mul", b.array(a2, A), b.array(x2, x)))
    b.fiber_write(i_crd, out, 0)
    b.val_write(v, out)
    return b.build()


def spmm_ijk(block: int = 0) -> Graph:
    """``out(i,j) = A(i,k) * B(k,j)``; A CSR, B CSC; order i, j, k with reduce. With ``block``
    the operands are block-sparse (BSR / BSC with ``block`` x ``block`` tiles) and the ALU is a
    tile matmul."""
    b = GraphBuilder("spmm_ijk" if not block else f"bspmm_ijk_b{block}")
    A, B = b.input("A", "dc", block=block), b.input("B", "dc", order=(1, 0), block=block)
    out = b.output("out", "dc", (("A", 0), ("B", 1)), block=block)
    i_crd, a_i = b.fiber_lookup(b.root(), A, 0)
    j_crd, b_j = b.fiber_lookup(b.repeat(b.root(), b.repeat_sig_gen(i_crd)), B, 0)
    a_rep = b.repeat(a_i, b.repeat_sig_gen(j_crd))
    k_a, a_ref = b.fiber_lookup(a_rep, A, 1)
    k_b, b_ref = b.fiber_lookup(b_j, B, 1)
    _, (a2, b2) = b.intersect([(k_a, a_ref), (k_b, b_ref)])
    v = b.reduce(b.alu("matmul" if block else "mul", b.array(a2, A), b.array(b2, B)))
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(v, out)
    return b.build()


def spmm_ikj() -> Graph:
    """``out(i,j) = A(i,k) * B(k,j)``; A, B CSR; order i, k, j with spacc order 1."""
    b = GraphBuilder("spmm_ikj")
    A, B = b.input("A", "dc"), b.input("B", "dc")
    out = b.output("out", "dc", (("A", 0), ("B", 1)))
    i_crd, a_i = b.fiber_lookup(b.root(), A, 0)
    k_a, a_ref = b.fiber_lookup(a_i, A, 1)
    k_b, b_k = b.fiber_lookup(b.repeat(b.root(), b.repeat_sig_gen(i_crd)), B, 0)
    k_crd, (a2, b_k2) = b.intersect([(k_a, a_ref), (k_b, b_k)])
    j_crd, b_ref = b.fiber_lookup(b_k2, B, 1)
    a_val = b.repeat(b.array(a2, A), b.repeat_sig_gen(j_crd))
    v = b.alu("mul", a_val, b.array(b_ref, B))
    j_out, v_out = b.spacc1(j_crd, k_crd, v)
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_out, out, 1)
    b.val_write(v_out, out)
    return b.build()


def spmm_kij() -> Graph:
    """``out(i,j) = A(i,k) * B(k,j)``; A CSC, B CSR; order k, i, j with spacc order 2;
    the output is DCSR (both levels compressed)."""
    b = GraphBuilder("spmm_kij")
    A, B = b.input("A", "dc", order=(1, 0)), b.input("B", "dc")
    out = b.output("out", "cc", (("A", 0), ("B", 1)))
    k_a, a_k = b.fiber_lookup(b.root(), A, 0)
    k_b, b_k = b.fiber_lookup(b.root(), B, 0)
    k_crd, (a_k2, b_k2) = b.intersect([(k_a, a_k), (k_b, b_k)])
    i_crd, a_ref = b.fiber_lookup(a_k2, A, 1)
    j_crd, b_ref = b.fiber_lookup(b.repeat(b_k2, b.repeat_sig_gen(i_crd)), B, 1)
    a_val = b.repeat(b.array(a_ref, A), b.repeat_sig_gen(j_crd))
    v = b.alu("mul", a_val, b.array(b_ref, B))
    j_out, i_out, v_out = b.spacc2(j_crd, i_crd, k_crd, v)
    b.fiber_write(i_out, out, 0)
    b.fiber_write(j_out, out, 1)
    b.val_write(v_out, out)
    return b.build()


def sddmm() -> Graph:
    """``out(i,j) = M(i,j) * A(i,k) * B(k,j)``; M, A CSR, B CSC; order i, j, k with reduce."""
    b = GraphBuilder("sddmm")
    M, A, B = b.input("M", "dc"), b.input("A", "dc"), b.input("B", "dc", order=(1, 0))
    out = b.output("out", "dc", (("M", 0), ("M", 1)))
    i_m, m_i = b.fiber_lookup(b.root(), M, 0)
    i_a, a_i = b.fiber_lookup(b.root(), A, 0)
    i_crd, (m_i2, a_i2) = b.intersect([(i_m, m_i), (i_a, a_i)])
    j_m, m_ref = b.fiber_lookup(m_i2, M, 1)
    j_b, b_j = b.fiber_lookup(b.repeat(b.root(), b.repeat_sig_gen(i_crd)), B, 0)
    j_crd, (m_ref2, b_j2) = b.intersect([(j_m, m_ref), (j_b, b_j)])
    k_a, a_ref = b.fiber_lookup(b.repeat(a_i2, b.repeat_sig_gen(j_crd)), A, 1)
    k_b, b_ref = b.fiber_lookup(b_j2, B, 1)
    _, (a2, b2) = b.intersect([(k_a, a_ref), (k_b, b_ref)])
    dot = b.reduce(b.alu("mul", b.array(a2, A), b.array(b2, B)))
    v = b.alu("mul", b.array(m_ref2, M), dot)
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(v, out)
    return b.build()


def _elementwise(name: str, join: str, op: str, out_fmt: str) -> Graph:
    b = GraphBuilder(name)
    A, B = b.input("A", "dc"), b.input("B", "dc")
    out = b.output("out", out_fmt, (("A", 0), ("A", 1)))
    joiner = b.union if join == "union" else b.intersect
    i_a, a_i = b.fiber_lookup(b.root(), A, 0)
    i_b, b_i = b.fiber_lookup(b.root(), B, 0)
    i_crd, (a_i2, b_i2) = joiner([(i_a, a_i), (i_b, b_i)])
    j_a, a_ref = b.fiber_lookup(a_i2, A, 1)
    j_b, b_ref = b.fiber_lookup(b_i2, B, 1)
    j_crd, (a2, b2) = joiner([(j_a, a_ref), (j_b, b_ref)])
    v = b.alu(op, b.array(a2, A), b.array(b2, B))
    if out_fmt == "cc":
        i_crd, j_crd = b.crd_drop(i_crd, j_crd)
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(v, out)
    return b.build()


def sparse_add() -> Graph:
    """``out(i,j) = A(i,j) + B(i,j)``; union at both levels."""
    return _elementwise("sparse_add", "union", "add", "dc")


def sparse_mul(out_fmt: str = "dc") -> Graph:
    """``out(i,j) = A(i,j) * B(i,j)``; intersect at both levels (``"cc"``: DCSR output through
    crd_drop)."""
    return _elementwise("sparse_mul", "intersect", "mul", out_fmt)


CANONICAL = {
    "spmv": spmv,
    "spmm_ijk": spmm_ijk,
    "spmm_ikj": spmm_ikj,
    "spmm_kij": spmm_kij,
    "sddmm": sddmm,
    "sparse_add": sparse_add,
    "sparse_mul": sparse_mul,
}
