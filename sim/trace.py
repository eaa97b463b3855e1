"""Chrome/Perfetto traces of simulations: what to record (``TraceOptions``), the events of one
region (``region_events``) and a writer that streams them to disk (``TraceWriter``).

A trace shows one process per region and one thread per node, a complete event per span of
back-to-back steps (1 simulated cycle = 1 us on the timeline), and counter tracks: the tokens
waiting in each FIFO a traced node reads (the most visible at any of its steps in a window of
cycles) and the memory bandwidth (bytes requested per cycle in a window). Options narrow it:
regions and nodes by name pattern (``fnmatch``; a node also matches by kind, e.g. ``"spacc*"``),
a window of cycles on the program's timeline. Counter tracks keep at most 4,096 windows each:
a longer run coarsens them (the window doubles), so a trace's size is bounded by the nodes
traced, not by the run's length. A node keeps at most 20,000 spans; past that its last span
grows and the trace marks it with an instant event ("spans merged").

``TraceWriter`` writes events region by region as the runner produces them, as JSON (gzip
when the path ends in ``.gz``; ui.perfetto.dev and chrome://tracing open both), so a program's
trace is never held whole in memory.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from fuseflow.errors import FuseflowError


class TraceError(FuseflowError):
    """Bad trace options (a window that is empty or negative, a pattern that is not text)."""


@dataclass(frozen=True)
class TraceOptions:
    #: where to write (``.json`` or ``.json.gz``); None keeps the events in the result
    path: str | Path | None = None
    #: region (function) names to trace, fnmatch patterns; empty: every region
    regions: tuple[str, ...] = ()
    #: node names or kinds to trace, fnmatch patterns; empty: every node
    nodes: tuple[str, ...] = ()
    #: [start, end) cycles on the program's timeline; None: the whole run
    window: tuple[int, int] | None = None
    #: counter tracks (FIFO occupancy, memory bandwidth)
    counters: bool = True
    #: the counter tracks' first resolution in cycles (coarsened as a run grows)
    counter_window: int = 16

    def __post_init__(self):
        for name in ("regions", "nodes"):
            pats = getattr(self, name)
            if isinstance(pats, str):
                object.__setattr__(self, name, (pats,))
            elif not all(isinstance(p, str) for p in pats):
                raise TraceError(f"trace {name} must be name patterns (text), got {pats!r}")
            else:
                object.__setattr__(self, name, tuple(pats))
        if self.window is not None:
            start, end = self.window
            if not (isinstance(start, int) and isinstance(end, int)) or start < 0 or end <= start:
                raise TraceError(f"trace window must be START:END cycles with 0 <= START < END, got {start}:{end}")
        if not isinstance(self.counter_window, int) or self.counter_window < 1:
            raise TraceError(f"trace counter_window must be a positive number of cycles, got {self.counter_window!r}")

    @classmethod
    def of(cls, trace) -> TraceOptions | None:
        """``trace=`` as the simulators take it: False/None (no trace), True (events in the
        result), a path, or ``TraceOptions``."""
        if trace is None or trace is False:
            return None
        if trace is True:
            return cls()
        if isinstance(trace, cls):
            return trace
        if isinstance(trace, (str, Path)):
            return cls(path=trace)
        raise TraceError(f"trace must be a bool, a path or TraceOptions, got {type(trace).__name__}")

    def in_memory(self) -> TraceOptions:
        return dataclasses.replace(self, path=None)

    def wants_region(self, name: str) -> bool:
        return not self.regions or any(fnmatch.fnmatchcase(name, p) for p in self.regions)

    def wants_node(self, name: str, kind: str) -> bool:
        return not self.nodes or any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(kind, p) for p in self.nodes)

    def local_window(self, offset: int) -> tuple[int, int]:
        """The window in the cycles of a region that starts at ``offset`` on the timeline."""
        if self.window is None:
            return 0, 2**62
        return max(0, self.window[0] - offset), max(0, self.window[1] - offset)


def parse_window(text: str) -> tuple[int, int]:
    """``START:END`` (cycles; either side may be empty: ``:5000``, ``1000:``)."""
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start or 0), int(end) if end else 2**62
    except ValueError:
        raise TraceError(f"a trace window is START:END in cycles (e.g. 1000:5000), got {text!r}") from None


def region_events(g, stats, activity, merged, tracks, pid: int, offset: int) -> list[dict]:
    """The trace events of one simulated region (graph ``g``, node ``stats``), placed at
    ``offset`` cycles as process ``pid``: spans of the traced nodes (``activity[k]``: [(start,
    end)], None for a node not traced), a "spans merged" mark where a node hit its span limit,
    and the counter tracks (``tracks``: {"fifos": {fifo id: (window, values)}, "memory":
    (window, requests), "bytes_per_request": int})."""
    events = [{"name": "process_name", "ph": "M", "pid": pid, "args": {"name": g.name}}]
    for k, (s, spans) in enumerate(zip(stats, activity, strict=True)):
        if spans is None:
            continue
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": k, "args": {"name": f"{s.name} ({s.kind})"}})
        for j, (begin, end) in enumerate(spans):
            ev = {"name": s.kind, "cat": s.kind, "ph": "X", "ts": offset + begin, "dur": max(end - begin, 1),
                  "pid": pid, "tid": k}
            if j == 0:
                ev["args"] = {"tokens_in": s.tokens_in, "tokens_out": s.tokens_out, "busy": s.busy_cycles,
                              "stalled": s.stall_cycles}
            events.append(ev)
        if merged[k] and spans:
            events.append({"name": "spans merged", "ph": "i", "s": "t", "ts": offset + spans[-1][0], "pid": pid,
                           "tid": k, "args": {"note": "span limit reached: later activity is merged into this span"}})
    for f, (w, values) in sorted(tracks.get("fifos", {}).items()):
        events += _counter(g.describe_fifo(f), "tokens", w, values, pid, offset, 1.0)
    if tracks.get("memory"):
        w, values = tracks["memory"]
        events += _counter("memory bandwidth", "bytes per cycle", w, values, pid, offset,
                           tracks["bytes_per_request"] / w)
    return events


def _counter(name: str, key: str, w: int, values: list[int], pid: int, offset: int, scale: float) -> list[dict]:
    out = []
    last = 0.0  # a track starts at zero: the windows before its first sample (or the trace's window) add nothing
    for k, v in enumerate(values):
        value = v * scale
        if value != last:  # a counter holds its value until the next sample
            out.append({"name": name, "ph": "C", "ts": offset + k * w, "pid": pid, "args": {key: value}})
            last = value
    if values:  # close the track at the end of its last window
        out.append({"name": name, "ph": "C", "ts": offset + len(values) * w, "pid": pid, "args": {key: 0}})
    return out


class TraceWriter:
    """Trace-event JSON (``{"traceEvents": [...]}``) written as events arrive; gzip for
    ``.gz`` paths. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | Path):
        from fuseflow.files import output_path

        self.path = output_path(path, "trace")
        opener = gzip.open if self.path.suffix == ".gz" else open
        self._f = opener(self.path, "wt", encoding="utf-8")
        self._f.write('{"displayTimeUnit": "ns", "traceEvents": [\n')
        self._first = True
        self.events = 0

    def add(self, events: list[dict]) -> None:
        for ev in events:
            self._f.write(("" if self._first else ",\n") + json.dumps(ev))
            self._first = False
        self.events += len(events)

    def close(self) -> None:
        if self._f is not None:
            self._f.write("\n]}\n")
            self._f.close()
            self._f = None

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_trace(path: str | Path) -> dict:
    """A trace file written by ``TraceWriter`` (plain or gzip) as a dict."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)
