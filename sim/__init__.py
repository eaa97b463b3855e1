"""The SAM cycle simulator.

``simulate_graph(graph, inputs, hw=HardwareConfig(...), check=True)`` runs SAM graphs (a ``Graph``,
a ``GraphSequence``, or a sam-dialect MLIR module) with the compiled local-clock engine
(``_engine.pyx``) and returns outputs by name, cycles and per-node statistics (``SimResult``); a
compiled model runs with ``fuseflow.simulate``. ``functional`` is the functional model the
engine is tested against; ``primitives`` holds one record per primitive (how each is built, read,
run and evaluated); ``graph.GraphBuilder`` builds graphs by hand; ``examples`` reads the classic
kernels from their sam-dialect definitions (``fuseflow.dialects.sam_examples``).
"""

from fuseflow.sim._tokens import DATA, DONE, EMPTY, KIND_NAMES, STOP, Fifo
from fuseflow.sim.api import SimResult, SimulationMismatch, simulate_graph
from fuseflow.sim.config import COMAL, HardwareConfig
from fuseflow.sim.errors import (
    DeadlockError,
    GuardError,
    MemoryBudgetError,
    SimulationInterrupted,
    SpaccOverflowError,
    StreamError,
)
from fuseflow.sim.graph import (
    AluCode,
    Graph,
    GraphBuilder,
    GraphSequence,
    Kind,
    ReduceCode,
    StreamKind,
)
from fuseflow.sim.trace import TraceOptions

__all__ = [
    "COMAL", "DATA", "DONE", "EMPTY", "KIND_NAMES", "STOP", "AluCode", "DeadlockError", "Fifo",
    "Graph", "GraphBuilder", "GuardError", "HardwareConfig", "Kind", "MemoryBudgetError", "GraphSequence", "ReduceCode",
    "SimResult", "SimulationInterrupted", "SimulationMismatch", "SpaccOverflowError",
    "StreamError", "StreamKind", "TraceOptions", "simulate_graph",
]
