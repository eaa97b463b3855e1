"""``fuseflow tune``: Bayesian search over a schedule space described by a scenario file.

Writes, in the scenario's output directory: ``log.jsonl`` (one record per evaluation, appended
as each one finishes), ``best_so_far.png`` and ``summary.json``; prints a summary table.
``--resume`` continues an interrupted run from its log. The scenario format is described in
docs/tuner.md (and in ``fuseflow.tune.scenario``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

NAME = "tune"
HELP = "tune a schedule space with Bayesian optimization (scenario TOML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--budget", type=int, help="override the scenario's budget")
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument("--output", "-o", help="override the output directory")
    parser.add_argument("--executor", choices=["serial", "process", "ray"], help="override the executor")
    parser.add_argument("--workers", type=int, help="parallel evaluations (process/ray)")
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="run on an existing Ray cluster (implies --executor ray)")
    parser.add_argument("--resume", action="store_true", help="continue from the log in the output directory")
    parser.add_argument("--no-plot", action="store_true", help="skip the best-so-far plot")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def run(args) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from fuseflow.errors import FuseflowError
    from fuseflow.files import output_folder
    from fuseflow.limits import memory_cap
    from fuseflow.tune.log import has_evaluations
    from fuseflow.tune.optimizer import Tuner
    from fuseflow.tune.scenario import load_scenario

    executor = args.executor
    if args.address is not None:
        if executor not in (None, "ray"):
            raise FuseflowError(f"--address names a Ray cluster; it does not apply to --executor {executor}")
        executor = "ray"
    overrides = {"budget": args.budget, "seed": args.seed, "executor": executor,
                 "workers": args.workers, "address": args.address,
                 "output": None if args.output is None else str(Path(args.output).resolve())}
    sc = load_scenario(args.scenario, overrides)
    if sc.budget < 1:
        raise FuseflowError(f"budget must be positive, got {sc.budget}")
    console = Console(stderr=True)
    out = Console()
    output_folder(sc.output, "output folder")
    if has_evaluations(sc.log_path) and not args.resume:
        raise FuseflowError(f"{sc.log_path} exists: pass --resume to continue it, "
                            "or choose another --output")
    tuner = Tuner(sc.objective, sc.space, budget=sc.budget, seed=sc.seed,
                  n_objectives=sc.n_objectives, settings=sc.settings, executor=sc.executor,
                  workers=sc.workers, address=sc.address, log=sc.log_path, resume=args.resume)

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("best {task.fields[best]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, disable=args.quiet)
    with progress:
        task = progress.add_task(sc.name, total=sc.budget, best="-")

        def on_evaluation(ev, t):
            feas = [e.value for e in t.history if e.feasible]
            progress.update(task, completed=len(t.history), best=_fmt(min(feas)) if feas else "-")

        try:
            local = (sc.workers or os.cpu_count() or 1) if sc.executor == "process" else 1
            with memory_cap(local):
                result = tuner.run(on_evaluation)
        except KeyboardInterrupt:
            console.print(f"interrupted: {len(tuner.history)} evaluation(s) kept in {sc.log_path}; "
                          "continue with --resume")
            raise

    plot_path = pareto_path = None
    if not args.no_plot and result.history:
        from fuseflow.tune.plot import plot_best_so_far, plot_pareto

        plot_path = plot_best_so_far(result, sc.output / "best_so_far.png", title=sc.name)
        if sc.n_objectives > 1 and result.feasible:
            pareto_path = plot_pareto(result, sc.output / "pareto.png", title=f"{sc.name}: Pareto front")

    best = result.best
    summary = {
        "name": sc.name, "evaluations": len(result.history),
        "feasible": len(result.feasible), "best_value": result.best_value,
        "best_point": None if best is None else sc.space.to_json(best.point),
        "exhausted": result.exhausted, "log": str(sc.log_path),
        "plot": None if plot_path is None else str(plot_path),
        "pareto_plot": None if pareto_path is None else str(pareto_path),
    }
    if sc.n_objectives > 1:
        summary["pareto_front"] = [{"point": sc.space.to_json(e.point), "values": list(e.values)}
                                   for e in result.pareto_front]
    (sc.output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    table = Table(title=f"{sc.name}: best of {len(result.history)} evaluations "
                        f"({len(result.feasible)} feasible)")
    table.add_column("parameter")
    table.add_column("value")
    if best is None:
        table.add_row("(no feasible point)", "-")
    else:
        for name in sc.space.names:
            table.add_row(name, _fmt(best.point[name]))
        table.add_row("[bold]objective[/bold]", _fmt(best.value))
        table.add_row("found at evaluation", str(best.index + 1))
    out.print(table)
    if sc.n_objectives > 1:
        front = Table(title="Pareto front")
        for name in sc.space.names:
            front.add_column(name)
        for i in range(sc.n_objectives):
            front.add_column(f"objective {i}")
        for e in result.pareto_front:
            front.add_row(*[_fmt(e.point[n]) for n in sc.space.names], *[_fmt(v) for v in e.values])
        out.print(front)
    if result.exhausted:
        out.print("every feasible point was evaluated before the budget ran out")
    out.print(f"log: {sc.log_path}")
    if plot_path is not None:
        out.print(f"plot: {plot_path}")
    sys.stdout.flush()
    return 0
