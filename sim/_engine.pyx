# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled SAM engine: every primitive as a local-clock state machine.

Execution follows the DAM method: each node owns a local clock ``t`` (the earliest cycle of its
next step) and FIFO entries carry the cycle at which they become visible. The scheduler runs a
node until it blocks on an empty input or a full output, then moves to the next one. A step
happens at ``c = max(t, visible time of the tokens it consumes, free time of the output slots
it fills, memory data ready time)``; its outputs are visible at ``c + latency`` and the node's
next step is at ``c + ii``. Because every primitive is deterministic in its token values, the
order in which blocked nodes are resumed never changes outputs; with the memory model on it can
change which issue slot a request gets, so the visiting order is fixed (graph order, passes).
The hottest inner loops (scans, through as many fibers as their outputs have room for; two-input
intersect, array loads, scalar ALUs, reductions, order-1 sparse accumulators, repeats) are
batched per ``run()`` call: the steps that cannot block run in rounds with the FIFO ends in
plain locals (``lanes_open``), step for step the same as the generic paths. A two-input
intersect that drops the coordinates of a dense scan (long dense fibers co-iterated with sparse
ones) runs whole scheduler turns of the scan and of itself at once and both then sit out those
turns (``Sched.naps``, ``fused_dense_drops``; once such a run is in a steady rhythm its rest is
written at once): the order of every other node's steps and memory requests is the one the
turns taken one by one give. Traced nodes take the generic path at every step (tests compare
the two). A pass skips a node whose call could only repeat its last failed check, looking only
at the scheduler's compact ``Sched`` array: one waiting for input that has received none, or
one that found an output full without taking a step or requesting memory while nothing was
pushed to it or popped from its outputs; a pass in which only naps happened repeats until the
first nap ends and is taken that many times at once (not at all when a node's naps have just
ended).

Bounded FIFOs record when each slot was freed, so a producer refilling a slot waits for the
consumer's pop (exact backpressure).

