"""import_model's user-facing behaviour: names, order, metadata, binding, and errors."""

import warnings

import numpy as np
import pytest
import torch

from fuseflow.errors import FuseflowError
from fuseflow.frontend import FormatError, FrontendError, import_model

warnings.simplefilter("ignore", UserWarning)


class Enc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Linear(8, 4)

    def forward(self, x, adj):
        return adj @ torch.relu(self.enc(x))


class Unsupported(torch.nn.Module):
    def forward(self, a):
        return torch.fft.fft(a).real  # line of the unsupported op


@pytest.fixture(scope="module")
def imported():
    return import_model(Enc(), (torch.ones(6, 8), torch.eye(6).to_sparse_csr()), sparse={"enc.weight": "dcsr"})


def test_inputs_in_argument_order(imported):
    assert [(s.name, s.kind, s.format.name, s.shape) for s in imported.inputs] == [
        ("x", "input", "dense", (6, 8)),
        ("adj", "input", "csr", (6, 6)),
        ("enc.weight", "weight", "dcsr", (4, 8)),
    ]
    assert imported.outputs[0].shape == (6, 4)
    assert "enc.weight: [4, 8] float32 dcsr (weight)" in imported.describe()


def test_bind_fills_lifted_weights(imported):
    x, adj = np.ones((6, 8)), np.eye(6)
    args = imported.bind([x, adj])
    assert args[0] is x and args[1] is adj
    np.testing.assert_array_equal(args[2], Enc().enc.weight.detach().numpy() * 0 + imported.weights["enc.weight"])
    assert imported.bind({"adj": adj, "x": x})[1] is adj
    with pytest.raises(FormatError, match="unknown input name"):
        imported.bind({"y": x})
    with pytest.raises(FormatError, match="missing input 'adj'"):
        imported.bind([x])
    with pytest.raises(FormatError, match="4 inputs given but the model takes 3"):
        imported.bind([x, adj, x, x])


def test_function_signature_carries_the_encodings(imported):
    text = str(imported)
    assert "func.func @main(%arg0: tensor<6x8xf32>, %arg1: tensor<6x6xf32, #sparse" in text
    assert "(d0 : compressed, d1 : compressed)" in text


def test_unsupported_op_names_op_and_source_line():
    with pytest.raises(FrontendError) as info:
        import_model(Unsupported(), (torch.eye(4),), sparse={"a": "csr"})
    message = str(info.value)
    assert message.startswith("unsupported operation 'aten.fft_fft'")
    line = Unsupported.forward.__code__.co_firstlineno + 1
    assert f"test_frontend_import.py:{line}" in message
    assert "Traceback" not in message and "torch.constant" not in message


def test_format_errors_are_fuseflow_errors():
    with pytest.raises(FuseflowError, match="block size 4 does not divide dimension 0"):
        import_model(Enc(), (torch.ones(6, 8), torch.eye(6)), sparse={"adj": "bsr4"})
    with pytest.raises(FormatError, match="rank-2 tensors but parameter 'enc.bias' has shape \\[4\\]"):
        import_model(Enc(), (torch.ones(6, 8), torch.eye(6)), sparse={"enc.weight": "coo", "enc.bias": "csr"})


def test_non_tensor_argument_is_rejected():
    with pytest.raises(FrontendError, match="argument 'adj' is a int"):
        import_model(Enc(), (torch.ones(6, 8), 3))


def test_export_failure_is_a_frontend_error():
    class DataDependentBranch(torch.nn.Module):
        def forward(self, a):
            return a * 2 if a.sum() > 0 else a

    with pytest.raises(FrontendError, match="torch.export failed on the model"):
        import_model(DataDependentBranch(), (torch.ones(4),))


def test_lowering_failure_is_located():
    class DataDependentShape(torch.nn.Module):
        def forward(self, a):
            return a[a > 0]

    with pytest.raises(FrontendError, match="test_frontend_import.py:[0-9]+"):
        import_model(DataDependentShape(), (torch.ones(4),))
