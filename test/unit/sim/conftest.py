"""Helpers shared by the simulator tests: run one primitive (or a small graph) on hand-written
token vectors through either the functional model or the compiled engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuseflow.sim import functional
from fuseflow.sim.binding import bind_inputs
from fuseflow.sim.config import HardwareConfig
from fuseflow.sim.engine import run_region
from fuseflow.sim.graph import GraphBuilder, Stream, StreamKind
from fuseflow.sim.tokens import parse

MATRICES = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "matrices"

ENGINES = ["functional", "compiled"]


def run_graph_sinks(g, tensors, engine, hw=None):
    bound = bind_inputs(g, {t.name: t for t in tensors})
    if engine == "functional":
        return functional.run_graph(g, bound, [])
    return run_region(g, bound, hw or HardwareConfig(fifo_depth=2)).sinks


def run_prim(engine, build, streams, tensors=(), hw=None):
    """``streams``: list of (token text or list, StreamKind). ``build(b, sources, tensor_ids)``
    returns the primitive's output stream(s). Returns the output token lists."""
    b = GraphBuilder("prim")
    tids = [b.input(t.name, t.format, t.order, t.block) for t in tensors]
    srcs = []
    for toks, kind in streams:
        if isinstance(toks, str):
            toks = parse(toks, val=kind == StreamKind.VAL)
        srcs.append(b.source(toks, kind))
    outs = build(b, srcs, tids)
    flat = []
    for o in outs if isinstance(outs, (tuple, list)) else [outs]:
        flat.extend(o if isinstance(o, list) else [o])
    assert all(isinstance(s, Stream) for s in flat)
    for k, s in enumerate(flat):
        b.sink(s, f"o{k}")
    g = b.build()
    sinks = run_graph_sinks(g, tensors, engine, hw)
    return [sinks[f"o{k}"] for k in range(len(flat))]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture
def made_engines(monkeypatch) -> list:
    """The compiled engines the simulations of a test create, in order."""
    from fuseflow.sim import engine as sim_engine

    made = []

    class Recording(sim_engine._engine.Engine):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(sim_engine._engine, "Engine", Recording)
    return made


def load_matrix(name):
    import scipy.io
    import scipy.sparse as sp

    path = MATRICES / f"{name}.mtx"
    if not path.exists():
        pytest.skip(f"real matrix {path} not available (shared data folder absent)")
    return sp.csr_matrix(scipy.io.mmread(str(path)))
