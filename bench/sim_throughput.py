"""Simulator throughput: simulated tokens/s and cycles/s of the compiled engine on SpMM and SDDMM
over real matrices, against a straightforward per-cycle Python stepper (every primitive polled
once per simulated cycle, as the SAM Python simulator does).

    .venv/bin/python bench/sim_throughput.py --json

Engine rates are wall-clock for the whole ``simulate_graph()`` call (binding, run, output assembly),
best of ``--repeat``, with the process's peak resident memory during those runs (reset before
each graph) and the engine's own peak, with the default ``HardwareConfig`` and with Comal-like settings. The
stepper is bounded: it runs for at most ``--stepper-seconds`` per graph and its rates are
measured over the cycles it completed (reported as ``stepper_extrapolated``: its rate is
constant per cycle, so the full-run time is cycles / rate).
"""
# ruff: noqa: E402

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# The engine and the stepper are single-threaded; BLAS's worker threads (started by the
# reference products below) would spin on the other core while they run. Set before numpy
# loads its BLAS, hence the imports after it (E402 for this file).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from collections import deque
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from fuseflow.sim import HardwareConfig, examples, simulate_graph
from fuseflow.sim.binding import bind_inputs
from fuseflow.sim.functional import _IDENTITY, alu_apply
from fuseflow.sim.graph import Kind
from fuseflow.sim.tokens import DONE, EMPTY, REP, Stop, is_data, is_stop

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "matrices"
# what the simulator aims at on every graph here (engine tokens/s, and its ratio to the stepper's)
TARGET_TOKENS_PER_S = 3e8
TARGET_SPEEDUP = 300


# -- the per-cycle stepper ------------------------------------------------------------------
class Step:
    """A primitive polled once per cycle; moves at most one step."""

    def __init__(self, ins, outs):
        self.ins, self.outs, self.done, self.emitted = ins, outs, False, 0

    def put(self, port, tok):
        self.emitted += 1
        for q in self.outs[port]:
            q.append(tok)


class Root(Step):
    def __init__(self, ins, outs):
        super().__init__(ins, outs)
        self.k = 0

    def tick(self):
        if self.done:
            return
        self.put(0, 0 if self.k == 0 else DONE)
        self.k += 1
        self.done = self.k == 2


class Scan(Step):
    def __init__(self, ins, outs, level):
        super().__init__(ins, outs)
        self.lv, self.p, self.end, self.mode = level, 0, 0, 0

    def tick(self):
        q = self.ins[0]
        if self.mode == 1:
            c = self.p - self.base if self.lv.format == "d" else int(self.lv.crd[self.p])
            self.put(0, c)
            self.put(1, self.p)
            self.p += 1
            self.mode = 1 if self.p < self.end else 2
            return
        if not q:
            return
        t = q[0]
        if self.mode == 2:
            if is_stop(t):
                q.popleft()
                st = Stop(t.level + 1)
            else:
                st = Stop(0)
            self.put(0, st)
            self.put(1, st)
            self.mode = 0
            return
        q.popleft()
        if is_stop(t):
            st = Stop(t.level + 1, t.vac + 1)
            self.put(0, st)
            self.put(1, st)
        elif t is DONE:
            self.put(0, DONE)
            self.put(1, DONE)
            self.done = True
        else:
            if self.lv.format == "d":
                self.p = self.base = t * self.lv.dim
                self.end = self.p + self.lv.dim
            else:
                self.p, self.end = int(self.lv.seg[t]), int(self.lv.seg[t + 1])
            self.mode = 1 if self.p < self.end else 2


class RepSig(Step):
    def tick(self):
        if self.ins[0]:
            t = self.ins[0].popleft()
            self.put(0, t if (is_stop(t) or t is DONE) else REP)
            self.done = t is DONE


class Repeat(Step):
    def tick(self):
        x, s = self.ins
        if not x or not s:
            return
        sig, h = s[0], x[0]
        if sig is REP:
            self.put(0, h)
            s.popleft()
        elif is_stop(sig):
            if is_stop(h):
                x.popleft()
                self.put(0, Stop(h.level + 1, h.vac + 1))
            else:
                if len(x) < 2:
                    return
                x.popleft()
                if is_stop(x[0]):
                    self.put(0, Stop(x.popleft().level + 1))
                else:
                    self.put(0, Stop(0))
            s.popleft()
        else:
            x.popleft()
            s.popleft()
            self.put(0, DONE)
            self.done = True


class Intersect(Step):
    def tick(self):
        ca, ra, cb, rb = self.ins
        if not ca or not cb or not ra or not rb:
            return
        a, b = ca[0], cb[0]
        if is_stop(a) and is_stop(b) or (a is DONE and b is DONE):
            for q in self.ins:
                q.popleft()
            for p in range(3):
                self.put(p, a)
            self.done = a is DONE
        elif is_stop(a) or is_stop(b):
            q = (ca, ra) if not is_stop(a) else (cb, rb)
            q[0].popleft()
            q[1].popleft()
        elif a == b:
            for q in (ca, cb):
                q.popleft()
            self.put(0, a)
            self.put(1, ra.popleft())
            self.put(2, rb.popleft())
        elif a < b:
            ca.popleft()
            ra.popleft()
        else:
            cb.popleft()
            rb.popleft()


