"""Exploration runs: exhaustive enumeration or the tuner, with results as CSV, plot and summary.

    ex = Explorer(workload, prune=4.0)
    result = explore(ex, mode="exhaustive")          # or mode="tune", budget=20, seed=0
    result.best, result.speedup_over("unfused")
    write_csv(result, "explore.csv"); plot(result, "explore.png")

Exhaustive mode evaluates every point of the space; with pruning on, points are visited in
increasing estimated work so the cheapest are simulated first, and a point whose estimate
exceeds the factor times the least estimate of the space is recorded as pruned (not simulated).
Tuner mode runs ``tune.minimize`` on ``Explorer.objective`` (pruned points are infeasible).
Either mode runs in this process or, for an explorer built from an ``ExplorerRecipe``, on a
local process pool or a Ray cluster (``executor=``; ``fuseflow.explore.remote``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuseflow.explore.design import ExploreError, Explorer, Outcome
from fuseflow.explore.heuristic import spearman
from fuseflow.passes.fusion_modes import FUSION_MODES, UNFUSED

MODES = ("exhaustive", "tune")


@dataclass
class ExploreResult:
    """Every evaluated point (``outcomes``, in evaluation order) of one run."""

    workload: str
    mode: str
    outcomes: list[Outcome] = field(default_factory=list)
    explorer: Explorer | None = None

    @property
    def feasible(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.feasible]

    @property
    def best(self) -> Outcome | None:
        feas = self.feasible
        return min(feas, key=lambda o: o.cycles) if feas else None

    def best_so_far(self) -> list[float]:
        out, best = [], math.inf
        for o in self.outcomes:
            if o.feasible:
                best = min(best, o.cycles)
            out.append(best if best < math.inf else math.nan)
        return out

    def best_of(self, fusion: str) -> Outcome | None:
        feas = [o for o in self.feasible if o.point["fusion"] == fusion]
        return min(feas, key=lambda o: o.cycles) if feas else None

    def speedup_over(self, fusion: str = UNFUSED) -> float | None:
        base, best = self.best_of(fusion), self.best
        if base is None or best is None:
            return None
        return base.cycles / best.cycles

    def heuristic_spearman(self, metric: str = "work") -> float:
        """Rank correlation of the estimate (``metric``: work, ops or bytes) and simulated
        cycles over the feasible points."""
        pts = self._estimated(metric)
        return spearman([p[0] for p in pts], [p[1] for p in pts])

    def heuristic_agreement(self, metric: str = "work", min_gap: float = 0.05) -> float:
        """Fraction of the pairs of feasible points whose simulated cycles differ by more than
        ``min_gap`` (relative) that the estimate orders the same way (nan without such
        pairs). Unlike the rank correlation, near-ties (orders that simulate within a few
        cycles of each other) do not count: they are what pruning need not separate."""
        pts = self._estimated(metric)
        agree = total = 0
        for n, (ea, ca) in enumerate(pts):
            for eb, cb in pts[n + 1:]:
                if abs(ca - cb) > min_gap * min(ca, cb):
                    total += 1
                    agree += (ea < eb) == (ca < cb)
        return agree / total if total else math.nan

    def _estimated(self, metric: str) -> list[tuple[float, int]]:
        if metric not in ("work", "ops", "bytes"):
            raise ExploreError(f"metric must be work, ops or bytes, got '{metric}'")
        return [(getattr(o.estimate, metric), o.cycles) for o in self.feasible if o.estimate is not None]


def explore(explorer: Explorer, mode: str = "exhaustive", *, budget: int = 20, seed: int = 0,
            log=None, on_outcome: Callable[[Outcome, int, int], None] | None = None,
            executor: str = "serial", workers: int | None = None, address: str | None = None,
            batch_size: int | None = None) -> ExploreResult:
    """Run an exploration; ``on_outcome(outcome, done, total)`` is called after every point.

    ``executor``: ``"serial"`` (this process), ``"process"`` (``workers`` local processes) or
    ``"ray"`` (a local Ray instance, or the cluster at ``address``); the other executors need an
    explorer built from a recipe (``ExplorerRecipe.build()``), which each worker rebuilds. The
    outcomes are the serial run's, point for point (tuner mode: with the same ``batch_size``,
    which defaults to the executor's worker count)."""
    if mode not in MODES:
        raise ExploreError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    remote = executor != "serial"
    if remote and explorer.recipe is None:
        raise ExploreError(f"the {executor} executor rebuilds the explorer in each worker: build it from "
                           "an ExplorerRecipe (fuseflow.explore.remote)")
    result = ExploreResult(explorer.workload.name, mode, explorer=explorer)
    if mode == "exhaustive":
        points = explorer.points()
        if explorer.prune is not None:
            keyed = [(explorer.estimate(p), n, p) for n, p in enumerate(points)]
            keyed.sort(key=lambda t: (t[0] is None, t[0].work if t[0] is not None else 0.0, t[1]))
            points = [p for _, _, p in keyed]
        outcomes = _remote_outcomes(explorer, points, executor, workers, address) if remote \
            else (explorer.evaluate(p) for p in points)
        for n, out in enumerate(outcomes):
            result.outcomes.append(out)
            if on_outcome:
                on_outcome(out, n + 1, len(points))
        return result

    from fuseflow import tune

    if budget < 1:
        raise ExploreError(f"the budget must be at least 1, got {budget}")
    seen: dict[str, Outcome] = {}

    def objective(point: dict) -> float:
        out = explorer.evaluate(point)
        seen[_point_key(point)] = out
        if not out.feasible:
            raise tune.Infeasible(out.error)
        return float(out.cycles)

    def on_eval(ev, tuner) -> None:
        out = seen.get(_point_key(ev.point))
        if out is None:  # evaluated in a worker: rebuilt from the tuner's record
            out = Outcome(dict(ev.point), explorer.options(ev.point).key(), ev.feasible,
                          int(ev.value) if ev.feasible else None, estimate=explorer.estimate(ev.point),
                          wall_time=ev.wall_time, error=ev.error or "",
                          pruned=not ev.feasible and (ev.error or "").startswith("pruned:"))
        result.outcomes.append(out)
        if on_outcome:
            on_outcome(out, len(result.outcomes), budget)

    space = explorer.space()
    # start from the cost heuristic's pick in every granularity (and layouts/association
    # choice): the search then spends its budget improving on what the compiler would choose
    seeds = tuple(p for p in (explorer.heuristic_point(info) for info in explorer.fusions) if p is not None)
    if remote:
        from fuseflow.explore.remote import PointObjective

        objective = PointObjective(explorer.recipe)
    tune.minimize(objective, space, budget=budget, seed=seed, log=log, on_evaluation=on_eval, seeds=seeds,
                  executor=executor, workers=workers, address=address, batch_size=batch_size)
    return result


