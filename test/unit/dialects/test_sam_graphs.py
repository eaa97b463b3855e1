"""Canonical SAM graphs: the builder versions, their checked-in copies, and the graph utilities."""

import re
from pathlib import Path

import pytest

from fuseflow.bindings import ir, print_module
from fuseflow.context import make_context, parse_module
from fuseflow.dialects import sam_examples, sam_graph
from fuseflow.dialects.sam_builder import build_graph

GRAPH_DIR = Path(__file__).resolve().parents[2] / "lit" / "dialects" / "sam" / "graphs"


def _built(name):
    ctx = make_context()
    with ctx, ir.Location.unknown():
        module = sam_examples.GRAPHS[name]()
        assert module.operation.verify()
        return ctx, module


def test_every_checked_in_graph_has_its_builder():
    assert sorted(p.stem for p in GRAPH_DIR.glob("*.mlir")) == sorted(sam_examples.GRAPHS)
    assert sorted(sam_examples.TENSORS) == sorted(sam_examples.GRAPHS)


@pytest.mark.parametrize("name", sorted(sam_examples.GRAPHS))
def test_checked_in_graph_matches_builder(name):
    ctx, built = _built(name)
    path = GRAPH_DIR / f"{name}.mlir"
    checked_in = parse_module(path.read_text(), ctx, filename=str(path))
    assert print_module(checked_in) == print_module(built)


@pytest.mark.parametrize("name", sorted(sam_examples.GRAPHS))
def test_graph_loop_nests_are_consistent(name):
    _, module = _built(name)
    (graph,) = sam_graph.sam_functions(module)
    assert sam_graph.check_loop_nests(graph) == []
    nests = sam_graph.loop_nests(graph)
    # The output values live in the loop nest of the output's innermost level.
    out = next(i for i, op in enumerate(graph.ops) if op.name == "sam.output") + len(graph.args)
    vals_edge = max((e for e in graph.edges if e.dst == out), key=lambda e: e.dst_operand)
    assert len(nests[(vals_edge.src, vals_edge.src_result)]) == graph.func.regions[0].blocks[0].operations[
        len(graph.ops) - 1].operands[0].type.rank


@pytest.mark.parametrize("name, expected", [
    ("spmv", {"sam.intersect": 1, "sam.reduce": 1, "sam.repeat": 1, "sam.fiber_lookup": 3}),
    ("spmm_ijk", {"sam.intersect": 1, "sam.reduce": 1, "sam.repeat": 2}),
    ("spmm_ikj", {"sam.spacc": 1, "sam.repeat": 2, "sam.reduce": 0}),
    ("spmm_kij", {"sam.spacc": 1, "sam.repeat": 2, "sam.reduce": 0}),
    ("sddmm", {"sam.intersect": 3, "sam.reduce": 1, "sam.alu": 2}),
    ("add", {"sam.union": 2, "sam.intersect": 0}),
    ("mul", {"sam.intersect": 2, "sam.crd_drop": 1}),
])
def test_op_counts(name, expected):
    _, module = _built(name)
    (graph,) = sam_graph.sam_functions(module)
    counts = graph.op_counts()
    for op, n in expected.items():
        assert counts[op] == n, (op, counts)
    assert counts["sam.output"] == 1 and "func.return" not in counts


def test_spacc_orders():
    for name, order in (("spmm_ikj", 1), ("spmm_kij", 2)):
        _, module = _built(name)
        (graph,) = sam_graph.sam_functions(module)
        (spacc,) = [op for op in graph.ops if op.name == "sam.spacc"]
        assert ir.IntegerAttr(spacc.attributes["order"]).value == order


@pytest.mark.parametrize("name", sorted(sam_examples.GRAPHS))
def test_topological_order_respects_edges(name):
    _, module = _built(name)
    (graph,) = sam_graph.sam_functions(module)
    order = graph.topological_order()
    assert sorted(order) == list(range(graph.num_nodes))
    position = {n: i for i, n in enumerate(order)}
    assert all(position[e.src] < position[e.dst] for e in graph.edges)


