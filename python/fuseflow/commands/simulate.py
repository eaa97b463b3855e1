"""``fuseflow simulate``: run a sam-dialect graph, or a compiled program (the output of
``fuseflow compile``: its regions in order), on tensors and report cycles and statistics.

Examples:

    fuseflow simulate spmv.mlir --inputs arg0=A.mtx arg1=x.npy
    fuseflow simulate spmm.mlir --inputs A.mtx B.mtx --hw fifo_depth=unbounded --hw memory=off
    fuseflow simulate spmm.mlir --inputs A.mtx B.mtx --json --trace trace.json --check
    fuseflow simulate prog.mlir --inputs x.npy --trace t.json.gz --trace-nodes 'spacc*' --trace-window 0:50000
    fuseflow simulate prog.mlir --inputs x.npy --workers 2     # regions side by side, same results

Long runs show progress on a terminal (cycles simulated, tokens/s, how far the outermost loop
has come and an ETA from it); Ctrl-C stops a run and prints where it stopped with the busiest
nodes so far (exit 130).

Inputs bind by argument name (``arg0``, ``arg1``, ...) or, without ``name=``, by position.
``.mtx`` files are Matrix Market; ``.npy`` a numpy array; ``.npz`` either a scipy sparse matrix
(``scipy.sparse.save_npz``) or an archive holding exactly one array.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fuseflow.errors import FuseflowError

NAME = "simulate"
HELP = "simulate a SAM graph or a compiled program cycle by cycle (outputs, cycles, statistics)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ir_file", metavar="IR_FILE", help="sam-dialect MLIR file")
    parser.add_argument("--inputs", nargs="+", default=[], metavar="[NAME=]FILE", help="input tensors (.mtx, .npy, .npz)")
    parser.add_argument("--hw", action="append", default=[], metavar="KEY=VALUE", help="override a HardwareConfig field (repeatable)")
    parser.add_argument("--json", action="store_true", help="print machine-readable statistics")
    parser.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace of node activity and counter "
                        "tracks (FIFO occupancy, memory bandwidth); gzip when FILE ends in .gz")
    parser.add_argument("--trace-regions", nargs="+", default=[], metavar="PATTERN",
                        help="trace only these regions (function names, fnmatch patterns)")
    parser.add_argument("--trace-nodes", nargs="+", default=[], metavar="PATTERN",
                        help="trace only these nodes (names or kinds, fnmatch patterns, e.g. 'spacc*')")
    parser.add_argument("--trace-window", metavar="START:END", help="trace only cycles START to END of the run")
    parser.add_argument("--no-trace-counters", action="store_true", help="no counter tracks in the trace")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="simulate the regions in N processes side by side (same results; no --trace)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display during long runs")
    parser.add_argument("--check", action="store_true", help="compare outputs with the functional reference model")
    parser.add_argument("--save", metavar="FILE.npz", help="save the (dense) outputs to an .npz archive")
    parser.add_argument("--top", type=int, default=15, help="nodes shown in the summary table (busiest first)")


def load_tensor(path: Path):
    import numpy as np
    import scipy.io
    import scipy.sparse as sp

    if not path.exists():
        raise FuseflowError(f"no such input file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".mtx":
            m = scipy.io.mmread(str(path))
            if np.iscomplexobj(m.data if sp.issparse(m) else m):
                raise FuseflowError(f"{path}: complex values are not supported (real numbers only)")
            return sp.csr_matrix(m) if sp.issparse(m) else np.asarray(m)
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if {"format", "shape", "data"} <= set(keys):
                    return sp.load_npz(path)
                if len(keys) != 1:
                    raise FuseflowError(f"{path}: an .npz input must hold one array or a scipy sparse matrix (found {keys})")
                return z[keys[0]]
    except (ValueError, OSError) as e:
        raise FuseflowError(f"cannot read {path}: {e}") from None
    raise FuseflowError(f"{path}: unsupported input format {suffix!r} (use .mtx, .npy or .npz)")


def parse_inputs(items: list[str]):
    named, positional = {}, []
    for item in items:
        if "=" in item:
            name, _, file = item.partition("=")
            named[name] = load_tensor(Path(file))
        else:
            positional.append(load_tensor(Path(item)))
    if named and positional:
        raise FuseflowError("bind inputs either all by name (NAME=FILE) or all by position")
    return named if named else positional


def parse_hw(items: list[str]):
    from fuseflow.sim import HardwareConfig

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise FuseflowError(f"--hw expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    return HardwareConfig().with_overrides(overrides)


def _program_module(path: Path):
    """The module at ``path`` when it is a compiled program (``fuseflow compile`` output)."""
    from fuseflow.context import make_context, parse_module
    from fuseflow.files import read_text

    module = parse_module(read_text(path, "input IR"), make_context(), filename=str(path))
    for op in module.body.operations:
        if op.operation.name == "func.func" and "fuseflow.program" in op.attributes:
            return module
    return None


def run_program(module, inputs, hw, args, trace, progress) -> int:
    """A compiled program: every region in order; --check compares the compiled engine with the
    functional model."""
    import numpy as np

    from fuseflow.program import Program

    prog = Program(module, None, {}, None)
    if isinstance(inputs, dict):
        inputs = _program_args(prog, inputs)
    res = prog.run(inputs, hw=hw, trace=trace, progress=progress, workers=args.workers)
    progress.stop()
    if args.check:  # the compiled engine against the functional model
        from fuseflow.simulation import check_outputs

        check_outputs(res, prog.run(inputs, hw=hw, engine="functional").outputs, rtol=1e-5, atol=1e-7)
    if args.save:
        np.savez(args.save, **{f"out{k}": v for k, v in enumerate(res.outputs)})
    from dataclasses import asdict

    doc = {"cycles": res.cycles, "region_cycles": res.region_cycles, "relayouts": res.relayouts, "totals": res.totals(),
           "lane_busy": res.lane_busy, "lane_imbalance": res.lane_imbalance, "region_memory_peak_bytes": res.region_memory,
           "hw": {"key": hw.key(), **asdict(hw)}, "checked": bool(args.check),
           "outputs": [{"shape": list(v.shape)} for v in res.outputs],
           "regions": {name: [asdict(n) for n in nodes] for name, nodes in res.stats.items()}}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"[bold]{args.ir_file}[/bold]: {res.cycles:,} cycles over {len(res.region_cycles)} region(s)"
                      + ("  [green]outputs checked[/green]" if args.check else ""))
        table = Table(title="cycles per region")
        table.add_column("region")
        table.add_column("cycles", justify="right")
        for name, c in res.region_cycles.items():
            table.add_row(name, f"{c:,}")
        for name, c in res.relayouts.items():
            table.add_row(f"relayout {name}", f"{c:,}")
        console.print(table)
        for line in res.lane_summary():
            console.print(line, highlight=False, soft_wrap=True)
        tot = res.totals()
        console.print(f"tokens {tot['tokens']:,}  ops {tot['ops']:,}  read {tot['bytes_read']:,} B  "
                      f"written {tot['bytes_written']:,} B")
        _busiest(console, [n for nodes in res.stats.values() for n in nodes], args.top)
    return 0


def _program_args(prog, named: dict) -> list:
    """``NAME=FILE`` inputs of a compiled program, by the entry function's argument names
    (``arg0``, ``arg1``, ... as ``fuseflow compile`` writes them), in argument order."""
    count = len(prog.entry.regions[0].blocks[0].arguments)
    names = [f"arg{k}" for k in range(count)]
    unknown = sorted(set(named) - set(names))
    if unknown:
        raise FuseflowError(f"the program has no input named {', '.join(map(repr, unknown))}; "
                            f"its inputs are {', '.join(names)}")
    missing = [n for n in names if n not in named]
    if missing:
        raise FuseflowError(f"missing program input(s) {', '.join(missing)} (inputs: {', '.join(names)})")
    return [named[n] for n in names]


def _busiest(console, nodes, top: int) -> None:
    """The ``top`` busiest nodes (most busy cycles first) as a table."""
    from rich.table import Table

    table = Table(title=f"busiest {top} nodes")
    for col in ("node", "kind", "in", "out", "busy", "stalled", "finish", "ops", "read B", "written B"):
        table.add_column(col, justify="left" if col in ("node", "kind") else "right")
    for s in sorted(nodes, key=lambda s: -s.busy_cycles)[:top]:
        table.add_row(s.name, s.kind, f"{s.tokens_in:,}", f"{s.tokens_out:,}", f"{s.busy_cycles:,}", f"{s.stall_cycles:,}",
                      f"{s.finish:,}", f"{s.ops:,}", f"{s.bytes_read:,}", f"{s.bytes_written:,}")
    console.print(table)


def trace_options(args):
    """``--trace`` and its filters as ``TraceOptions`` (None without ``--trace``)."""
    from fuseflow.sim.trace import TraceOptions, parse_window

    filters = args.trace_regions or args.trace_nodes or args.trace_window or args.no_trace_counters
    if not args.trace:
        if filters:
            raise FuseflowError("--trace-regions, --trace-nodes, --trace-window and --no-trace-counters need --trace FILE")
        return None
    window = parse_window(args.trace_window) if args.trace_window else None
    return TraceOptions(path=args.trace, regions=tuple(args.trace_regions), nodes=tuple(args.trace_nodes),
                        window=window, counters=not args.no_trace_counters)


def run(args) -> int:
    from fuseflow.files import output_path

    hw = parse_hw(args.hw)
    for flag in ("trace", "save"):  # before simulating
        if getattr(args, flag):
            output_path(getattr(args, flag), f"--{flag}")
    trace = trace_options(args)
    inputs = parse_inputs(args.inputs)
    program = _program_module(Path(args.ir_file))
    with ProgressDisplay(args.quiet) as progress:
        try:
            if program is not None:
                return run_program(program, inputs, hw, args, trace, progress)
            return run_graph(inputs, hw, args, trace, progress)
        except KeyboardInterrupt as e:
            progress.stop()
            _interrupted(e)
            raise


def _interrupted(e: KeyboardInterrupt) -> None:
    """Where a Ctrl-C stopped the run, with the busiest nodes so far (``SimulationInterrupted``)."""
    import sys

    stats = getattr(e, "stats", None)
    if not stats:
        return
    print(f"{e}; the busiest nodes so far:", file=sys.stderr)
    for s in sorted(stats, key=lambda s: -s.busy_cycles)[:5]:
        print(f"  {s.name} ({s.kind}): busy {s.busy_cycles:,}, tokens in {s.tokens_in:,}, out {s.tokens_out:,}",
              file=sys.stderr)


class ProgressDisplay:
    """A status line on a terminal's stderr while a region runs (nothing in pipes and logs, or
    with ``--quiet``): cycles simulated, tokens/s, the outermost loop's share and an ETA."""

    def __init__(self, quiet: bool):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = not quiet and self.console.is_terminal
        self.status = None
        self.region = None
        self.started = 0.0

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            self.status = self.console.status("simulating")
            self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def __call__(self, region: str, cycles: int, tokens: int, fraction: float | None) -> None:
        import time

        if self.status is None:
            return
        now = time.perf_counter()
        if region != self.region:
            self.region, self.started = region, now
        elapsed = now - self.started
        text = f"simulating {region}: {cycles:,} cycles, {tokens:,} tokens"
        if elapsed > 0:
            text += f", {tokens / elapsed:.2g} tokens/s"
        if fraction:
            text += f", outer loop {fraction:.0%}"
            if 0 < fraction < 1 and elapsed > 1:
                text += f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
        self.status.update(text)


