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

from dataclasses import dataclass, field
from enum import IntEnum

from fuseflow.errors import FuseflowError


class Kind(IntEnum):
    ROOT = 0
    FIBER_LOOKUP = 1
    LOCATE = 2
    INTERSECT = 3
    UNION = 4
    REPEAT_SIG_GEN = 5
    REPEAT = 6
    ARRAY = 7
    ALU = 8
    REDUCE = 9
    SPACC1 = 10
    SPACC2 = 11
    CRD_DROP = 12
    CRD_HOLD = 13
    FIBER_WRITE = 14
    VAL_WRITE = 15
    FORK = 16
    JOIN = 17
    SOURCE = 18  # feeds a given token list (tests, region stitching)
    SINK = 19  # records a stream


class StreamKind(IntEnum):
    CRD = 0
    REF = 1
    VAL = 2
    REPSIG = 3


class AluCode(IntEnum):
    ADD = 0
    SUB = 1
    MUL = 2
    DIV = 3
    MAX = 4
    MIN = 5
    MATMUL = 6  # tile x tile matrix product (blocked streams); scalar mul otherwise
    NEG = 16
    EXP = 17
    RELU = 18
    RSQRT = 19
    SQRT = 20
    SIGMOID = 21
    TANH = 22
    GELU = 23
    ADDC = 24
    MULC = 25
    DIVC = 26
    MAXC = 27
    MINC = 28
    RCP = 29  # 1 / x


BINARY_CODES = frozenset(op for op in AluCode if op < 16)


class ReduceCode(IntEnum):
    ADD = 0
    MAX = 1
    MIN = 2


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
    """An input or output tensor of a graph: name, level formats, mode order, shape, block."""

    name: str
    format: str
    order: tuple[int, ...]
    shape: tuple = ()  # ints or (input name, dim) pairs resolved at bind time
    block: int = 0


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


_PORTS_IN = {
    Kind.ROOT: 0, Kind.FIBER_LOOKUP: 1, Kind.LOCATE: 3, Kind.REPEAT_SIG_GEN: 1, Kind.REPEAT: 2,
    Kind.ARRAY: 1, Kind.REDUCE: 1, Kind.SPACC1: 3, Kind.SPACC2: 4, Kind.CRD_DROP: 2,
    Kind.CRD_HOLD: 2, Kind.FIBER_WRITE: 1, Kind.VAL_WRITE: 1, Kind.FORK: 1, Kind.SOURCE: 0,
    Kind.SINK: 1,
}


