"""Textual pass pipelines that mix fuseflow's Python passes with any upstream MLIR pass.

Python passes are not in MLIR's pass registry, so a pipeline such as
``builtin.module(fuseflow-fold-sparse-casts,canonicalize,func.func(cse))`` is split here: each
top-level fuseflow pass is added to the PassManager as a Python pass, and each run of upstream
elements between them is added as one textual chunk. Everything runs in one PassManager with the
verifier on. fuseflow passes are module passes and must appear at the top level (the bindings
cannot nest a Python pass; trying aborts the process, so it is rejected here first).
"""

from __future__ import annotations

import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fuseflow import env
from fuseflow.bindings import MLIRError, PassManager, captured_native_stderr, ir, print_module
from fuseflow.context import collecting
from fuseflow.diagnostics import Diagnostic
from fuseflow.errors import FuseflowError, PipelineError
from fuseflow.passes.pass_base import ModulePass, OptionError, split_top_level
from fuseflow.passes.registry import close_matches, get_pass

MAX_NESTING = 64  # op-pipeline nesting a pipeline may have (deeper is refused, not a recursion crash)

_ELEMENT = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.\-]*)\s*(?P<rest>[({].*)?\s*$", re.S)


@dataclass
class Nested:
    """An upstream nested pipeline such as ``func.func(cse,canonicalize)``, kept as text."""

    anchor: str
    text: str

    def pipeline_text(self) -> str:
        return f"{self.anchor}({self.text})"


@dataclass
class Upstream:
    """One upstream pass with its option text, kept verbatim for MLIR's own parser."""

    text: str

    def pipeline_text(self) -> str:
        return self.text


Element = ModulePass | Upstream | Nested


def _hint(name: str) -> str:
    close = close_matches(name)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _parse_elements(text: str, where: str) -> list[Element]:
    elements: list[Element] = []
    for raw in split_top_level(text, ","):
        if not raw.strip():
            if text.strip():
                raise PipelineError(f"empty pass name in pipeline '{text}'")
            continue
        m = _ELEMENT.match(raw)
        if not m:
            raise PipelineError(f"cannot parse pipeline element '{raw.strip()}'")
        name, rest = m["name"], (m["rest"] or "").strip()
        if rest.startswith("("):
            if not rest.endswith(")"):
                raise PipelineError(f"unbalanced parentheses in '{raw.strip()}'")
            inner = rest[1:-1]
            _reject_nested_fuseflow(inner, name)
            elements.append(Nested(name, inner))
            continue
        if rest and not (rest.startswith("{") and rest.endswith("}")):
            raise PipelineError(f"cannot parse options of '{name}': '{rest}'")
        cls = get_pass(name)
        if cls is not None:
            try:
                elements.append(cls.from_option_text(rest[1:-1] if rest else ""))
            except OptionError as e:
                raise PipelineError(str(e)) from None
        else:
            elements.append(Upstream(raw.strip()))
    return elements


def _reject_nested_fuseflow(text: str, anchor: str) -> None:
    for raw in split_top_level(text, ","):
        m = _ELEMENT.match(raw)
        if not m:
            continue
        rest = (m["rest"] or "").strip()
        if rest.startswith("("):
            _reject_nested_fuseflow(rest[1:-1], m["name"])
        elif get_pass(m["name"]) is not None:
            raise PipelineError(
                f"fuseflow pass '{m['name']}' runs on builtin.module and cannot be nested "
                f"in '{anchor}(...)'; move it to the top level of the pipeline"
            )


class Pipeline:
    """A parsed pipeline: fuseflow passes (instances) and upstream elements (text)."""

    def __init__(self, elements: list[Element]):
        self.elements = list(elements)

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        """Parse ``builtin.module(a,b{x=1},func.func(c))`` or the bare list ``a,b{x=1}``."""
        body = text.strip()
        m = re.match(r"^builtin\.module\s*\((?P<inner>.*)\)$", body, re.S)
        if m and len(split_top_level(body, ",")) == 1:
            body = m["inner"]
        if body.count("(") != body.count(")") or body.count("{") != body.count("}"):
            raise PipelineError(f"unbalanced brackets in pipeline '{text}'")
        depth = deepest = 0
        for ch in body:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise PipelineError(f"the pipeline nests {deepest} levels deep (at most {MAX_NESTING})")
        return cls(_parse_elements(body, "builtin.module"))

    def __str__(self) -> str:
        return "builtin.module(" + ",".join(e.pipeline_text() for e in self.elements) + ")"

    def build(self, ctx: ir.Context) -> PassManager:
        """A PassManager for this pipeline in ``ctx`` (errors name the offending pass)."""
        pm = PassManager("builtin.module", ctx)
        pending: list[str] = []

        def flush():
            if not pending:
                return
            chunk = ",".join(pending)
            pending.clear()
            with captured_native_stderr() as native:
                try:
                    pm.add(chunk)
                    return
                except ValueError as e:
                    message = str(e)
            raise PipelineError(_explain_add_error(message, "".join(native)))

        for element in self.elements:
            if isinstance(element, ModulePass):
                flush()
                pm.add(element._callback, name=type(element).__name__, argument=element.name,
                       description=element.summary())
            else:
                pending.append(element.pipeline_text())
        flush()
        pm.enable_verifier(True)
        return pm

    def run(self, module: ir.Module, *, print_ir_after_all: bool = False, timing: bool = False,
            repro: bool = True, print_ir_before_all: bool = False) -> ir.Module:
        """Run in place on ``module``; raise ``PipelineError`` with diagnostics on failure."""
        ctx = module.context
        pm = self.build(ctx)
        if print_ir_after_all or print_ir_before_all:
            pm.enable_ir_printing(print_before_all=print_ir_before_all, print_after_all=print_ir_after_all,
                                  print_module_scope=True)
        if timing:
            pm.enable_timing()
        before = print_module(module) if repro else None
        with collecting(ctx) as diags:
            try:
                pm.run(module.operation)
                failed = False
            except MLIRError as e:
                diags.extend(Diagnostic.from_mlir(d) for d in e.error_diagnostics)
                failed = True
        if failed:
            # a pass that refused its input with a FuseflowError (unsupported op, infeasible order)
            # has said why; the dump is for failures that need reproducing
            refused = any(isinstance(getattr(e, "error", None), FuseflowError) for e in self.elements)
            raise PipelineError("pass pipeline failed", diags, repro=None if refused else self._dump_repro(before))
        return module

    def _dump_repro(self, text: str | None) -> str | None:
        if text is None:
            return None
        folder, note = env.repro_dir(), ""
        if not folder.is_dir():  # the pipeline's own error matters more: dump to the temp folder
            folder, note = Path(tempfile.gettempdir()), f" (FUSEFLOW_REPRO_DIR '{folder}' is not a folder)"
        with tempfile.NamedTemporaryFile("w", prefix="fuseflow-repro-", suffix=".mlir", dir=folder, delete=False) as f:
            f.write(text)
        return f"fuseflow-opt {shlex.quote(f.name)} -p {shlex.quote(str(self))}{note}"


def _explain_add_error(message: str, native: str) -> str:
    m = re.search(r"'([^']+)' does not refer to a registered pass", message)
    if m:
        return f"unknown pass '{m[1]}'{_hint(m[1])}"
    detail = " ".join(line.strip() for line in (native + "\n" + message).splitlines() if line.strip())
    detail = detail.replace("<Pass-Options-Parser>: ", "")
    return f"invalid pipeline: {detail}"


def run_pipeline(module: ir.Module, pipeline: str | Pipeline, **kw) -> ir.Module:
    """Run a textual pipeline (fuseflow and upstream passes mixed) on ``module`` in place."""
    if isinstance(pipeline, str):
        pipeline = Pipeline.parse(pipeline)
    return pipeline.run(module, **kw)
