# cython: language_level=3
"""Typed tokens and timestamped FIFOs: the storage layer of the compiled simulator.

A token is a C struct tagged by kind (data, stop, done, empty), never a string. A FIFO is a ring
buffer of (token, visible-at-cycle) entries. With a bounded depth the producer must stall while
the FIFO is full (backpressure); depth 0 means unbounded (Comal-like runs).
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport int64_t

DATA = TK_DATA
STOP = TK_STOP
DONE = TK_DONE
EMPTY = TK_EMPTY

KIND_NAMES = {TK_DATA: "data", TK_STOP: "stop", TK_DONE: "done", TK_EMPTY: "empty"}


cdef class Fifo:
    """A timestamped token FIFO.

    ``Fifo(depth=0)`` is unbounded; ``Fifo(depth=k)`` holds at most ``k`` tokens and ``push``
    on a full FIFO raises ``OverflowError`` (the engine checks ``full`` first and stalls).
    """

    def __cinit__(self, Py_ssize_t depth=0):
        if depth < 0:
            raise ValueError(f"FIFO depth must be >= 0 (0 = unbounded), got {depth}")
        self.depth = depth
        self.cap = 16
        while depth and self.cap < depth:
            self.cap <<= 1
        self.buf = <Entry*> PyMem_Malloc(self.cap * sizeof(Entry))
        if self.buf == NULL:
            raise MemoryError()
        self.head = 0
        self.count = 0
        self.pushed = 0
        self.high_water = 0
        self.last_pop_time = 0

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef bint c_full(self) noexcept nogil:
        return self.depth != 0 and self.count >= self.depth

    cdef int _grow(self) except -1:
        cdef Py_ssize_t newcap = self.cap * 2
        cdef Entry* nb = <Entry*> PyMem_Malloc(newcap * sizeof(Entry))
        cdef Py_ssize_t k
        if nb == NULL:
            raise MemoryError()
        for k in range(self.count):
            nb[k] = self.buf[(self.head + k) & (self.cap - 1)]
        PyMem_Free(self.buf)
        self.buf = nb
        self.cap = newcap
        self.head = 0
        return 0

    cdef int c_push(self, Token tok, int64_t time) except -1:
        if self.c_full():
            raise OverflowError(f"push on a full FIFO (depth {self.depth})")
        if self.count == self.cap:
            self._grow()
        cdef Entry* e = &self.buf[(self.head + self.count) & (self.cap - 1)]
        e.tok = tok
        e.time = time
        self.count += 1
        self.pushed += 1
        if self.count > self.high_water:
            self.high_water = self.count
        return 0

    cdef bint c_pop(self, Entry* out) noexcept nogil:
        if self.count == 0:
            return False
        out[0] = self.buf[self.head]
        self.head = (self.head + 1) & (self.cap - 1)
        self.count -= 1
        return True

    cdef Entry* c_peek(self) noexcept nogil:
        if self.count == 0:
            return NULL
        return &self.buf[self.head]

    # -- Python API (tests, debugging, the graph builder) -----------------------------------
    def __len__(self):
        return self.count

    @property
    def full(self):
        return self.c_full()

    def push(self, int kind, payload=0, int64_t time=0, int vac=0):
        """Append a token. ``payload`` is the int (crd/ref/stop level) or float (val); ``vac``
        marks a vacant stop."""
        cdef Token t
        if kind not in KIND_NAMES:
            raise ValueError(f"unknown token kind {kind}")
        t.kind = kind
        t.vac = vac if kind == TK_STOP else 0
        t.i = 0
        t.v = 0.0
        if kind == TK_DATA and isinstance(payload, float):
            t.v = payload
        elif kind in (TK_DATA, TK_STOP):
            t.i = payload
        self.c_push(t, time)

    def pop(self):
        """Remove and return the oldest entry as ``(kind, int_payload, float_payload, time)``."""
        cdef Entry e
        if not self.c_pop(&e):
            raise IndexError("pop from an empty FIFO")
        return (e.tok.kind, e.tok.i, e.tok.v, e.time)

    def peek(self):
        cdef Entry* e = self.c_peek()
        if e == NULL:
            raise IndexError("peek at an empty FIFO")
        return (e.tok.kind, e.tok.i, e.tok.v, e.time)

    def __repr__(self):
        d = "unbounded" if self.depth == 0 else str(self.depth)
        return f"<Fifo depth={d} size={self.count} pushed={self.pushed}>"
