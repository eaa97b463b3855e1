"""Graph views of ``sam`` functions: topological order, per-op counts, Graphviz DOT.

A SAM graph is a ``func.func`` whose body holds ``sam`` ops, e.g.::

    func.func @copy(%arg0: tensor<4xf32>) -> tensor<4xf32> {
      %0 = "sam.root"() : () -> !sam.ref<index>
      %1:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : ...
      ...
      return %5 : tensor<4xf32>
    }

Nodes are the ops of the body, plus one node per tensor argument and per returned tensor; an
edge per (producer result, consumer operand) pair, labelled with its stream kind.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass

from fuseflow.bindings import ir, op_name
from fuseflow.dialects import sam

# Op attributes shown in DOT node labels, in this order.
_LABEL_ATTRS = ("index", "level", "format", "kind", "order", "lanes", "scalar")
_EDGE_COLORS = {"crd": "blue", "ref": "darkgreen", "val": "red", "repsig": "orange", "level": "gray40",
                "values": "gray40"}


@dataclass(frozen=True)
class Edge:
    """``src`` result ``src_result`` feeds ``dst`` operand ``dst_operand`` (node indices)."""

    src: int
    src_result: int
    dst: int
    dst_operand: int
    kind: str


class SamGraph:
    """Nodes and edges of one SAM ``func.func``.

    Node ids: ``0 .. n_args-1`` are the tensor arguments, then the body ops in block order
    (the ``func.return`` included, shown as the outputs).
    """

    def __init__(self, func_op):
        self.func = func_op.operation if hasattr(func_op, "operation") else func_op
        if self.func.name != "func.func":
            raise ValueError(f"expected a func.func, got {self.func.name}")
        self.name = ir.StringAttr(self.func.attributes["sym_name"]).value
        block = self.func.regions[0].blocks[0]
        self.args = list(block.arguments)
        self.ops = [op.operation for op in block.operations]
        self.edges: list[Edge] = []
        index = {op: len(self.args) + i for i, op in enumerate(self.ops)}
        for dst_i, op in enumerate(self.ops):
            dst = len(self.args) + dst_i
            for k, v in enumerate(op.operands):
                owner = v.owner
                if isinstance(owner, ir.Block):
                    src, res = v.arg_number, 0
                else:
                    src = index[owner.operation]
                    res = ir.OpResult(v).result_number
                self.edges.append(Edge(src, res, dst, k, sam.type_kind(v.type) or "tensor"))

    @property
    def num_nodes(self) -> int:
        return len(self.args) + len(self.ops)

    def node_name(self, node: int) -> str:
        """``"arg0"`` for an argument, else the op name (``"sam.fiber_lookup"``)."""
        if node < len(self.args):
            return f"arg{node}"
        return self.ops[node - len(self.args)].name

    def op_counts(self) -> Counter:
        """How many ops of each name the body has (``func.return`` excluded)."""
        return Counter(op.name for op in self.ops if op.name != "func.return")

    def topological_order(self) -> list[int]:
        """Node ids in a dependency-respecting order (smallest ready id first, deterministic)."""
        indeg = [0] * self.num_nodes
        succ: list[list[int]] = [[] for _ in range(self.num_nodes)]
        for e in self.edges:
            indeg[e.dst] += 1
            succ[e.src].append(e.dst)
        ready = [n for n in range(self.num_nodes) if indeg[n] == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            n = heapq.heappop(ready)
            order.append(n)
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    heapq.heappush(ready, m)
        if len(order) != self.num_nodes:
            raise ValueError(f"@{self.name} has a dependency cycle")
        return order

    def _label(self, node: int) -> str:
        if node < len(self.args):
            return f"%arg{node}\\n{_escape(str(self.args[node].type))}"
        op = self.ops[node - len(self.args)]
        if op.name == "func.return":
            return "return"
        lines = [op.name.removeprefix("sam.")]
        for name in _LABEL_ATTRS:
            if name in op.attributes:
                lines.append(f"{name}={_attr_text(op.attributes[name])}")
        if op.name == "sam.output":
            lines.append(_escape(str(op.results[0].type)))
        return "\\n".join(lines)

    def to_text(self) -> str:
        """A readable listing of the graph, one op per line (the dialect has no custom assembly
        format: see docs/sam_dialect.md)::

            @spmv(%arg0: tensor<4x5xf32, dense x compressed>, %arg1: tensor<5xf32>)
              %0          = root                                            -> ref
              %1:2        = fiber_lookup %arg0, %0  level=0 format=dense index=i  -> crd, ref

        Results are named as in the generic form (``%3``, ``%1#0``), so the two read side by
        side; attributes print as ``name=value``; a stream's kind stands for its type."""
        lines = [f"@{self.name}(" + ", ".join(f"%arg{k}: {_short_type(a.type)}" for k, a in enumerate(self.args)) + ")"]
        numbers: dict = {}  # op -> its result number in the generic form
        number = 0

        def name_of(v) -> str:
            if isinstance(v.owner, ir.Block):
                return f"%arg{v.arg_number}"
            owner = v.owner.operation
            n = len(list(owner.results))
            return f"%{numbers[owner]}" + (f"#{ir.OpResult(v).result_number}" if n > 1 else "")

        for op in self.ops:
            results = list(op.results)
            if results:
                numbers[op] = number
            lhs = "" if not results else (f"%{number}" + (f":{len(results)}" if len(results) > 1 else ""))
            if results:
                number += 1
            operands = ", ".join(name_of(v) for v in op.operands)
            attrs = " ".join(f"{a}={_attr_text(op.attributes[a])}" for a in sorted(_attr_names(op)))
            kinds = ", ".join(sam.type_kind(v.type) or _short_type(v.type) for v in results)
            head = op.name.removeprefix("sam.").replace("func.return", "return")
            body = " ".join(part for part in (head, operands) if part)
            if attrs:
                body += f"  {{{attrs}}}"
            line = (f"{lhs:<11} = {body}" if lhs else f"{'':<11}   {body}")
            lines.append("  " + (f"{line:<70} -> {kinds}" if kinds else line))
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """Graphviz DOT text of the graph (edges coloured by stream kind)."""
        out = [f'digraph "{self.name}" {{', "  rankdir=TB;", "  node [shape=box, fontname=monospace];"]
        for n in range(self.num_nodes):
            shape = ""
            if n < len(self.args) or self.node_name(n) == "func.return":
                shape = ", shape=ellipse"
            out.append(f'  n{n} [label="{self._label(n)}"{shape}];')
        for e in self.edges:
            color = _EDGE_COLORS.get(e.kind, "black")
            out.append(f'  n{e.src} -> n{e.dst} [label="{e.kind}", color={color}];')
        out.append("}")
        return "\n".join(out) + "\n"


def _attr_names(op) -> list[str]:
    """The op's attributes but the structural segment sizes (operand groups show as written)."""
    names = [a if isinstance(a, str) else a.name for a in op.attributes]
    return [n for n in names if n not in ("operandSegmentSizes", "resultSegmentSizes")]


def _short_type(t) -> str:
    """A tensor type with its encoding's level kinds only (``dense x compressed``)."""
    text = str(t)
    if "#sparse_tensor.encoding" not in text:
        return text
    rt = ir.RankedTensorType(t)
    kinds = re.findall(r":\s*([a-z_]+)(?:\(([^)]*)\))?", str(rt.encoding).split("->", 1)[1])
    shape = "x".join(str(d) for d in rt.shape)
    levels = " x ".join(k + (f"({p})" if p else "") for k, p in kinds)
    return f"tensor<{shape}x{rt.element_type}, {levels}>"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _attr_text(attr: ir.Attribute) -> str:
    if isinstance(attr, ir.StringAttr):
        return ir.StringAttr(attr).value
    if isinstance(attr, ir.IntegerAttr):
        return str(ir.IntegerAttr(attr).value)
    if isinstance(attr, ir.FloatAttr):
        return repr(ir.FloatAttr(attr).value)
    return _escape(str(attr))


def sam_functions(module: ir.Module) -> list[SamGraph]:
    """Every ``func.func`` of ``module`` that holds at least one sam op."""
    graphs = []
    for op in module.body.operations:
        if op_name(op) != "func.func" or not op.regions[0].blocks:
            continue
        block = op.regions[0].blocks[0]
        if any(o.operation.name.startswith("sam.") for o in block.operations):
            graphs.append(SamGraph(op))
    return graphs


def module_to_dot(module: ir.Module) -> str:
    """DOT for every SAM graph of ``module`` (one ``digraph`` each)."""
    return "".join(g.to_dot() for g in sam_functions(module))


# ----------------------------------------------------------------------------------------------
# Loop-nest analysis: which loops (index variables) each stream is nested in.


LoopNestError = sam.LoopNestError  # raised by the ops' ``loop_nest`` facts


def loop_nests(graph: SamGraph) -> dict[tuple[int, int], tuple[str, ...]]:
    """The loop nest of every stream, keyed by (node id, result number).

    Each op says how (its ``loop_nest`` in dialects/sam.py): ``root`` is outside every loop
    (``()``); ``fiber_lookup`` adds its ``index``; ``repeat`` takes its signal's nest (and needs
    the input one loop shallower); ``reduce`` drops the innermost loop; ``spacc`` drops its
    reduced loop; joiners, ALUs, forks and joins need equal nests. Raises
    ``LoopNestError`` at the first stream wired across mismatched loops, e.g.::

        %x = "sam.fiber_lookup"(%X, %root) ...        // x's j loop outside i: missing repeat
        "sam.intersect"(%ca, %cx, ...)                // error: nests (i, j) vs (j,)
    """
    alias = loop_aliases(graph.func)
    nests: dict[tuple[int, int], tuple[str, ...]] = {}
    incoming: dict[int, list[Edge]] = {}
    for e in graph.edges:
        incoming.setdefault(e.dst, []).append(e)
    for node in graph.topological_order():
        if node < len(graph.args):
            continue
        op = graph.ops[node - len(graph.args)]
        ins = [nests.get((e.src, e.src_result)) for e in sorted(incoming.get(node, []), key=lambda e: e.dst_operand)]
        for r, nest in enumerate(_loop_nest(op, ins, alias)):
            nests[(node, r)] = nest
    return nests


LOOP_ALIASES_ATTR = "fuseflow.loop_aliases"


def loop_aliases(func_op) -> dict[str, str]:
    """Index variables that name one loop level: a stream built once and read by consumers
    that iterate it under different variables (``"m=j"`` in the graph's
    ``fuseflow.loop_aliases``: the lowering's views). Maps each name to one representative."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    if LOOP_ALIASES_ATTR in func_op.attributes:
        for a in ir.ArrayAttr(func_op.attributes[LOOP_ALIASES_ATTR]):
            x, y = ir.StringAttr(a).value.split("=")
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
    return {x: find(x) for x in parent}


def _loop_nest(op, ins: list, alias: dict[str, str]) -> list:
    """Loop nests of ``op``'s results (None for non-streams, e.g. ``func.return``)."""
    view = op.opview
    if isinstance(view, sam.SamOp):
        return view.loop_nest(ins, alias)
    return [None] * len(op.results)


def check_loop_nests(graph: SamGraph) -> list[str]:
    """Problems found by ``loop_nests`` (an empty list for a well-wired graph)."""
    try:
        loop_nests(graph)
    except LoopNestError as e:
        return [f"@{graph.name}: {e}"]
    return []