def _remote_outcomes(explorer: Explorer, points: list[dict], executor: str, workers, address):
    """The outcomes of ``points`` evaluated by ``executor``'s workers, in order, as they arrive."""
    from fuseflow.explore.remote import evaluate_point
    from fuseflow.tune import make_executor

    with make_executor(executor, workers, address) as ex:
        futures = [ex.submit(evaluate_point, explorer.recipe, p) for p in points]
        for fut in futures:
            yield fut.result()


def _point_key(point: dict) -> str:
    return json.dumps({k: point[k] for k in sorted(point) if point[k] is not None}, sort_keys=True, default=str)


# --------------------------------------------------------------------------------------------
# Reports


CSV_FIELDS = ("index", "fusion", "layouts", "associate", "block", "orders", "lanes", "optimize", "options", "feasible", "pruned",
              "cycles", "primitives", "formats", "region_cycles", "est_ops", "est_bytes", "est_work", "wall_time", "error")


def rows(result: ExploreResult) -> list[dict]:
    ex = result.explorer
    out = []
    for n, o in enumerate(result.outcomes):
        out.append({
            "index": n,
            "fusion": o.point["fusion"],
            "layouts": o.point.get("layouts", ex.layout_values[0] if ex is not None else ""),
            "associate": o.point.get("associate", ex.associate_values[0] if ex is not None else ""),
            "block": o.point.get("block", ex.variants["block"][0] if ex is not None else ""),
            "orders": " ".join(ex.orders_text(o.point)) if ex is not None else "",
            "lanes": json.dumps(ex.lanes(o.point)) if ex is not None else "",
            "optimize": o.point.get("optimize", ex.optimize_values[0] if ex is not None else ""),
            "options": o.options_key,
            "feasible": o.feasible,
            "pruned": o.pruned,
            "cycles": "" if o.cycles is None else o.cycles,
            "primitives": "" if o.primitives is None else o.primitives,
            "formats": json.dumps(o.formats),
            "region_cycles": json.dumps(o.region_cycles),
            "est_ops": "" if o.estimate is None else f"{o.estimate.ops:.6g}",
            "est_bytes": "" if o.estimate is None else f"{o.estimate.bytes:.6g}",
            "est_work": "" if o.estimate is None else f"{o.estimate.work:.6g}",
            "wall_time": f"{o.wall_time:.4f}",
            "error": o.error,
        })
    return out


