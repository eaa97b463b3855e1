"""Acquisition: expected improvement times probability of feasibility, and its optimization.

Scores are kept in log space (log EI + log PoF) so that tiny improvements still rank. Points
whose predicted feasibility is below ``min_feasibility`` are excluded (unless nothing else is
left). The optimizer scores many random feasible candidates (every feasible point when the space
is enumerated and small), then climbs greedily from the best few candidates and the best
observed points through the space's neighbours (ordinal +-1, another category, a permutation
swap, a small real step), all starts advancing together so each step is one batched
prediction. Already-evaluated and pending points are never proposed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import erfcx, log_ndtr

from fuseflow.tune.space import Space

_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log E[max(best - f, 0)] for f ~ N(mean, std^2) (minimization), stable for any z."""
    std = np.maximum(std, 1e-12)
    z = (best - mean) / std
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    h = np.exp(-0.5 * zh**2 - _LOG_SQRT_2PI) + zh * np.exp(log_ndtr(zh))
    out[hi] = np.log(np.maximum(h, 1e-300))
    zl = z[~hi]
    # h(z) = phi(z) (1 - |z| sqrt(pi/2) erfcx(|z|/sqrt2)) for z < 0
    inner = 1.0 - np.abs(zl) * math.sqrt(math.pi / 2) * erfcx(np.abs(zl) / _SQRT2)
    out[~hi] = -0.5 * zl**2 - _LOG_SQRT_2PI + np.log(np.maximum(inner, 1e-300))
    return out + np.log(std)


@dataclass
class Acquisition:
    """A scorer of encoded points: higher is better.

    ``explore``: score by the posterior's standard deviation instead of expected improvement
    (the most uncertain feasible point), which the tuner uses now and then when the search
    has stopped improving (see ``Settings.explore_after``).
    """

    predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    best: float
    feasibility: Callable[[np.ndarray], np.ndarray] | None = None
    min_feasibility: float = 0.2
    explore: bool = False

    def __call__(self, X: np.ndarray, strict: bool = True) -> np.ndarray:
        mean, std = self.predict(X)
        if self.explore:
            score = np.log(np.maximum(std, 1e-12))
        else:
            score = log_expected_improvement(mean, std, self.best)
        if self.feasibility is not None:
            pof = self.feasibility(X)
            score = score + np.log(np.maximum(pof, 1e-9))
            if strict:
                score = np.where(pof < self.min_feasibility, -np.inf, score)
        return score


def candidate_pool(space: Space, rng: np.random.Generator, n: int, taken: set) -> list[dict]:
    """Up to ``n`` distinct feasible points not in ``taken`` (all of them if the enumerated
    space is that small)."""
    pts = space.feasible_points
    if pts is not None and len(pts) <= n:
        return [p for p in pts if space.key(p) not in taken]
    out, seen = [], set(taken)
    draws = space.sample(rng, n)
    for p in draws:
        k = space.key(p)
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out


def optimize(acq: Acquisition, space: Space, rng: np.random.Generator, taken: set,
             starts_from: Sequence[dict] = (), n_candidates: int = 1000, n_starts: int = 5,
             max_steps: int = 20) -> tuple[dict | None, float]:
    """The best point found by random scoring plus batched greedy local search."""
    pool = candidate_pool(space, rng, n_candidates, taken)
    scores = acq(space.encode(pool)) if pool else np.empty(0)
    if pool and not np.isfinite(scores).any():  # everything excluded by feasibility
        scores = acq(space.encode(pool), strict=False)
    order = np.argsort(-scores, kind="stable") if pool else []
    best_pt, best_score = (pool[order[0]], float(scores[order[0]])) if pool else (None, -math.inf)

    # Climb from the best candidates and the given points (e.g. the best observed).
    current = [(pool[i], float(scores[i])) for i in order[:n_starts]]
    for p in starts_from:
        current.append((p, -math.inf))  # an observed point itself is taken; only moves count
    seen = set(taken) | {space.key(p) for p, _ in current}
    for _ in range(max_steps):
        moves: list[tuple[int, dict]] = []
        for si, (p, _) in enumerate(current):
            for nb in space.neighbours(p, rng):
                k = space.key(nb)
                if k not in seen:
                    seen.add(k)
                    moves.append((si, nb))
        if not moves:
            break
        ms = acq(space.encode([m for _, m in moves]))
        improved = False
        nxt = list(current)
        for (si, nb), s in zip(moves, ms, strict=True):
            if s > nxt[si][1]:
                nxt[si] = (nb, float(s))
                improved = True
        current = nxt
        for p, s in current:
            if s > best_score and space.key(p) not in taken:
                best_pt, best_score = p, s
        if not improved:
            break
    return best_pt, best_score
