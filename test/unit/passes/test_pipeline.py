import os

import pytest

from fuseflow.bindings import print_module
from fuseflow.context import make_context, parse_module
from fuseflow.errors import PipelineError
from fuseflow.passes import ModulePass, PassFailure, Pipeline, register, run_pipeline

IR = """
#map = affine_map<(d0, d1) -> (d0, d1)>
#sparse = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
func.func @main(%arg0: tensor<4x4xf32, #sparse>) -> tensor<4x4xf32, #sparse> {
  %0 = tensor.empty() : tensor<4x4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%arg0 : tensor<4x4xf32, #sparse>) outs(%0 : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.addf %in, %in : f32
    %3 = arith.addf %in, %in : f32
    %4 = arith.mulf %2, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<4x4xf32>
  %cast = tensor.cast %1 : tensor<4x4xf32> to tensor<4x4xf32, #sparse>
  return %cast : tensor<4x4xf32, #sparse>
}
"""


@register
class _AlwaysFailPass(ModulePass):
    """Always fails with a located error (test helper)."""

    name = "test-always-fail"

    def run(self, module):
        raise PassFailure("refusing on purpose")


@register
class _AlwaysCrashPass(ModulePass):
    """Raises an unexpected Python exception (test helper)."""

    name = "test-always-crash"

    def run(self, module):
        raise ZeroDivisionError("boom")


def test_mixed_pipeline_runs_fuseflow_and_upstream_passes():
    m = parse_module(IR)
    run_pipeline(m, "builtin.module(fuseflow-fold-sparse-casts,canonicalize,func.func(cse))")
    text = print_module(m)
    assert "tensor.cast" not in text
    assert text.count("arith.addf") == 1  # cse merged the duplicate
    assert "outs(%0 : tensor<4x4xf32, #sparse>)" in text


def test_pipeline_round_trips_to_text():
    p = Pipeline.parse("builtin.module(fuseflow-fold-transposes,canonicalize{max-iterations=3},func.func(cse))")
    assert str(p) == "builtin.module(fuseflow-fold-transposes,canonicalize{max-iterations=3},func.func(cse))"
    assert str(Pipeline.parse("cse,fuseflow-fold-sparse-casts")) == "builtin.module(cse,fuseflow-fold-sparse-casts)"


@pytest.mark.parametrize(
    "text, message",
    [
        ("builtin.module(canonicaliz)", "unknown pass 'canonicaliz'; did you mean 'canonicalize'"),
        ("builtin.module(canonicalize{bogus=1})", "no such option bogus"),
        ("func.func(fuseflow-fold-transposes)", "cannot be nested in 'func.func(...)'"),
        ("builtin.module(cse", "unbalanced"),
        ("a,,b", "empty pass name"),
    ],
)
def test_bad_pipelines_are_clear_errors(text, message):
    ctx = make_context()
    with pytest.raises(PipelineError) as e:
        Pipeline.parse(text).build(ctx)
    assert message in str(e.value)


def test_pass_failure_is_a_diagnostic_with_a_repro(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_REPRO_DIR", str(tmp_path))
    m = parse_module(IR)
    with pytest.raises(PipelineError) as e:
        run_pipeline(m, "builtin.module(canonicalize,test-always-fail)")
    err = e.value
    assert any("test-always-fail: refusing on purpose" in d.message for d in err.diagnostics)
    assert err.repro and "fuseflow-opt" in err.repro
    dumped = list(tmp_path.glob("fuseflow-repro-*.mlir"))
    assert len(dumped) == 1 and "tensor.cast" in dumped[0].read_text()  # the input, before any pass
    assert os.path.basename(str(dumped[0])) in err.repro


def test_internal_error_in_a_pass_does_not_kill_the_process():
    m = parse_module(IR)
    with pytest.raises(PipelineError) as e:
        run_pipeline(m, "builtin.module(test-always-crash)", repro=False)
    assert "internal error: ZeroDivisionError: boom" in str(e.value)


def test_verifier_runs_after_python_passes():
    @register
    class _BreakTypesPass(ModulePass):
        """Retypes a value illegally (test helper)."""

        name = "test-break-types"

        def run(self, module):
            from fuseflow.bindings import ir

            func_op = module.regions[0].blocks[0].operations[0]
            arg = func_op.regions[0].blocks[0].arguments[0]
            arg.set_type(ir.F64Type.get())

    m = parse_module(IR)
    with pytest.raises(PipelineError):
        run_pipeline(m, "builtin.module(test-break-types)", repro=False)