def check_graph(g: Graph) -> None:
    """Structural validation; raises ``FuseflowError`` naming the offending node."""
    nf = len(g.fifo_kinds)
    seen_in = [0] * nf
    seen_out = [0] * nf
    for n in g.nodes:
        want = _PORTS_IN.get(n.kind)
        if n.kind in (Kind.INTERSECT, Kind.UNION):
            want = 2 * n.iparams[0]
        elif n.kind == Kind.JOIN:
            want = n.iparams[0]
        elif n.kind == Kind.ALU:
            want = 2 if n.iparams[0] in BINARY_CODES else 1
        if want is not None and len(n.ins) != want:
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
    def input(self, name: str, fmt: str, order=None, block: int = 0) -> int:
        self.inputs.append(GraphTensor(name, fmt, tuple(order or range(len(fmt))), (), block))
        return len(self.inputs) - 1

    def output(self, name: str, fmt: str, shape, order=None, block: int = 0) -> int:
        self.outputs.append(GraphTensor(name, fmt, tuple(order or range(len(fmt))), tuple(shape), block))
        return len(self.outputs) - 1

    # -- nodes --------------------------------------------------------------------------------
    def _add(self, kind, ins, out_kinds, iparams=(), fparams=(), name=None):
        nid = len(self._nodes)
        for s in ins:
            if not isinstance(s, Stream):
                raise FuseflowError(f"{kind.name.lower()}: input {s!r} is not a stream")
        self._nodes.append((kind, name or f"{kind.name.lower()}{nid}", list(ins), nid, tuple(iparams), tuple(fparams), self.lane))
        self._kinds.append(list(out_kinds))
        outs = tuple(Stream(nid, p, k) for p, k in enumerate(out_kinds))
        return outs[0] if len(outs) == 1 else outs

    def root(self, name=None) -> Stream:
        return self._add(Kind.ROOT, [], [StreamKind.REF], name=name)

    def source(self, tokens, kind: StreamKind, name=None) -> Stream:
        self.sources.append(list(tokens))
        return self._add(Kind.SOURCE, [], [kind], (len(self.sources) - 1,), name=name)

    def sink(self, stream: Stream, name: str) -> None:
        self.sink_names.append(name)
        self._add(Kind.SINK, [stream], [], (len(self.sink_names) - 1,), name=name)

    def fiber_lookup(self, ref, tensor: int, level: int, name=None):
        return self._add(Kind.FIBER_LOOKUP, [ref], [StreamKind.CRD, StreamKind.REF], (tensor, level), name=name)

    def locate(self, crd, ref, parent_ref, tensor: int, level: int, name=None):
        """Iterate ``(crd, ref)``; look ``crd`` up in ``tensor``'s ``level`` under ``parent_ref``
        (the located tensor's ref one loop outside ``crd``) -> (ref, located ref, crd)."""
        return self._add(Kind.LOCATE, [crd, ref, parent_ref], [StreamKind.REF, StreamKind.REF, StreamKind.CRD], (tensor, level), name=name)

    def _joiner(self, kind, pairs, name):
        ins = [s for pair in pairs for s in pair]
        outs = self._add(kind, ins, [StreamKind.CRD] + [p[1].kind for p in pairs], (len(pairs),), name=name)
        return outs[0], list(outs[1:])

    def intersect(self, pairs, name=None):
        return self._joiner(Kind.INTERSECT, pairs, name)

    def union(self, pairs, name=None):
        return self._joiner(Kind.UNION, pairs, name)

    def repeat_sig_gen(self, crd, name=None) -> Stream:
        return self._add(Kind.REPEAT_SIG_GEN, [crd], [StreamKind.REPSIG], name=name)

    def repeat(self, stream, repsig, name=None) -> Stream:
        return self._add(Kind.REPEAT, [stream, repsig], [stream.kind], name=name)

    def array(self, ref, tensor: int, name=None) -> Stream:
        return self._add(Kind.ARRAY, [ref], [StreamKind.VAL], (tensor,), name=name)

    def alu(self, op, a, b=None, const: float = 0.0, name=None) -> Stream:
        op = AluCode[op.upper()] if isinstance(op, str) else AluCode(op)
        binary = op in BINARY_CODES
        if binary != (b is not None):
            raise FuseflowError(f"alu {op.name.lower()} takes {'two' if binary else 'one'} operand(s)")
        return self._add(Kind.ALU, [a, b] if binary else [a], [StreamKind.VAL], (int(op),), (float(const),), name=name)

    def reduce(self, val, op="add", name=None) -> Stream:
        op = ReduceCode[op.upper()] if isinstance(op, str) else ReduceCode(op)
        return self._add(Kind.REDUCE, [val], [StreamKind.VAL], (int(op),), name=name)

    def spacc1(self, inner_crd, outer_crd, val, name=None):
        return self._add(Kind.SPACC1, [inner_crd, outer_crd, val], [StreamKind.CRD, StreamKind.VAL], name=name)

    def spacc2(self, crd0, crd1, crd2, val, name=None):
        return self._add(Kind.SPACC2, [crd0, crd1, crd2, val], [StreamKind.CRD, StreamKind.CRD, StreamKind.VAL], name=name)

    def crd_drop(self, outer, inner, name=None):
        return self._add(Kind.CRD_DROP, [outer, inner], [StreamKind.CRD, StreamKind.CRD], name=name)

    def crd_hold(self, outer, inner, name=None):
        return self._add(Kind.CRD_HOLD, [outer, inner], [StreamKind.CRD, StreamKind.CRD], name=name)

    def fiber_write(self, crd, output: int, level: int, name=None) -> None:
        self._add(Kind.FIBER_WRITE, [crd], [], (output, level), name=name)

    def val_write(self, val, output: int, name=None) -> None:
        self._add(Kind.VAL_WRITE, [val], [], (output,), name=name)

    def fork(self, stream, lanes: int, name=None) -> list[Stream]:
        outs = self._add(Kind.FORK, [stream], [stream.kind] * lanes, (lanes,), name=name)
        return [outs] if lanes == 1 else list(outs)

    def join(self, lanes_streams, depth: int = 0, name=None) -> Stream:
        """Merge lane streams back in fork order; ``depth`` = levels the lanes add below the
        forked level (0 when each forked token yields one token)."""
        k = lanes_streams[0].kind
        return self._add(Kind.JOIN, list(lanes_streams), [k], (len(lanes_streams), depth), name=name)

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
