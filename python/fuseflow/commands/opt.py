"""``fuseflow opt``: the fuseflow-opt driver as a subcommand."""

from __future__ import annotations

import argparse

NAME = "opt"
HELP = "run a pass pipeline on MLIR (same as fuseflow-opt)"
PASSTHROUGH = True  # hand the remaining argv to fuseflow-opt's own parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs=argparse.REMAINDER, help="fuseflow-opt arguments (see fuseflow-opt --help)")


def run(args) -> int:
    from fuseflow.tools import opt

    return opt.run(args.args)
