"""sam-parallelize: fork chosen loop levels of SAM graphs into parallel lanes.

SAM_SEMANTICS.md section 5: parallelizing index variable ``v`` with factor ``P`` puts a
``sam.fork`` on every stream that enters the loop body of ``v`` at ``v``'s level (data tokens
round-robin to the lanes, stops and done to every lane), clones the body once per lane, and
merges what leaves the body back in fork order::

    %i:2 = "sam.fiber_lookup"(%A, %root) {index = "i", ...}     // the loop over i: not cloned
    %f:2 = "sam.fork"(%i#1) {lanes = 2 : i64}                     // its ref, round-robin
    ... lane 0 reads %f#0, lane 1 reads %f#1: the body (j loop, product, reduce) twice ...
    %y = "sam.join"(%y0, %y1) {depth = 0 : i64, lanes = 2 : i64}  // one row result per i, in order
    "sam.val_write"(%y)

The body of ``v`` is every op that reads a stream nested in ``v``'s loop, except writers, joins
and the ops that make ``v``'s coordinates (scanners of ``v``, and joiners at ``v`` that merge
differently structured streams): those run once, before the fork. Streams from outside ``v``'s
loop (an operand repeated over ``v``) are read by every lane as they are (broadcast). A stream
leaving the body inside ``v``'s loop is joined (``depth`` = the levels it has below ``v``); a
value leaving it outside ``v``'s loop is a reduction over ``v`` and the lanes' partial results
are combined: ``reduce`` by an ALU of its kind over the lanes (add, max or min), an order-1
``spacc`` by a union of the lanes' coordinates and an add of their values (``N`` counts as 0).
Several variables (``i:4,j:2``) are parallelized outermost first; the inner one is forked in
every lane of the outer one (P1 x P2 lanes). Cloned ops carry ``fuseflow.lane`` (``"2"``, or
``"2.1"`` nested) so the simulator can report per-lane busy cycles.

Results are identical to the serial graph's when ``v`` is not reduced; a reduction over ``v`` is
summed in another association (equal up to float rounding).

Preconditions: every graph passes the loop-nest check. Guarantees: the graph passes it again and
computes the same outputs. Fails (``PassFailure``) when a variable is not one of the graph's
loops, a factor is not an integer >= 1, or the graph cannot be split at that variable: streams
of differently structured ``v`` loops enter one body (they cannot be forked alike), a value
computed inside the loop is needed to make its coordinates, or a reduction over ``v`` other than
an additive/max/min ``reduce`` or an order-1 additive ``spacc`` leaves it.

Options: ``par``: ``"i:4"`` or ``"i:4,j:2"`` for every graph, ``"4"`` for each graph's
outermost loop (``"4,2"``: its outermost two loop levels, aliases of one level counted once), or
per graph ``"region0=i:4;region2=j:2"`` (a graph is ``regionN`` by its
``fuseflow.region`` attribute, else its function name).
"""

from __future__ import annotations

from dataclasses import dataclass

from fuseflow.bindings import ir
from fuseflow.dialects import sam
from fuseflow.dialects.sam_builder import SamBuilder
from fuseflow.dialects.sam_graph import SamGraph, loop_aliases, loop_nests
from fuseflow.passes.pass_base import ModulePass, Option, PassFailure
from fuseflow.passes.registry import register
from fuseflow.passes.sam_dedup_streams import check_graph, graph_functions

LANE_ATTR = "fuseflow.lane"
MAX_LANES = 4096  # product of the factors of one graph: beyond it a graph is not buildable in memory
_JOINERS = ("sam.intersect", "sam.union")
_BARRIERS = ("sam.fiber_write", "sam.val_write", "sam.output", "func.return", "sam.join")
_COMBINE = {"add": "add", "max": "max", "min": "min"}


class ParallelizeError(ValueError):
    """A request the graph cannot honour (the message names the variable and the reason)."""


@dataclass(frozen=True)
class Level:
    """Parallelize loop ``var`` with ``lanes`` lanes."""

    var: str
    lanes: int

    def text(self) -> str:
        return str(self.lanes) if self.var.startswith("#") else f"{self.var}:{self.lanes}"


