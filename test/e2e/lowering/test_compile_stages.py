"""fuseflow.compile runs the passes CompileOptions builds (no pipeline text on the way), reads
each region once, and a failing stage still prints a fuseflow-opt command that reproduces it."""

from __future__ import annotations

import shlex
import warnings

import pytest

import fuseflow
from fuseflow import workloads
from fuseflow.compiler import CompileOptions
from fuseflow.errors import PipelineError
from fuseflow.passes import convert_linalg_to_sam
from fuseflow.passes.fusion_modes import FUSION_MODES
from fuseflow.passes.pipeline import Pipeline

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


@pytest.fixture(scope="module")
def gcn():
    return workloads.gcn(nodes=24, features=8, hidden=8, classes=4)


@pytest.fixture
def region_reads(monkeypatch):
    """Every reading of a region (``build_region``), by the region's number (its name is
    ``region<r>`` or ``<function>_region<r>``)."""
    reads = []
    build = convert_linalg_to_sam.build_region

    def counted(name, ops, layouts="declared"):
        reads.append(int(name.rsplit("region", 1)[1]))
        return build(name, ops, layouts)

    monkeypatch.setattr(convert_linalg_to_sam, "build_region", counted)
    return reads


@pytest.mark.parametrize("fusion", list(FUSION_MODES))
@pytest.mark.parametrize("order", [None, 0])
def test_a_compile_reads_each_region_once(gcn, region_reads, fusion, order):
    prog = fuseflow.compile(gcn.model, gcn.args, sparse=gcn.sparse, fusion=fusion, order=order)
    assert sorted(region_reads) == list(range(len(prog.regions)))
    assert fuseflow.simulate(prog, gcn.args, check=True).cycles > 0


def test_compile_writes_and_parses_no_pipeline_text_for_its_passes(gcn, monkeypatch):
    options = CompileOptions.make([[0, 1], [2, 3, 4, 5, 6]], associate="left", par=2,
                                  intermediates="d1:dense,d0:dense")
    mine = {p.name for p in [options.normalize_pass(), options.partition_pass(), options.lowering_pass([]),
                             *options.graph_passes()]}
    parsed = []
    parse = Pipeline.parse.__func__

    def recorded(cls, text):
        parsed.append(text)
        return parse(cls, text)

    monkeypatch.setattr(Pipeline, "parse", classmethod(recorded))
    prog = fuseflow.compile(gcn.model, gcn.args, sparse=gcn.sparse, fusion=options.fusion, associate="left",
                            par=2, intermediates="d1:dense,d0:dense")
    assert len(prog.regions) >= 2 and len(mine) == 7
    # the importer and fuseflow-normalize run upstream passes, which only text names
    assert parsed and not [t for t in parsed if any(name in t for name in mine)]


@pytest.mark.parametrize("options", [
    CompileOptions.make("layers", associate="left"),
    CompileOptions.make([[0, 1], [2]], order=["ikj", 1], intermediates="csr", layouts="auto", par={"region0": "i:4"}),
    CompileOptions.make("full", optimize=False, order=2),
])
def test_the_passes_print_as_text_fuseflow_opt_reads_back(options):
    passes = [options.normalize_pass(), options.partition_pass(), options.lowering_pass(options.orders_for(2)),
              *options.graph_passes()]
    text = str(Pipeline(passes))
    again = Pipeline.parse(text).elements
    assert [p.pipeline_text() for p in again] == [p.pipeline_text() for p in passes]
    assert [type(p) for p in again] == [type(p) for p in passes]


def test_a_failing_stage_prints_a_command_that_reproduces_it(gcn, monkeypatch, tmp_path):
    from fuseflow.cli import main
    from fuseflow.passes.sam_size_buffers import SamSizeBuffersPass

    monkeypatch.setenv("FUSEFLOW_REPRO_DIR", str(tmp_path))
    monkeypatch.setattr(SamSizeBuffersPass, "run", lambda self, module: 1 / 0)
    with pytest.raises(PipelineError) as e:
        fuseflow.compile(gcn.model, gcn.args, sparse=gcn.sparse, fusion="layers", par=2)
    words = shlex.split(e.value.repro)
    assert words[0] == "fuseflow-opt" and words[2] == "-p"
    assert words[3] == "builtin.module(sam-iterate-locate,sam-dedup-streams{cse=true},sam-parallelize{par=2}," \
                       "sam-size-buffers)"
    # the command fails the same way on the dumped input
    assert main(["opt", words[1], "-p", words[3]]) == 1
