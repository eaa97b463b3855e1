"""The tuner's plots: phases marked, infeasible points shown, a Pareto front for two
objectives (each written as a PNG whose drawn elements are checked)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from fuseflow import tune  # noqa: E402
from fuseflow.tune import plot as tplot  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _space():
    return tune.Space([tune.Integer("a", 0, 60), tune.Ordinal("b", [1, 2, 4, 8, 16])])


def _labels(monkeypatch, draw) -> list[str]:
    """The legend labels of the figure ``draw`` makes (captured before it is closed)."""
    seen: list[str] = []
    close = plt.close

    def capture(fig=None):
        if fig is not None:
            for ax in fig.axes:
                seen.extend(t.get_text() for t in (ax.get_legend().get_texts() if ax.get_legend() else []))
        close(fig)

    monkeypatch.setattr(plt, "close", capture)
    draw()
    return seen


def test_best_so_far_marks_the_phases_and_the_failures(tmp_path, monkeypatch):
    def f(p):
        if p["a"] % 7 == 3:
            raise tune.Infeasible("bad")
        return (p["a"] - 17) ** 2 + 10 * p["b"] + 5.0

    res = tune.minimize(f, _space(), budget=24, seed=0)
    assert {e.phase for e in res.history} >= {"default", "doe", "search"} and not all(e.feasible for e in res.history)
    path = tmp_path / "best.png"
    labels = _labels(monkeypatch, lambda: tplot.plot_best_so_far(res, path, title="toy"))
    assert path.read_bytes()[:8] == PNG
    assert {"default configuration", "initial design", "search", "best so far", "infeasible"} <= set(labels)


def test_pareto_plot_of_a_two_objective_run(tmp_path, monkeypatch):
    def g(p):
        return float((p["a"] - 17) ** 2 + p["b"]), float(60 - p["a"] + 3 * p["b"])

    res = tune.minimize(g, _space(), budget=20, seed=0, n_objectives=2)
    assert len(res.pareto_front) >= 2
    path = tmp_path / "front.png"
    labels = _labels(monkeypatch, lambda: tplot.plot_pareto(res, path))
    assert path.read_bytes()[:8] == PNG and "Pareto front" in labels
