"""``fuseflow explore WORKLOAD``: design-space exploration of fusion granularity and dataflow order.

Every point of the space (fusion granularity x each region's legal dataflow order x optimize) is
compiled, simulated cycle by cycle and checked against PyTorch. ``--mode exhaustive`` (default)
evaluates all of them, optionally pruning with the cost heuristic (``--prune 4``: skip points
whose estimated work is over 4x the least estimate); ``--mode tune --budget N --seed S`` lets the
Bayesian tuner pick N points. Writes ``explore.csv`` (one row per evaluated point),
``explore.png`` (cycles per configuration and best so far) and ``summary.json`` to ``--output``,
and prints the best configuration and its speedup over the best unfused one::

    fuseflow explore gcn --nodes 24 --output out/gcn
    fuseflow explore sae --mode tune --budget 12 --seed 0 --prune 8
    fuseflow explore gpt3_bigbird --fusions full --mode tune --budget 16 --lanes 1 2 4 8 --pe-budget 2000
"""

from __future__ import annotations

import argparse
import json
import math
import os

from fuseflow.errors import FuseflowError

NAME = "explore"
HELP = "explore fusion granularity and dataflow orders of a workload (exhaustive or tuner)"


def parse_blocks(items: list[str]) -> dict[str, list[int]] | None:
    """``--block NAME=B[,B...]`` values -> ``Explorer(blocks=...)``."""
    out = {}
    for item in items:
        name, _, sizes = item.partition("=")
        values = [v.strip() for v in sizes.split(",")]
        if not name.strip() or not all(v.isdigit() for v in values):
            raise FuseflowError(f"--block '{item}': use NAME=B[,B...] with block sizes (0: the declared format), e.g. mask=0,16")
        out[name.strip()] = [int(v) for v in values]
    return out or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fuseflow.passes.fusion_modes import FUSION_MODES, mode_names
    from fuseflow.sim.config import HardwareConfig

    parser.add_argument("workload", help="built-in workload (gcn, sae, spmm, graphsage) or a .py file defining workload()")
    parser.add_argument("--mode", choices=["exhaustive", "tune"], default="exhaustive",
                        help="evaluate every point, or let the tuner choose --budget points")
    parser.add_argument("--budget", type=int, default=20, help="tuner evaluations (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="tuner seed (default 0)")
    parser.add_argument("--fusions", nargs="+", default=list(FUSION_MODES), metavar="F",
                        help=f"granularities: {mode_names()}, or op-index groups like '0,1;2,3'")
    parser.add_argument("--optimize", choices=["both", "on", "off"], default="on",
                        help="the optimize parameter: explored (both) or fixed (default on)")
    parser.add_argument("--layouts", choices=["both", "declared", "auto"], default="declared",
                        help="the layouts parameter: inputs read as declared, in any level order (dense, or sparse as CSR/CSC) "
                             "(auto: relayouts charged), or both explored (default declared)")
    parser.add_argument("--associate", choices=["all", "keep", "left", "right"], default="keep",
                        help="the associate parameter: contraction chains as written (keep), (A @ X) @ W "
                             "(left), A @ (X @ W) (right), or all three explored (default keep)")
    parser.add_argument("--block", action="append", default=[], metavar="NAME=B[,B...]",
                        help="the block parameter: read sparse input NAME as BxB tiles for each B (0: its "
                             "declared format), e.g. mask=0,16,32 (repeatable)")
    parser.add_argument("--lanes", type=int, nargs="+", default=[1], metavar="N",
                        help="lane counts explored per region (its outermost loop forked, sam-parallelize); "
                             "default 1 (serial)")
    parser.add_argument("--pe-budget", type=int, default=0, metavar="N",
                        help="primitives a region may use (HardwareConfig.pe_budget; 0 = unlimited)")
    parser.add_argument("--max-memory", type=int, default=HardwareConfig.max_memory_mb, metavar="MIB",
                        help="MiB a simulation may grow to (HardwareConfig.max_memory_mb; over it the point is "
                             f"infeasible; default {HardwareConfig.max_memory_mb}, 0 = unlimited)")
    parser.add_argument("--prune", type=float, default=None, metavar="FACTOR",
                        help="skip points whose estimated work exceeds FACTOR x the least estimate")
    parser.add_argument("--max-points", type=int, default=1000, metavar="N",
                        help="refuse an exhaustive run over more configurations (default 1000)")
    parser.add_argument("--nodes", type=int, help="graph size for gcn/graphsage")
    parser.add_argument("--max-wall", type=float, default=120.0,
                        help="simulator wall-time guard per region in seconds (default 120); over it = infeasible")
    parser.add_argument("--executor", choices=["serial", "process", "ray"],
                        help="where points are evaluated: this process (serial, the default), local "
                             "processes, or Ray")
    parser.add_argument("--workers", type=int, metavar="N", help="parallel evaluations (process/ray)")
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="evaluate on an existing Ray cluster (implies --executor ray)")
    parser.add_argument("--output", "-o", default="explore_out", help="output directory (default explore_out)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def lanes_text(lanes: dict[str, int]) -> str:
    """``region1=4 region2=2`` (``serial`` when no region is parallel)."""
    return " ".join(f"{k}={v}" for k, v in lanes.items()) or "serial"


def _recipe_workload(args) -> tuple[str, dict]:
    if args.nodes is not None:
        if args.workload not in ("gcn", "graphsage"):
            raise FuseflowError("--nodes applies to gcn and graphsage only")
        return args.workload, {"nodes": args.nodes}
    return args.workload, {}


def run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from fuseflow.explore.remote import ExplorerRecipe
    from fuseflow.explore.run import explore, plot, write_csv
    from fuseflow.files import output_folder
    from fuseflow.limits import memory_cap
    from fuseflow.passes.fusion_modes import UNFUSED, parse_fusion
    from fuseflow.passes.lowering import LAYOUT_MODES
    from fuseflow.passes.reassociate import ASSOCIATIONS
    from fuseflow.sim import HardwareConfig

    if args.mode == "tune" and args.budget < 1:
        raise FuseflowError(f"--budget must be positive, got {args.budget}")
    if args.max_wall <= 0:
        raise FuseflowError(f"--max-wall must be positive, got {args.max_wall}")
    if args.pe_budget < 0:
        raise FuseflowError(f"--pe-budget must be >= 0, got {args.pe_budget}")
    if args.max_memory < 0:
        raise FuseflowError(f"--max-memory must be >= 0, got {args.max_memory}")
    console = Console(stderr=True)
    out = Console()
    if not out.is_terminal:  # a log or a pipe: the full table on one line per row
        out = Console(width=140)
    if args.workers is not None and args.workers < 1:
        raise FuseflowError(f"--workers must be positive, got {args.workers}")
    executor = args.executor or ("ray" if args.address is not None else "serial")
    if args.address is not None and executor != "ray":
        raise FuseflowError(f"--address names a Ray cluster; it does not apply to --executor {executor}")
    optimize = {"both": (True, False), "on": (True,), "off": (False,)}[args.optimize]
    layouts = LAYOUT_MODES if args.layouts == "both" else (args.layouts,)
    associate = ASSOCIATIONS if args.associate == "all" else (args.associate,)
    name, workload_kw = _recipe_workload(args)
    recipe = ExplorerRecipe(name, workload_kw, dict(
        fusions=[parse_fusion(f, "--fusions") for f in args.fusions], optimize=optimize,
        hw=HardwareConfig(max_wall_seconds=args.max_wall, pe_budget=args.pe_budget, max_memory_mb=args.max_memory),
        prune=args.prune, layouts=layouts, associate=associate, lanes=args.lanes, blocks=parse_blocks(args.block)))
    with console.status(f"analysing {name}"):
        ex = recipe.build()
    w = ex.workload
    n_points = ex.n_points()
    console.print(f"[bold]{w.name}[/bold]: {w.description}; {n_points} configuration(s)")
    for info in ex.fusions:
        label = info.name + "".join(f" ({k} {v})" for k, v in info.variant.items() if len(ex.variants[k]) > 1)
        if info.infeasible:
            console.print(f"  {label}: infeasible ({info.infeasible})")
        else:
            console.print(f"  {label}: {len(info.orders)} region(s), legal orders per region "
                          f"{[len(o) for o in info.orders]}")
    if args.mode == "exhaustive" and n_points > args.max_points:
        raise FuseflowError(f"an exhaustive run would simulate {n_points:,} configurations (more than "
                            f"--max-points {args.max_points}); use --mode tune --budget N, fewer "
                            "--fusions, or raise --max-points")
    output = output_folder(args.output, "--output")
    total = n_points if args.mode == "exhaustive" else args.budget
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("best {task.fields[best]}"), TimeElapsedColumn(), console=console,
                        disable=args.quiet)
    with progress:
        task = progress.add_task(f"explore {w.name}", total=total, best="-")
        best = [math.inf]

        def on_outcome(o, done, _total):
            if o.feasible:
                best[0] = min(best[0], o.cycles)
            progress.update(task, completed=done, best="-" if best[0] == math.inf else f"{best[0]:,}")

        log = output / "tune.jsonl" if args.mode == "tune" else None
        if log is not None and log.exists():
            log.unlink()
        local = (args.workers or os.cpu_count() or 1) if executor == "process" else 1
        with memory_cap(local):
            result = explore(ex, args.mode, budget=args.budget, seed=args.seed, log=log, on_outcome=on_outcome,
                             executor=executor, workers=args.workers, address=args.address)

    csv_path = write_csv(result, output / "explore.csv")
    plot_path = None if args.no_plot or not result.outcomes else plot(result, output / "explore.png")
    table = Table(title=f"fuseflow explore {w.name} ({args.mode}): best configuration per fusion "
                        "(simulated, checked against PyTorch)")
    for col in ("fusion", "evaluated", "feasible", "best cycles", "layouts", "associate", "block", "orders", "lanes",
                "primitives", "optimize", "vs unfused"):
        table.add_column(col, justify="left" if col in ("fusion", "orders") else "right")
    base = result.best_of(UNFUSED)
    for name in dict.fromkeys(info.name for info in ex.fusions):
        mine = [o for o in result.outcomes if o.point["fusion"] == name]
        b = result.best_of(name)
        table.add_row(name, str(len(mine)), str(sum(o.feasible for o in mine)),
                      "-" if b is None else f"{b.cycles:,}",
                      "-" if b is None else b.point.get("layouts", layouts[0]),
                      "-" if b is None else b.point.get("associate", associate[0]),
                      "-" if b is None else b.point.get("block", ex.variants["block"][0]),
                      "-" if b is None else " ".join(ex.orders_text(b.point)),
                      "-" if b is None else lanes_text(b.lanes),
                      "-" if b is None or b.primitives is None else f"{b.primitives:,}",
                      "-" if b is None else str(b.point.get("optimize", optimize[0])),
                      "-" if b is None or base is None else f"{base.cycles / b.cycles:.2f}x")
    out.print(table)
    bestp = result.best
    rho = result.heuristic_spearman()
    rho_ops = result.heuristic_spearman("ops")
    agree = result.heuristic_agreement()
    summary = {
        "workload": w.name, "mode": args.mode, "points": n_points, "evaluated": len(result.outcomes),
        "feasible": len(result.feasible), "pruned": sum(o.pruned for o in result.outcomes),
        "best": None if bestp is None else {
            "point": bestp.point, "orders": ex.orders_text(bestp.point), "cycles": bestp.cycles,
            "lanes": bestp.lanes, "primitives": bestp.primitives, "formats": bestp.formats,
            "options": bestp.options_key},
        "speedup_over_unfused": result.speedup_over(UNFUSED),
        "heuristic_spearman": None if math.isnan(rho) else rho,
        "heuristic_spearman_ops": None if math.isnan(rho_ops) else rho_ops,
        "heuristic_agreement": None if math.isnan(agree) else agree,
        "csv": str(csv_path), "plot": None if plot_path is None else str(plot_path),
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if bestp is None:
        out.print("no feasible configuration")
    else:
        sp = result.speedup_over(UNFUSED)
        out.print(f"best: fusion={bestp.point['fusion']} orders={' '.join(ex.orders_text(bestp.point))} "
                  f"lanes={lanes_text(bestp.lanes)} primitives={bestp.primitives or 0:,} "
                  f"cycles={bestp.cycles:,}" + ("" if sp is None else f" ({sp:.2f}x over unfused)"))
        if bestp.formats:
            out.print("  inputs read in a chosen layout: " + ", ".join(f"{k} as {v}" for k, v in bestp.formats.items()))
    if not math.isnan(rho):
        ops_text = "n/a" if math.isnan(rho_ops) else f"{rho_ops:.2f}"
        out.print(f"heuristic vs simulated cycles: Spearman {rho:.2f} (estimated work), "
                  f"{ops_text} (estimated ops) over {len(result.feasible)} feasible point(s)" +
                  ("" if math.isnan(agree) else
                   f"; pairs more than 5% apart ordered right: {agree:.0%}"))
    out.print(f"wrote {csv_path}" + ("" if plot_path is None else f", {plot_path}") + f", {output / 'summary.json'}")
    return 0
