"""The sam passes do not change what a graph computes: every canonical graph, every lowered test
program (in every legal order) and every sam graph of the passes' lit tests is simulated before
and after on random inputs, with the functional model and the compiled engine, and the output
tensors (level arrays and values) must be identical. The N-token guards are shown necessary:
the same rewrites forced past them change the results."""

from __future__ import annotations

import pytest
from sam_pass_cases import (
    LINALG_CASES,
    LIT_PASSES,
    LOWER,
    assert_same_results,
    assert_well_formed,
    canonical_paths,
    clone,
    lowered_variants,
    random_inputs,
    sam_chunks,
    simulate_outputs,
)

from fuseflow.bindings import ir
from fuseflow.context import make_context, parse_module
from fuseflow.dialects.sam_graph import sam_functions
from fuseflow.errors import FuseflowError
from fuseflow.passes import run_pipeline, sam_dedup_streams, sam_iterate_locate
from fuseflow.passes.sam_dedup_streams import EmptyTokens

PIPELINES = {
    "dedup": "builtin.module(sam-dedup-streams)",
    "locate": "builtin.module(sam-iterate-locate)",
    "both": "builtin.module(sam-iterate-locate,sam-dedup-streams)",
}


def _check(module: ir.Module, pipeline: str) -> None:
    after = clone(module)
    run_pipeline(after, pipeline)
    assert_well_formed(after)
    assert_same_results(module, after)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
@pytest.mark.parametrize("path", canonical_paths(), ids=lambda p: p.stem)
def test_canonical_graphs(path, pipeline):
    _check(parse_module(path.read_text(), make_context()), PIPELINES[pipeline])


@pytest.mark.parametrize("name", sorted(LINALG_CASES))
def test_lowered_programs_in_every_order(name):
    for module in lowered_variants(LINALG_CASES[name]):
        _check(module, PIPELINES["both"])


def _lowering_lit_chunks() -> list[str]:
    path = LIT_PASSES / "convert_linalg_to_sam.mlir"
    if not path.exists():
        pytest.skip(f"{path} not present")
    return [c for c in path.read_text().split("// -----") if "linalg.generic" in c]


def test_lowering_lit_cases():
    chunks = _lowering_lit_chunks()
    assert chunks
    for text in chunks:
        module = parse_module(text, make_context())
        run_pipeline(module, LOWER)
        _check(module, PIPELINES["both"])


@pytest.mark.parametrize("lit", ["sam_dedup_streams.mlir", "sam_iterate_locate.mlir"])
def test_lit_graphs(lit):
    chunks = sam_chunks(LIT_PASSES / lit)
    assert len(chunks) >= 4
    ctx = make_context()
    for text in chunks:
        module = parse_module(text, ctx)
        if not sam_functions(module):
            continue
        _check(module, PIPELINES["both"])


# --- the guards matter ---------------------------------------------------------------------


class _IgnoreEmptyTokens(EmptyTokens):
    """An analysis that wrongly claims no stream ever carries N."""

    def may_carry(self, value):
        return False


def _lit_graph(lit: str, name: str) -> ir.Module:
    ctx = make_context()
    (text,) = [c for c in sam_chunks(LIT_PASSES / lit) if f"@{name}(" in c]
    return parse_module(text, ctx)


def _differs(before: ir.Module, after: ir.Module) -> bool:
    (g0,), (g1,) = sam_functions(before), sam_functions(after)
    for seed in range(4):
        inputs = random_inputs(g1, seed)
        try:
            if simulate_outputs(g0, inputs, "functional") != simulate_outputs(g1, inputs, "functional"):
                return True
        except FuseflowError:  # e.g. more values than written coordinates
            return True
    return False


def test_self_join_guard_is_needed():
    before = _lit_graph("sam_dedup_streams.mlir", "self_join_of_empty_tokens")
    after = clone(before)
    with after.context, ir.Location.unknown():
        (j,) = [op for op in sam_functions(after)[0].ops if op.name == "sam.intersect"]
        assert sam_dedup_streams.dedup_joiner(j, _IgnoreEmptyTokens())
    assert_well_formed(after)
    assert _differs(before, after)


def test_locate_parent_guard_is_needed():
    before = _lit_graph("sam_iterate_locate.mlir", "parent_may_be_empty")
    after = clone(before)
    with after.context, ir.Location.unknown():
        (j,) = [op for op in sam_functions(after)[0].ops if op.name == "sam.intersect"]
        plan = sam_iterate_locate.locate_plan(j, _IgnoreEmptyTokens())
        assert plan is not None
        sam_iterate_locate.rewrite(j, plan)
    assert_well_formed(after)
    assert _differs(before, after)
