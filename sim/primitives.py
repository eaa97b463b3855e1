"""One record per simulator primitive: everything the simulator's tools know about it.

A record says, in one place, how a primitive (a node kind of ``graph.Graph``) is

- built by hand (``build``: the ``GraphBuilder`` method of the same name),
- read from its ``sam`` dialect op (``op``, ``read``),
- set up in the compiled engine (``kernel``: its class in ``_engine.pyx``, which configures
  itself from the keywords ``configure`` returns; ``timing``; ``tiled_outputs``),
- evaluated by the functional model (``evaluate``, calling its function in ``functional.py``).

``Kind`` (the node kind codes) is made from the records. Adding a primitive touches its op in
``dialects/sam.py``, its record here, its kernel in a ``_prims_*.pxi`` and its semantics in
``functional.py`` (see CONTRIBUTING.md, "Adding a primitive"); ``test_primitive_records.py``
fails when one of them is missing.

A record is a class whose methods are static (records are tables, not objects)::

    @primitive
    class Repeat(Primitive):
        code, name, op, kernel, ins = 6, "repeat", "sam.repeat", "Repeat", 2

        def build(b, stream, repsig, name=None):
            return b.add(Kind.REPEAT, [stream, repsig], [stream.kind], name=name)
        ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.sim import functional as fn
from fuseflow.sim.codes import (
    BINARY_CODES,
    MATMUL_CODES,
    TILE_ONLY_CODES,
    AluCode,
    ReduceCode,
    StreamKind,
)

CRD, REF, VAL, REPSIG = StreamKind.CRD, StreamKind.REF, StreamKind.VAL, StreamKind.REPSIG

# sam-dialect alu kinds with a scalar operand -> the simulator's code (``sub`` adds -scalar)
_SCALAR_FORMS = {"add": AluCode.ADDC, "mul": AluCode.MULC, "div": AluCode.DIVC, "max": AluCode.MAXC,
                 "min": AluCode.MINC, "sub": AluCode.ADDC}
# sam-dialect format attribute -> the level letters it may read (see tensors.py)
LEVEL_LETTERS = {"dense": "d", "compressed": "cn", "singleton": "st"}


class Primitive:
    """The record interface, with the defaults most primitives share."""

    code: int  # the node kind's integer code (``Kind``)
    name: str  # the node kind's name, also its ``GraphBuilder`` method
    op: str | None = None  # the sam op it is read from; None for the test harness's nodes
    kernel: str = ""  # its class in ``_engine`` (a ``cdef class`` in a ``_prims_*.pxi``)
    ins: int | None = None  # number of input streams; None: ``inputs(iparams)`` decides
    tensor_param: bool = False  # iparams[0] is an input tensor index (scanners, loads)
    writer: bool = False  # no output: done a cycle after its last token (writers, sinks)

    @staticmethod
    def inputs(iparams) -> int:
        raise NotImplementedError

    @staticmethod
    def read(r: Reader, op) -> list:
        """The node(s) for sam op ``op`` (``r`` gives its operands and attributes); its output
        streams in result order."""
        raise FuseflowError(f"{r.where}: the simulator reads no {op.name}")

    @staticmethod
    def check_bound(n, bound: list) -> None:
        """Raise ``FuseflowError`` when the bound input tensors cannot serve the node."""

    @staticmethod
    def configure(n, x, block: int) -> dict:
        """Keywords for the kernel's ``configure`` (``x``: the engine build, ``_Build`` in
        engine.py; ``block``: the tile size when the node handles tiles, else 0)."""
        return {}

    @staticmethod
    def timing(n, x, block: int) -> tuple[int, int]:
        """(latency, initiation interval) of the node."""
        return x.hw.latency, x.hw.ii

    @staticmethod
    def tiled_outputs(n, tiled_ins: list[bool], x) -> list[int]:
        """Output ports that carry tiles, given which inputs do."""
        return []

    @staticmethod
    def evaluate(n, ins: list[list], x) -> list[list]:
        """The functional model: output token lists from input token lists (``x``: the graph,
        bound tensors, output builders and sinks; ``_Eval`` in functional.py)."""
        raise NotImplementedError


PRIMITIVES: dict[int, type[Primitive]] = {}  # code -> record
BY_NAME: dict[str, type[Primitive]] = {}
BY_OP: dict[str, type[Primitive]] = {}  # sam op name -> the record that reads it


def primitive(cls: type[Primitive]) -> type[Primitive]:
    """Register a record (codes and names are unique; an op is read by one record). Its methods
    are plain functions called on the class (``FiberLookup.read(r, op)``), never on instances."""
    if cls.code in PRIMITIVES or cls.name in BY_NAME:
        raise ValueError(f"primitive {cls.name} ({cls.code}) registered twice")
    PRIMITIVES[cls.code] = BY_NAME[cls.name] = cls
    if cls.op is not None and cls.read is not Primitive.read:
        if cls.op in BY_OP:
            raise ValueError(f"{cls.op} is read by {BY_OP[cls.op].name} and {cls.name}")
        BY_OP[cls.op] = cls
    return cls


def input_count(kind: int, iparams) -> int:
    rec = PRIMITIVES[kind]
    return rec.ins if rec.ins is not None else rec.inputs(iparams)


class Reader:
    """What a record's ``read`` sees of one sam op: its operands as streams or tensor indices,
    its attributes, the graph builder and a name for the node (see from_mlir.py)."""

    def __init__(self, b, streams, tensors, operands, attrs, name: str, where: str):
        self.b, self.name, self.where = b, name, where
        self._streams, self._tensors, self._operands, self._attrs = streams, tensors, operands, attrs

    def __len__(self) -> int:
        return len(self._operands)

    def stream(self, k: int):
        key = self._operands[k]
        if key not in self._streams:
            raise FuseflowError(f"{self.where}: operand {k} is not a SAM stream")
        return self._streams[key]

    def streams(self, lo: int = 0, hi: int | None = None) -> list:
        return [self.stream(k) for k in range(lo, len(self) if hi is None else hi)]

    def tensor(self, k: int) -> int:
        key = self._operands[k]
        if key not in self._tensors:
            raise FuseflowError(f"{self.where}: tensor operand must be a function argument")
        return self._tensors[key]

    def has(self, attr: str) -> bool:
        return attr in self._attrs

    def int(self, attr: str) -> int:
        from fuseflow.bindings import ir

        return int(ir.IntegerAttr(self._attrs[attr]).value)

    def str(self, attr: str) -> str:
        from fuseflow.bindings import ir

        return ir.StringAttr(self._attrs[attr]).value

    def float(self, attr: str) -> float:
        from fuseflow.bindings import ir

        return float(ir.FloatAttr(self._attrs[attr]).value)

    def level(self, tensor_operand: int) -> tuple[int, int]:
        """(tensor index, level) of a scanner or locator, its format checked against the
        tensor's declared level."""
        tid, level, fmt = self.tensor(tensor_operand), self.int("level"), self.str("format")
        spec = self.b.inputs[tid]
        if not 0 <= level < len(spec.format):
            raise FuseflowError(f"{self.where}: level {level} outside {spec.name}'s {len(spec.format)} levels")
        if spec.format[level] not in LEVEL_LETTERS.get(fmt, ""):
            raise FuseflowError(f"{self.where}: format {fmt!r} does not match level {level} of {spec.name} ({spec.format!r})")
        return tid, level


