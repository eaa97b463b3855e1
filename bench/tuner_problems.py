"""The problems of ``bench/tuner_compare.py``: schedule spaces with a cost to minimize.

Three small synthetic spaces (a 3-4 loop permutation and two or three knobs, optimum known by
enumeration), two TACO-like sparse-kernel spaces of the size compiler autotuners are judged on
(``tuner_taco``), and two spaces taken from ``fuseflow explore`` with the simulator as the
objective (``tuner_explore_table``, cached).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from fuseflow import tune


@dataclass
class Problem:
    name: str
    space: tune.Space
    cost: Callable[[dict], float]  # raises tune.Infeasible on a hidden failure
    optimum: float
    notes: dict = field(default_factory=dict)  # printed with the problem (size, failure rate)


def _spmm_cost(p):
    order, bi, bj, par = p["order"], p["bi"], p["bj"], p["par"]
    if order[2] != "j" and bj >= 64:
        raise tune.Infeasible("accumulator overflow")
    if par >= 8 and order[0] == "k":
        raise tune.Infeasible("deadlock")
    n, density = 1024, 0.02
    locality = {"i": 1.0, "k": 1.6, "j": 2.3}[order[0]] * (1.0 if order[2] == "j" else 1.4)
    compute = n**3 * density / (par / (1 + 0.07 * par))
    traffic = locality * n * n * (4.0 / bi + 1.0 / bj) * 8
    tiles = (n / bi) * (n / bj) * 40
    imbalance = 1 + 0.02 * par * bi / 32
    return (compute + traffic) * imbalance + tiles


def spmm_problem() -> Problem:
    blocks = [4, 8, 16, 32, 64, 128]
    space = tune.Space(
        [tune.Permutation("order", ["i", "k", "j"]), tune.Ordinal("bi", blocks, default=16),
         tune.Ordinal("bj", blocks, default=16), tune.Ordinal("par", [1, 2, 4, 8, 16])],
        constraints=["bi * bj <= 4096", lambda p: p["par"] <= p["bi"]])
    return Problem("spmm_tiling", space, _spmm_cost, _optimum(space, _spmm_cost))


def _fused_cost(p):
    fusion, order, po, pi, chunk, unroll = (p["fusion"], p["order"], p["par_outer"], p["par_inner"],
                                            p["chunk"], p["unroll"])
    if fusion == "full" and po * pi > 8:
        raise tune.Infeasible("deadlock")
    if fusion != "unfused" and chunk >= 256:
        raise tune.Infeasible("out of memory")
    base = {"unfused": 9.0e6, "pairs": 5.5e6, "full": 3.2e6}[fusion]
    # inner loops should be the dense ones (l, then j)
    pen = 1.0 + 0.35 * order.index("i") + 0.2 * abs(order.index("l") - 3) + 0.1 * abs(order.index("j") - 2)
    par = (po / (1 + 0.05 * po)) * (pi / (1 + 0.15 * pi))
    chunk_eff = 1.0 + 8.0 / chunk + chunk / 512
    unroll_eff = 1.0 + 0.6 / unroll + 0.03 * unroll
    return base * pen * chunk_eff * unroll_eff / par + 2e4 * po * pi


def fused_problem() -> Problem:
    space = tune.Space(
        [tune.Categorical("fusion", ["unfused", "pairs", "full"]),
         tune.Permutation("order", ["i", "j", "k", "l"]),
         tune.Ordinal("par_outer", [1, 2, 4, 8]), tune.Ordinal("par_inner", [1, 2, 4, 8]),
         tune.Ordinal("chunk", [16, 32, 64, 128, 256], default=64), tune.Integer("unroll", 1, 8)],
        constraints=["before(order, 'i', 'k')", "par_outer * par_inner <= 16",
                     "unroll * 8 <= chunk"])
    return Problem("fused_pipeline", space, _fused_cost, _optimum(space, _fused_cost))


def _sddmm_parts(p):
    block, layout, order = p["block"], p["layout"], p["order"]
    if layout == "bitmap" and block >= 16:
        raise tune.Infeasible("out of memory")
    fmt = {"csr": 1.0, "dcsr": 0.85, "bitmap": 0.7}[layout]
    a = 4e5 * fmt * (1 + 0.3 * order.index("k")) / math.sqrt(block) + 3e3 * block
    b = 2.5e5 * (1 + 0.25 * abs(order.index("i") - 0)) * (1 + 0.5 / block)
    return a, b


def _sddmm_cost(p):
    a, b = _sddmm_parts(p)
    s = p["split"]
    return max(s * a, (1 - s) * b) + 1e4


def _sddmm_best_split(p):
    a, b = _sddmm_parts(p)
    return min(max(b / (a + b), 0.05), 0.95)


def sddmm_problem() -> Problem:
    space = tune.Space(
        [tune.Ordinal("block", [1, 2, 4, 8, 16, 32]),
         tune.Categorical("layout", ["csr", "dcsr", "bitmap"]),
         tune.Permutation("order", ["i", "j", "k"]), tune.Real("split", 0.05, 0.95)],
        constraints=["layout != 'csr' or block <= 8"])
    # the real parameter's optimum is closed-form: balance the two streams
    discrete = tune.Space(space.params[:3], constraints=["layout != 'csr' or block <= 8"])
    best = math.inf
    for p in discrete.enumerate():
        with contextlib.suppress(tune.Infeasible):
            best = min(best, _sddmm_cost({**p, "split": _sddmm_best_split(p)}))
    return Problem("blocked_sddmm", space, _sddmm_cost, best)


def _optimum(space: tune.Space, cost) -> float:
    best = math.inf
    for p in space.iter_feasible():
        with contextlib.suppress(tune.Infeasible):
            best = min(best, cost(p))
    return best


def _taco_notes(space: tune.Space) -> dict:
    return {"feasible points (estimated)": f"{space.estimated_size():.3g}"}


def taco_spmm_problem() -> Problem:
    from tuner_taco import spmm_space_and_cost

    space, cost = spmm_space_and_cost()
    return Problem("taco_spmm", space, cost, _optimum(space, cost), _taco_notes(space))


def taco_sddmm_problem() -> Problem:
    from tuner_taco import sddmm_space_and_cost

    space, cost = sddmm_space_and_cost()
    return Problem("taco_sddmm", space, cost, _optimum(space, cost), _taco_notes(space))


def explore_problem(name: str, cache_dir) -> Problem:
    from tuner_explore_table import SPECS, check_table, load_table

    table = load_table(SPECS[name], cache_dir)
    check_table(table)
    return Problem(name, table.space, table.objective, table.optimum,
                   {"failing": f"{table.failure_rate:.0%}", "crashes": table.crashes})


SYNTHETIC = {"spmm_tiling": spmm_problem, "fused_pipeline": fused_problem,
             "blocked_sddmm": sddmm_problem}
TACO = {"taco_spmm": taco_spmm_problem, "taco_sddmm": taco_sddmm_problem}
EXPLORE = ("explore_gcn", "explore_sae")
ALL = (*SYNTHETIC, *TACO, *EXPLORE)


def make_problem(name: str, cache_dir) -> Problem:
    if name in SYNTHETIC:
        return SYNTHETIC[name]()
    if name in TACO:
        return TACO[name]()
    return explore_problem(name, cache_dir)
