"""The one way a program's regions run: in order, or their cycle simulations side by side.

A program is walked by its owner (``fuseflow.program.Program`` over its program function,
``simulate_graph`` over a ``GraphSequence``): the walk calls ``region(name, graph, args)`` for
every region in program order and gets the region's output tensors back. ``Runner.run(walk)``
decides how each region runs and collects one ``RegionRun`` per region:

- in order (``workers=1``, the default): each region is simulated when the walk reaches it;
- ``workers=N`` (the cycle engine, N > 1): a region's cycles depend only on its own inputs, but
  its inputs are earlier regions' values. The walk runs first on the functional model (no
  timing, much faster), which gives every region its inputs; the cycle simulations then run in
  a pool of N processes; a second walk hands each region its simulated outputs. The functional
  model matches the engine value for value, so every region ran on the inputs the in-order run
  gives it, and outputs, cycles and every counter are those of the in-order run (a region whose
  inputs came out otherwise is simulated again on the right ones; pinned by
  ``test/e2e/test_parallel_regions.py``).

Between regions a value travels as the region wrote it (``TensorData``): a reader that stores
it in the same format, level order and block takes it as is, any other reader re-packs its
stored entries (``tensors.stored_value``: a sparse value keeps its explicit zeros).

Ctrl-C raises ``SimulationInterrupted``: in order, with the running region's statistics so far;
with workers, with the statistics of the regions done (the workers ignore Ctrl-C and are stopped).
An error in a worker reaches the caller as the same ``FuseflowError`` with the same message.
A trace follows the regions in program order, so tracing runs them in order.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.sim import functional
from fuseflow.sim.binding import bind_inputs, make_output_builders
from fuseflow.sim.config import HardwareConfig
from fuseflow.sim.engine import NodeStats, run_region
from fuseflow.sim.errors import SimulationInterrupted
from fuseflow.sim.graph import Graph, GraphTensor
from fuseflow.sim.tensors import TensorData, stored_value
from fuseflow.sim.trace import TraceOptions, TraceWriter

ENGINES = {"cycle": "cycle", "compiled": "cycle", "functional": "functional"}


@dataclass
class RegionRun:
    """One region simulated: its outputs as written (graph output order), cycles (0 on the
    functional model), per-node statistics, (buffer words, the most they held), the engine's
    memory peak in bytes and the trace events recorded."""

    name: str
    tensors: list[TensorData]
    cycles: int
    stats: list[NodeStats]
    buffers: tuple[int, int]
    memory: int
    trace: list[dict] = field(default_factory=list)


#: ``region(name, graph, args, cycles_before=0) -> outputs``: what a walk calls per region;
#: ``cycles_before`` counts what the program spent outside its regions so far (relayouts)
Region = Callable[..., list[TensorData]]


class Runner:
    """Runs the regions of one walk on ``hw`` (default ``HardwareConfig()``). ``engine``:
    "cycle" (alias "compiled") or "functional"; ``trace``: as ``TraceOptions.of`` takes it;
    ``progress(region, cycles, tokens, fraction)``; ``workers``: processes for the cycle
    simulations (1: in order, in this process)."""

    def __init__(self, hw: HardwareConfig | None = None, *, engine: str = "cycle", trace=None,
                 progress: Callable | None = None, workers: int = 1):
        if engine not in ENGINES:
            raise FuseflowError(f"unknown engine {engine!r} (cycle or functional)")
        if int(workers) < 1:
            raise FuseflowError(f"workers must be at least 1, got {workers}")
        self.hw = hw or HardwareConfig()
        self.engine = ENGINES[engine]
        self.trace = TraceOptions.of(trace)
        self.progress = progress
        self.workers = int(workers) if self.engine == "cycle" else 1
        if self.workers > 1 and self.trace is not None:
            raise FuseflowError("a trace follows the regions in program order: simulate with workers=1 to trace")

    def run(self, walk: Callable[[Region], Any]) -> tuple[Any, list[RegionRun]]:
        """``walk(region)``'s result and the regions it ran, in program order."""
        if self.workers > 1:
            return self._run_pooled(walk)
        writer = TraceWriter(self.trace.path) if self.trace is not None and self.trace.path is not None else None
        try:
            return self._run_in_order(walk, writer)
        finally:
            if writer is not None:
                writer.close()

    def _run_in_order(self, walk, writer) -> tuple[Any, list[RegionRun]]:
        runs: list[RegionRun] = []

        def region(name: str, graph: Graph, args, cycles_before: int = 0) -> list[TensorData]:
            traced = self.trace if self.trace is not None and self.trace.wants_region(name) else None
            run = simulate_region(graph, args, self.hw, self.engine, trace=traced, pid=len(runs),
                                  offset=sum(r.cycles for r in runs) + cycles_before, progress=self.progress)
            if writer is not None:
                writer.add(run.trace)
                run.trace = []
            runs.append(run)
            return run.tensors

        return walk(region), runs

    def _run_pooled(self, walk) -> tuple[Any, list[RegionRun]]:
        jobs: list[tuple[Graph, list]] = []

        def functional_region(name: str, graph: Graph, args, cycles_before: int = 0) -> list[TensorData]:
            bound = _bind(graph, args)
            jobs.append((graph, bound))
            return simulate_region(graph, bound, self.hw, "functional").tensors

        walk(functional_region)
        pooled = iter(self._simulate_pooled(jobs))
        runs: list[RegionRun] = []

        def simulated_region(name: str, graph: Graph, args, cycles_before: int = 0) -> list[TensorData]:
            run = next(pooled)
            bound = _bind(graph, args)
            if not all(map(_same_tensor, bound, jobs[len(runs)][1])):
                # the functional model gave this region other inputs than the engine's outputs
                # (it must not; this keeps the results those of the run in order if it does)
                run = simulate_region(graph, bound, self.hw, "cycle", pid=len(runs))
            runs.append(run)
            return run.tensors

        return walk(simulated_region), runs

    def _simulate_pooled(self, jobs: list[tuple[Graph, list]]) -> list[RegionRun]:
        ctx = multiprocessing.get_context("spawn")  # safe next to torch's and MLIR's threads
        runs: list[RegionRun] = []
        pool = ctx.Pool(min(self.workers, len(jobs)) or 1, initializer=_ignore_ctrl_c)
        try:
            pending = [pool.apply_async(_simulate_job, (graph, bound, self.hw, pid)) for pid, (graph, bound) in enumerate(jobs)]
            for (graph, _), job in zip(jobs, pending, strict=True):
                runs.append(job.get())
                if self.progress is not None:
                    last = runs[-1]
                    self.progress(graph.name, last.cycles, sum(s.tokens_out for s in last.stats), 1.0)
        except KeyboardInterrupt:
            left = [graph.name for graph, _ in jobs[len(runs):]]
            raise SimulationInterrupted(", ".join(left), sum(r.cycles for r in runs),
                                        sum(s.tokens_out for r in runs for s in r.stats),
                                        [s for r in runs for s in r.stats]) from None
        finally:
            pool.terminate()
            pool.join()
        return runs


