"""Import a PyTorch model into linalg-on-tensors IR with ``#sparse_tensor.encoding`` arguments.

Method ("export dense, then annotate"): torch's sparse kernels cannot trace most ops (sum, mv,
softmax, masking, scalar products: see the importer notes in the design docs), so the model is
exported with every sparse tensor densified, decomposed with torch-mlir's table, imported by
FxImporter and lowered to linalg-on-tensors in a fuseflow Context; then the entry function's
sparse arguments are retyped to their encodings. Dense and sparse tensors have the same linalg
semantics (absent entries are zeros), so the IR computes what the model computes, and every op
torch-mlir lowers densely works for every format.

Sparse weights: parameters named in ``sparse`` are lifted to trailing function arguments
(``torch.func.functional_call``), so the user does not rewrite the model::

    m = import_model(sae, (x,), sparse={"enc.weight": "csr"})
    # func.func @main(%x: tensor<32x1024xf32>,
    #                 %enc.weight: tensor<256x1024xf32, #sparse_tensor.encoding<{...}>>) -> ...

A sparse argument used by an op outside linalg (rare: e.g. a reshape) is read through a
``sparse_tensor.convert`` to dense at that use.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Mapping

from fuseflow.bindings import (
    MLIRError,
    fx_decomposition_table,
    fx_importer_class,
    ir,
    op_name,
)
from fuseflow.context import make_context
from fuseflow.errors import FuseflowError, PipelineError
from fuseflow.frontend.formats import Format, FormatError, parse_format, torch_layout_format
from fuseflow.frontend.signature import ImportedModel, TensorSpec
from fuseflow.passes import run_pipeline

TORCH_BACKEND_PIPELINE = (
    "builtin.module(func.func(torch-match-quantized-custom-ops),"
    "torchdynamo-export-to-torch-backend-pipeline{ extra-library=})"
)
LINALG_PIPELINE = (
    "builtin.module(torch-backend-to-linalg-on-tensors-backend-pipeline{allow-non-finites=true})"
)


class FrontendError(FuseflowError):
    """The model cannot be imported (an unsupported op, an export failure, bad arguments)."""


def as_torch(value, name: str = "argument"):
    """A model argument as a torch tensor: torch tensors as they are, numpy arrays and scipy
    sparse matrices converted (CSR, CSC, COO and BSR keep their layout; other scipy formats
    become CSR). Floating arrays become float32, the dtype the models and the simulator
    compute in; integer and boolean ones keep theirs. Anything else is returned unchanged (the
    importer then names it)."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            value = value.astype(np.float32, copy=False)
        elif value.dtype.kind not in "iub":
            raise FrontendError(f"{name} is a numpy array of {value.dtype}; fuseflow takes real numbers")
        return torch.from_numpy(np.ascontiguousarray(value))
    try:
        import scipy.sparse as sp
    except ModuleNotFoundError:  # scipy is a dependency; kept optional here for clarity
        return value
    if not sp.issparse(value):
        return value
    if value.dtype.kind == "c":
        raise FrontendError(f"{name} is a complex sparse matrix; fuseflow takes real numbers")
    data_type = np.float32 if value.dtype.kind == "f" else value.dtype
    fmt = value.format
    if fmt == "csc":
        m = value
        return torch.sparse_csc_tensor(torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data.astype(data_type)), m.shape, check_invariants=True)
    if fmt == "coo":
        m = value
        idx = torch.from_numpy(np.vstack([m.row, m.col]).astype(np.int64))
        return torch.sparse_coo_tensor(idx, torch.from_numpy(m.data.astype(data_type)), m.shape, check_invariants=True).coalesce()
    if fmt == "bsr":
        m = value
        return torch.sparse_bsr_tensor(torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data.astype(data_type)), m.shape, check_invariants=True)
    m = value.tocsr()
    m.sort_indices()
    return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
                                   torch.from_numpy(m.data.astype(data_type)), m.shape, check_invariants=True)


def prepare(model, example_args):
    """``(module, args)`` for the importer: a ``torch.export.ExportedProgram`` is taken through
    its ``module()`` (``example_args=None``: the example inputs it was exported with); numpy
    and scipy arguments become tensors (``as_torch``)."""
    import torch

    if isinstance(model, torch.export.ExportedProgram):
        if example_args is None:
            args, kwargs = model.example_inputs or ((), {})
            if kwargs:
                raise FrontendError("the exported program was exported with keyword inputs; pass example_args")
            example_args = args
        model = model.module()
    if example_args is None:
        raise FrontendError("example_args are needed (forward()'s positional arguments)")
    args = tuple(example_args) if isinstance(example_args, (tuple, list)) else (example_args,)
    return model, tuple(as_torch(a, f"argument {k}") for k, a in enumerate(args))


