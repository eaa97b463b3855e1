"""fuseflow: compile sparse PyTorch models to fused SAM dataflow graphs, simulate, and tune.

The top-level names are imported lazily so that ``import fuseflow`` stays cheap (no torch, no
MLIR) until a feature is used.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fuseflow")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

_LAZY = {
    "passes": "fuseflow.passes",
    "sim": "fuseflow.sim",
    "dialects": "fuseflow.dialects",
    "frontend": "fuseflow.frontend",
    "oracle": "fuseflow.oracle",
    "models": "fuseflow.models",
    "data": "fuseflow.data",
    "tune": "fuseflow.tune",
    "workloads": "fuseflow.workloads",
    "explore": "fuseflow.explore",
    "make_context": "fuseflow.context",
    "parse_module": "fuseflow.context",
    "import_model": "fuseflow.frontend",
    "compile": "fuseflow.compiler",
    "CompileOptions": "fuseflow.compiler",
    "InfeasibleOrder": "fuseflow.compiler",
    "BlockingError": "fuseflow.errors",
    "simulate": "fuseflow.simulation",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'fuseflow' has no attribute '{name}'")
    module = importlib.import_module(target)
    value = module if target.endswith(name) else getattr(module, name)
    globals()[name] = value
    return value
