"""The simulator's integer codes: stream kinds, ALU and reduce operations.

These are the simulator's own encodings (the ``sam`` dialect names the same operations with its
``AluKind``/``ReduceKind`` attribute values; ``fuseflow.sim.from_mlir`` maps one to the other).
"""

from __future__ import annotations

from enum import IntEnum


class StreamKind(IntEnum):
    CRD = 0
    REF = 1
    VAL = 2
    REPSIG = 3


class AluCode(IntEnum):
    ADD = 0
    SUB = 1
    MUL = 2
    DIV = 3
    MAX = 4
    MIN = 5
    MATMUL = 6  # tile x tile matrix product a @ b (blocked streams); scalar mul otherwise
    MATMUL_NT = 7  # a @ b^T
    MATMUL_TN = 8  # a^T @ b
    MATMUL_TT = 9  # a^T @ b^T
    NEG = 16
    EXP = 17
    RELU = 18
    RSQRT = 19
    SQRT = 20
    SIGMOID = 21
    TANH = 22
    GELU = 23
    ADDC = 24
    MULC = 25
    DIVC = 26
    MAXC = 27
    MINC = 28
    RCP = 29  # 1 / x
    # tile-only operations (blocked streams): a transpose; each row / column of a tile reduced
    # (keeping its axis)
    ROW_SUM = 30
    ROW_MAX = 31
    ROW_MIN = 32
    COL_SUM = 33
    COL_MAX = 34
    COL_MIN = 35
    TRANSPOSE = 36


BINARY_CODES = frozenset(op for op in AluCode if op < 16)
MATMUL_CODES = frozenset({AluCode.MATMUL, AluCode.MATMUL_NT, AluCode.MATMUL_TN, AluCode.MATMUL_TT})
TILE_ONLY_CODES = frozenset(range(AluCode.ROW_SUM, AluCode.TRANSPOSE + 1))


class ReduceCode(IntEnum):
    ADD = 0
    MAX = 1
    MIN = 2
