import re
import subprocess
import sys

from fuseflow.cli import main as fuseflow_main
from fuseflow.tools.opt import main as opt_main


def test_version(capsys):
    import fuseflow

    try:
        fuseflow_main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert f"fuseflow {fuseflow.__version__}" in capsys.readouterr().out


def test_help_lists_only_working_commands(capsys):
    assert fuseflow_main([]) == 0
    out = capsys.readouterr().out
    assert "opt" in out


def test_opt_garbage_exits_1_without_traceback():
    r = subprocess.run([sys.executable, "-m", "fuseflow.tools.opt"], input="garbage", text=True,
                       capture_output=True)
    assert r.returncode == 1
    assert "<stdin>:1:1: error:" in r.stderr
    assert "Traceback" not in r.stderr


def test_opt_runs_in_process(tmp_path, capsys):
    src = tmp_path / "in.mlir"
    src.write_text("func.func @f(%a: f32) -> f32 {\n  %0 = arith.addf %a, %a : f32\n  %1 = arith.addf %a, %a : f32\n  return %1 : f32\n}\n")
    assert opt_main([str(src), "-p", "builtin.module(canonicalize,cse)"]) == 0
    out = capsys.readouterr().out
    assert out.count("arith.addf") == 1


def test_opt_unknown_pass_exit_code(tmp_path, capsys):
    src = tmp_path / "in.mlir"
    src.write_text("module {}\n")
    assert opt_main([str(src), "-p", "builtin.module(cse,nope-pass)"]) == 1
    assert "unknown pass 'nope-pass'" in capsys.readouterr().err


def test_compile_then_simulate_a_program_file(tmp_path, capsys):
    import json

    import numpy as np
    import scipy.io
    import scipy.sparse as sp

    from fuseflow.workloads import spmm

    w = spmm()
    a = sp.csr_matrix(w.args[0].to_dense().numpy())
    b = w.args[1].numpy()
    scipy.io.mmwrite(str(tmp_path / "a.mtx"), a)
    np.save(tmp_path / "b.npy", b)
    prog = tmp_path / "spmm.mlir"
    assert fuseflow_main(["compile", "spmm", "--stage", "optimized", "-o", str(prog)]) == 0
    capsys.readouterr()
    out = tmp_path / "out.npz"
    assert fuseflow_main(["simulate", str(prog), "--inputs", str(tmp_path / "a.mtx"), str(tmp_path / "b.npy"),
                          "--check", "--json", "--save", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cycles"] > 0 and doc["checked"]
    np.testing.assert_allclose(np.load(out)["out0"], a @ b, rtol=1e-5, atol=1e-6)


def test_compile_unknown_workload_and_illegal_order(capsys):
    assert fuseflow_main(["compile", "no-such-model"]) == 1
    assert "unknown workload 'no-such-model'" in capsys.readouterr().err
    assert fuseflow_main(["compile", "spmm", "--order", "region0=kij"]) == 1
    assert "k,i,j is illegal" in capsys.readouterr().err


def test_demo_runs_checks_and_reports_every_granularity(capsys):
    assert fuseflow_main(["demo", "--workloads", "sae", "graphsage", "gcn", "--nodes", "16"]) == 0
    out = capsys.readouterr().out
    for fusion in ("unfused", "layers", "full"):
        assert out.count(f" {fusion} ") >= 3, out
    assert re.search(r"gcn\W+layers\+left\W+2\W", out), out  # the GCN re-associated as (A X) W
    assert re.search(r"sae\W+full\+auto\W+1\W", out), out  # sparse weights read as CSC
    assert "1.00x" in out and "infeasible" not in out
    assert "matched PyTorch eager" in out
