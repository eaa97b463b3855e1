"""The functional model: every SAM primitive's semantics as a pure function on token lists.

Token-exact, no timing (``engine="functional"``). The compiled engine (``_engine.pyx``) must produce exactly these streams;
the tests run both. ``run_graph`` evaluates a whole graph in dependency order, each node by
its record's ``evaluate`` hook (``primitives.py``), which calls the function here.

Stop algebra (see ``tokens.py``): a fiber is closed by ``S0`` or by a merged ``S_n``; a vacant
stop ``S_n'`` closes no fiber at its innermost level. Scanners and repeaters apply the *stop rule*:
after a fiber, if the next input token is ``S_n``, consume it and emit ``S_(n+1)``, else ``S0``;
an input ``S_n`` with no preceding fiber emits the vacant ``S_(n+1)'``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from fuseflow.errors import FuseflowError
from fuseflow.sim.codes import MATMUL_CODES, AluCode, ReduceCode
from fuseflow.sim.errors import StreamError
from fuseflow.sim.tensors import TensorData
from fuseflow.sim.tokens import DONE, EMPTY, REP, Stop, is_data, is_stop


def _stop_rule(inp, k, out_lists):
    """After a fiber ending before ``inp[k]``: emit the closing stop on every list; return next k."""
    nxt = inp[k] if k < len(inp) else None
    if is_stop(nxt):
        for o in out_lists:
            o.append(Stop(nxt.level + 1))
        return k + 1
    for o in out_lists:
        o.append(Stop(0))
    return k


def _vacant(tok):
    return Stop(tok.level + 1, tok.vac + 1)


def root():
    return [0, DONE]


def fiber_lookup(refs, level, *, where="fiber_lookup"):
    """``level`` is a tensors.Level; returns (crd, ref).

    Dense: ``r*dim + c`` for every c. Compressed: ``(crd[p], p)`` for p in ``seg[r]..seg[r+1]``.
    Singleton: ``(crd[p], p)`` for the positions ``r..span_end[r]`` of the parent's run (one
    position under a unique parent). A nonunique level (compressed or singleton) emits each run
    of equal coordinates once, as ``(crd[p], p)`` with p the run's first position, so its
    coordinates stay unique within a fiber and the child singleton level reads the whole run.
    Every fiber then ends with the stop rule."""
    crd, ref = [], []
    k = 0
    while k < len(refs):
        t = refs[k]
        k += 1
        if t is DONE:
            crd.append(DONE)
            ref.append(DONE)
            break
        if is_stop(t):
            crd.append(_vacant(t))
            ref.append(_vacant(t))
            continue
        if t is EMPTY:
            crd.append(EMPTY)
            ref.append(EMPTY)
        elif level.format == "d":
            base = int(t) * level.dim
            crd.extend(range(level.dim))
            ref.extend(range(base, base + level.dim))
        else:
            lo, hi = _fiber_bounds(level, int(t), where)
            if level.unique:
                crd.extend(int(c) for c in level.crd[lo:hi])
                ref.extend(range(lo, hi))
            else:  # one coordinate per run of duplicates, referenced by the run's first position
                p = lo
                while p < hi:
                    crd.append(int(level.crd[p]))
                    ref.append(p)
                    p = int(level.run_end[p])
        k = _stop_rule(refs, k, (crd, ref))
    return crd, ref


def _fiber_bounds(level, r: int, where: str) -> tuple[int, int]:
    """Positions ``lo..hi`` of the fiber reference ``r`` opens at a compressed or singleton level:
    ``seg[r]..seg[r+1]``, or for a singleton level ``r..span_end[r]`` (the positions of the
    parent's run of duplicates that starts at r; just r under a unique parent)."""
    n = len(level.crd) if level.singleton else len(level.seg) - 1
    if not 0 <= r < n:
        raise StreamError(f"{where}: reference {r} out of range")
    if level.singleton:
        return r, int(level.span_end[r])
    return int(level.seg[r]), int(level.seg[r + 1])


def locate(crds, refs, parents, level):
    """(crd, ref) of the iterated side, and the located level's parent ref one loop outside
    (one token per fiber of ``crd``) -> (ref, located ref, crd). A coordinate absent from a
    compressed located level gives ``N``."""
    o_ref, o_loc, o_crd = [], [], []
    kp = 0
    for c, r in zip(crds, refs, strict=True):
        if c is DONE:
            if parents[kp] is not DONE:
                raise StreamError(f"locate: parent stream misaligned at {parents[kp]!r}")
            loc = DONE
        elif is_stop(c):
            kp = _align_outer(parents, kp, c)
            loc = c
        else:
            p = parents[kp]
            if c is EMPTY or p is EMPTY:
                loc = EMPTY
            elif not is_data(p):
                raise StreamError(f"locate: parent stream misaligned at {p!r}")
            elif level.format == "d":
                loc = int(p) * level.dim + int(c)
            else:
                lo, hi = int(level.seg[p]), int(level.seg[p + 1])
                j = lo + int(np.searchsorted(level.crd[lo:hi], c))
                loc = j if j < hi and level.crd[j] == c else EMPTY
        o_ref.append(r)
        o_loc.append(loc)
        o_crd.append(c)
    return o_ref, o_loc, o_crd


def _join(crds, refs, union):
    k = len(crds)
    pos = [0] * k
    out_c = []
    out_r = [[] for _ in range(k)]
    while True:
        heads = [crds[i][pos[i]] for i in range(k)]
        # N coordinates are "nothing here": skip them.
        skip = [i for i in range(k) if heads[i] is EMPTY]
        if skip:
            for i in skip:
                pos[i] += 1
            continue
        if all(h is DONE for h in heads):
            out_c.append(DONE)
            for o in out_r:
                o.append(DONE)
            return out_c, out_r
        if any(h is DONE for h in heads):
            raise StreamError(f"{'union' if union else 'intersect'}: inputs end at different points: {heads}")
        stops = [is_stop(h) for h in heads]
        if all(stops):
            if len(set(heads)) != 1:
                raise StreamError(f"{'union' if union else 'intersect'}: stops disagree: {heads}")
            out_c.append(heads[0])
            for i in range(k):
                out_r[i].append(heads[i])
                pos[i] += 1
            continue
        live = [heads[i] for i in range(k) if not stops[i]]
        m = min(live)
        if union:
            out_c.append(m)
            for i in range(k):
                if not stops[i] and heads[i] == m:
                    out_r[i].append(refs[i][pos[i]])
                    pos[i] += 1
                else:
                    out_r[i].append(EMPTY)
            continue
        if not any(stops) and all(h == m for h in heads):
            out_c.append(m)
            for i in range(k):
                out_r[i].append(refs[i][pos[i]])
                pos[i] += 1
            continue
        # drop the smallest data heads (every data head when another input is at its stop)
        for i in range(k):
            if not stops[i] and (any(stops) or heads[i] == m):
                pos[i] += 1


def intersect(pairs):
    """k x (crd, payload) -> (crd, [payload]*k)."""
    return _join([p[0] for p in pairs], [p[1] for p in pairs], union=False)


def union(pairs):
    return _join([p[0] for p in pairs], [p[1] for p in pairs], union=True)


def repeat_sig_gen(crds):
    return [t if (is_stop(t) or t is DONE) else REP for t in crds]


def repeat(inp, sig):
    out = []
    k = 0
    for s in sig:
        if s is REP:
            if not (is_data(inp[k]) or inp[k] is EMPTY):
                raise StreamError(f"repeat: R with no current token (input head {inp[k]!r})")
            out.append(inp[k])
        elif is_stop(s):
            t = inp[k]
            if is_stop(t):
                out.append(_vacant(t))
                k += 1
            elif t is DONE:
                raise StreamError("repeat: S signal after the input ended")
            else:
                k = _stop_rule(inp, k + 1, (out,))
        else:
            if inp[k] is not DONE:
                raise StreamError(f"repeat: D signal while the input holds {inp[k]!r}")
            out.append(DONE)
            return out
    raise StreamError("repeat: repeat signal stream has no D")


def array(refs, vals, *, where="array"):
    out = []
    zero = np.zeros_like(vals[0]) if vals.ndim > 1 and len(vals) else 0.0
    for t in refs:
        if t is EMPTY:
            out.append(zero)
        elif is_data(t):
            if not 0 <= t < len(vals):
                raise StreamError(f"{where}: reference {t} out of range")
            out.append(vals[t] if vals.ndim > 1 else float(vals[t]))
        else:
            out.append(t)
    return out


def _gelu(x):
    # exact GELU (PyTorch's default): x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); a scalar through
    # the C library's erf, as the engine's kernel (scipy's differs in the last bit), so that the
    # model gives the engine's values exactly; a tile through scipy's, as both engines do
    if np.ndim(x) == 0:
        return 0.5 * float(x) * (1.0 + math.erf(float(x) * 0.7071067811865476))
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476))


