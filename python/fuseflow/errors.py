"""Exception types. Every user-facing failure is a ``FuseflowError`` with a readable message."""

from __future__ import annotations

from fuseflow.diagnostics import Diagnostic


class FuseflowError(Exception):
    """Base class of fuseflow's user-facing errors."""


class MissingExtraError(FuseflowError, ImportError):
    """An optional dependency of a feature is not installed; the message names the extra."""


#: top-level modules of each optional extra (pyproject.toml) and the feature that needs them
EXTRAS = {
    "tune": ({"botorch", "gpytorch", "sklearn", "optuna", "matplotlib", "threadpoolctl"},
             "the tuner (fuseflow.tune, fuseflow tune, fuseflow explore) and its plots"),
    "ray": ({"ray"}, "the Ray executor"),
}


def missing_extra(e: ModuleNotFoundError) -> MissingExtraError | None:
    """The ``MissingExtraError`` for ``e`` when the missing module belongs to an extra."""
    top = (e.name or "").split(".")[0]
    for extra, (modules, feature) in EXTRAS.items():
        if top in modules:
            return MissingExtraError(f"{feature} needs the optional '{extra}' dependencies ({top} is not "
                                     f"installed): pip install 'fuseflow[{extra}]'")
    return None


class DiagnosticError(FuseflowError):
    """An MLIR failure (parse, verification, pass) with its diagnostics."""

    def __init__(self, summary: str, diagnostics: list[Diagnostic] | None = None):
        self.summary = summary
        self.diagnostics = list(diagnostics or [])
        super().__init__(self.render())

    def render(self) -> str:
        lines = [d.render() for d in self.diagnostics]
        if not any(d.severity == "error" for d in self.diagnostics):
            lines.append(f"error: {self.summary}")
        return "\n".join(lines)


class ParseError(DiagnosticError):
    """The input is not valid MLIR."""


class PipelineError(DiagnosticError):
    """A pass pipeline could not be built or failed while running."""

    def __init__(self, summary: str, diagnostics=None, *, repro: str | None = None):
        self.repro = repro
        super().__init__(summary, diagnostics)

    def render(self) -> str:
        text = super().render()
        if self.repro:
            text += f"\nnote: reproduce with: {self.repro}"
        return text


class UnsupportedOp(FuseflowError):
    """The lowering cannot express this operation; the message names the op and its location."""

    def __init__(self, op, why: str):
        self.op = op
        name = getattr(op, "operation", op).name
        super().__init__(f"{op.location}: cannot lower '{name}' to SAM: {why}")


class InfeasibleOrder(FuseflowError):
    """No dataflow order satisfies the region's constraints (or the requested one does not).

    The tuner treats this as an infeasible configuration."""


class LoweringError(FuseflowError):
    """A region's expression cannot be lowered in the chosen order (the message says why)."""


class BlockingError(FuseflowError):
    """A region that reads a block-sparse input cannot run on tiles: a block size that does not
    divide a dimension, or an op with no tile form (the message names the input or the op)."""
