"""fuseflow.simulate(check=True) compares a program's outputs by position with the simulator's
own comparison (fuseflow.sim.api.compare_outputs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fuseflow
from fuseflow.sim import SimulationMismatch


class _Scale(torch.nn.Module):
    def forward(self, x):
        return 2.0 * x


@pytest.fixture(scope="module")
def program():
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    return fuseflow.compile(_Scale(), (x,)), x


def test_a_differing_output_is_named_with_its_first_element(program):
    prog, x = program
    want = 2.0 * x.numpy()
    assert fuseflow.simulate(prog, (x,), check=True, expected=[want]).outputs[0].tolist() == want.tolist()
    wrong = want.copy()
    wrong[1, 2] += 1.0
    with pytest.raises(SimulationMismatch, match=r"output 0 MISMATCH: 1 of 6 elements differ .* first at \(1, 2\)"):
        fuseflow.simulate(prog, (x,), check=True, expected=[wrong])
    with pytest.raises(SimulationMismatch, match=r"output 0: shape \(2, 3\), expected \(3, 2\)"):
        fuseflow.simulate(prog, (x,), check=True, expected=[np.zeros((3, 2))])


def test_a_missing_output_is_refused(program):
    prog, x = program
    with pytest.raises(SimulationMismatch, match="returned 1 outputs, expected 2"):
        fuseflow.simulate(prog, (x,), check=True, expected=[2.0 * x.numpy()] * 2)
