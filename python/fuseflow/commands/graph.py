"""``fuseflow graph IR_FILE [--print] [--dot OUT] [--stats]``: inspect SAM dataflow graphs.

Parses and verifies IR_FILE (``-`` for stdin), then prints every SAM graph (``func.func``
holding ``sam`` ops) as a readable listing (``--print``: one op per line, results named as in
the generic form, attributes as ``name=value``, stream kinds for types), writes their Graphviz
DOT to OUT (``-`` for stdout) and/or prints per-op counts::

    $ fuseflow graph spmv.mlir --stats
    @spmv: 16 ops
      sam.fiber_lookup 3
      ...
"""

from __future__ import annotations

import argparse
import sys

from fuseflow.errors import FuseflowError

NAME = "graph"
HELP = "export SAM graphs to Graphviz DOT and print per-op statistics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IR_FILE", help="MLIR file holding SAM graphs ('-' for stdin)")
    parser.add_argument("--dot", metavar="OUT", help="write Graphviz DOT to OUT ('-' for stdout)")
    parser.add_argument("--stats", action="store_true", help="print per-op counts of each graph")
    parser.add_argument("--print", dest="listing", action="store_true",
                        help="print each graph readably (one op per line; the generic form stays the exchange format)")


def _read(path: str) -> str:
    from fuseflow.files import read_text

    if path == "-":
        return sys.stdin.read()
    return read_text(path, "input IR")


def run(args) -> int:
    from fuseflow.context import parse_module
    from fuseflow.dialects import sam_graph

    if not args.dot and not args.stats and not args.listing:
        raise FuseflowError("nothing to do: pass --print, --dot OUT and/or --stats")
    module = parse_module(_read(args.input), filename=args.input if args.input != "-" else "<stdin>")
    graphs = sam_graph.sam_functions(module)
    if not graphs:
        raise FuseflowError(f"{args.input} holds no SAM graph (no func.func with sam ops)")
    if args.listing:
        sys.stdout.write("\n".join(g.to_text() for g in graphs))
    if args.dot:
        text = "".join(g.to_dot() for g in graphs)
        if args.dot == "-":
            sys.stdout.write(text)
        else:
            from fuseflow.files import write_text

            write_text(args.dot, text, "--dot")
    if args.stats:
        for g in graphs:
            counts = g.op_counts()
            print(f"@{g.name}: {sum(counts.values())} ops, {len(g.edges)} edges")
            for name, n in sorted(counts.items()):
                print(f"  {name} {n}")
    return 0
