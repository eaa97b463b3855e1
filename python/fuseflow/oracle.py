"""The numerical oracle: run linalg + sparse_tensor IR on the CPU through MLIR's sparsifier.

``run(module, inputs)`` compiles a copy of the module with the upstream sparsifier (without
elementwise fusion, which the sparsifier cannot always compile on dense->sparse chains) and runs
it with MLIR's ExecutionEngine. Generics that the sparsifier cannot compile with a sparse
operand (non-sum reductions such as softmax's max over a sparse tensor; keepdim reductions of
block-sparse tensors) read a dense copy of it instead: the same values, as an oracle should. No shared library is needed (``enable-runtime-library`` is off:
``sparse-assembler{direct-out=true}`` turns sparse arguments and results into flat buffers).

Arguments are bound in the entry function's order. Each may be a numpy array, a torch tensor
(any layout) or a scipy sparse matrix; it is stored in the format its argument type says (the
encoding), whatever its own layout. Results come back as dense numpy arrays (sparse results
are unpacked from their pos/crd/values buffers)::

    m = fuseflow.import_model(GCN(...), (adj, x), sparse={"adj": "csr"})
    (out,) = fuseflow.oracle.run(m, [adj, x])   # lifted weights are filled in
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from fuseflow.bindings import execution_engine_class, ir, memref_runtime, op_name, print_module
from fuseflow.context import make_context, parse_module
from fuseflow.errors import FuseflowError
from fuseflow.frontend.buffers import pack, unpack
from fuseflow.frontend.formats import HAS_CRD, HAS_POS, Format, format_from_encoding
from fuseflow.passes import run_pipeline
from fuseflow.program import to_numpy

PIPELINE = (
    "builtin.module(sparse-assembler{direct-out=true},func.func(linalg-generalize-named-ops),"
    "sparsification-and-bufferization,sparse-storage-specifier-to-llvm,func.func(canonicalize),"
    "func.func(convert-linalg-to-loops),func.func(convert-vector-to-scf),func.func(expand-realloc),"
    "func.func(convert-scf-to-cf),expand-strided-metadata,lower-affine,convert-vector-to-llvm,"
    "finalize-memref-to-llvm,func.func(convert-complex-to-standard),func.func(arith-expand),"
    "func.func(convert-math-to-llvm),convert-math-to-libm,convert-complex-to-libm,"
    "convert-vector-to-llvm,convert-complex-to-llvm,convert-func-to-llvm,convert-arith-to-llvm,"
    "convert-cf-to-llvm,reconcile-unrealized-casts)"
)

_NUMPY = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "i32": np.int32}


class OracleRunError(FuseflowError):
    """The oracle cannot run this module or these inputs."""


@dataclass(frozen=True)
class _Operand:
    """One entry-function argument or result: shape, element dtype, format, index dtypes."""

    shape: tuple[int, ...]
    dtype: type
    format: Format
    pos_dtype: type = np.int64
    crd_dtype: type = np.int64

    @classmethod
    def of(cls, t: ir.Type) -> _Operand:
        rt = ir.RankedTensorType(t)
        dtype = _NUMPY.get(str(rt.element_type))
        if dtype is None:
            raise OracleRunError(f"unsupported element type {rt.element_type}")
        if rt.encoding is None:
            return cls(tuple(rt.shape), dtype, Format("dense"))
        from fuseflow.bindings import sparse_tensor

        enc = sparse_tensor.EncodingAttr(rt.encoding)
        width = {0: np.int64, 64: np.int64, 32: np.int32, 16: np.int16, 8: np.int8}
        return cls(tuple(rt.shape), dtype, format_from_encoding(str(rt.encoding)),
                   width[enc.pos_width], width[enc.crd_width])

    def buffer_dtypes(self) -> list[type]:
        """Element types of the flat buffers, in sparse-assembler order."""
        if self.format.is_dense:
            return [self.dtype]
        out = []
        for lv in self.format.levels_for(len(self.shape)):
            if lv.kind in HAS_POS:
                out.append(self.pos_dtype)
            if lv.kind in HAS_CRD:
                out.append(self.crd_dtype)
        return out + [self.dtype]

    def buffer_ranks(self) -> list[int]:
        return [len(self.shape)] if self.format.is_dense else [1] * len(self.buffer_dtypes())


def _sparsifier_can_read(generic) -> bool:
    """Whether the upstream sparsifier compiles (correctly) a generic reading a sparse operand.

    It crashes on sparse reductions that are not sums/products (e.g. torch-mlir's max with an
    argmax result, from softmax on a sparse tensor), and on kernels with a sparse operand where
    some indexing map uses a constant index (``keepdim`` results and broadcasts such as
    ``(d0, d1) -> (d0, 0)``); it fails to compile bodies its merger does not model (``erf``, a
    quotient by a computed tensor) that read sparse values made inside the function.
    """
    from fuseflow.passes.body_analysis import body_ops, iterators
    from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs

    n_in = num_inputs(generic)
    if len(generic.results) != 1 or not _merger_supports(generic):
        return False
    names = {op_name(o) for o in body_ops(generic)}
    if "reduction" in iterators(generic) and not names <= {
        "arith.addf", "arith.mulf", "arith.constant", "arith.truncf", "arith.extf",
        "sparse_tensor.reduce",
    }:
        return False
    constant_index = any(
        not isinstance(e, ir.AffineDimExpr) for m in indexing_maps(generic) for e in m.results
    )
    sparse_read = any(encoding(generic.operands[k].type) is not None for k in range(n_in))
    return not (constant_index and sparse_read)


def _densify_unsupported_reads(module: ir.Module) -> None:
    """Read sparse operands through ``sparse_tensor.convert`` to dense in the generics the
    sparsifier cannot compile (same values: absent entries are zeros in both)."""
    from fuseflow.passes.ir_utils import encoding, num_inputs, ops_named

    for generic in ops_named(module.operation, "linalg.generic"):
        if _sparsifier_can_read(generic):
            continue
        for k in range(num_inputs(generic)):
            v = generic.operands[k]
            if encoding(v.type) is None:
                continue
            t = ir.RankedTensorType(v.type)
            dense = ir.RankedTensorType.get(t.shape, t.element_type)
            with ir.InsertionPoint(generic):
                conv = ir.Operation.create("sparse_tensor.convert", results=[dense], operands=[v])
            generic.operands[k] = conv.results[0]


# Body ops the sparsifier's merger handles in a kernel that writes a sparse result.
_SPARSE_WRITE_OPS = {
    "arith.mulf", "arith.addf", "arith.subf", "arith.negf", "arith.truncf", "arith.extf",
    "arith.cmpf", "arith.select", "math.absf", "math.sqrt", "math.tanh", "math.sin",
    "math.expm1", "math.log1p",
}


def _merger_supports(generic) -> bool:
    """Whether the sparsifier's merger models this generic's body with sparse operands or
    result: bodies of sparse_tensor ops, or of supported arithmetic (a quotient only by a
    constant)."""
    from fuseflow.passes.body_analysis import body_ops, float_constant, is_constant_like

    ops = [o for o in body_ops(generic) if not is_constant_like(o)]
    if any(op_name(o).startswith("sparse_tensor.") for o in ops):
        return True
    for o in ops:
        name = op_name(o)
        if name == "arith.divf" and float_constant(o.operands[1]) is not None:
            continue
        if name not in _SPARSE_WRITE_OPS:
            return False
    return True


def _dense_then_convert_sparse_writes(module: ir.Module) -> None:
    """Make generics whose sparse write the sparsifier cannot compile write a dense result.

    Propagated sparsity can be beyond the sparsifier's merger (``gelu(S)`` uses erf,
    ``S * D / (D * D + 1)`` divides by a computed tensor): it fails with "unresolved
    materialization" although the values are zero wherever S is. Computing such a value
    densely gives the same numbers: linalg users read the dense value, other users a
    ``sparse_tensor.convert`` of it.
    """
    from fuseflow.passes.ir_utils import encoding, num_inputs, ops_named

    for generic in ops_named(module.operation, "linalg.generic"):
        if len(generic.results) != 1 or encoding(generic.results[0].type) is None:
            continue
        if _merger_supports(generic):
            continue
        sparse_type = ir.RankedTensorType(generic.results[0].type)
        dense_type = ir.RankedTensorType.get(sparse_type.shape, sparse_type.element_type)
        n_in = num_inputs(generic)
        init = generic.operands[n_in]
        empty = init.owner.operation if isinstance(init, ir.OpResult) else None
        if empty is None or op_name(empty) != "tensor.empty":
            continue
        with ir.InsertionPoint(generic):
            dense_init = ir.Operation.create("tensor.empty", results=[dense_type],
                                             operands=list(empty.operands))
        generic.operands[n_in] = dense_init.results[0]
        result = generic.results[0]
        others = [(u.owner, u.operand_number) for u in result.uses
                  if not op_name(u.owner).startswith("linalg.")]
        result.set_type(dense_type)
        if not list(empty.results[0].uses):
            empty.erase()  # the sparsifier crashes on a sparse tensor.empty left without uses
        for owner, index in others:
            owner = owner.operation if hasattr(owner, "operation") else owner
            if op_name(owner) == "sparse_tensor.convert" and owner.results[0].type == dense_type:
                owner.results[0].replace_all_uses_with(result)  # a dense -> sparse -> dense trip
                owner.erase()
                continue
            with ir.InsertionPoint(owner):
                conv = ir.Operation.create("sparse_tensor.convert", results=[sparse_type],
                                           operands=[result])
            owner.operands[index] = conv.results[0]


def _entry_func(module: ir.Module, func_name: str | None):
    funcs = [op for op in module.body.operations if op_name(op) == "func.func"]
    if func_name is not None:
        funcs = [f for f in funcs if ir.StringAttr(f.attributes["sym_name"]).value == func_name]
    else:
        funcs = [f for f in funcs if "sym_visibility" not in f.attributes] or funcs
    if len(funcs) != 1:
        raise OracleRunError(
            f"expected one entry function{f' @{func_name}' if func_name else ''}, found {len(funcs)}"
        )
    return funcs[0]


def run(module, inputs, *, func_name: str | None = None) -> list[np.ndarray]:
    """Run ``module`` (an ``ir.Module`` or an ``ImportedModel``) on ``inputs``; return the
    results as dense numpy arrays, in order. ``inputs`` is a sequence in argument order (or, for
    an ImportedModel, a dict by name; lifted weights may be omitted). The module is not changed."""
    from fuseflow.frontend.signature import ImportedModel

    if isinstance(module, ImportedModel):
        args = module.bind(inputs)
        func_name = func_name or module.func_name
        module = module.module
    else:
        if isinstance(inputs, dict):
            raise OracleRunError("inputs by name need an ImportedModel; pass a list")
        args = list(inputs)
    ctx = make_context()
    copy = parse_module(print_module(module), ctx)
    entry = _entry_func(copy, func_name)
    name = ir.StringAttr(entry.attributes["sym_name"]).value
    ftype = ir.FunctionType(ir.TypeAttr(entry.attributes["function_type"]).value)
    params = [_Operand.of(t) for t in ftype.inputs]
    results = [_Operand.of(t) for t in ftype.results]
    if len(args) != len(params):
        raise OracleRunError(f"@{name} takes {len(params)} arguments, got {len(args)}")
    flat_args = []
    for i, (x, p) in enumerate(zip(args, params, strict=True)):
        dense = np.asarray(to_numpy(x), dtype=p.dtype)
        if tuple(dense.shape) != p.shape:
            raise OracleRunError(
                f"argument {i} of @{name} has shape {list(p.shape)}, got {list(dense.shape)}"
            )
        bufs = pack(dense, p.format, p.dtype)
        flat_args += [np.ascontiguousarray(b, dtype=t) for b, t in zip(bufs, p.buffer_dtypes(), strict=True)]
    with ctx:
        entry.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
    run_pipeline(copy, "builtin.module(func.func(linalg-generalize-named-ops))")
    with ctx, ir.Location.unknown():
        _densify_unsupported_reads(copy)
        _dense_then_convert_sparse_writes(copy)
    run_pipeline(copy, PIPELINE)
    return _invoke(copy, name, flat_args, results)


class _UnrankedMemRef(ctypes.Structure):
    _fields_ = [("rank", ctypes.c_int64), ("descriptor", ctypes.c_void_p)]


def _strided_view(m: _UnrankedMemRef, elem_size: int) -> np.ndarray:
    """A numpy view of a ranked memref descriptor: {allocated, aligned, offset, sizes, strides}."""
    rank = m.rank
    fields = (ctypes.c_int64 * (3 + 2 * rank)).from_address(m.descriptor)
    aligned, offset = fields[1], fields[2]
    sizes, strides = list(fields[3:3 + rank]), list(fields[3 + rank:3 + 2 * rank])
    if any(s == 0 for s in sizes):
        return np.zeros(sizes, np.dtype(("V", elem_size)))
    extent = 1 + sum((n - 1) * st for n, st in zip(sizes, strides, strict=True))
    raw = (ctypes.c_byte * (extent * elem_size)).from_address(aligned + offset * elem_size)
    flat = np.frombuffer(raw, dtype=np.dtype(("V", elem_size)))
    return np.lib.stride_tricks.as_strided(flat, shape=sizes, strides=[st * elem_size for st in strides])


@ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.POINTER(_UnrankedMemRef), ctypes.POINTER(_UnrankedMemRef))
def _memref_copy(elem_size, src, dst):
    """MLIR's ``memrefCopy`` runtime function (strided copies), which the wheel does not ship."""
    out = _strided_view(dst.contents, elem_size)
    out[...] = _strided_view(src.contents, elem_size)


