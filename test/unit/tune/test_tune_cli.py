"""``fuseflow tune SCENARIO.toml``: log, plot, summary table; scenario parsing."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from fuseflow.cli import main as fuseflow_main
from fuseflow.tune.scenario import ScenarioError, load_scenario

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tune"

OBJECTIVE = textwrap.dedent('''
    from fuseflow.tune import Infeasible

    def cost(p):
        if p["fmt"] == "bitmap" and p["b"] > 16:
            raise Infeasible("out of memory")
        return p["b"] * (1 + p["order"].index("k")) + 64 / p["b"] + p["x"]

    def small_blocks(p):
        return p["b"] <= 32
''')

SCENARIO = textwrap.dedent('''
    name = "tiny"
    objective = "model.py:cost"
    budget = 7
    seed = 1
    output = "out"
    constraints = ["fmt != 'dcsr' or b >= 8"]
    constraint_functions = ["model.py:small_blocks"]

    [settings]
    doe = 3

    [[parameter]]
    name = "b"
    type = "ordinal"
    values = [4, 8, 16, 32, 64]

    [[parameter]]
    name = "order"
    type = "permutation"
    items = ["i", "j", "k"]
    encoding = "kendall"

    [[parameter]]
    name = "fmt"
    type = "categorical"
    choices = ["csr", "dcsr", "bitmap"]

    [[parameter]]
    name = "x"
    type = "real"
    low = 0.0
    high = 1.0
''')


@pytest.fixture
def scenario(tmp_path):
    (tmp_path / "model.py").write_text(OBJECTIVE)
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    return path


def test_cli_writes_log_plot_summary_and_prints_table(scenario, capsys):
    assert fuseflow_main(["tune", str(scenario), "-q"]) == 0
    out = capsys.readouterr().out
    assert "tiny: best of 7 evaluations" in out
    for name in ("b", "order", "fmt", "objective"):
        assert name in out
    outdir = scenario.parent / "out"
    lines = (outdir / "log.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 7
    recs = [json.loads(x) for x in lines[1:]]
    assert all(r["point"]["b"] <= 32 for r in recs)  # the imported constraint held
    assert all(r["point"]["fmt"] != "dcsr" or r["point"]["b"] >= 8 for r in recs)
    png = (outdir / "best_so_far.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    summary = json.loads((outdir / "summary.json").read_text())
    assert summary["evaluations"] == 7
    best = min(r["value"] for r in recs if r["feasible"])
    assert summary["best_value"] == best


def test_cli_resume_and_refusal_to_overwrite(scenario, capsys):
    assert fuseflow_main(["tune", str(scenario), "-q", "--budget", "4", "--no-plot"]) == 0
    assert fuseflow_main(["tune", str(scenario), "-q"]) == 1
    assert "--resume" in capsys.readouterr().err
    assert fuseflow_main(["tune", str(scenario), "-q", "--resume", "--budget", "6"]) == 0
    lines = (scenario.parent / "out" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 6


def test_cli_user_errors_are_messages(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.replace("fmt != 'dcsr' or b >= 8", "__import__('os')"))
    (tmp_path / "model.py").write_text(OBJECTIVE)
    assert fuseflow_main(["tune", str(bad), "-q"]) == 1
    err = capsys.readouterr().err
    assert "only" in err and "Traceback" not in err
    assert fuseflow_main(["tune", str(tmp_path / "missing.toml")]) == 1
    assert "no such scenario file" in capsys.readouterr().err


def test_example_scenarios_load_and_run(tmp_path, capsys):
    for name in ("spmm.toml", "spmm_pareto.toml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    shutil.copy(EXAMPLES / "spmm_model.py", tmp_path / "spmm_model.py")
    sc = load_scenario(tmp_path / "spmm.toml")
    assert sc.space.names == ["order", "bi", "bj", "par"] and sc.budget == 30
    assert fuseflow_main(["tune", str(tmp_path / "spmm_pareto.toml"), "-q", "--budget", "6"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    summary = json.loads((tmp_path / "runs" / "spmm_pareto" / "summary.json").read_text())
    assert summary["pareto_front"]
    assert (tmp_path / "runs" / "spmm_pareto" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["pareto_plot"].endswith("pareto.png")


def test_scenario_errors(tmp_path):
    (tmp_path / "model.py").write_text(OBJECTIVE)
    p = tmp_path / "s.toml"
    p.write_text(SCENARIO.replace('type = "real"', 'type = "complex"'))
    with pytest.raises(ScenarioError, match="type must be one of"):
        load_scenario(p)
    p.write_text(SCENARIO.replace("budget = 7", "budget = 7\nbudjet = 3"))
    with pytest.raises(ScenarioError, match="unknown key"):
        load_scenario(p)
    p.write_text(SCENARIO.replace("doe = 3", "doe = 3\nwarp = 9"))
    with pytest.raises(ScenarioError, match="unknown setting"):
        load_scenario(p)
    p.write_text(SCENARIO.replace("low = 0.0\n", ""))
    with pytest.raises(ScenarioError, match="missing"):
        load_scenario(p)


def test_settings_of_the_wrong_type_are_scenario_errors(scenario, capsys):
    scenario.write_text(scenario.read_text().replace("doe = 3", 'doe = "many"'))
    assert fuseflow_main(["tune", str(scenario), "-q"]) == 1
    err = capsys.readouterr().err
    assert "[settings] settings.doe must be an integer >= 0" in err and "internal error" not in err
    # nothing was started: no log to block the next run
    assert not (scenario.parent / "out" / "log.jsonl").exists()


def test_a_log_without_evaluations_does_not_block_a_rerun(scenario, capsys):
    (scenario.parent / "model.py").write_text(OBJECTIVE + "\n\ndef nothing(p):\n    return None\n")
    broken = scenario.parent / "broken.toml"
    broken.write_text(scenario.read_text().replace("model.py:cost", "model.py:nothing"))
    assert fuseflow_main(["tune", str(broken), "-q"]) == 1
    err = capsys.readouterr().err
    assert "the objective returned NoneType, expected a number" in err and "internal error" not in err
    # the failed run left at most a header; the fixed scenario starts over without --resume
    assert fuseflow_main(["tune", str(scenario), "-q"]) == 0
    records = [json.loads(x) for x in (scenario.parent / "out" / "log.jsonl").read_text().splitlines()]
    assert [r["type"] for r in records].count("header") == 1 and len(records) == 1 + 7


def test_resume_with_another_seed_is_refused(scenario, capsys):
    assert fuseflow_main(["tune", str(scenario), "-q", "--budget", "4"]) == 0
    capsys.readouterr()
    assert fuseflow_main(["tune", str(scenario), "-q", "--resume", "--seed", "9"]) == 1
    err = capsys.readouterr().err
    assert "written with seed 1, not 9" in err
    assert fuseflow_main(["tune", str(scenario), "-q", "--resume"]) == 0


def test_tune_on_a_ray_cluster_logs_what_a_process_pool_logs(tmp_path, ray_cluster):
    """``--address`` runs the evaluations on an existing cluster (implying ``--executor ray``);
    with the same batch (``--workers 2``) the run equals the local pool's."""
    for f in ("spmm.toml", "spmm_model.py"):
        shutil.copy(EXAMPLES / f, tmp_path / f)
    runs = {"ray": ["--address", ray_cluster], "process": ["--executor", "process"]}
    for name, extra in runs.items():
        assert fuseflow_main(["tune", str(tmp_path / "spmm.toml"), "--budget", "5", "--workers", "2",
                              "-o", str(tmp_path / name), "--no-plot", "-q", *extra]) == 0

    def log(name):
        lines = (tmp_path / name / "log.jsonl").read_text().splitlines()[1:]
        return [(r["point"], r.get("value"), r.get("error")) for r in map(json.loads, lines)]

    assert log("ray") == log("process") and len(log("ray")) == 5


def test_tune_address_errors(tmp_path, capsys):
    for f in ("spmm.toml", "spmm_model.py"):
        shutil.copy(EXAMPLES / f, tmp_path / f)
    assert fuseflow_main(["tune", str(tmp_path / "spmm.toml"), "--executor", "process", "--address",
                          "127.0.0.1:1", "-o", str(tmp_path / "x")]) == 1
    assert "--address names a Ray cluster" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text((tmp_path / "spmm.toml").read_text().replace('executor = "serial"',
                                                                'executor = "process"\naddress = "h:1"'))
    assert fuseflow_main(["tune", str(bad), "-o", str(tmp_path / "y")]) == 1
    assert "it needs executor = \"ray\"" in capsys.readouterr().err
