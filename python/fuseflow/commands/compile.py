"""``fuseflow compile``: a model to SAM graphs, printing any stage's IR.

Examples:

    fuseflow compile gcn                                  # lowered IR of the built-in GCN, unfused
    fuseflow compile gcn --fusion layers --stage normalized -o gcn.mlir
    fuseflow compile spmm --fusion full --order region0=ikj
    fuseflow compile gcn --fusion full --orders            # the legal dataflow orders per region
    fuseflow compile spmm --layouts auto --order ijk       # B read column-major (a relayout)
    fuseflow compile my_model.py --simulate               # a file defining workload()
    fuseflow compile gpt3_bigbird --fusion full --par region1=i:4 --stage optimized --simulate
    fuseflow compile gpt3_bigbird --fusion full --block mask=8 --simulate   # the mask as 8x8 tiles

WORKLOAD is a built-in name (see --help) or a Python file defining ``workload()`` returning a
``fuseflow.workloads.Workload``. ``--order`` takes ``regionN=ORDER`` (an index or a permutation
such as ``ikj``) or a bare index for every region.
"""

from __future__ import annotations

import argparse
import sys
import time

from fuseflow.errors import FuseflowError

NAME = "compile"
HELP = "compile a model to SAM graphs and print a stage's IR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fuseflow.compiler import STAGES
    from fuseflow.passes.fusion_modes import UNFUSED, mode_names
    from fuseflow.passes.lowering import LAYOUT_MODES
    from fuseflow.workloads import BUILTIN

    parser.add_argument("workload", metavar="WORKLOAD", help=f"built-in ({', '.join(BUILTIN)}) or a .py file defining workload()")
    parser.add_argument("--fusion", default=UNFUSED,
                        help=f"{mode_names(' | ')} | explicit op groups such as '0,1;2,3'")
    parser.add_argument("--order", action="append", default=[], metavar="[regionN=]ORDER",
                        help="dataflow order: an index into the legal orders or a permutation (repeatable)")
    parser.add_argument("--layouts", default="declared", choices=list(LAYOUT_MODES),
                        help="auto: read inputs (dense, or sparse as CSR/CSC) in the level order each region's order needs (relayouts charged)")
    parser.add_argument("--par", action="append", default=[], metavar="[regionN=]LANES",
                        help="parallel lanes (sam-parallelize): 4 (outermost loop), 4,2 (outermost two), "
                             "i:4,j:2 (named loops), or regionN=... per region (repeatable); shown in the "
                             "optimized stage")
    parser.add_argument("--block", action="append", default=[], metavar="NAME=B",
                        help="read sparse input or weight NAME as BxB tiles (bsr(B,B); repeatable)")
    parser.add_argument("--stage", default="lowered", choices=STAGES, help="which stage's IR to print")
    parser.add_argument("-o", dest="output", help="write the IR here instead of stdout")
    parser.add_argument("--orders", action="store_true", help="print each region's legal dataflow orders instead of IR")
    parser.add_argument("--simulate", action="store_true", help="also simulate the program and check it against PyTorch")


def parse_orders(items: list[str]):
    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return int(items[0]) if items[0].isdigit() else {"region0": items[0]}
    out = {}
    for item in items:
        if "=" not in item:
            raise FuseflowError(f"--order '{item}': use regionN=ORDER when giving several")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_par(items: list[str]):
    """``--par`` values -> ``compile(par=...)``: one spec for every region, or a dict per region."""
    if not items:
        return None
    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    out = {}
    for item in items:
        if "=" not in item:
            raise FuseflowError(f"--par '{item}': use regionN=LANES when giving several")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_block(items: list[str]) -> dict[str, int] | None:
    """``--block NAME=B`` values -> ``compile(block=...)``."""
    out = {}
    for item in items:
        name, _, size = item.partition("=")
        if not name.strip() or not size.strip().isdigit():
            raise FuseflowError(f"--block '{item}': use NAME=B with a block size B, e.g. mask=16")
        out[name.strip()] = int(size)
    return out or None


def run(args) -> int:
    import fuseflow
    from fuseflow.files import output_path, write_text
    from fuseflow.passes.fusion_modes import parse_fusion
    from fuseflow.workloads import load

    if args.output:
        output_path(args.output, "-o")  # before compiling
    w = load(args.workload)
    t0 = time.perf_counter()
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=parse_fusion(args.fusion, "--fusion"),
                            order=parse_orders(args.order), layouts=args.layouts, par=parse_par(args.par),
                            block=parse_block(args.block))
    elapsed = time.perf_counter() - t0
    if args.orders:
        for r in prog.regions:
            print(f"{r.name}: order {r.order} (index {r.order_index} of {len(r.orders)})")
            for e in r.exprs:
                print(f"    {e}")
            print(f"    legal orders: {' '.join(r.orders)}")
    else:
        text = prog.stage(args.stage)
        if args.output:
            write_text(args.output, text, "-o")
        else:
            sys.stdout.write(text)
    print(f"// compiled {w.name} ({args.fusion}) into {len(prog.regions)} region(s) in {elapsed:.2f} s",
          file=sys.stderr)
    if args.simulate:
        res = fuseflow.simulate(prog, w.args, check=True)
        print(f"// simulated: {res.cycles} cycles "
              f"({', '.join(f'{k}={v}' for k, v in {**res.region_cycles, **res.relayouts}.items())}); "
              "outputs match PyTorch",
              file=sys.stderr)
        for line in res.lane_summary():
            print(f"// {line}", file=sys.stderr)
    return 0
