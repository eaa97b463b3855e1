# Token and FIFO types shared by every compiled simulator module (cimport from here).
from libc.stdint cimport int32_t, int64_t

cdef enum TokenKind:
    TK_DATA = 0    # a coordinate / reference (field i) or a value (field v)
    TK_STOP = 1    # S_n: level n in field i
    TK_DONE = 2    # D: end of stream
    TK_EMPTY = 3   # N: "this operand has nothing here"

ctypedef struct Token:
    int32_t kind
    int64_t i      # crd / ref payload, stop level, or tile id for tile-valued streams
    double v       # scalar value payload

ctypedef struct Entry:
    Token tok
    int64_t time   # cycle at which the token becomes visible to the consumer

cdef class Fifo:
    cdef Entry* buf
    cdef Py_ssize_t cap        # allocated slots (a power of two)
    cdef Py_ssize_t head       # index of the oldest entry
    cdef Py_ssize_t count      # entries held
    cdef readonly Py_ssize_t depth   # capacity limit; 0 means unbounded
    cdef readonly int64_t pushed     # tokens ever pushed
    cdef readonly Py_ssize_t high_water
    cdef readonly int64_t last_pop_time  # cycle the consumer freed the most recent slot

    cdef bint c_full(self) noexcept nogil
    cdef int c_push(self, Token tok, int64_t time) except -1
    cdef bint c_pop(self, Entry* out) noexcept nogil
    cdef Entry* c_peek(self) noexcept nogil
    cdef int _grow(self) except -1
