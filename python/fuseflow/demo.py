"""The smallest end-to-end run: import a PyTorch SpMM with a CSR operand into linalg +
sparse_tensor IR in a fuseflow Context, then run a pipeline mixing fuseflow and upstream passes.

    python -m fuseflow.demo
"""

from __future__ import annotations

import sys
import time
import warnings

from fuseflow.tools.guard import cli_entry

PIPELINE = (
    "builtin.module(fuseflow-fold-sparse-casts,func.func(linalg-generalize-named-ops),"
    "fuseflow-fold-transposes,canonicalize,cse)"
)


@cli_entry
def main() -> int:
    t0 = time.perf_counter()
    import torch

    from fuseflow.bindings import fx_importer_class, fx_module, print_module
    from fuseflow.context import make_context
    from fuseflow.passes import run_pipeline

    class SpMMRelu(torch.nn.Module):
        def forward(self, a, b):
            return torch.relu(a @ b.t())

    torch.manual_seed(0)
    dense = torch.rand(8, 8) * (torch.rand(8, 8) < 0.3)
    a = dense.to_sparse_csr()
    b = torch.randn(4, 8)
    ctx = make_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = fx_module().export_and_import(
            SpMMRelu(), a, b, output_type="linalg-on-tensors",
            fx_importer=fx_importer_class()(context=ctx),
        )
    print(f"// imported relu(A @ B^T), A: 8x8 CSR with {a._nnz()} nonzeros, B: 4x8 dense")
    run_pipeline(module, PIPELINE)
    print(f"// after {PIPELINE}")
    print(print_module(module))
    print(f"// done in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