def parse_levels(text: str) -> tuple[Level, ...]:
    """``"i:4,j:2"`` -> (Level("i", 4), Level("j", 2)); bare factors name loops by position:
    ``"4"`` -> the outermost loop, ``"4,2"`` -> the outermost two (var ``"#0"``, ``"#1"``)."""
    text = text.strip()
    if not text:
        return ()
    levels = []
    for part in text.split(","):
        part = part.strip()
        var, sep, factor = part.rpartition(":")
        if not sep:
            var, factor = f"#{len(levels)}", part
        var = var.strip()
        try:
            lanes = int(factor)
        except ValueError:
            raise ParallelizeError(f"'{part}': the factor must be an integer, got '{factor.strip()}'") from None
        if lanes < 1:
            raise ParallelizeError(f"'{part}': the factor must be at least 1, got {lanes}")
        if sep and not var.isidentifier():
            raise ParallelizeError(f"'{part}': expected VAR:FACTOR such as i:4")
        levels.append(Level(var, lanes))
    names = [lv.var for lv in levels]
    if len(set(names)) != len(names):
        raise ParallelizeError(f"'{text}' names a loop twice")
    positional = [n.startswith("#") for n in names]
    if any(positional) and not all(positional):
        raise ParallelizeError(f"'{text}': either name every loop (i:4,j:2) or none (4,2: the outermost loops)")
    lanes = 1
    for lv in levels:
        lanes *= lv.lanes
    if lanes > MAX_LANES:
        raise ParallelizeError(f"'{text}' asks for {lanes} lanes; at most {MAX_LANES} per graph")
    return tuple(levels)


def parse_par(text: str) -> dict[str, tuple[Level, ...]]:
    """The ``par`` option: ``{"*": levels}`` for every graph, or ``{"regionN": levels, ...}``."""
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        return {"*": parse_levels(text)}
    out = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        graph, sep, spec = part.partition("=")
        if not sep or not graph.strip():
            raise ParallelizeError(f"'{part}': expected regionN=VAR:FACTOR[,VAR:FACTOR]")
        out[graph.strip()] = parse_levels(spec)
    return out


def graph_key(fn: ir.Operation) -> str:
    """``regionN`` for a region graph (its ``fuseflow.region``), else the function's name."""
    if "fuseflow.region" in fn.attributes:
        return f"region{ir.IntegerAttr(fn.attributes['fuseflow.region']).value}"
    return ir.StringAttr(fn.attributes["sym_name"]).value


def parallel_loops(fn: ir.Operation) -> list[str]:
    """The loop levels of a graph that ``par`` can name, outermost first: its loops with the
    aliases of one level (``fuseflow.loop_aliases``) given once, by their first name."""
    alias = loop_aliases(fn)
    out, seen = [], set()
    for v in graph_loops(fn):
        if alias.get(v, v) not in seen:
            seen.add(alias.get(v, v))
            out.append(v)
    return out


def graph_loops(fn: ir.Operation) -> list[str]:
    """The loops of a graph, outermost first: its ``fuseflow.order`` (a lowered region), else the
    index variables of its scanners in first-use order."""
    if "fuseflow.order" in fn.attributes:
        return [v for v in ir.StringAttr(fn.attributes["fuseflow.order"]).value.split(",") if v]
    seen: list[str] = []
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name == "sam.fiber_lookup":
            var = ir.StringAttr(op.operation.attributes["index"]).value
            if var not in seen:
                seen.append(var)
    return seen


@register
class SamParallelizePass(ModulePass):
    """Fork loop levels of SAM graphs into parallel lanes (fork, cloned body, join).

    See the module docstring for the method, preconditions and guarantees.
    """

    name = "sam-parallelize"
    par = Option(str, "", "lanes per loop: 'i:4', 'i:4,j:2', '4' (outermost loop), '4,2' (outermost two), or per graph "
                           "'region0=i:4;region1=j:2'")

    def run(self, module: ir.Operation) -> None:
        try:
            plan = parse_par(self.par)
        except ParallelizeError as e:
            raise PassFailure(str(e), module.location) from None
        if not plan:
            return
        fns = {graph_key(fn): fn for fn in graph_functions(module)}
        unknown = sorted(set(plan) - set(fns) - {"*"})
        if unknown:
            raise PassFailure(f"no graph named {', '.join(unknown)} "
                              f"(graphs: {', '.join(fns) or 'none'})", module.location)
        for key, fn in fns.items():
            levels = plan.get(key, plan.get("*", ()))
            if levels:
                check_graph(fn, "input")
                try:
                    parallelize_graph(fn, levels)
                except ParallelizeError as e:
                    raise PassFailure(f"{key}: {e}", fn.location) from None
                check_graph(fn, "parallelized")


