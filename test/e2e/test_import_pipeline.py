"""A real PyTorch model imported through torch-mlir into a fuseflow Context, then a pipeline
mixing fuseflow and upstream passes; the result must still compute what PyTorch computes
(checked by running the IR through MLIR's sparsifier + ExecutionEngine)."""

import ctypes
import warnings

import numpy as np
import pytest
import torch

from fuseflow.bindings import fx_importer_class, fx_module, print_module
from fuseflow.context import make_context
from fuseflow.passes import run_pipeline


class SpMMReluBias(torch.nn.Module):
    def forward(self, a, b, c):
        return torch.relu(a @ b.t()) + c


def _import(model, *args):
    ctx = make_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fx_module().export_and_import(
            model, *args, output_type="linalg-on-tensors", fx_importer=fx_importer_class()(context=ctx)
        )


REF_PIPELINE = (
    "builtin.module(sparse-assembler{direct-out=true},func.func(linalg-generalize-named-ops),"
    "sparsification-and-bufferization,sparse-storage-specifier-to-llvm,func.func(canonicalize),"
    "func.func(convert-linalg-to-loops),func.func(convert-vector-to-scf),func.func(expand-realloc),"
    "func.func(convert-scf-to-cf),expand-strided-metadata,lower-affine,convert-vector-to-llvm,"
    "finalize-memref-to-llvm,func.func(convert-complex-to-standard),func.func(arith-expand),"
    "func.func(convert-math-to-llvm),convert-math-to-libm,convert-complex-to-libm,convert-vector-to-llvm,"
    "convert-complex-to-llvm,convert-func-to-llvm,convert-arith-to-llvm,convert-cf-to-llvm,"
    "reconcile-unrealized-casts)"
)


def _execute(module, a_csr, b, c):
    from torch_mlir.execution_engine import ExecutionEngine
    from torch_mlir.runtime import (
        get_ranked_memref_descriptor,
        make_nd_memref_descriptor,
        ranked_memref_to_numpy,
    )
    from torch_mlir.runtime.np_to_memref import as_ctype

    from fuseflow.bindings import ir

    with module.context:
        module.body.operations[0].attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
    run_pipeline(module, REF_PIPELINE)
    ee = ExecutionEngine(module, opt_level=2, shared_libs=[])
    args = [
        a_csr.crow_indices().numpy(),
        a_csr.col_indices().numpy(),
        a_csr.values().numpy(),
        b.numpy(),
        c.numpy(),
    ]
    res = make_nd_memref_descriptor(2, as_ctype(np.float32))()
    ptrs = [ctypes.pointer(ctypes.pointer(res))]
    ptrs += [ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(np.ascontiguousarray(x)))) for x in args]
    ee.invoke("main", *ptrs)
    return ranked_memref_to_numpy(ctypes.pointer(res)).copy()


@pytest.mark.parametrize("seed", [0, 1])
def test_normalized_import_still_matches_pytorch(seed):
    g = torch.Generator().manual_seed(seed)
    dense = torch.rand(12, 10, generator=g) * (torch.rand(12, 10, generator=g) < 0.3)
    a = dense.to_sparse_csr()
    b = torch.randn(6, 10, generator=g)
    c = torch.randn(12, 6, generator=g)
    expected = SpMMReluBias()(a, b, c).numpy()

    m = _import(SpMMReluBias(), a, b, c)
    run_pipeline(
        m,
        "builtin.module(fuseflow-fold-sparse-casts,func.func(linalg-generalize-named-ops),"
        "fuseflow-fold-transposes,canonicalize,cse)",
    )
    text = print_module(m)
    assert "linalg.transpose" not in text and "tensor.cast" not in text
    got = _execute(m, a, b, c)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
