"""Small helpers over the bindings used by several passes (guard-first pattern code)."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name, sparse_tensor


def ops_named(root: ir.Operation, name: str) -> list[ir.Operation]:
    """All operations called ``name`` under ``root``, collected before any mutation."""
    found: list[ir.Operation] = []

    def visit(op):
        if op_name(op) == name:
            found.append(op.operation)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found


def encoding(t: ir.Type):
    """The ``#sparse_tensor.encoding`` of a ranked tensor type, or None when dense."""
    if not isinstance(t, ir.RankedTensorType) or t.encoding is None:
        return None
    try:
        return sparse_tensor.EncodingAttr(t.encoding)
    except (ValueError, TypeError):
        return None


def is_sparse(t: ir.Type) -> bool:
    return encoding(t) is not None


def users(value: ir.Value) -> list[ir.Operation]:
    return [use.owner.operation if hasattr(use.owner, "operation") else use.owner for use in value.uses]


def indexing_maps(generic: ir.Operation) -> list[ir.AffineMap]:
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(generic.attributes["indexing_maps"])]


def num_inputs(generic: ir.Operation) -> int:
    """Number of ``ins`` operands of a linalg structured op (from operandSegmentSizes)."""
    sizes = generic.attributes["operandSegmentSizes"]
    return ir.DenseI32ArrayAttr(sizes)[0]


def block_arg_used(generic: ir.Operation, index: int) -> bool:
    """Whether the body of a linalg.generic reads its block argument ``index``."""
    arg = generic.regions[0].blocks[0].arguments[index]
    return any(True for _ in arg.uses)


def unread_empty_init(generic: ir.Operation) -> ir.Operation | None:
    """The ``tensor.empty`` a single-result linalg.generic writes into without its body reading
    it (so the init's contents do not matter), or None."""
    n_in = num_inputs(generic)
    init = generic.operands[n_in]
    empty = init.owner.operation if isinstance(init, ir.OpResult) else None
    if empty is None or op_name(empty) != "tensor.empty" or block_arg_used(generic, n_in):
        return None
    return empty


def retype_result(generic: ir.Operation, empty: ir.Operation, target: ir.Type) -> None:
    """Make ``generic`` write a fresh ``tensor.empty`` of ``target`` (replacing its unread init
    ``empty``, see ``unread_empty_init``) and give its result that type. The old empty is erased
    when nothing else uses it."""
    with ir.InsertionPoint(generic), generic.location:
        new_empty = ir.Operation.create("tensor.empty", results=[target], operands=list(empty.operands))
    generic.operands[num_inputs(generic)] = new_empty.results[0]
    generic.results[0].set_type(target)


def erase_if_unused(op: ir.Operation) -> None:
    if not any(True for r in op.results for _ in r.uses):
        op.erase()


def _relocate(op: ir.Operation, loc: ir.Location) -> None:
    op.location = loc
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                _relocate(inner.operation, loc)


def splice_function(text: str, args: list[ir.Value], before: ir.Operation,
                    context=None) -> tuple[list[ir.Value], list[ir.Operation]]:
    """Parse ``text`` (a module holding one ``func.func``), clone its body in front of
    ``before`` with its arguments replaced by ``args``; returns the values it returns and the
    cloned ops. Ops are cloned as written (attributes included) and take ``before``'s location
    (nested ops too), so a diagnostic on them points at the user's line, not at the template;
    raises what the parser raises."""
    from fuseflow.context import parse_module

    helper = parse_module(text, context if context is not None else before.context)
    block = helper.body.operations[0].regions[0].blocks[0]
    mapping = dict(zip(block.arguments, args, strict=True))
    cloned = []
    with ir.InsertionPoint(before):
        for op in list(block.operations):
            if op_name(op) == "func.return":
                return [mapping[v] for v in op.operands], cloned
            new = op.operation.clone()
            _relocate(new, before.location)
            cloned.append(new)
            for i, v in enumerate(new.operands):
                for old, rep in mapping.items():
                    if v == old:
                        new.operands[i] = rep
                        break
            for old_r, new_r in zip(op.results, new.results, strict=True):
                mapping[old_r] = new_r
    raise ValueError("the spliced function has no return")


def value_name(v: ir.Value) -> str:
    """``%argN`` for a function argument, else the producing op's name (no printing)."""
    if isinstance(v, ir.BlockArgument):
        return f"%arg{v.arg_number}"
    return f"the result of '{op_name(v.owner)}'"
