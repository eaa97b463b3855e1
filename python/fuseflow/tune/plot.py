"""Best-so-far plots of a tuning run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

from fuseflow.tune.optimizer import Result


def plot_best_so_far(result: Result, path: str | Path, title: str = "") -> Path:
    """Write a PNG: every evaluation (dots; infeasible ones as crosses on the top edge) and the
    best feasible value so far (step line). Log-scaled when every value is positive."""
    from fuseflow.errors import missing_extra

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as e:
        raise (missing_extra(e) or e) from None

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    try:
        feas = [(e.index + 1, e.value) for e in result.history if e.feasible]
        bad = [e.index + 1 for e in result.history if not e.feasible]
        ys: tuple = ()
        if feas:
            xs, ys = zip(*feas, strict=True)
            ax.scatter(xs, ys, s=14, color="tab:blue", alpha=0.6, label="evaluation")
        draw_progress(ax, result.best_so_far(), list(ys), bad, color="tab:red", lw=2,
                      infeasible_label="infeasible")
        ax.set_xlabel("evaluation")
        ax.set_ylabel("objective")
        ax.set_title(title or "best so far")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def draw_progress(ax, best: list[float], values: list[float], infeasible: list[int], *, color: str,
                  lw: float, infeasible_label: str) -> None:
    """On ``ax`` (evaluations numbered from 1): the best feasible value so far as a step line
    (``best``: nan before the first feasible one), a log scale when every feasible value in
    ``values`` is positive, and the ``infeasible`` evaluations as grey crosses on the top edge
    (at 0 when nothing is feasible). Shared by the tuner's and the explorer's plots."""
    if values:
        steps = [(n + 1, v) for n, v in enumerate(best) if not math.isnan(v)]
        bx, by = zip(*steps, strict=True)
        ax.step(bx, by, where="post", color=color, lw=lw, label="best so far")
        if min(values) > 0:
            ax.set_yscale("log")
    if infeasible:
        ax.scatter(infeasible, [max(values) if values else 0] * len(infeasible), marker="x", color="gray",
                   label=infeasible_label)
