"""Inputs that are not what the tools compute on are refused up front with their name and
dtype, never cast silently or crashed on: strings, complex values (arrays, torch tensors,
Matrix Market files), a sparse= that is not a mapping, pipelines nested beyond reason; bfloat16
is widened exactly, and a model that fails on its own inputs in PyTorch is reported as such."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import fuseflow
from fuseflow.cli import main as fuseflow_main
from fuseflow.errors import FuseflowError
from fuseflow.tools.opt import main as opt_main

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e" / "lowering"))
from kernels import KERNELS, Fn  # noqa: E402


@pytest.fixture(scope="module")
def spmv():
    fn, make, fmts = KERNELS["spmv"]
    args = make()
    return Fn(fn), args, fuseflow.compile(Fn(fn), args)


@pytest.mark.parametrize("bad, dtype", [(np.array(["a"] * 10), "<U1"), (np.ones(10, np.complex64), "complex64"),
                                        (torch.ones(10, dtype=torch.complex64), "torch.complex64")])
def test_non_real_inputs_are_refused_with_their_name_and_dtype(spmv, bad, dtype):
    _, args, prog = spmv
    with pytest.raises(FuseflowError, match=f"input 'arg1': dtype {dtype} is not supported"):
        fuseflow.simulate(prog, (args[0], bad))


def test_bfloat16_is_widened_exactly(spmv):
    model, args, prog = spmv
    x = args[1].to(torch.bfloat16)
    got = fuseflow.simulate(prog, (args[0], x)).outputs[0]
    np.testing.assert_allclose(got, (args[0].to_dense() @ x.float()).numpy(), rtol=1e-5, atol=1e-6)
    # the model itself cannot multiply float32 by bfloat16: the check says so
    with pytest.raises(FuseflowError, match="the model fails in PyTorch eager on these inputs"):
        fuseflow.simulate(prog, (args[0], x), check=True)


def test_sparse_must_be_a_mapping(spmv):
    model, args, _ = spmv
    with pytest.raises(FuseflowError, match="sparse= maps input or parameter names to formats"):
        fuseflow.compile(model, args, sparse=["arg0"])


def test_simulator_binding_refuses_non_real_tensors(tmp_path):
    from test_user_files import GRAPH

    from fuseflow.sim import simulate_graph

    path = tmp_path / "g.mlir"
    path.write_text(GRAPH)
    for bad in (np.array(["x"] * 4), np.ones(4, np.complex128), torch.ones(4, dtype=torch.complex64)):
        with pytest.raises(FuseflowError, match="tensor 'arg0': dtype .* is not supported"):
            simulate_graph(path, {"arg0": bad})
    assert simulate_graph(path, {"arg0": np.arange(4, dtype=np.int32)}).tensors["out"].to_dense().tolist() == [0, 1, 2, 3]


def test_complex_matrix_market_files_are_refused(tmp_path, capsys):
    from fuseflow import data

    mtx = tmp_path / "c.mtx"
    mtx.write_text("%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 2.0\n")
    with pytest.raises(FuseflowError, match="complex values are not supported"):
        data.load_mtx(mtx)
    from test_user_files import GRAPH

    g = tmp_path / "g.mlir"
    g.write_text(GRAPH)
    assert fuseflow_main(["simulate", str(g), "--inputs", str(mtx)]) == 1
    assert "complex values are not supported" in capsys.readouterr().err


def test_deeply_nested_pipelines_are_refused(tmp_path, capsys):
    src = tmp_path / "f.mlir"
    src.write_text("func.func @f() {\n  return\n}\n")
    deep = "builtin.module(" * 3000 + "canonicalize" + ")" * 3000
    assert opt_main([str(src), "-p", deep]) == 1
    err = capsys.readouterr().err
    assert "error: the pipeline nests" in err and "internal error" not in err


def test_check_uses_stored_entry_semantics_when_inputs_hold_inf():
    """B holds an Inf where some rows of sparse A store nothing: PyTorch's sparse kernel (and
    the SAM graph) skip the absent zeros, a densified reference would say 0 x inf = NaN."""
    fn, make, _ = KERNELS["spmm"]
    a, b = make()
    b = b.clone()
    b[3, 2] = float("inf")
    assert (a.to_dense()[:, 3] == 0).any()  # some row's absent zero meets the Inf
    res = fuseflow.simulate(fuseflow.compile(Fn(fn), (a, b)), (a, b), check=True)
    assert not np.isnan(res.outputs[0]).any() and np.isinf(res.outputs[0]).any()


def test_half_precision_models_are_checked_at_their_precision():
    class M(torch.nn.Module):
        def forward(self, x, y):
            return torch.relu(x @ y)

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 6, generator=g).half(), torch.randn(6, 5, generator=g).half()
    prog = fuseflow.compile(M(), (x, y))
    fuseflow.simulate(prog, (x, y), check=True)  # float16 tolerance: passes
    from fuseflow.sim import SimulationMismatch

    with pytest.raises(SimulationMismatch):  # at float32 tolerance the half-precision reference differs
        fuseflow.simulate(prog, (x, y), check=True, rtol=1e-7, atol=1e-9)
