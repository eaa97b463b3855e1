"""The frontend: PyTorch models to linalg-on-tensors IR with ``#sparse_tensor.encoding``s.

    from fuseflow.frontend import import_model
    m = import_model(model, (adj, x), sparse={"adj": "csr", "enc.weight": "bsr4"})
    m.module        # the MLIR module (func.func @main)
    m.inputs        # argument specs in order: name, shape, dtype, format, kind
    m.bind([adj, x])  # the argument list for fuseflow.oracle.run (lifted weights filled in)

See docs/frontend.md for the format language and the normalization contract.
"""

from fuseflow.frontend.formats import Format, FormatError, Level, parse_format
from fuseflow.frontend.importer import FrontendError, import_model
from fuseflow.frontend.signature import ImportedModel, TensorSpec

__all__ = [
    "Format",
    "FormatError",
    "FrontendError",
    "ImportedModel",
    "Level",
    "TensorSpec",
    "import_model",
    "parse_format",
]
