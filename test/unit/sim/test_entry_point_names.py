"""One name per entry point: a compiled model runs with ``fuseflow.simulate`` (forward()
arguments in, a ``ProgramResult``), SAM graphs with ``fuseflow.sim.simulate_graph`` (named
graph tensors in, a ``SimResult``); neither answers to the other's name, and both run their
regions through the one runner (``fuseflow.sim.runner``)."""

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


def test_programs_and_graph_sequences_run_through_the_one_runner(monkeypatch):
    import numpy as np
    import torch

    from fuseflow.sim import examples, runner

    walked = []
    real = runner.Runner.run

    def recording(self, walk):
        out = real(self, walk)
        walked.append([r.name for r in out[1]])
        return out

    monkeypatch.setattr(runner.Runner, "run", recording)
    sim.simulate_graph(examples.graph("spmv"), {"A": np.eye(3), "x": np.ones(3)})
    x = torch.randn(4, 3)
    fuseflow.simulate(fuseflow.compile(torch.nn.Linear(3, 2), (x,), fusion="unfused"), (x,))
    assert walked[0] == ["spmv"] and len(walked) == 2 and walked[1]
    assert not hasattr(sim, "run_function")
