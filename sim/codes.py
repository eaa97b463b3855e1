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
    MATMUL = 6  # tile x tile matrix product (blocked streams); scalar mul otherwise
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


BINARY_CODES = frozenset(op for op in AluCode if op < 16)


class ReduceCode(IntEnum):
    ADD = 0
    MAX = 1
    MIN = 2