@dataclass(frozen=True)
class Writer:
    """A writer op read from MLIR, built into a node when its ``sam.output`` is read."""

    kind: int
    stream: object
    name: str
    level: int = 0
    format: str = ""


def _check_level(n, bound: list) -> None:
    t, lv = n.iparams[:2]
    if not 0 <= lv < len(bound[t].levels):
        raise FuseflowError(f"node {n.name!r} reads level {lv} of {bound[t].name!r}, which has "
                            f"{len(bound[t].levels)} levels ({bound[t].format!r})")


def _level_arrays(lv, eng) -> dict:
    dense = lv.format == "d"
    seg = np.zeros(2, np.int64) if dense or lv.singleton else np.ascontiguousarray(lv.seg, np.int64)
    crd = np.zeros(1, np.int64) if dense or not len(lv.crd) else np.ascontiguousarray(lv.crd, np.int64)
    return {"dense": dense, "dim": lv.dim, "seg": seg, "crd": crd, "seg_base": eng.alloc(len(seg)),
            "crd_base": eng.alloc(len(crd))}


def _positions(a) -> np.ndarray:
    a = np.ascontiguousarray(a, np.int64)
    return a if len(a) else np.zeros(1, np.int64)


# ----------------------------------------------------------------------------------------------
# Generators and the test harness's nodes


