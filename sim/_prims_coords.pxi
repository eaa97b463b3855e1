# Included by _engine.pyx (one extension module; split for size). Coordinate utilities, parallel lanes and writers: crd_drop, crd_hold, fork, join, fiber_write, val_write.

cdef class CrdDrop(Node):
    cdef int mode  # 0: next outer token; 1: streaming a non-empty inner fiber
    cdef bint pending

    cdef int run(self) except -1:
        cdef Entry* o
        cdef Entry* h
        cdef int64_t c
        cdef Token to, ti
        while True:
            if self.mode == 1:
                if not has(self, 1, 0):
                    return 0
                h = hd(self, 1, 0)
                ti = h.tok
                c = imax(self.t, h.time)
                if ti.kind != TK_STOP:
                    if not room(self, 1, &c):
                        return 0
                    c = start(self, c)
                    take(self, 1, c)
                    emit(self, 1, ti, c)
                    step(self, c)
                    continue
                if ti.i == 0:
                    c = start(self, c)
                    take(self, 1, c)
                    self.pending = True
                    self.mode = 0
                    step(self, c)
                    continue
                if not has(self, 0, 0):
                    return 0
                o = hd(self, 0, 0)
                c = imax(c, o.time)
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                emit(self, 1, ti, c)
                emit(self, 0, o.tok, c)
                take(self, 1, c)
                take(self, 0, c)
                self.mode = 0
                step(self, c)
                continue
            if not has(self, 0, 0) or not has(self, 1, 0):
                return 0
            o = hd(self, 0, 0)
            h = hd(self, 1, 0)
            to = o.tok
            ti = h.tok
            c = imax(self.t, imax(o.time, h.time))
            if to.kind == TK_DONE or to.kind == TK_STOP:
                if ti.kind != (TK_DONE if to.kind == TK_DONE else TK_STOP):
                    raise self.error("inner stream misaligned with the outer stream")
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, to, c)
                emit(self, 1, ti, c)
                take(self, 0, c)
                take(self, 1, c)
                step(self, c)
                if to.kind == TK_DONE:
                    self.done = True
                    return 1
                continue
            if ti.kind != TK_STOP:  # non-empty fiber: write the held S0, then the coordinate
                if self.pending:
                    if not room(self, 1, &c):
                        return 0
                    c = start(self, c)
                    emit(self, 1, mk(TK_STOP, 0, 0.0, 0), c)
                    self.pending = False
                    step(self, c)
                    continue
                if not room(self, 0, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, to, c)
                take(self, 0, c)
                self.mode = 1
                step(self, c)
                continue
            # empty fiber: drop the outer coordinate
            if ti.i == 0:
                c = start(self, c)
                take(self, 0, c)
                take(self, 1, c)
                step(self, c)
                continue
            if not has(self, 0, 1):
                return 0
            c = imax(c, hd(self, 0, 1).time)
            if not room_all(self, &c):
                return 0
            c = start(self, c)
            emit(self, 1, mk(TK_STOP, ti.i, 0.0, 0 if self.pending else 1), c)
            self.pending = False
            take(self, 0, c)
            take(self, 1, c)
            emit(self, 0, hd(self, 0, 0).tok, c)
            take(self, 0, c)
            step(self, c)


cdef class CrdHold(Node):
    cdef int run(self) except -1:
        cdef Entry* o
        cdef Entry* h
        cdef int64_t c, need, kk
        cdef Token ti
        while True:
            if not has(self, 1, 0):
                return 0
            h = hd(self, 1, 0)
            ti = h.tok
            c = imax(self.t, h.time)
            if ti.kind == TK_DATA or ti.kind == TK_EMPTY:
                if not has(self, 0, 0):
                    return 0
                o = hd(self, 0, 0)
                c = imax(c, o.time)
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, o.tok, c)
                emit(self, 1, ti, c)
                take(self, 1, c)
                step(self, c)
                continue
            need = 1 if ti.kind == TK_DONE else (1 if ti.vac == 0 else 0) + (1 if ti.i >= 1 else 0)
            if need and not has(self, 0, need - 1):
                return 0
            if need:
                c = imax(c, hd(self, 0, need - 1).time)
            if not room_all(self, &c):
                return 0
            c = start(self, c)
            for kk in range(need):
                take(self, 0, c)
            emit(self, 0, ti, c)
            emit(self, 1, ti, c)
            take(self, 1, c)
            step(self, c)
            if ti.kind == TK_DONE:
                self.done = True
                return 1


