"""Tuning problems taken from ``fuseflow explore``: the real design space, the simulator as the
objective, evaluated once and kept as a table.

A problem is a built-in workload with explorer options (``fuseflow.explore.remote.ExplorerRecipe``).
Its space is ``Explorer.space()``: a fusion granularity, conditional per-region order indices and
lane counts, ``optimize`` and the association or layout choices, with the regions that cannot be
compiled, that exceed the hardware's PE budget, or that deadlock as hidden failures. Every point
of the (finite) space is compiled and simulated once, checked against PyTorch, and the cycles (or
the reason it failed) are stored as JSON in a cache directory outside the repository, keyed by
the recipe, the hardware config and the fuseflow version, so that comparing tuners over many seeds
costs table look-ups. Building a table takes minutes (a point simulates in one to three seconds).

A point that crashes the compiler or simulator with anything but an infeasibility error (a bug,
not a property of the point) is stored as failed with its error and counted in ``crashes``; the
bench prints that count rather than hiding it.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fuseflow import tune

DEFAULT_CACHE = Path.home() / ".cache" / "fuseflow-bench"


@dataclass(frozen=True)
class ExploreSpec:
    """One explore-derived problem: workload, its options, the explorer's options and the
    hardware's PE budget (0: unlimited)."""

    name: str
    workload: str
    workload_kw: tuple = ()
    explorer_kw: tuple = ()
    pe_budget: int = 0

    def recipe(self):
        from fuseflow.explore.remote import ExplorerRecipe
        from fuseflow.sim.config import HardwareConfig

        explorer = dict(self.explorer_kw)
        if self.pe_budget:
            explorer["hw"] = HardwareConfig(pe_budget=self.pe_budget)
        return ExplorerRecipe(self.workload, dict(self.workload_kw), explorer)

    def cache_file(self, cache_dir: Path) -> Path:
        import fuseflow

        ident = json.dumps({**asdict(self), "version": fuseflow.__version__}, sort_keys=True,
                           default=repr)
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return cache_dir / f"explore-{self.name}-{digest}.json"


SPECS = {
    # GCN on a 24-node graph: three fusion granularities x three associations of A @ X @ W
    # (9 region structures), up to 14 legal orders per region, optimize on/off: 210 points.
    "explore_gcn": ExploreSpec("explore_gcn", "gcn", (("nodes", 24),),
                               (("associate", ("keep", "left", "right")),)),
    # A sparse autoencoder: per-region orders and 1- or 2-lane parallelization of every region,
    # under a budget of 40 PEs per region (wide parallel regions fail): 552 points.
    "explore_sae": ExploreSpec("explore_sae", "sae", (), (("lanes", (1, 2)),), pe_budget=40),
}


@dataclass
class ExploreTable:
    """The evaluated space: cycles per point key (``None``: failed, with its error)."""

    space: tune.Space
    cycles: dict[tuple, float | None]
    errors: dict[tuple, str]
    crashes: int
    build_seconds: float

    def objective(self, point: dict) -> float:
        v = self.cycles[self.space.key(point)]
        if v is None:
            raise tune.Infeasible(self.errors.get(self.space.key(point), "infeasible"))
        return v

    @property
    def optimum(self) -> float:
        return min(v for v in self.cycles.values() if v is not None)

    @property
    def failure_rate(self) -> float:
        return sum(v is None for v in self.cycles.values()) / len(self.cycles)


def _key_json(key: tuple) -> str:
    return json.dumps(list(key))


def load_table(spec: ExploreSpec, cache_dir: Path = DEFAULT_CACHE, *, build: bool = True,
               progress: bool = True) -> ExploreTable | None:
    """The table of ``spec``, read from the cache or (``build=True``) built and written there;
    ``None`` when it is not cached and ``build`` is false."""
    explorer = spec.recipe().build()
    space = explorer.space()
    path = spec.cache_file(cache_dir)
    if path.exists():
        data = json.loads(path.read_text())
        cycles = {tuple(json.loads(k)): v for k, v in data["cycles"].items()}
        errors = {tuple(json.loads(k)): v for k, v in data["errors"].items()}
        return ExploreTable(space, cycles, errors, data["crashes"], data["build_seconds"])
    if not build:
        return None
    points = explorer.points()
    cycles, errors, crashes, t0 = {}, {}, 0, time.perf_counter()
    for i, p in enumerate(points):
        pt = space.normalize(p)
        key = space.key(pt)
        try:
            out = explorer.evaluate(pt)
        except Exception as e:  # a compiler/simulator bug at this point: recorded, counted
            crashes += 1
            cycles[key], errors[key] = None, f"crash: {type(e).__name__}: {e}"
        else:
            cycles[key] = float(out.cycles) if out.feasible else None
            if not out.feasible:
                errors[key] = out.error
        if progress and (i + 1) % 25 == 0:
            print(f"[{spec.name}] {i + 1}/{len(points)} points simulated "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    table = ExploreTable(space, cycles, errors, crashes, time.perf_counter() - t0)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({
        "spec": asdict(spec), "points": len(points), "crashes": crashes,
        "build_seconds": table.build_seconds,
        "cycles": {_key_json(k): v for k, v in cycles.items()},
        "errors": {_key_json(k): v for k, v in errors.items()},
    }, default=repr))
    tmp.replace(path)
    return table


def check_table(table: ExploreTable) -> None:
    """The table covers the space exactly (a stale cache would not)."""
    keys = {table.space.key(p) for p in table.space.enumerate()}
    if keys != set(table.cycles):
        raise RuntimeError("the cached table does not match the explorer's space; rebuild it "
                           "(delete the cache file)")
    if not any(v is not None and math.isfinite(v) for v in table.cycles.values()):
        raise RuntimeError("no feasible point in the table")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Build the cached tables of the explore problems.")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--problems", default=",".join(SPECS))
    args = ap.parse_args(argv)
    for name in args.problems.split(","):
        t = load_table(SPECS[name], args.cache_dir)
        check_table(t)
        print(f"{name}: {len(t.cycles)} points, optimum {t.optimum:.0f} cycles, "
              f"{t.failure_rate:.0%} fail, {t.crashes} crashes, built in {t.build_seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
