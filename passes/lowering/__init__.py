"""The lowering of fusion regions to SAM graphs (SAM_SEMANTICS.md section 4), one concern per module:

- ``expr``: the expression IR (``Leaf``, ``Map``, ``Reduce``, ``UNIT``, ``show``).
- ``linalg_reader``: ``linalg.generic`` bodies read into expressions (``read_generic``).
- ``region``: a region as fused einsums over shared index variables (``build_region``,
  ``Region``: inputs, outputs, variables, legal and best orders, free-input layouts).
- ``orders``: order legality (reduction scopes, sparse-accumulator rules, enumeration).
- ``scopes``: the loops each node iterates, which nodes are shared (views), work on dense bounds.
- ``emit``: the graph builder (contexts, joiners, views, reductions, writers; ``lower_region``).

The ``convert-linalg-to-sam`` pass (``fuseflow.passes.convert_linalg_to_sam``) is a thin module
over ``build_region`` and ``lower_region``; ``sam-size-buffers`` sizes the emitted graph's
fan-out FIFOs. See docs/lowering.md.
"""

from fuseflow.errors import InfeasibleOrder, LoweringError, UnsupportedOp
from fuseflow.passes.lowering.emit import DryBuilder, RegionLowering, View, layout_of, lower_region
from fuseflow.passes.lowering.expr import (
    REDUCE_IDENTITY,
    UNIT,
    ZERO_PRESERVING_SCALAR,
    ZERO_PRESERVING_UNARY,
    Expr,
    Leaf,
    Map,
    Reduce,
    all_vars,
    free_vars,
    leaves,
    rename,
    show,
)
from fuseflow.passes.lowering.linalg_reader import (
    is_init_only,
    is_unit_reshape,
    read_generic,
    scalar_fill_value,
)
from fuseflow.passes.lowering.orders import MAX_ORDERS, reduction_loops, trailing_vars
from fuseflow.passes.lowering.region import (
    FREE_LAYOUT_SOURCES,
    LAYOUT_MODES,
    RUNNER_RESHAPES,
    Output,
    Region,
    build_region,
    drop_unit_levels,
    has_sparse_level,
    has_unit_sparse,
    level_dims,
)
from fuseflow.passes.lowering.scopes import driven, order_work, plan_views, scope_key

__all__ = [
    "FREE_LAYOUT_SOURCES", "LAYOUT_MODES", "MAX_ORDERS", "REDUCE_IDENTITY", "RUNNER_RESHAPES", "UNIT", "ZERO_PRESERVING_SCALAR",
    "ZERO_PRESERVING_UNARY", "DryBuilder", "Expr", "InfeasibleOrder", "Leaf", "LoweringError", "Map", "Output",
    "Reduce", "Region", "RegionLowering", "UnsupportedOp", "View", "all_vars", "build_region", "driven", "drop_unit_levels",
    "free_vars", "has_sparse_level", "has_unit_sparse", "is_init_only", "is_unit_reshape", "layout_of", "leaves", "level_dims", "lower_region",
    "order_work", "plan_views", "read_generic", "reduction_loops", "rename", "scalar_fill_value", "scope_key",
    "show", "trailing_vars",
]