def alu_apply(op: int, a, b=None, c: float = 0.0):
    op = AluCode(op)
    if op == AluCode.ADD:
        return a + b
    if op == AluCode.SUB:
        return a - b
    if op == AluCode.MUL:
        return a * b
    if op in MATMUL_CODES:
        if not isinstance(a, np.ndarray):
            return a * b
        ta, tb = op in (AluCode.MATMUL_TN, AluCode.MATMUL_TT), op in (AluCode.MATMUL_NT, AluCode.MATMUL_TT)
        return (a.T if ta else a) @ (b.T if tb else b)
    if op == AluCode.DIV:
        return a / b if isinstance(a, np.ndarray) or b != 0 else (math.copysign(math.inf, a) if a else math.nan)
    if op == AluCode.MAX:
        return np.maximum(a, b) if isinstance(a, np.ndarray) else max(a, b)
    if op == AluCode.MIN:
        return np.minimum(a, b) if isinstance(a, np.ndarray) else min(a, b)
    x = np.asarray(a, np.float64)
    r = {
        AluCode.NEG: lambda: -x,
        AluCode.EXP: lambda: np.exp(x),
        AluCode.RELU: lambda: np.maximum(x, 0.0),
        AluCode.RSQRT: lambda: 1.0 / np.sqrt(x),
        AluCode.SQRT: lambda: np.sqrt(x),
        AluCode.SIGMOID: lambda: 1.0 / (1.0 + np.exp(-x)),
        AluCode.TANH: lambda: np.tanh(x),
        AluCode.GELU: lambda: _gelu(x),
        AluCode.ADDC: lambda: x + c,
        AluCode.MULC: lambda: x * c,
        AluCode.DIVC: lambda: x / c,
        AluCode.MAXC: lambda: np.maximum(x, c),
        AluCode.MINC: lambda: np.minimum(x, c),
        AluCode.RCP: lambda: 1.0 / x,
        AluCode.TRANSPOSE: lambda: x.T,
        AluCode.ROW_SUM: lambda: x.sum(axis=-1, keepdims=True),
        AluCode.ROW_MAX: lambda: x.max(axis=-1, keepdims=True),
        AluCode.ROW_MIN: lambda: x.min(axis=-1, keepdims=True),
        AluCode.COL_SUM: lambda: x.sum(axis=0, keepdims=True),
        AluCode.COL_MAX: lambda: x.max(axis=0, keepdims=True),
        AluCode.COL_MIN: lambda: x.min(axis=0, keepdims=True),
    }[op]()
    return r if isinstance(a, np.ndarray) else float(r)


