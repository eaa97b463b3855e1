"""``fuseflow.simulate``: run a compiled model (a ``fuseflow.compile`` result) and check it.

Hand-written SAM graphs and sam-dialect modules run with ``fuseflow.sim.simulate_graph``: its
inputs and outputs are named graph tensors, where a compiled model takes forward() arguments and
returns outputs in result order, so the two have different names and result types.
"""

from __future__ import annotations

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.program import Program, ProgramResult, to_numpy
from fuseflow.sim.errors import MemoryBudgetError


def simulate(program, inputs, hw=None, *, check: bool = False, expected=None, engine: str = "cycle",
             trace=None, rtol: float | None = None, atol: float | None = None, progress=None, workers: int = 1):
    """Simulate ``program`` on ``inputs``.

    ``program``: a ``fuseflow.compile`` result; ``inputs``: the model's forward() arguments;
    ``check=True`` compares with PyTorch eager, or with ``expected`` (outputs in result order).
    ``hw``: a ``fuseflow.sim.HardwareConfig``; ``engine``: "cycle" or "functional";
    ``trace``: a path for a Chrome/Perfetto trace (``.json``, or ``.json.gz``), True to keep the
    events in the result, or ``fuseflow.sim.TraceOptions`` (regions and nodes by name pattern,
    a window of cycles, counter tracks); ``progress(region, cycles, tokens, fraction)``: called
    about twice a second during long regions. Ctrl-C stops with
    ``fuseflow.sim.SimulationInterrupted`` (the statistics so far). ``workers``: processes that run
    the regions' cycle simulations side by side (``fuseflow.sim.runner``; the results are those of
    the run in order). The result has ``outputs``, ``cycles``,
    ``region_cycles`` and ``stats``; a mismatch raises ``fuseflow.sim.SimulationMismatch``.
    ``rtol``/``atol``: the check's tolerances (default: 1e-4/1e-5, or what the model's output
    dtype allows: float16 1e-2/1e-3, bfloat16 2e-2/1e-2).
    """
    try:
        return _simulate(program, inputs, hw, check, expected, engine, trace, rtol, atol, progress, workers)
    except MemoryError as e:
        # raised outside the handler: the error holds no frame of the failed run
        err = MemoryBudgetError(f"the machine ran out of memory while simulating ({e or 'an allocation failed'}); "
                                "bound the simulator's memory with HardwareConfig.max_memory_mb (CLI --hw "
                                "max_memory_mb=N) or simulate a smaller input")
    raise err


def _simulate(program, inputs, hw, check, expected, engine, trace, rtol, atol, progress, workers):
    if not isinstance(program, Program):
        raise FuseflowError(f"fuseflow.simulate runs a fuseflow.compile result, not a {type(program).__name__}; "
                            "simulate SAM graphs and sam-dialect modules with fuseflow.sim.simulate_graph")
    result = program.run(inputs, hw=hw, engine=engine, trace=trace, progress=progress, workers=workers)
    if check:
        if expected is not None:
            want, (r, a) = [to_numpy(e, "expected output") for e in expected], (1e-4, 1e-5)
        else:
            want, (r, a) = program.reference_outputs(inputs)
        check_outputs(result, want, r if rtol is None else rtol, a if atol is None else atol)
    return result


def check_outputs(result: ProgramResult, want: list[np.ndarray], rtol: float, atol: float) -> None:
    """Raise ``SimulationMismatch`` unless the program returned as many outputs as ``want`` and
    each is close to the one at its position (``fuseflow.sim.api.compare_outputs``)."""
    from fuseflow.sim import SimulationMismatch
    from fuseflow.sim.api import compare_outputs

    if len(result.outputs) != len(want):
        raise SimulationMismatch(f"the program returned {len(result.outputs)} outputs, expected {len(want)}")
    compare_outputs(dict(enumerate(result.outputs)), dict(enumerate(want)), rtol=rtol, atol=atol)
