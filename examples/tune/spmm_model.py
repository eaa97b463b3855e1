"""An analytic cycle model of a tiled, parallelized SpMM schedule (an example objective).

``cycles(point)`` estimates cycles from the loop order, the two block sizes and the
parallelization factor, and raises ``Infeasible`` where the modelled hardware would fail
(an accumulator that overflows when ``j`` is not the innermost loop with wide blocks).
"""

from __future__ import annotations

from fuseflow.tune import Infeasible

N, DENSITY = 1024, 0.02


def cycles(point: dict) -> float:
    order, bi, bj, par = point["order"], point["bi"], point["bj"], point["par"]
    if order[2] != "j" and bj >= 64:
        raise Infeasible("accumulator overflow")
    locality = {"i": 1.0, "k": 1.6, "j": 2.3}[order[0]] * (1.0 if order[2] == "j" else 1.4)
    compute = N**3 * DENSITY / (par / (1 + 0.07 * par))
    traffic = locality * N * N * (4.0 / bi + 1.0 / bj) * 8
    tiles = (N / bi) * (N / bj) * 40
    return (compute + traffic) * (1 + 0.02 * par * bi / 32) + tiles


def lanes(point: dict) -> float:
    """A resource count for multi-objective runs: parallel lanes times block width."""
    return float(point["par"] * point["bj"])


def cycles_and_lanes(point: dict) -> tuple[float, float]:
    return cycles(point), lanes(point)


def fits_buffer(point: dict) -> bool:
    """Known constraint: the two tiles fit a 4096-entry buffer."""
    return point["bi"] * point["bj"] <= 4096
