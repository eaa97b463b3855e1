"""Instantiate the compiled engine for one graph region and collect its results.

``run_region(graph, bound_inputs, hw)`` builds the FIFOs and primitive objects of
``_engine.pyx`` from a ``Graph``, runs them, and returns outputs, sink streams, cycles and
per-node statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.sim import _engine
from fuseflow.sim.binding import OutputBuilder, make_output_builders
from fuseflow.sim.codes import BINARY_CODES, StreamKind
from fuseflow.sim.config import HardwareConfig
from fuseflow.sim.errors import BufferBudgetError, MemoryBudgetError, SimulationInterrupted
from fuseflow.sim.functional import alu_apply
from fuseflow.sim.graph import Graph, Kind
from fuseflow.sim.primitives import PRIMITIVES
from fuseflow.sim.resources import check_pe_budget, graph_primitives, lane_count
from fuseflow.sim.tensors import TensorData
from fuseflow.sim.tokens import DONE, EMPTY, REP, Stop, is_stop
from fuseflow.sim.trace import TraceOptions, region_events

_KIND_NAMES = {k: k.name.lower() for k in Kind}

DATA, STOP, DONE_K, EMPTY_K = 0, 1, 2, 3


@dataclass
class NodeStats:
    name: str
    kind: str
    tokens_in: int
    tokens_out: int
    busy_cycles: int
    stall_cycles: int
    first: int
    finish: int
    ops: int
    bytes_read: int
    bytes_written: int
    lane: str = ""  # the node's parallel lane (``Node.lane``); "" outside every lane


@dataclass
class RegionResult:
    outputs: dict[str, TensorData]
    sinks: dict[str, list]
    cycles: int
    stats: list[NodeStats]
    passes: int
    trace: list[dict]
    buffer_words: int = 0  # words of the compiler-sized fan-out buffers
    buffer_peak: int = 0  # the most tokens those buffers held at once, summed over them
    memory_peak: int = 0  # the most bytes the engine's growing structures held at once


def encode_tokens(tokens, kind: StreamKind, eng) -> dict:
    """Python tokens -> the parallel arrays a Source node replays (tiles go to the engine)."""
    n = len(tokens)
    kinds = np.zeros(n, np.int32)
    vacs = np.zeros(n, np.int32)
    ivals = np.zeros(n, np.int64)
    fvals = np.zeros(n, np.float64)
    for k, t in enumerate(tokens):
        if is_stop(t):
            kinds[k], ivals[k], vacs[k] = STOP, t.level, t.vac
        elif t is DONE:
            kinds[k] = DONE_K
        elif t is EMPTY:
            kinds[k] = EMPTY_K
        elif t is REP:
            kinds[k] = DATA
        elif isinstance(t, np.ndarray):
            ivals[k] = eng.add_tile(np.asarray(t, np.float64))
        elif kind == StreamKind.VAL:
            fvals[k] = float(t)
        else:
            ivals[k] = int(t)
    return {"kinds": kinds, "vacs": vacs, "ivals": ivals, "fvals": fvals}


def decode_tokens(got, kind: StreamKind, tiled: bool, eng) -> list:
    out = []
    for k, i, v, vac in got:
        if k == STOP:
            out.append(Stop(int(i), int(vac)))
        elif k == DONE_K:
            out.append(DONE)
        elif k == EMPTY_K:
            out.append(EMPTY)
        elif kind == StreamKind.REPSIG:
            out.append(REP)
        elif kind == StreamKind.VAL:
            out.append(eng.tile(i) if tiled else float(v))
        else:
            out.append(int(i))
    return out


def _tiled_fifos(x: _Build) -> list[bool]:
    """Which FIFOs carry B x B tiles: from blocked loads and tile sources, through every node
    whose record passes tiles on (``tiled_outputs``)."""
    g = x.g
    port_tiled: dict[tuple[int, int], bool] = {}
    changed = True
    while changed:
        changed = False
        for n in g.nodes:
            ins_t = [port_tiled.get(g.fifo_ends[f][:2], False) for f in n.ins]
            for p in PRIMITIVES[n.kind].tiled_outputs(n, ins_t, x):
                if not port_tiled.get((n.id, p)):
                    port_tiled[(n.id, p)] = True
                    changed = True
    return [port_tiled.get(g.fifo_ends[f][:2], False) for f in range(len(g.fifo_kinds))]


class _Build:
    """What a record's ``configure``, ``timing`` and ``tiled_outputs`` see of the region being
    set up: the graph, its bound tensors, the engine, the hardware, tile helpers."""

    def __init__(self, g: Graph, tensors: list[TensorData], eng, hw: HardwareConfig):
        self.g, self.tensors, self.eng, self.hw = g, tensors, eng, hw
        self.tiles: _Tiles | None = None
        self.tile_bases: dict[int, tuple[int, int]] = {}  # blocked input -> (first tile, zero tile)
        self.outputs: list = []  # the OutputBuilder per output (writers size their arrays by them)


class _Tiles:
    """Tile arithmetic callbacks for ALU and reduce nodes on blocked streams."""

    def __init__(self, eng, block: int):
        self.eng = eng
        self.block = block

    def alu(self, op: int, const: float):
        eng = self.eng

        def fn(a, b):
            x = eng.tile(a)
            y = eng.tile(b) if op in BINARY_CODES else None
            return eng.add_tile(np.asarray(alu_apply(op, x, y, const), np.float64))

        return fn

    def reduce(self, op: int):
        eng = self.eng

        def fn(acc, x):
            if x < 0 and acc < 0:
                return eng.add_tile(np.zeros((self.block, self.block)))
            if acc < 0:
                return x
            a, b = eng.tile(acc), eng.tile(x)
            r = a + b if op == 0 else (np.maximum(a, b) if op == 1 else np.minimum(a, b))
            return eng.add_tile(r)

        return fn


def run_region(g: Graph, tensors: list[TensorData], hw: HardwareConfig, *, trace: TraceOptions | bool | None = None,
               offset: int = 0, pid: int = 0, progress: Callable | None = None,
               progress_every: float = 0.5) -> RegionResult:
    """Simulate one region. ``trace``: what to record (``TraceOptions``; True: everything), its
    events placed at ``offset`` cycles as process ``pid``. ``progress(region, cycles, tokens,
    fraction)`` is called when the run starts, every ``progress_every`` seconds and when it
    ends (``fraction``: how far the outermost loop has come, None where the graph has no
    outermost scanner). Ctrl-C raises ``SimulationInterrupted`` with the statistics so far."""
    check_pe_budget(g.name, graph_primitives(g), lane_count(n.lane for n in g.nodes), hw.pe_budget)
    # FIFOs from sources and into sinks are unbounded (the test harness's ends), the rest
    # bounded by the configured depth or the compiler's buffer, whichever is deeper
    depth, buffers = hw.fifo_depth, g.buffers
    source = [n.kind == Kind.SOURCE for n in g.nodes]
    sink = [n.kind == Kind.SINK for n in g.nodes]
    depths = [max(depth, buffers.get(f, 0)) if depth > 0 and not source[p] and not sink[c] else 0
              for f, (p, _, c, _) in enumerate(g.fifo_ends)]
    words = buffer_words(g, hw)
    try:
        eng = _engine.Engine(len(g.fifo_kinds), depths, hw.memory_params(), hw.max_memory_mb << 20)
    except MemoryBudgetError as e:
        raise MemoryBudgetError(f"graph {g.name!r}: {e}") from None
    # errors are raised outside the handlers, so that they hold no frame of the failed run (its
    # memory comes back as soon as the engine is released, whoever keeps the error)
    try:
        return _run(g, tensors, hw, eng, depths, words, TraceOptions.of(trace), offset, pid, progress, progress_every)
    except MemoryBudgetError as e:
        err = MemoryBudgetError(f"graph {g.name!r}: {e}", e.node, e.fifo)
    except _engine._OverBudget as e:  # outside a node's run (tiles of the inputs)
        err = MemoryBudgetError(f"graph {g.name!r}: simulation memory over its budget of {hw.max_memory_mb:,} MiB "
                                f"(HardwareConfig.max_memory_mb) in {e.what} before the run")
    except MemoryError:
        err = MemoryBudgetError(f"graph {g.name!r}: the machine ran out of memory for the simulation "
                                f"(the engine held {eng.memory_peak / 2**20:.1f} MiB at its peak)")
    eng.release()
    raise err


def _run(g: Graph, tensors: list[TensorData], hw: HardwareConfig, eng, depths: list[int], words: int,
         trace: TraceOptions | None, offset: int, pid: int, progress: Callable | None,
         progress_every: float) -> RegionResult:
    x = _Build(g, tensors, eng, hw)
    block = max([t.block for t in tensors] + [0])
    for n in g.nodes:  # tiles produced by sources
        if n.kind == Kind.SOURCE:
            for t in g.sources[n.iparams[0]]:
                if isinstance(t, np.ndarray):
                    block = block or t.shape[0]
    tiled = _tiled_fifos(x) if block else [False] * len(g.fifo_kinds)
    eng.zero_tile_shape = (block, block)
    x.tiles = _Tiles(eng, block)
    outputs = x.outputs = make_output_builders(g, tensors)
    nodes = []
    for n in g.nodes:
        rec = PRIMITIVES[n.kind]
        B = block if block and (any(tiled[f] for f in n.ins) or any(tiled[f] for port in n.outs for f in port)) else 0
        kw = rec.configure(n, x, B)
        lat, ii = rec.timing(n, x, B)
        node = eng.add_node(getattr(_engine, rec.kernel)(), n.name, int(n.kind), n.ins, n.outs, lat, ii)
        node.tracing = trace is not None and trace.wants_node(n.name, _KIND_NAMES[n.kind])
        node.configure(**kw)
        if B:
            node.set_tiles(True, B)
        nodes.append(node)
    if trace is not None:
        start, end = trace.local_window(offset)
        eng.trace_setup(start, end, trace.counters, trace.counters, trace.counter_window)
    describe = lambda f: g.describe_fifo(f) if f >= 0 else "nothing"  # noqa: E731
    try:
        passes = eng.run(hw.max_cycles, hw.max_wall_seconds, describe, _progress(g, nodes, tensors, eng, progress),
                         progress_every)
    except KeyboardInterrupt:
        partial = [_node_stats(n, nd) for n, nd in zip(g.nodes, nodes, strict=True)]
        err = SimulationInterrupted(g.name, eng.horizon, eng.moves, partial)
    else:
        err = None
    if err is not None:
        eng.release()
        raise err
    sinks = {}
    for n, node in zip(g.nodes, nodes, strict=True):
        if n.kind == Kind.SINK:
            f = n.ins[0]
            sinks[g.sink_names[n.iparams[0]]] = decode_tokens(node.got, g.fifo_kinds[f], tiled[f], eng)
        elif n.kind == Kind.FIBER_WRITE:
            seg, crd = node.arrays()
            outputs[n.iparams[0]].set_level(n.iparams[1], seg, crd)
        elif n.kind == Kind.VAL_WRITE:
            outputs[n.iparams[0]].set_vals(node.values())
    stats = [_node_stats(n, nd) for n, nd in zip(g.nodes, nodes, strict=True)]
    cycles = max([s.finish for s in stats] + [0])
    peak = sum(eng.fifo_state(f)["high_water"] for f in g.buffers)
    trace_events = _events(g, stats, nodes, eng, trace, offset, pid, hw) if trace is not None else []
    finished = {o.spec.name: _finish(o, g) for o in outputs}
    return RegionResult(finished, sinks, cycles, stats, passes, trace_events, words, peak, eng.memory_peak)


def buffer_words(g: Graph, hw: HardwareConfig) -> int:
    """On-chip words of the buffers the compiler sized in ``g`` (one word per token); raises
    ``BufferBudgetError`` naming the largest one when over ``hw.buffer_budget``."""
    words = sum(g.buffers.values())
    if hw.buffer_budget and words > hw.buffer_budget:
        f = max(g.buffers, key=g.buffers.__getitem__)
        raise BufferBudgetError(f"graph {g.name!r} needs {words:,} buffer words, over the budget of "
                                f"{hw.buffer_budget:,} (HardwareConfig.buffer_budget); the largest is "
                                f"{g.describe_fifo(f)}: {g.buffers[f]:,} tokens")
    return words


def _finish(o: OutputBuilder, g: Graph) -> TensorData:
    try:
        return o.finish()
    except FuseflowError as e:
        raise FuseflowError(f"graph {g.name!r}: {e}") from None


def _node_stats(n, nd) -> NodeStats:
    return NodeStats(n.name, _KIND_NAMES[n.kind], *nd.counters(), n.lane)


def _events(g: Graph, stats: list[NodeStats], nodes, eng, trace: TraceOptions, offset: int, pid: int,
            hw: HardwareConfig) -> list[dict]:
    traced = [nd.tracing for nd in nodes]
    tracks: dict = {"fifos": {}, "memory": eng.memory_track(), "bytes_per_request": hw.mem_batch * hw.word_bytes}
    for f in range(len(g.fifo_kinds)):
        if traced[g.fifo_ends[f][2]]:
            track = eng.fifo_track(f)
            if track is not None:
                tracks["fifos"][f] = track
    return region_events(g, stats, [nd.activity() if t else None for nd, t in zip(nodes, traced, strict=True)],
                         [nd.spans_merged for nd in nodes], tracks, pid, offset)


def _progress(g: Graph, nodes, tensors: list[TensorData], eng, report: Callable | None):
    """The engine's progress callback for ``report``: the tokens emitted so far (as the
    statistics count them), and how far the outermost loop has come: the share of its
    scanners' coordinates their consumers have taken (one fiber at the root: its length is
    known). Taken, not emitted: through a deep buffer the outer scan runs ahead of the work."""
    if report is None:
        return None
    outer = []
    for n in g.nodes:
        if n.kind != Kind.FIBER_LOOKUP or g.nodes[g.fifo_ends[n.ins[0]][0]].kind != Kind.ROOT:
            continue
        lv = tensors[n.iparams[0]].levels[n.iparams[1]]
        length = lv.dim if lv.format == "d" else (int(lv.seg[1] - lv.seg[0]) if len(lv.seg) > 1 else 0)
        # each output FIFO carries the coordinates, the fiber's stop and the done token
        outer += [(f, length + 2) for port in n.outs for f in port]

    def taken(f: int) -> int:
        state = eng.fifo_state(f)
        return state["pushed"] - state["count"]

    def on_pass(cycles: int, moves: int) -> None:
        fraction = min((min(1.0, taken(f) / total) for f, total in outer), default=None)
        report(g.name, cycles, sum(nd.tout for nd in nodes), fraction)

    return on_pass