def import_model(model, example_args, sparse: dict[str, str | Format] | None = None, *,
                 func_name: str = "main") -> ImportedModel:
    """Import ``model`` called on ``example_args`` into linalg-on-tensors with sparse encodings.

    ``model``: an ``nn.Module`` (or any callable torch.export takes) or a
    ``torch.export.ExportedProgram``. ``example_args``: a tensor or a tuple of them (forward()'s
    positional arguments; numpy arrays and scipy sparse matrices are taken too, see
    ``as_torch``; None for an exported program: its example inputs). Torch sparse tensors (COO,
    CSR, CSC, BSR, BSC) and scipy sparse matrices become sparse arguments in their layout.
    ``sparse``: optional ``{name: format}``; a name is a forward() argument (overrides its layout,
    or makes a dense tensor sparse) or a parameter/buffer path such as ``"enc.weight"`` (lifted
    to an argument). Formats are names of ``fuseflow.frontend.formats``.
    Raises ``FormatError`` for a format that does not fit, ``FrontendError`` for a model that
    cannot be imported (naming the op and the user's source line when an op is unsupported).
    """
    import torch

    model, args = prepare(model, example_args)
    if sparse is not None and not isinstance(sparse, Mapping):
        raise FrontendError(f"sparse= maps input or parameter names to formats, e.g. {{'adj': 'csr'}}; "
                            f"got a {type(sparse).__name__}")
    requested = {str(k): v for k, v in (sparse or {}).items()}
    names = _forward_arg_names(model, len(args))

    inputs: list[TensorSpec] = []
    dense_args = []
    for name, a in zip(names, args, strict=True):
        if not isinstance(a, torch.Tensor):
            raise FrontendError(
                f"argument '{name}' is a {type(a).__name__}; fuseflow imports tensor arguments only"
            )
        fmt = parse_format(requested.pop(name)) if name in requested else torch_layout_format(a)
        fmt.validate(tuple(a.shape), f"input '{name}'")
        inputs.append(TensorSpec(name, tuple(a.shape), _dtype_name(a), fmt, "input"))
        dense_args.append(a.to_dense() if a.layout != torch.strided else a)

    state = dict(model.named_parameters()) | dict(model.named_buffers())
    unknown = [n for n in requested if n not in state]
    if unknown:
        raise FormatError(
            f"sparse={{...}} names {unknown} which are neither forward() arguments "
            f"({', '.join(names)}) nor parameters/buffers of the model"
            + (f" ({', '.join(list(state)[:12])}{', ...' if len(state) > 12 else ''})" if state else "")
        )
    weights = {}
    lifted = list(requested)
    for name in lifted:
        w = state[name].detach()
        if w.layout != torch.strided:
            w = w.to_dense()
        fmt = parse_format(requested[name])
        fmt.validate(tuple(w.shape), f"parameter '{name}'")
        inputs.append(TensorSpec(name, tuple(w.shape), _dtype_name(w), fmt, "weight"))
        weights[name] = w.cpu().numpy()
        dense_args.append(w)

    target = _Lifted(model, lifted) if lifted else model
    prog = _export(target, tuple(dense_args))
    module = _import_and_lower(prog, func_name)
    func_op = _entry(module, func_name)
    with module.context, ir.Location.unknown():
        for i, spec in enumerate(inputs):
            enc = spec.format.encoding_text(len(spec.shape))
            if enc is not None:
                _retype_argument(func_op, i, ir.Attribute.parse(enc))
        if not module.operation.verify():
            raise FrontendError("internal error: the imported module does not verify")
    outputs = tuple(
        TensorSpec(f"result{i}", tuple(t.shape), _mlir_dtype_name(t.element_type),
                   Format("dense"), "output")
        for i, t in enumerate(ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value).results)
    )
    return ImportedModel(module, tuple(inputs), outputs, func_name, weights)


