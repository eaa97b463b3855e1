"""Parallel lanes (``sam-parallelize``, SAM_SEMANTICS.md section 5): every kernel and model gives
PyTorch's numbers with its outermost loop and its second loop level forked into 2, 4 and 8
lanes, and the same numbers as the serial program where the forked loop is not reduced."""

import warnings

import numpy as np
import pytest
from kernels import KERNELS, Fn

import fuseflow
from fuseflow import workloads
from fuseflow.errors import FuseflowError

warnings.simplefilter("ignore", UserWarning)

FACTORS = (2, 4, 8)
# kernels whose outermost loop is a reduction (lanes' partial sums are added: rounding differs)
OUTER_REDUCED = {"spmm_csc"}


def _levels(prog) -> list[int]:
    """Distinct loop levels per region (aliases counted once)."""
    from fuseflow.dialects.sam_graph import sam_functions
    from fuseflow.passes.sam_parallelize import parallel_loops

    return [len(parallel_loops(g.func)) for g in sam_functions(prog.module)]


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_lanes_on_the_outermost_and_the_second_loop(name):
    fn, make, fmts = KERNELS[name]
    args = make()
    serial = fuseflow.compile(Fn(fn), args, sparse=fmts)
    want = fuseflow.simulate(serial, args, check=True).outputs
    two_levels = min(_levels(serial)) >= 2
    for lanes in FACTORS:
        prog = fuseflow.compile(Fn(fn), args, sparse=fmts, par=lanes)
        got = fuseflow.simulate(prog, args, check=True).outputs
        assert prog.stage("optimized").count('"sam.fork"') >= 1
        if name not in OUTER_REDUCED:
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
        if two_levels:
            prog = fuseflow.compile(Fn(fn), args, sparse=fmts, par=(1, lanes))
            fuseflow.simulate(prog, args, check=True)
    if two_levels:
        fuseflow.simulate(fuseflow.compile(Fn(fn), args, sparse=fmts, par=(2, 2)), args, check=True)


MODELS = {
    "gcn": lambda: workloads.gcn(nodes=24, features=8, hidden=8, classes=4),
    "sae": lambda: workloads.sae(32, 8, 4),
    "graphsage": lambda: workloads.graphsage(nodes=24, features=8, hidden=8, classes=4),
    "gpt3_bigbird": lambda: workloads.gpt3_bigbird(8, 2, 16, seq=8, block=4),
}


@pytest.mark.parametrize("fusion", ["unfused", "layers", "full"])
@pytest.mark.parametrize("name", list(MODELS))
def test_model_lanes_on_the_outermost_and_the_second_loop(name, fusion):
    w = MODELS[name]()
    serial = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion)
    base = fuseflow.simulate(serial, w.args, check=True)
    levels = _levels(serial)
    for lanes in FACTORS:
        prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion, par=lanes)
        res = fuseflow.simulate(prog, w.args, check=True)
        assert res.cycles < base.cycles
        # the second loop level of every region that has one
        second = {f"region{r}": f"1,{lanes}" for r, n in enumerate(levels) if n >= 2}
        prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion, par=second)
        fuseflow.simulate(prog, w.args, check=True)


def test_forked_outermost_loop_is_bit_identical_on_the_gpt_block():
    w = MODELS["gpt3_bigbird"]()
    want = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="full"), w.args).outputs
    got = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="full", par=4), w.args).outputs
    for g, x in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, x)


@pytest.mark.parametrize("par, message", [
    ("q:2", "has no loop 'q'"),
    ("i:0", "at least 1"),
    ("i:2.5", "must be an integer"),
    ("i:x", "must be an integer"),
    (-2, "at least 1"),
    ("i:2,i:4", "names a loop twice"),
    ("4,j:2", "either name every loop"),
    ("1,1,2", "has 2 loop level"),
    ({"region7": "i:2"}, "no graph named region7"),
    ({"r0": "i:2"}, "maps region names"),
    ("region0=i:2", "as a dict"),
    (2.5, "par must be"),
    ("i:4096,j:2", "at most 4096"),
])
def test_bad_parallelization_requests_are_clear_errors(par, message):
    fn, make, fmts = KERNELS["spmv"]
    with pytest.raises(FuseflowError, match=message):
        fuseflow.compile(Fn(fn), make(), sparse=fmts, par=par)


def test_factor_one_is_the_serial_program():
    fn, make, fmts = KERNELS["spmm"]
    args = make()
    serial = fuseflow.compile(Fn(fn), args, sparse=fmts)
    assert fuseflow.compile(Fn(fn), args, sparse=fmts, par="i:1").stage("optimized") == serial.stage("optimized")


def _transformer_kernels():
    import torch
    from kernels import dense
    from test_transformer_kernels import _mask, heads, masked_softmax

    ln = torch.nn.LayerNorm(6).eval()
    return {
        "layernorm": (ln, (dense((5, 6), 0),), {}),
        "masked_softmax": (Fn(masked_softmax), (dense((8, 8), 0), _mask(8, 0.3, 1)), {"arg1": "csr"}),
        "heads": (Fn(heads), (dense((6, 8), 0), dense((8, 4), 1)), {}),
    }


@pytest.mark.parametrize("fusion", ["unfused", "full"])
@pytest.mark.parametrize("name", ["layernorm", "masked_softmax", "heads"])
def test_transformer_kernel_lanes(name, fusion):
    model, args, fmts = _transformer_kernels()[name]
    serial = fuseflow.compile(model, args, sparse=fmts, fusion=fusion)
    levels = _levels(serial)
    for lanes in FACTORS:
        fuseflow.simulate(fuseflow.compile(model, args, sparse=fmts, fusion=fusion, par=lanes), args, check=True)
        second = {f"region{r}": f"1,{lanes}" for r, n in enumerate(levels) if n >= 2}
        fuseflow.simulate(fuseflow.compile(model, args, sparse=fmts, fusion=fusion, par=second), args, check=True)