Memory guard: every structure that grows while a graph runs (unbounded FIFOs, sparse
accumulators and their flush buffers, writers' output arrays, sink logs, tiles, the memory
model's busy intervals) charges the bytes it takes to one count (``mem_add``); past the
engine's budget the growing structure raises, and ``Engine.run`` turns that into a
``MemoryBudgetError`` naming the node and the FIFO or buffer that grew. An allocation the
machine refuses (``malloc`` NULL, ``std::bad_alloc``) becomes the same error, never an abort.
One engine runs at a time in a process (regions run one after another): a new engine starts
the count afresh. A full scheduler pass without any token moving while nodes
remain unfinished is a deadlock: ``DeadlockError`` lists every unfinished node and the FIFO it
waits on.
"""
from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memmove, memset
from libcpp.algorithm cimport sort
from libc.math cimport INFINITY, erf, exp, sqrt, tanh
from libcpp.vector cimport vector
from libcpp.map cimport map as cmap
from libcpp.pair cimport pair
from cython.operator cimport dereference as deref, preincrement as inc
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject

from ._token_types cimport Entry, TK_DATA, TK_DONE, TK_EMPTY, TK_STOP, Token

import time as _time

import numpy as np

from fuseflow.sim.errors import DeadlockError, GuardError, MemoryBudgetError, SpaccOverflowError, StreamError


# ---------------------------------------------------------------------------------------------
# FIFOs
cdef struct Q:
    Entry* buf
    int64_t cap
    int64_t head
    int64_t count
    int64_t depth
    int64_t pushed
    int64_t popped
    int64_t* pops     # pop times of the last `depth` pops (bounded FIFOs)
    int64_t high
    int32_t id
    # the node that pushes into this FIFO (borrowed: the engine holds its nodes), NULL before
    # add_node
    PyObject* producer
    # the scheduler's counts of tokens pushed into its consumer's inputs (Sched.inbox) and
    # popped from its producer's outputs (Sched.outbox); g_nowhere until a run sets them
    int64_t* cin
    int64_t* cout

cdef struct Port:
    Q** qs
    int n

cdef int64_t g_moves = 0
cdef int64_t g_nowhere = 0  # where a FIFO's scheduler counts go before a run
cdef enum:
    SPAN_MAX = 20000
# Scheduling only: a node stops filling an unbounded FIFO past this many tokens and lets the
# consumer run (keeps the working set in cache). It never changes timing (unbounded FIFOs have
# no slot times) and is switched off if a pass would otherwise stall.
cdef int64_t g_soft = 0

# Memory guard (see the module docstring): bytes held now, their peak, the budget (0: none).
cdef int64_t g_mem = 0
cdef int64_t g_mem_peak = 0
cdef int64_t g_mem_limit = 0
# Approximate bytes of one std::map node with a pair key (header + key + value, with the
# allocator's rounding) and of one Python (kind, i, v, vac) tuple in a sink's log.
cdef enum:
    MAP2_NODE = 80
    SINK_TOKEN = 120
# The most entries an order-1 sparse accumulator holds (its index holds int32 entry numbers)
cdef enum:
    ACC_MAX = 1 << 30


class _OverBudget(Exception):
    """Internal: the engine's memory count passed its budget. ``what`` names the structure
    that grew, ``fifo`` its FIFO id (-1: not a FIFO); ``Engine.run`` adds the node."""

    def __init__(self, what, fifo):
        super().__init__(what)
        self.what = what
        self.fifo = fifo


def _size(int64_t nbytes):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):,.1f} {unit}"
    return f"{nbytes} bytes"


cdef int mem_add(int64_t nbytes, int fifo, what) except -1:
    global g_mem, g_mem_peak
    g_mem += nbytes
    if g_mem > g_mem_peak:
        g_mem_peak = g_mem
    if nbytes > 0 and g_mem_limit and g_mem > g_mem_limit:
        raise _OverBudget(what, fifo)
    return 0


cdef inline int mem_grew(size_t cap0, size_t cap1, size_t elem, what) except -1:
    # a std::vector that reallocated on push_back: charge its new capacity
    if cap1 != cap0:
        mem_add(<int64_t> ((cap1 - cap0) * elem), -1, what)
    return 0


cdef int q_init(Q* q, int64_t depth, int fid) except -1:
    q.cap = 16
    while depth and q.cap < depth:
        q.cap <<= 1
    mem_add(q.cap * sizeof(Entry) + (q.cap if depth else 1) * sizeof(int64_t), fid, "FIFO")
    q.buf = <Entry*> malloc(q.cap * sizeof(Entry))
    # pop times ring: indexed by pop number & (cap - 1); cap >= depth and a bounded FIFO never
    # grows, so the time of pop number (pushed - depth) is still held when the next push needs it
    q.pops = <int64_t*> malloc((q.cap if depth else 1) * sizeof(int64_t))
    if q.buf == NULL or q.pops == NULL:
        raise MemoryError()
    q.head = 0
    q.count = 0
    q.depth = depth
    q.pushed = 0
    q.popped = 0
    q.high = 0
    q.id = fid
    q.producer = NULL
    q.cin = &g_nowhere
    q.cout = &g_nowhere
    return 0


cdef int q_grow(Q* q) except -1:
    cdef int64_t k
    mem_add(q.cap * sizeof(Entry), q.id, "FIFO")
    cdef Entry* nb = <Entry*> malloc(2 * q.cap * sizeof(Entry))
    if nb == NULL:
        raise _OverBudget("FIFO (the machine refused the allocation)", q.id)
    for k in range(q.count):
        nb[k] = q.buf[(q.head + k) & (q.cap - 1)]
    free(q.buf)
    q.buf = nb
    q.cap *= 2
    q.head = 0
    return 0


cdef inline int q_push(Q* q, Token tok, int64_t time) except -1:
    global g_moves
    if q.count == q.cap:
        q_grow(q)
    cdef Entry* e = &q.buf[(q.head + q.count) & (q.cap - 1)]
    e.tok = tok
    e.time = time
    q.count += 1
    q.pushed += 1
    q.cin[0] += 1
    if q.count > q.high:
        q.high = q.count
    g_moves += 1
    return 0


cdef inline void q_pop(Q* q, int64_t time) noexcept:
    global g_moves
    if q.depth:
        q.pops[q.popped & (q.cap - 1)] = time
    q.popped += 1
    q.cout[0] += 1
    q.head = (q.head + 1) & (q.cap - 1)
    q.count -= 1
    g_moves += 1


cdef inline int64_t q_free(Q* q) noexcept:
    if q.depth and q.pushed >= q.depth:
        return q.pops[(q.pushed - q.depth) & (q.cap - 1)]
    return 0


cdef inline Token mk(int32_t kind, int64_t i, double v, int32_t vac) noexcept:
    cdef Token t
    t.kind = kind
    t.vac = vac
    t.i = i
    t.v = v
    return t


cdef inline int64_t imax(int64_t a, int64_t b) noexcept:
    return a if a > b else b


cdef inline int64_t imin(int64_t a, int64_t b) noexcept:
    return a if a <= b else b


# A counter track for traces: one value per window of ``w`` cycles (summed or maxed), at most
# SERIES_MAX windows: past them the window doubles and neighbours fold, so a track's memory is
# bounded whatever the run's length (its resolution adapts instead).
cdef struct Series:
    int64_t w
    bint use_max
    vector[int64_t]* vals

cdef enum:
    SERIES_MAX = 4096


cdef void series_add(Series* sr, int64_t t, int64_t v) noexcept:
    cdef int64_t k, idx, n
    if sr.vals == NULL or t < 0:
        return
    idx = t // sr.w
    while idx >= SERIES_MAX:
        n = sr.vals.size()
        for k in range((n + 1) // 2):
            if sr.use_max:
                sr.vals[0][k] = imax(sr.vals[0][2 * k], sr.vals[0][2 * k + 1] if 2 * k + 1 < n else 0)
            else:
                sr.vals[0][k] = sr.vals[0][2 * k] + (sr.vals[0][2 * k + 1] if 2 * k + 1 < n else 0)
        sr.vals.resize((n + 1) // 2)
        sr.w *= 2
        idx = t // sr.w
    if idx >= <int64_t> sr.vals.size():
        sr.vals.resize(idx + 1, 0)
    if sr.use_max:
        if v > sr.vals[0][idx]:
            sr.vals[0][idx] = v
    else:
        sr.vals[0][idx] += v


# ---------------------------------------------------------------------------------------------
# Node base and step helpers
cdef class Node:
    cdef readonly str name
    cdef readonly int kind
    cdef readonly int index
    cdef Engine eng
    cdef Q** ins
    cdef int nin
    cdef Port* outs
    cdef int nout
    cdef int64_t t
    cdef int64_t lat
    cdef int64_t ii
    cdef readonly int64_t finish, first, steps, stall, tin, tout, ops, bytes_read, bytes_written
    cdef readonly bint done
    cdef readonly int blk_fifo
    cdef readonly int blk_why  # 0: input empty, 1: output full, 2: input short of a look-ahead
    cdef int64_t mc_batch[2]
    cdef int64_t mc_ready[2]
    cdef bint mem_started
    cdef bint tiled
    cdef int64_t block
    # activity spans for traces: [start, end) cycles of back-to-back steps (when tracing)
    cdef public bint tracing
    cdef readonly bint spans_merged
    cdef bint spanning
    cdef vector[int64_t] spans
    cdef int64_t span_start, span_end

    def __cinit__(self):
        self.ins = NULL
        self.outs = NULL
        self.blk_fifo = -1
        self.mc_batch[0] = -1
        self.mc_batch[1] = -1

    def __dealloc__(self):
        cdef int p
        if self.outs != NULL:
            for p in range(self.nout):
                free(self.outs[p].qs)
            free(self.outs)
        free(self.ins)

    cdef int run(self) except -1:
        return 0

    def configure(self, **kw):
        """Set the kernel's parameters from its record's ``configure`` keywords (primitives.py)."""

    def set_tiles(self, bint tiled, int64_t block):
        """Whether the node handles B x B tiles, and B."""
        self.tiled = tiled
        self.block = block

    def error(self, msg):
        return StreamError(f"node {self.name!r}: {msg}")

    def release(self):
        """Free what this node's run grew (subclasses holding more extend it)."""
        self.spans.clear()
        self.spans.shrink_to_fit()

    @property
    def local_clock(self):
        return self.t

    def counters(self):
        """(tokens in, tokens out, steps, stall cycles, first, finish, ops, bytes read, bytes
        written): a ``NodeStats`` in one call."""
        return (self.tin, self.tout, self.steps, self.stall, self.first, self.finish, self.ops, self.bytes_read,
                self.bytes_written)

    def activity(self):
        """[(start, end), ...] busy spans (only when ``tracing`` was set before the run)."""
        out = [(self.spans[k], self.spans[k + 1]) for k in range(0, self.spans.size(), 2)]
        if self.spanning:
            out.append((self.span_start, self.span_end))
        return out


# What the scheduler keeps of each node between passes, in one compact array (Engine.sched,
# by node index), so that a pass skips a node without touching the node or its FIFOs: the
# tokens ever pushed into its inputs and popped from its outputs (kept up to date by every
# push and pop through the FIFOs' cin/cout), the same two counts when its last run() returned,
# its clock and why it blocked then, and the turns it sits out.
cdef struct Sched:
    int64_t inbox
    int64_t outbox
    int64_t seen      # inbox when the last run() returned
    int64_t seen_out  # outbox then, when idle_full
    int64_t t         # the node's clock then
    # scheduler turns to sit out: a fused run (fused_dense_drops) already did what the node's
    # next ``naps`` turns would have done
    int64_t naps
    int32_t blk_fifo
    int32_t blk_why
    # the last run() took no step, made no memory request and blocked on a full output
    bint idle_full


cdef int64_t pushed_in(Node n) noexcept:
    # tokens ever pushed into n's inputs, from the FIFOs (what Sched.inbox keeps up to date)
    cdef int p
    cdef int64_t total = 0
    for p in range(n.nin):
        total += n.ins[p].pushed
    return total


cdef int64_t popped_out(Node n) noexcept:
    # tokens ever popped from n's outputs, from the FIFOs (what Sched.outbox keeps up to date)
    cdef int p, j
    cdef int64_t total = 0
    for p in range(n.nout):
        for j in range(n.outs[p].n):
            total += n.outs[p].qs[j].popped
    return total


cdef inline bint has(Node n, int p, int64_t k) noexcept:
    if n.ins[p].count > k:
        return True
    n.blk_fifo = n.ins[p].id
    n.blk_why = 0 if k == 0 or n.ins[p].count == 0 else 2
    return False


cdef inline Entry* hd(Node n, int p, int64_t k) noexcept:
    cdef Q* q = n.ins[p]
    return &q.buf[(q.head + k) & (q.cap - 1)]


cdef inline bint room(Node n, int p, int64_t* c) noexcept:
    cdef Port* port = &n.outs[p]
    cdef int j
    cdef Q* q
    cdef int64_t f
    for j in range(port.n):
        q = port.qs[j]
        if (q.depth and q.count >= q.depth) or (g_soft and not q.depth and q.count >= g_soft):
            n.blk_fifo = q.id
            n.blk_why = 1
            return False
        f = q_free(q)
        if f > c[0]:
            c[0] = f
    return True


cdef inline bint room1(Node n, Q* q, int64_t* c) noexcept:
    # room() for one FIFO of a single-consumer port (the batched loops' fast path)
    cdef int64_t f
    if q.depth:
        if q.count >= q.depth:
            n.blk_fifo = q.id
            n.blk_why = 1
            return False
        if q.pushed >= q.depth:
            f = q.pops[(q.pushed - q.depth) & (q.cap - 1)]
            if f > c[0]:
                c[0] = f
    elif g_soft and q.count >= g_soft:
        n.blk_fifo = q.id
        n.blk_why = 1
        return False
    return True


cdef inline int64_t q_space(Q* q) noexcept:
    # How many pushes in a row room() allows on q with no pop in between (the batched loops'
    # round size): a bounded FIFO's free slots, an unbounded one's tokens under the soft limit.
    if q.depth:
        return q.depth - q.count
    if g_soft:
        return g_soft - q.count if q.count < g_soft else 0
    return INT64_MAX


# A batched loop keeps the ends of its FIFOs in locals (``Tail``: the pushing end, ``Head``:
# the popping end) so the compiler holds them in registers across steps: only the node runs
# while it runs, so nothing else moves these ends; ``*_close`` writes them back.
cdef struct Tail:
    Q* q
    Entry* buf
    int64_t* pops
    int64_t mask, write, count, pushed, depth

cdef struct Head:
    Q* q
    Entry* buf
    int64_t* pops
    int64_t mask, read, count, popped, depth


cdef inline void tail_open(Tail* t, Q* q) noexcept:
    t.q = q
    t.buf = q.buf
    t.pops = q.pops
    t.mask = q.cap - 1
    t.write = q.head + q.count
    t.count = q.count
    t.pushed = q.pushed
    t.depth = q.depth


cdef inline int64_t tail_slot(Tail* t, int64_t c) noexcept:
    # c delayed to the free time of the slot the next push fills (room()'s wait; the caller
    # knows the FIFO has room)
    cdef int64_t f
    if t.depth and t.pushed >= t.depth:
        f = t.pops[(t.pushed - t.depth) & t.mask]
        if f > c:
            return f
    return c


cdef inline int tail_push(Tail* t, Token tok, int64_t time) except -1:
    cdef Entry* e
    if t.count == t.mask + 1:  # a full unbounded FIFO doubles, as q_push does
        t.q.count = t.count
        q_grow(t.q)
        t.buf = t.q.buf
        t.mask = t.q.cap - 1
        t.write = t.count
    e = &t.buf[t.write & t.mask]
    e.tok = tok
    e.time = time
    t.write += 1
    t.count += 1
    t.pushed += 1
    return 0


cdef inline void tail_close(Tail* t) noexcept:
    # only pushes happened since the open: the count peaks now
    t.q.count = t.count
    t.q.cin[0] += t.pushed - t.q.pushed
    t.q.pushed = t.pushed
    if t.count > t.q.high:
        t.q.high = t.count


cdef inline bint tail_room(Node n, Tail* t, int64_t* c) noexcept:
    # room1() on a Tail
    if t.depth:
        if t.count >= t.depth:
            n.blk_fifo = t.q.id
            n.blk_why = 1
            return False
        c[0] = tail_slot(t, c[0])
    elif g_soft and t.count >= g_soft:
        n.blk_fifo = t.q.id
        n.blk_why = 1
        return False
    return True


cdef inline void head_open(Head* h, Q* q) noexcept:
    h.q = q
    h.buf = q.buf
    h.pops = q.pops
    h.mask = q.cap - 1
    h.read = q.head
    h.count = q.count
    h.popped = q.popped
    h.depth = q.depth


cdef inline Entry* head_at(Head* h) noexcept:
    return &h.buf[h.read]


cdef inline void head_pop(Head* h, int64_t time) noexcept:
    if h.depth:
        h.pops[h.popped & h.mask] = time
    h.popped += 1
    h.read = (h.read + 1) & h.mask
    h.count -= 1


cdef inline void head_close(Head* h) noexcept:
    h.q.head = h.read
    h.q.count = h.count
    h.q.cout[0] += h.popped - h.q.popped
    h.q.popped = h.popped


cdef enum:
    ROUND_OUTS = 8  # the most consumers (all output ports together) a batched round writes to


# A batched loop that writes entries at a FIFO's tail or records the pop times of its head
# entries by index (pushes k..k+m-1 or pops), with no struct of locals, then commits them:
cdef inline void q_pushed(Q* q, int64_t m) noexcept:
    # the m entries after the tail are written
    q.count += m
    q.pushed += m
    q.cin[0] += m
    if q.count > q.high:
        q.high = q.count


cdef inline void q_popped(Q* q, int64_t m) noexcept:
    # the m head entries are taken (their pop times are in the ring when the FIFO is bounded)
    q.head = (q.head + m) & (q.cap - 1)
    q.count -= m
    q.popped += m
    q.cout[0] += m


# The consumers of a node's output ports as a batched round sees them: one Lane per consumer
# FIFO, in a local array (never aliased by the entries the round writes), with the index of
# its next push, the push that waits for a pop (g: push g + depth waits for pop g; INT64_MIN
# when unbounded) and the port whose token it gets.
cdef struct Lane:
    Q* q
    Entry* buf
    int64_t* pops
    int64_t mask, w, g
    int port


cdef inline int lanes_open(Node n, Lane* ln, int64_t* most) noexcept:
    # one Lane per consumer of every output port; ``most`` capped at the pushes every FIFO
    # has room (and buffer) for. Returns the number of lanes, -1 past ROUND_OUTS.
    cdef int no = 0, p, j
    cdef Q* q
    for p in range(n.nout):
        for j in range(n.outs[p].n):
            if no == ROUND_OUTS:
                return -1
            q = n.outs[p].qs[j]
            ln[no].q = q
            ln[no].buf = q.buf
            ln[no].pops = q.pops
            ln[no].mask = q.cap - 1
            ln[no].w = q.head + q.count
            ln[no].g = q.pushed - q.depth if q.depth else INT64_MIN
            ln[no].port = p
            most[0] = imin(most[0], imin(q_space(q), q.cap - q.count))
            no += 1
    return no


cdef inline int64_t lanes_wait(Lane* ln, int no, int64_t m, int64_t c) noexcept:
    # c delayed to the free time of the slot push m of the round fills in every lane
    cdef int o
    cdef int64_t f
    for o in range(no):
        if ln[o].g + m >= 0:
            f = ln[o].pops[(ln[o].g + m) & ln[o].mask]
            if f > c:
                c = f
    return c


cdef inline void lanes_put(Lane* ln, int no, int64_t m, Token* tok, int64_t time) noexcept:
    # push m of the round: the same token in every lane
    cdef int o
    cdef Entry* e
    for o in range(no):
        e = &ln[o].buf[(ln[o].w + m) & ln[o].mask]
        e.tok = tok[0]
        e.time = time


cdef inline void lanes_close(Lane* ln, int no, int64_t m) noexcept:
    cdef int o
    for o in range(no):
        q_pushed(ln[o].q, m)


cdef inline void q_pop_time(Q* q, int64_t m, int64_t c) noexcept:
    # the round's pop m of q happens at c (a bounded FIFO's ring keeps it for the producer)
    if q.depth:
        q.pops[(q.popped + m) & (q.cap - 1)] = c


cdef inline void steps_taken(Node n, int64_t m, int64_t t, int64_t stall) noexcept:
    # a round's m steps, the last at t - ii, taken after the node's first: its clock, step and
    # stall counts and finish as m calls of step() leave them
    n.steps += m
    n.stall = stall
    n.t = t
    if t - n.ii + n.lat > n.finish:
        n.finish = t - n.ii + n.lat


cdef inline bint room_all(Node n, int64_t* c) noexcept:
    cdef int p
    for p in range(n.nout):
        if not room(n, p, c):
            return False
    return True


cdef inline int emit(Node n, int p, Token tok, int64_t c) except -1:
    cdef Port* port = &n.outs[p]
    cdef int j
    for j in range(port.n):
        q_push(port.qs[j], tok, c + n.lat)
    n.tout += 1
    return 0


cdef inline void take(Node n, int p, int64_t c) noexcept:
    q_pop(n.ins[p], c)
    n.tin += 1


cdef inline int64_t start(Node n, int64_t c) noexcept:
    if c < n.t:
        c = n.t
    if n.steps:
        n.stall += c - n.t
    else:
        n.first = c
    return c


cdef inline void step(Node n, int64_t c) noexcept:
    n.t = c + n.ii
    n.steps += 1
    if c + n.lat > n.finish:
        n.finish = c + n.lat
    if n.tracing:
        record_span(n, c)


cdef void record_span(Node n, int64_t c) noexcept:
    # A new span starts after an idle gap. Only steps inside the engine's trace window count;
    # past SPAN_MAX spans a node's last span just grows (``spans_merged`` says so in the trace).
    cdef Engine e = n.eng
    cdef int p
    if c < e.w0 or c >= e.w1:
        return
    if not n.spanning:
        n.spanning = True
        n.span_start = c
    elif c > n.span_end:
        if n.spans.size() < 2 * SPAN_MAX:
            n.spans.push_back(n.span_start)
            n.spans.push_back(n.span_end)
            n.span_start = c
        else:
            n.spans_merged = True
    n.span_end = c + n.ii
    if e.trace_fifos:
        for p in range(n.nin):
            series_add(&e.fifo_series[n.ins[p].id], c, visible(n.ins[p], c))


cdef int64_t visible(Q* q, int64_t c) noexcept:
    # tokens in q visible at cycle c (entry times never decrease in a FIFO: one producer whose
    # clock only moves forward), by binary search over the ring
    cdef int64_t lo = 0, hi = q.count, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if q.buf[(q.head + mid) & (q.cap - 1)].time <= c:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void finish_sink(Node n, int64_t c) noexcept:
    # sinks have no output latency: done one cycle after their last step
    n.done = True
    if c + 1 > n.finish:
        n.finish = c + 1


# Memory reads: a kernel requests a read (``mread``, ``mread_words``) before it knows whether its
# output has room, and a step that finds no room is attempted again later with the same read
# (served by the same request). So the requests give only timing; a kernel counts the words a
# step read when the step commits (``count_read``), once however often it was attempted.
cdef inline void count_read(Node n, int64_t words) noexcept:
    n.bytes_read += words * n.eng.m_word


cdef inline int64_t batch_of(Engine e, int64_t addr) noexcept:
    # the memory batch of a word address: a shift for a power-of-two batch (a 64-bit division
    # would sit on the path of every load)
    return addr >> e.m_bshift if e.m_bshift >= 0 else addr // e.m_batch


cdef inline int64_t log2_or_neg(int64_t x) noexcept:
    # log2(x) for a power of two, else -1
    cdef int64_t k = 0
    if x <= 0 or (x & (x - 1)):
        return -1
    while (<int64_t> 1 << k) < x:
        k += 1
    return k


cdef inline int64_t mread(Node n, int slot, int64_t addr, int64_t t) except -1:
    cdef Engine e = n.eng
    if not e.mem_on:
        return t
    cdef int64_t b = batch_of(e, addr)
    if n.mc_batch[slot] == b:
        return imax(t, n.mc_ready[slot])
    cdef int64_t r = e.reserve(b, t) + e.m_lat
    if not n.mem_started:
        r += e.m_start
        n.mem_started = True
    n.mc_batch[slot] = b
    n.mc_ready[slot] = r
    return imax(t, r)


cdef inline int mwrite(Node n, int slot, int64_t addr, int64_t t) except -1:
    # writers write in the step that takes the written token (never attempted twice): the
    # write counts here
    cdef Engine e = n.eng
    n.bytes_written += e.m_word
    if not e.mem_on:
        return 0
    cdef int64_t b = batch_of(e, addr)
    if n.mc_batch[slot] == b:
        return 0
    cdef int64_t r = e.reserve(b, t) + e.m_lat
    if not n.mem_started:
        r += e.m_start
        n.mem_started = True
    n.mc_batch[slot] = b
    if r > n.finish:
        n.finish = r
    return 0


cdef inline int64_t mread_words(Node n, int slot, int64_t addr, int64_t words, int64_t t) except -1:
    # a value of ``words`` consecutive words (a tile): one request per memory batch it touches;
    # ready when the last arrives
    cdef Engine e = n.eng
    cdef int64_t a = addr, r = t
    if words == 1:
        return mread(n, slot, addr, t)
    while a < addr + words:
        r = imax(r, mread(n, slot, a, t))
        a = (batch_of(e, a) + 1) * e.m_batch
    return r


cdef inline int mwrite_words(Node n, int slot, int64_t addr, int64_t words, int64_t t) except -1:
    # the write of a value of ``words`` consecutive words (a tile): its bytes, a request per batch
    cdef Engine e = n.eng
    cdef int64_t a = addr, calls = 0
    if words == 1:
        return mwrite(n, slot, addr, t)
    while a < addr + words:
        mwrite(n, slot, a, t)
        calls += 1
        a = (batch_of(e, a) + 1) * e.m_batch
    n.bytes_written += (words - calls) * e.m_word
    return 0


_NO_POSITIONS = np.zeros(1, np.int64)

# Primitives (textually included: they share this module's inline helpers); each kernel class
# configures itself from the keywords its record in primitives.py gives (``configure``)
include "_prims_streams.pxi"
include "_prims_values.pxi"
include "_prims_coords.pxi"


# ---------------------------------------------------------------------------------------------
# The memory model's busy issue slots of one channel: merged [s, e) runs sorted by start, held
# in one array (live entries [lo, hi)). Requests mostly land at or after the latest run and
# forgetting drops runs from the front, so both ends move without reallocating; a request into
# a gap shifts the runs after it (few: the live runs span the live nodes' clocks).
cdef struct Span:
    int64_t s
    int64_t e

cdef struct Busy:
    Span* v
    int64_t lo
    int64_t hi
    int64_t cap


cdef int64_t busy_after(Busy* b, int64_t s) noexcept:
    # the first live run starting after slot s (hi if none)
    cdef int64_t lo = b.lo, hi = b.hi, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if b.v[mid].s > s:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef int busy_insert(Busy* b, int64_t k, int64_t s) except -1:
    # a new run [s, s + 1) at index k (lo <= k <= hi)
    cdef int64_t n = b.hi - b.lo, cap
    cdef Span* nv
    if k == b.lo and b.lo > 0:
        b.lo -= 1
        b.v[b.lo].s = s
        b.v[b.lo].e = s + 1
        return 0
    if b.hi == b.cap:
        if b.lo > 0 and 2 * n <= b.cap:  # slide the live runs to the front
            memmove(b.v, b.v + b.lo, n * sizeof(Span))
            k -= b.lo
            b.lo = 0
            b.hi = n
        else:
            cap = 2 * b.cap if b.cap else 16
            mem_add((cap - b.cap) * sizeof(Span), -1, "the memory model's busy intervals")
            nv = <Span*> realloc(b.v, cap * sizeof(Span))
            if nv == NULL:
                raise _OverBudget("the memory model's busy intervals (the machine refused the allocation)", -1)
            b.v = nv
            b.cap = cap
    memmove(b.v + k + 1, b.v + k, (b.hi - k) * sizeof(Span))
    b.v[k].s = s
    b.v[k].e = s + 1
    b.hi += 1
    return 0


cdef void busy_free(Busy* b) noexcept:
    free(b.v)
    b.v = NULL
    b.lo = b.hi = b.cap = 0


# ---------------------------------------------------------------------------------------------
# The engine
cdef class Engine:
    cdef Q* qs
    cdef int nq
    cdef readonly list nodes
    cdef public list tiles
    cdef public object zero_tile_shape
    cdef bint mem_on
    cdef int64_t m_ch, m_lat, m_ii, m_start, m_batch, m_word
    cdef int64_t m_bshift, m_chmask, m_iishift  # log2 / mask where a power of two, else -1
    cdef Busy* busy  # per channel
    cdef Sched* sched  # per node (by index) while a run goes on
    cdef readonly int64_t next_addr
    cdef readonly int64_t moves
    cdef readonly int64_t horizon  # the latest local clock any node reached (when a run stopped)
    cdef int running  # index of the node the current pass is running
    cdef bint napped  # a node sat out a turn of the current pass (Sched.naps)
    cdef int64_t nap_min  # the fewest turns any node that sat one out this pass has left to sit out
    cdef int64_t requests  # memory requests issued (reserve calls)
    # the memory model's busy intervals: held now, the most held at once, made in all
    cdef readonly int64_t intervals, intervals_peak, intervals_made
    # traces: the window of cycles recorded [w0, w1), counter tracks of FIFO occupancy (one per
    # FIFO, the most tokens visible at its consumer's steps) and of memory requests issued
    cdef int64_t w0, w1
    cdef readonly bint trace_fifos, trace_mem
    cdef Series* fifo_series
    cdef Series mem_series

    def __cinit__(self):
        self.qs = NULL
        self.nq = 0
        self.w0 = 0
        self.w1 = INT64_MAX
        self.fifo_series = NULL
        self.mem_series.vals = NULL
        self.busy = NULL
        self.sched = NULL

    def __dealloc__(self):
        cdef int k
        if self.qs != NULL:
            for k in range(self.nq):
                free(self.qs[k].buf)
                free(self.qs[k].pops)
            free(self.qs)
        self.drop_busy()
        free(self.busy)
        free(self.sched)
        self.drop_tracks()

    cdef void drop_busy(self) noexcept:
        cdef int64_t ch
        if self.busy != NULL:
            for ch in range(self.m_ch):
                busy_free(&self.busy[ch])

    cdef void drop_tracks(self) noexcept:
        cdef int k
        if self.fifo_series != NULL:
            for k in range(self.nq):
                del self.fifo_series[k].vals
            free(self.fifo_series)
            self.fifo_series = NULL
        if self.mem_series.vals != NULL:
            del self.mem_series.vals
            self.mem_series.vals = NULL
        self.trace_fifos = False
        self.trace_mem = False

    def trace_setup(self, int64_t start, int64_t end, bint fifos, bint memory, int64_t window):
        """Record node spans (for nodes with ``tracing`` set) only for steps in cycles
        [start, end); with ``fifos``/``memory``, counter tracks of FIFO occupancy and memory
        requests at a first resolution of ``window`` cycles (coarsened past SERIES_MAX)."""
        cdef int k
        if window < 1:
            raise ValueError("trace window must be >= 1 cycle")
        self.w0 = start
        self.w1 = end
        self.drop_tracks()
        if fifos:
            self.fifo_series = <Series*> malloc((self.nq if self.nq else 1) * sizeof(Series))
            if self.fifo_series == NULL:
                raise MemoryError()
            for k in range(self.nq):
                self.fifo_series[k].w = window
                self.fifo_series[k].use_max = True
                self.fifo_series[k].vals = new vector[int64_t]()
            self.trace_fifos = True
        if memory and self.mem_on:
            self.mem_series.w = window
            self.mem_series.use_max = False
            self.mem_series.vals = new vector[int64_t]()
            self.trace_mem = True

    def fifo_track(self, int k):
        """(window cycles, [most tokens visible per window]) of FIFO ``k``; None if untraced or
        no traced consumer stepped."""
        if not self.trace_fifos or self.fifo_series[k].vals.size() == 0:
            return None
        return self.fifo_series[k].w, list(self.fifo_series[k].vals[0])

    def memory_track(self):
        """(window cycles, [memory requests issued per window]); None if not traced."""
        if not self.trace_mem:
            return None
        return self.mem_series.w, list(self.mem_series.vals[0])

    def __init__(self, int nfifos, depths, memory: dict | None, int64_t memory_limit=0):
        """``memory_limit``: the bytes the growing structures may hold (0: no limit)."""
        global g_mem, g_mem_peak, g_mem_limit
        cdef int k
        g_mem = 0
        g_mem_peak = 0
        g_mem_limit = memory_limit
        self.nodes = []
        self.tiles = []
        self.qs = <Q*> malloc((nfifos if nfifos else 1) * sizeof(Q))
        if self.qs == NULL:
            raise MemoryError()
        for k in range(nfifos):
            self.qs[k].buf = NULL
            self.qs[k].pops = NULL
        self.nq = nfifos
        try:
            for k in range(nfifos):
                q_init(&self.qs[k], depths[k], k)
        except _OverBudget:
            raise MemoryBudgetError(f"the graph's {nfifos:,} FIFOs alone need {g_mem / 2**20:.1f} MiB, over "
                                    f"the simulator's memory budget of {g_mem_limit / 2**20:.1f} MiB") from None
        self.mem_on = memory is not None
        if memory is not None:
            self.m_ch = memory["channels"]
            self.m_lat = memory["latency"]
            self.m_ii = memory["issue_interval"]
            self.m_start = memory["startup"]
            self.m_batch = memory["batch"]
            self.m_word = memory["word_bytes"]
            self.m_iishift = log2_or_neg(self.m_ii)
            self.m_chmask = self.m_ch - 1 if log2_or_neg(self.m_ch) >= 0 else -1
            self.busy = <Busy*> malloc(self.m_ch * sizeof(Busy))
            if self.busy == NULL:
                raise MemoryError()
            for k in range(self.m_ch):
                self.busy[k].v = NULL
                self.busy[k].lo = self.busy[k].hi = self.busy[k].cap = 0
        else:
            self.m_batch = 8
            self.m_word = 4
        self.m_bshift = log2_or_neg(self.m_batch)
        self.next_addr = 0

    cdef int64_t reserve(self, int64_t batch, int64_t t) except -1:
        # First free issue slot at or after t on the batch's channel. Busy slots are kept as
        # merged [start, end) runs (Busy), so a request costs O(log runs) however far apart
        # in time the requesting nodes' local clocks are (no per-cycle state, no polling).
        cdef int64_t ch = batch & self.m_chmask if self.m_chmask >= 0 else batch % self.m_ch
        cdef int64_t s = (t + self.m_ii - 1) >> self.m_iishift if self.m_iishift >= 0 else (t + self.m_ii - 1) // self.m_ii
        cdef Busy* b = &self.busy[ch]
        cdef Span* last
        cdef int64_t k
        self.requests += 1
        if b.hi > b.lo and s >= b.v[b.hi - 1].s:  # fast path: at or after the latest run's start
            last = &b.v[b.hi - 1]
            if s <= last.e:
                s = last.e
                last.e = s + 1
            else:
                self.interval_added()
                busy_insert(b, b.hi, s)
        else:
            k = busy_after(b, s)
            if k > b.lo and b.v[k - 1].e >= s:
                s = b.v[k - 1].e  # inside (or right after) a busy run: take its end
                b.v[k - 1].e = s + 1
                if k < b.hi and b.v[k].s == s + 1:  # and it now touches the next one
                    b.v[k - 1].e = b.v[k].e
                    memmove(b.v + k, b.v + k + 1, (b.hi - k - 1) * sizeof(Span))
                    b.hi -= 1
                    self.intervals -= 1
            elif k < b.hi and b.v[k].s == s + 1:
                b.v[k].s = s
            else:
                self.interval_added()
                busy_insert(b, k, s)
        if self.trace_mem and s * self.m_ii >= self.w0 and s * self.m_ii < self.w1:
            series_add(&self.mem_series, s * self.m_ii, 1)
        return s * self.m_ii

    cdef void interval_added(self) noexcept:
        self.intervals += 1
        self.intervals_made += 1
        if self.intervals > self.intervals_peak:
            self.intervals_peak = self.intervals

    cdef void forget_before(self, int64_t t) noexcept:
        # Every request still to come is issued at or after the local clock of a node that is
        # not done, and that clock only moves forward: a busy run that ends before the slot of
        # the earliest such clock can never be looked at again. Dropping it bounds the memory
        # model's state by the spread of the live nodes' clocks, not by the requests made.
        cdef int64_t s = t >> self.m_iishift if self.m_iishift >= 0 else t // self.m_ii
        cdef int64_t ch
        cdef Busy* b
        for ch in range(self.m_ch):
            b = &self.busy[ch]
            while b.lo < b.hi and b.v[b.lo].e < s:
                b.lo += 1
                self.intervals -= 1
            if b.lo == b.hi:
                b.lo = b.hi = 0

    def alloc(self, int64_t n):
        """Reserve an address range of ``n`` words (batch aligned) for one array."""
        cdef int64_t base = self.next_addr
        self.next_addr += ((n + self.m_batch) // self.m_batch) * self.m_batch
        return base

    def tile(self, int64_t tid):
        if tid < 0:
            return np.zeros(self.zero_tile_shape)
        return self.tiles[tid]

    def add_tile(self, value):
        mem_add(value.nbytes + 112, -1, "tiles")
        self.tiles.append(value)
        return len(self.tiles) - 1

    def add_node(self, Node n, str name, int kind, ins, outs, int64_t lat, int64_t ii):
        cdef int p, j
        n.name = name
        n.kind = kind
        n.index = len(self.nodes)
        n.eng = self
        n.lat = lat
        n.ii = ii
        n.nin = len(ins)
        n.ins = <Q**> malloc((n.nin if n.nin else 1) * sizeof(Q*))
        for p in range(n.nin):
            n.ins[p] = &self.qs[ins[p]]
        n.nout = len(outs)
        n.outs = <Port*> malloc((n.nout if n.nout else 1) * sizeof(Port))
        for p in range(n.nout):
            n.outs[p].n = len(outs[p])
            n.outs[p].qs = <Q**> malloc((n.outs[p].n if n.outs[p].n else 1) * sizeof(Q*))
            for j in range(n.outs[p].n):
                n.outs[p].qs[j] = &self.qs[outs[p][j]]
                n.outs[p].qs[j].producer = <PyObject*> n
        self.nodes.append(n)
        return n

    cdef object _over_budget(self, Node n, what, int fifo, describe_fifo):
        cdef Q* q
        held = f"the engine held {_size(g_mem)}"
        if fifo >= 0:
            q = &self.qs[fifo]
            grew = f"{describe_fifo(fifo)} to {q.count:,} tokens ({_size(q.cap * sizeof(Entry))})"
        else:
            grew = what
        if g_mem_limit and g_mem > g_mem_limit:
            head = f"simulation memory over its budget of {_size(g_mem_limit)} ({held})"
        else:
            head = f"the machine ran out of memory for the simulation ({held})"
        return MemoryBudgetError(
            f"{head}: node {n.name!r} grew {grew}\nnote: raise HardwareConfig.max_memory_mb (CLI --hw "
            "max_memory_mb=N, 0 = no limit), or bound the FIFOs (fifo_depth) and sparse accumulators "
            "(spacc_capacity)", n.name, fifo)

    @property
    def memory_peak(self):
        """The most bytes the engine's growing structures held at once during ``run``."""
        return g_mem_peak

    def release(self):
        """Free the FIFOs and every node's growing structures now (after a failed run: the
        memory comes back even while the error that ended it is still referenced)."""
        global g_mem
        cdef int k
        if self.qs != NULL:
            for k in range(self.nq):
                free(self.qs[k].buf)
                free(self.qs[k].pops)
                self.qs[k].buf = NULL
                self.qs[k].pops = NULL
                self.qs[k].count = 0
                self.qs[k].cap = 0
        for nd in self.nodes:
            (<Node> nd).release()
        self.tiles = []
        self.drop_busy()
        g_mem = 0

    def fifo_state(self, int k):
        cdef Q* q = &self.qs[k]
        return {"count": q.count, "depth": q.depth, "pushed": q.pushed, "high_water": q.high}

    cdef bint sweep(self, PyObject** order, int32_t* ids, Py_ssize_t nlive, int64_t* horizon,
                    int64_t* earliest) except -1:
        # One scheduler pass: run each live node in graph order until it blocks. Returns
        # whether a node finished; ``running`` names the node an exception came from. A node
        # skipped or napping is looked at only in ``sched``.
        cdef Node n
        cdef Sched* sc
        cdef Py_ssize_t k
        cdef bint finished = False
        cdef int64_t moves, requests
        for k in range(nlive):
            sc = &self.sched[ids[k]]
            if sc.naps:  # a turn a fused run took ahead: it moved tokens (no deadlock)
                sc.naps -= 1
                self.napped = True
                if sc.naps < self.nap_min:
                    self.nap_min = sc.naps
                if sc.t > horizon[0]:
                    horizon[0] = sc.t
                if sc.t < earliest[0]:
                    earliest[0] = sc.t
                continue
            # A node that last stopped for want of input tokens and has received none since
            # would take the same path to the same failed check (only it pops its inputs),
            # with no side effect on the way: skip the call. So for one that last found an
            # output full, took no step and made no memory request, while nothing was pushed
            # to it or popped from its outputs since (reads count only when a step commits).
            if sc.blk_fifo >= 0 and sc.seen == sc.inbox and (
                    sc.blk_why != 1 or (sc.idle_full and sc.seen_out == sc.outbox)):
                if sc.t > horizon[0]:
                    horizon[0] = sc.t
                if sc.t < earliest[0]:
                    earliest[0] = sc.t
                continue
            n = <Node> order[k]
            self.running = n.index
            moves = g_moves
            requests = self.requests
            if n.run():
                finished = True
            sc.seen = sc.inbox
            sc.idle_full = n.blk_why == 1 and not n.done and g_moves == moves and self.requests == requests
            if sc.idle_full:
                sc.seen_out = sc.outbox
            sc.blk_fifo = n.blk_fifo
            sc.blk_why = n.blk_why
            sc.t = n.t
            if n.t > horizon[0]:
                horizon[0] = n.t
            if not n.done and n.t < earliest[0]:
                earliest[0] = n.t
        return finished

    def sched_mismatches(self):
        """Nodes whose scheduler counts disagree with their FIFOs (none, unless a push or pop
        bypassed cin/cout): [(name, inbox, pushed into its inputs, outbox, popped from its
        outputs)]. For tests, after a run."""
        cdef Node n
        cdef int64_t pushed, popped
        out = []
        if self.sched == NULL:
            return out
        for nd in self.nodes:
            n = <Node> nd
            pushed = pushed_in(n)
            popped = popped_out(n)
            if pushed != self.sched[n.index].inbox or popped != self.sched[n.index].outbox:
                out.append((n.name, self.sched[n.index].inbox, pushed, self.sched[n.index].outbox, popped))
        return out

    cdef int sched_setup(self) except -1:
        # the scheduler's state of every node, and every FIFO's counts pointed at it
        cdef Node n
        cdef Sched* sc
        cdef int p, j
        free(self.sched)
        self.sched = <Sched*> malloc((len(self.nodes) or 1) * sizeof(Sched))
        if self.sched == NULL:
            raise MemoryError()
        for nd in self.nodes:
            n = <Node> nd
            sc = &self.sched[n.index]
            sc.inbox = pushed_in(n)
            sc.outbox = popped_out(n)
            sc.seen = sc.seen_out = sc.naps = 0
            sc.t = n.t
            sc.blk_fifo = -1
            sc.blk_why = 0
            sc.idle_full = False
            for p in range(n.nin):
                n.ins[p].cin = &sc.inbox
            for p in range(n.nout):
                for j in range(n.outs[p].n):
                    n.outs[p].qs[j].cout = &sc.outbox
        return 0

    def run(self, int64_t max_cycles, double max_seconds, describe_fifo, progress=None, double every=0.5):
        """Run to completion; returns the number of scheduler passes. ``progress(cycles,
        tokens)``, if given, is called when the run starts, about every ``every`` seconds
        (every 16 scheduler passes at most) and when it ends, with the latest local clock
        reached and the tokens moved so far. Ctrl-C (SIGINT) stops the run between two
        passes with ``KeyboardInterrupt``; ``horizon`` and ``moves`` then hold where it was."""
        global g_moves, g_soft
        cdef Node n
        cdef int64_t before, passes = 0, horizon = 0, earliest, reached = 0, idle
        cdef bint moved, finished
        cdef list live = [nd for nd in self.nodes]
        cdef double now, t0, last
        cdef Py_ssize_t k, nlive = len(live)
        # the live nodes in graph order, borrowed from ``live`` (the pass loop then runs in C),
        # and their indices
        cdef vector[PyObject*] order
        cdef vector[int32_t] ids
        order.resize(nlive)
        ids.resize(nlive)
        for k in range(nlive):
            order[k] = <PyObject*> live[k]
            ids[k] = (<Node> live[k]).index
        self.sched_setup()
        g_moves = 0
        g_soft = 4096
        t0 = _time.perf_counter()
        last = t0
        if progress is not None:
            progress(0, 0)
        while live:
            if horizon > reached:
                reached = horizon
            self.horizon = reached
            self.moves = g_moves
            PyErr_CheckSignals()  # Ctrl-C: KeyboardInterrupt here, between passes
            before = g_moves
            horizon = 0
            earliest = INT64_MAX
            finished = False
            self.napped = False
            self.nap_min = INT64_MAX
            try:
                finished = self.sweep(order.data(), ids.data(), nlive, &horizon, &earliest)
            except _OverBudget as e:
                self.moves = g_moves
                raise self._over_budget(self.nodes[self.running], e.what, e.fifo, describe_fifo) from None
            except MemoryError:
                self.moves = g_moves
                raise self._over_budget(self.nodes[self.running], "a structure (the machine refused the allocation)", -1,
                                        describe_fifo) from None
            if self.mem_on and earliest != INT64_MAX:
                self.forget_before(earliest)
            passes += 1
            moved = g_moves != before or self.napped
            if self.napped and g_moves == before and not finished:
                # Only naps happened: the other nodes were all blocked, and stay so until a
                # napping node moves a token, so every pass until the first nap ends is this
                # one again. Take them at once (none when a node's naps just ended: it runs
                # in the next pass, while another may still have turns to sit out).
                idle = self.nap_min
                if idle > 0:
                    for k in range(nlive):
                        if self.sched[ids[k]].naps:
                            self.sched[ids[k]].naps -= idle
                    passes += idle
            if finished:
                live = [nd for nd in live if not (<Node> nd).done]
                nlive = len(live)
                for k in range(nlive):
                    order[k] = <PyObject*> live[k]
                    ids[k] = (<Node> live[k]).index
            if not moved and not finished and live and g_soft:
                g_soft = 0
                for k in range(nlive):  # a FIFO at the soft limit has room again: retry its producer
                    self.sched[ids[k]].idle_full = False
                continue
            if not moved and not finished and live:
                blocked = []
                why = ("empty", "full", "lookahead")
                text = {"empty": "input empty", "full": "output full", "lookahead": "needs one more input token to decide"}
                for nd in live:
                    n = <Node> nd
                    blocked.append((n.name, n.blk_fifo, why[n.blk_why]))
                lines = [f"  {b[0]}: waits on {describe_fifo(b[1])} ({text[b[2]]})" for b in blocked]
                self.moves = g_moves
                hint = ("\nnote: FIFOs that are full may be too shallow for this graph; re-run with deeper FIFOs "
                        "(HardwareConfig(fifo_depth=N), CLI --hw fifo_depth=N) or unbounded ones (fifo_depth=0)")
                raise DeadlockError("deadlock: no node can make progress\n" + "\n".join(lines) + (hint if any(b[2] == "full" for b in blocked) else ""), blocked)
            if horizon > max_cycles:
                raise GuardError(f"simulation exceeded the cycle limit of {max_cycles} (raise HardwareConfig.max_cycles)")
            if (passes & 15) == 0:
                now = _time.perf_counter()
                if now - t0 > max_seconds:
                    raise GuardError(f"simulation exceeded the wall-time limit of {max_seconds:g} s (raise HardwareConfig.max_wall_seconds)")
                if progress is not None and now - last >= every and passes:
                    last = now
                    self.moves = g_moves
                    progress(imax(reached, horizon), g_moves)
        self.moves = g_moves
        self.horizon = imax(reached, horizon)
        if progress is not None:
            progress(self.horizon, g_moves)
        return passes


