"""``fuseflow demo``: the flagship run on built-in defaults.

Compiles a 2-layer GCN and a 2-layer GraphSAGE on seeded synthetic power-law graphs, a sparse
autoencoder with 90% sparse weights and a GPT-3 decoder block with BigBird block-sparse attention
under three fusion granularities (unfused, per layer, fully fused; besides: the GCN per layer
re-associated as (A X) W, the autoencoder fully fused with its sparse weights read in any level
order, the GPT block fully fused on 4 parallel lanes), simulates every program cycle by cycle,
checks every output against PyTorch eager, and prints cycles, the simulator's operation counts,
the compiler-sized buffers, the primitives (PEs) of the largest region and the speedups over the
unfused program: FuseFlow's central experiment in miniature. No data files are needed.
"""

from __future__ import annotations

import argparse
import time

NAME = "demo"
HELP = "compile, simulate and check the built-in models under every fusion granularity"


def configurations(name: str) -> list[tuple[str, dict]]:
    """(label, compile options) shown for workload ``name``: every fusion strategy, and besides
    them the GCN per layer re-associated, the autoencoder fully fused reading its weights in any
    level order, the GPT block fully fused on 4 lanes."""
    from fuseflow.passes.fusion_modes import FULL, FUSION_MODES, LAYERS

    extras = {
        "gcn": [(f"{LAYERS}+left", {"fusion": LAYERS, "associate": "left"})],
        "sae": [(f"{FULL}+auto", {"fusion": FULL, "layouts": "auto"})],
        "gpt3_bigbird": [(f"{FULL}+4lanes", {"fusion": FULL, "par": 4})],
    }
    return [(f, {"fusion": f}) for f in FUSION_MODES] + extras.get(name, [])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=64, help="GCN and GraphSAGE graph size (default 64)")
    parser.add_argument("--workloads", nargs="+", default=["gcn", "sae", "graphsage", "gpt3_bigbird"],
                        metavar="NAME", help="built-in workloads to run (default: gcn sae graphsage gpt3_bigbird)")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    import fuseflow
    from fuseflow import workloads

    console = Console()
    if not console.is_terminal:  # a log or a pipe: the full table on one line per row
        console = Console(width=110)
    table = Table(title="fuseflow demo: fusion granularity vs simulated cycles (checked against PyTorch)")
    for col in ("workload", "fusion", "regions", "cycles", "speedup", "ops", "buffers", "PEs"):
        table.add_column(col, justify="right" if col not in ("workload", "fusion") else "left")
    spent = [0.0, 0.0]  # compile, simulate seconds
    for name in args.workloads:
        w = workloads.BUILTIN[name](nodes=args.nodes) if name in ("gcn", "graphsage") else workloads.load(name)
        console.print(f"[bold]{w.name}[/bold]: {w.description}")
        base = None
        for label, options in configurations(name):
            t0 = time.perf_counter()
            with console.status(f"compiling {w.name} ({label})"):
                try:
                    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, **options)
                except fuseflow.InfeasibleOrder as e:
                    table.add_row(w.name, label, "-", "infeasible", "-", "-", "-", "-")
                    console.print(f"  {label}: infeasible ({e})")
                    continue
            t1 = time.perf_counter()
            with console.status(f"simulating {w.name} ({label})"):
                res = fuseflow.simulate(prog, w.args, check=True)
            t2 = time.perf_counter()
            base = base or res.cycles
            table.add_row(w.name, label, str(len(prog.regions)), f"{res.cycles:,}",
                          f"{base / res.cycles:.2f}x", f"{res.totals()['ops']:,}", f"{res.buffer_words:,}",
                          f"{max(prog.primitive_totals.values()):,}")
            spent[0] += t1 - t0
            spent[1] += t2 - t1
    console.print(table)
    console.print(f"speedup: over the unfused program; ops: ALU and reduce operations the simulator counted; "
                  f"buffers: on-chip words of the compiler-sized fan-out FIFOs (largest region); PEs: "
                  f"primitives of the largest region. "
                  f"Compiling took {spent[0]:.1f} s, simulating {spent[1]:.1f} s.")
    console.print("Every simulated output matched PyTorch eager (rtol 1e-4). Fusion shares every stream "
                  "between its consumers (row statistics, softmax scores) and saves the round trips of "
                  "intermediates; it recomputes a producer only where a consumer's loop drives it "
                  "(e.g. layer-1 rows per neighbour when both GNN layers are fused), which is why it "
                  "can lose. 'layers+left': the GCN re-associated to (A X) W, which aggregates each row "
                  "once instead of reading X W per neighbour (associate=\"left\"). 'full+auto': "
                  "the autoencoder's CSR weights read as CSC (laid out offline), so full fusion rebuilds "
                  "nothing (layouts=\"auto\"). 'full+4lanes': every region's outermost loop forked into "
                  "4 lanes (par=4), more primitives for fewer cycles.")
    return 0