@primitive
class Root(Primitive):
    """Emits ``0, D`` on a ref stream."""

    code, name, op, kernel, ins = 0, "root", "sam.root", "Root", 0

    def build(b, name=None):
        return b.add(Kind.ROOT, [], [REF], name=name)

    def read(r, op):
        return [r.b.root(name=r.name)]

    def evaluate(n, ins, x):
        return [fn.root()]


@primitive
class Source(Primitive):
    """Replays a given token list (tests, region stitching)."""

    code, name, kernel, ins = 18, "source", "Source", 0

    def build(b, tokens, kind: StreamKind, name=None):
        b.sources.append(list(tokens))
        return b.add(Kind.SOURCE, [], [kind], (len(b.sources) - 1,), name=name)

    def configure(n, x, block):
        from fuseflow.sim.engine import encode_tokens

        kind = x.g.fifo_kinds[n.outs[0][0]] if n.outs[0] else CRD
        return encode_tokens(x.g.sources[n.iparams[0]], kind, x.eng)

    def tiled_outputs(n, tiled_ins, x):
        return [0] if any(isinstance(t, np.ndarray) for t in x.g.sources[n.iparams[0]]) else []

    def evaluate(n, ins, x):
        return [list(x.g.sources[n.iparams[0]])]


@primitive
class Sink(Primitive):
    """Records a stream (tests)."""

    code, name, kernel, ins, writer = 19, "sink", "Sink", 1, True

    def build(b, stream, name: str):
        b.sink_names.append(name)
        b.add(Kind.SINK, [stream], [], (len(b.sink_names) - 1,), name=name)

    def timing(n, x, block):
        return 1, x.hw.ii

    def evaluate(n, ins, x):
        x.sinks[x.g.sink_names[n.iparams[0]]] = ins[0]
        return []


# ----------------------------------------------------------------------------------------------
# Scanners and joiners


@primitive
class FiberLookup(Primitive):
    """Level scanner: for each input ref, the (crd, ref) pairs of that fiber of a level."""

    code, name, op, kernel, ins, tensor_param = 1, "fiber_lookup", "sam.fiber_lookup", "FiberLookup", 1, True

    def build(b, ref, tensor: int, level: int, name=None):
        return b.add(Kind.FIBER_LOOKUP, [ref], [CRD, REF], (tensor, level), name=name)

    check_bound = _check_level

    def read(r, op):
        tid, level = r.level(0)
        return list(r.b.fiber_lookup(r.stream(1), tid, level, name=r.name))

    def configure(n, x, block):
        lv = x.tensors[n.iparams[0]].levels[n.iparams[1]]
        kw = _level_arrays(lv, x.eng)
        if lv.singleton:
            kw.update(single=True, nref=len(lv.crd), span_end=_positions(lv.span_end))
        if not lv.unique:
            kw.update(unique=False, run_end=_positions(lv.run_end))
        return kw

    def evaluate(n, ins, x):
        return list(fn.fiber_lookup(ins[0], x.tensors[n.iparams[0]].levels[n.iparams[1]], where=n.name))


@primitive
class Locate(Primitive):
    """Iterate (crd, ref); look crd up in a dense level under a parent ref -> (ref, located, crd)."""

    code, name, op, kernel, ins, tensor_param = 2, "locate", "sam.locate", "Locate", 3, True

    def build(b, crd, ref, parent_ref, tensor: int, level: int, name=None):
        """Iterate ``(crd, ref)``; look ``crd`` up in ``tensor``'s ``level`` under ``parent_ref``
        (the located tensor's ref one loop outside ``crd``) -> (ref, located ref, crd)."""
        return b.add(Kind.LOCATE, [crd, ref, parent_ref], [REF, REF, CRD], (tensor, level), name=name)

    def check_bound(n, bound):
        _check_level(n, bound)
        t, lv = n.iparams[:2]
        if bound[t].levels[lv].format not in ("d", "c"):
            raise FuseflowError(f"node {n.name!r} locates into level {lv} of {bound[t].name!r} ({bound[t].format!r}); "
                                "locate needs a dense or compressed level")

    def read(r, op):
        tid, level = r.level(0)
        return list(r.b.locate(r.stream(1), r.stream(2), r.stream(3), tid, level, name=r.name))

    def configure(n, x, block):
        return _level_arrays(x.tensors[n.iparams[0]].levels[n.iparams[1]], x.eng)

    def tiled_outputs(n, tiled_ins, x):
        return [0] if tiled_ins[1] else []

    def evaluate(n, ins, x):
        return list(fn.locate(ins[0], ins[1], ins[2], x.tensors[n.iparams[0]].levels[n.iparams[1]]))


