"""How well the cost heuristic ranks fusion/order configurations, and what exploration finds.

For each built-in workload (default sizes unless overridden), every point of the design space
(fusion granularity x per-region legal dataflow order, optimize on) is compiled, simulated cycle
by cycle and checked against PyTorch. Reports per workload: points, feasible points, the best
configuration per fusion and its speedup over the best unfused one, the Spearman correlation of
estimated work (ops + bytes/4) and of estimated ops alone with simulated cycles, and the time
spent estimating versus simulating. Points over the simulator's wall-time guard are infeasible.
A space larger than ``--max-points`` is explored by the tuner with that budget instead (the
report says so): GraphSAGE fully fused alone has thousands of legal orders.

    nice .venv/bin/python bench/explore_heuristic.py                  # gcn sae spmm graphsage
    nice .venv/bin/python bench/explore_heuristic.py --nodes 32 --json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from fuseflow import workloads
from fuseflow.explore.design import Explorer
from fuseflow.explore.heuristic import spearman
from fuseflow.explore.run import explore
from fuseflow.sim import HardwareConfig


def make(name: str, nodes: int | None):
    if nodes is not None and name in ("gcn", "graphsage"):
        return workloads.BUILTIN[name](nodes=nodes)
    return workloads.BUILTIN[name]()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="+", default=["gcn", "sae", "spmm", "graphsage"])
    ap.add_argument("--nodes", type=int, help="graph size for gcn/graphsage (default: the workload's)")
    ap.add_argument("--max-wall", type=float, default=120.0, help="simulator wall guard per region (s)")
    ap.add_argument("--max-points", type=int, default=120,
                    help="explore larger spaces with the tuner, this many evaluations (default 120)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per workload")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
    for name in args.workloads:
        w = make(name, args.nodes)
        ex = Explorer(w, optimize=(True,), hw=HardwareConfig(max_wall_seconds=args.max_wall))
        points = ex.points()
        mode = "exhaustive" if len(points) <= args.max_points else "tune"
        t0 = time.perf_counter()
        for p in points[: args.max_points]:
            ex.estimate(p)
        t_est = (time.perf_counter() - t0) * len(points) / min(len(points), args.max_points)
        t0 = time.perf_counter()
        result = explore(ex, mode, budget=args.max_points, seed=0)
        t_run = time.perf_counter() - t0
        feas = [o for o in result.feasible if o.estimate is not None]
        per_fusion = {}
        for info in ex.fusions:
            b = result.best_of(info.name)
            per_fusion[info.name] = None if b is None else {
                "cycles": b.cycles, "orders": ex.orders_text(b.point), "est_work": b.estimate.work,
                "est_ops": b.estimate.ops}
            if info.infeasible:
                per_fusion[info.name] = {"infeasible": info.infeasible}
        report = {
            "workload": name, "description": w.description, "space": len(points), "mode": mode,
            "points": len(result.outcomes),
            "feasible": len(result.feasible),
            "best": None if result.best is None else {"fusion": result.best.point["fusion"],
                                                      "orders": ex.orders_text(result.best.point),
                                                      "cycles": result.best.cycles},
            "speedup_over_unfused": result.speedup_over("unfused"),
            "per_fusion": per_fusion,
            "spearman_work": spearman([o.estimate.work for o in feas], [o.cycles for o in feas]),
            "spearman_ops": spearman([o.estimate.ops for o in feas], [o.cycles for o in feas]),
            "agreement_work": result.heuristic_agreement(),
            "estimate_seconds (whole space, extrapolated)": round(t_est, 3), "explore_seconds": round(t_run, 3),
            "infeasible_reasons": sorted({o.error.split(":")[0] for o in result.outcomes if not o.feasible}),
        }
        if args.json:
            print(json.dumps(report, default=str), flush=True)
        else:
            print(f"{name}: {w.description}", flush=True)
            for k, v in report.items():
                if k not in ("workload", "description"):
                    print(f"  {k}: {v}", flush=True)


if __name__ == "__main__":
    main()