cdef class Fork(Node):
    cdef int lanes, rr

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): lanes."""
        self.lanes = kw["lanes"]

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef Token tok
        cdef int p
        while True:
            if not has(self, 0, 0):
                return 0
            h = hd(self, 0, 0)
            tok = h.tok
            c = imax(self.t, h.time)
            if tok.kind == TK_DATA or tok.kind == TK_EMPTY:
                if not room(self, self.rr, &c):
                    return 0
                c = start(self, c)
                emit(self, self.rr, tok, c)
                self.rr = (self.rr + 1) % self.lanes
            else:
                if not room_all(self, &c):
                    return 0
                c = start(self, c)
                for p in range(self.lanes):
                    emit(self, p, tok, c)
            take(self, 0, c)
            step(self, c)
            if tok.kind == TK_DONE:
                self.done = True
                return 1


cdef class Join(Node):
    cdef int lanes, depth, rr
    cdef bint has_pending
    cdef Token pending
    cdef vector[char] merged

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): lanes, depth (loop levels below the forked one)."""
        self.lanes = kw["lanes"]
        self.depth = kw["depth"]
        self.merged.resize(kw["lanes"], 0)

    cdef int follows(self, int i) except -2:
        # 1: lane i's next token starts a unit of the current fiber; 0: it does not; -1: unknown
        cdef Entry* h
        if self.merged[i]:
            return 0
        if not has(self, i, 0):
            return -1
        h = hd(self, i, 0)
        if h.tok.kind == TK_DONE or (h.tok.kind == TK_STOP and h.tok.vac >= self.depth):
            return 0
        return 1

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef Token tok
        cdef int f, i, alldone
        while True:
            f = self.follows(self.rr)
            if f < 0:
                return 0
            if f == 1:
                h = hd(self, self.rr, 0)
                c = imax(self.t, h.time)
                if self.has_pending:
                    if not room(self, 0, &c):
                        return 0
                    c = start(self, c)
                    # the unit boundary keeps the unit's vacancy: an empty fiber stays vacant
                    emit(self, 0, mk(TK_STOP, self.depth - 1, 0.0, imin(self.pending.vac, self.depth - 1)), c)
                    self.has_pending = False
                    step(self, c)
                    continue
                tok = h.tok
                if self.depth == 0:
                    if not room(self, 0, &c):
                        return 0
                    c = start(self, c)
                    emit(self, 0, tok, c)
                    take(self, self.rr, c)
                    self.rr = (self.rr + 1) % self.lanes
                    step(self, c)
                    continue
                if tok.kind == TK_STOP and tok.i >= self.depth - 1:
                    c = start(self, c)
                    take(self, self.rr, c)
                    self.pending = tok
                    self.has_pending = True
                    self.merged[self.rr] = tok.i >= self.depth
                    self.rr = (self.rr + 1) % self.lanes
                    step(self, c)
                    continue
                if not room(self, 0, &c):
                    return 0
                c = start(self, c)
                emit(self, 0, tok, c)
                take(self, self.rr, c)
                step(self, c)
                continue
            # the forked-level fiber (or the whole stream) ends
            c = self.t
            alldone = 1
            for i in range(self.lanes):
                if self.merged[i]:
                    alldone = 0
                    continue
                if not has(self, i, 0):
                    return 0
                h = hd(self, i, 0)
                c = imax(c, h.time)
                if h.tok.kind != TK_DONE:
                    alldone = 0
                    if h.tok.kind != TK_STOP:
                        raise self.error(f"lane {i} misaligned")
            if alldone and self.has_pending:
                alldone = 0
            if not room(self, 0, &c):
                return 0
            c = start(self, c)
            if alldone:
                emit(self, 0, mk(TK_DONE, 0, 0.0, 0), c)
                for i in range(self.lanes):
                    take(self, i, c)
                step(self, c)
                self.done = True
                return 1
            if self.has_pending:
                emit(self, 0, self.pending, c)
                self.has_pending = False
            else:
                emit(self, 0, hd(self, self.rr, 0).tok, c)
            for i in range(self.lanes):
                if not self.merged[i]:
                    if hd(self, i, 0).tok.kind != TK_STOP:
                        raise self.error(f"lane {i} misaligned")
                    take(self, i, c)
                self.merged[i] = 0
            step(self, c)


