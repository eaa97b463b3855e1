"""fuseflow.explore: the design space, the objective, exhaustive and tuned exploration, the CLI."""

from __future__ import annotations

import csv
import itertools
import json
import math
import warnings

import pytest
import torch

import fuseflow
from fuseflow import tune, workloads
from fuseflow.errors import FuseflowError
from fuseflow.explore.design import ExploreError, Explorer
from fuseflow.explore.run import explore

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


@pytest.fixture(scope="module")
def sae():
    return workloads.sae(32, 8, 4)


@pytest.fixture(scope="module")
def sae_explorer(sae):
    return Explorer(sae, optimize=(True,))


def _direct_cycles(w, fusion, orders, optimize=True):
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion, order=orders, optimize=optimize)
    return fuseflow.simulate(prog, w.args, check=True).cycles, prog


def test_space_lists_exactly_the_legal_orders(sae, sae_explorer):
    ex = sae_explorer
    space = ex.space()
    by_name = {p.name: p for p in space.params}
    assert by_name["fusion"].values() == ["unfused", "layers", "full"]
    for info in ex.fusions:
        assert not info.infeasible
        prog = fuseflow.compile(sae.model, sae.args, sparse=sae.sparse, fusion=info.name)
        compiled = prog.regions
        assert len(compiled) == len(info.orders)
        for r, (region, orders) in enumerate(zip(compiled, info.orders, strict=True)):
            assert [",".join(o) for o in orders] == list(region.orders)
            name = info.param(r)
            if len(orders) > 1:
                assert (by_name[name].low, by_name[name].high) == (0, len(orders) - 1)
            else:
                assert name not in by_name
    # the tuner's enumeration and ours agree, and sizes multiply out per fusion
    want = sum(len(list(itertools.product(*info.orders))) for info in ex.fusions)
    assert len(ex.points()) == want == len(space.enumerate())
    keys = {space.key(p) for p in space.enumerate()}
    assert keys == {space.key(space.normalize(p)) for p in ex.points()}


def test_objective_equals_direct_compile_and_simulate(sae, sae_explorer):
    ex = sae_explorer
    point = {"fusion": "layers", "order_layers_0": 1, "order_layers_1": 0}
    cycles, prog = _direct_cycles(sae, "layers", [1, 0])
    assert ex.objective(point) == cycles
    out = ex.evaluate(point)
    assert out.feasible and out.cycles == cycles
    assert out.options_key == ex.options(point).key()
    res = fuseflow.simulate(prog, sae.args)
    assert out.region_cycles == {**res.region_cycles, **{f"relayout {k}": v for k, v in res.relayouts.items()}}
    assert ex.orders_text(point) == [r.order for r in prog.regions]
    # the program is compiled once per CompileOptions.key()
    assert ex.program(ex.options(point)) is ex.program(ex.options(dict(point)))


def test_optimize_is_a_parameter(sae):
    ex = Explorer(sae, fusions=("layers",), optimize=(True, False))
    assert {p.get("optimize") for p in ex.points()} == {True, False}
    off = {"fusion": "layers", "optimize": False}
    assert ex.options(off).optimize is False
    assert ex.objective(off) == _direct_cycles(sae, "layers", [0, 0], optimize=False)[0]


class _ColumnMaxOfRelu(torch.nn.Module):
    def forward(self, a):
        return torch.relu(a).amax(0)


def test_layouts_are_a_parameter_with_their_own_orders(sae):
    ex = Explorer(sae, fusions=("unfused", "layers"), optimize=(True,), layouts=("declared", "auto"))
    space = ex.space()
    by_name = {p.name: p for p in space.params}
    assert by_name["layouts"].values() == ["declared", "auto"]
    for lay in ("declared", "auto"):
        for name in ("unfused", "layers"):
            info = ex.info(name, lay)
            assert info.layouts == lay and not info.infeasible
            for r, orders in enumerate(info.orders):
                assert (info.param(r) in by_name) == (len(orders) > 1)
                if lay == "auto":
                    assert info.param(r).startswith(f"order_{name}_auto_")
                    # every dense input's order is free: at least the declared orders
                    assert len(orders) >= len(ex.info(name, "declared").orders[r])
    assert len(ex.points()) == len(space.enumerate())
    point = next(p for p in ex.points() if p["layouts"] == "auto" and p["fusion"] == "unfused")
    assert ex.options(point).layouts == "auto"
    out = ex.evaluate(point)
    assert out.feasible and sum(out.region_cycles.values()) == out.cycles
    # every declared configuration is in the layouts space at the same cost (a superset) ...
    declared = {tuple(ex.orders_text(p)): ex.objective(p) for p in ex.points()
                if p["fusion"] == "unfused" and p["layouts"] == "declared"}
    auto_info = ex.info("unfused", "auto")

    def auto_point(orders):
        p = {"fusion": "unfused", "layouts": "auto"}
        for r, o in enumerate(orders):
            choices = [",".join(x) for x in auto_info.orders[r]]
            if len(choices) > 1:
                p[auto_info.param(r)] = choices.index(o)
        return p

    best_orders = min(declared, key=declared.get)
    assert ex.objective(auto_point(best_orders)) == declared[best_orders]
    # ... and it holds a faster one: the encoder read with the batch innermost and the chain
    # kept in the layouts its producers write, one relayout (of the input) in all
    column_major = ("j,k,i", "j,i", "j,i", "j,k,i", "i,j", "i,j")
    assert ex.objective(auto_point(column_major)) < min(declared.values())
    assert [r.name for r in ex.program(ex.options(auto_point(column_major))).relayouts] == ["main_region0 arg0"]
    with pytest.raises(ExploreError, match="layouts must be values of declared, auto"):
        Explorer(sae, layouts=("sideways",))