class _Joiner(Primitive):
    kernel = "Joiner"
    union = False

    def inputs(iparams):
        return 2 * iparams[0]

    @classmethod
    def build(cls, b, pairs, name=None):
        """``pairs``: [(crd, payload), ...] -> (crd, [payloads])."""
        ins = [s for pair in pairs for s in pair]
        outs = b.add(cls.code, ins, [CRD] + [p[1].kind for p in pairs], (len(pairs),), name=name)
        return outs[0], list(outs[1:])

    @classmethod
    def read(cls, r, op):
        k = len(r) // 2
        crd, pays = getattr(r.b, cls.name)([(r.stream(i), r.stream(k + i)) for i in range(k)], name=r.name)
        return [crd, *pays]

    @classmethod
    def configure(cls, n, x, block):
        return {"k": n.iparams[0], "union": cls.union}

    def tiled_outputs(n, tiled_ins, x):
        return [1 + i for i in range(n.iparams[0]) if tiled_ins[2 * i + 1]]


def _pairs(n, ins: list[list]) -> list[tuple[list, list]]:
    return [(ins[2 * i], ins[2 * i + 1]) for i in range(n.iparams[0])]


@primitive
class Intersect(_Joiner):
    """Coordinates present in every input, with each input's payload."""

    code, name, op = 3, "intersect", "sam.intersect"

    def evaluate(n, ins, x):
        c, payloads = fn.intersect(_pairs(n, ins))
        return [c, *payloads]


@primitive
class Union(_Joiner):
    """Every coordinate present in some input; absent inputs get ``N`` payloads."""

    code, name, op, union = 4, "union", "sam.union", True

    def evaluate(n, ins, x):
        c, payloads = fn.union(_pairs(n, ins))
        return [c, *payloads]


# ----------------------------------------------------------------------------------------------
# Repeat


@primitive
class RepeatSigGen(Primitive):
    """data/``N`` -> ``R``, ``S_n`` -> ``S``, ``D`` -> ``D``."""

    code, name, op, kernel, ins = 5, "repeat_sig_gen", "sam.repeat_sig_gen", "RepeatSigGen", 1

    def build(b, crd, name=None):
        return b.add(Kind.REPEAT_SIG_GEN, [crd], [REPSIG], name=name)

    def read(r, op):
        return [r.b.repeat_sig_gen(r.stream(0), name=r.name)]

    def evaluate(n, ins, x):
        return [fn.repeat_sig_gen(ins[0])]


@primitive
class Repeat(Primitive):
    """Re-emit each input token once per ``R`` of the signal (broadcast)."""

    code, name, op, kernel, ins = 6, "repeat", "sam.repeat", "Repeat", 2

    def build(b, stream, repsig, name=None):
        return b.add(Kind.REPEAT, [stream, repsig], [stream.kind], name=name)

    def read(r, op):
        return [r.b.repeat(r.stream(0), r.stream(1), name=r.name)]

    def tiled_outputs(n, tiled_ins, x):
        return [0] if tiled_ins[0] else []

    def evaluate(n, ins, x):
        return [fn.repeat(ins[0], ins[1])]


# ----------------------------------------------------------------------------------------------
# Values


