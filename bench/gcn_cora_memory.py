"""GCN on Cora (from ``../shared/data``) fused per layer: the simulation's time and memory.

    .venv/bin/python bench/gcn_cora_memory.py                   # dense features (the large case)
    .venv/bin/python bench/gcn_cora_memory.py --features csr    # the features as CSR

With dense features the per-layer program streams the 2,708 x 1,433 feature matrix through the
aggregation (420 M cycles): the run the simulator's memory bound is measured on. Reported:
cycles, the simulation's wall time, the engine's peak memory (``ProgramResult.memory_peak``) and
the process's peak resident memory (``ru_maxrss``: torch, MLIR and the inputs included); the
outputs are checked against PyTorch eager.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", choices=["dense", "csr"], default="dense")
    ap.add_argument("--fusion", default="layers")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import fuseflow
    from fuseflow import data
    from fuseflow.models import GCN

    root = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    path = data.find_dataset("graphs/cora.npz", root)
    if path is None:
        print(f"Cora not found under {root}/graphs (set {data.loaders.DATA_DIR_ENV})", file=sys.stderr)
        return 1
    g = data.load_graph(path)
    adj = data.to_torch(data.gcn_normalize(g.adj), "csr")
    x = data.to_torch(g.features, args.features)
    model = GCN.paper(x.shape[1], 7).eval()
    t0 = time.perf_counter()
    prog = fuseflow.compile(model, (adj, x), fusion=args.fusion)
    t1 = time.perf_counter()
    res = fuseflow.simulate(prog, (adj, x), check=True)
    t2 = time.perf_counter()
    doc = {"features": args.features, "fusion": args.fusion, "cycles": res.cycles, "compile_s": round(t1 - t0, 1),
           "simulate_and_check_s": round(t2 - t1, 1), "engine_peak_mb": round(res.memory_peak / 1e6, 1),
           "max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2), "checked": True}
    if args.json:
        print(json.dumps(doc))
    else:
        print(f"GCN on Cora, {args.features} features, fusion {args.fusion}: {doc['cycles']:,} cycles, checked; "
              f"compile {doc['compile_s']} s, simulate + check {doc['simulate_and_check_s']} s; engine peak "
              f"{doc['engine_peak_mb']} MB, process peak RSS {doc['max_rss_gb']} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