def alu(op, a, b=None, const=0.0):
    out = []
    if b is None:
        for t in a:
            out.append(alu_apply(op, 0.0 if t is EMPTY else t, None, const) if (is_data(t) or t is EMPTY) else t)
        return out
    if len(a) != len(b):
        raise StreamError(f"alu: operand streams differ in length ({len(a)} vs {len(b)})")
    for x, y in zip(a, b, strict=True):
        xd, yd = is_data(x) or x is EMPTY, is_data(y) or y is EMPTY
        if xd != yd or (not xd and x != y):
            raise StreamError(f"alu: misaligned operands ({x!r} vs {y!r})")
        if xd:
            out.append(alu_apply(op, 0.0 if x is EMPTY else x, 0.0 if y is EMPTY else y))
        else:
            out.append(x)
    return out


_IDENTITY = {ReduceCode.ADD: 0.0, ReduceCode.MAX: -math.inf, ReduceCode.MIN: math.inf}


def _combine(op, acc, x):
    if acc is None:
        return x
    if op == ReduceCode.ADD:
        return acc + x
    if op == ReduceCode.MAX:
        return np.maximum(acc, x) if isinstance(x, np.ndarray) else max(acc, x)
    return np.minimum(acc, x) if isinstance(x, np.ndarray) else min(acc, x)


def reduce(vals, op=ReduceCode.ADD):
    op = ReduceCode(op)
    out = []
    acc = None
    for t in vals:
        if t is DONE:
            out.append(DONE)
            break
        if is_stop(t):
            if t.vac:
                out.append(Stop(t.level - 1, t.vac - 1))
                continue
            out.append(_IDENTITY[op] if acc is None else acc)
            acc = None
            if t.level:
                out.append(Stop(t.level - 1))
        else:
            acc = _combine(op, acc, 0.0 if t is EMPTY else t)
    return out