class Array(Step):
    def __init__(self, ins, outs, vals):
        super().__init__(ins, outs)
        self.vals = vals

    def tick(self):
        if self.ins[0]:
            t = self.ins[0].popleft()
            self.put(0, float(self.vals[t]) if is_data(t) else (0.0 if t is EMPTY else t))
            self.done = t is DONE


class Alu(Step):
    def __init__(self, ins, outs, op):
        super().__init__(ins, outs)
        self.op = op

    def tick(self):
        a, b = self.ins
        if a and b:
            x, y = a.popleft(), b.popleft()
            self.put(0, alu_apply(self.op, x, y) if is_data(x) else x)
            self.done = x is DONE


class Reduce(Step):
    def __init__(self, ins, outs, op):
        super().__init__(ins, outs)
        self.acc, self.sent, self.op = None, False, op

    def tick(self):
        q = self.ins[0]
        if not q:
            return
        t = q[0]
        if is_data(t):
            q.popleft()
            self.acc = t if self.acc is None else self.acc + t
        elif is_stop(t) and not t.vac and not self.sent:
            self.put(0, _IDENTITY[self.op] if self.acc is None else self.acc)
            self.acc = None
            if t.level:
                self.sent = True
            else:
                q.popleft()
        elif is_stop(t):
            q.popleft()
            self.put(0, Stop(t.level - 1, max(t.vac - 1, 0)))
            self.sent = False
        else:
            q.popleft()
            self.put(0, DONE)
            self.done = True


class Spacc1(Step):
    def __init__(self, ins, outs):
        super().__init__(ins, outs)
        self.acc, self.flush = {}, None

    def tick(self):
        if self.flush:
            item = self.flush.popleft()
            self.put(0, item[0])
            self.put(1, item[1])
            return
        inner, outer, val = self.ins
        if not inner or not val:
            return
        c = inner[0]
        if is_data(c):
            inner.popleft()
            self.acc[c] = self.acc.get(c, 0.0) + val.popleft()
        elif c is DONE:
            if not outer:
                return
            inner.popleft(), outer.popleft(), val.popleft()
            self.put(0, DONE)
            self.put(1, DONE)
            self.done = True
        else:
            need = (0 if c.vac else 1) + (1 if c.level else 0)
            if len(outer) < need:
                return
            for _ in range(need):
                outer.popleft()
            inner.popleft()
            val.popleft()
            if c.level:
                st = Stop(c.level - 1, max(c.vac - 1, 0))
                self.flush = deque([(k, self.acc[k]) for k in sorted(self.acc)] + [(st, st)])
                self.acc = {}


class Sink(Step):
    def tick(self):
        if self.ins[0]:
            self.done = self.ins[0].popleft() is DONE


def build_stepper(g, tensors):
    queues = [deque() for _ in g.fifo_kinds]
    nodes = []
    for n in g.nodes:
        ins = [queues[f] for f in n.ins]
        outs = [[queues[f] for f in port] for port in n.outs]
        k = n.kind
        if k == Kind.ROOT:
            nodes.append(Root(ins, outs))
        elif k == Kind.FIBER_LOOKUP:
            nodes.append(Scan(ins, outs, tensors[n.iparams[0]].levels[n.iparams[1]]))
        elif k == Kind.REPEAT_SIG_GEN:
            nodes.append(RepSig(ins, outs))
        elif k == Kind.REPEAT:
            nodes.append(Repeat(ins, outs))
        elif k == Kind.INTERSECT and n.iparams[0] == 2:
            nodes.append(Intersect(ins, outs))
        elif k == Kind.ARRAY:
            nodes.append(Array(ins, outs, tensors[n.iparams[0]].vals))
        elif k == Kind.ALU:
            nodes.append(Alu(ins, outs, n.iparams[0]))
        elif k == Kind.REDUCE:
            nodes.append(Reduce(ins, outs, n.iparams[0]))
        elif k == Kind.SPACC1:
            nodes.append(Spacc1(ins, outs))
        elif k in (Kind.FIBER_WRITE, Kind.VAL_WRITE):
            nodes.append(Sink(ins, outs))
        else:
            raise SystemExit(f"stepper: no per-cycle model for {k.name}")
    return nodes


def run_stepper(g, inputs, seconds):
    """Poll every node once per cycle until all are done or the time budget is spent.
    Returns (cycles run, tokens emitted, seconds, finished)."""
    nodes = build_stepper(g, bind_inputs(g, inputs))
    cycles = 0
    t0 = time.perf_counter()
    live = list(nodes)
    while live:
        for n in live:
            n.tick()
        cycles += 1
        if cycles % 256 == 0:
            live = [n for n in live if not n.done]
            if time.perf_counter() - t0 > seconds:
                break
    dt = time.perf_counter() - t0
    return cycles, sum(n.emitted for n in nodes), dt, not live


