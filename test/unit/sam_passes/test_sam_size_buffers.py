"""sam-size-buffers: the depths it records are what bounded FIFOs need (no deadlock, the same
results and cycles as unbounded FIFOs), and the buffer budget turns them into a constraint."""

from __future__ import annotations

import numpy as np
import pytest
from sam_pass_cases import LIT_PASSES, sam_chunks

from fuseflow.context import make_context, parse_module
from fuseflow.dialects.sam_graph import sam_functions
from fuseflow.passes import run_pipeline
from fuseflow.sim import HardwareConfig, simulate_graph
from fuseflow.sim.errors import BufferBudgetError, DeadlockError
from fuseflow.sim.from_mlir import graph_from_func
from fuseflow.sim.graph import GraphSequence

SIZE = "builtin.module(sam-size-buffers)"
X = np.arange(32, dtype=np.float32).reshape(4, 8) % 7 - 3.0


def _rowmax_sub(sized: bool):
    (chunk, _) = sam_chunks(LIT_PASSES / "sam_size_buffers.mlir")
    m = parse_module(chunk, make_context())
    if sized:
        run_pipeline(m, SIZE)
    (g,) = sam_functions(m)
    return GraphSequence([graph_from_func(g)])


def _run(prog, **hw):
    return simulate_graph(prog, [X], hw=HardwareConfig(**hw))


def test_sized_fifos_run_where_default_ones_deadlock():
    want = X - X.max(axis=1, keepdims=True)
    with pytest.raises(DeadlockError):
        _run(_rowmax_sub(sized=False), fifo_depth=2)
    sized = _run(_rowmax_sub(sized=True), fifo_depth=2)
    free = _run(_rowmax_sub(sized=True), fifo_depth=0)
    np.testing.assert_array_equal(sized.outputs["out"], want)
    np.testing.assert_array_equal(free.outputs["out"], want)
    assert abs(sized.cycles - free.cycles) <= 0.01 * free.cycles
    # two compiler-sized FIFOs of 22 tokens each; the row of 8 values waits in one of them
    assert sized.region_buffers == [(44, sized.region_buffers[0][1])]
    assert 8 <= sized.region_buffers[0][1] <= 44


def test_budget_below_the_buffers_is_infeasible_naming_the_edge():
    prog = _rowmax_sub(sized=True)
    assert _run(prog, buffer_budget=44).cycles > 0
    with pytest.raises(BufferBudgetError, match=r"needs 44 buffer words, over the budget of 43.*fifo \d+ \("):
        _run(prog, buffer_budget=43)
