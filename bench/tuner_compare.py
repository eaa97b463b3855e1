"""Compare fuseflow.tune with random search, Optuna TPE, Optuna's GP sampler and HEBO on
schedule spaces, side by side in one run.

Problems (``tuner_problems``): three small synthetic spaces (``spmm_tiling``,
``fused_pipeline``, ``blocked_sddmm``: a 3-4 loop permutation, two or three knobs, known
constraints, hidden failures); two TACO-like sparse kernels of the shape BaCO tunes
(``taco_spmm``, ``taco_sddmm``: a 5-loop permutation under precedence constraints, 6-7 knobs,
hundreds of thousands of feasible points, ``tuner_taco``); two spaces of ``fuseflow explore``
with the cycle simulator as the objective (``explore_gcn``, ``explore_sae``: conditional
parameters, failing regions; every point simulated once and cached, ``tuner_explore_table``).
Optima are exact (enumeration).

    make hebo-env                                                  # once: HEBO's environment
    nice .venv/bin/python bench/tuner_compare.py --cap gp=20 --cap hebo=20 --jobs 2   # as in docs/tuner.md
    nice .venv/bin/python bench/tuner_compare.py                   # 10 seeds, budget 60, all
    nice .venv/bin/python bench/tuner_compare.py --quick           # smoke test: 2 seeds, 2 problems
    nice .venv/bin/python bench/tuner_compare.py --problems taco_spmm --tuners fuseflow,tpe

Reports, per problem and tuner: mean best-so-far / optimum at 1/3 and all of the budget (and
2/3), mean evaluations to get within 5% of the optimum (runs that never do count as budget + 1)
and the share that do, the tuner's rank among the tuners that ran, and fuseflow.tune's
overhead per iteration (seconds spent proposing, at 50-60 evaluations). ``--plot`` writes the
mean best-so-far curves.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import tuner_peers
import tuner_problems
from tuner_explore_table import DEFAULT_CACHE

QUICK_PROBLEMS = ("spmm_tiling", "taco_spmm")


def evaluate_tuner(problem, name: str, seeds: int, budget: int, checkpoints: list[int],
                   caps: dict) -> dict:
    """One tuner on one problem over ``seeds`` seeds: its row of the table."""
    fn = tuner_peers.TUNERS[name]
    traces, overhead, t0 = [], [], time.perf_counter()
    runs = min(budget, caps.get(name, budget))
    for seed in range(seeds):
        trace, ov = fn(problem, runs, seed)
        traces.append(np.asarray(trace) / problem.optimum)
        overhead.append(ov)
        print(f"  [{problem.name}] {name} seed {seed}: best/opt {traces[-1][-1]:.3f}",
              file=sys.stderr, flush=True)
    arr = np.minimum(np.stack(traces), 1e3)  # seeds x budget (1e3: nothing feasible yet)
    reach = [int(np.argmax(row <= 1.05)) + 1 if np.any(row <= 1.05) else runs + 1 for row in arr]
    flat = [o for ov in overhead for o in ov]
    late = [o for ov in overhead for i, o in enumerate(ov) if i >= 50]
    return {
        "budget": runs,
        "best_ratio": {str(b): float(arr[:, b - 1].mean()) for b in checkpoints if b <= runs},
        "curve": arr.mean(0).tolist(),
        "evals_to_5pct": float(np.mean(reach)),
        "reached_5pct": float(np.mean([r <= runs for r in reach])),
        "seconds": time.perf_counter() - t0,
        "overhead_s_per_iter_mean": float(np.mean(flat)) if flat else None,
        "overhead_s_per_iter_at_50_60": float(np.mean(late)) if late else None,
        "overhead_s_per_iter_max": float(np.max(flat)) if flat else None,
    }


@functools.cache
def _problem(name: str, cache_dir: Path):
    return tuner_problems.make_problem(name, cache_dir)


def _task(pname: str, tname: str, cache_dir: Path, seeds: int, budget: int,
          checkpoints: list[int], caps: dict) -> dict:
    return evaluate_tuner(_problem(pname, cache_dir), tname, seeds, budget, checkpoints, caps)


# The order a pool starts tasks in: fuseflow.tune first (its overhead column is measured while
# at most one other task runs), then the longest peers first.
_COST = {"fuseflow": 5, "hebo": 4, "gp": 3, "tpe": 1, "random": 0}


def evaluate_all(names: list[str], tuners: list[str], cache_dir: Path, seeds: int, budget: int,
                 checkpoints: list[int], caps: dict, jobs: int) -> dict:
    """Every (problem, tuner) pair, one after another or in ``jobs`` processes (each run is
    deterministic for its seed, so the results do not depend on ``jobs``)."""
    tasks = [(p, t) for p in names for t in tuners]
    args = (cache_dir, seeds, budget, checkpoints, caps)
    if jobs <= 1:
        return {key: _task(*key, *args) for key in tasks}
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {key: pool.submit(_task, *key, *args)
                   for key in sorted(tasks, key=lambda k: -_COST.get(k[1], 0))}
        return {key: futures[key].result() for key in tasks}


def _rank_note(entries: dict, name: str, b: int) -> str:
    """The ratio of this tuner's mean to the best other tuner's (> 1: worse)."""
    mine = entries[name]["best_ratio"][str(b)]
    others = [e["best_ratio"][str(b)] for n, e in entries.items() if n != name and str(b) in e["best_ratio"]]
    if not others:
        return ""
    best_other = min(others)
    return f"{mine / best_other:.3f}"


def print_table(results: dict, checkpoints: list[int]) -> None:
    cols = [f"best@{b}" for b in checkpoints]
    print(f"{'problem':15} {'tuner':9} " + " ".join(f"{c:>9}" for c in cols)
          + f" {'evals->5%':>10} {'reach':>6} {'s/iter':>7} {'s/iter@50+':>10}")
    for pname, r in results["problems"].items():
        for tname, e in r["tuners"].items():
            ov, late = e["overhead_s_per_iter_mean"], e["overhead_s_per_iter_at_50_60"]
            cells = [f"{e['best_ratio'][str(b)]:9.4f}" if str(b) in e["best_ratio"] else f"{'-':>9}"
                     for b in checkpoints]
            reach = f"{e['evals_to_5pct']:10.1f}" + ("" if e["budget"] == results["budget"] else "*")
            print(f"{pname:15} {tname:9} " + " ".join(cells) + f" {reach:>10} {e['reached_5pct']:6.0%}"
                  + (f" {ov:7.3f}" if ov is not None else f" {'-':>7}")
                  + (f" {late:10.3f}" if late is not None else f" {'-':>10}"))
        if "fuseflow" in r["tuners"] and len(r["tuners"]) > 1:
            print(f"{pname:15} {'ff/best':9} "
                  + " ".join(f"{_rank_note(r['tuners'], 'fuseflow', b):>9}" for b in checkpoints)
                  + "   (fuseflow's mean over the best other tuner's; <= 1: fuseflow best)")
        for tname, why in r["skipped"].items():
            print(f"{pname:15} {tname:9} skipped: {why}")


def plot_curves(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probs = list(results["problems"].items())
    ncol = min(3, len(probs))
    nrow = math.ceil(len(probs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow), dpi=110, squeeze=False)
    colors = {"fuseflow": "tab:blue", "random": "tab:gray", "tpe": "tab:orange", "gp": "tab:green",
              "hebo": "tab:red"}
    for ax, (pname, r) in zip(axes.flat, probs, strict=False):
        for tname, e in r["tuners"].items():
            curve = np.asarray(e["curve"])
            x = np.arange(1, len(curve) + 1)
            ok = curve < 1e3
            ax.plot(x[ok], curve[ok], label=tname, color=colors.get(tname), lw=1.6)
        ax.set_yscale("log")
        ax.set_title(pname, fontsize=10)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("mean best / optimum")
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[len(probs):]:
        ax.axis("off")
    legend: dict = {}  # every tuner once, also one that ran on some of the problems only
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    labels, handles = list(legend), list(legend.values())
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
               title=f"mean over {results['seeds']} seeds")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=None, help="seeds per tuner (default 10; quick 2)")
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--problems", default=None, help="comma-separated subset of " + ", ".join(tuner_problems.ALL))
    ap.add_argument("--tuners", default=",".join(tuner_peers.TUNERS), help="comma-separated subset")
    ap.add_argument("--cap", action="append", default=[], metavar="TUNER=N",
                    help="stop TUNER's runs at N evaluations (its later columns show '-', its "
                         "evals->5%% are marked *), e.g. gp=20: Optuna's GP sampler costs seconds "
                         "per proposal")
    ap.add_argument("--quick", action="store_true", help=f"2 seeds, problems {', '.join(QUICK_PROBLEMS)}")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                    help="where the explore problems' tables are kept (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="run the (problem, tuner) pairs in this many processes (results do not "
                         "change; the overhead columns then share the machine)")
    ap.add_argument("--plot", type=Path, default=None, help="write the mean best-so-far curves here (PNG)")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 10)
    names = (args.problems.split(",") if args.problems
             else list(QUICK_PROBLEMS if args.quick else tuner_problems.ALL))
    unknown = set(names) - set(tuner_problems.ALL)
    if unknown:
        ap.error(f"unknown problem(s) {sorted(unknown)}")
    wanted = [t for t in args.tuners.split(",") if t]
    if set(wanted) - set(tuner_peers.TUNERS):
        ap.error(f"unknown tuner(s) {sorted(set(wanted) - set(tuner_peers.TUNERS))}")
    tuners, skipped = {}, {}
    for t in wanted:
        why = tuner_peers.PEER_MISSING.get(t, lambda: None)()
        if why:
            skipped[t] = why
            print(f"{t}: skipped: {why}", file=sys.stderr)
        else:
            tuners[t] = tuner_peers.TUNERS[t]
    caps = {}
    for c in args.cap:
        t, _, n = c.partition("=")
        if t not in tuner_peers.TUNERS or not n.isdigit() or int(n) < 1:
            ap.error(f"--cap wants TUNER=N, got {c!r}")
        caps[t] = int(n)
    b = args.budget
    checkpoints = sorted({max(1, b // 3), max(1, 2 * b // 3), b})
    results = {"seeds": seeds, "budget": b, "checkpoints": checkpoints, "caps": caps, "problems": {}}
    for n in names:
        problem = _problem(n, args.cache_dir)
        notes = "".join(f", {k} {v}" for k, v in problem.notes.items())
        print(f"[{n}] optimum {problem.optimum:.6g}, feasible space {problem.space.size()} points"
              f"{notes}", file=sys.stderr, flush=True)
        results["problems"][n] = {"optimum": problem.optimum, "tuners": {}, "skipped": dict(skipped)}
    rows = evaluate_all(names, list(tuners), args.cache_dir, seeds, b, checkpoints, caps, args.jobs)
    for (n, t), row in rows.items():
        results["problems"][n]["tuners"][t] = row
    print_table(results, checkpoints)
    if args.plot:
        print(f"plot: {plot_curves(results, args.plot)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