def test_tuned_exploration_starts_from_the_heuristic_pick_of_every_granularity(sae):
    ex = Explorer(sae, fusions=("unfused", "layers", "full"), optimize=(True,))
    picks = [ex.heuristic_point(info) for info in ex.fusions]
    assert all(p is not None and p["fusion"] == info.name for p, info in zip(picks, ex.fusions, strict=True))
    result = explore(ex, "tune", budget=5, seed=0)
    evaluated = [o.point for o in result.outcomes]
    # the default point first, then each granularity's pick (the default may be one of them)
    assert all(ex.space().normalize(p) in evaluated[:4] for p in picks)


def test_the_space_is_counted_and_its_least_estimate_found_without_enumerating(sae):
    ex = Explorer(sae, fusions=("unfused", "layers", "full"), optimize=(True, False), layouts=("declared", "auto"))
    points = ex.points()
    assert ex.n_points() == len(points) == len(ex.space().enumerate())
    assert ex.reference_work() == pytest.approx(min(ex.estimate(p).work for p in points))


def test_infeasible_fusion_is_reported_infeasible():
    # a max over the rows of a CSR matrix: the reduction must be innermost (no max accumulator)
    # but the storage order puts rows first
    a = (torch.rand(6, 5, generator=torch.Generator().manual_seed(0)) - 0.7).relu().to_sparse_csr()
    w = workloads.Workload("colmax", _ColumnMaxOfRelu(), (a,))
    ex = Explorer(w, fusions=("full",), optimize=(True,))
    (info,) = ex.fusions
    assert "no legal dataflow order" in info.infeasible
    with pytest.raises(fuseflow.InfeasibleOrder):
        fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="full")
    with pytest.raises(tune.Infeasible, match="no legal dataflow order"):
        ex.objective({"fusion": "full"})
    result = tune.minimize(ex.objective, ex.space(), budget=1, seed=0)
    assert not result.history[0].feasible


def test_out_of_range_order_is_refused(sae_explorer):
    with pytest.raises(FuseflowError, match="out of range"):
        sae_explorer.options({"fusion": "layers", "order_layers_0": 2})


def test_exhaustive_finds_the_true_minimum(sae, sae_explorer):
    result = explore(sae_explorer, "exhaustive")
    assert len(result.outcomes) == len(sae_explorer.points())
    assert all(o.feasible for o in result.outcomes)
    # brute force with the public API, independently of the explorer
    truth = {}
    for fusion in ("unfused", "layers", "full"):
        regions = fuseflow.compile(sae.model, sae.args, sparse=sae.sparse, fusion=fusion).regions
        for idx in itertools.product(*(range(len(r.orders)) for r in regions)):
            truth[(fusion, idx)] = _direct_cycles(sae, fusion, list(idx))[0]
    assert result.best.cycles == min(truth.values())
    assert sorted(o.cycles for o in result.outcomes) == sorted(truth.values())
    # the heuristic's costliest configuration is full fusion, the only one that recomputes (the
    # hidden layer per output feature: the decoder weight is CSR, so o comes before h); the
    # simulator's fastest is per-layer fusion, which shares every stream
    worst_est = max(result.outcomes, key=lambda o: o.estimate.work)
    assert worst_est.point["fusion"] == "full"
    assert min(result.outcomes, key=lambda o: o.cycles).point["fusion"] == "layers"
    assert result.speedup_over("unfused") == pytest.approx(
        min(v for (f, _), v in truth.items() if f == "unfused") / min(truth.values()))


