"""The format language: names for sparse tensor storage formats, and their MLIR encodings.

A format says how a tensor is stored, as a list of *levels*. Each level iterates one
coordinate (a tensor dimension, or for block formats a block index or an offset inside a block)
and has a *kind*:

- ``dense``: every coordinate is stored (no index arrays);
- ``compressed``: only coordinates with non-zeros are stored (a ``pos`` and a ``crd`` array);
- ``compressed(nonunique)`` then ``singleton`` levels: coordinate lists (COO).

Names accepted by :func:`parse_format` (case-insensitive)::

    dense                       no encoding (a plain tensor)
    csr    (d0 : dense,      d1 : compressed)
    csc    (d1 : dense,      d0 : compressed)
    dcsr   (d0 : compressed, d1 : compressed)
    dcsc   (d1 : compressed, d0 : compressed)
    coo    (d0 : compressed(nonunique), d1 : singleton(nonunique, soa), ..., dn : singleton(soa))
    bsr4 / bsr(4,4) / bsr(2,8)  block-sparse rows: block rows dense, block columns compressed,
                                 each stored block dense (row-major inside the block)
    bsc4 / bsc(4,4)             block-sparse columns (block columns outer)
    d0:dense,d1:compressed      explicit levels, outermost first; the dN names give the level
                                 order (``d1:dense,d0:compressed`` is CSC). ``c``/``d``/``s`` and
                                 ``cn`` (compressed(nonunique)) abbreviate the kinds.

Every encoding uses 64-bit positions and coordinates (``posWidth = 64, crdWidth = 64``), like
torch-mlir's importer, so torch's int64 index arrays can be passed as they are. For example::

    >>> parse_format("csr").encoding_text(2)
    '#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 64, crdWidth = 64 }>'

:meth:`Format.validate` rejects a format that does not fit a shape (rank mismatch, a block size
that does not divide the dimension) with a :class:`FormatError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fuseflow.errors import FuseflowError

DENSE, COMPRESSED, COMPRESSED_NU, SINGLETON, SINGLETON_NU = (
    "dense",
    "compressed",
    "compressed(nonunique)",
    "singleton",
    "singleton(nonunique)",
)
_KIND_ALIASES = {
    "d": DENSE,
    "dense": DENSE,
    "c": COMPRESSED,
    "compressed": COMPRESSED,
    "cn": COMPRESSED_NU,
    "compressed(nonunique)": COMPRESSED_NU,
    "s": SINGLETON,
    "singleton": SINGLETON,
    "sn": SINGLETON_NU,
    "singleton(nonunique)": SINGLETON_NU,
}
# Kinds whose level stores a positions array / a coordinates array (sparse-assembler order).
HAS_POS = (COMPRESSED, COMPRESSED_NU)
HAS_CRD = (COMPRESSED, COMPRESSED_NU, SINGLETON, SINGLETON_NU)

NAMED = ("dense", "csr", "csc", "dcsr", "dcsc", "coo", "bsr<b>", "bsr(<b0>,<b1>)", "bsc<b>",
         "bsc(<b0>,<b1>)", "d0:dense,d1:compressed (explicit levels)")


class FormatError(FuseflowError):
    """A format name is malformed, or a format does not fit the tensor it is applied to."""


@dataclass(frozen=True)
class Level:
    """One storage level: the tensor dimension it walks, and its kind.

    For block formats, ``block`` > 0 marks the level as walking ``dim floordiv block`` (when
    ``offset`` is False) or ``dim mod block`` (when ``offset`` is True).
    """

    dim: int
    kind: str
    block: int = 0
    offset: bool = False

    def expr(self) -> str:
        if not self.block:
            return f"d{self.dim}"
        return f"d{self.dim} {'mod' if self.offset else 'floordiv'} {self.block}"


@dataclass(frozen=True)
class Format:
    """A storage format: a name and its levels (``levels`` is None for a rank-generic name such
    as ``coo``, resolved per rank by :meth:`levels_for`)."""

    name: str
    levels: tuple[Level, ...] | None = None
    block: tuple[int, int] | None = None

    @property
    def is_dense(self) -> bool:
        return self.name == "dense"

    def levels_for(self, rank: int) -> tuple[Level, ...]:
        if self.name == "coo":
            if rank == 1:
                return (Level(0, COMPRESSED),)
            mid = tuple(Level(d, SINGLETON_NU) for d in range(1, rank - 1))
            return (Level(0, COMPRESSED_NU), *mid, Level(rank - 1, SINGLETON))
        if self.name == "dense":
            return tuple(Level(d, DENSE) for d in range(rank))
        assert self.levels is not None
        return self.levels

    def rank(self) -> int | None:
        if self.name in ("coo", "dense"):
            return None
        return len({lv.dim for lv in self.levels})

    def validate(self, shape: tuple[int, ...], what: str = "tensor") -> None:
        """Raise ``FormatError`` when this format cannot store a tensor of ``shape``."""
        shape = tuple(int(s) for s in shape)
        rank = self.rank()
        if rank is not None and rank != len(shape):
            raise FormatError(
                f"format '{self.name}' is for rank-{rank} tensors but {what} has shape "
                f"{list(shape)} (rank {len(shape)})"
            )
        if self.name == "coo" and not shape:
            raise FormatError(f"format 'coo' needs a tensor of rank >= 1; {what} is a scalar")
        if self.name not in ("coo", "dense"):
            for d, b in enumerate(self.dim_blocks(len(shape))):
                if shape[d] % b:
                    raise FormatError(
                        f"format '{self.name}': block size {b} does not divide dimension {d} "
                        f"(size {shape[d]}) of {what} with shape {list(shape)}"
                    )

    def dim_blocks(self, rank: int) -> tuple[int, ...]:
        """The block size along each tensor dimension (1 where it is not blocked)."""
        out = [1] * rank
        for lv in self.levels_for(rank):
            if lv.block:
                out[lv.dim] = lv.block
        return tuple(out)

    def encoding_text(self, rank: int, pos_width: int = 64, crd_width: int = 64) -> str | None:
        """The ``#sparse_tensor.encoding<...>`` text for a tensor of ``rank`` (None if dense).
        A width of 0 means MLIR's default (``index``) and is left out."""
        if self.is_dense:
            return None
        levels = self.levels_for(rank)
        dims = ", ".join(f"d{i}" for i in range(rank))
        lvls = ", ".join(f"{lv.expr()} : {_kind_text(lv, levels)}" for lv in levels)
        widths = "".join(f", {k} = {w}" for k, w in (("posWidth", pos_width), ("crdWidth", crd_width)) if w)
        return f"#sparse_tensor.encoding<{{ map = ({dims}) -> ({lvls}){widths} }}>"

    def level_sizes(self, shape: tuple[int, ...]) -> list[int]:
        """The coordinate range of each level for a tensor of ``shape``."""
        out = []
        for lv in self.levels_for(len(shape)):
            if not lv.block:
                out.append(int(shape[lv.dim]))
            else:
                out.append(lv.block if lv.offset else int(shape[lv.dim]) // lv.block)
        return out

    def __str__(self) -> str:
        return self.name


def _kind_text(level: Level, levels: tuple[Level, ...]) -> str:
    # torch-mlir writes COO singleton levels struct-of-arrays (one coordinate array per dim);
    # the flattening in fuseflow.frontend.buffers relies on that.
    if level.kind == SINGLETON:
        return "singleton(soa)"
    if level.kind == SINGLETON_NU:
        return "singleton(nonunique, soa)"
    return level.kind


def _block_format(name: str, b0: int, b1: int) -> Format:
    if b0 <= 0 or b1 <= 0:
        raise FormatError(f"format '{name}': block sizes must be positive, got ({b0}, {b1})")
    outer = [Level(0, DENSE, b0), Level(1, COMPRESSED, b1)]
    inner = [Level(0, DENSE, b0, True), Level(1, DENSE, b1, True)]
    if name.startswith("bsc"):
        outer = [Level(1, DENSE, b1), Level(0, COMPRESSED, b0)]
        inner = [Level(1, DENSE, b1, True), Level(0, DENSE, b0, True)]
    canonical = f"{name[:3]}({b0},{b1})"
    return Format(canonical, tuple(outer + inner), (b0, b1))


_BLOCK_RE = re.compile(r"^(bsr|bsc)\s*(?:(\d+)|\(\s*(\d+)\s*,\s*(\d+)\s*\))$")
_LEVEL_RE = re.compile(r"^d(\d+)\s*:\s*([a-z()]+(?:\(\s*nonunique\s*\))?)$")


def parse_format(spec: str | Format) -> Format:
    """Parse a format name (see the module docstring); raise ``FormatError`` when malformed."""
    if isinstance(spec, Format):
        return spec
    if not isinstance(spec, str):
        raise FormatError(f"a format is a string such as 'csr', got {type(spec).__name__}")
    text = spec.strip().lower()
    simple = {
        "dense": Format("dense"),
        "coo": Format("coo"),
        "csr": Format("csr", (Level(0, DENSE), Level(1, COMPRESSED))),
        "csc": Format("csc", (Level(1, DENSE), Level(0, COMPRESSED))),
        "dcsr": Format("dcsr", (Level(0, COMPRESSED), Level(1, COMPRESSED))),
        "dcsc": Format("dcsc", (Level(1, COMPRESSED), Level(0, COMPRESSED))),
    }
    if text in simple:
        return simple[text]
    m = _BLOCK_RE.match(text)
    if m:
        if m[2] is not None:
            return _block_format(m[1], int(m[2]), int(m[2]))
        return _block_format(m[1], int(m[3]), int(m[4]))
    if ":" in text:
        return _parse_levels(spec, text)
    raise FormatError(f"unknown format '{spec}'; known formats: {', '.join(NAMED)}")


def _parse_levels(spec: str, text: str) -> Format:
    body = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    levels = []
    for item in (p.strip() for p in re.split(r",(?![^()]*\))", body)):
        m = _LEVEL_RE.match(item.replace(" ", ""))
        kind = _KIND_ALIASES.get(m[2]) if m else None
        if m is None or kind is None:
            kinds = ", ".join(sorted(k for k in _KIND_ALIASES if len(k) > 2))
            raise FormatError(
                f"cannot parse level '{item}' of format '{spec}': expected d<N>:<kind> with kind "
                f"one of {kinds}"
            )
        levels.append(Level(int(m[1]), kind))
    dims = sorted(lv.dim for lv in levels)
    if dims != list(range(len(levels))):
        raise FormatError(
            f"format '{spec}': the level dimensions {[lv.dim for lv in levels]} must be a "
            f"permutation of 0..{len(levels) - 1}"
        )
    for i, lv in enumerate(levels):
        if lv.kind in (SINGLETON, SINGLETON_NU) and (
            i == 0 or levels[i - 1].kind not in (COMPRESSED_NU, SINGLETON_NU)
        ):
            raise FormatError(
                f"format '{spec}': a singleton level must follow a compressed(nonunique) or "
                f"singleton(nonunique) level"
            )
    if levels[-1].kind in (COMPRESSED_NU, SINGLETON_NU):
        raise FormatError(f"format '{spec}': the innermost level cannot be non-unique")
    name = ",".join(f"d{lv.dim}:{lv.kind}" for lv in levels)
    return Format(name, tuple(levels))


def torch_layout_format(tensor) -> Format:
    """The format of a torch tensor from its layout (strided -> dense, sparse_csr -> csr, ...)."""
    import torch

    layout = tensor.layout
    if layout == torch.strided:
        return Format("dense")
    if layout == torch.sparse_coo:
        if tensor.dense_dim():
            raise FormatError("hybrid COO tensors (with dense dimensions) are not supported")
        return Format("coo")
    if layout in (torch.sparse_csr, torch.sparse_csc) and tensor.ndim > 2 and not tensor.dense_dim():
        # batched CSR/CSC: dense batch levels, then each batch's matrix
        batch = tensor.ndim - 2
        rows, cols = (batch, batch + 1) if layout == torch.sparse_csr else (batch + 1, batch)
        return parse_format(",".join([*(f"d{d}:dense" for d in range(batch)), f"d{rows}:dense", f"d{cols}:compressed"]))
    if tensor.ndim != 2:
        raise FormatError(
            f"only 2-D (or batched CSR/CSC) compressed torch tensors are supported, got a {tensor.ndim}-D {layout}"
        )
    if layout == torch.sparse_csr:
        return parse_format("csr")
    if layout == torch.sparse_csc:
        return parse_format("csc")
    if layout in (torch.sparse_bsr, torch.sparse_bsc):
        b0, b1 = tensor.values().shape[-2:]
        return parse_format(f"{'bsr' if layout == torch.sparse_bsr else 'bsc'}({b0},{b1})")
    raise FormatError(f"unsupported torch layout {layout}")


_ENC_LEVEL_RE = re.compile(
    r"^d(\d+)(?:\s+(floordiv|mod)\s+(\d+))?\s*:\s*(dense|compressed|singleton)(?:\((.*)\))?$"
)


def format_from_encoding(text: str) -> Format:
    """The Format of a printed ``#sparse_tensor.encoding<{ map = ... }>`` (inverse of
    :meth:`Format.encoding_text`, up to index widths); raise ``FormatError`` if it has levels
    this module does not model (batch, n:m, loose compressed)."""
    m = re.search(r"map\s*=\s*\(([^)]*)\)\s*->\s*\((.*?)\)\s*(?:,\s*\w+\s*=|\}>)", text)
    if not m:
        raise FormatError(f"cannot read the level map of encoding {text}")
    rank = len([d for d in m[1].split(",") if d.strip()])
    levels: list[Level] = []
    for item in (p.strip() for p in re.split(r",(?![^()]*\))", m[2])):
        lm = _ENC_LEVEL_RE.match(item)
        if not lm:
            raise FormatError(f"unsupported level '{item}' in encoding {text}")
        props = {p.strip() for p in (lm[5] or "").split(",") if p.strip()}
        nonunique = "nonunique" in props
        kind = {"dense": DENSE, "compressed": COMPRESSED_NU if nonunique else COMPRESSED,
                "singleton": SINGLETON_NU if nonunique else SINGLETON}[lm[4]]
        block = int(lm[3]) if lm[3] else 0
        levels.append(Level(int(lm[1]), kind, block, lm[2] == "mod"))
    lv = tuple(levels)
    block_sizes = {x.dim: x.block for x in lv if x.block}
    candidates = [Format("coo"), *(parse_format(n) for n in ("csr", "csc", "dcsr", "dcsc"))]
    if len(block_sizes) == 2 and rank == 2:
        b = (block_sizes[0], block_sizes[1])
        candidates += [_block_format("bsr", *b), _block_format("bsc", *b)]
    for f in candidates:
        if f.levels_for(rank) == lv:
            return f
    return Format(levels_name(lv), lv)


def levels_name(levels: tuple[Level, ...]) -> str:
    """A readable name for explicit levels: ``d0:dense,d1:compressed``; block levels read
    ``d1/4:compressed`` (block index) and ``d1%4:dense`` (offset in the block)."""
    def one(x: Level) -> str:
        d = f"d{x.dim}" + (f"{'%' if x.offset else '/'}{x.block}" if x.block else "")
        return f"{d}:{x.kind}"

    return ",".join(one(x) for x in levels)
