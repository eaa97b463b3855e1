"""``simulate_graph()``: run SAM graphs on tensors and report outputs, cycles and statistics.

    >>> from fuseflow.sim import examples, simulate_graph
    >>> res = simulate_graph(examples.graph("spmv"), {"A": A_csr, "x": x}, check=True)
    >>> res.outputs["out"], res.cycles

``program`` is a ``Graph``, a ``GraphSequence`` (regions run by ``fuseflow.sim.runner``, as a
compiled program's do; a region input named like an earlier region's output receives it), a
sam-dialect MLIR module, MLIR text, or a path to a ``.mlir`` file. ``check=True`` compares every
output with ``expected`` (a mapping name -> value, one value for a single output, or a callable
taking the input mapping) or, without ``expected``, with the functional model; a mismatch raises
``SimulationMismatch``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from fuseflow.errors import FuseflowError
from fuseflow.sim.config import HardwareConfig
from fuseflow.sim.engine import NodeStats
from fuseflow.sim.graph import Graph, GraphSequence
from fuseflow.sim.resources import lane_busy
from fuseflow.sim.runner import Runner
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
                   engine: str = "compiled", progress=None, workers: int = 1) -> SimResult:
    """Simulate ``program`` on ``inputs`` (mapping name -> tensor, or a sequence in argument
    order). ``engine="functional"`` runs the functional model (no timing: cycles are 0).
    ``trace``: True (events in the result), a path (``.json``/``.json.gz``, written region by
    region) or ``TraceOptions`` (filters, window, counters; see ``fuseflow.sim.trace``).
    ``progress(region, cycles, tokens, fraction)``: see ``run_region``. ``workers``: processes
    for the regions' cycle simulations (``fuseflow.sim.runner``)."""
    hw = hw or HardwareConfig()
    prog = _load_program(program)
    runner = Runner(hw, engine=engine, trace=trace, progress=progress, workers=workers)
    tensors, runs = runner.run(lambda region: _walk(prog, inputs, region))
    final_names = [s.name for s in prog.regions[-1].outputs]
    result = SimResult(
        outputs={n: to_python_value(tensors[n]) for n in final_names},
        tensors={n: tensors[n] for n in final_names},
        cycles=sum(r.cycles for r in runs),
        region_cycles=[r.cycles for r in runs],
        stats=[r.stats for r in runs],
        hw=hw,
        trace_events=[ev for r in runs for ev in r.trace],
        region_buffers=[r.buffers for r in runs],
        region_memory=[r.memory for r in runs],
    )
    if check:
        want = _expected_values(prog, inputs, expected, runner.engine)
        compare_outputs(result.tensors, want, rtol=rtol, atol=atol)
    return result


def _walk(prog: GraphSequence, inputs, region) -> dict[str, TensorData]:
    """The regions in sequence: the first takes ``inputs`` as given, a later one its inputs by
    name among the given ones and the earlier regions' outputs. Returns every output by name."""
    env: dict = dict(inputs) if isinstance(inputs, Mapping) else {}
    tensors: dict[str, TensorData] = {}
    for r, g in enumerate(prog.regions):
        if r == 0 and not isinstance(inputs, Mapping):
            args = list(inputs)
            env.update({spec.name: v for spec, v in zip(g.inputs, args, strict=False)})
        else:
            args = {**env, **tensors}
        tensors.update({spec.name: t for spec, t in zip(g.outputs, region(g.name, g, args), strict=True)})
    return tensors


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