cdef object _int_array(vector[int64_t]& v):
    out = np.empty(v.size(), np.int64)
    cdef int64_t[::1] view = out
    cdef size_t k
    for k in range(v.size()):
        view[k] = v[k]
    return out


cdef class FiberWrite(Node):
    cdef vector[int64_t] crd
    cdef vector[int64_t] seg
    cdef int64_t crd_base, seg_base

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): crd_base, seg_base: the written arrays' addresses."""
        self.crd_base = kw["crd_base"]
        self.seg_base = kw["seg_base"]

    def release(self):
        Node.release(self)
        self.crd.clear()
        self.crd.shrink_to_fit()
        self.seg.clear()
        self.seg.shrink_to_fit()

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef size_t cap
        cdef Token tok
        if self.seg.size() == 0:
            self.seg.push_back(0)
        while has(self, 0, 0):
            h = hd(self, 0, 0)
            tok = h.tok
            c = start(self, imax(self.t, h.time))
            take(self, 0, c)
            if tok.kind == TK_DATA:
                mwrite(self, 0, self.crd_base + <int64_t> self.crd.size(), c)
                cap = self.crd.capacity()
                self.crd.push_back(tok.i)
                mem_grew(cap, self.crd.capacity(), 8, "its output coordinates")
            elif tok.kind == TK_STOP and tok.vac == 0:
                mwrite(self, 1, self.seg_base + <int64_t> self.seg.size(), c)
                cap = self.seg.capacity()
                self.seg.push_back(self.crd.size())
                mem_grew(cap, self.seg.capacity(), 8, "its output segments")
            step(self, c)
            if tok.kind == TK_DONE:
                finish_sink(self, c)
                return 1
        return 0

    def arrays(self):
        return (_int_array(self.seg), _int_array(self.crd))


cdef class ValWrite(Node):
    cdef vector[double] vals
    cdef vector[int64_t] tids
    cdef int64_t val_base, words

    def configure(self, **kw):
        """Parameters from the record's ``configure`` (primitives.py): val_base: the written values' address; words: per value (a tile's)."""
        self.val_base = kw["val_base"]
        self.words = kw.get("words", 1)

    def release(self):
        Node.release(self)
        self.vals.clear()
        self.vals.shrink_to_fit()
        self.tids.clear()
        self.tids.shrink_to_fit()

    cdef int run(self) except -1:
        cdef Entry* h
        cdef int64_t c
        cdef size_t cap
        cdef Token tok
        while has(self, 0, 0):
            h = hd(self, 0, 0)
            tok = h.tok
            c = start(self, imax(self.t, h.time))
            take(self, 0, c)
            if tok.kind == TK_DATA or tok.kind == TK_EMPTY:
                mwrite_words(self, 0, self.val_base + <int64_t> self.vals.size() * self.words, self.words, c)
                cap = self.vals.capacity()
                self.vals.push_back(tok.v if tok.kind == TK_DATA else 0.0)
                self.tids.push_back(tok.i if tok.kind == TK_DATA else -1)
                mem_grew(cap, self.vals.capacity(), 16, "its output values")
            step(self, c)
            if tok.kind == TK_DONE:
                finish_sink(self, c)
                return 1
        return 0

    def values(self):
        if self.tiled:
            return [self.eng.tile(self.tids[k]) for k in range(self.tids.size())]
        out = np.empty(self.vals.size(), np.float64)
        cdef double[::1] view = out
        cdef size_t k
        for k in range(self.vals.size()):
            view[k] = self.vals[k]
        return out
