"""``fuseflow graph``: DOT export and statistics from the command line."""

import subprocess
import sys
from pathlib import Path

from fuseflow.cli import main

GRAPHS = Path(__file__).resolve().parents[2] / "lit" / "dialects" / "sam" / "graphs"


def test_stats_and_dot(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["graph", str(GRAPHS / "spmv.mlir"), "--stats", "--dot", str(out)]) == 0
    stats = capsys.readouterr().out
    assert stats.startswith("@spmv: 14 ops, 25 edges\n")
    assert "  sam.fiber_lookup 3\n" in stats
    assert out.read_text().startswith('digraph "spmv" {')


def test_dot_to_stdout(capsys):
    assert main(["graph", str(GRAPHS / "add.mlir"), "--dot", "-"]) == 0
    assert 'n2 [label="root"];' in capsys.readouterr().out


def _run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "fuseflow", "graph", *args], input=stdin, text=True,
                          capture_output=True)


def test_user_errors_exit_1_without_traceback(tmp_path):
    cases = [
        (_run(str(GRAPHS / "spmv.mlir")), "nothing to do"),
        (_run(str(tmp_path / "missing.mlir"), "--stats"), "cannot read"),
        (_run("-", "--stats", stdin="func.func @f() {\n  return\n}\n"), "holds no SAM graph"),
        (_run("-", "--stats", stdin='func.func @f(%c: !sam.crd<index>) {\n'
              '  %0 = "sam.fiber_write"(%c) {format = "sparse", level = 0 : i64} : (!sam.crd<index>) -> !sam.level\n'
              '  return\n}\n'), "<stdin>:2:8: error: 'sam.fiber_write' op 'format' must be one of"),
    ]
    for r, message in cases:
        assert r.returncode == 1, r.stderr
        assert message in r.stderr
        assert "Traceback" not in r.stderr
