# Included by _engine.pyx (one extension module; split for size). Value primitives: array loads, ALUs, reductions, sparse accumulators.

cdef class Array(Node):
    cdef double[::1] vals
    cdef int64_t nvals, val_base, tile_base, zero_tile, words

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): vals, nvals, val_base; tile_base, zero_tile and words (per tile) for a blocked tensor."""
        self.vals = kw["vals"]
        self.nvals = kw["nvals"]
        self.val_base = kw["val_base"]
        self.tile_base = kw.get("tile_base", 0)
        self.zero_tile = kw.get("zero_tile", 0)
        self.words = kw.get("words", 1)

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c, r, words
        cdef Token tok
        while True:
            if self.outs[0].n == 1 and self.steps and not self.tracing:
                self.load_round()
            if self.outs[0].n == 1 and not self.load_run():
                return 0
            if not has(self, 0, 0):
                return 0
            h = hd(self, 0, 0)
            c = imax(self.t, h.time)
            tok = h.tok
            words = 0
            if tok.kind == TK_DATA:
                r = tok.i
                if r < 0 or r >= self.nvals:
                    raise self.error(f"reference {r} out of range ({self.nvals} values)")
                c = mread_words(self, 0, self.val_base + r * self.words, self.words, c)
                words = self.words
                if self.tiled:
                    tok = mk(TK_DATA, self.tile_base + r, 0.0, 0)
                else:
                    tok = mk(TK_DATA, 0, self.vals[r], 0)
            elif tok.kind == TK_EMPTY:
                tok = mk(TK_DATA, self.zero_tile, 0.0, 0)
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            take(self, 0, c)
            emit(self, 0, tok, c)
            count_read(self, words)
            step(self, c)
            if tok.kind == TK_DONE:
                self.done = True
                return 1


    cdef int load_round(self) except -1:
        # run()'s steps that cannot block (input tokens present, output room for each) up to
        # D or a bad reference, after the node's first step and untraced, with every FIFO end
        # in a plain local and the memory model's same-batch shortcut inline; load_run and
        # run() then take the step that blocks or ends the run.
        cdef Q* qi = self.ins[0]
        cdef Lane ln[ROUND_OUTS]
        cdef int64_t n = qi.count
        cdef int no = lanes_open(self, ln, &n)
        if no != 1 or n <= 0:  # its caller's one consumer: the lane loops unroll
            return 0
        cdef Engine e = self.eng
        cdef bint mem_on = e.mem_on, tiled = self.tiled
        cdef int64_t words = self.words, vbase = self.val_base, nvals = self.nvals
        cdef int64_t mi = qi.cap - 1, t = self.t, lat = self.lat, ii = self.ii, stall = self.stall
        cdef int64_t c, r, nread = 0, m = 0
        cdef const double* vals = &self.vals[0] if self.vals.shape[0] else NULL
        cdef Entry* h
        cdef Token tok
        while m < n:
            h = &qi.buf[(qi.head + m) & mi]
            c = t if t > h.time else h.time
            if h.tok.kind == TK_DATA:
                r = h.tok.i
                if r < 0 or r >= nvals:
                    break
                if mem_on:
                    if words == 1 and batch_of(e, vbase + r) == self.mc_batch[0]:
                        if self.mc_ready[0] > c:
                            c = self.mc_ready[0]
                    else:
                        self.steps += m  # as load_run has it when it requests
                        c = mread_words(self, 0, vbase + r * words, words, c)
                        self.steps -= m
                nread += words
                tok = mk(TK_DATA, self.tile_base + r, 0.0, 0) if tiled else mk(TK_DATA, 0, vals[r], 0)
            elif h.tok.kind == TK_EMPTY:
                tok = mk(TK_DATA, self.zero_tile, 0.0, 0)
            elif h.tok.kind == TK_STOP:  # passes through
                tok = h.tok
            else:
                break
            c = lanes_wait(ln, 1, m, c)
            stall += c - t
            lanes_put(ln, 1, m, &tok, c + lat)
            q_pop_time(qi, m, c)
            t = c + ii
            m += 1
        if m:
            lanes_close(ln, 1, m)
            q_popped(qi, m)
            global g_moves
            g_moves += 2 * m
            self.tin += m
            self.tout += m
            count_read(self, nread)
            steps_taken(self, m, t, stall)
        return 0

    cdef bint load_run(self) except -1:
        # The data / N steps of run() for a single-consumer output, batched with the FIFOs'
        # ends and counters in locals. Returns False when blocked, True at a stop, D or bad
        # reference (run() takes it).
        cdef Head hi
        cdef Tail to
        cdef Entry* h
        cdef int64_t c, r, w, t = self.t, lat = self.lat, ii = self.ii, k = 0, nread = 0
        cdef int64_t steps = self.steps, stall = self.stall, finish = self.finish
        cdef bint tracing = self.tracing, ok = True
        cdef Token tok = mk(TK_DATA, 0, 0.0, 0)
        head_open(&hi, self.ins[0])
        tail_open(&to, self.outs[0].qs[0])
        while True:
            if hi.count == 0:
                self.blk_fifo = hi.q.id
                self.blk_why = 0
                ok = False
                break
            h = head_at(&hi)
            c = t if t > h.time else h.time
            if h.tok.kind == TK_DATA:
                r = h.tok.i
                if r < 0 or r >= self.nvals:
                    break
                self.steps = steps
                c = mread_words(self, 0, self.val_base + r * self.words, self.words, c)
                w = self.words
                if self.tiled:
                    tok.i = self.tile_base + r
                    tok.v = 0.0
                else:
                    tok.i = 0
                    tok.v = self.vals[r]
            elif h.tok.kind == TK_EMPTY:
                tok.i = self.zero_tile
                tok.v = 0.0
                w = 0
            else:
                break
            if not tail_room(self, &to, &c):
                ok = False
                break
            if steps:
                stall += c - t
            else:
                self.first = c
            head_pop(&hi, c)
            tail_push(&to, tok, c + lat)
            nread += w
            k += 1
            t = c + ii
            steps += 1
            if c + lat > finish:
                finish = c + lat
            if tracing:
                self.steps = steps
                self.t = t
                head_close(&hi)
                record_span(self, c)
        head_close(&hi)
        tail_close(&to)
        global g_moves
        g_moves += 2 * k
        self.tin += k
        self.tout += k
        count_read(self, nread)
        self.steps = steps
        self.stall = stall
        self.finish = finish
        self.t = t
        return ok


cdef double gelu(double x) noexcept nogil:
    # exact GELU (PyTorch's default): 0.5 x (1 + erf(x / sqrt 2))
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))


cdef double alu_scalar(int op, double a, double b, double k) noexcept nogil:
    if op == 0:
        return a + b
    if op == 1:
        return a - b
    if op == 2 or op == 6:
        return a * b
    if op == 3:
        return a / b
    if op == 4:
        return a if a >= b else b
    if op == 5:
        return a if a <= b else b
    if op == 16:
        return -a
    if op == 17:
        return exp(a)
    if op == 18:
        return a if a > 0.0 else 0.0
    if op == 19:
        return 1.0 / sqrt(a)
    if op == 20:
        return sqrt(a)
    if op == 21:
        return 1.0 / (1.0 + exp(-a))
    if op == 22:
        return tanh(a)
    if op == 23:
        return gelu(a)
    if op == 24:
        return a + k
    if op == 25:
        return a * k
    if op == 26:
        return a / k
    if op == 27:
        return a if a >= k else k
    if op == 29:
        return 1.0 / a
    return a if a <= k else k


cdef class Alu(Node):
    cdef int op
    cdef bint binary
    cdef double const
    cdef object tile_fn

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): op (AluCode), binary, const; tile_fn on tile streams."""
        self.op = kw["op"]
        self.binary = kw["binary"]
        self.const = kw["const"]
        self.tile_fn = kw.get("tile_fn")

    cdef int run(self) except -1:
        cdef Entry* a
        cdef Entry* b
        cdef int64_t c
        cdef Token tok, ta, tb
        cdef double x, y
        while True:
            if not self.tiled and self.outs[0].n == 1 and self.steps and not self.tracing:
                self.value_round()
            if not self.tiled and self.outs[0].n == 1 and not self.value_run():
                return 0
            if not has(self, 0, 0):
                return 0
            a = hd(self, 0, 0)
            c = imax(self.t, a.time)
            ta = a.tok
            if self.binary:
                if not has(self, 1, 0):
                    return 0
                b = hd(self, 1, 0)
                c = imax(c, b.time)
                tb = b.tok
                if (ta.kind == TK_DATA or ta.kind == TK_EMPTY) != (tb.kind == TK_DATA or tb.kind == TK_EMPTY):
                    raise self.error("operand streams are misaligned")
                if ta.kind != TK_DATA and ta.kind != TK_EMPTY and (ta.kind != tb.kind or ta.i != tb.i or ta.vac != tb.vac):
                    raise self.error("operand stops disagree")
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            if ta.kind == TK_DATA or ta.kind == TK_EMPTY:
                if self.tiled:
                    tok = mk(TK_DATA, self.tile_fn(ta.i if ta.kind == TK_DATA else -1, tb.i if (self.binary and tb.kind == TK_DATA) else -1), 0.0, 0)
                    # a tile product (AluCode.MATMUL .. MATMUL_TT) multiplies and adds B^3 times
                    self.ops += 2 * self.block * self.block * self.block if 6 <= self.op <= 9 else self.block * self.block
                else:
                    x = ta.v if ta.kind == TK_DATA else 0.0
                    y = (tb.v if tb.kind == TK_DATA else 0.0) if self.binary else 0.0
                    tok = mk(TK_DATA, 0, alu_scalar(self.op, x, y, self.const), 0)
                    self.ops += 1
            else:
                tok = ta
            take(self, 0, c)
            if self.binary:
                take(self, 1, c)
            emit(self, 0, tok, c)
            step(self, c)
            if tok.kind == TK_DONE:
                self.done = True
                return 1


    cdef void value_round(self) noexcept:
        # run()'s steps on scalars and stops that cannot block (operands present, output room
        # for each), after the node's first step and untraced, with every FIFO end in a plain
        # local; value_run and run() then take the step that blocks or ends the run (D, or
        # operands that disagree, which run() names).
        cdef Q* qa = self.ins[0]
        cdef Q* qb = self.ins[1] if self.binary else NULL
        cdef Lane ln[ROUND_OUTS]
        cdef int64_t n = qa.count if qb == NULL else imin(qa.count, qb.count)
        cdef int no = lanes_open(self, ln, &n)
        if no != 1 or n <= 0:  # its caller's one consumer: the lane loops unroll
            return
        cdef int op = self.op
        cdef double k = self.const, x, y
        cdef int64_t ma = qa.cap - 1, mb = qb.cap - 1 if qb != NULL else 0
        cdef int64_t t = self.t, lat = self.lat, ii = self.ii, stall = self.stall, c, m = 0, ops = 0
        cdef Entry* a
        cdef Entry* b
        cdef Token tok
        while m < n:
            a = &qa.buf[(qa.head + m) & ma]
            c = t if t > a.time else a.time
            if a.tok.kind == TK_STOP:  # a stop passes through (both operands' stops agree)
                if qb != NULL:
                    b = &qb.buf[(qb.head + m) & mb]
                    if b.tok.kind != TK_STOP or b.tok.i != a.tok.i or b.tok.vac != a.tok.vac:
                        break  # run() names the misalignment
                    if b.time > c:
                        c = b.time
                tok = a.tok
                ops -= 1
            elif a.tok.kind != TK_DATA and a.tok.kind != TK_EMPTY:
                break
            else:
                x = a.tok.v if a.tok.kind == TK_DATA else 0.0
                y = 0.0
                if qb != NULL:
                    b = &qb.buf[(qb.head + m) & mb]
                    if b.tok.kind != TK_DATA and b.tok.kind != TK_EMPTY:
                        break
                    if b.time > c:
                        c = b.time
                    y = b.tok.v if b.tok.kind == TK_DATA else 0.0
                tok = mk(TK_DATA, 0, alu_scalar(op, x, y, k), 0)
            c = lanes_wait(ln, 1, m, c)
            stall += c - t
            lanes_put(ln, 1, m, &tok, c + lat)
            q_pop_time(qa, m, c)
            if qb != NULL:
                q_pop_time(qb, m, c)
            t = c + ii
            m += 1
        if m:
            lanes_close(ln, 1, m)
            q_popped(qa, m)
            if qb != NULL:
                q_popped(qb, m)
            global g_moves
            g_moves += (3 if qb != NULL else 2) * m
            self.tin += m * (2 if qb != NULL else 1)
            self.tout += m
            self.ops += m + ops  # a stop is no operation
            steps_taken(self, m, t, stall)

    cdef bint value_run(self) except -1:
        # The data / N steps of run() on scalars for a single-consumer output, batched with
        # the FIFOs' ends and counters in locals. Returns False when blocked, True at any
        # other token.
        cdef Head ha, hb
        cdef Tail to
        cdef Entry* a
        cdef Entry* b
        cdef int64_t c, t = self.t, lat = self.lat, ii = self.ii, k = 0
        cdef int64_t steps = self.steps, stall = self.stall, finish = self.finish
        cdef bint tracing = self.tracing, binary = self.binary, ok = True
        cdef double x, y
        cdef Token tok = mk(TK_DATA, 0, 0.0, 0)
        head_open(&ha, self.ins[0])
        hb.count = 1  # a unary ALU never waits on a second operand
        if binary:
            head_open(&hb, self.ins[1])
        tail_open(&to, self.outs[0].qs[0])
        while True:
            if ha.count == 0 or hb.count == 0:
                self.blk_fifo = ha.q.id if ha.count == 0 else hb.q.id
                self.blk_why = 0
                ok = False
                break
            a = head_at(&ha)
            if a.tok.kind != TK_DATA and a.tok.kind != TK_EMPTY:
                break
            c = t if t > a.time else a.time
            x = a.tok.v if a.tok.kind == TK_DATA else 0.0
            y = 0.0
            if binary:
                b = head_at(&hb)
                if b.tok.kind != TK_DATA and b.tok.kind != TK_EMPTY:
                    break
                if b.time > c:
                    c = b.time
                y = b.tok.v if b.tok.kind == TK_DATA else 0.0
            if not tail_room(self, &to, &c):
                ok = False
                break
            if steps:
                stall += c - t
            else:
                self.first = c
            tok.v = alu_scalar(self.op, x, y, self.const)
            head_pop(&ha, c)
            if binary:
                head_pop(&hb, c)
            tail_push(&to, tok, c + lat)
            k += 1
            t = c + ii
            steps += 1
            if c + lat > finish:
                finish = c + lat
            if tracing:
                self.steps = steps
                self.t = t
                head_close(&ha)
                if binary:
                    head_close(&hb)
                record_span(self, c)
        head_close(&ha)
        if binary:
            head_close(&hb)
        tail_close(&to)
        global g_moves
        g_moves += (3 if binary else 2) * k
        self.tin += k * (2 if binary else 1)
        self.tout += k
        self.ops += k
        self.steps = steps
        self.stall = stall
        self.finish = finish
        self.t = t
        return ok


