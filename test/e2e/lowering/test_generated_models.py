"""Property: every model drawn from the grammar of supported ops (model_grammar.py: matmul,
elementwise with bias broadcasts, relu/gelu/exp, row reductions, masked softmax; sparse inputs
in CSR/CSC/COO/DCSR) compiles under its drawn fusion / layouts / order choices and simulates to
PyTorch eager's values, or is refused for a reason the docs give. A bounded, derandomized run;
the long run is ``bench/generated_models.py``."""

import subprocess
import sys

import torch
from hypothesis import HealthCheck, Phase, given, settings
from model_grammar import Case, Choice, Input, Step, cases, check_case, repro, shrink

EXAMPLES = 40  # generated models per run, 1-3 checked compilations each (67 in all, under a minute)


def _report(case: Case, outcomes) -> str:
    """Each failure with a repro script of the fewest leading ops that still fail."""
    lines = []
    for outcome in (o for o in outcomes if o.failed):
        small, again = shrink(case, outcome)
        lines.append(f"{again.choice.label()}: {again.status}: {again.message}\n{repro(small, again.choice)}")
    return "\n\n".join(lines)


# no shrinking by hypothesis: a compile takes about half a second and a drawn model is already
# small (a failure is reported cut to its fewest failing ops instead)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_generated_model_matches_pytorch(case):
    outcomes = check_case(case)
    assert len(outcomes) == len(case.choices)
    assert not any(o.failed for o in outcomes), _report(case, outcomes)


_SPMM_RELU = Case((Input((4, 5), "csr", 0.5, seed=1), Input((5, 3), "dense", seed=2)),
                  (Step("matmul", ("arg0", "arg1")), Step("relu", ("v0",))), (Choice("full", "auto"),),
                  (None, None))


def test_a_wrong_reference_is_a_mismatch():
    (outcome,) = check_case(_SPMM_RELU, reference=lambda a, b: torch.relu(a @ b) + 1e-3)
    assert outcome.status == "mismatch", outcome.message
    (outcome,) = check_case(_SPMM_RELU)
    assert outcome.status == "ok", outcome.message


def test_repro_script_runs_the_model_it_prints(tmp_path):
    script = tmp_path / "repro.py"
    script.write_text(repro(_SPMM_RELU, _SPMM_RELU.choices[0]))
    assert "v0 = arg0 @ arg1" in script.read_text() and "to_sparse_csr()" in script.read_text()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok ")
    args = _SPMM_RELU.args()
    want = torch.relu(args[0].to_dense() @ args[1])
    assert torch.equal(_SPMM_RELU.model()(*args), want)  # the module runs the printed source's ops
