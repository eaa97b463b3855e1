"""fuseflow-normalize: the frontend's normalization pipeline in one pass."""

from __future__ import annotations

from fuseflow.bindings import ir
from fuseflow.passes.pass_base import ModulePass, Option
from fuseflow.passes.reassociate import ASSOCIATIONS
from fuseflow.passes.registry import register

NORMALIZE_PIPELINE = (
    "fuseflow-fold-sparse-casts",
    "fuseflow-drop-redundant-init",
    "fuseflow-propagate-sparsity",
    "fuseflow-recognize-kernels",
    "fuseflow-sparsify-masked-softmax",
    "func.func(linalg-generalize-named-ops)",
    "fuseflow-fold-transposes",
    "fuseflow-drop-redundant-init",
    "fuseflow-propagate-sparsity",
    "fuseflow-expose-implicit-zeros",
    "canonicalize",
    "cse",
    "fuseflow-drop-redundant-init",
    "fuseflow-recognize-kernels",
)


@register
class NormalizePass(ModulePass):
    """Normalize imported linalg IR for the SAM lowering (runs a fixed sub-pipeline).

    Steps, in order: fold dense->sparse casts (`fuseflow-fold-sparse-casts`); drop redundant
    fills/empties (`fuseflow-drop-redundant-init`, while fills are still named); propagate
    sparsity through zero-preserving elementwise ops; tag kinds and patterns
    (`fuseflow-recognize-kernels`); rewrite masked softmax to a softmax over stored entries;
    generalize named ops to `linalg.generic` (unless `keep-named`); fold transposes into
    indexing maps (`fuseflow-fold-transposes`); drop redundant inits and propagate again;
    let max/min reductions over sparse operands see their implicit zeros
    (`fuseflow-expose-implicit-zeros`);
    canonicalize and cse; drop redundant inits again and re-tag (canonicalization may merge
    or erase ops). Running it twice gives the same IR.

    Guarantees after: every linalg op has a `fuseflow.kind`; softmax, masked softmax and
    layernorm occurrences carry `fuseflow.pattern`/`fuseflow.group`/`fuseflow.role`; no
    `tensor.cast` to a sparse type, no transpose read by a generic, no dead fill/empty remain;
    the function computes what it computed before (checked by tests through the reference).
    Options: `keep-named` keeps linalg named ops (matmul, batch_matmul, transpose) as they are;
    `associate=left|right` re-associates chains of two contractions after transposes are folded
    (`fuseflow-reassociate`; default `keep`).
    """

    name = "fuseflow-normalize"
    keep_named = Option(bool, False, "keep named linalg ops (do not generalize)")
    associate = Option(str, "keep", "re-associate contraction chains: keep, left ((A @ X) @ W) or right "
                       "(A @ (X @ W)); see fuseflow-reassociate", choices=list(ASSOCIATIONS))

    def pipeline(self) -> str:
        steps = [s for s in NORMALIZE_PIPELINE
                 if not (self.keep_named and ("generalize" in s or "fold-transposes" in s))]
        if self.associate != "keep" and not self.keep_named:
            # after transposes are folded (contractions read operands in any order) and before
            # sparsity is propagated again (the new intermediate's format follows its operands)
            at = steps.index("fuseflow-fold-transposes") + 1
            steps.insert(at, f"fuseflow-reassociate{{to={self.associate}}}")
        return "builtin.module(" + ",".join(steps) + ")"

    def run(self, module: ir.Operation) -> None:
        from fuseflow.passes.pipeline import Pipeline

        pm = Pipeline.parse(self.pipeline()).build(module.context)
        pm.run(module)
