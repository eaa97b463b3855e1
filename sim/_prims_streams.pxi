# Included by _engine.pyx (one extension module; split for size). Stream primitives: root, sources and sinks, scanners, locate, joiners, repeat.

cdef class Root(Node):
    cdef int state

    cdef int run(self) except -1:
        cdef int64_t c
        while True:
            c = self.t
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            if self.state == 0:
                emit(self, 0, mk(TK_DATA, 0, 0.0, 0), c)
                self.state = 1
                step(self, c)
            else:
                emit(self, 0, mk(TK_DONE, 0, 0.0, 0), c)
                step(self, c)
                self.done = True
                return 1


cdef class Source(Node):
    cdef int32_t[::1] kinds
    cdef int32_t[::1] vacs
    cdef int64_t[::1] ivals
    cdef double[::1] fvals
    cdef int64_t pos, n

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): kinds, vacs, ivals, fvals: the replayed tokens as parallel arrays (engine.encode_tokens)."""
        self.kinds = kw["kinds"]
        self.vacs = kw["vacs"]
        self.ivals = kw["ivals"]
        self.fvals = kw["fvals"]
        self.n = len(kw["kinds"])

    cdef int run(self) except -1:
        cdef int64_t c
        while self.pos < self.n:
            c = self.t
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            emit(self, 0, mk(self.kinds[self.pos], self.ivals[self.pos], self.fvals[self.pos], self.vacs[self.pos]), c)
            self.pos += 1
            step(self, c)
        self.done = True
        return 1


cdef class Sink(Node):
    cdef public list got

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): nothing: the recorded tokens start empty."""
        self.got = []

    def release(self):
        Node.release(self)
        self.got = []

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef int32_t kind
        while has(self, 0, 0):
            h = hd(self, 0, 0)
            c = start(self, imax(self.t, h.time))
            mem_add(SINK_TOKEN, -1, "its token log")
            self.got.append((h.tok.kind, h.tok.i, h.tok.v, h.tok.vac))
            kind = h.tok.kind
            take(self, 0, c)
            step(self, c)
            if kind == TK_DONE:
                finish_sink(self, c)
                return 1
        return 0