@primitive
class Array(Primitive):
    """Value load ``vals[ref]`` (``N`` -> 0); B x B tiles from a blocked tensor."""

    code, name, op, kernel, ins, tensor_param = 7, "array", "sam.array", "Array", 1, True

    def build(b, ref, tensor: int, name=None):
        return b.add(Kind.ARRAY, [ref], [VAL], (tensor,), name=name)

    def read(r, op):
        return [r.b.array(r.stream(1), r.tensor(0), name=r.name)]

    def configure(n, x, block):
        t, eng = x.tensors[n.iparams[0]], x.eng
        if not t.block:
            vals = np.ascontiguousarray(t.vals, np.float64)
            return {"vals": vals if len(vals) else np.zeros(1), "nvals": len(vals), "val_base": eng.alloc(len(vals))}
        if n.iparams[0] not in x.tile_bases:
            base = len(eng.tiles)
            for tile in t.vals:
                eng.add_tile(np.asarray(tile, np.float64))
            x.tile_bases[n.iparams[0]] = (base, eng.add_tile(np.zeros((t.block, t.block))))
        base, zero = x.tile_bases[n.iparams[0]]
        words = int(np.prod(np.shape(t.vals)[1:])) or 1  # a tile's words: B x B, or B for a vector's
        return {"vals": np.zeros(1), "nvals": len(t.vals), "val_base": eng.alloc(len(t.vals) * words),
                "tile_base": base, "zero_tile": zero, "words": words}

    def timing(n, x, block):
        t = x.tensors[n.iparams[0]]
        extra = t.block * t.block if t.block and x.hw.tile_costs else 0
        return x.hw.latency + extra, x.hw.ii

    def tiled_outputs(n, tiled_ins, x):
        return [0] if x.tensors[n.iparams[0]].block else []

    def evaluate(n, ins, x):
        return [fn.array(ins[0], x.tensors[n.iparams[0]].vals, where=n.name)]


@primitive
class Alu(Primitive):
    """Arithmetic on value streams (tile streams: elementwise, or a tile product for matmul)."""

    code, name, op, kernel = 8, "alu", "sam.alu", "Alu"

    def inputs(iparams):
        return 2 if iparams[0] in BINARY_CODES else 1

    def build(b, op, a, c=None, const: float = 0.0, name=None):
        op = AluCode[op.upper()] if isinstance(op, str) else AluCode(op)
        binary = op in BINARY_CODES
        if binary != (c is not None):
            raise FuseflowError(f"alu {op.name.lower()} takes {'two' if binary else 'one'} operand(s)")
        return b.add(Kind.ALU, [a, c] if binary else [a], [VAL], (int(op),), (float(const),), name=name)

    def read(r, op):
        kind = r.str("kind")
        if r.has("scalar"):
            c = r.float("scalar")
            if kind not in _SCALAR_FORMS:
                raise FuseflowError(f"{r.where}: no scalar form of alu kind {kind!r}")
            return [r.b.alu(_SCALAR_FORMS[kind], r.stream(0), const=-c if kind == "sub" else c, name=r.name)]
        if kind.upper() not in AluCode.__members__:
            raise FuseflowError(f"{r.where}: unknown alu kind {kind!r}")
        return [r.b.alu(kind, *r.streams(), name=r.name)]

    def configure(n, x, block):
        code = n.iparams[0]
        const = n.fparams[0] if n.fparams else 0.0
        kw = {"op": code, "binary": code in BINARY_CODES, "const": const}
        if block:
            kw["tile_fn"] = x.tiles.alu(code, const)
        return kw

    def timing(n, x, block):
        if not (block and x.hw.tile_costs):
            return x.hw.latency, x.hw.ii
        if n.iparams[0] in MATMUL_CODES:
            return 2 * block - 1, block
        elementwise = n.iparams[0] in BINARY_CODES or n.iparams[0] in TILE_ONLY_CODES  # touch every element
        return (block * block if elementwise else block), x.hw.ii

    def tiled_outputs(n, tiled_ins, x):
        return [0] if any(tiled_ins) else []

    def evaluate(n, ins, x):
        return [fn.alu(n.iparams[0], ins[0], ins[1] if len(ins) > 1 else None, n.fparams[0] if n.fparams else 0.0)]


@primitive
class Reduce(Primitive):
    """Accumulate values until a stop (``S0`` -> the result; ``S_n`` -> result, ``S_(n-1)``)."""

    code, name, op, kernel, ins = 9, "reduce", "sam.reduce", "Reduce", 1

    def build(b, val, op="add", name=None):
        op = ReduceCode[op.upper()] if isinstance(op, str) else ReduceCode(op)
        return b.add(Kind.REDUCE, [val], [VAL], (int(op),), name=name)

    def read(r, op):
        return [r.b.reduce(r.stream(0), r.str("kind"), name=r.name)]

    def configure(n, x, block):
        kw = {"op": n.iparams[0]}
        if block:
            kw["tile_fn"] = x.tiles.reduce(n.iparams[0])
        return kw

    def timing(n, x, block):
        return x.hw.latency + (block * block if block and x.hw.tile_costs else 0), x.hw.ii

    def tiled_outputs(n, tiled_ins, x):
        return [0] if any(tiled_ins) else []

    def evaluate(n, ins, x):
        return [fn.reduce(ins[0], n.iparams[0])]


