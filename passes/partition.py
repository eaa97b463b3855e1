"""fuseflow-partition: group a model's linalg ops into fusion regions."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name, sparse_tensor
from fuseflow.passes.fusion_modes import (
    FUSION_MODES,
    GROUPS,
    UNFUSED,
    Fusion,
    fusion_text,
    mode_names,
    parse_groups,
)
from fuseflow.passes.lowering import RUNNER_RESHAPES, is_init_only, is_unit_reshape
from fuseflow.passes.pass_base import ModulePass, Option, PassFailure
from fuseflow.passes.registry import register

REGION_ATTR = "fuseflow.region"


def computations(func_op) -> list[ir.Operation]:
    """The linalg ops of a function that compute something (fills and empties used only as
    inits are not computations), in program order."""
    out = []
    for op in func_op.regions[0].blocks[0].operations:
        op = op.operation
        if op_name(op).startswith("linalg.") and not is_init_only(op):
            out.append(op)
    return out


def reshape_sources(op: ir.Operation) -> list[ir.Operation]:
    """The ops whose results ``op`` reads through a reshape or slice that the program runner
    executes (``RUNNER_RESHAPES``; a unit-dimension ``expand_shape`` is read through instead)."""
    found = []
    for v in list(op.operands):
        through = False
        while isinstance(v, ir.OpResult) and op_name(v.owner) in RUNNER_RESHAPES:
            through = through or not is_unit_reshape(v)
            v = v.owner.operands[0]
        if through and isinstance(v, ir.OpResult):
            found.append(v.owner)
    return found


def cut_at_reshapes(members: list[int], ops: list[ir.Operation]) -> list[list[int]]:
    """Split a region (op indices in program order) so that no op reads, through a reshape or
    slice, a value computed in its own region: such values are materialized between regions."""
    parts: list[list[int]] = [[]]
    for n in sorted(members):
        current = {ops[m] for m in parts[-1]}
        if any(src in current for src in reshape_sources(ops[n])):
            parts.append([])
        parts[-1].append(n)
    return [p for p in parts if p]


@register
class PartitionPass(ModulePass):
    """Group the linalg ops of each function into fusion regions.

    Tags every computing linalg op (not the fills/empties that only initialize outputs) with an
    integer `fuseflow.region` attribute; `convert-linalg-to-sam` lowers each region to one SAM
    graph, and values crossing regions are materialized tensors in the type (dense, or the
    sparse encoding) the producing op declares (sparsity propagation chooses those formats).

    Modes: the strategies of `fuseflow.passes.fusion_modes` (`unfused`: one op per region,
    `layers`: a run of contractions plus the ops that follow them up to the next contraction,
    `full`: one region) and `groups` (explicit lists of op indices, e.g. `groups=0,1;2,3` with
    `;` between regions; every computing op must be in exactly one group, numbered in program
    order from 0).
    Reshapes and slices (`tensor.expand_shape`/`collapse_shape` that split or merge dimensions,
    `tensor.extract_slice`, e.g. multi-head attention's seq x d -> seq x heads x dh) are region
    boundaries: an op that reads, through one of them, a value computed in its own region
    starts a new region (`cut_at_reshapes`), so a reshape's operand and result are never in one
    region. The program runner executes them on the materialized dense value (a row-major
    reinterpretation), and the lowering chooses the level order the consuming region reads the
    result in. An `expand_shape` that only inserts unit dimensions is read through instead.
    Option `intermediates`: a format (the frontend's format language, e.g. `csr`,
    `d1:dense,d0:dense`) in which every value of its rank passed between regions is materialized: a
    `sparse_tensor.convert` to that format is inserted after its producer and the other regions
    read the converted value (its storage order then constrains their dataflow orders). Empty
    (the default): values are materialized as their producer declares them (dense, or the
    encoding sparsity propagation chose).
    Preconditions: named ops generalized, transposes folded (`fuseflow-fold-transposes`).
    Guarantees after: every computing op has a region number; regions are numbered in program
    order of their first op.
    """

    name = "fuseflow-partition"
    mode = Option(str, UNFUSED, f"{mode_names(' | ')} | {GROUPS}", choices=[*FUSION_MODES, GROUPS])
    groups = Option(str, "", "explicit regions for mode=groups: op indices, ',' within and ';' between regions")
    intermediates = Option(str, "", "format of values passed between regions (default: as declared)")

    @classmethod
    def for_fusion(cls, fusion: Fusion, intermediates: str = "") -> PartitionPass:
        """The pass that partitions by ``fusion`` (a strategy name or op-index groups)."""
        if isinstance(fusion, str):
            return cls(mode=fusion, intermediates=intermediates)
        return cls(mode=GROUPS, groups=fusion_text(fusion), intermediates=intermediates)

    def run(self, module: ir.Operation) -> None:
        for fn in module.regions[0].blocks[0].operations:
            if op_name(fn) == "func.func" and len(fn.regions[0].blocks) > 0:
                self._partition(fn)

    def region_lists(self, n_ops: int, ops) -> list[list[int]]:
        if self.mode in FUSION_MODES:
            return FUSION_MODES[self.mode].regions(ops)
        try:
            lists = [list(g) for g in parse_groups(self.groups)]
        except ValueError:
            raise PassFailure(f"groups='{self.groups}' is not a ';'-separated list of ','-separated op indices") from None
        flat = sorted(x for g in lists for x in g)
        if flat != list(range(n_ops)):
            raise PassFailure(f"groups must cover ops 0..{n_ops - 1} exactly once, got '{self.groups}'")
        return lists

    def _partition(self, fn) -> None:
        ops = computations(fn)
        lists = [part for members in self.region_lists(len(ops), ops) for part in cut_at_reshapes(members, ops)]
        lists = sorted(lists, key=min)
        i64 = ir.IntegerType.get_signless(64)
        for r, members in enumerate(lists):
            for n in members:
                ops[n].attributes[REGION_ATTR] = ir.IntegerAttr.get(i64, r)
        if self.intermediates:
            for op in ops:
                self._materialize(op)

    def _materialize(self, op: ir.Operation) -> None:
        from fuseflow.frontend.formats import FormatError, parse_format

        def region(o):
            attrs = o.operation.attributes
            return ir.IntegerAttr(attrs[REGION_ATTR]).value if REGION_ATTR in attrs else None

        value = op.results[0]
        readers = [u for u in value.uses if region(u.owner) not in (None, region(op))]
        if not readers:
            return
        t = ir.RankedTensorType(value.type)
        try:
            fmt = parse_format(self.intermediates)
            if fmt.rank() not in (None, t.rank):
                return  # a format of another rank (e.g. a 2-D order for a 1-D vector) does not apply
            fmt.validate(tuple(t.shape), "an intermediate")
        except FormatError as e:
            raise PassFailure(f"intermediates='{self.intermediates}': {e}", op.location) from None
        text = fmt.encoding_text(t.rank)
        target = ir.RankedTensorType.get(t.shape, t.element_type, ir.Attribute.parse(text) if text else None)
        if target == value.type:
            return
        with ir.InsertionPoint.after(op), op.location:
            converted = sparse_tensor.ConvertOp(target, value).result
        for use in readers:
            use.owner.operation.operands[use.operand_number] = converted