cdef class FiberLookup(Node):
    cdef int64_t[::1] seg
    cdef int64_t[::1] crd
    cdef int64_t[::1] run_end   # nonunique levels: end of the run of duplicates holding p
    cdef int64_t[::1] span_end  # singleton levels: positions r..span_end[r] of parent ref r
    cdef bint dense, single, unique
    cdef int64_t dim, p, end, base, ready, req, seg_base, crd_base, nref
    cdef int mode

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): the level's arrays (primitives._level_arrays) and its singleton/nonunique extras."""
        self.dense = kw["dense"]
        self.single = kw.get("single", False)
        self.unique = kw.get("unique", True)
        self.dim = kw["dim"]
        self.seg = kw["seg"]
        self.crd = kw["crd"]
        self.run_end = kw.get("run_end", _NO_POSITIONS)
        self.span_end = kw.get("span_end", _NO_POSITIONS)
        self.nref = kw["nref"] if "nref" in kw else len(kw["seg"]) - 1
        self.seg_base = kw["seg_base"]
        self.crd_base = kw["crd_base"]

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c, r, nxt
        cdef int32_t kind
        cdef Token tok
        while True:
            if self.unique and self.steps and not self.tracing:
                self.scan_round()
            if self.mode == 1 and self.outs[0].n == 1 and self.outs[1].n == 1:
                if not self.emit_run():
                    return 0
                continue
            if self.mode == 1:
                c = imax(self.t, self.ready)
                nxt = self.p + 1 if self.unique else self.run_end[self.p]
                if not self.dense:
                    c = imax(c, mread(self, 1, self.crd_base + self.p, self.req))
                    if nxt > self.p + 1:  # a nonunique level reads through the run
                        c = imax(c, mread(self, 1, self.crd_base + nxt - 1, self.req))
                if not room(self, 0, &c) or not room(self, 1, &c):
                    return 0
                c = start(self, c)
                if self.dense:
                    emit(self, 0, mk(TK_DATA, self.p - self.base, 0.0, 0), c)
                else:
                    emit(self, 0, mk(TK_DATA, self.crd[self.p], 0.0, 0), c)
                emit(self, 1, mk(TK_DATA, self.p, 0.0, 0), c)
                if not self.dense:
                    count_read(self, 1 if nxt == self.p + 1 else 2)
                self.p = nxt
                if self.p >= self.end:
                    self.mode = 2
                step(self, c)
                continue
            if not has(self, 0, 0):
                return 0
            h = hd(self, 0, 0)
            c = imax(self.t, h.time)
            if self.mode == 2:  # the stop rule
                if not room(self, 0, &c) or not room(self, 1, &c):
                    return 0
                c = start(self, c)
                if h.tok.kind == TK_STOP:
                    tok = mk(TK_STOP, h.tok.i + 1, 0.0, 0)
                    take(self, 0, c)
                else:
                    tok = mk(TK_STOP, 0, 0.0, 0)
                emit(self, 0, tok, c)
                emit(self, 1, tok, c)
                step(self, c)
                self.mode = 0
                continue
            if h.tok.kind == TK_DATA:
                r = h.tok.i
                if self.dense:
                    self.p = r * self.dim
                    self.end = self.p + self.dim
                    self.base = self.p
                    self.ready = c
                else:
                    if r < 0 or r >= self.nref:
                        raise self.error(f"reference {r} out of range (level has {self.nref} fibers)")
                    if self.single:  # the parent's run r..span_end[r]; no segment to read
                        self.p = r
                        self.end = self.span_end[r]
                        self.ready = c
                    else:
                        self.p = self.seg[r]
                        self.end = self.seg[r + 1]
                        self.ready = imax(mread(self, 0, self.seg_base + r, c), mread(self, 0, self.seg_base + r + 1, c))
                        count_read(self, 2)  # the ref is taken below: no retry
                    self.req = self.ready
                take(self, 0, c)
                self.mode = 1 if self.p < self.end else 2
                continue
            if not room(self, 0, &c) or not room(self, 1, &c):
                return 0
            c = start(self, c)
            if h.tok.kind == TK_STOP:
                tok = mk(TK_STOP, h.tok.i + 1, 0.0, h.tok.vac + 1)
            else:
                tok = h.tok
            kind = h.tok.kind
            take(self, 0, c)
            emit(self, 0, tok, c)
            emit(self, 1, tok, c)
            step(self, c)
            if kind == TK_EMPTY:
                self.mode = 2
            elif kind == TK_DONE:
                self.done = True
                return 1


    cdef bint emit_run(self) except -1:
        # Mode 1 with one consumer per output: the generic path's steps, batched. Each round
        # takes as many steps as both outputs have free slots for (room() would succeed for
        # each), with the FIFOs' ends and the node's counters in locals. Returns False when
        # blocked on an output.
        cdef Q* q0 = self.outs[0].qs[0]
        cdef Q* q1 = self.outs[1].qs[0]
        cdef Tail o0, o1
        cdef int64_t p = self.p, end = self.end, t = self.t, c, nxt, vis, n, j
        cdef int64_t lat = self.lat, ii = self.ii, ready = self.ready, base = self.base, req = self.req
        cdef int64_t steps = self.steps, stall = self.stall, crd_base = self.crd_base, k = 0
        cdef int64_t nread = 0  # crd words read by the round's steps
        cdef bint dense = self.dense, unique = self.unique, tracing = self.tracing
        cdef bint ok = True
        cdef const int64_t* crd = &self.crd[0] if self.crd.shape[0] else NULL
        cdef Token tok = mk(TK_DATA, 0, 0.0, 0)
        while p < end:
            n = imin(q_space(q0), q_space(q1))
            if n == 0:  # the generic step requests its coordinate batch before it finds no room
                c = imax(t, ready)
                if not dense:
                    c = imax(c, mread(self, 1, crd_base + p, req))
                    nxt = p + 1 if unique else self.run_end[p]
                    if nxt > p + 1:
                        mread(self, 1, crd_base + nxt - 1, req)
                if room1(self, q0, &c):
                    room1(self, q1, &c)
                ok = False
                break
            if unique and n > end - p:
                n = end - p
            tail_open(&o0, q0)
            tail_open(&o1, q1)
            for j in range(n):
                c = t if t > ready else ready
                nxt = p + 1 if unique else self.run_end[p]
                if not dense:  # every step of the round commits: its reads count
                    c = imax(c, mread(self, 1, crd_base + p, req))
                    nread += 1
                    if nxt > p + 1:  # a nonunique level reads through the run
                        c = imax(c, mread(self, 1, crd_base + nxt - 1, req))
                        nread += 1
                c = tail_slot(&o1, tail_slot(&o0, c))
                if steps:
                    stall += c - t
                else:
                    self.first = c
                vis = c + lat
                tok.i = (p - base) if dense else crd[p]
                tail_push(&o0, tok, vis)
                tok.i = p
                tail_push(&o1, tok, vis)
                k += 1
                p = nxt
                t = c + ii
                steps += 1
                if tracing:
                    self.steps = steps
                    self.t = t
                    record_span(self, c)
                if p >= end:
                    break
            tail_close(&o0)
            tail_close(&o1)
            if t - ii + lat > self.finish:
                self.finish = t - ii + lat
        global g_moves
        g_moves += 2 * k
        self.tout += 2 * k
        count_read(self, nread)
        self.steps = steps
        self.stall = stall
        self.p = p
        self.t = t
        if p >= end:
            self.mode = 2
        return ok

    cdef int scan_round(self) except -1:
        # A unique level's steps that cannot block, after the node's first step and untraced,
        # over as many fibers as the outputs have room for: a fiber's coordinates (mode 1),
        # its stop (mode 2: the input's head, when it is a stop, is taken into it) and the
        # next reference (mode 0), with every FIFO end in a plain local and, on a compressed
        # level, the memory model's same-batch shortcut inline. Each step is run()'s, in
        # run()'s order (the segment and coordinate requests included); run() takes the step
        # that blocks, the parent's stops, empty and done tokens, and bad references.
        cdef Lane ln[ROUND_OUTS]
        cdef Head hi
        cdef int64_t n = INT64_MAX
        cdef int no = lanes_open(self, ln, &n)
        if no < 0 or n <= 0:
            return 0
        cdef Engine e = self.eng
        cdef bint dense = self.dense, mem = e.mem_on and not self.dense
        cdef bint pair = no == 2 and ln[0].port == 0 and not mem  # one consumer per port, no memory
        cdef int64_t crd_base = self.crd_base, seg_base = self.seg_base
        cdef int64_t p = self.p, end = self.end, base = self.base, req = self.req, ready = self.ready
        cdef int64_t t = self.t, lat = self.lat, ii = self.ii, stall = self.stall
        cdef int64_t c, r, k, j, m = 0, coords = 0, refs, nread = 0
        cdef int o
        cdef const int64_t* crds = &self.crd[0] if self.crd.shape[0] else NULL
        cdef Entry* x
        cdef Entry* h
        cdef Token tok
        head_open(&hi, self.ins[0])
        while True:
            if self.mode == 1:
                k = imin(end - p, n - m)
                if k <= 0:
                    break
                if pair:
                    t, stall = self.scan_pair(ln, m, k, p, p - base, ready, t, stall)
                else:
                    for j in range(k):
                        c = t if t > ready else ready
                        if mem:
                            if batch_of(e, crd_base + p + j) == self.mc_batch[1]:
                                if self.mc_ready[1] > c:
                                    c = self.mc_ready[1]
                            else:
                                c = imax(c, mread(self, 1, crd_base + p + j, req))
                        c = lanes_wait(ln, no, m + j, c)
                        stall += c - t
                        r = (p + j - base) if dense else crds[p + j]
                        for o in range(no):
                            x = &ln[o].buf[(ln[o].w + m + j) & ln[o].mask]
                            x.tok.kind = TK_DATA
                            x.tok.vac = 0
                            x.tok.i = r if ln[o].port == 0 else p + j
                            x.tok.v = 0.0
                            x.time = c + lat
                        t = c + ii
                m += k
                p += k
                coords += k
                if p < end:
                    break  # the outputs are full
                self.mode = 2
            elif self.mode == 2:  # the stop rule: the input's head decides the stop's level
                if m >= n or hi.count == 0:
                    break
                h = head_at(&hi)
                c = t if t > h.time else h.time
                c = lanes_wait(ln, no, m, c)
                stall += c - t
                if h.tok.kind == TK_STOP:
                    tok = mk(TK_STOP, h.tok.i + 1, 0.0, 0)
                    head_pop(&hi, c)
                else:
                    tok = mk(TK_STOP, 0, 0.0, 0)
                lanes_put(ln, no, m, &tok, c + lat)
                m += 1
                t = c + ii
                self.mode = 0
            else:  # the next reference opens a fiber (not a step: no clock, no push)
                if hi.count == 0:
                    break
                h = head_at(&hi)
                if h.tok.kind != TK_DATA:
                    break
                r = h.tok.i
                c = t if t > h.time else h.time
                if dense:
                    p = r * self.dim
                    end = p + self.dim
                    base = p
                    ready = c
                else:
                    if r < 0 or r >= self.nref or self.single:
                        break
                    p = self.seg[r]
                    end = self.seg[r + 1]
                    ready = imax(mread(self, 0, seg_base + r, c), mread(self, 0, seg_base + r + 1, c))
                    nread += 2
                    req = ready
                head_pop(&hi, c)
                self.mode = 1 if p < end else 2
        refs = hi.popped - self.ins[0].popped  # the references and stops taken
        head_close(&hi)
        if m:
            lanes_close(ln, no, m)
            steps_taken(self, m, t, stall)
        global g_moves
        g_moves += no * m + refs
        self.tout += 2 * m
        self.tin += refs
        if not dense:
            count_read(self, coords + nread)
        self.p = p
        self.end = end
        self.base = base
        self.req = req
        self.ready = ready
        return 0

    cdef (int64_t, int64_t) scan_pair(self, Lane* ln, int64_t m, int64_t n, int64_t p, int64_t crd, int64_t ready,
                                      int64_t t, int64_t stall) noexcept:
        # scan_round's coordinate loop for one consumer per port (lane 0: coordinates, lane 1:
        # references) and no memory request (dense level, or the memory model off), unrolled:
        # n steps from position p (coordinate crd on a dense level) at the round's push m, none
        # before cycle ready (the fiber's). Returns the clock and the stall count.
        cdef Entry* b0 = ln[0].buf
        cdef Entry* b1 = ln[1].buf
        cdef const int64_t* f0 = ln[0].pops
        cdef const int64_t* f1 = ln[1].pops
        cdef int64_t m0 = ln[0].mask, m1 = ln[1].mask
        cdef int64_t w0 = ln[0].w + m, w1 = ln[1].w + m, g0 = ln[0].g + m, g1 = ln[1].g + m
        cdef int64_t lat = self.lat, ii = self.ii
        cdef int64_t c, f, j
        cdef bint dense = self.dense
        cdef const int64_t* crds = &self.crd[0] if self.crd.shape[0] else NULL
        cdef Entry* e
        for j in range(n):
            c = t if t > ready else ready
            if g0 >= 0:
                f = f0[g0 & m0]
                if f > c:
                    c = f
            if g1 >= 0:
                f = f1[g1 & m1]
                if f > c:
                    c = f
            stall += c - t
            e = &b0[w0 & m0]
            e.tok.kind = TK_DATA
            e.tok.vac = 0
            e.tok.i = crd if dense else crds[p]
            e.tok.v = 0.0
            e.time = c + lat
            e = &b1[w1 & m1]
            e.tok.kind = TK_DATA
            e.tok.vac = 0
            e.tok.i = p
            e.tok.v = 0.0
            e.time = c + lat
            w0 += 1
            w1 += 1
            g0 += 1
            g1 += 1
            crd += 1
            p += 1
            t = c + ii
        return t, stall


