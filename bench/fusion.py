"""Fusion granularity side by side: unfused, per-layer and fully fused programs of every built-in
workload (at its default size) and of a larger GPT-3 block with BigBird attention, simulated in
one run with every output checked against PyTorch eager.

    .venv/bin/python bench/fusion.py            # table
    .venv/bin/python bench/fusion.py --json     # one JSON object per program
    .venv/bin/python bench/fusion.py --quick    # built-in sizes only (no large GPT block)

For each program: simulated cycles with the default ``HardwareConfig`` (bounded FIFOs, the
compiler's buffer depths) and with unbounded FIFOs, the simulator's own counters (ALU and
reduce operations, bytes read and written), the on-chip words of the compiler-sized buffers
(largest region), the speedup over the unfused program, and per region the busiest primitive
(most tokens in) with its token count. Programs compile in their default order (the best on
dense bounds, ``Region.best_order``).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

LARGE_GPT = {"d_model": 64, "heads": 4, "ffn": 256, "seq": 128, "block": 16}


def workloads(quick: bool):
    from fuseflow import workloads as w

    for name in ("gcn", "graphsage", "sae", "spmm", "gpt3_bigbird"):
        yield name, w.BUILTIN[name]()
    if not quick:
        yield "gpt3_bigbird (d64 h4 ffn256 seq128 b16)", w.gpt3_bigbird(**LARGE_GPT)


def measure(label: str, w, fusion: str) -> dict:
    import fuseflow
    from fuseflow.sim import HardwareConfig

    t0 = time.perf_counter()
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion)
    t1 = time.perf_counter()
    res = fuseflow.simulate(prog, w.args, check=True)
    t2 = time.perf_counter()
    free = fuseflow.simulate(prog, w.args, hw=HardwareConfig(fifo_depth=0), check=True)
    tot = res.totals()
    busiest = {}
    for region, nodes in res.stats.items():
        top = max(nodes, key=lambda n: n.tokens_in)
        busiest[region] = {"node": top.name, "kind": top.kind, "tokens_in": top.tokens_in}
    return {
        "workload": label, "fusion": fusion, "regions": len(prog.regions),
        "orders": [r.order for r in prog.regions],
        "cycles": res.cycles, "cycles_unbounded": free.cycles,
        "ops": tot["ops"], "bytes": tot["bytes_read"] + tot["bytes_written"],
        "buffer_words": res.buffer_words, "busiest": busiest,
        "compile_s": round(t1 - t0, 2), "simulate_s": round(t2 - t1, 2),
    }


def main(argv=None) -> int:
    from fuseflow.passes.fusion_modes import FUSION_MODES, UNFUSED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object per program")
    ap.add_argument("--quick", action="store_true", help="built-in sizes only")
    ap.add_argument("--memory-gb", type=float, default=16.0, help="address-space limit (default 16)")
    args = ap.parse_args(argv)
    limit = int(args.memory_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    rows = []
    for label, w in workloads(args.quick):
        base = None
        for fusion in FUSION_MODES:
            print(f"... {label} {fusion}", file=sys.stderr, flush=True)
            row = measure(label, w, fusion)
            base = base or row
            row["speedup"] = round(base["cycles"] / row["cycles"], 3)
            row["ops_vs_unfused"] = round(row["ops"] / base["ops"], 3)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        head = f"{'workload':40} {'fusion':8} {'regions':>7} {'cycles':>12} {'unbounded':>12} {'speedup':>8} " \
               f"{'ops':>12} {'ops/unf':>8} {'bytes':>12} {'buffers':>8}"
        print(head)
        print("-" * len(head))
        for r in rows:
            print(f"{r['workload']:40} {r['fusion']:8} {r['regions']:>7} {r['cycles']:>12,} "
                  f"{r['cycles_unbounded']:>12,} {r['speedup']:>7.2f}x {r['ops']:>12,} "
                  f"{r['ops_vs_unfused']:>7.2f}x {r['bytes']:>12,} {r['buffer_words']:>8,}")
        print("\nbusiest primitive per region (tokens in):")
        for r in rows:
            if r["fusion"] == UNFUSED:
                continue
            parts = ", ".join(f"{reg.rsplit('_', 1)[-1]}: {b['node']} {b['tokens_in']:,}" for reg, b in r["busiest"].items())
            print(f"  {r['workload']} {r['fusion']}: {parts}")
        print("\nevery output matched PyTorch eager")
    return 0


if __name__ == "__main__":
    sys.exit(main())