def test_dot_export():
    _, module = _built("spmm_ikj")
    (graph,) = sam_graph.sam_functions(module)
    dot = graph.to_dot()
    assert dot.startswith('digraph "spmm_ikj" {') and dot.rstrip().endswith("}")
    assert len(re.findall(r"^  n\d+ -> n\d+ ", dot, re.M)) == len(graph.edges)
    assert len(re.findall(r"^  n\d+ \[label=", dot, re.M)) == graph.num_nodes
    assert 'label="spacc\\norder=1"' in dot
    assert '[label="repsig", color=orange]' in dot
    assert sam_graph.module_to_dot(module) == dot


def test_loop_nest_checker_catches_missing_repeat():
    ctx = make_context()
    with ctx, ir.Location.unknown():
        a_t = ir.Type.parse(f"tensor<4x5xf32, {sam_examples.CSR}>")
        x_t, y_t = ir.Type.parse("tensor<5xf32>"), ir.Type.parse("tensor<4xf32>")

        def body(b, A, x):  # SpMV without repeating x's root over i
            root = b.root()
            ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
            cja, rja = b.fiber_lookup(A, ri, 1, "compressed", "j")
            cjx, rjx = b.fiber_lookup(x, root, 0, "dense", "j")
            _, (ra, rx) = b.intersect([cja, cjx], [rja, rjx], "j")
            y = b.reduce(b.alu("mul", b.array(A, ra), b.array(x, rx)))
            return [b.write_tensor(y_t, [ci], y)]

        module = build_graph("bad", [a_t, x_t], [y_t], body)
        assert module.operation.verify()  # type-correct, but wired across loops
        (graph,) = sam_graph.sam_functions(module)
        problems = sam_graph.check_loop_nests(graph)
    assert problems == ["@bad: sam.intersect: joined streams are in different loop nests: "
                        "('i', 'j') vs ('j',) vs ('i', 'j') vs ('j',)"]


def test_loop_nest_checker_catches_wrong_join_index():
    ctx = make_context()
    with ctx, ir.Location.unknown():
        a_t = ir.Type.parse(f"tensor<4x5xf32, {sam_examples.CSR}>")

        def body(b, A, B):
            root = b.root()
            ca, ra = b.fiber_lookup(A, root, 0, "dense", "i")
            cb, rb = b.fiber_lookup(B, root, 0, "dense", "i")
            b.union([ca, cb], [ra, rb], "j")
            return []

        module = build_graph("bad", [a_t, a_t], [], body)
        (graph,) = sam_graph.sam_functions(module)
        with pytest.raises(sam_graph.LoopNestError, match="joins over \"j\""):
            sam_graph.loop_nests(graph)


def test_non_sam_functions_are_skipped():
    module = parse_module("func.func @f(%a: f32) -> f32 {\n  return %a : f32\n}")
    assert sam_graph.sam_functions(module) == []


@pytest.mark.parametrize("name", sorted(sam_examples.GRAPHS))
def test_canonicalize_and_cse_keep_the_whole_graph(name):
    from fuseflow.bindings import PassManager

    ctx, module = _built(name)
    before = sam_graph.sam_functions(module)[0].op_counts()
    with ctx:
        PassManager.parse("builtin.module(canonicalize,cse)").run(module.operation)
    assert sam_graph.sam_functions(module)[0].op_counts() == before


def test_parsed_ops_come_back_as_op_classes():
    from fuseflow.dialects import sam

    module = parse_module((GRAPH_DIR / "spmv.mlir").read_text())
    ops = list(module.body.operations[0].regions[0].blocks[0].operations)
    (inter,) = [op for op in ops if isinstance(op, sam.IntersectOp)]
    assert [sam.stream_kind(p) for p in inter.payloads] == ["ref", "ref"]
    assert ir.StringAttr(inter.attributes["index"]).value == "j"
    lookups = [op for op in ops if isinstance(op, sam.FiberLookupOp)]
    assert [ir.IntegerAttr(op.attributes["level"]).value for op in lookups] == [0, 1, 0]
    assert all(sam.stream_kind(op.out_crd) == "crd" for op in lookups)