# A fused run's clocks and counts (fused_dense_drops): the scan's clock and stall count, the
# intersect's clock, stall count and steps.
cdef struct FusedRun:
    int64_t st, sstall, jt, jstall, jsteps


cdef inline int64_t fused_push(FusedRun* r, int64_t ready, int64_t sii, int64_t slat, Q* qc, int64_t gc, Q* qr,
                               int64_t gr) noexcept:
    # the scan's push of a coordinate into both FIFOs, at its clock, not before the fiber is
    # ready nor before pops gc of qc and gr of qr (the slots it refills; negative: none yet).
    # Returns when the coordinate is visible.
    cdef int64_t c = r.st if r.st > ready else ready, f
    if gc >= 0:
        f = qc.pops[gc & (qc.cap - 1)]
        if f > c:
            c = f
    if gr >= 0:
        f = qr.pops[gr & (qr.cap - 1)]
        if f > c:
            c = f
    r.sstall += c - r.st
    r.st = c + sii
    return c + slat


cdef inline void fused_drop(FusedRun* r, Node j, int64_t c, int64_t otime, Q* qc, int64_t nc, Q* qr,
                            int64_t nr) noexcept:
    # the intersect's drop of a coordinate visible at c while the other head is visible at
    # otime: pops nc of qc and nr of qr
    if otime > c:
        c = otime
    if r.jt > c:
        c = r.jt
    if r.jsteps:
        r.jstall += c - r.jt
    else:
        j.first = c
    r.jsteps += 1
    qc.pops[nc & (qc.cap - 1)] = c
    qr.pops[nr & (qr.cap - 1)] = c
    r.jt = c + j.ii


