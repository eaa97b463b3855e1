"""Binding a graph to concrete tensors: inputs by name or position, outputs from writer arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.sim.graph import PRIMITIVES, Graph, GraphTensor
from fuseflow.sim.tensors import Level, TensorData, from_value


def bind_inputs(g: Graph, inputs) -> list[TensorData]:
    """Match ``inputs`` (mapping name -> value, or a sequence in argument order) to ``g.inputs``
    and convert each to the level format the graph expects."""
    specs = g.inputs
    if isinstance(inputs, Mapping):
        missing = [s.name for s in specs if s.name not in inputs]
        if missing:
            users = [n.name for n in g.nodes if PRIMITIVES[n.kind].tensor_param and specs[n.iparams[0]].name in missing]
            raise FuseflowError(f"graph {g.name!r}: no input tensor named {missing[0]!r} (needed by node {users[0] if users else '?'!r}); given: {sorted(inputs)}")
        values = [inputs[s.name] for s in specs]
    elif isinstance(inputs, Sequence):
        if len(inputs) != len(specs):
            raise FuseflowError(f"graph {g.name!r} takes {len(specs)} input tensors ({[s.name for s in specs]}), got {len(inputs)}")
        values = list(inputs)
    else:
        raise FuseflowError("inputs must be a mapping name -> tensor or a sequence of tensors")
    bound = []
    for k, (spec, v) in enumerate(zip(specs, values, strict=True)):
        try:
            td = from_value(spec.name, v, spec.format, spec.order, spec.block, spec.batch)
        except FuseflowError as e:
            raise FuseflowError(f"{e}{_readers(g, k)}") from None
        if td.format != spec.format or tuple(td.order) != tuple(spec.order) or td.block != spec.block or \
                tuple(td.batch) != tuple(spec.batch):
            raise FuseflowError(f"input {spec.name!r}{_readers(g, k)}: graph expects format {spec.format!r} order "
                                f"{spec.order} block {spec.block} (batch dims {spec.batch}), got {td.format!r} order "
                                f"{td.order} block {td.block} (batch dims {td.batch})")
        if spec.shape and tuple(spec.shape) != td.shape and all(isinstance(s, int) for s in spec.shape):
            raise FuseflowError(f"input {spec.name!r}{_readers(g, k)}: graph expects shape {tuple(spec.shape)}, got {td.shape}")
        bound.append(td)
    _check_levels(g, bound)
    return bound


def _readers(g: Graph, k: int) -> str:
    """The nodes reading input ``k``, as an error message names them (empty if none)."""
    readers = [n.name for n in g.nodes if PRIMITIVES[n.kind].tensor_param and n.iparams[0] == k]
    return f" (read by node {', '.join(readers)})" if readers else ""


def _check_levels(g: Graph, bound: list[TensorData]) -> None:
    """Each node that reads an input tensor reads one it has (its record's ``check_bound``)."""
    for n in g.nodes:
        rec = PRIMITIVES[n.kind]
        if rec.tensor_param and not 0 <= n.iparams[0] < len(bound):
            raise FuseflowError(f"node {n.name!r} reads input #{n.iparams[0]}, but the graph has {len(bound)} inputs")
        rec.check_bound(n, bound)


def resolve_shape(spec: GraphTensor, bound: list[TensorData], g: Graph) -> tuple[int, ...]:
    names = {t.name: t for t in bound}
    out = []
    for s in spec.shape:
        if isinstance(s, (int, np.integer)):
            out.append(int(s))
            continue
        name, dim = s
        if name not in names:
            raise FuseflowError(f"output {spec.name!r}: shape refers to unknown input {name!r}")
        out.append(names[name].shape[dim])
    if len(out) != len(spec.format):
        raise FuseflowError(f"output {spec.name!r}: shape {tuple(out)} does not match format {spec.format!r}")
    return tuple(out)


class OutputBuilder:
    """Collects the arrays one output's writers produce and assembles a ``TensorData``."""

    def __init__(self, spec: GraphTensor, shape: tuple[int, ...]):
        if spec.format.strip("dc"):
            raise FuseflowError(f"output {spec.name!r}: level format {spec.format!r}; outputs are written with dense and compressed levels only")
        self.spec = spec
        self.shape = shape
        self.levels: list[tuple | None] = [None] * len(spec.format)
        self.vals = None

    def positions(self) -> list[int]:
        """Per level, the most positions (coordinates) it can hold: the product of the
        dimensions of it and the levels above (a tile counts once in a blocked tensor)."""
        out, npos = [], 1
        for d in self.blocked_dims():
            npos *= max(1, d)
            out.append(npos)
        return out

    def blocked_dims(self) -> list[int]:
        """The dimension each level iterates: a blocked dimension counts blocks."""
        spec = self.spec
        bdims = [s if d in spec.batch or not spec.block else s // spec.block for d, s in enumerate(self.shape)]
        return [bdims[spec.order[lv]] for lv in range(len(spec.format))]

    def set_level(self, level: int, seg, crd) -> None:
        if not 0 <= level < len(self.levels):
            raise FuseflowError(f"output {self.spec.name!r}: fiber_write of level {level}, which it does not have")
        self.levels[level] = (np.asarray(seg, np.int64), np.asarray(crd, np.int64))

    def set_vals(self, vals) -> None:
        self.vals = vals

    def finish(self) -> TensorData:
        spec = self.spec
        levels = []
        npos = 1
        for lv, (fmt, dim) in enumerate(zip(spec.format, self.blocked_dims(), strict=True)):
            if fmt == "d":
                levels.append(Level("d", dim))
                npos *= dim
                continue
            if self.levels[lv] is None:
                raise FuseflowError(f"output {spec.name!r}: compressed level {lv} has no fiber_write")
            seg, crd = self.levels[lv]
            if len(seg) != npos + 1:
                raise FuseflowError(f"output {spec.name!r} level {lv}: writer produced {len(seg) - 1} fibers, expected {npos}")
            levels.append(Level("c", dim, seg, crd))
            npos = len(crd)
        if self.vals is None:
            raise FuseflowError(f"output {spec.name!r} has no val_write")
        if spec.block and len(self.shape) - len(spec.batch) == 1:  # tiles of a vector: 1 x B rows
            vals = np.array([vector_of(v, spec.block) for v in self.vals]).reshape(len(self.vals), 1, spec.block)
        elif spec.block:
            vals = np.zeros((len(self.vals), spec.block, spec.block))
            for k, v in enumerate(self.vals):
                vals[k] = v
        else:
            vals = np.asarray(self.vals, np.float64)
        if len(vals) != npos:
            raise FuseflowError(f"output {spec.name!r}: val_write produced {len(vals)} values for {npos} positions")
        return TensorData(spec.name, self.shape, spec.order, levels, vals, spec.block, tuple(spec.batch))


def vector_of(tile, block: int) -> np.ndarray:
    """The B-vector a tile of a vector result holds: a 1 x B row, a B x 1 column, or a B x B tile
    constant along one axis (a vector broadcast by an elementwise op; a zero tile)."""
    t = np.asarray(tile, np.float64)
    if t.size == block:
        return t.reshape(block)
    t = np.broadcast_to(t, (block, block))
    return t[:, 0] if np.array_equal(t, np.broadcast_to(t[:, :1], t.shape)) else t[0]


def make_output_builders(g: Graph, bound: list[TensorData]) -> list[OutputBuilder]:
    return [OutputBuilder(s, resolve_shape(s, bound, g)) for s in g.outputs]
