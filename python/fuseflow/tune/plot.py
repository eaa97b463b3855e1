"""Best-so-far plots of a tuning run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

from fuseflow.tune.optimizer import Result


def plot_best_so_far(result: Result, path: str | Path, title: str = "") -> Path:
    """Write a PNG: every evaluation (dots; infeasible ones as crosses on the top edge) and the
    best feasible value so far (step line). Log-scaled when every value is positive."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    try:
        feas = [(e.index + 1, e.value) for e in result.history if e.feasible]
        bad = [e.index + 1 for e in result.history if not e.feasible]
        if feas:
            xs, ys = zip(*feas, strict=True)
            ax.scatter(xs, ys, s=14, color="tab:blue", alpha=0.6, label="evaluation")
            best = result.best_so_far()
            steps = [(i + 1, v) for i, v in enumerate(best) if not math.isnan(v)]
            bx, by = zip(*steps, strict=True)
            ax.step(bx, by, where="post", color="tab:red", lw=2, label="best so far")
            if min(ys) > 0:
                ax.set_yscale("log")
            if bad:
                top = max(ys)
                ax.scatter(bad, [top] * len(bad), marker="x", color="gray", label="infeasible")
        elif bad:
            ax.scatter(bad, [0] * len(bad), marker="x", color="gray", label="infeasible")
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
