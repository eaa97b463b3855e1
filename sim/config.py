"""``HardwareConfig``: every constant of the timing model in one frozen dataclass.

Defaults follow Comal (SAM_SEMANTICS.md section 3) except where noted: FIFOs are bounded (with
backpressure) and a sparse-accumulator flush costs a cycle per entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from fuseflow.errors import FuseflowError


@dataclass(frozen=True)
class HardwareConfig:
    #: output latency of every primitive, in cycles
    latency: int = 1
    #: initiation interval of every primitive (cycles between steps)
    ii: int = 1
    #: FIFO depth in tokens; 0 = unbounded (Comal-like)
    fifo_depth: int = 32
    #: cycles per sparse-accumulator entry flushed (0 = Comal's free flush)
    spacc_flush_ii: int = 1
    #: sparse-accumulator capacity in entries (0 = unlimited); exceeding it is a reported failure
    spacc_capacity: int = 1 << 16
    #: on-chip words a region may spend on the buffers the compiler sizes for fan-out edges
    #: (``sam-size-buffers``); 0 = unlimited. A region over it is infeasible (``BufferBudgetError``)
    buffer_budget: int = 0
    #: primitives (PEs: every sam op but ``sam.output``) a region may use; 0 = unlimited. A
    #: region over it is infeasible (``PeBudgetError``)
    pe_budget: int = 0
    #: off-chip memory model on/off (scanners, array loads and writers)
    memory: bool = True
    mem_channels: int = 8
    mem_latency: int = 2
    mem_issue_interval: int = 2
    mem_startup: int = 14
    #: elements per memory request
    mem_batch: int = 8
    word_bytes: int = 4
    #: blocked (tile) streams use Comal's "true block" costs (tile matmul latency 2B-1, II B;
    #: elementwise tile ops latency B*B; scalar-with-tile latency B; reduce, spacc and array +B*B)
    tile_costs: bool = True
    #: guards: simulated-cycle and wall-clock limits
    max_cycles: int = 10**12
    max_wall_seconds: float = 600.0
    #: guard: MiB the simulator's growing structures (unbounded FIFOs, sparse accumulators,
    #: outputs, tiles) may hold for one region; past it the region stops with a
    #: ``MemoryBudgetError`` naming the node and the FIFO or buffer (0 = no limit)
    max_memory_mb: int = 4096

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or f.name == "max_wall_seconds":
                continue
            if not isinstance(v, int) or v < 0:
                raise FuseflowError(f"HardwareConfig.{f.name} must be a non-negative int, got {v!r}")
        for name in ("ii", "mem_channels", "mem_issue_interval", "mem_batch"):
            if getattr(self, name) < 1:
                raise FuseflowError(f"HardwareConfig.{name} must be >= 1")

    def key(self) -> str:
        """A stable short hash of every field (cache key for simulation results)."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def with_overrides(self, overrides: dict[str, str]) -> HardwareConfig:
        """Apply ``key=value`` strings (CLI ``--hw``); ``fifo_depth=unbounded`` means 0."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        kw = {}
        for k, v in overrides.items():
            if k not in fields:
                raise FuseflowError(f"unknown hardware field {k!r}; known: {', '.join(sorted(fields))}")
            cur = getattr(self, k)
            if isinstance(cur, bool):
                if v.lower() not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
                    raise FuseflowError(f"--hw {k}: expected a boolean, got {v!r}")
                kw[k] = v.lower() in ("1", "true", "on", "yes")
            elif isinstance(cur, float):
                kw[k] = float(v)
            else:
                if k == "fifo_depth" and v == "unbounded":
                    kw[k] = 0
                    continue
                try:
                    kw[k] = int(v)
                except ValueError:
                    raise FuseflowError(f"--hw {k}: expected an integer, got {v!r}") from None
        return dataclasses.replace(self, **kw)

    def relayout_cycles(self, elements: int) -> int:
        """Cycles to relay a dense tensor of ``elements`` out in another level order, through
        the memory model at its bandwidth: the tensor is read and written in requests of
        ``mem_batch`` elements (a ``mem_batch`` x ``mem_batch`` tile is transposed on chip
        between them), spread over ``mem_channels`` channels that take one request per
        ``mem_issue_interval``; plus the start-up, the latency of the first read and of the last
        write, and one primitive latency. Memory off: one batch per ``ii``."""
        if elements <= 0:
            return 0
        batches = -(-elements // self.mem_batch)
        if not self.memory:
            return batches * self.ii + self.latency
        requests = 2 * batches
        issue = -(-requests * self.mem_issue_interval // self.mem_channels)
        return issue + self.latency + self.mem_startup + 2 * self.mem_latency

    def memory_params(self) -> dict | None:
        if not self.memory:
            return None
        return {
            "channels": self.mem_channels,
            "latency": self.mem_latency,
            "issue_interval": self.mem_issue_interval,
            "startup": self.mem_startup,
            "batch": self.mem_batch,
            "word_bytes": self.word_bytes,
        }


COMAL = HardwareConfig(fifo_depth=0, spacc_flush_ii=0, spacc_capacity=0)