cdef int64_t fused_dense_drops(Node node, Node j, Q* qc, Q* qr, bint ostop, int64_t bound, int64_t otime,
                               bint* cut) noexcept:
    # A two-input intersect ``j`` that has just dropped every token of one side (crd FIFO qc,
    # payload FIFO qr, both empty now) while the other head stays put (coordinate ``bound``,
    # or a stop when ``ostop``; visible at ``otime``), fed by a dense scanner in the middle of
    # a fiber whose two outputs are exactly these FIFOs. From here on, each scheduler turn of
    # the scanner pushes D coordinates (the FIFOs' free slots) and the intersect's next turn
    # drops them, as long as they stay below ``bound`` and inside the fiber; nothing else
    # reads these FIFOs and a dense scanner requests no memory, so no other node can tell
    # those turns happen. So run s whole turns of both at once, each coordinate pushed and
    # popped in one step, and let both nodes sit out their next s turns (``naps``): every
    # token time, counter, FIFO end, pop-time ring and high-water mark, and the order of
    # every other node's steps and memory requests, come out as the turns taken one by one
    # would leave them. Bounded FIFOs only (an unbounded one would grow to D entries: its
    # memory count); not for traced nodes (their spans).
    # The turn after those, when the scanner runs before the intersect in a pass and stays
    # inside the fiber, is taken too as far as it is the two nodes' own business: the scanner
    # pushes D coordinates holding ``bound``, and the intersect's next turn starts by dropping
    # the ones below it; that turn's match and what follows depend on the intersect's
    # consumers, so the intersect ends its current turn (``cut``) and takes them when its next
    # turn comes (the scanner sits out one turn more). Returns the coordinates dropped.
    cut[0] = False
    if type(<object> node) is not FiberLookup:
        return 0
    cdef FiberLookup sc = <FiberLookup> node
    if (sc.mode != 1 or not sc.dense or not sc.unique or sc.tracing or j.tracing or not sc.steps
            or sc.eng.sched[sc.index].naps
            or sc.outs[0].n != 1 or sc.outs[1].n != 1 or sc.outs[0].qs[0] != qc or sc.outs[1].qs[0] != qr
            or qc.count or qr.count or not qc.depth or not qr.depth):
        return 0
    cdef int64_t turn = imin(qc.depth, qr.depth)  # D: the scanner's push per turn (bounded FIFOs)
    cdef int64_t p = sc.p, end = sc.end, base = sc.base, ready = sc.ready
    cdef int64_t slat = sc.lat, sii = sc.ii, jii = j.ii
    cdef FusedRun run
    run.st, run.sstall, run.jt, run.jstall, run.jsteps = sc.t, sc.stall, j.t, j.stall, j.steps
    cdef int64_t* fc = qc.pops
    cdef int64_t* fr = qr.pops
    cdef int64_t mc = qc.cap - 1, mr = qr.cap - 1
    cdef int64_t gc = qc.pushed - qc.depth, gr = qr.pushed - qr.depth  # push g + depth waits for pop g
    cdef int64_t pc = qc.popped, pr = qr.popped  # pop n fills ring slot n
    cdef int64_t lim = end if ostop else imin(end, base + bound)
    cdef int64_t turns = (lim - p) // turn if lim > p else 0
    cdef int64_t k = turns * turn
    # the next turn's drops, when it is taken too (see above)
    cdef int64_t part = lim - p - k if (not ostop and lim < end and p + k + turn < end and sc.index < j.index) else 0
    cdef int64_t c, f, i = 0
    if k == 0 and part == 0:
        return 0
    while i < k:  # the steps as they are written; then, in steady state, the same without
        # the checks that cannot fire any more
        fused_drop(&run, j, fused_push(&run, ready, sii, slat, qc, gc + i, qr, gr + i), otime, qc, pc + i, qr, pr + i)
        i += 1
        if gc + i >= 0 and gr + i >= 0 and sii > 0 and jii > 0:
            break  # st > ready and jt > otime from now on
    # steady state: both FIFOs past their first `depth` pushes. What a step reads is the scan's
    # clock, the intersect's and each ring's pop time `depth` pops back, and every step is the
    # same max-plus rule: once the scan's step and the pop have both moved by the same delta at
    # each of the last `dmax` steps, the state is the previous one moved by delta, and so is
    # every step after it. The rest of the run is then taken at once: the clocks and stall
    # counts moved by rest * delta, the rings' last `depth` pop times written.
    cdef int64_t dmax = imax(qc.depth, qr.depth), same = 0, delta = 0, cs, cs0 = 0, c0 = 0, rest, d
    cdef int64_t st = run.st, sstall = run.sstall, jt = run.jt, jstall = run.jstall  # in registers
    cdef bint moved = False  # cs0 and c0 hold the previous step's
    for i in range(i, k):
        cs = st
        f = fc[(gc + i) & mc]
        if f > cs:
            cs = f
        f = fr[(gr + i) & mr]
        if f > cs:
            cs = f
        sstall += cs - st
        st = cs + sii
        c = cs + slat
        if jt > c:
            c = jt
        jstall += c - jt
        fc[(pc + i) & mc] = c
        fr[(pr + i) & mr] = c
        jt = c + jii
        if moved and c - c0 == delta and cs - cs0 == delta:
            same += 1
            if same >= dmax and i + 1 < k:
                rest = k - 1 - i
                sstall += rest * (delta - sii)
                jstall += rest * (delta - jii)
                st += rest * delta
                c += rest * delta
                jt = c + jii
                for d in range(qc.depth - 1, -1, -1):  # oldest first
                    fc[(pc + k - 1 - d) & mc] = c - d * delta
                for d in range(qr.depth - 1, -1, -1):
                    fr[(pr + k - 1 - d) & mr] = c - d * delta
                break
        elif moved:
            delta = c - c0
            same = 1 if cs - cs0 == delta else 0
        moved = True
        c0 = c
        cs0 = cs
    run.st, run.sstall, run.jt, run.jstall = st, sstall, jt, jstall
    cdef int64_t pushes = k + (turn if part else 0), pops = k + part
    cdef Entry* e
    for i in range(k, pushes):  # the next turn: D pushes, the first `part` of them dropped
        c = fused_push(&run, ready, sii, slat, qc, gc + i, qr, gr + i)
        if i < pops:
            fused_drop(&run, j, c, otime, qc, pc + i, qr, pr + i)
        else:  # left in the FIFOs for the intersect's next turn
            e = &qc.buf[(qc.head + i) & mc]
            e.tok = mk(TK_DATA, p + i - base, 0.0, 0)
            e.time = c
            e = &qr.buf[(qr.head + i) & mr]
            e.tok = mk(TK_DATA, p + i, 0.0, 0)
            e.time = c
    global g_moves
    g_moves += 2 * pushes + 2 * pops
    qc.head = (qc.head + pops) & mc
    qr.head = (qr.head + pops) & mr
    qc.count = pushes - pops
    qr.count = pushes - pops
    qc.pushed += pushes
    qr.pushed += pushes
    qc.popped = pc + pops
    qr.popped = pr + pops
    qc.cin[0] += pushes
    qr.cin[0] += pushes
    qc.cout[0] += pops
    qr.cout[0] += pops
    if turn > qc.high:  # each turn fills the empty FIFOs with D tokens
        qc.high = turn
    if turn > qr.high:
        qr.high = turn
    sc.eng.sched[sc.index].naps = turns + (1 if part else 0)
    sc.eng.sched[j.index].naps = turns
    sc.p = p + pushes
    if sc.p >= end:
        sc.mode = 2
    steps_taken(sc, pushes, run.st, run.sstall)
    sc.eng.sched[sc.index].t = sc.t  # the scanner's clock as its naps report it
    sc.tout += 2 * pushes
    steps_taken(j, pops, run.jt, run.jstall)
    j.tin += 2 * pops
    cut[0] = part > 0
    return pops


