"""Plots of a tuning run (matplotlib, Agg backend: no display needed): the best value so far,
and for a two-objective run the Pareto front."""

from __future__ import annotations

import math
from pathlib import Path

from fuseflow.tune.optimizer import Result


def _pyplot():
    from fuseflow.errors import missing_extra

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ModuleNotFoundError as e:
        raise (missing_extra(e) or e) from None
    return plt, MaxNLocator


#: how each phase of a run is drawn: (label, marker, colour)
PHASES = {"default": ("default configuration", "s", "tab:purple"), "seed": ("seeded", "D", "tab:purple"),
          "doe": ("initial design", "^", "tab:orange"), "random": ("random (too few feasible)", "v", "tab:gray"),
          "search": ("search", "o", "tab:blue")}


def plot_best_so_far(result: Result, path: str | Path, title: str = "") -> Path:
    """Write a PNG: every evaluation, marked by phase (the default, the initial design, the
    search), infeasible ones as grey crosses on the top edge, and the best feasible value so
    far (step line); integer evaluation axis, log-scaled when the values span over 20x, the
    legend outside the data."""
    plt, MaxNLocator = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8.5, 4), dpi=110)
    try:
        values = [e.value for e in result.history if e.feasible]
        for phase, (label, marker, colour) in PHASES.items():
            pts = [(e.index + 1, e.value) for e in result.history if e.feasible and e.phase == phase]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.scatter(xs, ys, s=18, marker=marker, color=colour, alpha=0.8, label=label, zorder=3)
        bad = [e.index + 1 for e in result.history if not e.feasible]
        draw_progress(ax, result.best_so_far(), values, bad, color="tab:red", lw=2, infeasible_label="infeasible")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _finish(fig, ax, path, "evaluation", "objective", title or "best so far")
    finally:
        plt.close(fig)
    return path


def plot_pareto(result: Result, path: str | Path, title: str = "", names: tuple[str, str] = ("objective 0", "objective 1")) -> Path:
    """Write a PNG of a two-objective run: every feasible evaluation (objective 0 against
    objective 1, marked by phase) and the Pareto front (the points no other point beats in
    both, joined by a step line); minimization of both."""
    plt, _ = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    try:
        for phase, (label, marker, colour) in PHASES.items():
            pts = [e.values[:2] for e in result.history if e.feasible and e.phase == phase]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.scatter(xs, ys, s=18, marker=marker, color=colour, alpha=0.6, label=label, zorder=2)
        front = sorted(e.values[:2] for e in result.pareto_front)
        if front:
            fx, fy = zip(*front, strict=True)
            ax.step(fx, fy, where="post", color="tab:red", lw=1.5, zorder=3)
            ax.scatter(fx, fy, s=40, facecolors="none", edgecolors="tab:red", lw=1.5, label="Pareto front", zorder=4)
        _finish(fig, ax, path, names[0], names[1], title or "Pareto front")
    finally:
        plt.close(fig)
    return path


def _finish(fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """Labels, grid, the legend outside the data (right of the axes), and the PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize="small")
    fig.tight_layout()
    fig.savefig(path)


def draw_progress(ax, best: list[float], values: list[float], infeasible: list[int], *, color: str,
                  lw: float, infeasible_label: str) -> None:
    """On ``ax`` (evaluations numbered from 1): the best feasible value so far as a step line
    (``best``: nan before the first feasible one), a log scale when the feasible ``values``
    are positive and span over 20x, and the ``infeasible`` evaluations as grey crosses on the
    top edge (at 0 when nothing is feasible)."""
    if values:
        steps = [(n + 1, v) for n, v in enumerate(best) if not math.isnan(v)]
        bx, by = zip(*steps, strict=True)
        ax.step(bx, by, where="post", color=color, lw=lw, label="best so far")
        if min(values) > 0 and max(values) / min(values) > 20:
            ax.set_yscale("log")
    if infeasible:
        ax.scatter(infeasible, [max(values) if values else 0] * len(infeasible), marker="x", color="gray",
                   label=infeasible_label)
