"""A memory cap for long runs: ``fuseflow explore`` and ``fuseflow tune`` evaluate many
configurations, and one of them must never take the whole machine.

The simulator bounds what it grows itself (``HardwareConfig.max_memory_mb``, a clear
``MemoryBudgetError``). ``memory_cap`` is the backstop for everything else in the process
(compilation, numpy, a user's objective): it lowers the process's address-space limit
(``RLIMIT_AS``, inherited by the worker processes it starts) to a share of the machine's
memory, so an allocation past it fails in that process (a ``MemoryError``, which the explorer
and the tuner record as an infeasible point) instead of the kernel killing whatever it picks.
The previous limit is restored on exit.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

#: share of the machine's physical memory that one long run may map, over all its processes
SHARE = 0.75


def machine_memory() -> int:
    """Bytes of physical memory (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


@contextmanager
def memory_cap(processes: int = 1, share: float = SHARE) -> Iterator[int]:
    """Within the block, each process of the run (this one and the ``processes`` workers it may
    start) may map at most ``share`` of the machine's memory divided among them. Yields the cap
    in bytes (0: the platform gives no figure and nothing was changed). Never raises a limit
    someone else set lower."""
    total = machine_memory()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if total <= 0:
        yield 0
        return
    cap = int(total * share / max(1, processes))
    if soft != resource.RLIM_INFINITY:
        cap = min(cap, soft)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