cdef class Locate(Node):
    # inputs: crd, ref (iterated side), parent ref of the located level one loop outside
    cdef int64_t[::1] seg
    cdef int64_t[::1] crd
    cdef bint dense
    cdef int64_t dim, nref, seg_base, crd_base

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): the located level's arrays (primitives._level_arrays)."""
        self.dense = kw["dense"]
        self.dim = kw["dim"]
        self.seg = kw["seg"]
        self.crd = kw["crd"]
        self.nref = len(kw["seg"]) - 1
        self.seg_base = kw["seg_base"]
        self.crd_base = kw["crd_base"]

    cdef int run(self) except -1:
        cdef Entry* a
        cdef Entry* r
        cdef Entry* p
        cdef int64_t c, lo, hi, mid, need, k, nread
        cdef Token tl, ta
        while True:
            if not has(self, 0, 0) or not has(self, 1, 0) or not has(self, 2, 0):
                return 0
            a = hd(self, 0, 0)
            r = hd(self, 1, 0)
            p = hd(self, 2, 0)
            ta = a.tok
            c = imax(self.t, imax(a.time, imax(r.time, p.time)))
            need = 0
            nread = 0
            if ta.kind == TK_DATA or ta.kind == TK_EMPTY:
                if ta.kind == TK_EMPTY or p.tok.kind == TK_EMPTY:
                    tl = mk(TK_EMPTY, 0, 0.0, 0)
                elif p.tok.kind != TK_DATA:
                    raise self.error("parent-ref stream misaligned")
                elif self.dense:
                    tl = mk(TK_DATA, p.tok.i * self.dim + ta.i, 0.0, 0)
                else:
                    if p.tok.i < 0 or p.tok.i >= self.nref:
                        raise self.error(f"parent reference {p.tok.i} out of range")
                    c = imax(mread(self, 0, self.seg_base + p.tok.i, c), c)
                    lo = self.seg[p.tok.i]
                    hi = self.seg[p.tok.i + 1]
                    while lo < hi:
                        mid = (lo + hi) >> 1
                        if self.crd[mid] < ta.i:
                            lo = mid + 1
                        else:
                            hi = mid
                    c = imax(mread(self, 1, self.crd_base + lo, c), c)
                    nread = 2  # seg and crd: they count when the step commits
                    if lo < self.seg[p.tok.i + 1] and self.crd[lo] == ta.i:
                        tl = mk(TK_DATA, lo, 0.0, 0)
                    else:
                        tl = mk(TK_EMPTY, 0, 0.0, 0)
            elif ta.kind == TK_DONE:
                if p.tok.kind != TK_DONE:
                    raise self.error("parent-ref stream misaligned at the end")
                tl = ta
                need = 1
            else:
                tl = ta
                need = (1 if ta.vac == 0 else 0) + (1 if ta.i >= 1 else 0)
                if need and not has(self, 2, need - 1):
                    return 0
                if ta.vac == 0 and p.tok.kind != TK_DATA and p.tok.kind != TK_EMPTY:
                    raise self.error("parent-ref stream misaligned")
                if ta.i >= 1 and (hd(self, 2, need - 1).tok.kind != TK_STOP or hd(self, 2, need - 1).tok.i != ta.i - 1):
                    raise self.error("parent-ref stream misaligned")
                if need:
                    c = imax(c, hd(self, 2, need - 1).time)
            if not room_all(self, &c):
                return 0
            c = start(self, c)
            emit(self, 0, r.tok, c)
            emit(self, 1, tl, c)
            emit(self, 2, ta, c)
            take(self, 0, c)
            take(self, 1, c)
            for k in range(need):
                take(self, 2, c)
            count_read(self, nread)
            step(self, c)
            if ta.kind == TK_DONE:
                self.done = True
                return 1


