"""The evaluation log: one JSON object per line, appended the moment an evaluation finishes.

    {"type": "header", "format": 1, "space": [...], "seed": 0, "objectives": 1}
    {"type": "evaluation", "index": 0, "point": {"b": 8, "order": ["i", "j", "k"]},
     "value": 41.0, "values": [41.0], "feasible": true, "wall_time": 0.01, "error": null,
     "phase": "default", "time": 1763700000.0}

Each record is written with one ``write`` call, flushed and synced, so a crash or Ctrl-C leaves
every finished evaluation on disk; a torn last line (the process died mid-write) is dropped
when the log is read back, and cut off before appending.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fuseflow.errors import FuseflowError
from fuseflow.files import read_text
from fuseflow.tune.evaluation import Evaluation
from fuseflow.tune.space import Space

FORMAT = 1


class LogError(FuseflowError):
    """The log cannot be used (wrong space, unreadable, exists without resume)."""


def _header(space: Space, seed: int, n_objectives: int) -> dict:
    return {"type": "header", "format": FORMAT, "space": json.loads(space.signature()),
            "seed": seed, "objectives": n_objectives}


def read_log(path: str | Path, space: Space) -> tuple[dict | None, list[Evaluation]]:
    """The header and evaluations of a log (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        return None, []
    header, evals = None, []
    lines = read_text(path, "tuning log").split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if lineno == len(lines):  # torn final write
                break
            raise LogError(f"{path}:{lineno}: not a JSON record") from None
        if rec.get("type") == "header":
            header = rec
            if rec.get("space") != json.loads(space.signature()):
                raise LogError(f"{path}: the log was written for a different space")
            continue
        if rec.get("type") != "evaluation":
            continue
        values = rec.get("values")
        evals.append(Evaluation(
            index=len(evals), point=space.from_json(rec["point"]), value=rec.get("value"),
            values=None if values is None else tuple(values), feasible=bool(rec["feasible"]),
            wall_time=float(rec.get("wall_time", 0.0)), error=rec.get("error"),
            phase=rec.get("phase", "search"), extra=rec.get("extra") or {}))
    return header, evals


def has_evaluations(path: str | Path) -> bool:
    """Whether the log at ``path`` records at least one evaluation (a log holding only its
    header, left by a run that failed before its first evaluation, is not worth resuming)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    for line in read_text(path, "tuning log").split("\n"):
        try:
            if json.loads(line).get("type") == "evaluation":
                return True
        except (json.JSONDecodeError, AttributeError):
            continue
    return False


class EvaluationLog:
    """Appends evaluation records to a JSONL file."""

    def __init__(self, path: str | Path, space: Space, seed: int, n_objectives: int = 1,
                 resume: bool = False):
        self.path = Path(path)
        self.space = space
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = has_evaluations(self.path)
        if existing and not resume:
            raise LogError(f"{self.path} already exists; resume from it or choose another path")
        self.previous: list[Evaluation] = []
        if existing:
            header, self.previous = read_log(self.path, space)
            if header is not None and header.get("objectives", 1) != n_objectives:
                raise LogError(f"{self.path}: logged {header.get('objectives')} objective(s), "
                               f"asked for {n_objectives}")
            if header is not None and header.get("seed", seed) != seed:
                raise LogError(f"{self.path}: the log was written with seed {header.get('seed')}, not {seed}; "
                               f"resume it with seed {header.get('seed')} (or start a new run elsewhere)")
            self._cut_torn_tail()
        # a log without evaluations (a run that failed before its first) starts over
        self._fh = open(self.path, "a" if existing else "w", encoding="utf-8")  # noqa: SIM115 -- closed in close()
        if not existing:
            self._write(_header(space, seed, n_objectives))

    def _cut_torn_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def _write(self, rec: dict) -> None:
        self._fh.write(json.dumps(rec, default=str) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, ev: Evaluation) -> None:
        self._write({
            "type": "evaluation", "index": ev.index, "point": self.space.to_json(ev.point),
            "value": ev.value, "values": None if ev.values is None else list(ev.values),
            "feasible": ev.feasible, "wall_time": round(ev.wall_time, 6), "error": ev.error,
            "phase": ev.phase, "time": round(time.time(), 3), **({"extra": ev.extra} if ev.extra else {}),
        })

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> EvaluationLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