def _align_outer(outer, k, inner_stop):
    """Consume the outer-level tokens matching one inner stop; return the new outer index."""
    if inner_stop.vac == 0:
        if not (is_data(outer[k]) or outer[k] is EMPTY):
            raise StreamError(f"outer coordinate stream misaligned at {outer[k]!r}")
        k += 1
    if inner_stop.level >= 1:
        o = outer[k]
        if not is_stop(o) or o.level != inner_stop.level - 1:
            raise StreamError(f"outer coordinate stream misaligned: {o!r} for inner {inner_stop!r}")
        k += 1
    return k


def _zero(vals) -> float | np.ndarray:
    """The value ``N`` stands for on a value stream: 0, or a zero tile on a tile stream."""
    tile = next((t for t in vals if isinstance(t, np.ndarray)), None)
    return 0.0 if tile is None else np.zeros_like(tile)


def spacc1(inner, outer, vals):
    """acc[inner] += val across the outer loop; flush sorted on the outer loop's stop. Values
    may be tiles (summed elementwise)."""
    out_c, out_v = [], []
    zero = _zero(vals)
    acc: dict = {}
    k = 0
    for c, v in zip(inner, vals, strict=True):
        if c is DONE:
            out_c.append(DONE)
            out_v.append(DONE)
            break
        if is_stop(c):
            k = _align_outer(outer, k, c)
            if c.level == 0:
                continue
            for key in sorted(acc):
                out_c.append(key)
                out_v.append(acc[key])
            st = Stop(c.level - 1, max(c.vac - 1, 0))
            out_c.append(st)
            out_v.append(st)
            acc = {}
        elif c is not EMPTY:
            acc[c] = _combine(ReduceCode.ADD, acc.get(c), zero if v is EMPTY else v)
    return out_c, out_v


def spacc2(c0, c1, c2, vals):
    """acc[(crd1, crd0)] += val across the outer (crd2) loop; flush on its stop. Values may be
    tiles (summed elementwise)."""
    o0, o1, ov = [], [], []
    zero = _zero(vals)
    acc: dict = {}
    k1 = 0
    for c, v in zip(c0, vals, strict=True):
        if c is DONE:
            for o in (o0, o1, ov):
                o.append(DONE)
            break
        if is_stop(c):
            if c.vac == 0:
                k1 += 1  # the crd1 token owning this fiber
            if c.level >= 1:
                o = c1[k1]
                if not is_stop(o) or o.level != c.level - 1:
                    raise StreamError(f"spacc2: middle coordinate stream misaligned at {o!r}")
                k1 += 1
            if c.level < 2:
                continue
            keys = sorted(acc)
            rows = sorted({r for r, _ in keys})
            for r in rows:
                o1.append(r)
            for idx, r in enumerate(rows):
                for rr, cc in keys:
                    if rr == r:
                        o0.append(cc)
                        ov.append(acc[(rr, cc)])
                if idx + 1 < len(rows):
                    o0.append(Stop(0))
                    ov.append(Stop(0))
            vac = max(c.vac - 2, 0)
            o1.append(Stop(c.level - 2, vac))
            last = Stop(c.level - 1) if rows else Stop(c.level - 1, vac + 1)
            o0.append(last)
            ov.append(last)
            acc = {}
        elif c is not EMPTY:
            r = c1[k1]
            key = (r, c)
            acc[key] = _combine(ReduceCode.ADD, acc.get(key), zero if v is EMPTY else v)
    return o0, o1, ov


def crd_drop(outer, inner):
    """Drop outer coordinates whose inner fiber is empty (merging the stops it leaves)."""
    o_out, i_out = [], []
    pending = False  # an emitted fiber's S0 not yet written (it may merge with a later stop)
    ki = 0
    ko = 0
    while ko < len(outer):
        o = outer[ko]
        ko += 1
        if o is DONE:
            if inner[ki] is not DONE:
                raise StreamError(f"crd_drop: inner stream misaligned at {inner[ki]!r}")
            o_out.append(DONE)
            i_out.append(DONE)
            break
        if is_stop(o):
            st = inner[ki]
            ki += 1
            o_out.append(o)
            i_out.append(st)
            continue
        fiber = []
        while not is_stop(inner[ki]):
            fiber.append(inner[ki])
            ki += 1
        st = inner[ki]
        ki += 1
        if fiber:
            if pending:
                i_out.append(Stop(0))
            o_out.append(o)
            i_out.extend(fiber)
            pending = st.level == 0
            if st.level:
                i_out.append(st)
        elif st.level:
            i_out.append(Stop(st.level) if pending else Stop(st.level, 1))
            pending = False
        if st.level:
            o_out.append(outer[ko])
            ko += 1
    return o_out, i_out