cdef class Joiner(Node):
    cdef int k
    cdef bint is_union

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): k: the number of joined (crd, payload) pairs; union: a union, else an intersection."""
        self.k = kw["k"]
        self.is_union = kw["union"]

    cdef int run(self) except -1:
        cdef int i, k = self.k, nstop, ndone, nempty
        cdef int64_t c, m
        cdef Entry* h
        cdef Token st
        cdef bint first
        while True:
            if k == 2 and not self.is_union and not self.drop_run():
                return 0
            c = self.t
            nstop = 0
            ndone = 0
            nempty = 0
            first = True
            m = 0
            for i in range(k):
                if not has(self, 2 * i, 0):
                    return 0
                h = hd(self, 2 * i, 0)
                c = imax(c, h.time)
                if h.tok.kind == TK_STOP:
                    nstop += 1
                    st = h.tok
                elif h.tok.kind == TK_DONE:
                    ndone += 1
                elif h.tok.kind == TK_EMPTY:
                    nempty += 1
                elif first or h.tok.i < m:
                    m = h.tok.i
                    first = False
            if nempty:  # an N coordinate is "nothing here": skip it
                for i in range(k):
                    if hd(self, 2 * i, 0).tok.kind == TK_EMPTY:
                        if not has(self, 2 * i + 1, 0):
                            return 0
                        c = imax(c, hd(self, 2 * i + 1, 0).time)
                c = start(self, c)
                for i in range(k):
                    if hd(self, 2 * i, 0).tok.kind == TK_EMPTY:
                        take(self, 2 * i, c)
                        take(self, 2 * i + 1, c)
                step(self, c)
                continue
            if ndone or nstop == k:
                if ndone and ndone != k:
                    raise self.error("inputs end at different points")
                for i in range(k):
                    h = hd(self, 2 * i, 0)
                    if nstop and (h.tok.i != st.i or h.tok.vac != st.vac):
                        raise self.error(f"stops disagree (S{st.i} vs S{h.tok.i})")
                    if not has(self, 2 * i + 1, 0):
                        return 0
                    c = imax(c, hd(self, 2 * i + 1, 0).time)
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                st = hd(self, 0, 0).tok
                emit(self, 0, st, c)
                for i in range(k):
                    emit(self, 1 + i, st, c)
                    take(self, 2 * i, c)
                    take(self, 2 * i + 1, c)
                step(self, c)
                if ndone:
                    self.done = True
                    return 1
                continue
            if self.is_union:
                for i in range(k):
                    h = hd(self, 2 * i, 0)
                    if h.tok.kind == TK_DATA and h.tok.i == m:
                        if not has(self, 2 * i + 1, 0):
                            return 0
                        c = imax(c, hd(self, 2 * i + 1, 0).time)
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, mk(TK_DATA, m, 0.0, 0), c)
                for i in range(k):
                    h = hd(self, 2 * i, 0)
                    if h.tok.kind == TK_DATA and h.tok.i == m:
                        emit(self, 1 + i, hd(self, 2 * i + 1, 0).tok, c)
                        take(self, 2 * i, c)
                        take(self, 2 * i + 1, c)
                    else:
                        emit(self, 1 + i, mk(TK_EMPTY, 0, 0.0, 0), c)
                step(self, c)
                continue
            # intersect
            nempty = 0  # reused: count of heads equal to m
            for i in range(k):
                h = hd(self, 2 * i, 0)
                if h.tok.kind == TK_DATA and (nstop or h.tok.i == m):
                    if not has(self, 2 * i + 1, 0):
                        return 0
                    c = imax(c, hd(self, 2 * i + 1, 0).time)
                    if h.tok.i == m:
                        nempty += 1
            if nstop == 0 and nempty == k:
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, mk(TK_DATA, m, 0.0, 0), c)
                for i in range(k):
                    emit(self, 1 + i, hd(self, 2 * i + 1, 0).tok, c)
                    take(self, 2 * i, c)
                    take(self, 2 * i + 1, c)
                step(self, c)
                continue
            c = start(self, c)
            for i in range(k):
                h = hd(self, 2 * i, 0)
                if h.tok.kind == TK_DATA and (nstop or h.tok.i == m):
                    take(self, 2 * i, c)
                    take(self, 2 * i + 1, c)
            step(self, c)


    cdef bint drop_run(self) except -1:
        # Two-input intersect, batched: while both coordinate heads are data, emit a match or
        # drop the smaller one (crd and payload); while one is a stop, drop the other's data;
        # one step each, exactly as the generic path does. A run of drops from one side (while
        # the other head stays put) is one tight loop.
        # Returns False when blocked on an input, True when the next step is not a drop.
        cdef Q* ca = self.ins[0]
        cdef Q* ra = self.ins[1]
        cdef Q* cb = self.ins[2]
        cdef Q* rb = self.ins[3]
        cdef Q* qc
        cdef Q* qr
        cdef Entry* a
        cdef Entry* b
        cdef Entry* o
        cdef Entry* x
        cdef Entry* r
        cdef int64_t t = self.t, c, ii = self.ii, lat = self.lat, k = 0, k2, bound, otime
        cdef Head hc, hr
        cdef int64_t steps = self.steps, stall = self.stall, finish = self.finish
        cdef bint ok = True, drop_a, tracing = self.tracing, ostop, cut
        while True:
            if ca.count == 0 or cb.count == 0:
                self.blk_fifo = ca.id if ca.count == 0 else cb.id
                self.blk_why = 0
                ok = False
                break
            a = &ca.buf[ca.head]
            b = &cb.buf[cb.head]
            if steps and not tracing and a.tok.kind == b.tok.kind and (
                    (a.tok.kind == TK_DATA and a.tok.i == b.tok.i) or a.tok.kind == TK_STOP):
                t, stall, k2 = self.match_round(t, stall)
                if k2:
                    steps += k2
                    if t - ii + lat > finish:
                        finish = t - ii + lat
                    continue
            if a.tok.kind == TK_DATA and b.tok.kind == TK_DATA:
                if a.tok.i == b.tok.i:  # a match: emit the coordinate and both payloads
                    if ra.count == 0 or rb.count == 0:
                        self.blk_fifo = ra.id if ra.count == 0 else rb.id
                        self.blk_why = 0
                        ok = False
                        break
                    c = imax(t, imax(imax(a.time, b.time), imax(ra.buf[ra.head].time, rb.buf[rb.head].time)))
                    if not room_all(self, &c):
                        ok = False
                        break
                    if steps:
                        stall += c - t
                    else:
                        self.first = c
                    emit(self, 0, a.tok, c)
                    emit(self, 1, ra.buf[ra.head].tok, c)
                    emit(self, 2, rb.buf[rb.head].tok, c)
                    q_pop(ca, c)
                    q_pop(ra, c)
                    q_pop(cb, c)
                    q_pop(rb, c)
                    self.tin += 4
                    t = c + ii
                    steps += 1
                    if c + lat > finish:
                        finish = c + lat
                    if tracing:
                        self.steps = steps
                        self.t = t
                        record_span(self, c)
                    continue
                drop_a = a.tok.i < b.tok.i
            elif a.tok.kind == TK_DATA and b.tok.kind == TK_STOP:
                drop_a = True  # the other input's fiber has ended: drop the rest of this one
            elif a.tok.kind == TK_STOP and b.tok.kind == TK_DATA:
                drop_a = False
            else:
                break
            if drop_a:
                qc = ca
                qr = ra
                o = b
            else:
                qc = cb
                qr = rb
                o = a
            if qr.count == 0:
                self.blk_fifo = qr.id
                self.blk_why = 0
                ok = False
                break
            # drop while this side's head is data below the other (fixed) head, or the other
            # head is a stop; the outer loop sorts out whatever ends the run
            otime = o.time
            ostop = o.tok.kind == TK_STOP
            bound = o.tok.i
            if steps and not tracing:
                t, stall, k2 = self.drop_round(qc, qr, ostop, bound, otime, t, stall)
                k += k2
                steps += k2
            head_open(&hc, qc)
            head_open(&hr, qr)
            while hc.count and hr.count:
                x = head_at(&hc)
                if x.tok.kind != TK_DATA or (not ostop and x.tok.i >= bound):
                    break
                r = head_at(&hr)
                c = t if t > otime else otime
                if x.time > c:
                    c = x.time
                if r.time > c:
                    c = r.time
                if steps:
                    stall += c - t
                else:
                    self.first = c
                head_pop(&hc, c)
                head_pop(&hr, c)
                k += 1
                t = c + ii
                steps += 1
                if tracing:
                    self.steps = steps
                    self.t = t
                    head_close(&hc)
                    head_close(&hr)
                    record_span(self, c)
            head_close(&hc)
            head_close(&hr)
            if t - ii + lat > finish:
                finish = t - ii + lat
            if qc.count == 0 and qr.count == 0 and qc.producer != NULL and not tracing:
                self.t = t
                self.steps = steps
                self.stall = stall
                self.finish = finish
                if fused_dense_drops(<Node> qc.producer, self, qc, qr, ostop, bound, otime, &cut):
                    t = self.t
                    steps = self.steps
                    stall = self.stall
                    finish = self.finish
                    if cut:  # the next turn's drops are taken: this turn ends, the next one has work
                        self.blk_fifo = -1
                        ok = False
                        break
        global g_moves
        g_moves += 2 * k
        self.tin += 2 * k
        self.steps = steps
        self.stall = stall
        self.finish = finish
        self.t = t
        return ok


    cdef (int64_t, int64_t, int64_t) drop_round(self, Q* qc, Q* qr, bint ostop, int64_t bound, int64_t otime,
                                                int64_t t, int64_t stall) noexcept:
        # drop_run's drops of one side (crd FIFO qc, payload FIFO qr) present in its FIFOs,
        # after the node's first step and untraced, with the FIFO ends in plain locals.
        # Returns the clock, the stall count and the number of drops.
        cdef int64_t n = imin(qc.count, qr.count), m = 0, c, ii = self.ii
        cdef Entry* bc = qc.buf
        cdef Entry* br = qr.buf
        cdef int64_t mc = qc.cap - 1, mr = qr.cap - 1, hc = qc.head, hr = qr.head
        cdef int64_t* pc = qc.pops if qc.depth else NULL  # pop-time rings (NULL: unbounded)
        cdef int64_t* pr = qr.pops if qr.depth else NULL
        cdef int64_t nc = qc.popped, nr = qr.popped
        cdef Entry* x
        cdef Entry* r
        while m < n:
            x = &bc[(hc + m) & mc]
            if x.tok.kind != TK_DATA or (not ostop and x.tok.i >= bound):
                break
            r = &br[(hr + m) & mr]
            c = t if t > otime else otime
            if x.time > c:
                c = x.time
            if r.time > c:
                c = r.time
            stall += c - t
            if pc != NULL:
                pc[(nc + m) & mc] = c
            if pr != NULL:
                pr[(nr + m) & mr] = c
            t = c + ii
            m += 1
        if m:
            q_popped(qc, m)
            q_popped(qr, m)
        return t, stall, m

    cdef (int64_t, int64_t, int64_t) match_round(self, int64_t t, int64_t stall) noexcept:
        # drop_run's matches and run()'s equal stops, batched: while both coordinate heads are
        # equal data (or equal stops) and every FIFO has the tokens and room a step needs, the
        # generic step (emit the coordinate and both payloads, or the stop on every port, to
        # every consumer; pop all four inputs) with the FIFO ends in locals. Only after the node's first step, untraced, with at most ROUND_OUTS
        # consumers in all. Returns the clock, the stall count and the number of matches (0:
        # let the generic step run).
        cdef Q* ca = self.ins[0]
        cdef Q* ra = self.ins[1]
        cdef Q* cb = self.ins[2]
        cdef Q* rb = self.ins[3]
        cdef Lane ln[ROUND_OUTS]
        cdef int64_t n = imin(imin(ca.count, ra.count), imin(cb.count, rb.count))
        cdef int no = lanes_open(self, ln, &n), o
        if no < 0 or n <= 0:
            return t, stall, 0
        cdef Entry* ba = ca.buf
        cdef Entry* bx = ra.buf
        cdef Entry* bb = cb.buf
        cdef Entry* by = rb.buf
        cdef int64_t mca = ca.cap - 1, mra = ra.cap - 1, mcb = cb.cap - 1, mrb = rb.cap - 1
        cdef int64_t hca = ca.head, hra = ra.head, hcb = cb.head, hrb = rb.head
        # pop-time rings of the bounded inputs (NULL: unbounded) and their next pop numbers
        cdef int64_t* pca = ca.pops if ca.depth else NULL
        cdef int64_t* pra = ra.pops if ra.depth else NULL
        cdef int64_t* pcb = cb.pops if cb.depth else NULL
        cdef int64_t* prb = rb.pops if rb.depth else NULL
        cdef int64_t nca = ca.popped, nra = ra.popped, ncb = cb.popped, nrb = rb.popped
        cdef int64_t lat = self.lat, ii = self.ii, c, vis, m = 0
        cdef Entry* a
        cdef Entry* b
        cdef Entry* x
        cdef Entry* y
        cdef Entry* e
        while m < n:
            a = &ba[(hca + m) & mca]
            b = &bb[(hcb + m) & mcb]
            if a.tok.kind != b.tok.kind or a.tok.i != b.tok.i or (a.tok.kind != TK_DATA and (
                    a.tok.kind != TK_STOP or a.tok.vac != b.tok.vac)):
                break  # not a match nor two equal stops (run() names stops that disagree)
            x = &bx[(hra + m) & mra]
            y = &by[(hrb + m) & mrb]
            c = t
            if a.time > c:
                c = a.time
            if b.time > c:
                c = b.time
            if x.time > c:
                c = x.time
            if y.time > c:
                c = y.time
            c = lanes_wait(ln, no, m, c)
            stall += c - t
            vis = c + lat
            for o in range(no):  # a stop goes to every port, a match's payloads to theirs
                e = &ln[o].buf[(ln[o].w + m) & ln[o].mask]
                e.tok = a.tok if ln[o].port == 0 or a.tok.kind == TK_STOP else (x.tok if ln[o].port == 1 else y.tok)
                e.time = vis
            if pca != NULL:
                pca[(nca + m) & mca] = c
            if pra != NULL:
                pra[(nra + m) & mra] = c
            if pcb != NULL:
                pcb[(ncb + m) & mcb] = c
            if prb != NULL:
                prb[(nrb + m) & mrb] = c
            t = c + ii
            m += 1
        if m:
            lanes_close(ln, no, m)
            q_popped(ca, m)
            q_popped(ra, m)
            q_popped(cb, m)
            q_popped(rb, m)
            self.tin += 4 * m
            self.tout += 3 * m
            global g_moves
            g_moves += (no + 4) * m
        return t, stall, m


cdef class RepeatSigGen(Node):
    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef Token tok
        while True:
            if self.steps and not self.tracing and self.outs[0].n == 1:
                self.signal_round()
            if not has(self, 0, 0):
                return 0
            h = hd(self, 0, 0)
            c = imax(self.t, h.time)
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            tok = h.tok
            if tok.kind == TK_EMPTY:
                tok = mk(TK_DATA, 0, 0.0, 0)
            elif tok.kind == TK_DATA:
                tok.i = 0
            take(self, 0, c)
            emit(self, 0, tok, c)
            step(self, c)
            if tok.kind == TK_DONE:
                self.done = True
                return 1


    cdef void signal_round(self) noexcept:
        # run()'s steps before a D that cannot block (input present, output room), after the
        # node's first step and untraced, with the FIFO ends in plain locals.
        cdef Q* qi = self.ins[0]
        cdef Lane ln[ROUND_OUTS]
        cdef int64_t n = qi.count
        cdef int no = lanes_open(self, ln, &n)
        if no != 1 or n <= 0:  # its caller's one consumer: the lane loops unroll
            return
        cdef int64_t mi = qi.cap - 1, t = self.t, lat = self.lat, ii = self.ii, stall = self.stall, c, m = 0
        cdef Entry* h
        cdef Token tok
        while m < n:
            h = &qi.buf[(qi.head + m) & mi]
            if h.tok.kind == TK_DONE:
                break
            c = lanes_wait(ln, 1, m, t if t > h.time else h.time)
            stall += c - t
            tok = h.tok
            if tok.kind == TK_EMPTY:  # N repeats as a plain signal
                tok = mk(TK_DATA, 0, 0.0, 0)
            elif tok.kind == TK_DATA:
                tok.i = 0
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
            steps_taken(self, m, t, stall)


cdef class Repeat(Node):
    cdef int run(self) except -1:
        cdef Entry* s
        cdef Entry* x
        cdef Entry* x2
        cdef int64_t c
        cdef Token tok, sig
        while True:
            if self.steps and not self.tracing and self.outs[0].n == 1:
                self.repeat_round()
            if not has(self, 1, 0) or not has(self, 0, 0):
                return 0
            s = hd(self, 1, 0)
            x = hd(self, 0, 0)
            c = imax(self.t, imax(s.time, x.time))
            sig = s.tok
            if sig.kind == TK_DATA:
                if x.tok.kind != TK_DATA and x.tok.kind != TK_EMPTY:
                    raise self.error("R signal with no current token")
                if not room(self, 0, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, x.tok, c)
                take(self, 1, c)
                step(self, c)
            elif sig.kind == TK_STOP:
                if x.tok.kind == TK_STOP:
                    if not room(self, 0, &c):
                        return 0
                    c = start(self, c)
                    emit(self, 0, mk(TK_STOP, x.tok.i + 1, 0.0, x.tok.vac + 1), c)
                    take(self, 0, c)
                elif x.tok.kind == TK_DONE:
                    raise self.error("S signal after the input ended")
                else:
                    if not has(self, 0, 1):
                        return 0
                    x2 = hd(self, 0, 1)
                    c = imax(c, x2.time)
                    if not room(self, 0, &c):
                        return 0
                    c = start(self, c)
                    take(self, 0, c)
                    if x2.tok.kind == TK_STOP:
                        tok = mk(TK_STOP, x2.tok.i + 1, 0.0, 0)
                        take(self, 0, c)
                    else:
                        tok = mk(TK_STOP, 0, 0.0, 0)
                    emit(self, 0, tok, c)
                take(self, 1, c)
                step(self, c)
            else:
                if x.tok.kind != TK_DONE:
                    raise self.error("D signal while the input still holds tokens")
                if not room(self, 0, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, x.tok, c)
                take(self, 0, c)
                take(self, 1, c)
                step(self, c)
                self.done = True
                return 1

    cdef void repeat_round(self) noexcept:
        # run()'s steps that cannot block, after the node's first step and untraced, with the
        # FIFO ends in plain locals: a data signal emits the current input token and pops the
        # signal; a stop signal emits the stop its input token (and the next one) make and pops
        # them; run() takes the done signal, misaligned streams and the step that blocks.
        cdef Lane ln[ROUND_OUTS]
        cdef Head hs, hx
        cdef int64_t n = INT64_MAX
        cdef int no = lanes_open(self, ln, &n)
        if no != 1 or n <= 0:  # its caller's one consumer: the lane loops unroll
            return
        cdef int64_t t = self.t, lat = self.lat, ii = self.ii, stall = self.stall, c, m = 0, pops
        cdef Entry* sg
        cdef Entry* x
        cdef Entry* x2
        cdef Token tok
        head_open(&hs, self.ins[1])
        head_open(&hx, self.ins[0])
        while m < n and hs.count and hx.count:
            sg = head_at(&hs)
            x = head_at(&hx)
            c = t if t > sg.time else sg.time
            if x.time > c:
                c = x.time
            if sg.tok.kind == TK_DATA:
                if x.tok.kind != TK_DATA and x.tok.kind != TK_EMPTY:
                    break
                c = lanes_wait(ln, 1, m, c)
                stall += c - t
                lanes_put(ln, 1, m, &x.tok, c + lat)
            elif sg.tok.kind == TK_STOP:
                if x.tok.kind == TK_STOP:
                    tok = mk(TK_STOP, x.tok.i + 1, 0.0, x.tok.vac + 1)
                    c = lanes_wait(ln, 1, m, c)
                    stall += c - t
                    head_pop(&hx, c)
                elif (x.tok.kind == TK_DATA or x.tok.kind == TK_EMPTY) and hx.count >= 2:
                    x2 = &hx.buf[(hx.read + 1) & hx.mask]
                    if x2.time > c:
                        c = x2.time
                    c = lanes_wait(ln, 1, m, c)
                    stall += c - t
                    head_pop(&hx, c)
                    if x2.tok.kind == TK_STOP:
                        tok = mk(TK_STOP, x2.tok.i + 1, 0.0, 0)
                        head_pop(&hx, c)
                    else:
                        tok = mk(TK_STOP, 0, 0.0, 0)
                else:
                    break
                lanes_put(ln, 1, m, &tok, c + lat)
            else:
                break
            head_pop(&hs, c)
            t = c + ii
            m += 1
        pops = (hs.popped - self.ins[1].popped) + (hx.popped - self.ins[0].popped)
        head_close(&hs)
        head_close(&hx)
        if m:
            lanes_close(ln, 1, m)
            global g_moves
            g_moves += m + pops
            self.tin += pops
            self.tout += m
            steps_taken(self, m, t, stall)