def _invoke(module, name: str, flat_args: list[np.ndarray], results: list[_Operand]):
    rt = memref_runtime()
    fields = []
    for r in results:
        for rank, dt in zip(r.buffer_ranks(), r.buffer_dtypes(), strict=True):
            fields.append((f"r{len(fields)}", rt.make_nd_memref_descriptor(rank, rt.as_ctype(dt))))
    Packed = type("Results", (ctypes.Structure,), {"_fields_": fields})
    packed = Packed()
    keep = [rt.get_ranked_memref_descriptor(a) for a in flat_args]
    ptrs = [ctypes.pointer(ctypes.pointer(packed))]
    ptrs += [ctypes.pointer(ctypes.pointer(d)) for d in keep]
    engine = execution_engine_class()(module, opt_level=2, shared_libs=[])
    # register_runtime() would prefix _mlir_ciface_; the lowering calls the plain C symbol.
    engine.raw_register_runtime("memrefCopy", ctypes.cast(_memref_copy, ctypes.c_void_p))
    engine.invoke(name, *ptrs)
    outs, k = [], 0
    for r in results:
        bufs = []
        for _ in r.buffer_dtypes():
            desc = getattr(packed, fields[k][0])
            bufs.append(rt.ranked_memref_to_numpy(ctypes.pointer(desc)).copy())
            k += 1
        outs.append(bufs[0].copy() if r.format.is_dense else unpack(bufs, r.format, r.shape, r.dtype))
    return outs
