"""Explorations evaluated in other processes (a local pool, a Ray cluster): each worker rebuilds
the explorer from its recipe, and the outcomes are the serial run's point for point."""

from __future__ import annotations

import csv
import warnings

import pytest

from fuseflow.cli import main
from fuseflow.explore.design import ExploreError, Explorer
from fuseflow.explore.remote import ExplorerRecipe
from fuseflow.explore.run import explore

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

RECIPE = ExplorerRecipe("sae", explorer={"fusions": ["unfused", "full"], "optimize": (True,)})


def _summary(result):
    return [(sorted(o.point.items()), o.feasible, o.cycles, o.error) for o in result.outcomes]


@pytest.fixture(scope="module")
def serial():
    return explore(RECIPE.build(), "exhaustive")


def test_an_explorer_without_a_recipe_runs_serially_only():
    from fuseflow import workloads

    ex = Explorer(workloads.spmm(), optimize=(True,))
    with pytest.raises(ExploreError, match="build it from an ExplorerRecipe"):
        explore(ex, "exhaustive", executor="process")


def test_exhaustive_on_a_process_pool_equals_serial(serial):
    pooled = explore(RECIPE.build(), "exhaustive", executor="process", workers=2)
    assert _summary(pooled) == _summary(serial)
    # the full outcome comes back from the worker, not a summary
    assert [o.region_cycles for o in pooled.outcomes] == [o.region_cycles for o in serial.outcomes]
    assert [o.primitives for o in pooled.outcomes] == [o.primitives for o in serial.outcomes]


def test_exhaustive_and_tuned_on_a_ray_cluster_equal_serial(serial, ray_cluster):
    on_ray = explore(RECIPE.build(), "exhaustive", executor="ray", address=ray_cluster)
    assert _summary(on_ray) == _summary(serial)
    kw = dict(budget=4, seed=2, batch_size=2)
    tuned = explore(RECIPE.build(), "tune", executor="ray", address=ray_cluster, **kw)
    assert _summary(tuned) == _summary(explore(RECIPE.build(), "tune", **kw))


def test_cli_on_a_ray_cluster_writes_what_a_serial_run_writes(tmp_path, ray_cluster):
    common = ["explore", "spmm", "--fusions", "unfused", "full", "-q", "--no-plot"]
    assert main([*common, "--output", str(tmp_path / "serial")]) == 0
    assert main([*common, "--output", str(tmp_path / "ray"), "--address", ray_cluster]) == 0

    def table(name):
        with (tmp_path / name / "explore.csv").open() as f:
            return [{k: v for k, v in r.items() if k != "wall_time"} for r in csv.DictReader(f)]

    assert table("ray") == table("serial") and len(table("serial")) == 2


def test_cli_address_errors(tmp_path, capsys):
    assert main(["explore", "spmm", "--executor", "process", "--address", "127.0.0.1:1",
                 "--output", str(tmp_path)]) == 1
    assert "--address names a Ray cluster" in capsys.readouterr().err
    assert main(["explore", "spmm", "--workers", "0", "--output", str(tmp_path)]) == 1
    assert "--workers must be positive" in capsys.readouterr().err
