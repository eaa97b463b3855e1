"""``fuseflow simulate`` end to end on the dialect's SpMV graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from fuseflow.cli import main

SPMV = Path(__file__).resolve().parents[2] / "lit" / "dialects" / "sam" / "graphs" / "spmv.mlir"


@pytest.fixture
def files(tmp_path):
    if not SPMV.exists():
        pytest.skip(f"{SPMV} not present")
    a = sp.random(4, 5, density=0.5, random_state=1, format="csr")
    x = np.arange(5.0)
    scipy.io.mmwrite(str(tmp_path / "A.mtx"), a)
    np.save(tmp_path / "x.npy", x)
    sp.save_npz(tmp_path / "A.npz", a)
    return tmp_path, a @ x


def test_json_stats_trace_and_saved_outputs(files, capsys):
    d, want = files
    rc = main(["simulate", str(SPMV), "--inputs", f"arg0={d / 'A.mtx'}", f"arg1={d / 'x.npy'}", "--json",
               "--check", "--trace", str(d / "t.json"), "--save", str(d / "out.npz"), "--hw", "fifo_depth=unbounded"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cycles"] > 0 and doc["checked"] and doc["hw"]["fifo_depth"] == 0
    assert doc["outputs"]["out"]["shape"] == [4]
    assert {"tokens_in", "busy_cycles", "stall_cycles", "bytes_read", "ops"} <= set(doc["regions"][0][0])
    assert json.loads((d / "t.json").read_text())["traceEvents"]
    np.testing.assert_allclose(np.load(d / "out.npz")["out"], want)


def test_summary_table_and_positional_npz(files, capsys):
    d, _ = files
    assert main(["simulate", str(SPMV), "--inputs", str(d / "A.npz"), str(d / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "cycles" in out and "busiest" in out


def test_user_errors_exit_1(files, capsys):
    d, _ = files
    assert main(["simulate", str(SPMV), "--inputs", str(d / "A.mtx")]) == 1
    assert "takes 2 input tensors" in capsys.readouterr().err
    assert main(["simulate", str(SPMV), "--inputs", str(d / "A.mtx"), str(d / "x.npy"), "--hw", "depth"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["simulate", str(SPMV), "--inputs", str(d / "missing.mtx")]) == 1


def test_trace_filters_window_and_gzip(files, capsys):
    from fuseflow.sim.trace import read_trace

    d, _ = files
    args = ["simulate", str(SPMV), "--inputs", str(d / "A.mtx"), str(d / "x.npy")]
    assert main([*args, "--trace", str(d / "all.json")]) == 0
    every = read_trace(d / "all.json")["traceEvents"]
    last = max(e["ts"] + e.get("dur", 0) for e in every if e["ph"] == "X")
    assert main([*args, "--trace", str(d / "t.json.gz"), "--trace-nodes", "array*", "reduce*",
                 "--trace-window", f"2:{last - 2}"]) == 0
    events = read_trace(d / "t.json.gz")["traceEvents"]
    threads = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert threads and all(t.startswith(("array", "reduce")) for t in threads)
    assert all(2 <= e["ts"] < last - 2 for e in events if e["ph"] == "X")
    assert any(e["ph"] == "C" for e in events)
    assert main([*args, "--trace", str(d / "n.json"), "--no-trace-counters", "--trace-regions", "nomatch*"]) == 0
    assert not [e for e in read_trace(d / "n.json")["traceEvents"] if e["ph"] in ("X", "C")]
    capsys.readouterr()
    assert main([*args, "--trace-nodes", "array*"]) == 1
    assert "need --trace FILE" in capsys.readouterr().err
    assert main([*args, "--trace", str(d / "w.json"), "--trace-window", "9"]) == 1
    assert "START:END" in capsys.readouterr().err


def test_compiled_program_takes_named_inputs_top_and_reports_the_full_config(tmp_path, capsys):
    prog = tmp_path / "spmm.mlir"
    assert main(["compile", "spmm", "-o", str(prog)]) == 0
    a = sp.random(32, 32, density=0.1, random_state=0, format="csr")
    b = np.random.default_rng(0).random((32, 8)).astype(np.float32)
    scipy.io.mmwrite(str(tmp_path / "A.mtx"), a)
    np.save(tmp_path / "B.npy", b)
    capsys.readouterr()
    named = [f"arg1={tmp_path / 'B.npy'}", f"arg0={tmp_path / 'A.mtx'}"]  # any order
    assert main(["simulate", str(prog), "--inputs", *named, "--json", "--hw", "fifo_depth=16",
                 "--save", str(tmp_path / "o.npz")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["hw"]["fifo_depth"] == 16 and doc["hw"]["mem_channels"] == 8 and len(doc["hw"]["key"]) == 16
    assert {"tokens_in", "busy_cycles"} <= set(doc["regions"]["main_region0"][0])
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["out0"], a @ b, rtol=1e-5)
    assert main(["simulate", str(prog), "--inputs", *named, "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "busiest 2 nodes" in out
    assert main(["simulate", str(prog), "--inputs", f"argx={tmp_path / 'A.mtx'}", named[0]]) == 1
    assert "no input named 'argx'; its inputs are arg0, arg1" in capsys.readouterr().err
    assert main(["simulate", str(prog), "--inputs", named[0]]) == 1
    assert "missing program input(s) arg0" in capsys.readouterr().err


def test_workers_simulate_a_program_s_regions_side_by_side_with_the_same_report(tmp_path, capsys):
    prog = tmp_path / "sae.mlir"
    assert main(["compile", "sae", "--fusion", "unfused", "-o", str(prog)]) == 0  # 6 regions
    rng = np.random.default_rng(0)
    inputs = []
    for k, shape in enumerate([(8, 64), (16, 64), (64, 16)]):
        np.save(tmp_path / f"a{k}.npy", (rng.random(shape) * (rng.random(shape) < 0.3)).astype(np.float32))
        inputs.append(str(tmp_path / f"a{k}.npy"))
    capsys.readouterr()
    docs = []
    for workers in ("1", "2"):
        assert main(["simulate", str(prog), "--inputs", *inputs, "--json", "--workers", workers]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    assert len(docs[0]["region_cycles"]) == 6 and docs[1] == docs[0]
    assert main(["simulate", str(prog), "--inputs", *inputs, "--workers", "2", "--trace", str(tmp_path / "t.json")]) == 1
    assert "workers=1 to trace" in capsys.readouterr().err