def _forward_arg_names(model, n: int) -> list[str]:
    fwd = getattr(model, "forward", model)
    try:
        params = list(inspect.signature(fwd).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY,
                                                  params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        else:
            names.append(f"arg{i}")
    return names


def _dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _mlir_dtype_name(t: ir.Type) -> str:
    text = str(t)
    return {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16",
            "i64": "int64", "i32": "int32", "i1": "bool"}.get(text, text)


def _lifted_class():
    import torch

    class Lifted(torch.nn.Module):
        """``model`` with the parameters ``names`` taken from trailing forward() arguments."""

        def __init__(self, model, names):
            super().__init__()
            self.model = model
            self.names = list(names)

        def forward(self, *args):
            n = len(args) - len(self.names)
            values = dict(zip(self.names, args[n:], strict=True))
            return torch.func.functional_call(self.model, values, args[:n], strict=False)

    return Lifted


def _Lifted(model, names):
    return _lifted_class()(model, names)


def _export(model, args):
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog = torch.export.export(model, args)
            return prog.run_decompositions(fx_decomposition_table())
    except Exception as e:  # torch raises many types; the user needs the message, not a trace
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FrontendError(f"torch.export failed on the model: {type(e).__name__}: {first}") from e


def _import_and_lower(prog, func_name: str):
    ctx = make_context()
    importer = fx_importer_class()(context=ctx)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importer.import_frozen_program(prog, func_name=func_name)
    except Exception as e:
        raise FrontendError(f"torch-mlir could not import the exported program: {e}") from e
    module = importer.module
    for pipeline in (TORCH_BACKEND_PIPELINE, LINALG_PIPELINE):
        try:
            run_pipeline(module, pipeline, repro=False)
        except PipelineError as e:
            raise _unsupported(e, module, prog) from None
        except MLIRError as e:  # pragma: no cover - run_pipeline converts these
            raise FrontendError(str(e)) from None
    return module


_LEGALIZE = re.compile(r"failed to legalize operation '([^']+)'")


def _unsupported(err: PipelineError, module, prog) -> FrontendError:
    """An error naming the op that torch-mlir could not lower and the user's source line."""
    errors = [d for d in err.diagnostics if d.severity == "error"] or err.diagnostics
    first = errors[0] if errors else None
    message = first.message if first else err.summary
    op = None
    where = f"{first.file}:{first.line}" if first is not None and first.file else None
    m = _LEGALIZE.search(message)
    if m:
        op = m[1]
        culprit = _first_unlowered(module)
        if culprit is not None:  # the diagnostic may name a constant the culprit uses
            op, where = culprit[0], culprit[1] or where
    if where is None and op is not None:
        where = _source_of(prog, op)
    if op is None:
        head = message.splitlines()[0]
        return FrontendError(
            f"torch-mlir could not lower the model to linalg: {head}"
            + (f"\n  at {where}" if where else "")
        )
    return FrontendError(
        f"unsupported operation '{op.removeprefix('torch.')}' (torch-mlir cannot lower it to "
        f"linalg)" + (f"\n  at {where}" if where else "")
        + "\n  hint: express it with ops torch-mlir lowers (docs/frontend.md lists the "
        "supported ops)"
    )


_FILE_LINE = re.compile(r'"([^"]+)":(\d+)')


def _first_unlowered(module) -> tuple[str, str | None] | None:
    """The first torch op (not a constant) left after a failed lowering, with its source
    position: the op torch-mlir could not lower."""
    found = []

    def visit(op):
        name = op_name(op)
        if name.startswith("torch.") and not name.startswith(("torch.constant.", "torch.prim.",
                                                              "torch.vtensor.literal")):
            found.append(op.operation)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if not found:
        return None
    op = found[0]
    name = op_name(op)
    if name == "torch.operator":
        name = "torch." + ir.StringAttr(op.attributes["name"]).value.removeprefix("torch.")
    m = _FILE_LINE.search(str(op.location))
    return name, (f"{m[1]}:{m[2]}" if m else None)


def _source_of(prog, op: str) -> str | None:
    target = op.removeprefix("torch.")
    for node in prog.graph.nodes:
        if node.op != "call_function":
            continue
        if str(node.target).rsplit(".", 1)[0] != target:
            continue
        trace = node.meta.get("stack_trace") or ""
        frames = re.findall(r'File "([^"]+)", line ([0-9]+)', trace)
        if frames:
            return f"{frames[-1][0]}:{frames[-1][1]}"
    return None


def _entry(module, func_name: str):
    for op in module.body.operations:
        if op_name(op) == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == func_name:
            return op.operation
    raise FrontendError(f"internal error: the imported module has no function @{func_name}")


def _is_linalg(op) -> bool:
    return op_name(op).startswith("linalg.")


def _retype_argument(func_op, index: int, encoding: ir.Attribute) -> None:
    """Give function argument ``index`` the sparse ``encoding``; non-linalg uses read a dense
    copy (``sparse_tensor.convert``)."""
    block = func_op.regions[0].blocks[0]
    arg = block.arguments[index]
    dense_type = ir.RankedTensorType(arg.type)
    sparse_type = ir.RankedTensorType.get(dense_type.shape, dense_type.element_type, encoding)
    others = [u.owner for u in arg.uses if not _is_linalg(u.owner)]
    arg.set_type(sparse_type)
    if others:
        with ir.InsertionPoint.at_block_begin(block):
            conv = ir.Operation.create("sparse_tensor.convert", results=[dense_type], operands=[arg])
        for owner in others:
            owner = owner.operation if hasattr(owner, "operation") else owner
            for k, v in enumerate(owner.operands):
                if v == arg:
                    owner.operands[k] = conv.results[0]
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    inputs = list(ftype.inputs)
    inputs[index] = sparse_type
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, ftype.results))
