"""``fuseflow.simulate``: one entry point for compiled programs and hand-written SAM graphs."""

from __future__ import annotations

import numpy as np

from fuseflow.program import Program, ProgramResult, to_numpy


def simulate(program, inputs, hw=None, *, check: bool = False, expected=None, engine: str = "cycle",
             trace=None, rtol: float = 1e-4, atol: float = 1e-5):
    """Simulate ``program`` on ``inputs``.

    ``program``: a ``fuseflow.compile`` result (inputs are the model's forward() arguments;
    ``check=True`` compares with PyTorch eager, or with ``expected``), or anything
    ``fuseflow.sim.simulate`` takes (a sam-dialect module, text or path, or a simulator graph).
    ``hw``: a ``fuseflow.sim.HardwareConfig``; ``engine``: "cycle" or "reference";
    ``trace``: a path for a Chrome/Perfetto trace. The result has ``outputs``, ``cycles``,
    ``region_cycles`` and ``stats``; a mismatch raises ``fuseflow.sim.SimulationMismatch``.
    """
    if not isinstance(program, Program):
        from fuseflow import sim

        return sim.simulate(program, inputs, hw=hw, check=check, expected=expected, trace=trace or False,
                            rtol=rtol, atol=atol, engine={"cycle": "compiled"}.get(engine, engine))
    result = program.run(inputs, hw=hw, engine=engine, trace=bool(trace))
    if trace:
        result.write_trace(trace)
    if check:
        want = [to_numpy(e) for e in expected] if expected is not None else program.reference(inputs)
        compare_outputs(result, want, rtol, atol)
    return result


def compare_outputs(result: ProgramResult, want: list[np.ndarray], rtol: float, atol: float) -> None:
    """Raise ``SimulationMismatch`` naming the first differing value unless every output of
    ``result`` is close to ``want``."""
    from fuseflow.sim import SimulationMismatch

    if len(result.outputs) != len(want):
        raise SimulationMismatch(f"the program returned {len(result.outputs)} outputs, expected {len(want)}")
    for k, (got, exp) in enumerate(zip(result.outputs, want, strict=True)):
        if got.shape != exp.shape:
            raise SimulationMismatch(f"output {k}: shape {got.shape}, expected {exp.shape}")
        close = np.isclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            where = tuple(int(i) for i in np.argwhere(~close)[0])
            raise SimulationMismatch(
                f"output {k}: {int((~close).sum())} of {close.size} values differ from the reference "
                f"(first at {where}: simulated {got[where]!r}, expected {exp[where]!r}; rtol={rtol}, atol={atol})")