def parallelize_graph(fn: ir.Operation, levels: tuple[Level, ...]) -> None:
    """Apply ``levels`` to graph function ``fn`` in its loop order (outermost first)."""
    loops = graph_loops(fn)
    alias = loop_aliases(fn)
    rep = {v: alias.get(v, v) for v in loops}
    levels_ = parallel_loops(fn)
    resolved = []
    for lv in levels:
        var = lv.var
        if var.startswith("#"):
            position = int(var[1:])
            if position >= len(levels_):
                raise ParallelizeError(f"'{lv.lanes}' at position {position + 1}: the graph has {len(levels_)} loop "
                                       f"level(s) ({', '.join(levels_) or 'none'})")
            var = levels_[position]
        if var not in rep:
            raise ParallelizeError(f"'{lv.text()}': the graph has no loop '{var}' (its loops: {', '.join(loops) or 'none'})")
        resolved.append(Level(var, lv.lanes))
    reps = [rep[lv.var] for lv in resolved]
    if len(set(reps)) != len(reps):
        raise ParallelizeError(f"{', '.join(lv.var for lv in resolved)} name one loop twice (aliases of one level)")
    resolved.sort(key=lambda lv: loops.index(lv.var))
    for lv in resolved:
        if lv.lanes > 1:
            _Splitter(fn, rep[lv.var], lv).run()