cdef class Reduce(Node):
    cdef int op
    cdef double acc
    cdef bint have, sum_sent
    cdef object tile_fn  # (acc tile id or -1, tile id) -> tile id

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): op (ReduceCode); tile_fn on tile streams."""
        self.op = kw["op"]
        self.tile_fn = kw.get("tile_fn")

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef Token tok
        cdef double x
        while True:
            if self.steps and not self.tiled and not self.tracing:
                self.add_round()
            if not has(self, 0, 0):
                return 0
            h = hd(self, 0, 0)
            c = imax(self.t, h.time)
            tok = h.tok
            if tok.kind == TK_DATA or tok.kind == TK_EMPTY:
                c = start(self, c)
                if self.tiled:
                    self.acc = self.tile_fn(<int64_t> self.acc if self.have else -1, tok.i if tok.kind == TK_DATA else -1)
                    self.ops += self.block * self.block
                else:
                    x = tok.v if tok.kind == TK_DATA else 0.0
                    if not self.have:
                        self.acc = x
                    elif self.op == 0:
                        self.acc += x
                    elif self.op == 1:
                        self.acc = self.acc if self.acc >= x else x
                    else:
                        self.acc = self.acc if self.acc <= x else x
                    self.ops += 1
                self.have = True
                take(self, 0, c)
                step(self, c)
                continue
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            if tok.kind == TK_STOP and tok.vac == 0 and not self.sum_sent:
                if self.tiled:
                    emit(self, 0, mk(TK_DATA, <int64_t> self.acc if self.have else self.tile_fn(-1, -1), 0.0, 0), c)
                else:
                    emit(self, 0, mk(TK_DATA, 0, self.acc if self.have else (0.0 if self.op == 0 else (-INFINITY if self.op == 1 else INFINITY)), 0), c)
                self.have = False
                if tok.i == 0:
                    take(self, 0, c)
                else:
                    self.sum_sent = True
                step(self, c)
                continue
            take(self, 0, c)
            if tok.kind == TK_STOP:
                if tok.i == 0:
                    raise self.error("vacant S0 on a value stream")
                emit(self, 0, mk(TK_STOP, tok.i - 1, 0.0, tok.vac - 1 if tok.vac else 0), c)
                self.sum_sent = False
                step(self, c)
                continue
            emit(self, 0, tok, c)
            step(self, c)
            self.done = True
            return 1


    cdef void add_round(self) noexcept:
        # run()'s scalar accumulation steps (data / N heads: no output), after the node's
        # first step and untraced, with the FIFO end and the accumulator in plain locals.
        cdef Q* q = self.ins[0]
        cdef int64_t mi = q.cap - 1, t = self.t, ii = self.ii, stall = self.stall, c, m = 0
        cdef int op = self.op
        cdef double acc = self.acc, x
        cdef bint have = self.have
        cdef Entry* h
        while m < q.count:
            h = &q.buf[(q.head + m) & mi]
            if h.tok.kind != TK_DATA and h.tok.kind != TK_EMPTY:
                break
            c = t if t > h.time else h.time
            stall += c - t
            x = h.tok.v if h.tok.kind == TK_DATA else 0.0
            if not have:
                acc = x
                have = True
            elif op == 0:
                acc += x
            elif op == 1:
                acc = acc if acc >= x else x
            else:
                acc = acc if acc <= x else x
            q_pop_time(q, m, c)
            t = c + ii
            m += 1
        if m:
            q_popped(q, m)
            global g_moves
            g_moves += m
            self.tin += m
            self.ops += m
            steps_taken(self, m, t, stall)
            self.acc = acc
            self.have = have


cdef inline int64_t acc_hash(int64_t crd, int64_t mask) noexcept:
    # Fibonacci hashing of a coordinate to an index slot (mask: slots - 1, under 2**32)
    return <int64_t> (((<uint64_t> crd) * <uint64_t> 0x9E3779B97F4A7C15ULL) >> 32) & mask


cdef class Spacc1(Node):
    # The accumulator: entries (coordinate, value) in arrival order, found through an
    # open-addressing index (slot -> entry, -1 empty; at most half full); sorted by coordinate
    # when the outer fiber ends and flushed from there.
    cdef vector[pair[int64_t, double]] ent
    cdef int32_t* tab
    cdef int64_t tcap
    cdef int64_t fpos, capacity, flush_ii
    cdef Token fstop
    cdef bint flushing
    cdef object tile_fn  # on tile streams: (acc tile id or -1, tile id or -1) -> tile id; acc holds ids

    def __dealloc__(self):
        free(self.tab)

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): capacity, flush_ii (HardwareConfig.spacc_capacity, spacc_flush_ii); tile_fn on tile streams."""
        self.capacity = kw["capacity"]
        self.flush_ii = kw["flush_ii"]
        self.tile_fn = kw.get("tile_fn")

    cdef inline Token value(self, double acc):
        """An accumulated value as a token (a tile id on tile streams)."""
        return mk(TK_DATA, <int64_t> acc, 0.0, 0) if self.tiled else mk(TK_DATA, 0, acc, 0)

    def release(self):
        Node.release(self)
        self.ent.clear()
        self.ent.shrink_to_fit()
        free(self.tab)
        self.tab = NULL
        self.tcap = 0

    cdef int room_for(self, int64_t more) except -1:
        # entries and index for ``more`` new coordinates, allocated (and charged) before any
        # is inserted; the index is rebuilt at twice the entries it must hold
        cdef int64_t held = <int64_t> self.ent.capacity()
        cdef int64_t need = <int64_t> self.ent.size() + more, cap, k, h
        cdef int32_t* nt
        if need > ACC_MAX:
            raise SpaccOverflowError(f"node {self.name!r}: sparse accumulator past {ACC_MAX:,} entries, the engine's limit")
        if held < need:  # charged before it is allocated, as a FIFO's growth is
            cap = imax(need, 2 * held)
            mem_add((cap - held) * sizeof(pair[int64_t, double]), -1, "its sparse accumulator")
            self.ent.reserve(cap)  # std::bad_alloc -> MemoryError
        if 2 * need <= self.tcap:
            return 0
        cap = self.tcap if self.tcap else 16
        while cap < 2 * need:
            cap <<= 1
        mem_add((cap - self.tcap) * sizeof(int32_t), -1, "its sparse accumulator")
        nt = <int32_t*> malloc(cap * sizeof(int32_t))
        if nt == NULL:
            raise _OverBudget("its sparse accumulator (the machine refused the allocation)", -1)
        free(self.tab)
        self.tab = nt
        self.tcap = cap
        memset(nt, 0xff, cap * sizeof(int32_t))
        for k in range(<int64_t> self.ent.size()):
            h = acc_hash(self.ent[k].first, cap - 1)
            while nt[h] >= 0:
                h = (h + 1) & (cap - 1)
            nt[h] = <int32_t> k
        return 0

    cdef void clear_index(self) noexcept:
        # every index slot empty: walk each entry's probe run from its hash to the first empty
        # slot, clearing as it goes (every entry's slot lies on its run, so all are cleared),
        # or clear the whole index where that is cheaper
        cdef int64_t k, h, mask = self.tcap - 1
        if 4 * <int64_t> self.ent.size() >= self.tcap:
            if self.tcap:
                memset(self.tab, 0xff, self.tcap * sizeof(int32_t))
            return
        for k in range(<int64_t> self.ent.size()):
            h = acc_hash(self.ent[k].first, mask)
            while self.tab[h] >= 0:
                self.tab[h] = -1
                h = (h + 1) & mask

    cdef inline int64_t find(self, int64_t crd, bint* fresh) noexcept:
        # the entry of ``crd``, appended (value 0.0) if new: room_for(1) must have been called
        cdef int64_t mask = self.tcap - 1, h = acc_hash(crd, mask), k
        cdef int32_t* tab = self.tab
        while tab[h] >= 0:
            k = tab[h]
            if self.ent[k].first == crd:
                fresh[0] = False
                return k
            h = (h + 1) & mask
        k = <int64_t> self.ent.size()
        tab[h] = <int32_t> k
        self.ent.push_back(pair[int64_t, double](crd, 0.0))
        fresh[0] = True
        return k

    cdef int run(self) except -1:
        cdef Entry* h
        cdef Entry* v
        cdef Entry* o
        cdef int64_t c, need, kk, k
        cdef bint fresh
        cdef double x
        cdef Token tok
        cdef pair[int64_t, double]* e
        while True:
            if self.flushing:
                if self.flush_ii and not self.tracing:
                    self.flush_round()
                c = self.t
                if not room(self, 0, &c) or not room(self, 1, &c):
                    return 0
                c = start(self, c)
                if self.fpos < <int64_t> self.ent.size():
                    e = &self.ent[self.fpos]
                    emit(self, 0, mk(TK_DATA, e.first, 0.0, 0), c)
                    emit(self, 1, self.value(e.second), c)
                    self.fpos += 1
                    if self.flush_ii:
                        step(self, c)
                        self.t = c + self.flush_ii
                    continue
                emit(self, 0, self.fstop, c)
                emit(self, 1, self.fstop, c)
                self.flushing = False
                self.ent.clear()
                step(self, c)
                continue
            if self.steps and not self.tiled and not self.tracing:
                self.add_round()
            if not has(self, 0, 0) or not has(self, 2, 0):
                return 0
            h = hd(self, 0, 0)
            v = hd(self, 2, 0)
            c = imax(self.t, imax(h.time, v.time))
            tok = h.tok
            if tok.kind == TK_DATA or tok.kind == TK_EMPTY:
                c = start(self, c)
                if tok.kind == TK_DATA:
                    self.room_for(1)
                    k = self.find(tok.i, &fresh)
                    if fresh and self.capacity and <int64_t> self.ent.size() > self.capacity:
                        raise SpaccOverflowError(f"node {self.name!r}: sparse accumulator exceeds its capacity of {self.capacity} entries")
                    e = &self.ent[k]
                    if self.tiled:
                        e.second = <double> self.tile_fn(-1 if fresh else <int64_t> e.second,
                                                         v.tok.i if v.tok.kind == TK_DATA else -1)
                        self.ops += self.block * self.block
                    else:  # a new coordinate takes the value as it comes (as the functional model)
                        x = v.tok.v if v.tok.kind == TK_DATA else 0.0
                        e.second = x if fresh else e.second + x
                        self.ops += 1
                take(self, 0, c)
                take(self, 2, c)
                step(self, c)
                continue
            if tok.kind == TK_DONE:
                if not has(self, 1, 0):
                    return 0
                c = imax(c, hd(self, 1, 0).time)
                if not room(self, 0, &c) or not room(self, 1, &c):
                    return 0
                c = start(self, c)
                take(self, 0, c)
                take(self, 1, c)
                take(self, 2, c)
                emit(self, 0, tok, c)
                emit(self, 1, tok, c)
                step(self, c)
                self.done = True
                return 1
            # a stop: consume the matching outer-level tokens
            need = (1 if tok.vac == 0 else 0) + (1 if tok.i >= 1 else 0)
            if not has(self, 1, need - 1):
                return 0
            if tok.vac == 0:
                o = hd(self, 1, 0)
                if o.tok.kind != TK_DATA and o.tok.kind != TK_EMPTY:
                    raise self.error("outer coordinate stream misaligned")
            if tok.i >= 1:
                o = hd(self, 1, need - 1)
                if o.tok.kind != TK_STOP or o.tok.i != tok.i - 1:
                    raise self.error("outer coordinate stream misaligned")
            c = imax(c, hd(self, 1, need - 1).time)
            c = start(self, c)
            for kk in range(need):
                take(self, 1, c)
            take(self, 0, c)
            take(self, 2, c)
            step(self, c)
            if tok.i >= 1:  # the outer fiber ends: flush in coordinate order
                sort(self.ent.begin(), self.ent.end())
                self.clear_index()
                self.fpos = 0
                self.fstop = mk(TK_STOP, tok.i - 1, 0.0, tok.vac - 1 if tok.vac else 0)
                self.flushing = True

    cdef void flush_round(self) noexcept:
        # run()'s flush steps (one entry on both outputs, flush_ii apart) that cannot block,
        # after the node's first step and untraced, with every FIFO end in a plain local
        cdef Lane ln[ROUND_OUTS]
        cdef int64_t n = <int64_t> self.ent.size() - self.fpos
        cdef int no = lanes_open(self, ln, &n), o
        if no < 0 or n <= 0:
            return
        cdef int64_t t = self.t, lat = self.lat, fii = self.flush_ii, stall = self.stall, c, m
        cdef pair[int64_t, double]* e
        cdef Token crd = mk(TK_DATA, 0, 0.0, 0), val
        cdef Entry* x
        for m in range(n):
            c = lanes_wait(ln, no, m, t)
            stall += c - t
            e = &self.ent[self.fpos + m]
            crd.i = e.first
            val = self.value(e.second)
            for o in range(no):
                x = &ln[o].buf[(ln[o].w + m) & ln[o].mask]
                x.tok = crd if ln[o].port == 0 else val
                x.time = c + lat
            t = c + fii
        lanes_close(ln, no, n)
        global g_moves
        g_moves += no * n
        self.tout += 2 * n
        self.fpos += n
        self.steps += n
        self.stall = stall
        self.t = t
        if c + lat > self.finish:
            self.finish = c + lat

    cdef int add_round(self) except -1:
        # run()'s scalar accumulation steps (data / N inner coordinates with their values: no
        # output) and its inner fibers' ends (a level-0 stop taking its outer coordinate), after
        # the node's first step and untraced, with the FIFO ends in plain locals; the entries
        # and index are sized for the round first. run() takes the outer fiber's end (the
        # flush), empty fibers, the done token and misaligned streams.
        cdef Q* qi = self.ins[0]
        cdef Q* qo = self.ins[1]
        cdef Q* qv = self.ins[2]
        cdef int64_t n = imin(imin(qi.count, qv.count), 4096)
        if n <= 0:
            return 0
        if self.capacity and <int64_t> self.ent.size() + n > self.capacity:
            return 0  # run() inserts one by one and reports the overflow where it happens
        self.room_for(n)
        cdef int64_t mi = qi.cap - 1, mv = qv.cap - 1, mo = qo.cap - 1, t = self.t, ii = self.ii, stall = self.stall
        cdef int64_t c, m = 0, k, ops = 0, outer = 0
        cdef bint fresh
        cdef double x
        cdef Entry* h
        cdef Entry* v
        cdef Entry* o
        while m < n:
            h = &qi.buf[(qi.head + m) & mi]
            v = &qv.buf[(qv.head + m) & mv]
            c = t if t > h.time else h.time
            if v.time > c:
                c = v.time
            if h.tok.kind == TK_DATA:
                k = self.find(h.tok.i, &fresh)
                x = v.tok.v if v.tok.kind == TK_DATA else 0.0
                self.ent[k].second = x if fresh else self.ent[k].second + x
                ops += 1
            elif h.tok.kind == TK_STOP and h.tok.i == 0 and h.tok.vac == 0:
                if outer == qo.count:
                    break
                o = &qo.buf[(qo.head + outer) & mo]
                if o.tok.kind != TK_DATA and o.tok.kind != TK_EMPTY:
                    break
                if o.time > c:
                    c = o.time
                q_pop_time(qo, outer, c)
                outer += 1
            elif h.tok.kind != TK_EMPTY:
                break
            stall += c - t
            q_pop_time(qi, m, c)
            q_pop_time(qv, m, c)
            t = c + ii
            m += 1
        if m:
            q_popped(qi, m)
            q_popped(qv, m)
            if outer:
                q_popped(qo, outer)
            global g_moves
            g_moves += 2 * m + outer
            self.tin += 2 * m + outer
            self.ops += ops
            steps_taken(self, m, t, stall)
        return 0