def crd_hold(outer, inner):
    """Repeat each outer coordinate once per inner coordinate of its fiber."""
    o_out, i_out = [], []
    ko = 0
    for t in inner:
        if t is DONE:
            o_out.append(DONE)
            i_out.append(DONE)
            break
        if is_stop(t):
            ko = _align_outer(outer, ko, t)
            o_out.append(t)
            i_out.append(t)
        else:
            o_out.append(outer[ko])
            i_out.append(t)
    return o_out, i_out


def fork(tokens, lanes):
    outs = [[] for _ in range(lanes)]
    rr = 0
    for t in tokens:
        if is_data(t) or t is EMPTY:
            outs[rr].append(t)
            rr = (rr + 1) % lanes
        else:
            for o in outs:
                o.append(t)
    return outs


def join(lanes, depth=0):
    """Inverse of ``fork`` after per-lane bodies that add ``depth`` levels below the forked one."""
    p = len(lanes)
    pos = [0] * p
    merged = [False] * p
    out = []
    rr = 0
    pending = None  # the closing stop of the last forwarded unit, held back

    def head(i):
        return lanes[i][pos[i]]

    def unit_follows(i):
        h = head(i)
        return not merged[i] and h is not DONE and not (is_stop(h) and h.vac >= depth)

    while True:
        if pending is not None and unit_follows(rr):
            # the unit boundary keeps the unit's vacancy: a unit without an inner fiber stays vacant
            out.append(Stop(depth - 1, min(pending.vac, depth - 1)))
            pending = None
        if unit_follows(rr):
            while True:  # forward one unit of lane rr
                t = head(rr)
                pos[rr] += 1
                if depth == 0:
                    out.append(t)
                    break
                if is_stop(t) and t.level >= depth - 1:
                    pending = t
                    merged[rr] = t.level >= depth
                    break
                out.append(t)
            rr = (rr + 1) % p
            continue
        # the forked-level fiber (or the stream) ends here
        h = head(rr)
        if h is DONE and pending is None and all(head(i) is DONE for i in range(p)):
            out.append(DONE)
            return out
        if pending is not None:
            out.append(pending)
            pending = None
        else:
            out.append(h)
        for i in range(p):
            if not merged[i]:
                t = head(i)
                if not is_stop(t):
                    raise StreamError(f"join: lane {i} misaligned at {t!r}")
                pos[i] += 1
            merged[i] = False


def fiber_write(tokens):
    """-> (seg, crd) of one output level (seg closes a fiber at every non-vacant stop)."""
    crd, seg = [], [0]
    for t in tokens:
        if t is DONE:
            break
        if is_stop(t):
            if not t.vac:
                seg.append(len(crd))
        elif t is not EMPTY:
            crd.append(int(t))
    return np.asarray(seg, np.int64), np.asarray(crd, np.int64)


def val_write(tokens):
    vals = [0.0 if t is EMPTY else t for t in tokens if is_data(t) or t is EMPTY]
    return vals


class _Eval:
    """What a record's ``evaluate`` sees of the graph being evaluated."""

    def __init__(self, g, tensors: list[TensorData], outputs, sinks: dict):
        self.g, self.tensors, self.outputs, self.sinks = g, tensors, outputs, sinks


def run_graph(g, tensors: list[TensorData], outputs) -> dict[str, list]:
    """Evaluate graph ``g`` on bound tensors, each node by its record's ``evaluate``
    (``fuseflow.sim.primitives``); fills ``outputs`` (a list of ``OutputBuilder``) and returns
    the sink streams by name."""
    from fuseflow.sim.primitives import PRIMITIVES

    streams: dict[int, list] = {}
    done = [False] * len(g.nodes)
    x = _Eval(g, tensors, outputs, {})
    remaining = len(g.nodes)
    while remaining:
        progressed = False
        for n in g.nodes:
            if done[n.id] or any(f not in streams for f in n.ins):
                continue
            res = PRIMITIVES[n.kind].evaluate(n, [streams[f] for f in n.ins], x)
            for port, fids in enumerate(n.outs):
                for f in fids:
                    streams[f] = res[port]
            done[n.id] = True
            remaining -= 1
            progressed = True
        if not progressed:
            stuck = [n.name for n in g.nodes if not done[n.id]]
            raise FuseflowError(f"functional model: graph has a cycle through {stuck}")
    return x.sinks
