"""fuseflow-opt: an mlir-opt style driver over fuseflow's and upstream MLIR passes.

    fuseflow-opt [INPUT|-] [-p PIPELINE] [-o OUTPUT] [--split-input-file] [--verify-diagnostics]
                 [--mlir-print-ir-after-all] [--mlir-timing] [--mlir-print-op-generic]
    fuseflow-opt --list-passes

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
from fuseflow.errors import DiagnosticError, PipelineError
from fuseflow.files import output_path, read_text, write_text
from fuseflow.passes.pipeline import Pipeline
from fuseflow.passes.registry import fuseflow_passes, upstream_passes
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
    return p


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
    try:
        module = parse_module(chunk.text, ctx, filename=filename, line_offset=chunk.first_line)
        if pipeline is not None:
            pipeline.run(module, print_ir_after_all=args.mlir_print_ir_after_all,
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
    args = build_parser().parse_args(argv)
    if args.list_passes:
        list_passes(sys.stdout)
        return 0
    pipeline = Pipeline.parse(args.pipeline) if args.pipeline.strip() else None
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
