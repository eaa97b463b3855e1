"""The Context factory: every fuseflow Context is made here.

A fuseflow Context has the torch dialect registered, the project's own dialects loaded exactly
once, and a diagnostic collector attached, so that errors reach the user's message instead of
stderr (see ``fuseflow.diagnostics``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from fuseflow.bindings import MLIRError, ir, register_torch_dialect
from fuseflow.diagnostics import Diagnostic, DiagnosticCollector
from fuseflow.errors import ParseError

# Loaders for the project's own dialects, called once per new Context. fuseflow.dialects
# appends to this list when it defines a dialect.
DIALECT_LOADERS: list[Callable[[ir.Context], None]] = []


class _State:
    def __init__(self, ctx: ir.Context):
        self.collector = DiagnosticCollector()
        self.handler = ctx.attach_diagnostic_handler(self.collector)


def make_context() -> ir.Context:
    """A new Context with torch + fuseflow dialects loaded and diagnostics captured."""
    import fuseflow.dialects  # noqa: F401  (registers project dialect loaders)

    ctx = ir.Context()
    register_torch_dialect(ctx)
    for load in DIALECT_LOADERS:
        load(ctx)
    adopt_context(ctx)
    return ctx


def adopt_context(ctx: ir.Context) -> ir.Context:
    """Attach fuseflow's diagnostic capture to a Context made elsewhere (idempotent)."""
    if getattr(ctx, "_fuseflow_state", None) is None:
        ctx._fuseflow_state = _State(ctx)
    # Route error diagnostics to handlers (our collector) in every case, whatever torch-mlir
    # left this flag at, so there is one path for all of them.
    ctx.emit_error_diagnostics = True
    return ctx


def drain_diagnostics(ctx: ir.Context) -> list[Diagnostic]:
    """Diagnostics recorded on ``ctx`` since the last drain."""
    state = getattr(ctx, "_fuseflow_state", None)
    return state.collector.drain() if state is not None else []


@contextlib.contextmanager
def collecting(ctx: ir.Context) -> Iterator[list[Diagnostic]]:
    """Collect the diagnostics emitted inside the block into the yielded list (also on error)."""
    adopt_context(ctx)
    drain_diagnostics(ctx)
    out: list[Diagnostic] = []
    try:
        yield out
    finally:
        out.extend(drain_diagnostics(ctx))


def clone_module(module: ir.Module) -> ir.Module:
    """A copy of ``module`` in its Context (its attributes and every top-level op cloned):
    cheaper than printing and parsing it again."""
    with module.context, ir.Location.unknown():
        copy = ir.Module.create()
        for op in module.body.operations:
            op.operation.clone(ip=ir.InsertionPoint(copy.body))
        attrs = module.operation.attributes
        for n in range(len(attrs)):
            copy.operation.attributes[attrs[n].name] = attrs[n].attr
    return copy


def parse_module(text: str, ctx: ir.Context | None = None, *, filename: str = "-",
                 line_offset: int = 0) -> ir.Module:
    """Parse and verify MLIR text; raise ``ParseError`` with mlir-opt style diagnostics."""
    ctx = ctx or make_context()
    with collecting(ctx) as diags:
        try:
            module = ir.Module.parse(text, ctx)
            ok = module.operation.verify()
        except MLIRError as e:
            diags.extend(Diagnostic.from_mlir(d) for d in e.error_diagnostics)
            module, ok = None, False
    if module is None or not ok:
        kind = "parse" if module is None else "verify"
        raise ParseError(
            f"failed to {kind} input",
            [d.relocated(filename, line_offset) for d in diags],
        )
    return module
