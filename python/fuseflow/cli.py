"""The ``fuseflow`` command: one entry point with a subcommand per pipeline stage."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

from fuseflow import __version__
from fuseflow.tools.guard import cli_entry


def _commands() -> dict:
    import fuseflow.commands as pkg

    mods = (importlib.import_module(f"fuseflow.commands.{m.name}") for m in pkgutil.iter_modules(pkg.__path__))
    return {mod.NAME: mod for mod in mods}


def build_parser(commands: dict) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fuseflow",
        description="Compile sparse PyTorch models to fused sparse dataflow (SAM) graphs.",
    )
    p.add_argument("--version", action="version", version=f"fuseflow {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in sorted(commands.items()):
        doc = (mod.__doc__ or "").strip()
        sp = sub.add_parser(name, help=mod.HELP, description=doc or mod.HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(sp)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # torch warns on every sparse CSR tensor it builds; it says nothing about the user's run
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
    commands = _commands()
    if argv and getattr(commands.get(argv[0]), "PASSTHROUGH", False):
        return commands[argv[0]].run(argparse.Namespace(args=argv[1:]))
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return commands[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