def write_csv(result: ExploreResult, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows(rows(result))
    return path


def _wide(values: list[float]) -> bool:
    """Whether ``values`` span enough (over 20x, all positive) for a log axis to read better."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 20


#: colours per fusion granularity, fixed so that a fusion keeps its colour from run to run
FUSION_COLOURS = dict(zip(FUSION_MODES, ("#1f77b4", "#2ca02c", "#d62728"), strict=True))
_OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e"]


def fusion_colour(name: str, others: list[str]) -> str:
    """The colour of fusion ``name``: fixed for the named granularities, in sorted order of
    ``others`` for op-index groupings."""
    if name in FUSION_COLOURS:
        return FUSION_COLOURS[name]
    return _OTHER_COLOURS[sorted(others).index(name) % len(_OTHER_COLOURS)]


def plot(result: ExploreResult, path) -> Path:
    """PNG with two panels. Left: the simulated cycles of every evaluated configuration in the
    order evaluated (integer axis), coloured by fusion with fixed colours, the best so far as a
    step line, infeasible points as red triangles and pruned ones (never simulated) as grey
    crosses on the top edge. Right: the cost heuristic's estimated work against the simulated
    cycles (log-log), with its Spearman correlation. Legends sit outside the data."""
    from fuseflow.errors import missing_extra

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ModuleNotFoundError as e:
        raise (missing_extra(e) or e) from None

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax, ex) = plt.subplots(1, 2, figsize=(12, 4.6), dpi=110, gridspec_kw={"width_ratios": [3, 2]})
    try:
        fusions = list(dict.fromkeys(o.point["fusion"] for o in result.outcomes))
        ordered = [f for f in FUSION_COLOURS if f in fusions] + sorted(f for f in fusions if f not in FUSION_COLOURS)
        others = [f for f in fusions if f not in FUSION_COLOURS]
        feasible = [o.cycles for o in result.feasible]
        top = max(feasible) if feasible else 1
        for f in ordered:
            pts = [(n + 1, o.cycles) for n, o in enumerate(result.outcomes) if o.feasible and o.point["fusion"] == f]
            if pts:
                xs, vs = zip(*pts, strict=True)
                ax.scatter(xs, vs, s=20, color=fusion_colour(f, others), label=f, zorder=3)
        best = result.best_so_far()
        steps = [(n + 1, v) for n, v in enumerate(best) if not math.isnan(v)]
        if steps:
            bx, by = zip(*steps, strict=True)
            ax.step(bx, by, where="post", color="black", lw=1.3, label="best so far", zorder=2)
        infeasible = [n + 1 for n, o in enumerate(result.outcomes) if not o.feasible and not o.pruned]
        pruned = [n + 1 for n, o in enumerate(result.outcomes) if o.pruned]
        if infeasible:
            ax.scatter(infeasible, [top] * len(infeasible), marker="v", color="#d62728", facecolors="none",
                       label="infeasible", zorder=4)
        if pruned:
            ax.scatter(pruned, [top] * len(pruned), marker="x", color="gray", label="pruned (not simulated)", zorder=4)
        if _wide(feasible):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("configuration (in the order evaluated)")
        ax.set_ylabel("simulated cycles")
        ax.set_title(f"fuseflow explore {result.workload} ({result.mode})")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        est = [(o.estimate.work, o.cycles, o.point["fusion"]) for o in result.feasible if o.estimate is not None]
        for f in ordered:
            pts = [(w, c) for w, c, g in est if g == f]
            if pts:
                ws, cs = zip(*pts, strict=True)
                ex.scatter(ws, cs, s=20, color=fusion_colour(f, others), label=f)
        if _wide([w for w, _, _ in est]):
            ex.set_xscale("log")
        if _wide([c for _, c, _ in est]):
            ex.set_yscale("log")
        rho = result.heuristic_spearman()
        ex.set_title("estimate vs simulated" + ("" if math.isnan(rho) else f" (Spearman {rho:.2f})"))
        ex.set_xlabel("estimated work (heuristic)")
        ex.set_ylabel("simulated cycles")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


__all__ = ["CSV_FIELDS", "FUSION_COLOURS", "MODES", "ExploreResult", "explore", "fusion_colour", "plot", "rows",
           "write_csv"]
