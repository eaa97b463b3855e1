# Token and FIFO types shared by every compiled simulator module (cimport from here).
from libc.stdint cimport int64_t

from ._token_types cimport TK_DATA, TK_DONE, TK_EMPTY, TK_STOP, Entry, Token


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