def run_graph(inputs, hw, args, trace, progress) -> int:
    from fuseflow.sim import simulate_graph

    res = simulate_graph(Path(args.ir_file), inputs, hw=hw, check=args.check, trace=trace or False, progress=progress,
                         workers=args.workers)
    progress.stop()
    if args.save:
        import numpy as np

        np.savez(args.save, **{name: t.to_dense() for name, t in res.tensors.items()})
    if args.json:
        doc = res.to_json()
        doc["outputs"] = {name: {"shape": list(t.shape), "format": t.format, "nnz": int(len(t.vals))} for name, t in res.tensors.items()}
        doc["checked"] = bool(args.check)
        print(json.dumps(doc, indent=2))
        return 0
    _print_summary(res, args)
    return 0


def _print_summary(res, args) -> None:
    from rich.console import Console

    from fuseflow.sim.resources import lane_busy, lane_line

    console = Console()
    tot = res.totals()
    console.print(f"[bold]{args.ir_file}[/bold]: {res.cycles:,} cycles"
                  + (f" (regions: {', '.join(f'{c:,}' for c in res.region_cycles)})" if len(res.region_cycles) > 1 else "")
                  + f"  hw {res.hw.key()}" + ("  [green]outputs checked[/green]" if args.check else ""))
    console.print(f"tokens {tot['tokens']:,}  ops {tot['ops']:,}  read {tot['bytes_read']:,} B  written {tot['bytes_written']:,} B")
    for name, t in res.tensors.items():
        console.print(f"output {name}: shape {t.shape} format {t.format!r} nnz {len(t.vals)}")
    for r, region in enumerate(res.stats):
        busy = lane_busy(region)
        if busy:
            console.print(lane_line(f"region {r}", busy), highlight=False, soft_wrap=True)
    _busiest(console, res.node_stats(), args.top)
    if args.trace:
        console.print(f"trace written to {args.trace}")
