"""Collecting MLIR diagnostics into plain records, and printing them as mlir-opt does.

torch-mlir's importer leaves ``Context.emit_error_diagnostics = True``, after which error
diagnostics bypass ``MLIRError`` and go to stderr. fuseflow therefore attaches one handler per
Context that records every diagnostic; callers drain it around each MLIR call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FILE_LINE_COL = re.compile(r'loc\("(?P<file>[^"]*)":(?P<line>\d+):(?P<col>\d+)\)')


@dataclass
class Diagnostic:
    """One diagnostic: severity, message, and a source position when the location has one."""

    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    notes: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def from_mlir(cls, d) -> Diagnostic:
        sev = getattr(d.severity, "name", str(d.severity)).lower()
        file = line = col = None
        m = _FILE_LINE_COL.search(str(d.location))
        if m:
            file, line, col = m["file"], int(m["line"]), int(m["col"])
        notes = [cls.from_mlir(n) for n in d.notes]
        return cls(sev, d.message, file, line, col, notes)

    def relocated(self, file: str, line_offset: int = 0) -> Diagnostic:
        """Point a diagnostic located in parsed text (file ``-``) into ``file``, shifting its line
        by ``line_offset`` (the chunk's first line under ``--split-input-file``)."""
        notes = [n.relocated(file, line_offset) for n in self.notes]
        if self.file != "-":
            return Diagnostic(self.severity, self.message, self.file, self.line, self.col, notes)
        return Diagnostic(
            self.severity,
            self.message,
            file,
            self.line + line_offset,
            self.col,
            notes,
        )

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: " if self.line is not None else ""
        text = f"{where}{self.severity}: {self.message}"
        for n in self.notes:
            text += "\n" + n.render()
        return text


class DiagnosticCollector:
    """Records every diagnostic a Context emits; ``drain()`` hands them over and clears."""

    def __init__(self):
        self._items: list[Diagnostic] = []

    def __call__(self, d) -> bool:
        self._items.append(Diagnostic.from_mlir(d))
        return True  # handled: keep it off stderr

    def drain(self) -> list[Diagnostic]:
        items, self._items = self._items, []
        return items
