"""Every op of the importer-notes table imports with every torch sparse layout (the dense
export path) and computes what PyTorch computes."""

import warnings

import numpy as np
import pytest
import torch

from fuseflow import oracle
from fuseflow.frontend import import_model

warnings.simplefilter("ignore", UserWarning)


class Op(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, s, d):
        return self.fn(s, d)


OPS = {
    "mm": lambda s, d: torch.mm(s, d),
    "mv": lambda s, d: torch.mv(s, d[:, 0]),
    "sum": lambda s, d: s.sum() + d.sum(),
    "sum_dim": lambda s, d: s.sum(dim=1),
    "mul_dense": lambda s, d: s * d[:, :8].t(),
    "mul_scalar": lambda s, d: s * 2.0,
    "softmax": lambda s, d: torch.softmax(s, -1),
    "transpose_mm": lambda s, d: s.t() @ d,
    "masked_fill": lambda s, d: torch.softmax((s @ d @ d.t()).masked_fill(s == 0, -1e9), -1),
    "where": lambda s, d: torch.where(s != 0, s @ d @ d.t(), torch.zeros(())),
    "relu_add": lambda s, d: torch.relu(s + s - 0.5),
    "addmm": lambda s, d: torch.addmm(d[:, 0], s, d),
}
LAYOUTS = {
    "coo": lambda t: t.to_sparse_coo(),
    "csr": lambda t: t.to_sparse_csr(),
    "csc": lambda t: t.to_sparse_csc(),
    "bsr": lambda t: t.to_sparse_bsr((2, 2)),
    "bsc": lambda t: t.to_sparse_bsc((2, 2)),
}


@pytest.fixture(scope="module")
def operands():
    g = torch.Generator().manual_seed(0)
    s = torch.rand(8, 8, generator=g) * (torch.rand(8, 8, generator=g) < 0.3)
    s += torch.eye(8)
    return s, torch.randn(8, 8, generator=g)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("op", list(OPS))
def test_op_imports_and_matches(operands, op, layout):
    s, d = operands
    model = Op(OPS[op])
    expected = model(s, d).detach().numpy()
    m = import_model(model, (LAYOUTS[layout](s), d))
    assert m.inputs[0].is_sparse and "#sparse_tensor.encoding" in str(m)
    (got,) = oracle.run(m, [s, d])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_batched_coo_bmm():
    g = torch.Generator().manual_seed(1)
    s = torch.rand(2, 4, 4, generator=g) * (torch.rand(2, 4, 4, generator=g) < 0.5)
    d = torch.randn(2, 4, 3, generator=g)
    model = Op(torch.bmm)
    m = import_model(model, (s.to_sparse_coo(), d))
    (got,) = oracle.run(m, [s, d])
    np.testing.assert_allclose(got, torch.bmm(s, d).numpy(), rtol=1e-4, atol=1e-5)
