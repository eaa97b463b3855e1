"""Types and attribute vocabularies of the ``sam`` dialect (the ops are in ``sam.py``, which
re-exports everything here): stream types ``!sam.crd<index>``, ``!sam.ref<index>``,
``!sam.val<f32, array<i64>>`` (tiles: ``array<i64: 4, 4>``), ``!sam.repsig``, the writer handles
``!sam.level`` and ``!sam.values``; the level formats, ALU and reduce kinds; facts about tensor
levels the verifiers and analyses share."""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fuseflow.bindings import ext, ir, sparse_tensor

# ----------------------------------------------------------------------------------------------
# Attribute vocabularies (builtin StringAttr values checked by the verifiers)


class LevelFormat(enum.StrEnum):
    """Storage format of one tensor level (``format`` attribute)."""

    DENSE = "dense"
    COMPRESSED = "compressed"
    SINGLETON = "singleton"


class AluKind(enum.StrEnum):
    """``kind`` of ``sam.alu``."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    MAX = "max"
    MIN = "min"
    NEG = "neg"
    EXP = "exp"
    RELU = "relu"
    RSQRT = "rsqrt"
    SQRT = "sqrt"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    GELU = "gelu"
    RCP = "rcp"
    MATMUL = "matmul"  # tile x tile product a @ b of block-sparse value streams
    MATMUL_NT = "matmul_nt"  # a @ b^T
    MATMUL_TN = "matmul_tn"  # a^T @ b
    MATMUL_TT = "matmul_tt"  # a^T @ b^T
    TRANSPOSE = "transpose"  # a tile transposed (a row vector becomes a column vector)
    # a tile's rows (row_*) or columns (col_*) reduced: each row's statistic broadcast along it
    ROW_SUM = "row_sum"
    ROW_MAX = "row_max"
    ROW_MIN = "row_min"
    COL_SUM = "col_sum"
    COL_MAX = "col_max"
    COL_MIN = "col_min"

    @property
    def is_binary(self) -> bool:
        return self in BINARY_ALU_KINDS


MATMUL_KINDS = frozenset({AluKind.MATMUL, AluKind.MATMUL_NT, AluKind.MATMUL_TN, AluKind.MATMUL_TT})
TILE_ONLY_KINDS = frozenset({AluKind.TRANSPOSE, AluKind.ROW_SUM, AluKind.ROW_MAX, AluKind.ROW_MIN, AluKind.COL_SUM, AluKind.COL_MAX,
                             AluKind.COL_MIN})
BINARY_ALU_KINDS = frozenset({AluKind.ADD, AluKind.SUB, AluKind.MUL, AluKind.DIV, AluKind.MAX, AluKind.MIN}) | MATMUL_KINDS
UNARY_ALU_KINDS = frozenset(set(AluKind) - BINARY_ALU_KINDS)


class ReduceKind(enum.StrEnum):
    """``kind`` of ``sam.reduce``."""

    ADD = "add"
    MAX = "max"
    MIN = "min"


# sparse_tensor level-format enum value -> our format (loose_compressed and n_out_of_m have none).
_ENCODING_FORMATS = {
    int(sparse_tensor.LevelFormat.dense): LevelFormat.DENSE,
    int(sparse_tensor.LevelFormat.compressed): LevelFormat.COMPRESSED,
    int(sparse_tensor.LevelFormat.singleton): LevelFormat.SINGLETON,
}

STREAM_KINDS = ("crd", "ref", "val", "repsig")


class Sam(ext.Dialect, name="sam"):
    """The SAM dataflow dialect."""


# ----------------------------------------------------------------------------------------------
# Types


class CrdType(Sam.Type, name="crd"):
    """Coordinate stream of one tensor level: ``!sam.crd<index>``."""

    elem: Any


class RefType(Sam.Type, name="ref"):
    """Reference (position) stream: ``!sam.ref<index>``."""

    elem: Any


class ValType(Sam.Type, name="val"):
    """Value stream: ``!sam.val<f32, array<i64>>`` (scalars) or ``!sam.val<f32, array<i64: 4, 4>>``
    (each token a 4 x 4 tile of a block-sparse tensor)."""

    elem: Any
    tile: Any


class RepsigType(Sam.Type, name="repsig"):
    """Repeat-signal stream (``R``, ``S``, ``D``): ``!sam.repsig``."""


class LevelType(Sam.Type, name="level"):
    """Handle of one written output level (``sam.fiber_write`` result): ``!sam.level``."""


class ValuesType(Sam.Type, name="values"):
    """Handle of the written output values (``sam.val_write`` result): ``!sam.values``."""


def crd_type() -> ir.Type:
    return CrdType.get(ir.IndexType.get())


def ref_type() -> ir.Type:
    return RefType.get(ir.IndexType.get())


def val_type(elem: ir.Type, tile: Sequence[int] = ()) -> ir.Type:
    return ValType.get(elem, ir.DenseI64ArrayAttr.get([int(t) for t in tile]))


def repsig_type() -> ir.Type:
    return RepsigType.get()


def level_type() -> ir.Type:
    return LevelType.get()


def values_type() -> ir.Type:
    return ValuesType.get()


def type_kind(t: ir.Type) -> str | None:
    """``"crd"``, ``"ref"``, ``"val"``, ``"repsig"``, ``"level"``, ``"values"`` or None."""
    text = str(t)
    if not text.startswith("!sam."):
        return None
    return text[5:].split("<", 1)[0]


def stream_kind(value: ir.Value) -> str | None:
    """The stream kind of an SSA value (None for a non-stream value such as a tensor)."""
    kind = type_kind(value.type)
    return kind if kind in STREAM_KINDS else None


def tile_shape(t: ir.Type) -> tuple[int, ...]:
    """Tile shape of a ``!sam.val`` type (``()`` for scalar values)."""
    if type_kind(t) != "val":
        return ()
    return tuple(ir.DenseI64ArrayAttr(ValType(t).tile))


def val_elem_type(t: ir.Type) -> ir.Type:
    """Element type of a ``!sam.val`` type."""
    return ir.TypeAttr(ValType(t).elem).value


# ----------------------------------------------------------------------------------------------
# Tensor level helpers


def tensor_level_formats(t: ir.Type) -> list[LevelFormat] | None:
    """Formats of a tensor type's storage levels (all dense without an encoding); None for a
    non-tensor type. Raises ValueError for a level format the dialect does not model."""
    try:
        rt = ir.RankedTensorType(t)
    except ValueError:
        return None
    if rt.encoding is None:
        return [LevelFormat.DENSE] * rt.rank
    enc = sparse_tensor.EncodingAttr(rt.encoding)
    out = []
    for i, f in enumerate(enc.lvl_formats_enum):
        if int(f) not in _ENCODING_FORMATS:
            raise ValueError(f"level {i} has a format the sam dialect does not model")
        out.append(_ENCODING_FORMATS[int(f)])
    return out


@dataclass(frozen=True)
class BlockLayout:
    """A blocked tensor type's outer levels: the tensor dimension and format of each, B, and the
    dimensions that are not blocked (``batch``: plain levels, no in-block level)."""

    dims: list[int]
    formats: list[str]
    size: int
    batch: tuple[int, ...] = ()


def block_layout(t: ir.Type) -> BlockLayout | None:
    """The outer levels of a blocked type (``(d0 floordiv B, ..., d0 mod B, ...)``, a batch
    dimension as a plain ``d1``); None for one whose levels are plain dimensions. Raises
    ``ValueError`` for blocks that are not square."""
    rt = ir.RankedTensorType(t)
    if rt.encoding is None or sparse_tensor.EncodingAttr(rt.encoding).dim_to_lvl is None:
        return None
    rank = rt.rank
    exprs = list(sparse_tensor.EncodingAttr(rt.encoding).dim_to_lvl.results)
    outer, inner = exprs[:rank], exprs[rank:]
    if not inner or not all(isinstance(e, ir.AffineModExpr) for e in inner) or \
            not all(isinstance(e, ir.AffineFloorDivExpr | ir.AffineDimExpr) for e in outer) or \
            len(inner) != sum(isinstance(e, ir.AffineFloorDivExpr) for e in outer):
        return None
    sizes = {int(e.rhs.value) for e in exprs if not isinstance(e, ir.AffineDimExpr)}
    if len(sizes) != 1:
        raise ValueError(f"blocks of {' x '.join(str(int(e.rhs.value)) for e in inner)} are not square")
    dims = [e.position if isinstance(e, ir.AffineDimExpr) else e.lhs.position for e in outer]
    batch = tuple(sorted(e.position for e in outer if isinstance(e, ir.AffineDimExpr)))
    formats = [str(f) for f in tensor_level_formats(t)[:rank]]
    return BlockLayout(dims, formats, sizes.pop(), batch)


def level_size(tensor_type: ir.Type, level: int) -> int | None:
    """Number of coordinates of storage level ``level``: a dimension's size, or for a blocked
    level (``d0 floordiv B``) its number of blocks, an in-block one (``d0 mod B``) B (None for a
    dynamic size or another level map)."""
    rt = ir.RankedTensorType(tensor_type)
    if level < 0:
        return None
    if rt.encoding is None or sparse_tensor.EncodingAttr(rt.encoding).dim_to_lvl is None:
        exprs = [ir.AffineDimExpr.get(d) for d in range(rt.rank)]
    else:
        exprs = list(sparse_tensor.EncodingAttr(rt.encoding).dim_to_lvl.results)
    if level >= len(exprs):
        return None
    e = exprs[level]
    if isinstance(e, ir.AffineDimExpr):
        size, per = rt.shape[e.position], 1
    elif isinstance(e, ir.AffineFloorDivExpr | ir.AffineModExpr) and isinstance(e.lhs, ir.AffineDimExpr):
        size, per = rt.shape[e.lhs.position], int(e.rhs.value)
    else:
        return None
    if ir.ShapedType.is_dynamic_size(size):
        return None
    return per if isinstance(e, ir.AffineModExpr) else int(size) // per
