"""Without the optional 'tune' dependencies the tuner's entry points say what to install
(exit 1, ``error: ...``), never an internal error."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize("argv", [["explore", "sae", "--mode", "tune", "--budget", "8", "-q"],
                                  ["tune", "scenario.toml", "--budget", "8", "-q"]])
def test_cli_names_the_extra(argv, tmp_path):
    """(An exhaustive ``fuseflow explore``, or an initial design, needs no surrogate and runs without
    the extra: the error comes when the search needs one.)"""
    # the child process hides botorch, as an install without the extra would
    script = textwrap.dedent(f"""
        import sys
        sys.modules["botorch"] = None  # import botorch now raises ModuleNotFoundError
        from fuseflow.cli import main
        sys.exit(main({argv!r}))
    """)
    (tmp_path / "scenario.toml").write_text(textwrap.dedent("""
        name = "x"
        objective = "objective.py:f"
        [[parameter]]
        name = "a"
        type = "integer"
        low = 0
        high = 40
    """))
    (tmp_path / "objective.py").write_text("def f(p):\n    return float((p['a'] - 7) ** 2 + 1)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "needs the optional 'tune' dependencies (botorch is not installed): pip install 'fuseflow[tune]'" in run.stderr
    assert "internal error" not in run.stderr


def test_the_search_names_the_extra():
    script = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        from fuseflow import tune
        space = tune.Space([tune.Integer("a", 0, 40)])
        try:
            tune.minimize(lambda p: float(p["a"]), space, budget=8, seed=0)
        except ImportError as e:
            print(type(e).__name__, e)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.stdout.startswith("MissingExtraError") and "fuseflow[tune]" in run.stdout, run.stdout + run.stderr
