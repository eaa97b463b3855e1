"""``fuseflow.explore``: design-space exploration of fusion granularity and dataflow order.

    from fuseflow import workloads
    from fuseflow.explore import Explorer, explore
    ex = Explorer(workloads.sae(32, 8, 4), prune=8.0)
    result = explore(ex, "exhaustive")        # or "tune", budget=20, seed=0
    result.best, result.speedup_over("unfused"), result.heuristic_spearman()

See docs/explore.md: the space (``Explorer.space()``, a ``tune.Space``), the objective
(compile + simulate + check, ``tune.Infeasible`` where a point cannot run) and the cost
heuristic (``fuseflow.explore.heuristic``) that prunes before simulation.
"""

from __future__ import annotations

from fuseflow.explore.design import (
    FUSIONS,
    ExploreError,
    Explorer,
    FusionInfo,
    Outcome,
    block_choices,
    fusion_name,
)
from fuseflow.explore.heuristic import (
    Estimate,
    HeuristicError,
    RegionEstimator,
    TensorStats,
    spearman,
)
from fuseflow.explore.run import MODES, ExploreResult, explore, plot, rows, write_csv

__all__ = [
    "FUSIONS", "MODES", "Estimate", "ExploreError", "ExploreResult", "Explorer", "FusionInfo",
    "HeuristicError", "Outcome", "RegionEstimator", "TensorStats", "block_choices", "explore", "fusion_name", "plot",
    "rows", "spearman", "write_csv",
]
