"""TACO-like sparse-kernel schedule spaces, of the shape BaCO tunes (arXiv 2212.11142, Sec. 6).

Each space has a permutation of 5 loops (two loops split into an outer and an inner part, plus
the sparse operand's levels), 6-7 ordinal and categorical knobs (chunk sizes, unroll factor,
OpenMP scheduling and chunk, thread count, a layout), known constraints (the split loops stay
nested, a compressed level is iterated inside its parent, unrolling stays within its loop,
every thread gets a chunk, an even thread count) and hidden failures (code too large to
compile, a run over its time limit, out of memory). Their costs are analytic models of a
multicore run, in microseconds, built from what makes such schedules fast or slow:

* loop order against the operands' level order: the innermost loop should walk a dense
  operand contiguously (vectorized); walking it with a stride wastes cache lines and vector
  lanes; a dense loop outside the sparse operand's loops re-reads the sparse operand once per
  iteration;
* cache-sized tiles: the working set of the innermost tile (a chunk of rows times a chunk of
  columns and the dense rows it touches) against a 1 MiB private cache (shared by two hardware
  threads past 16 threads), with a per-tile loop overhead that punishes tiny tiles;
* parallel load balance: the outermost loop is the parallel one; power-law row lengths make
  static scheduling of few large units unbalanced, dynamic scheduling pays per dispatched unit,
  guided sits between; compute scales to the 16 cores (hardware threads past them add a quarter
  each) and memory bandwidth saturates near 10 threads, while forking and joining the team
  costs more with every thread;
* unrolling speeds the innermost loop up until registers spill.

The optimum is found by enumerating the feasible space (a few seconds).
"""

from __future__ import annotations

import math

from fuseflow import tune

POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256]
L2_BYTES = 1 << 20
ROW_SKEW = 1.6  # coefficient of variation of the sparse rows' lengths (power law)


CORES = 16  # physical cores; 17-32 threads share them (two hardware threads per core)


def _speedups(threads: int) -> tuple[float, float]:
    """(compute, memory) parallel speedups: hardware threads past the cores add little
    compute, and memory bandwidth saturates near 10 threads."""
    compute = min(threads, CORES) + 0.25 * max(0, threads - CORES)
    return compute, threads / (1.0 + threads / 10.0)


def _time(compute: float, memory: float, overhead: float, imbalance: float, dispatch: float,
          threads: int) -> float:
    s_compute, s_memory = _speedups(threads)
    fork_join = 20.0 * threads  # starting the team and the closing barrier
    return (compute / s_compute + memory / s_memory + overhead / threads) * imbalance + dispatch + fork_join


def _balance(units: float, threads: int, sched: str, unit_rows: float) -> tuple[float, float]:
    """(imbalance factor >= 1, scheduling overhead in us) of ``units`` parallel units of
    ``unit_rows`` sparse rows each over ``threads`` threads."""
    if units < 1:
        return math.inf, 0.0
    per = units / threads
    quant = math.ceil(per) / per if per >= 1 else threads / units  # idle threads
    skew = ROW_SKEW / math.sqrt(max(unit_rows * per, 1.0))  # a thread's load varies this much
    if sched == "static":
        return quant * (1 + 1.5 * skew), 0.0
    if sched == "dynamic":
        return quant * (1 + 0.15 * skew) * (1 + 0.5 / max(per, 1)), 0.4 * units / threads
    return quant * (1 + 0.5 * skew), 0.4 * math.log2(units + 1)  # guided


def _cache_factor(working_set: float) -> float:
    """Memory-time multiplier of a tile's working set against the private cache."""
    return 1.0 + 0.6 * max(0.0, math.log2(working_set / L2_BYTES))


def _unroll_factor(unroll: int, vector: bool) -> float:
    """Compute-time multiplier of unrolling the innermost loop (spills past 8)."""
    gain = 1.0 / (1.0 + (1.2 if vector else 0.5) / unroll)
    spill = 1.0 + 0.25 * max(0, math.log2(unroll) - 3)
    return spill / gain


# -- SpMM: C(i,j) = A(i,k) * B(k,j), A CSR (rows i dense, k compressed), B and C dense row-major --

SPMM_N, SPMM_J, SPMM_NNZ_ROW = 8192, 256, 16


def _spmm_cost(p: dict) -> float:
    order, ci, cj, unroll = p["order"], p["chunk_i"], p["chunk_j"], p["unroll"]
    sched, oc, threads = p["omp_sched"], p["omp_chunk"], p["threads"]
    if unroll * cj > 512:
        raise tune.Infeasible("compiler timeout: unrolled loop body too large")
    if sched == "dynamic" and oc == 1 and threads >= 16:
        raise tune.Infeasible("run over the time limit: dispatch contention")
    n, J, nnz_row = SPMM_N, SPMM_J, SPMM_NNZ_ROW
    nnz = n * nnz_row
    flops = nnz * J
    inner = order[-1]
    # innermost j1 walks B and C rows contiguously (vectorized); innermost k gathers B columns
    vector = inner == "j1"
    compute = flops * (0.25e-3 if vector else 1.1e-3) * _unroll_factor(unroll, vector)
    # B rows touched by a tile of ci rows, cj columns wide; C tile
    ws = (cj * 8 * min(ci * nnz_row, n) + ci * cj * 8) * (2 if threads > CORES else 1)
    b_traffic = nnz * J * 8 * (1.0 if vector else 4.0)  # strided walks waste cache lines
    a_rereads = 1.0
    if order.index("j0") < order.index("i0"):
        a_rereads = J / cj  # the sparse operand is re-read for every column chunk
    elif order.index("j0") < order.index("k"):
        a_rereads = 1 + 0.1 * (J / cj)  # row pointers re-walked per column chunk
    memory = (b_traffic * _cache_factor(ws) + nnz * 12 * a_rereads) * 0.4e-3 / 8
    tiles = (n / ci) * (J / cj)
    overhead = tiles * 0.02
    if order[0] == "i0":
        units, unit_rows = n / ci / oc, ci * oc
    else:  # j0 outermost: columns chunks in parallel, every thread walks all rows
        units, unit_rows = J / cj / oc, n
    imb, dispatch = _balance(units, threads, sched, unit_rows)
    return _time(compute, memory, overhead, imb, dispatch, threads)


