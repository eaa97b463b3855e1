"""``simulate_graph()``: run SAM graphs on tensors and report outputs, cycles and statistics.

    >>> from fuseflow.sim import examples, simulate_graph
    >>> res = simulate_graph(examples.graph("spmv"), {"A": A_csr, "x": x}, check=True)
    >>> res.outputs["out"], res.cycles

``program`` is a ``Graph``, a ``GraphSequence`` (regions run in sequence; a region input named like an
earlier region's output receives it), a sam-dialect MLIR module, MLIR text, or a path to a
``.mlir`` file. ``check=True`` compares every output with ``expected`` (a mapping name -> value,
one value for a single output, or a callable taking the input mapping) or, without
``expected``, with the functional reference model; a mismatch raises ``SimulationMismatch``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from fuseflow.errors import FuseflowError
from fuseflow.sim import functional
from fuseflow.sim.binding import bind_inputs, make_output_builders
from fuseflow.sim.config import HardwareConfig
from fuseflow.sim.engine import NodeStats, run_region
from fuseflow.sim.graph import Graph, GraphSequence
from fuseflow.sim.resources import lane_busy
from fuseflow.sim.tensors import TensorData, to_python_value
from fuseflow.sim.trace import TraceOptions, TraceWriter


class SimulationMismatch(FuseflowError):
    """Simulated outputs differ from the expected values."""


@dataclass
class SimResult:
    outputs: dict  # name -> numpy array (all-dense formats) or scipy CSR matrix
    tensors: dict[str, TensorData]
    cycles: int  # sum over regions (FuseFlow's convention)
    region_cycles: list[int]
    stats: list[list[NodeStats]]  # per region, per node
    hw: HardwareConfig
    trace_events: list[dict] = field(default_factory=list)
    # per region: (words of the compiler-sized fan-out buffers, the most they held at once)
    region_buffers: list[tuple[int, int]] = field(default_factory=list)
    # per region: the most bytes the engine's growing structures held at once
    region_memory: list[int] = field(default_factory=list)

    @property
    def overlapped_cycles(self) -> int:
        """Estimate if consecutive regions overlapped perfectly (the slowest region)."""
        return max(self.region_cycles, default=0)

    def node_stats(self) -> list[NodeStats]:
        return [s for region in self.stats for s in region]

    def totals(self) -> dict[str, int]:
        ss = self.node_stats()
        return {
            "tokens": sum(s.tokens_out for s in ss),
            "ops": sum(s.ops for s in ss),
            "bytes_read": sum(s.bytes_read for s in ss),
            "bytes_written": sum(s.bytes_written for s in ss),
        }

    def to_json(self) -> dict:
        return {
            "cycles": self.cycles,
            "region_cycles": self.region_cycles,
            "overlapped_cycles": self.overlapped_cycles,
            "totals": self.totals(),
            "region_buffers": [{"words": w, "peak": p} for w, p in self.region_buffers],
            "region_memory_peak_bytes": self.region_memory,
            "lane_busy": [lane_busy(region) for region in self.stats],
            "hw": {"key": self.hw.key(), **asdict(self.hw)},
            "regions": [[asdict(s) for s in region] for region in self.stats],
        }

    def write_trace(self, path) -> None:
        """Write the trace events held (``trace=True``) as a Chrome/Perfetto trace
        (``chrome://tracing``, ui.perfetto.dev; gzip for a ``.gz`` path)."""
        with TraceWriter(path) as w:
            w.add(self.trace_events)


def _load_program(program) -> GraphSequence:
    if isinstance(program, GraphSequence):
        return program
    if isinstance(program, Graph):
        return GraphSequence([program])
    from fuseflow.sim import from_mlir

    return from_mlir.load_program(program)


def simulate_graph(program, inputs, hw: HardwareConfig | None = None, *, check: bool = False, expected=None,
             trace: bool | str | Path | TraceOptions = False, rtol: float = 1e-5, atol: float = 1e-8,
             engine: str = "compiled", progress=None, trace_offset: int = 0) -> SimResult:
    """Simulate ``program`` on ``inputs`` (mapping name -> tensor, or a sequence in argument
    order). ``engine="functional"`` runs the functional model (no timing: cycles are 0).
    ``trace``: True (events in the result), a path (``.json``/``.json.gz``, written region by
    region) or ``TraceOptions`` (filters, window, counters; see ``fuseflow.sim.trace``), placed
    at ``trace_offset`` cycles. ``progress(region, cycles, tokens, fraction)``: see
    ``run_region``."""
    hw = hw or HardwareConfig()
    options = TraceOptions.of(trace)
    writer = TraceWriter(options.path) if options is not None and options.path is not None else None
    try:
        return _simulate(program, inputs, hw, check, expected, options, writer, rtol, atol, engine, progress,
                         trace_offset)
    finally:
        if writer is not None:
            writer.close()


def _simulate(program, inputs, hw, check, expected, options, writer, rtol, atol, engine, progress,
              trace_offset) -> SimResult:
    prog = _load_program(program)
    if engine not in ("compiled", "functional"):
        raise FuseflowError(f"unknown engine {engine!r} (compiled or functional)")
    env: dict = {}
    positional = None
    if isinstance(inputs, Mapping):
        env.update(inputs)
    else:
        positional = list(inputs)
    tensors: dict[str, TensorData] = {}
    region_cycles, stats, events, buffers, memory = [], [], [], [], []
    for r, g in enumerate(prog.regions):
        if positional is not None and r == 0:
            bound = bind_inputs(g, positional)
        else:
            bound = bind_inputs(g, {**env, **{k: v for k, v in tensors.items()}})
        if engine == "compiled":
            traced = options is not None and options.wants_region(g.name)
            res = run_region(g, bound, hw, trace=options if traced else None, offset=trace_offset + sum(region_cycles),
                             pid=r, progress=progress)
            outs = res.outputs
            region_cycles.append(res.cycles)
            stats.append(res.stats)
            buffers.append((res.buffer_words, res.buffer_peak))
            memory.append(res.memory_peak)
            if writer is not None:
                writer.add(res.trace)
            else:
                events += res.trace
        else:
            builders = make_output_builders(g, bound)
            functional.run_graph(g, bound, builders)
            outs = {b.spec.name: b.finish() for b in builders}
            region_cycles.append(0)
            stats.append([])
            buffers.append((sum(g.buffers.values()), 0))
            memory.append(0)
        for name, td in outs.items():
            tensors[name] = td
        if positional is not None and r == 0:
            env.update({t.name: t for t in bound})
    final_names = [s.name for s in prog.regions[-1].outputs]
    result = SimResult(
        outputs={n: to_python_value(tensors[n]) for n in final_names},
        tensors={n: tensors[n] for n in final_names},
        cycles=sum(region_cycles),
        region_cycles=region_cycles,
        stats=stats,
        hw=hw,
        trace_events=events,
        region_buffers=buffers,
        region_memory=memory,
    )
    if check:
        want = _expected_values(prog, inputs, expected, engine)
        compare_outputs(result.tensors, want, rtol=rtol, atol=atol)
    return result


def _expected_values(prog, inputs, expected, engine) -> dict:
    names = [s.name for s in prog.regions[-1].outputs]
    if expected is None:
        if engine == "functional":
            raise FuseflowError("check=True with the functional engine needs an expected value")
        ref = simulate_graph(prog, inputs, engine="functional")
        return {n: _sparse_or_dense(ref.outputs[n]) for n in names}
    if isinstance(expected, Callable) and not isinstance(expected, Mapping):
        expected = expected(inputs)
    if not isinstance(expected, Mapping):
        if len(names) != 1:
            raise FuseflowError(f"program has outputs {names}: pass expected as a mapping")
        expected = {names[0]: expected}
    return {n: _sparse_or_dense(v) for n, v in expected.items()}


def _sparse_or_dense(v):
    if sp.issparse(v):
        return sp.csr_matrix(v, dtype=np.float64)
    if type(v).__module__.startswith("torch"):
        import torch

        if isinstance(v, torch.Tensor) and v.layout != torch.strided and v.dim() == 2:
            from fuseflow.sim.tensors import from_value

            return sp.csr_matrix(to_python_value(from_value("expected", v, "dc")), dtype=np.float64)
    return _dense(v)


def _dense(v) -> np.ndarray:
    if type(v).__module__.startswith("torch"):
        import torch

        if isinstance(v, torch.Tensor):
            v = v.detach()
            return (v.to_dense() if v.layout != torch.strided else v).cpu().numpy().astype(np.float64)
    if sp.issparse(v):
        return v.toarray().astype(np.float64)
    if isinstance(v, TensorData):
        return v.to_dense()
    return np.asarray(v, np.float64)


def compare_outputs(got: Mapping, expected: Mapping, *, rtol: float, atol: float) -> None:
    """Raise ``SimulationMismatch`` naming the first output (and element) of ``got`` that is not
    close to ``expected``; both map output names to values (``got``: ``TensorData`` as written,
    or dense arrays; ``expected``: dense arrays, or scipy matrices compared on their stored
    entries without densifying). Outputs of ``got`` that ``expected`` does not name are not
    checked."""
    for name, want in expected.items():
        if name not in got:
            raise SimulationMismatch(f"expected an output named {name!r}; the program produces {sorted(got)}")
        value = got[name]
        if tuple(value.shape) != tuple(want.shape):
            raise SimulationMismatch(f"output {name!r}: shape {tuple(value.shape)}, expected {tuple(want.shape)}")
        written = isinstance(value, TensorData)
        if sp.issparse(want) and not (written and value.block):
            _compare_sparse(name, sp.csr_matrix(to_python_value(value) if written else value), want, rtol, atol)
            continue
        got_dense = value.to_dense() if written else np.asarray(value)
        if sp.issparse(want):  # a blocked output: its stored tiles hold zeros the matrix does not
            want = want.toarray()
        ok = np.isclose(got_dense, want, rtol=rtol, atol=atol, equal_nan=True)
        if not ok.all():
            bad = np.argwhere(~ok)
            first = tuple(int(x) for x in bad[0])
            err = np.nanmax(np.abs(got_dense - want)[~ok])
            raise SimulationMismatch(
                f"output {name!r} MISMATCH: {len(bad)} of {ok.size} elements differ (max abs error {err:.3g}); "
                f"first at {first}: got {got_dense[first]!r}, expected {want[first]!r}"
            )


@dataclass
class FunctionResult:
    """Result of ``run_function``: dense outputs in result order, cycles, per-node stats."""

    outputs: list[np.ndarray]
    cycles: int
    stats: list[NodeStats]
    result: SimResult
    tensors: list[TensorData] = field(default_factory=list)  # the outputs as written (stored entries)


def run_function(func_op, args, hw: HardwareConfig | None = None, *, engine: str = "cycle", trace=None,
                 check: bool = False, progress=None, trace_offset: int = 0) -> FunctionResult:
    """Simulate one sam-dialect ``func.func`` on positional tensors (numpy, scipy, torch).

    This is the per-region entry point of program runners: ``engine`` is ``"cycle"`` (the
    compiled engine) or ``"functional"`` (the functional model); ``trace``, ``trace_offset`` and
    ``progress`` as for ``simulate_graph``.
    """
    from fuseflow.dialects.sam_graph import SamGraph
    from fuseflow.sim.from_mlir import graph_from_func

    engines = {"cycle": "compiled", "compiled": "compiled", "functional": "functional"}
    if engine not in engines:
        raise FuseflowError(f"unknown engine {engine!r} (cycle or functional)")
    g = graph_from_func(SamGraph(func_op))
    res = simulate_graph(g, list(args), hw=hw, engine=engines[engine], trace=trace or False, check=check, progress=progress,
                   trace_offset=trace_offset)
    written = [res.tensors[s.name] for s in g.outputs]
    return FunctionResult([t.to_dense() for t in written], res.cycles, res.stats[0], res, written)


def _compare_sparse(name, got, want, rtol, atol) -> None:
    """Elementwise closeness over the union of both patterns, without densifying."""
    got, want = sp.csr_matrix(got), sp.csr_matrix(want)
    pattern = (abs(got) + abs(want)).tocoo()
    rows, cols = pattern.row, pattern.col
    g, w = _gather(got, rows, cols), _gather(want, rows, cols)
    ok = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        k = int(np.argmin(ok))
        err = float(np.nanmax(np.abs(g - w)[~ok]))
        raise SimulationMismatch(
            f"output {name!r} MISMATCH: {int((~ok).sum())} of {ok.size} stored elements differ (max abs error {err:.3g}); "
            f"first at {(int(rows[k]), int(cols[k]))}: got {g[k]!r}, expected {w[k]!r}"
        )


def _gather(m, rows, cols) -> np.ndarray:
    if not len(rows):
        return np.zeros(0)
    v = m[rows, cols]
    return np.asarray(v.toarray() if sp.issparse(v) else v, np.float64).ravel()