# -- workloads --------------------------------------------------------------------------------
def load(name):
    path = DATA / f"{name}.mtx"
    if not path.exists():
        return None
    return sp.csr_matrix(scipy.io.mmread(str(path)))


def workloads():
    out = []
    for name in ("lp_scsd1", "cryg2500"):
        A = load(name)
        if A is None:
            continue
        B = sp.csr_matrix(A.T) if A.shape[0] != A.shape[1] else A
        out.append((f"spmm_ikj/{name}", examples.graph("spmm_ikj"), {"A": A, "B": B}, A @ B))
        rng = np.random.default_rng(0)
        m, n = A.shape
        D, E = rng.random((m, 16)), rng.random((n, 16))
        out.append((f"sddmm/{name}", examples.graph("sddmm"), {"S": A, "A": D, "B": E}, A.multiply(D @ E.T)))
    return out


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set (Linux: ``/proc/self/clear_refs``, value 5), so
    that the next ``peak_rss_mb`` is the peak of what ran in between; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """VmHWM (peak resident set since the last reset) in MB, or ru_maxrss where /proc lacks it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print machine-readable results")
    ap.add_argument("--stepper-seconds", type=float, default=10.0, help="time budget of the per-cycle stepper per graph")
    ap.add_argument("--repeat", type=int, default=3, help="engine runs per graph (best is reported)")
    args = ap.parse_args(argv)
    results = []
    for label, g, inputs, want in workloads():
        timings = {}
        for key, hw in (("default", HardwareConfig()), ("comal", HardwareConfig(memory=False, fifo_depth=0, spacc_flush_ii=0))):
            best = None
            reset_peak_rss()
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                res = simulate_graph(g, inputs, hw=hw)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            timings[key] = (res, best, peak_rss_mb())
        res, best, rss = timings["default"]
        got = res.outputs["out"]
        err = float(np.abs((got - want).toarray() if sp.issparse(got) else got - want).max())
        tokens = res.totals()["tokens"]
        comal, comal_s, _ = timings["comal"]
        s_cycles, s_tokens, s_dt, s_finished = run_stepper(g, inputs, args.stepper_seconds)
        row = {
            "graph": label,
            "max_abs_error": err,
            "engine_seconds": best,
            "cycles": res.cycles,
            "tokens": tokens,
            "engine_tokens_per_s": tokens / best,
            "engine_cycles_per_s": res.cycles / best,
            "peak_rss_mb": rss,  # the process's peak resident set during the default runs
            "engine_peak_mb": max(res.region_memory) / 1e6,
            "comal_hw_cycles": comal.cycles,
            "comal_hw_tokens_per_s": comal.totals()["tokens"] / comal_s,
            "comal_hw_cycles_per_s": comal.cycles / comal_s,
            "stepper_cycles_run": s_cycles,
            "stepper_finished": s_finished,
            "stepper_seconds": s_dt,
            "stepper_tokens_per_s": s_tokens / s_dt,
            "stepper_cycles_per_s": s_cycles / s_dt,
            "stepper_extrapolated": not s_finished,
        }
        row["speedup_tokens"] = row["engine_tokens_per_s"] / row["stepper_tokens_per_s"]
        row["speedup_cycles"] = row["engine_cycles_per_s"] / row["stepper_cycles_per_s"]
        results.append(row)
    met = [r for r in results if r["engine_tokens_per_s"] >= TARGET_TOKENS_PER_S and r["speedup_tokens"] >= TARGET_SPEEDUP]
    if args.json:
        print(json.dumps({"results": results, "targets": {"tokens_per_s": TARGET_TOKENS_PER_S, "speedup": TARGET_SPEEDUP,
                                                          "met": [r["graph"] for r in met]}, "engine_hw": "HardwareConfig() defaults (FIFO depth 32, memory model on); comal_hw: unbounded FIFOs, memory off",
                          "stepper": "per-cycle Python stepper, unbounded FIFOs, no memory model"}, indent=2))
    else:
        for r in results:
            print(f"{r['graph']:22s} engine {r['engine_tokens_per_s']:.3g} tok/s {r['engine_cycles_per_s']:.3g} cyc/s | "
                  f"stepper {r['stepper_tokens_per_s']:.3g} tok/s {r['stepper_cycles_per_s']:.3g} cyc/s | x{r['speedup_tokens']:.0f} tokens x{r['speedup_cycles']:.0f} cycles | "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (engine {r['engine_peak_mb']:.1f} MB)")
        print(f"targets ({TARGET_TOKENS_PER_S:.0e} tokens/s and x{TARGET_SPEEDUP} the stepper): met on {len(met)} of {len(results)} "
              f"graphs{': ' + ', '.join(r['graph'] for r in met) if met else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