def spmm_space_and_cost() -> tuple[tune.Space, callable]:
    space = tune.Space(
        [tune.Permutation("order", ["i0", "i1", "k", "j0", "j1"]),
         tune.Ordinal("chunk_i", POW2[:8], default=16),
         tune.Ordinal("chunk_j", POW2[2:], default=32),
         tune.Ordinal("unroll", [1, 2, 4, 8, 16], default=1),
         tune.Categorical("omp_sched", ["static", "dynamic", "guided"]),
         tune.Ordinal("omp_chunk", POW2, default=1),
         tune.Integer("threads", 1, 32, default=8)],
        constraints=[
            "before(order, 'i0', 'i1')", "before(order, 'j0', 'j1')",
            "before(order, 'i1', 'k')",  # A is CSR: its compressed k level lies inside i
            "threads % 2 == 0",
            "unroll <= chunk_j",
            f"omp_chunk * threads <= {SPMM_N} // chunk_i",
        ])
    return space, _spmm_cost


# -- SDDMM: C(i,j) = B(i,j) * A(i,k) * D(j,k), B CSR, A dense row-major, D dense (layout knob) --

SDDMM_N, SDDMM_K, SDDMM_NNZ_ROW = 8192, 256, 24


def _sddmm_cost(p: dict) -> float:
    order, ci, ck, unroll = p["order"], p["chunk_i"], p["chunk_k"], p["unroll"]
    sched, oc, threads, layout = p["omp_sched"], p["omp_chunk"], p["threads"], p["layout_d"]
    if unroll * ck > 1024:
        raise tune.Infeasible("compiler timeout: unrolled loop body too large")
    if layout == "col" and ck >= 128 and threads >= 16:
        raise tune.Infeasible("out of memory: a transposed copy of D per thread")
    n, K, nnz_row = SDDMM_N, SDDMM_K, SDDMM_NNZ_ROW
    nnz = n * nnz_row
    flops = nnz * K
    inner = order[-1]
    # k1 innermost: dot products of A and D rows; contiguous when D is row-major. j innermost:
    # a gather over the row's nonzeros, contiguous in D only when D is column-major.
    if inner == "k1":
        vector, stride = layout == "row", 1.0 if layout == "row" else 6.0
    else:  # j innermost
        vector, stride = False, 2.0 if layout == "col" else 8.0
    compute = flops * (0.22e-3 if vector else 0.9e-3) * _unroll_factor(unroll, vector)
    ws = (ci * ck * 8 + min(ci * nnz_row, n) * ck * 8) * (2 if threads > CORES else 1)
    d_traffic = nnz * K * 8 * stride
    passes = 1.0
    if order.index("k0") < order.index("j"):
        passes = K / ck  # partial dot products written back to C per k chunk
    memory = (d_traffic * _cache_factor(ws) + nnz * 16 * passes) * 0.4e-3 / 8
    if order.index("k0") < order.index("i0"):
        memory *= 1.0 + 0.3 * (K / ck) ** 0.5  # A rows streamed again per k chunk
    tiles = (n / ci) * (K / ck)
    overhead = tiles * 0.015
    if order[0] == "i0":
        units, unit_rows = n / ci / oc, ci * oc
    else:  # k0 outermost: k chunks in parallel, a reduction into C: atomic updates
        units, unit_rows = K / ck / oc, n
        overhead += nnz * (K / ck) * 0.002
    imb, dispatch = _balance(units, threads, sched, unit_rows)
    return _time(compute, memory, overhead, imb, dispatch, threads)


def sddmm_space_and_cost() -> tuple[tune.Space, callable]:
    space = tune.Space(
        [tune.Permutation("order", ["i0", "i1", "j", "k0", "k1"]),
         tune.Ordinal("chunk_i", POW2[:8], default=16),
         tune.Ordinal("chunk_k", POW2[2:], default=32),
         tune.Ordinal("unroll", [1, 2, 4, 8, 16], default=1),
         tune.Categorical("omp_sched", ["static", "dynamic", "guided"]),
         tune.Ordinal("omp_chunk", POW2, default=1),
         tune.Ordinal("threads", [1, 2, 4, 8, 16, 32], default=8),
         tune.Categorical("layout_d", ["row", "col"])],
        constraints=[
            "before(order, 'i0', 'i1')", "before(order, 'k0', 'k1')",
            "before(order, 'i1', 'j')",  # B is CSR: its compressed j level lies inside i
            "unroll <= chunk_k",
            f"omp_chunk * threads <= {SDDMM_N} // chunk_i",
            "order[0] != 'k0' or omp_sched != 'static'",  # a parallel reduction needs a dynamic schedule
        ])
    return space, _sddmm_cost