class _Spacc(Primitive):
    """Accumulates B x B tiles (elementwise sums) when its values are tiles."""

    def configure(n, x, block):
        kw = {"capacity": x.hw.spacc_capacity, "flush_ii": x.hw.spacc_flush_ii}
        if block:
            kw["tile_fn"] = x.tiles.reduce(ReduceCode.ADD)
        return kw

    def timing(n, x, block):
        return x.hw.latency + (block * block if block and x.hw.tile_costs else 0), x.hw.ii

    @classmethod
    def tiled_outputs(cls, n, tiled_ins, x):
        if any(tiled_ins[:-1]):
            raise FuseflowError(f"node {n.name!r}: a sparse accumulator's coordinates cannot be tiles")
        return [cls.ins - 2] if tiled_ins[-1] else []  # the value result follows the crd results


@primitive
class Spacc1(_Spacc):
    """Sparse accumulator of order 1: (inner crd, reduced crd, val) -> (crd, val). Reads
    ``sam.spacc`` of either order (order 2 builds a ``spacc2``)."""

    code, name, op, kernel, ins = 10, "spacc1", "sam.spacc", "Spacc1", 3

    def build(b, inner_crd, outer_crd, val, name=None):
        return b.add(Kind.SPACC1, [inner_crd, outer_crd, val], [CRD, VAL], name=name)

    def read(r, op):
        order = r.int("order")
        if order not in (1, 2):
            raise FuseflowError(f"{r.where}: spacc order {order} (1 or 2 supported)")
        build = r.b.spacc1 if order == 1 else r.b.spacc2
        return list(build(*r.streams(0, order + 2), name=r.name))

    def evaluate(n, ins, x):
        return list(fn.spacc1(*ins))


@primitive
class Spacc2(_Spacc):
    """Sparse accumulator of order 2: (crd0, crd1, reduced crd2, val) -> (crd0, crd1, val)."""

    code, name, op, kernel, ins = 11, "spacc2", "sam.spacc", "Spacc2", 4

    def build(b, crd0, crd1, crd2, val, name=None):
        return b.add(Kind.SPACC2, [crd0, crd1, crd2, val], [CRD, CRD, VAL], name=name)

    def evaluate(n, ins, x):
        return list(fn.spacc2(*ins))


# ----------------------------------------------------------------------------------------------
# Coordinate filters


@primitive
class CrdDrop(Primitive):
    """Drop outer coordinates whose inner fiber is empty."""

    code, name, op, kernel, ins = 12, "crd_drop", "sam.crd_drop", "CrdDrop", 2

    def build(b, outer, inner, name=None):
        return b.add(Kind.CRD_DROP, [outer, inner], [CRD, CRD], name=name)

    def read(r, op):
        return list(r.b.crd_drop(r.stream(0), r.stream(1), name=r.name))

    def evaluate(n, ins, x):
        return list(fn.crd_drop(*ins))


@primitive
class CrdHold(Primitive):
    """Repeat the outer coordinate for every inner coordinate."""

    code, name, op, kernel, ins = 13, "crd_hold", "sam.crd_hold", "CrdHold", 2

    def build(b, outer, inner, name=None):
        return b.add(Kind.CRD_HOLD, [outer, inner], [CRD, CRD], name=name)

    def read(r, op):
        return list(r.b.crd_hold(r.stream(0), r.stream(1), name=r.name))

    def evaluate(n, ins, x):
        return list(fn.crd_hold(*ins))


# ----------------------------------------------------------------------------------------------
# Parallel lanes


@primitive
class Fork(Primitive):
    """Data tokens round-robin to the lanes; stops and done to all."""

    code, name, op, kernel, ins = 16, "fork", "sam.fork", "Fork", 1

    def build(b, stream, lanes: int, name=None):
        outs = b.add(Kind.FORK, [stream], [stream.kind] * lanes, (lanes,), name=name)
        return [outs] if lanes == 1 else list(outs)

    def read(r, op):
        return r.b.fork(r.stream(0), r.int("lanes"), name=r.name)

    def configure(n, x, block):
        return {"lanes": n.iparams[0]}

    def tiled_outputs(n, tiled_ins, x):
        return list(range(n.iparams[0])) if tiled_ins[0] else []

    def evaluate(n, ins, x):
        return fn.fork(ins[0], n.iparams[0])


