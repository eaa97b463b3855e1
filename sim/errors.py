"""Simulator error types (all ``FuseflowError``s, so the CLIs print them without a traceback)."""

from __future__ import annotations

from fuseflow.errors import FuseflowError


class StreamError(FuseflowError):
    """A malformed token stream reached a primitive (the message names the node)."""


class DeadlockError(FuseflowError):
    """No node can make progress: the message lists the blocked nodes and FIFOs; ``blocked``
    holds ``(node name, fifo id, "empty" | "full" | "lookahead")`` triples."""

    def __init__(self, message, blocked=()):
        super().__init__(message)
        self.blocked = list(blocked)

    def __reduce__(self):
        return (type(self), (str(self), self.blocked))


class GuardError(FuseflowError):
    """The simulation exceeded its cycle or wall-time budget."""


class MemoryBudgetError(GuardError):
    """The simulation's growing structures (unbounded FIFOs, sparse accumulators, outputs,
    traces) passed ``HardwareConfig.max_memory_mb``, or the machine refused an allocation; the
    message names the region, the node and the FIFO or buffer that grew (``node``, ``fifo``:
    its FIFO id, -1 for another structure). The engine's memory is freed before it is raised."""

    def __init__(self, message, node: str = "", fifo: int = -1):
        super().__init__(message)
        self.node = node
        self.fifo = fifo

    def __reduce__(self):
        return (type(self), (str(self), self.node, self.fifo))


class BufferBudgetError(FuseflowError):
    """A region's compiler-sized buffers exceed ``HardwareConfig.buffer_budget`` (an unknown
    constraint: the configuration is infeasible); the message names the largest edge."""


class PeBudgetError(FuseflowError):
    """A region's primitives exceed ``HardwareConfig.pe_budget`` (an unknown constraint: the
    configuration is infeasible); the message names the most numerous kinds."""


class SpaccOverflowError(FuseflowError):
    """A sparse accumulator exceeded its configured capacity (an unknown constraint)."""


class SimulationInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a simulation: ``region`` (graph name), ``cycles`` (the latest local clock
    reached), ``tokens`` (moved so far) and ``stats`` (per-node statistics so far, as
    ``NodeStats``). A ``KeyboardInterrupt``, so that code stopping on Ctrl-C still does."""

    def __init__(self, region: str, cycles: int, tokens: int, stats=()):
        super().__init__(f"simulation of {region!r} stopped at cycle {cycles:,} after {tokens:,} tokens")
        self.region = region
        self.cycles = cycles
        self.tokens = tokens
        self.stats = list(stats)

    def __reduce__(self):
        return (type(self), (self.region, self.cycles, self.tokens, self.stats))