def _ignore_ctrl_c() -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent alone answers it (stops
    # the pool, reports the regions done), so that a worker never dies half-way through a reply
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _simulate_job(graph: Graph, bound: list[TensorData], hw: HardwareConfig, pid: int) -> RegionRun:
    return simulate_region(graph, bound, hw, "cycle", pid=pid)


def _bind(graph: Graph, args) -> list[TensorData]:
    """``args`` (a mapping by input name or a sequence in argument order) bound to ``graph``'s
    inputs: a region's output in the reader's own format as is, any other through its stored
    entries (``stored_value``)."""
    if isinstance(args, Mapping):
        readable = {**args, **{s.name: _readable(s, args[s.name]) for s in graph.inputs if s.name in args}}
    else:
        readable = [_readable(s, v) for s, v in zip(graph.inputs, args, strict=False)] + list(args)[len(graph.inputs):]
    return bind_inputs(graph, readable)


def _same_tensor(a: TensorData, b: TensorData) -> bool:
    """Whether ``a`` and ``b`` hold the same levels and values, bit for bit."""
    def arrays(t: TensorData) -> list:
        return [t.vals] + [x for lv in t.levels for x in (lv.seg, lv.crd, lv.run_end, lv.span_end)]

    return (a.shape == b.shape and a.format == b.format and tuple(a.order) == tuple(b.order) and a.block == b.block
            and all((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
                    for x, y in zip(arrays(a), arrays(b), strict=True)))


def _readable(spec: GraphTensor, value):
    if not isinstance(value, TensorData):
        return value
    same = value.format == spec.format and tuple(value.order) == tuple(spec.order) and value.block == spec.block
    return value if same else stored_value(value)


def simulate_region(graph: Graph, args, hw: HardwareConfig, engine: str, *, trace: TraceOptions | None = None,
                    offset: int = 0, pid: int = 0, progress: Callable | None = None) -> RegionRun:
    """One region on ``args`` (see ``_bind``) with the cycle engine or the functional model."""
    bound = _bind(graph, args)
    if engine == "functional":
        builders = make_output_builders(graph, bound)
        functional.run_graph(graph, bound, builders)
        return RegionRun(graph.name, [b.finish() for b in builders], 0, [], (sum(graph.buffers.values()), 0), 0)
    res = run_region(graph, bound, hw, trace=trace, offset=offset, pid=pid, progress=progress)
    return RegionRun(graph.name, [res.outputs[s.name] for s in graph.outputs], res.cycles, res.stats,
                     (res.buffer_words, res.buffer_peak), res.memory_peak, res.trace)
