"""Cycle counts against hand-derived values; deadlock and guard reports; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from fuseflow.errors import FuseflowError
from fuseflow.sim import (
    DeadlockError,
    GraphBuilder,
    GuardError,
    HardwareConfig,
    examples,
    simulate_graph,
)
from fuseflow.sim.graph import Graph, Kind, Node, StreamKind
from fuseflow.sim.tensors import Level, TensorData

NOMEM = HardwareConfig(memory=False, fifo_depth=0)


def scan_graph(levels):
    b = GraphBuilder("scan")
    A = b.input("A", "".join(lv.format for lv in levels))
    ref = b.root()
    for k in range(len(levels)):
        crd, ref = b.fiber_lookup(ref, A, k)
    b.sink(crd, "crd")
    return b.build()


def tensor(levels, nvals):
    shape = tuple(lv.dim for lv in levels)
    return TensorData("A", shape, tuple(range(len(levels))), levels, np.ones(nvals))


@pytest.mark.parametrize("length,cycles", [(5, 9), (1, 5), (0, 5)])
def test_single_compressed_scan_cycles(length, cycles):
    # root emits 0 at cycle 0 (visible at 1) and D at 1 (visible at 2); the scanner emits one
    # token per cycle from cycle 1: L crds, S0 (it must see the next token, visible at 2), D;
    # the sink takes D one cycle after it is emitted and finishes a cycle later.
    lv = [Level("c", 8, np.array([0, length]), np.arange(length))]
    res = simulate_graph(scan_graph(lv), {"A": tensor(lv, length)}, hw=NOMEM)
    assert res.cycles == cycles


@pytest.mark.parametrize("depth", [0, 4])
def test_two_level_scan_cycles(depth):
    # fibers of lengths 3, 0, 2, 1 under a dense level of 4: the inner scanner starts at cycle 2
    # and never starves, emitting sum(L) + 4 stops + D = 11 tokens in cycles 2..12; the sink
    # finishes at 14 = sum(L) + n + 4.
    lens = [3, 0, 2, 1]
    seg = np.concatenate([[0], np.cumsum(lens)])
    lv = [Level("d", 4), Level("c", 5, seg, np.arange(seg[-1]) % 5)]
    res = simulate_graph(scan_graph(lv), {"A": tensor(lv, seg[-1])}, hw=HardwareConfig(memory=False, fifo_depth=depth))
    assert res.cycles == sum(lens) + len(lens) + 4
    scan = [s for s in res.stats[0] if s.kind == "fiber_lookup"][1]
    assert scan.tokens_out == 2 * (sum(lens) + len(lens) + 1)  # crd and ref ports
    assert scan.busy_cycles == sum(lens) + len(lens) + 1


def test_backpressure_cycles_with_depth_one():
    # Same graph with 1-deep FIFOs: a slot frees at the consumer's pop cycle. The dense scanner
    # can only hand the next ref over once the compressed scanner took the previous one, and
    # the compressed scanner must see that ref before closing a fiber: the empty fiber 1 closes
    # at cycle 7 instead of 6 and the run ends one cycle later (15 instead of 14).
    lens = [3, 0, 2, 1]
    seg = np.concatenate([[0], np.cumsum(lens)])
    lv = [Level("d", 4), Level("c", 5, seg, np.arange(seg[-1]) % 5)]
    res = simulate_graph(scan_graph(lv), {"A": tensor(lv, seg[-1])}, hw=HardwareConfig(memory=False, fifo_depth=1))
    assert res.cycles == 15
    dense = res.stats[0][1]
    assert dense.stall_cycles > 0


def test_latency_and_ii_scale_cycles():
    lv = [Level("c", 8, np.array([0, 5]), np.arange(5))]
    base = simulate_graph(scan_graph(lv), {"A": tensor(lv, 5)}, hw=NOMEM).cycles
    slow = simulate_graph(scan_graph(lv), {"A": tensor(lv, 5)}, hw=HardwareConfig(memory=False, fifo_depth=0, ii=2)).cycles
    late = simulate_graph(scan_graph(lv), {"A": tensor(lv, 5)}, hw=HardwareConfig(memory=False, fifo_depth=0, latency=3)).cycles
    assert base == 9
    assert slow > base
    assert late == base + 2 * 2  # two latency-carrying hops (root -> scanner -> sink)


def test_memory_start_up_and_latency_are_charged():
    lv = [Level("c", 8, np.array([0, 5]), np.arange(5))]
    hw = HardwareConfig(fifo_depth=0, mem_latency=2, mem_startup=14, mem_issue_interval=2)
    res = simulate_graph(scan_graph(lv), {"A": tensor(lv, 5)}, hw=hw)
    # the ref arrives at cycle 1; the seg request waits for the next issue slot (cycle 2) and
    # returns after latency 2 + start-up 14 (cycle 18); the crd batch (another channel) is
    # requested then and arrives at 20 instead of cycle 1 without memory: 19 cycles later.
    assert res.cycles == 9 + (1 + 2 + 14) + 2
    assert res.stats[0][1].bytes_read == 4 * (2 + 5)


@pytest.mark.parametrize("batch,channels,cycles", [(8, 1, 2012), (3, 1, 4006), (5, 1, 3007), (7, 1, 2012), (3, 3, 2012)])
def test_memory_requests_with_any_batch_and_channel_count(batch, channels, cycles):
    # one fiber of 7 coordinates; a slow issue interval (1000, not a power of two) makes each
    # request visible in the cycles: the seg words take one request, the crd words one per
    # batch they touch (arrays start batch aligned: 1 batch of 8 or of 7, 2 of 5, 3 of 3);
    # on 3 channels the crd batches go out side by side
    lv = [Level("c", 8, np.array([0, 7]), np.arange(7))]
    hw = HardwareConfig(fifo_depth=0, mem_batch=batch, mem_channels=channels, mem_issue_interval=1000,
                        mem_latency=2, mem_startup=14)
    assert simulate_graph(scan_graph(lv), {"A": tensor(lv, 7)}, hw=hw).cycles == cycles


SPMV_IN = {"A": sp.random(6, 7, density=0.4, random_state=1, format="csr"), "x": np.arange(7.0)}


def test_too_shallow_fifos_deadlock_with_a_report():
    with pytest.raises(DeadlockError) as e:
        simulate_graph(examples.graph("spmv"), SPMV_IN, hw=HardwareConfig(fifo_depth=1))
    msg = str(e.value)
    assert "deadlock" in msg and "output full" in msg and "input empty" in msg
    assert ("root0", 3, "full") in e.value.blocked  # the shared root feeds the scan and x's repeat


def test_a_repeat_waiting_to_look_ahead_is_reported():
    # SpMV with x's own root (not the scan's): with one-token FIFOs the repeat holds that root's
    # token and must see the signal's next token to decide whether to repeat it again
    b = GraphBuilder("spmv_two_roots")
    A, x = b.input("A", "dc"), b.input("x", "d")
    out = b.output("out", "d", (("A", 0),))
    i_crd, a_i = b.fiber_lookup(b.root(), A, 0)
    j_a, a_ref = b.fiber_lookup(a_i, A, 1)
    j_x, x_ref = b.fiber_lookup(b.repeat(b.root(), b.repeat_sig_gen(i_crd)), x, 0)
    _, (a2, x2) = b.intersect([(j_a, a_ref), (j_x, x_ref)])
    b.fiber_write(i_crd, out, 0)
    b.val_write(b.reduce(b.alu("mul", b.array(a2, A), b.array(x2, x))), out)
    with pytest.raises(DeadlockError) as e:
        simulate_graph(b.build(), SPMV_IN, hw=HardwareConfig(fifo_depth=1))
    assert ("repeat5", 3, "lookahead") in e.value.blocked  # holds 0, needs to see what follows


def test_cyclic_graph_deadlocks_with_a_report():
    # repeat's signal is derived from its own output: nothing can ever start
    nodes = [
        Node(0, Kind.ROOT, "root", [], [[0]]),
        Node(1, Kind.REPEAT, "rep", [0, 1], [[2, 3]]),
        Node(2, Kind.REPEAT_SIG_GEN, "sig", [2], [[1]]),
        Node(3, Kind.SINK, "out", [3], []),
    ]
    g = Graph(nodes, [StreamKind.REF, StreamKind.REPSIG, StreamKind.REF, StreamKind.REF],
              [(0, 0, 1, 0), (2, 0, 1, 1), (1, 0, 2, 0), (1, 0, 3, 0)], [], [], [], ["out"], "cyclic")
    with pytest.raises(DeadlockError, match="rep: waits on fifo 1 .*input empty"):
        simulate_graph(g, {})
    with pytest.raises(FuseflowError, match="cycle"):
        simulate_graph(g, {}, engine="functional")


def test_cycle_guard():
    with pytest.raises(GuardError, match="cycle limit"):
        simulate_graph(examples.graph("spmv"), SPMV_IN, hw=HardwareConfig(max_cycles=5))


def test_malformed_graph_names_the_node():
    b = GraphBuilder()
    A = b.input("A", "dc")
    b.fiber_lookup(b.root(), A, 0)
    g = b.build()
    g.nodes[1].ins = []
    from fuseflow.sim.graph import check_graph

    with pytest.raises(FuseflowError, match="fiber_lookup1.*0 inputs, expected 1"):
        check_graph(g)


def test_wrong_level_and_format_name_the_node():
    b = GraphBuilder()
    A = b.input("A", "dc")
    b.sink(b.fiber_lookup(b.root(), A, 2, name="scanA")[0], "o")
    with pytest.raises(FuseflowError, match="scanA.*level 2"):
        simulate_graph(b.build(), {"A": sp.eye(3, format="csr")})
    with pytest.raises(FuseflowError, match="'A'.*format 'dc'.*read by node fiber_lookup1"):
        simulate_graph(examples.graph("spmv"), {"A": np.ones(3), "x": np.ones(3)})


def test_reference_out_of_range_names_the_node():
    b = GraphBuilder()
    A = b.input("A", "c")
    b.sink(b.fiber_lookup(b.source([5, "D" and __import__("fuseflow.sim.tokens", fromlist=["DONE"]).DONE], StreamKind.REF), A, 0, name="scanA")[0], "o")
    g = b.build()
    for engine in ("functional", "compiled"):
        with pytest.raises(FuseflowError, match="scanA.*out of range"):
            simulate_graph(g, {"A": np.ones(3)}, engine=engine)


def test_hardware_config_key_and_overrides():
    hw = HardwareConfig()
    assert hw.key() == HardwareConfig().key()
    assert hw.key() != HardwareConfig(fifo_depth=8).key()
    assert hw.with_overrides({"fifo_depth": "unbounded", "memory": "off"}) == HardwareConfig(fifo_depth=0, memory=False)
    with pytest.raises(FuseflowError, match="unknown hardware field"):
        hw.with_overrides({"nope": "1"})
    with pytest.raises(FuseflowError, match="non-negative"):
        HardwareConfig(latency=-1)


def test_trace_file(tmp_path):
    import json

    path = tmp_path / "t.json"
    res = simulate_graph(examples.graph("spmv"), SPMV_IN, trace=path)
    events = json.loads(path.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    names = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert len(names) == len(res.stats[0])
    for k, s in enumerate(res.stats[0]):  # busy cycles == total span length per node (ii 1)
        assert sum(e["dur"] for e in spans if e["tid"] == k) == s.busy_cycles
    assert max(e["ts"] + e["dur"] for e in spans) <= res.cycles


def row_normalize_graph():
    """out(i,j) = X(i,j) / sum_j X(i,j): the value stream is needed whole before its own sum."""
    b = GraphBuilder("row_normalize")
    X = b.input("X", "dc")
    out = b.output("out", "dc", (("X", 0), ("X", 1)))
    i_crd, i_ref = b.fiber_lookup(b.root(), X, 0)
    j_crd, j_ref = b.fiber_lookup(i_ref, X, 1)
    v = b.array(j_ref, X)
    total = b.repeat(b.reduce(v), b.repeat_sig_gen(j_crd))
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(b.alu("div", v, total), out)
    return b.build()


def test_long_fibers_need_deep_fifos():
    X = sp.csr_matrix(np.random.default_rng(0).random((2, 9000)) + 0.5)
    want = (X / X.sum(axis=1)).toarray()
    simulate_graph(row_normalize_graph(), {"X": X}, hw=HardwareConfig(fifo_depth=0), check=True, expected=want)
    simulate_graph(row_normalize_graph(), {"X": X}, hw=HardwareConfig(fifo_depth=10_000), check=True, expected=want)
    with pytest.raises(DeadlockError, match="output full"):
        simulate_graph(row_normalize_graph(), {"X": X}, hw=HardwareConfig(fifo_depth=32))


def tile_square_graph():
    """out = each stored 2 x 2 block of A times itself (a tile product per block)."""
    b = GraphBuilder("tile_square")
    A = b.input("A", "dc", block=2)
    out = b.output("out", "dc", (("A", 0), ("A", 1)), block=2)
    i_crd, i_ref = b.fiber_lookup(b.root(), A, 0)
    j_crd, j_ref = b.fiber_lookup(i_ref, A, 1)
    v = b.array(j_ref, A)
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(b.alu("matmul", v, v), out)
    return b.build()


def test_a_tile_moves_its_words_through_memory():
    """A B x B tile load reads B*B words (one request per memory batch it touches), its write
    writes B*B, and a tile product counts 2B^3 operations: blocked and scalar graphs are compared
    on the same counters."""
    a = np.zeros((4, 4))
    a[:2, :2] = [[1.0, 2.0], [3.0, 4.0]]
    a[2:, 2:] = [[5.0, 6.0], [7.0, 8.0]]  # two stored 2 x 2 blocks
    res = simulate_graph(tile_square_graph(), {"A": a}, hw=HardwareConfig(mem_batch=2))
    nodes = {n.kind: n for n in res.stats[0]}
    assert nodes["array"].bytes_read == 2 * 4 * 4  # two tiles of 4 words of 4 bytes
    assert nodes["val_write"].bytes_written == 2 * 4 * 4
    assert nodes["alu"].ops == 2 * (2 * 2 ** 3)
    want = np.zeros((4, 4))
    want[:2, :2], want[2:, 2:] = a[:2, :2] @ a[:2, :2], a[2:, 2:] @ a[2:, 2:]
    np.testing.assert_allclose(res.outputs["out"].toarray(), want)


def row_scaled_tiles_graph(fork):
    """out(i,j) = X(i,j) @ sum_j' Y(i,j') over 2 x 2 tiles. The product waits for a row of Y to
    be summed, so with shallow FIFOs the load of X fills its output and retries its step pass
    after pass (``fork``: its values also go to a copy of X, through the forked-output path)."""
    b = GraphBuilder("row_scaled_tiles")
    X, Y = b.input("X", "dc", block=2), b.input("Y", "dc", block=2)
    out = b.output("out", "dc", (("X", 0), ("X", 1)), block=2)
    i_crd, x_i = b.fiber_lookup(b.root(), X, 0, name="scan_xi")
    j_crd, x_j = b.fiber_lookup(x_i, X, 1, name="scan_xj")
    v = b.array(x_j, X, name="load_x")
    _, y_i = b.fiber_lookup(b.root(), Y, 0, name="scan_yi")
    _, y_j = b.fiber_lookup(y_i, Y, 1, name="scan_yj")
    total = b.repeat(b.reduce(b.array(y_j, Y, name="load_y")), b.repeat_sig_gen(j_crd))
    b.fiber_write(i_crd, out, 0)
    b.fiber_write(j_crd, out, 1)
    b.val_write(b.alu("matmul", v, total), out)
    if fork:
        copy = b.output("copy", "dc", (("X", 0), ("X", 1)), block=2)
        b.fiber_write(i_crd, copy, 0)
        b.fiber_write(j_crd, copy, 1)
        b.val_write(v, copy)
    return b.build()


@pytest.mark.parametrize("fork", [False, True], ids=["single", "forked"])
@pytest.mark.parametrize("memory", [True, False], ids=["memory", "no-memory"])
def test_bytes_read_count_each_read_once_whatever_the_fifo_depth(memory, fork):
    # A step that finds its output full is attempted again later with the same read; its bytes
    # count once, when it commits: shallow FIFOs (many attempts) and unbounded ones read the
    # same words.
    x = np.zeros((8, 12))
    x[0:2, 0:2], x[0:2, 4:6], x[0:2, 8:10], x[4:6, 2:4] = 1.0, 2.0, 3.0, 4.0
    y = np.zeros((8, 12))
    y[0:2, 0:12], y[4:6, 6:8] = 0.5, 1.5
    tiles = {"X": 4, "Y": 7}  # stored 2 x 2 tiles, in 4 block rows
    want = {}
    for t in "XY":
        want[f"scan_{t.lower()}i"] = 0  # a dense level reads nothing
        # seg[r], seg[r + 1] per block row, a crd word per tile
        want[f"scan_{t.lower()}j"] = 4 * (2 * 4 + tiles[t])
        want[f"load_{t.lower()}"] = 4 * 4 * tiles[t]  # B*B words per tile
    expect = np.zeros((8, 12))
    for i in range(0, 8, 2):
        s = sum(y[i:i + 2, j:j + 2] for j in range(0, 12, 2))
        for j in range(0, 12, 2):
            if x[i:i + 2, j:j + 2].any():
                expect[i:i + 2, j:j + 2] = x[i:i + 2, j:j + 2] @ s
    cycles = {}
    for depth in (2, 3, 0):  # (1-deep FIFOs deadlock: the repeat looks one token ahead)
        hw = HardwareConfig(memory=memory, fifo_depth=depth)
        res = simulate_graph(row_scaled_tiles_graph(fork), {"X": x, "Y": y}, hw=hw)
        np.testing.assert_allclose(res.outputs["out"].toarray(), expect)
        if fork:
            np.testing.assert_allclose(res.outputs["copy"].toarray(), x)
        assert {n.name: n.bytes_read for n in res.stats[0] if n.name in want} == want, depth
        cycles[depth] = res.cycles
    assert cycles[2] > cycles[0]  # the shallow FIFOs do hold the graph back


def test_writers_reserve_an_address_range_for_every_position_they_can_write():
    # Written arrays get whole 1M-word slots, as many as the output can hold: a 3000 x 1000 CSR
    # output's crd and vals arrays (3M positions) take three slots, so they run into no other
    # array's addresses (memory channels are chosen by address); a small output keeps one slot.
    from types import SimpleNamespace

    from fuseflow.sim.binding import OutputBuilder
    from fuseflow.sim.graph import GraphTensor
    from fuseflow.sim.primitives import PRIMITIVES

    class Eng:
        def __init__(self):
            self.next = 0

        def alloc(self, n):  # as the engine's: a range of n words, batch aligned
            base, self.next = self.next, self.next + (n // 16 + 1) * 16
            return base

    def ranges(shape, fmt="dc", block=0):
        spec = GraphTensor("out", fmt, (0, 1), shape, block)
        x = SimpleNamespace(eng=Eng(), outputs=[OutputBuilder(spec, shape)], g=SimpleNamespace(outputs=[spec]))
        fw = Node(0, Kind.FIBER_WRITE, "w1", [0], [], (0, 1))
        vw = Node(1, Kind.VAL_WRITE, "wv", [1], [], (0,))
        got = PRIMITIVES[Kind.FIBER_WRITE].configure(fw, x, 0)
        got.update(PRIMITIVES[Kind.VAL_WRITE].configure(vw, x, block))
        got["end"] = x.eng.next
        return got, x.outputs[0].positions()

    got, positions = ranges((3000, 1000))
    assert positions == [3000, 3_000_000]
    M = 1 << 20
    assert got["crd_base"] == 0 and got["seg_base"] == 3 * M + 16  # crd: 3 slots; seg: 3001 words, 1
    assert got["val_base"] == 4 * M + 32
    got, positions = ranges((64, 64))
    assert (got["crd_base"], got["seg_base"], got["val_base"]) == (0, M + 16, 2 * M + 32)
    # blocked: 32 x 32 tiles of a 2048 x 2048 output, 1024 words each: 4 Mi words of values
    got, positions = ranges((2048, 2048), block=32)
    assert positions == [64, 4096] and got["words"] == 1024
    assert got["val_base"] == 2 * M + 32 and got["end"] == 6 * M + 48
