"""Dense layouts as schedule choices (SAM_SEMANTICS.md 4.12): with ``layouts="auto"`` a region
reads a dense input in the level order its dataflow order needs, and the program pays a
relayout, through the memory model, where the value arrives in another order."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from kernels import KERNELS, Fn

import fuseflow
from fuseflow import data
from fuseflow.errors import FuseflowError
from fuseflow.passes.lowering import InfeasibleOrder
from fuseflow.relayout import Relayout
from fuseflow.sim import HardwareConfig

warnings.simplefilter("ignore", UserWarning)

DATA_ROOT = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
LP_SCSD1 = data.find_dataset("matrices/lp_scsd1.mtx", DATA_ROOT)


def test_relayout_cost_is_the_memory_model_at_bandwidth():
    hw = HardwareConfig()
    # 32 elements: 4 read + 4 write requests of 8 elements over 8 channels, one request per 2
    # cycles each: 8 * 2 / 8 = 2 cycles of issue; + latency 1 + start-up 14 + 2 x latency 2
    assert hw.relayout_cycles(32) == 2 + 1 + 14 + 4
    # 60 elements: 8 batches each way, 16 requests: 4 cycles
    assert hw.relayout_cycles(60) == 4 + 19
    assert HardwareConfig(memory=False).relayout_cycles(60) == 8 + 1  # one batch per ii
    assert hw.relayout_cycles(0) == 0


def test_auto_reads_a_runtime_operand_column_major_and_pays_its_relayout():
    fn, make, fmts = KERNELS["spmm"]  # A (12 x 10, CSR) @ B (10 x 6, row-major)
    args = make()
    with pytest.raises(InfeasibleOrder, match="k must come before j"):
        fuseflow.compile(Fn(fn), args, sparse=fmts, order=["ijk"])
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, order=["ijk"], layouts="auto")
    assert prog.relayouts == [Relayout("main_region0 arg1", 60)]
    assert prog.read_formats() == {"main_region0 arg1": "d1:dense,d0:dense"}
    res = fuseflow.simulate(prog, args, check=True)
    assert res.relayouts == {"main_region0 arg1": 23}
    assert res.cycles == sum(res.region_cycles.values()) + 23
    # in the order the operand arrives in, nothing is relaid
    assert fuseflow.compile(Fn(fn), args, sparse=fmts, order=["ikj"], layouts="auto").relayouts == []


def test_results_written_in_another_order_are_relaid_for_the_caller():
    fn, make, fmts = KERNELS["exp"]  # exp of a 6 x 5 row-major input
    args = make()
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, order=["ji"], layouts="auto")
    # read by column (a relayout of the input), written by column (a relayout of the result)
    assert prog.relayouts == [Relayout("main_region0 arg0", 30), Relayout("result 0", 30)]
    res = fuseflow.simulate(prog, args, check=True)
    assert res.cycles == res.region_cycles["main_region0"] + 2 * HardwareConfig().relayout_cycles(30)
    assert fuseflow.compile(Fn(fn), args, sparse=fmts, layouts="auto").regions[0].order == "i,j"


def test_weights_are_laid_out_offline_for_free():
    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)))

        def forward(self, a):
            return a @ self.w.t()

    args = (KERNELS["spmm"][1]()[0],)
    for order in (["ijk"], ["ikj"]):
        prog = fuseflow.compile(Linear(), args, order=order, layouts="auto")
        assert prog.relayouts == []
        fuseflow.simulate(prog, args, check=True)


@pytest.mark.skipif(LP_SCSD1 is None, reason=f"lp_scsd1 not found under {DATA_ROOT}/matrices (set FUSEFLOW_DATA_DIR)")
def test_sddmm_on_lp_scsd1_runs_in_the_order_that_samples_before_it_multiplies():
    m = data.load_mtx(LP_SCSD1)
    b = data.to_torch(m, "csr")
    g = torch.Generator().manual_seed(0)
    c, d = torch.randn(m.shape[0], 256, generator=g), torch.randn(256, m.shape[1], generator=g)

    class SDDMM(torch.nn.Module):
        def forward(self, b, c, d):
            return b * (c @ d)

    declared = fuseflow.compile(SDDMM(), (b, c, d), fusion="full")
    assert [r.order for r in declared.regions] == ["i,k,j"]  # D row-major: the dense product
    prog = fuseflow.compile(SDDMM(), (b, c, d), fusion="full", layouts="auto")
    assert [r.order for r in prog.regions] == ["i,j,k"]
    assert prog.relayouts == [Relayout("main_region0 arg1", 256 * m.shape[1])]  # D column-major
    res = fuseflow.simulate(prog, (b, c, d), check=True)
    # work proportional to nnz(B) x K: per stored B[i,j], K products, K sums and the sampling
    # product; within 1.5x of the SAM project's simulator (613,807 cycles), relayout included
    assert res.totals()["ops"] == m.nnz * (2 * 256 + 1)
    assert res.cycles < 1.5 * 613_807


@pytest.mark.parametrize("bad", ["sideways", {"arg1": 3}, 3])
def test_bad_layouts_are_clear_errors(bad):
    fn, make, fmts = KERNELS["spmm"]
    with pytest.raises(FuseflowError, match="layouts must be one of declared, auto|layouts={...} maps input names"):
        fuseflow.compile(Fn(fn), make(), sparse=fmts, layouts=bad)


def test_auto_layouts_change_cycles_not_results():
    fn, make, fmts = KERNELS["sddmm"]
    args = make()
    outs = [fuseflow.simulate(fuseflow.compile(Fn(fn), args, sparse=fmts, fusion="full", layouts=lay), args,
                              check=True).outputs[0] for lay in (None, "auto")]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)


def test_a_pinned_input_layout_is_read_in_that_order_and_relaid():
    fn, make, fmts = KERNELS["spmm"]
    args = make()
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, layouts={"arg1": "d1:dense,d0:dense"})
    # B read column-major: j before k, the reduction innermost (no accumulator)
    assert prog.regions[0].orders == ("i,j,k", "j,i,k")
    assert prog.relayouts == [Relayout("main_region0 arg1", 60)]
    fuseflow.simulate(prog, args, check=True)
    # pinning the order it arrives in changes nothing
    same = fuseflow.compile(Fn(fn), args, sparse=fmts, layouts={"arg1": "d0:dense,d1:dense"})
    assert same.relayouts == [] and same.regions[0].orders == ("i,k,j",)


@pytest.mark.parametrize(("pins", "message"), [
    ({"nope": "dense"}, "layouts names 'nope', which is not an input of the program"),
    ({"arg1": "zigzag"}, "unknown format 'zigzag'"),
    ({"arg1": "d2:dense,d0:dense,d1:dense"}, "rank-3 tensors but input 'arg1' has shape"),
    ({"arg1": "csr"}, "layouts pin a dense input's level order"),
    ({"arg0": "d1:dense,d0:dense"}, "layouts pin a dense input's level order"),  # arg0 is sparse (CSR)
    ({"arg0": "bsr(2,2)"}, "layouts pin a dense input's level order"),
])
def test_bad_pins_are_clear_errors(pins, message):
    fn, make, fmts = KERNELS["spmm"]
    with pytest.raises(FuseflowError, match=message):
        fuseflow.compile(Fn(fn), make(), sparse=fmts, layouts=pins)


def test_relevel_keeps_each_level_kind():
    from fuseflow.bindings import ir
    from fuseflow.context import make_context
    from fuseflow.frontend.formats import parse_format
    from fuseflow.passes.lowering.region import relevel

    with make_context(), ir.Location.unknown():
        for name, want in (("csr", "(d1 : dense, d0 : compressed)"), ("dcsr", "(d1 : compressed, d0 : compressed)"),
                           ("coo", "(d1 : compressed(nonunique), d0 : singleton)")):
            t = ir.RankedTensorType.get([4, 6], ir.F32Type.get(),
                                        ir.Attribute.parse(parse_format(name).encoding_text(2)))
            text = str(relevel(t, [1, 0]))
            assert want in text.replace("singleton(soa)", "singleton"), text
            assert "posWidth = 64" in text


def test_auto_reads_sparse_weights_in_any_level_order_for_free():
    """The autoencoder's CSR decoder weight fixes its output loop before the hidden one, so full
    fusion rebuilds the hidden layer per output feature; with layouts="auto" the lifted weights
    are read in the level order the best order needs (laid out offline: no relayout) and fully
    fused does exactly the unfused operations."""
    from fuseflow import workloads

    w = workloads.sae()
    unfused = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse), w.args, check=True)
    declared = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="full"), w.args, check=True)
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="full", layouts="auto")
    auto = fuseflow.simulate(prog, w.args, check=True)
    assert prog.relayouts == []
    assert "d1 : dense, d0 : compressed" in prog.stage("optimized")  # a weight read as CSC
    assert prog.read_formats() == {"main_region0 arg1": "csc", "main_region0 arg3": "csc"}
    assert auto.totals()["ops"] == unfused.totals()["ops"] < declared.totals()["ops"]
    assert auto.cycles < unfused.cycles < declared.cycles


def test_a_runtime_sparse_input_read_in_another_level_order_pays_a_sparse_relayout():
    fn, make, fmts = KERNELS["spmm"]  # A (12 x 10, CSR) @ B (10 x 6)
    args = make()
    with pytest.raises(InfeasibleOrder):
        fuseflow.compile(Fn(fn), args, sparse=fmts, order=["kij"])
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, order=["kij"], layouts="auto")
    assert prog.relayouts == [Relayout("main_region0 arg0", 120, 1)]
    res = fuseflow.simulate(prog, args, check=True)
    # A read as CSC: each stored entry's value and row coordinate read and written, and the 13
    # positions of its outer level
    nnz = int((args[0].to_dense() != 0).sum())
    assert res.relayouts == {"main_region0 arg0": HardwareConfig().relayout_cycles(2 * nnz + 13)}
    assert res.cycles == res.region_cycles["main_region0"] + res.relayouts["main_region0 arg0"]


def test_a_pinned_sparse_format_in_another_level_order_is_relaid():
    fn, make, fmts = KERNELS["spmm"]
    args = make()
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, layouts={"arg0": "csc"})
    assert prog.regions[0].order.startswith("k")  # A's columns outermost
    assert [r.name for r in prog.relayouts] == ["main_region0 arg0"]
    fuseflow.simulate(prog, args, check=True)
    # the same level order with other kinds is a format conversion, not charged
    assert fuseflow.compile(Fn(fn), args, sparse=fmts, layouts={"arg0": "dcsr"}).relayouts == []


def test_read_formats_names_every_input_read_in_a_chosen_layout():
    from fuseflow import workloads

    w = workloads.sae()
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, layouts="auto", order=1)
    formats = prog.read_formats()
    # weights as CSC, intermediates written column-major read row-major ("dense") and back
    assert formats["main_region0 arg1"] == "csc" and formats["main_region3 arg0"] == "dense"
    assert formats["main_region1 arg0"] == "d1:dense,d0:dense"
    fuseflow.simulate(prog, w.args, check=True)