def test_pruning_skips_costly_configurations_without_simulating(sae):
    ex = Explorer(sae, optimize=(True,), prune=1.5)
    result = explore(ex, "exhaustive")
    pruned = [o for o in result.outcomes if o.pruned]
    assert pruned and all(not o.feasible and o.cycles is None for o in pruned)
    assert all(o.estimate.work > 1.5 * ex.reference_work() for o in pruned)
    kept = [o for o in result.outcomes if not o.pruned]
    assert all(o.estimate.work <= 1.5 * ex.reference_work() for o in kept)
    # visited cheapest-estimate first
    works = [o.estimate.work for o in result.outcomes]
    assert works == sorted(works)
    assert not any(ex.program(ex.options(o.point)) is None for o in kept)
    assert len(ex._programs) == len(kept)


def test_tuner_mode_records_every_evaluation(sae_explorer):
    result = explore(sae_explorer, "tune", budget=4, seed=1)
    assert len(result.outcomes) == 4
    assert len({json.dumps(o.point, sort_keys=True) for o in result.outcomes}) == 4
    for o in result.outcomes:
        assert o.feasible and o.cycles == sae_explorer.evaluate(o.point).cycles
    assert result.best_so_far()[-1] == result.best.cycles


def test_cli_writes_csv_plot_and_table(tmp_path, capsys, monkeypatch):
    from fuseflow.cli import main

    monkeypatch.setenv("COLUMNS", "200")

    out = tmp_path / "out"
    assert main(["explore", "sae", "--fusions", "unfused", "layers", "--output", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "best configuration per fusion" in text and "over unfused" in text
    with (out / "explore.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8  # unfused 2 x 2 orders, layers 2 x 2
    assert {r["fusion"] for r in rows} == {"unfused", "layers"}
    assert all(r["feasible"] == "True" and int(r["cycles"]) > 0 and float(r["est_work"]) > 0 for r in rows)
    assert all(sum(json.loads(r["region_cycles"]).values()) == int(r["cycles"]) for r in rows)
    assert (out / "explore.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best"]["cycles"] == min(int(r["cycles"]) for r in rows)
    assert summary["evaluated"] == 8


def test_cli_user_errors(tmp_path, capsys):
    from fuseflow.cli import main

    assert main(["explore", "nosuch", "--output", str(tmp_path)]) == 1
    assert "unknown workload" in capsys.readouterr().err
    assert main(["explore", "spmm", "--fusions", "0,x", "--output", str(tmp_path)]) == 1
    assert main(["explore", "spmm", "--max-points", "2", "--output", str(tmp_path)]) == 1
    assert "would simulate 3 configurations" in capsys.readouterr().err
    assert main(["explore", "spmm", "--nodes", "4", "--output", str(tmp_path)]) == 1


def test_lanes_are_a_parameter_per_region(sae):
    ex = Explorer(sae, fusions=["layers"], optimize=(True,), lanes=(1, 2, 4))
    params = {p.name: p for p in ex.space().params}
    lane_params = sorted(n for n in params if n.startswith("par_"))
    assert lane_params == [f"par_layers_{r}" for r in range(len(ex.info("layers").orders))]
    assert list(params[lane_params[0]].values()) == [1, 2, 4]
    assert ex.n_points() == len(ex.points()) == math.prod(len(o) for o in ex.info("layers").orders) * 3 ** len(lane_params)
    point = {"fusion": "layers", **{n: 1 for n in lane_params}}
    point[lane_params[0]] = 4
    assert ex.lanes(point) == {"region0": 4}
    out = ex.evaluate(point)
    assert out.feasible and out.lanes == {"main_region0": 4}
    assert out.primitives == max(ex.program(ex.options(point)).primitive_totals.values())
    serial = ex.evaluate({"fusion": "layers", **{n: 1 for n in lane_params}})
    assert out.cycles < serial.cycles and out.primitives > serial.primitives
    with pytest.raises(ExploreError, match="lanes must be integers"):
        Explorer(sae, lanes=(0,))


def test_explorer_trades_lanes_against_a_primitive_budget():
    """The GPT block, fully fused, with lanes as parameters under a PE budget: the search finds a
    parallel configuration faster than the best serial one, within the budget; configurations
    over it are infeasible, with the reason."""
    from fuseflow.sim import HardwareConfig

    w = workloads.gpt3_bigbird(8, 2, 16, seq=8, block=4)
    serial = Explorer(w, fusions=["full"], optimize=(True,))
    base = serial.evaluate(serial.heuristic_point(serial.info("full")))
    budget = base.primitives * 5
    ex = Explorer(w, fusions=["full"], optimize=(True,), lanes=(1, 2, 4, 8), hw=HardwareConfig(pe_budget=budget))
    result = explore(ex, "tune", budget=10, seed=0)
    best = result.best
    assert best.cycles < base.cycles and best.lanes
    assert best.primitives <= budget
    over = [o for o in result.outcomes if not o.feasible]
    assert all("PeBudgetError" in o.error and "primitives" in o.error for o in over)
    # every region at 8 lanes is over the budget
    eight = {"fusion": "full", **{p.name: 8 for p in ex.space().params if p.name.startswith("par_")}}
    out = ex.evaluate(eight)
    assert not out.feasible and "budget" in out.error


def test_points_over_the_memory_budget_are_infeasible_and_the_run_goes_on(tmp_path, capsys):
    """A simulation that grows past ``HardwareConfig.max_memory_mb`` is an infeasible point with
    the reason; the explorer goes on (here every point is over a budget of one MiB: the
    autoencoder fully fused with unbounded FIFOs grows to about 4.8 MB), and the CLI takes the
    budget as --max-memory."""
    from fuseflow.cli import main
    from fuseflow.sim import HardwareConfig

    w = workloads.sae(256, 32, 16)
    ex = Explorer(w, fusions=["full"], optimize=(True,), hw=HardwareConfig(fifo_depth=0, max_memory_mb=1))
    result = explore(ex, "exhaustive")
    assert result.outcomes and not any(o.feasible for o in result.outcomes)
    assert all(o.error.startswith("MemoryBudgetError: graph ") and "over its budget of 1.0 MiB" in o.error
               for o in result.outcomes)
    out = tmp_path / "out"
    assert main(["explore", "sae", "--fusions", "unfused", "--max-memory", "0", "--output", str(out), "-q"]) == 0
    assert main(["explore", "sae", "--max-memory", "-1", "--output", str(out)]) == 1
    assert "--max-memory must be >= 0" in capsys.readouterr().err


def test_plot_colours_are_fixed_per_fusion_and_failures_are_told_apart(sae, tmp_path, monkeypatch):
    """The same fusion has the same colour in every run; infeasible and pruned points have
    their own markers; the second panel plots the estimate against the simulated cycles."""
    import matplotlib.pyplot as plt

    from fuseflow.explore.run import FUSION_COLOURS, fusion_colour, plot
    from fuseflow.sim import HardwareConfig

    assert fusion_colour("full", []) == FUSION_COLOURS["full"]
    assert fusion_colour("groups:0,1;2", ["groups:0,1;2", "groups:0;1,2"]) != fusion_colour("groups:0;1,2", ["groups:0,1;2", "groups:0;1,2"])
    # a PE budget the fully fused graph is over (infeasible), and pruning that skips some
    # unfused points after the per-layer ones are simulated
    ex = Explorer(sae, fusions=["unfused", "layers", "full"], optimize=(True,), prune=2.0, hw=HardwareConfig(pe_budget=25))
    result = explore(ex, "exhaustive")
    assert any(not o.feasible and not o.pruned for o in result.outcomes)
    ex_pruned = Explorer(sae, fusions=["unfused", "layers", "full"], optimize=(True,), prune=1.05)
    result.outcomes += [o for o in explore(ex_pruned, "exhaustive").outcomes if o.pruned]
    assert any(o.pruned for o in result.outcomes)
    seen = []
    close = plt.close

    def capture(fig=None):
        for ax in fig.axes:
            legend = ax.get_legend()
            seen.append(([t.get_text() for t in legend.get_texts()] if legend else [], ax.get_title(), ax.get_xlabel()))
        close(fig)

    monkeypatch.setattr(plt, "close", capture)
    path = plot(result, tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (left, title, xlabel), (_, right_title, right_xlabel) = seen
    assert {"infeasible", "pruned (not simulated)"} <= set(left) and "configuration" in xlabel
    assert right_title.startswith("estimate vs simulated") and "estimated work" in right_xlabel


def test_the_module_is_partitioned_once_per_fusion_choice(monkeypatch):
    from fuseflow.passes.partition import PartitionPass

    runs = []
    partition = PartitionPass.run

    def counted(self, module):
        runs.append(self.pipeline_text())
        partition(self, module)

    monkeypatch.setattr(PartitionPass, "run", counted)
    ex = Explorer(workloads.gcn(nodes=24, features=8, hidden=8, classes=4), optimize=(True,))
    result = explore(ex, "exhaustive")
    assert len(result.outcomes) == ex.n_points() > len(ex.fusions)
    assert result.best is not None and result.best.cycles > 0
    assert len(runs) == len(ex.fusions) == 3
    assert len(set(runs)) == len(runs)
