# Plain C token types shared by every compiled simulator module (declarations only, so that
# cimporting them creates no runtime import).
from libc.stdint cimport int32_t, int64_t

cdef enum TokenKind:
    TK_DATA = 0    # a coordinate / reference (field i) or a value (field v)
    TK_STOP = 1    # S_n: level n in field i
    TK_DONE = 2    # D: end of stream
    TK_EMPTY = 3   # N: "this operand has nothing here"

ctypedef struct Token:
    int32_t kind
    int32_t vac    # stops only: innermost levels at which the stop closes no fiber (0 = plain)
    int64_t i      # crd / ref payload, stop level, or tile id for tile-valued streams
    double v       # scalar value payload

ctypedef struct Entry:
    Token tok
    int64_t time   # cycle at which the token becomes visible to the consumer