@primitive
class Join(Primitive):
    """Merge the lanes back in fork order, one unit (token or fiber) per lane in turn."""

    code, name, op, kernel = 17, "join", "sam.join", "Join"

    def inputs(iparams):
        return iparams[0]

    def build(b, lanes_streams, depth: int = 0, name=None):
        """Merge lane streams back in fork order; ``depth`` = levels the lanes add below the
        forked level (0 when each forked token yields one token)."""
        k = lanes_streams[0].kind
        return b.add(Kind.JOIN, list(lanes_streams), [k], (len(lanes_streams), depth), name=name)

    def read(r, op):
        return [r.b.join(r.streams(), depth=r.int("depth"), name=r.name)]

    def configure(n, x, block):
        return {"lanes": n.iparams[0], "depth": n.iparams[1] if len(n.iparams) > 1 else 0}

    def tiled_outputs(n, tiled_ins, x):
        return [0] if any(tiled_ins) else []

    def evaluate(n, ins, x):
        return [fn.join(ins, n.iparams[1])]


# ----------------------------------------------------------------------------------------------
# Writers (their nodes are built with the sam.output that takes them: see from_mlir.py)

# A written array's address range: whole slots of 1M words, as many as the output's most
# positions need. An array never runs into the next one's addresses, and an output that fits
# one slot keeps the addresses (so the memory channels) it always had.
_WRITE_SLOT = 1 << 20


def _reserve(x, words: int) -> int:
    return x.eng.alloc(-(-max(1, words) // _WRITE_SLOT) * _WRITE_SLOT)


@primitive
class FiberWrite(Primitive):
    """Builds one level (seg/crd arrays) of an output tensor."""

    code, name, op, kernel, ins, writer = 14, "fiber_write", "sam.fiber_write", "FiberWrite", 1, True

    def build(b, crd, output: int, level: int, name=None):
        b.add(Kind.FIBER_WRITE, [crd], [], (output, level), name=name)

    def read(r, op):
        """A pending writer: the sam.output taking it knows the output tensor."""
        return [Writer(Kind.FIBER_WRITE, r.stream(0), r.name, r.int("level"), r.str("format"))]

    def configure(n, x, block):
        positions = x.outputs[n.iparams[0]].positions()
        level = n.iparams[1]
        return {"crd_base": _reserve(x, positions[level]),
                "seg_base": _reserve(x, (positions[level - 1] if level else 1) + 1)}

    def timing(n, x, block):
        return 1, x.hw.ii

    def evaluate(n, ins, x):
        seg, crd = fn.fiber_write(ins[0])
        x.outputs[n.iparams[0]].set_level(n.iparams[1], seg, crd)
        return []


@primitive
class ValWrite(Primitive):
    """Builds the values array of an output tensor."""

    code, name, op, kernel, ins, writer = 15, "val_write", "sam.val_write", "ValWrite", 1, True

    def build(b, val, output: int, name=None):
        b.add(Kind.VAL_WRITE, [val], [], (output,), name=name)

    def read(r, op):
        return [Writer(Kind.VAL_WRITE, r.stream(0), r.name)]

    def configure(n, x, block):
        spec = x.g.outputs[n.iparams[0]]
        words = (block if len(spec.format) - len(spec.batch) == 1 else block * block) if block else 1  # per tile
        return {"val_base": _reserve(x, math.prod(x.outputs[n.iparams[0]].blocked_dims()) * words), "words": words}

    def timing(n, x, block):
        return 1, x.hw.ii

    def evaluate(n, ins, x):
        x.outputs[n.iparams[0]].set_vals(fn.val_write(ins[0]))
        return []


Kind = IntEnum("Kind", {rec.name.upper(): code for code, rec in sorted(PRIMITIVES.items())})
Kind.__doc__ = "The simulator's node kinds, one per primitive record (``PRIMITIVES``)."
Kind.__module__ = __name__
HARNESS = (Kind.SOURCE, Kind.SINK)  # node kinds that are no primitive of the dialect
