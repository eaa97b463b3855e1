"""One name per entry point: a compiled model runs with ``fuseflow.simulate`` (forward()
arguments in, a ``ProgramResult``), SAM graphs with ``fuseflow.sim.simulate_graph`` (named
graph tensors in, a ``SimResult``); neither answers to the other's name."""

import pytest

import fuseflow
from fuseflow import sim
from fuseflow.errors import FuseflowError


def test_the_simulator_has_no_second_simulate():
    assert not hasattr(sim, "simulate")
    assert "simulate" not in sim.__all__
    assert fuseflow.simulate is not sim.simulate_graph


@pytest.mark.parametrize("graph", ["spmv.mlir", sim.GraphBuilder("empty").build()], ids=["path", "graph"])
def test_program_simulate_points_graphs_to_simulate_graph(graph):
    with pytest.raises(FuseflowError, match=r"fuseflow\.sim\.simulate_graph"):
        fuseflow.simulate(graph, [])
