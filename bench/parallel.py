"""Parallel lanes side by side (``sam-parallelize``): cycles for 1, 2, 4 and 8 lanes on one loop
level and 4 x 4 lanes on two, in one run, every output checked against PyTorch eager.

    .venv/bin/python bench/parallel.py            # table
    .venv/bin/python bench/parallel.py --json     # one JSON object per program
    .venv/bin/python bench/parallel.py --quick    # the GPT block only (no Cora)

Workloads: the attention region (scores, masked softmax, probs @ V: region 1 of the fully fused
GPT-3 block with BigBird attention, d_model 64, 4 heads, seq 128, block 16), forked on its
outermost loop (query rows) and on rows x heads; and the 2-layer GCN on Cora (from
``../shared/data``; skipped when absent), unfused, every region forked on its outermost loop
(rows of the power-law adjacency, or of the sparse features). For each: the region's (or
program's) cycles, the speedup over 1 lane, its primitives (the PE count
``HardwareConfig.pe_budget`` limits) and the lane imbalance (busiest lane's busy cycles over the
mean: round-robin over rows of different lengths is unbalanced).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

GPT = {"d_model": 64, "heads": 4, "ffn": 256, "seq": 128, "block": 16}
ATTENTION = "main_region1"  # scores, masked softmax and probs @ V under full fusion
LANES = (1, 2, 4, 8, "4,4")


def gpt_cases():
    from fuseflow import workloads

    w = workloads.gpt3_bigbird(**GPT)
    for lanes in LANES:
        yield "gpt3_bigbird attention (d64 h4 seq128 b16)", w, "full", {"region1": lanes}, ATTENTION, lanes


def cora_cases():
    from fuseflow import data
    from fuseflow.models import GCN
    from fuseflow.workloads import Workload

    root = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    path = data.find_dataset("graphs/cora.npz", root)
    if path is None:
        print(f"# Cora not found under {root}/graphs: skipped", file=sys.stderr)
        return
    g = data.load_graph(path)
    adj = data.to_torch(data.gcn_normalize(g.adj), "csr")
    x = data.to_torch(g.features, "csr")
    w = Workload("gcn_cora", GCN.paper(x.shape[1], 7).eval(), (adj, x), {}, "GCN on Cora")
    for lanes in LANES:
        yield "gcn on cora (unfused)", w, "unfused", lanes, None, lanes


def measure(label, w, fusion, par, region, lanes) -> dict:
    import fuseflow

    t0 = time.perf_counter()
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion, par=None if lanes == 1 else par)
    res = fuseflow.simulate(prog, w.args, check=True)
    wall = time.perf_counter() - t0
    if region is not None:
        cycles, prims = res.region_cycles[region], prog.primitive_totals[region]
        imbalance = res.lane_imbalance.get(region)
    else:
        cycles, prims = res.cycles, max(prog.primitive_totals.values())
        imb = res.lane_imbalance
        imbalance = max(imb.values()) if imb else None
    return {"workload": label, "lanes": str(lanes), "cycles": cycles, "primitives": prims,
            "imbalance": imbalance, "lane_lines": res.lane_summary(), "wall_s": round(wall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per program")
    ap.add_argument("--quick", action="store_true", help="the GPT block only")
    args = ap.parse_args()
    rows = []
    cases = list(gpt_cases()) + ([] if args.quick else list(cora_cases()))
    for case in cases:
        row = measure(*case)
        base = next((r for r in rows if r["workload"] == row["workload"] and r["lanes"] == "1"), row)
        row["speedup"] = round(base["cycles"] / row["cycles"], 2)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            imb = "-" if row["imbalance"] is None else f"{row['imbalance']:.2f}"
            print(f"{row['workload']:44s} lanes {row['lanes']:>4s}  cycles {row['cycles']:>11,}  "
                  f"x{row['speedup']:<5}  primitives {row['primitives']:>5}  imbalance {imb:>5}  "
                  f"({row['wall_s']} s)", flush=True)
            for line in row["lane_lines"] if row["lanes"] == "8" else []:
                print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