class _Splitter:
    """One variable of one graph: find its body, then rebuild the function with lanes."""

    def __init__(self, fn: ir.Operation, var: str, level: Level):
        self.fn, self.var, self.level = fn, var, level
        self.graph = SamGraph(fn)
        self.nests = loop_nests(self.graph)
        self.n_args = len(self.graph.args)
        self.index = {op: self.n_args + i for i, op in enumerate(self.graph.ops)}
        self.level_nest = self._level_nest()

    # --- analysis -------------------------------------------------------------------------
    def key(self, value: ir.Value) -> tuple[int, int]:
        owner = value.owner
        if isinstance(owner, ir.Block):
            return (value.arg_number, 0)
        return (self.index[owner.operation], ir.OpResult(value).result_number)

    def nest(self, value: ir.Value):
        return self.nests.get(self.key(value))

    def inside(self, value: ir.Value) -> bool:
        """Whether ``value`` is nested in the loop being split (its nest starts with ``level``)."""
        nest = self.nest(value)
        return nest is not None and self.level_nest is not None and nest[: len(self.level_nest)] == self.level_nest

    def at_level(self, value: ir.Value) -> bool:
        return self.level_nest is not None and self.nest(value) == self.level_nest

    def _level_nest(self):
        """The loop nest of ``var``'s first scanner: the level the lanes split (a stream nested in
        ``var`` under another nest, e.g. after an accumulator reduced an outer loop, is outside)."""
        for node in self.graph.topological_order():
            if node < self.n_args:
                continue
            op = self.graph.ops[node - self.n_args]
            if op.name in ("sam.fiber_lookup", "sam.locate") + _JOINERS:
                nest = self.nests.get((node, 0))
                if nest and nest[-1] == self.var:
                    return nest
        return None

    def structures(self) -> dict[tuple[int, int], object]:
        """A structure id per stream: streams with equal ids carry data and stop tokens at the
        same positions, so round-robin forks of them agree lane for lane. A dense scan's
        structure is its parent's and its size; a compressed scan, a joiner of differently
        structured inputs, an accumulator or a filter makes a new one; loads, repeats and ALUs
        keep their driver's (an ALU's operands are one structure: it pairs them token for token)."""
        parent: dict = {}

        def find(x):
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        def unite(ids):
            roots = sorted({find(x) for x in ids}, key=repr)
            for r in roots[1:]:
                parent[r] = roots[0]
            return roots[0]

        sid: dict[tuple[int, int], object] = {}
        g = self.graph
        for node in g.topological_order():
            if node < self.n_args:
                continue
            op = g.ops[node - self.n_args]
            n_out = len(op.results)

            def of(v):
                return find(sid.get(self.key(v), ("free", self.key(v))))

            view = op.opview
            ids = view.structure(node, of, unite) if isinstance(view, sam.SamOp) else [("new", node, r) for r in range(n_out)]
            for r, x in enumerate(ids):
                sid[(node, r)] = x
        return {k: find(x) for k, x in sid.items()}

    def body(self, sid: dict) -> set[int]:
        """Node ids of the ops cloned per lane: those reading a stream of the split loop (or a
        lane's result), except writers and joins, the ops making the loop's coordinates, filters
        of whole fibers at or above it, ops reading deeper streams built outside the body, and
        reductions leaving the loop whose lanes cannot be combined: those run serially on the
        joined lanes. ``sid``: the streams' ``structures``."""
        g = self.graph
        body: set[int] = set()
        for node in g.topological_order():
            if node < self.n_args:
                continue
            op = g.ops[node - self.n_args]
            if op.name in _BARRIERS or op.name == "sam.fork":
                continue
            streams = [v for v in op.operands if _is_stream(v)]
            from_body = any(self._producer_node(v) in body for v in streams)
            if not (from_body or any(self.inside(v) for v in streams)):
                continue
            if any(self.inside(v) and not self.at_level(v) and self._producer_node(v) not in body for v in streams):
                continue
            outs = [ir.Value(r) for r in op.results]
            if op.name == "sam.crd_drop" and not (self.inside(outs[0]) and not self.at_level(outs[0])):
                continue  # drops whole fibers of the split level or above
            if not from_body and op.name in _JOINERS + ("sam.locate",) and self._makes_level(op, sid):
                continue  # makes the loop's coordinates: runs once, before the fork
            if not all(self.inside(v) for v in outs) and self.combine_kind(op) is None:
                continue
            body.add(node)
        return body

    def combine_kind(self, op) -> str | None:
        """The ALU that combines the lanes' results of a reduction over the split loop (None when
        ``op`` is not one whose lanes combine: an additive, max or min ``reduce`` of the split
        level, an additive order-1 ``spacc`` reducing it)."""
        if op.name == "sam.reduce" and self.at_level(op.operands[0]):
            return _COMBINE.get(ir.StringAttr(op.attributes["kind"]).value)
        if op.name == "sam.spacc" and ir.IntegerAttr(op.attributes["order"]).value == 1:
            val = self.nest(op.operands[-1])
            return "add" if val is not None and val[:-1] == self.level_nest else None
        return None

    def _makes_level(self, op, sid) -> bool:
        crds = _joined_crds(op)
        if not crds or not all(self.at_level(c) for c in crds):
            return False
        ids = {sid.get(self.key(c)) for c in crds}
        return len(ids) != 1 or None in ids

    def _producer_node(self, value: ir.Value) -> int:
        return self.key(value)[0] if not isinstance(value.owner, ir.Block) else -1

    # --- rewrite --------------------------------------------------------------------------
    def run(self) -> None:
        sid = self.structures()
        body = self.body(sid)
        if not body:
            raise ParallelizeError(f"'{self.level.text()}': no op of the graph runs inside the loop over '{self.level.var}'")
        self._check(body, sid)
        self._rebuild(body)

    def _check(self, body: set[int], sid) -> None:
        g = self.graph
        var = self.level.var
        forked: dict[int, set] = {}  # body component root -> structure ids forked into it
        comp = _components(body, g)
        for node in sorted(body):
            op = g.ops[node - self.n_args]
            for v in op.operands:
                src = self._producer_node(v)
                if src in body or not _is_stream(v):
                    continue
                if not self.inside(v):
                    continue  # broadcast to every lane
                if not self.at_level(v):
                    raise ParallelizeError(f"'{self.level.text()}': {op.name} reads a stream nested below '{var}' "
                                           f"that is built outside the loop body ({g.node_name(src)})")
                forked.setdefault(comp[node], set()).add(sid.get(self.key(v), ("unknown", self.key(v))))
        for node in sorted(body):
            op = g.ops[node - self.n_args]
            if op.name in _JOINERS + ("sam.locate",) and self._makes_level(op, sid):
                raise ParallelizeError(f"'{self.level.text()}': a {op.name} inside the loop over '{var}' filters its "
                                       "coordinates by a value computed inside it (parallelize another loop)")
        for ids in forked.values():
            if len(ids) > 1:
                raise ParallelizeError(f"'{self.level.text()}': the loop over '{var}' is iterated over differently "
                                       "structured coordinate streams that meet inside it; they cannot be forked "
                                       "alike (parallelize another loop)")

    def _rebuild(self, body: set[int]) -> None:
        g, lanes = self.graph, self.level.lanes
        block = self.fn.regions[0].blocks[0]
        old_ops = list(g.ops)
        mapped: dict[tuple[int, int], ir.Value] = {}  # serial values outside the body -> new value
        lane_vals: list[dict[tuple[int, int], ir.Value]] = [{} for _ in range(lanes)]
        forks: dict[tuple[int, int], list[ir.Value]] = {}
        exits: dict[tuple[int, int], ir.Value] = {}
        ip = ir.InsertionPoint.at_block_terminator(block)
        b = SamBuilder(ip=ip)

        def outer(v: ir.Value) -> ir.Value:
            k = self.key(v)
            if isinstance(v.owner, ir.Block):
                return v
            if k[0] in body:
                return exit_value(v)
            return mapped[k]

        def in_lane(v: ir.Value, lane: int) -> ir.Value:
            k = self.key(v)
            if not isinstance(v.owner, ir.Block) and k[0] in body:
                if _is_stream(v) and not self.inside(v):
                    return exit_value(v)  # a reduction over the split loop: every lane reads the combined value
                return lane_vals[lane][k]
            if _is_stream(v) and self.inside(v):
                if k not in forks:
                    with ir.Location.unknown():
                        forks[k] = b.fork(outer(v), lanes)
                    _tag_like(forks[k], [outer(v)])  # inside an outer lane, the fork is that lane's
                return forks[k][lane]
            return outer(v)

        def exit_value(v: ir.Value) -> ir.Value:
            k = self.key(v)
            if k in exits:
                return exits[k]
            op = g.ops[k[0] - self.n_args]
            made: list[ir.Value] = []
            with ir.Location.unknown():
                if self.inside(v):
                    depth = len(self.nest(v)) - len(self.level_nest)
                    exits[k] = b.join([lane_vals[lane][k] for lane in range(lanes)], depth)
                    made.append(exits[k])
                elif op.name == "sam.reduce":
                    kind = self.combine_kind(op)
                    acc = lane_vals[0][k]
                    for lane in range(1, lanes):
                        acc = b.alu(kind, acc, lane_vals[lane][k])
                        made.append(acc)
                    exits[k] = acc
                else:  # an order-1 spacc over var: union of the lanes' fibers, values added
                    crd_k, val_k = (k[0], 0), (k[0], 1)
                    crd, vals = b.union([lane_vals[lane][crd_k] for lane in range(lanes)],
                                        [lane_vals[lane][val_k] for lane in range(lanes)],
                                        self.nest(ir.Value(op.results[0]))[-1])
                    acc = vals[0]
                    made.append(crd)
                    for val in vals[1:]:
                        acc = b.alu("add", acc, val)
                        made.append(acc)
                    exits[crd_k], exits[val_k] = crd, acc
            if LANE_ATTR in op.attributes:  # merging lanes forked inside an outer lane: its work
                for value in made:
                    value.owner.operation.attributes[LANE_ATTR] = op.attributes[LANE_ATTR]
            return exits[k]

        for node_i, op in enumerate(old_ops):
            node = self.n_args + node_i
            if node in body:
                for lane in range(lanes):
                    new = _clone(op, [in_lane(v, lane) for v in op.operands], ip)
                    tag = f"{lane}"
                    if LANE_ATTR in op.attributes:
                        tag = f"{ir.StringAttr(op.attributes[LANE_ATTR]).value}.{lane}"
                    new.attributes[LANE_ATTR] = ir.StringAttr.get(tag)
                    for r, res in enumerate(new.results):
                        lane_vals[lane][(node, r)] = res
            else:
                new = _clone(op, [outer(v) for v in op.operands], ip)
                for r, res in enumerate(new.results):
                    mapped[(node, r)] = res
        for op in reversed(old_ops):
            op.erase()


