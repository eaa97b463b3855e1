"""Models and arguments as researchers have them: a ``torch.export.ExportedProgram`` wherever a
model is taken, numpy arrays and scipy sparse matrices wherever a tensor is; each compiled,
simulated and checked against PyTorch eager."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from small_models import SparseLinear

import fuseflow
from fuseflow.errors import FuseflowError

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _operands():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 8, generator=g)
    a[a < 0.4] = 0
    return a, torch.randn(8, 5, generator=g)


@pytest.mark.parametrize("with_args", [True, False])
def test_an_exported_program_is_a_model(with_args):
    a, x = _operands()
    ep = torch.export.export(SparseLinear().eval(), (a, x))
    prog = fuseflow.compile(ep, (a.to_sparse_csr(), x) if with_args else None, fusion="full")
    assert prog.imported.inputs[0].format.name == ("csr" if with_args else "dense")
    res = fuseflow.simulate(prog, (a.to_sparse_csr(), x), check=True)
    want = SparseLinear().eval()(a, x).detach().numpy()
    np.testing.assert_allclose(res.outputs[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_scipy_and_numpy_arguments(fmt):
    a, x = _operands()
    sa = sp.csr_matrix(a.numpy().astype(np.float64)).asformat(fmt)  # float64, as scipy makes them
    nx = x.numpy().astype(np.float64)
    prog = fuseflow.compile(SparseLinear().eval(), (sa, nx))
    assert prog.imported.inputs[0].format.name == fmt
    assert prog.imported.inputs[0].dtype == "float32"
    res = fuseflow.simulate(prog, (sa, nx), check=True)
    np.testing.assert_allclose(res.outputs[0], SparseLinear().eval()(a, x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_named():
    a, x = _operands()
    with pytest.raises(FuseflowError, match="argument 0 is a complex sparse matrix"):
        fuseflow.compile(SparseLinear().eval(), (sp.csr_matrix(a.numpy().astype(np.complex64)), x))
    with pytest.raises(FuseflowError, match="argument 1 is a numpy array of <U1"):
        fuseflow.compile(SparseLinear().eval(), (a, np.array(["x"])))
    with pytest.raises(FuseflowError, match="example_args are needed"):
        fuseflow.compile(SparseLinear().eval())
