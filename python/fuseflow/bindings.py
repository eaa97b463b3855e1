"""The one place fuseflow imports the torch-mlir MLIR bindings.

Every other module does ``from fuseflow.bindings import ir, passmanager, ...`` so that an API
change in the bindings touches this file only. Nothing here imports ``torch`` (which costs over a
second); the frontend imports it on demand.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from torch_mlir import ir, passmanager, rewrite  # noqa: F401  (re-exported)
from torch_mlir._mlir_libs._mlir import globals as _mlir_globals
from torch_mlir.dialects import (  # noqa: F401  (re-exported)
    arith,
    builtin,
    func,
    linalg,
    math,
    sparse_tensor,
    tensor,
)
from torch_mlir.dialects import torch as torch_dialect

MLIRError = ir.MLIRError
PassManager = passmanager.PassManager

# The bindings look a dialect's Python module up as ``<prefix>.<namespace>`` each time they wrap
# one of its ops or values, and retry after a failed import: without this prefix every sam op
# wrapped cost a failed import of ``torch_mlir.dialects.sam`` (thousands per compile).
if "fuseflow.dialects" not in _mlir_globals.dialect_search_modules:
    _mlir_globals.append_dialect_search_prefix("fuseflow.dialects")


def register_torch_dialect(ctx: ir.Context) -> None:
    """Register torch-mlir's ``torch`` dialect (and its passes) with ``ctx``."""
    torch_dialect.register_dialect(ctx)


def op_name(op) -> str:
    """The operation name (``"func.func"``) of an Operation or OpView.

    ``OpView.name`` is the *symbol* name on ops such as ``func.func``; this avoids that trap.
    """
    return op.operation.name


def print_module(module_or_op, *, generic: bool = False, elide_resources: bool = False) -> str:
    """Print IR reliably: full text, no debug info, resources kept unless asked to elide."""
    op = module_or_op.operation if hasattr(module_or_op, "operation") else module_or_op
    return op.get_asm(
        print_generic_op_form=generic,
        enable_debug_info=False,
        large_elements_limit=None,
        large_resource_limit=16 if elide_resources else None,
    )


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Capture what native code writes to file descriptor 2 (LLVM's command-line option parser
    prints option errors there instead of returning them). Yields a list that holds the captured
    text after the block exits.
    """
    out: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode(errors="replace"))


def fx_module():
    """torch-mlir's FX importer module (imports torch: call only when importing a model)."""
    from torch_mlir import fx

    return fx


def fx_importer_class():
    from torch_mlir.extras.fx_importer import FxImporter

    return FxImporter

from torch_mlir.dialects import ext  # noqa: E402,F401  (re-exported: Python-defined IRDL dialects)


def fx_decomposition_table():
    """torch-mlir's decomposition table for ``ExportedProgram.run_decompositions`` (imports torch)."""
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    return get_decomposition_table()


def execution_engine_class():
    """MLIR's JIT ``ExecutionEngine`` (LLVM-dialect modules, called through the C interface)."""
    from torch_mlir.execution_engine import ExecutionEngine

    return ExecutionEngine


def memref_runtime():
    """numpy <-> memref descriptor helpers, as a namespace: ``get_ranked_memref_descriptor``,
    ``make_nd_memref_descriptor``, ``ranked_memref_to_numpy``, ``as_ctype``."""
    import types

    from torch_mlir.runtime import np_to_memref

    return types.SimpleNamespace(
        get_ranked_memref_descriptor=np_to_memref.get_ranked_memref_descriptor,
        make_nd_memref_descriptor=np_to_memref.make_nd_memref_descriptor,
        ranked_memref_to_numpy=np_to_memref.ranked_memref_to_numpy,
        as_ctype=np_to_memref.as_ctype,
    )