cdef class Spacc2(Node):
    cdef cmap[pair[int64_t, int64_t], double] acc
    cdef vector[Token] f0
    cdef vector[double] fv
    cdef vector[int64_t] frow  # row crd to emit on crd1 at this flush step (-1: none)
    cdef int64_t fpos, capacity, flush_ii
    cdef Token f1stop
    cdef bint flushing, c2_done
    cdef object tile_fn  # on tile streams: (acc tile id or -1, tile id or -1) -> tile id; acc holds ids

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): capacity, flush_ii (HardwareConfig.spacc_capacity, spacc_flush_ii); tile_fn on tile streams."""
        self.capacity = kw["capacity"]
        self.flush_ii = kw["flush_ii"]
        self.tile_fn = kw.get("tile_fn")

    cdef inline Token value(self, double acc):
        """An accumulated value as a token (a tile id on tile streams)."""
        return mk(TK_DATA, <int64_t> acc, 0.0, 0) if self.tiled else mk(TK_DATA, 0, acc, 0)

    def release(self):
        Node.release(self)
        self.acc.clear()
        self.f0.clear()
        self.f0.shrink_to_fit()
        self.fv.clear()
        self.fv.shrink_to_fit()
        self.frow.clear()
        self.frow.shrink_to_fit()

    cdef int run(self) except -1:
        cdef Entry* h
        cdef Entry* v
        cdef Entry* o
        cdef int64_t c, need, row, prev, kk
        cdef size_t held
        cdef pair[cmap[pair[int64_t, int64_t], double].iterator, bint] slot
        cdef Token tok, t0
        cdef cmap[pair[int64_t, int64_t], double].iterator it
        cdef pair[int64_t, int64_t] key
        cdef bint any_rows
        while not self.c2_done and has(self, 2, 0):  # the outer crd only paces the input
            o = hd(self, 2, 0)
            c = imax(self.t, o.time)
            if o.tok.kind == TK_DONE:
                self.c2_done = True
            take(self, 2, c)
        while True:
            if self.flushing:
                c = self.t
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                if self.fpos < <int64_t> self.f0.size():
                    t0 = self.f0[self.fpos]
                    emit(self, 0, t0, c)
                    emit(self, 2, self.value(self.fv[self.fpos]) if t0.kind == TK_DATA else t0, c)
                    if self.frow[self.fpos] >= 0:
                        emit(self, 1, mk(TK_DATA, self.frow[self.fpos], 0.0, 0), c)
                    self.fpos += 1
                    if self.fpos == <int64_t> self.f0.size():
                        emit(self, 1, self.f1stop, c)
                        self.flushing = False
                    step(self, c)
                    if self.flush_ii:
                        self.t = c + self.flush_ii
                    continue
                self.flushing = False
                continue
            if not has(self, 0, 0) or not has(self, 3, 0):
                return 0
            h = hd(self, 0, 0)
            v = hd(self, 3, 0)
            c = imax(self.t, imax(h.time, v.time))
            tok = h.tok
            if tok.kind == TK_DATA or tok.kind == TK_EMPTY:
                if tok.kind == TK_DATA:
                    if not has(self, 1, 0):
                        return 0
                    o = hd(self, 1, 0)
                    key.first = o.tok.i
                    key.second = tok.i
                    slot = self.acc.insert(pair[pair[int64_t, int64_t], double](key, 0.0))
                    if self.tiled:
                        deref(slot.first).second = <double> self.tile_fn(-1 if slot.second else <int64_t> deref(slot.first).second,
                                                                         v.tok.i if v.tok.kind == TK_DATA else -1)
                        self.ops += self.block * self.block
                    else:
                        deref(slot.first).second = deref(slot.first).second + (v.tok.v if v.tok.kind == TK_DATA else 0.0)
                        self.ops += 1
                    if slot.second:
                        if self.capacity and <int64_t> self.acc.size() > self.capacity:
                            raise SpaccOverflowError(f"node {self.name!r}: sparse accumulator exceeds its capacity of {self.capacity} entries")
                        mem_add(MAP2_NODE, -1, "its sparse accumulator")
                c = start(self, c)
                take(self, 0, c)
                take(self, 3, c)
                step(self, c)
                continue
            if tok.kind == TK_DONE:
                if not self.c2_done:
                    return 0
                if not has(self, 1, 0):
                    return 0
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                take(self, 0, c)
                take(self, 1, c)
                take(self, 3, c)
                for kk in range(3):
                    emit(self, kk, tok, c)
                step(self, c)
                self.done = True
                return 1
            need = (1 if tok.vac == 0 else 0) + (1 if tok.i >= 1 else 0)
            if not has(self, 1, need - 1):
                return 0
            if tok.i >= 1:
                o = hd(self, 1, need - 1)
                if o.tok.kind != TK_STOP or o.tok.i != tok.i - 1:
                    raise self.error("middle coordinate stream misaligned")
            c = imax(c, hd(self, 1, need - 1).time)
            c = start(self, c)
            for kk in range(need):
                take(self, 1, c)
            take(self, 0, c)
            take(self, 3, c)
            step(self, c)
            if tok.i < 2:
                continue
            self.f0.clear()
            self.fv.clear()
            self.frow.clear()
            held = self.f0.capacity()
            it = self.acc.begin()
            prev = -1
            any_rows = False
            while it != self.acc.end():
                row = deref(it).first.first
                if any_rows and row != prev:
                    self.f0.push_back(mk(TK_STOP, 0, 0.0, 0))
                    self.fv.push_back(0.0)
                    self.frow.push_back(-1)
                self.f0.push_back(mk(TK_DATA, deref(it).first.second, 0.0, 0))
                self.fv.push_back(deref(it).second)
                self.frow.push_back(row if (not any_rows or row != prev) else -1)
                prev = row
                any_rows = True
                inc(it)
            mem_add(-MAP2_NODE * <int64_t> self.acc.size(), -1, "")
            self.acc.clear()
            mem_grew(held, self.f0.capacity(), sizeof(Token) + 16, "its flush buffer")
            if any_rows:
                self.f0.push_back(mk(TK_STOP, tok.i - 1, 0.0, 0))
            else:
                self.f0.push_back(mk(TK_STOP, tok.i - 1, 0.0, (tok.vac - 2 if tok.vac > 2 else 0) + 1))
            self.fv.push_back(0.0)
            self.frow.push_back(-1)
            self.f1stop = mk(TK_STOP, tok.i - 2, 0.0, tok.vac - 2 if tok.vac > 2 else 0)
            self.fpos = 0
            self.flushing = True
