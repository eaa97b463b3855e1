"""fuseflow-opt: an mlir-opt style driver over fuseflow's and upstream MLIR passes.

    fuseflow-opt [INPUT|-] [-p PIPELINE | --PASS[=OPTIONS] ...] [-o OUTPUT] [--split-input-file]
                 [--verify-diagnostics] [--allow-unregistered-dialect] [--mlir-disable-threading]
                 [--mlir-print-ir-before-all] [--mlir-print-ir-after-all] [--mlir-timing]
                 [--mlir-print-op-generic]
    fuseflow-opt --list-passes | --show-dialects

As in mlir-opt, each registered pass is also a flag: ``--canonicalize --cse`` runs those passes
in that order, ``--fuseflow-partition=fusion=full`` passes options (``NAME=VALUE``, separated by
spaces); a pass anchored on functions runs nested in ``func.func``. Flags and ``-p`` exclude
each other.

Exit status 0 on success, 1 on a parse, verification or pass failure (diagnostics are printed
as ``file:line:col: error: ...``).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from fuseflow.bindings import print_module
from fuseflow.context import make_context, parse_module
from fuseflow.diagnostics import Diagnostic
from fuseflow.errors import DiagnosticError, FuseflowError, PipelineError
from fuseflow.files import output_path, read_text, write_text
from fuseflow.passes.pipeline import Pipeline
from fuseflow.passes.registry import close_matches, fuseflow_passes, upstream_passes
from fuseflow.tools.guard import cli_entry

SPLIT_MARKER = re.compile(r"^// -----[ \t]*$", re.M)
EXPECTED = re.compile(
    r"//\s*expected-(?P<sev>error|warning|note|remark)\s*(?:@(?P<where>above|below|[+-]\d+))?\s*\{\{(?P<msg>.*?)\}\}"
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fuseflow-opt",
        description="Parse MLIR, run a pass pipeline mixing fuseflow and upstream MLIR passes, print the result.",
    )
    p.add_argument("input", nargs="?", default="-", help="input .mlir file (default: stdin)")
    p.add_argument("-o", dest="output", default="-", help="output file (default: stdout)")
    p.add_argument("-p", "--pass-pipeline", dest="pipeline", default="",
                   help="textual pipeline, e.g. 'builtin.module(fuseflow-fold-sparse-casts,canonicalize,func.func(cse))'")
    p.add_argument("--list-passes", action="store_true", help="list fuseflow and upstream passes with their options")
    p.add_argument("--split-input-file", action="store_true",
                   help="process each '// -----' separated chunk as its own module")
    p.add_argument("--verify-diagnostics", action="store_true",
                   help="check emitted diagnostics against '// expected-error {{...}}' comments")
    p.add_argument("--mlir-print-ir-after-all", action="store_true", help="print the IR after every pass (stderr)")
    p.add_argument("--mlir-timing", action="store_true", help="report per-pass timing (stderr)")
    p.add_argument("--mlir-print-op-generic", action="store_true", help="print operations in generic form")
    p.add_argument("--mlir-print-ir-before-all", action="store_true", help="print the IR before every pass (stderr)")
    p.add_argument("--mlir-disable-threading", action="store_true", help="run passes on one thread")
    p.add_argument("--allow-unregistered-dialect", action="store_true", help="accept operations of unknown dialects")
    p.add_argument("--show-dialects", action="store_true", help="list the dialects available and exit")
    return p


# Dialect namespaces MLIR and torch-mlir define; --show-dialects lists those the context has.
KNOWN_DIALECTS = (
    "acc", "affine", "amdgpu", "amx", "arith", "arm_neon", "arm_sme", "arm_sve", "async", "bufferization",
    "builtin", "cf", "complex", "dlti", "emitc", "func", "gpu", "index", "irdl", "linalg", "llvm", "math",
    "memref", "mesh", "ml_program", "mpi", "nvgpu", "nvvm", "omp", "pdl", "pdl_interp", "polynomial", "ptr",
    "quant", "rocdl", "scf", "shape", "shard", "smt", "sparse_tensor", "spirv", "tensor", "tosa", "transform",
    "ub", "vector", "x86vector", "xegpu", "xevm", "torch", "torch_c", "tm_tensor", "sam", "fuseflow",
)


def show_dialects(out) -> None:
    ctx = make_context()
    ctx.load_all_available_dialects()
    names = []
    for name in KNOWN_DIALECTS:
        try:
            ctx.get_dialect_descriptor(name)
        except ValueError:
            continue
        names.append(name)
    out.write("Available Dialects: " + ", ".join(sorted(names)) + "\n")


def pass_flags(extra: list[str]) -> str:
    """mlir-opt style pass flags (``--canonicalize``, ``--NAME=OPTIONS``) as a pipeline; other
    unknown arguments are a usage error naming them."""
    known_fuseflow, known_upstream = fuseflow_passes(), upstream_passes()
    elements, unknown = [], []
    for arg in extra:
        m = re.fullmatch(r"--?(?P<name>[A-Za-z0-9_.-]+)(?:=(?P<opts>.*))?", arg, re.S)
        name = m["name"] if m else None
        if name not in known_fuseflow and name not in known_upstream:
            unknown.append(arg)
            continue
        text = name + (f"{{{m['opts'].strip()}}}" if m["opts"] and m["opts"].strip() else "")
        anchor = known_upstream[name].anchor if name in known_upstream else "builtin.module"
        elements.append(text if anchor in ("builtin.module", "any") else f"{anchor}({text})")
    if unknown:
        hint = "".join(f" ('{a}': {', '.join(close_matches(a.lstrip('-').split('=')[0]))}?)"
                       for a in unknown if close_matches(a.lstrip("-").split("=")[0]))
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return ",".join(elements)


class UsageError(FuseflowError):
    """A command line fuseflow-opt cannot take."""


def list_passes(out) -> None:
    out.write("fuseflow passes:\n")
    for name, cls in fuseflow_passes().items():
        out.write(f"  {name:<40} {cls.summary()}\n")
        for opt in cls.options.values():
            choices = f" [{'|'.join(map(str, opt.choices))}]" if opt.choices else ""
            default = opt.format(opt.default)
            out.write(f"      {opt.name}=<{opt.type_name()}>{choices} (default: {default}) {opt.help}\n")
    out.write("\nupstream MLIR passes:\n")
    for name, p in upstream_passes().items():
        summary = p.summary or f"(upstream MLIR pass on {p.anchor})"
        out.write(f"  {name:<40} {summary}\n")
        if p.options:
            out.write(f"      options: {p.options}\n")


@dataclass
class Chunk:
    text: str
    first_line: int  # 0-based line offset of the chunk in the input


def split_chunks(text: str, split: bool) -> list[Chunk]:
    if not split:
        return [Chunk(text, 0)]
    chunks, start = [], 0
    for m in SPLIT_MARKER.finditer(text):
        chunks.append(Chunk(text[start : m.start()], text.count("\n", 0, start)))
        start = m.end()
    chunks.append(Chunk(text[start:], text.count("\n", 0, start)))
    return chunks


@dataclass
class Expected:
    severity: str
    line: int
    message: str
    source_line: int
    matched: bool = False


def expectations(chunk: Chunk) -> list[Expected]:
    out = []
    lines = chunk.text.split("\n")
    for i, line_text in enumerate(lines):
        for m in EXPECTED.finditer(line_text):
            where, line = m["where"], chunk.first_line + i + 1
            if where == "above":
                target = line - 1
            elif where == "below":
                target = line + 1
            elif where:
                target = line + int(where)
            else:
                target = line
            out.append(Expected(m["sev"], target, m["msg"].strip(), line))
    return out


def verify(diags: list[Diagnostic], expected: list[Expected], filename: str) -> list[str]:
    """Match diagnostics against expectations; return mlir-opt style complaints."""
    problems = []
    flat = []
    for d in diags:
        flat.append(d)
        flat.extend(d.notes)
    for d in flat:
        hit = next(
            (e for e in expected if not e.matched and e.severity == d.severity and e.line == d.line
             and e.message in d.message),
            None,
        )
        if hit is not None:
            hit.matched = True
        elif d.severity in ("error", "warning"):
            problems.append(f"{d.render()}\n{filename}:{d.line}:{d.col}: error: unexpected {d.severity}: {d.message}")
    for e in expected:
        if not e.matched:
            problems.append(f"{filename}:{e.source_line}: error: expected {e.severity} \"{e.message}\" was not produced")
    return problems


def process_chunk(chunk: Chunk, filename: str, pipeline: Pipeline | None, args) -> tuple[str | None, list[Diagnostic]]:
    """Parse + run one chunk. Returns (output text or None on failure, diagnostics)."""
    ctx = make_context()
    ctx.allow_unregistered_dialects = args.allow_unregistered_dialect
    if args.mlir_disable_threading:
        ctx.enable_multithreading(False)
    try:
        module = parse_module(chunk.text, ctx, filename=filename, line_offset=chunk.first_line)
        if pipeline is not None:
            pipeline.run(module, print_ir_after_all=args.mlir_print_ir_after_all,
                         print_ir_before_all=args.mlir_print_ir_before_all,
                         timing=args.mlir_timing, repro=not args.verify_diagnostics)
    except DiagnosticError as e:
        diags = [d.relocated(filename, chunk.first_line) for d in e.diagnostics]
        if not diags:
            diags = [Diagnostic("error", e.summary)]
        if isinstance(e, PipelineError) and e.repro and not args.verify_diagnostics:
            diags.append(Diagnostic("note", f"reproduce with: {e.repro}"))
        return None, diags
    return print_module(module, generic=args.mlir_print_op_generic), []


def run(argv: list[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if args.list_passes:
        list_passes(sys.stdout)
        return 0
    if args.show_dialects:
        show_dialects(sys.stdout)
        return 0
    flags = pass_flags(extra)
    if flags and args.pipeline.strip():
        raise UsageError("give the passes either as -p PIPELINE or as pass flags (--canonicalize ...), not both")
    text = flags or args.pipeline
    pipeline = Pipeline.parse(text) if text.strip() else None
    if args.output != "-":
        output_path(args.output, "-o")  # before running the pipeline
    if args.input == "-":
        text, filename = sys.stdin.read(), "<stdin>"
    else:
        text, filename = read_text(args.input, "input"), args.input

    outputs, failed = [], False
    for chunk in split_chunks(text, args.split_input_file):
        out, diags = process_chunk(chunk, filename, pipeline, args)
        if args.verify_diagnostics:
            problems = verify(diags, expectations(chunk), filename)
            for p in problems:
                print(p, file=sys.stderr)
            failed |= bool(problems)
        else:
            for d in diags:
                print(d.render(), file=sys.stderr)
            failed |= out is None
        if out is not None:
            outputs.append(out)

    result = "// -----\n".join(outputs)
    if args.output == "-":
        sys.stdout.write(result)
    else:
        write_text(args.output, result, "-o")
    return 1 if failed else 0


@cli_entry
def main(argv: list[str] | None = None) -> int:
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
