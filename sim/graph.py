"""The simulator's compact program representation and a small builder for it.

A ``Graph`` is one fused region: integer-coded nodes connected by FIFOs (edge ids). Every FIFO
has exactly one producer port and one consumer port; an output port that feeds several consumers
("SSA fan-out") owns one FIFO per consumer and broadcasts into all of them. Nodes carry integer
and float parameters only (op codes, levels, tensor indices); input tensors are bound by name to
level arrays at simulation time (see ``tensors.py``); outputs are described by their writer
nodes. A ``GraphSequence`` is a sequence of regions whose intermediates flow by name.

Building SpMV ``y(i) = A(i,j) * x(j)``::

    b = GraphBuilder()
    A, x = b.input("A", "dc"), b.input("x", "d")
    y = b.output("y", "d", shape=(("A", 0),))
    i_crd, i_ref = b.fiber_lookup(b.root(), A, 0)
    j_crd, a_ref = b.fiber_lookup(i_ref, A, 1)
    x_ref = b.repeat(b.root(), b.repeat_sig_gen(i_crd))
    j2, (a2, x2) = b.intersect([(j_crd, a_ref), b.fiber_lookup(x_ref, x, 0)])
    v = b.reduce(b.alu("mul", b.array(a2, A), b.array(x2, x)))
    b.fiber_write(i_crd, y, 0); b.val_write(v, y)
    graph = b.build()
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from fuseflow.errors import FuseflowError
from fuseflow.sim.codes import BINARY_CODES, AluCode, ReduceCode, StreamKind
from fuseflow.sim.primitives import BY_NAME, HARNESS, PRIMITIVES, Kind, input_count

__all__ = ["BINARY_CODES", "HARNESS", "PRIMITIVES", "AluCode", "Graph", "GraphBuilder", "GraphSequence", "GraphTensor",
           "Kind", "Node", "ReduceCode", "Stream", "StreamKind", "check_graph"]


@dataclass(frozen=True)
class Stream:
    """A node output port (one SSA value)."""

    node: int
    port: int
    kind: StreamKind


@dataclass
class Node:
    id: int
    kind: Kind
    name: str
    ins: list[int]  # FIFO ids, one per input port
    outs: list[list[int]]  # per output port: the FIFO ids it broadcasts into
    iparams: tuple[int, ...] = ()
    fparams: tuple[float, ...] = ()
    region: int = 0
    # the parallel lane the node belongs to (``fuseflow.lane`` of its op: "2", or "2.1" for
    # lane 1 of a loop forked inside lane 2); "" for a node outside every forked loop body
    lane: str = ""


@dataclass
class GraphTensor:
    """An input or output tensor of a graph: name, level formats, mode order, shape, block (and
    the dimensions of a blocked tensor that are not blocked: ``batch``)."""

    name: str
    format: str
    order: tuple[int, ...]
    shape: tuple = ()  # ints or (input name, dim) pairs resolved at bind time
    block: int = 0
    batch: tuple[int, ...] = ()


@dataclass
class Graph:
    nodes: list[Node]
    fifo_kinds: list[StreamKind]  # per FIFO
    fifo_ends: list[tuple[int, int, int, int]]  # per FIFO: producer node, port, consumer, port
    inputs: list[GraphTensor]
    outputs: list[GraphTensor]
    sources: list[list] = field(default_factory=list)  # token lists for SOURCE nodes
    sink_names: list[str] = field(default_factory=list)
    name: str = "graph"
    # FIFO id -> the depth the compiler sized it to (``sam-size-buffers``: fan-out edges that
    # must hold a fiber); every other FIFO has the hardware's default depth
    buffers: dict[int, int] = field(default_factory=dict)

    def node_by_name(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def describe_fifo(self, f: int) -> str:
        p, pp, c, cp = self.fifo_ends[f]
        return f"fifo {f} ({self.nodes[p].name}:{pp} -> {self.nodes[c].name}:{cp})"


@dataclass
class GraphSequence:
    """Regions run one after another; a region input named like an earlier region output
    receives that tensor."""

    regions: list[Graph]


def check_graph(g: Graph) -> None:
    """Structural validation; raises ``FuseflowError`` naming the offending node."""
    nf = len(g.fifo_kinds)
    seen_in = [0] * nf
    seen_out = [0] * nf
    for n in g.nodes:
        want = input_count(n.kind, n.iparams)
        if len(n.ins) != want:
            raise FuseflowError(f"node {n.name!r} ({n.kind.name.lower()}) has {len(n.ins)} inputs, expected {want}")
        for f in n.ins:
            if not 0 <= f < nf:
                raise FuseflowError(f"node {n.name!r} reads unknown fifo {f}")
            seen_in[f] += 1
        for port in n.outs:
            for f in port:
                if not 0 <= f < nf:
                    raise FuseflowError(f"node {n.name!r} writes unknown fifo {f}")
                seen_out[f] += 1
    for f in range(nf):
        if seen_in[f] != 1 or seen_out[f] != 1:
            raise FuseflowError(f"malformed graph: {g.describe_fifo(f) if seen_out[f] == 1 and seen_in[f] == 1 else f'fifo {f}'} has {seen_out[f]} producers and {seen_in[f]} consumers")


class GraphBuilder:
    """Builds a ``Graph`` from SSA-style calls; every method returns ``Stream`` handles."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self._nodes: list[tuple[Kind, str, list[Stream], int, tuple, tuple, str]] = []
        self.lane = ""  # the lane tag given to the nodes added from now on (see ``Node.lane``)
        self._kinds: list[list[StreamKind]] = []
        self.inputs: list[GraphTensor] = []
        self.outputs: list[GraphTensor] = []
        self.sources: list[list] = []
        self.sink_names: list[str] = []

    # -- tensors ------------------------------------------------------------------------------
    def input(self, name: str, fmt: str, order=None, block: int = 0, batch=()) -> int:
        self.inputs.append(GraphTensor(name, fmt, tuple(order or range(len(fmt))), (), block, tuple(batch)))
        return len(self.inputs) - 1

    def output(self, name: str, fmt: str, shape, order=None, block: int = 0, batch=()) -> int:
        self.outputs.append(GraphTensor(name, fmt, tuple(order or range(len(fmt))), tuple(shape), block, tuple(batch)))
        return len(self.outputs) - 1

    # -- nodes ------------------------------------------------------------------------------
    def add(self, kind, ins, out_kinds, iparams=(), fparams=(), name=None):
        """Add a node of ``kind`` reading ``ins``; its output ``Stream`` (or a tuple of them).
        The primitives' methods (``b.fiber_lookup(...)``, ``b.alu(...)``) are their records'
        ``build`` (``fuseflow.sim.primitives``) and call this."""
        kind = Kind(kind)
        nid = len(self._nodes)
        for s in ins:
            if not isinstance(s, Stream):
                raise FuseflowError(f"{kind.name.lower()}: input {s!r} is not a stream")
        self._nodes.append((kind, name or f"{kind.name.lower()}{nid}", list(ins), nid, tuple(iparams), tuple(fparams), self.lane))
        self._kinds.append(list(out_kinds))
        outs = tuple(Stream(nid, p, k) for p, k in enumerate(out_kinds))
        return outs[0] if len(outs) == 1 else outs

    def __getattr__(self, name: str):
        rec = BY_NAME.get(name)
        if rec is None:
            raise AttributeError(f"GraphBuilder has no attribute or primitive {name!r}")
        return functools.partial(rec.build, self)

    # -- finish -------------------------------------------------------------------------------
    def build(self) -> Graph:
        nodes: list[Node] = []
        fifo_kinds: list[StreamKind] = []
        fifo_ends: list[tuple[int, int, int, int]] = []
        outs = [[[] for _ in kinds] for kinds in self._kinds]
        for kind, name, ins, nid, ip, fp, lane in self._nodes:
            fids = []
            for port, s in enumerate(ins):
                f = len(fifo_kinds)
                fifo_kinds.append(s.kind)
                fifo_ends.append((s.node, s.port, nid, port))
                outs[s.node][s.port].append(f)
                fids.append(f)
            nodes.append(Node(nid, kind, name, fids, None, ip, fp, lane=lane))
        for n, o in zip(nodes, outs, strict=True):
            n.outs = o
        g = Graph(nodes, fifo_kinds, fifo_ends, list(self.inputs), list(self.outputs), list(self.sources), list(self.sink_names), self.name)
        check_graph(g)
        return g