def _tag_like(made: list[ir.Value], sources: list[ir.Value]) -> None:
    """Give the op making ``made`` the lane tag of the op making ``sources[0]``, if it has one."""
    src = sources[0].owner
    if isinstance(src, ir.Block) or LANE_ATTR not in src.operation.attributes:
        return
    made[0].owner.operation.attributes[LANE_ATTR] = src.operation.attributes[LANE_ATTR]


def _clone(op: ir.Operation, operands: list[ir.Value], ip: ir.InsertionPoint) -> ir.Operation:
    attrs = {name: op.attributes[name] for name in op.attributes}
    return ir.Operation.create(op.name, results=[r.type for r in op.results], operands=operands,
                               attributes=attrs, loc=op.location, ip=ip)


def _is_stream(value: ir.Value) -> bool:
    return not isinstance(value.type, ir.RankedTensorType) and "!sam." in str(value.type) and \
        not str(value.type).startswith(("!sam.level", "!sam.values"))


def _joined_crds(op) -> list[ir.Value]:
    if op.name == "sam.locate":
        return [op.operands[1]]
    n = len(op.results) - 1  # one crd result plus one payload per input
    return list(op.operands)[:n]


def _components(body: set[int], g: SamGraph) -> dict[int, int]:
    parent = {n: n for n in body}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in g.edges:
        if e.src in body and e.dst in body:
            parent[find(e.src)] = find(e.dst)
    return {n: find(n) for n in body}
