"""Files the user names: read and written with clear errors, checked before any long work.

Every command-line path that reads or writes a file goes through here, so a missing file, a
folder where a file is expected, a file that is not UTF-8 text, or an output in a folder that
does not exist is a ``FileError`` (``error: ...``, exit 1), never an internal error::

    text = read_text(path, "input IR")          # FileError: "cannot read input IR '/tmp': it is a directory"
    out = output_path(args.output, "-o")        # checked up front, written after the run
    write_text(out, text, "-o")
"""

from __future__ import annotations

from pathlib import Path

from fuseflow.errors import FuseflowError


class FileError(FuseflowError):
    """A file the user named cannot be read or written (the message says which and why)."""


def read_text(path, what: str = "file") -> str:
    """The UTF-8 text of ``path``."""
    p = Path(path)
    if p.is_dir():
        raise FileError(f"cannot read {what} '{p}': it is a directory")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileError(f"cannot read {what} '{p}': no such file") from None
    except OSError as e:
        raise FileError(f"cannot read {what} '{p}': {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileError(f"cannot read {what} '{p}': not UTF-8 text (byte {e.start})") from None


def output_path(path, what: str = "output") -> Path:
    """``path`` checked for writing: its folder exists and it is not itself a folder (call before
    the work whose result goes there)."""
    p = Path(path)
    if p.is_dir():
        raise FileError(f"cannot write {what} '{p}': it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileError(f"cannot write {what} '{p}': the folder '{parent}' does not exist")
    return p


def write_text(path, text: str, what: str = "output") -> Path:
    """Write ``text`` to ``path`` (checked with ``output_path``)."""
    p = output_path(path, what)
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as e:
        raise FileError(f"cannot write {what} '{p}': {e.strerror or e}") from None
    return p


def output_folder(path, what: str = "output folder") -> Path:
    """``path`` as a folder to write into (created with its parents; a file there is an error)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise FileError(f"cannot use {what} '{p}': it is a file")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileError(f"cannot create {what} '{p}': {e.strerror or e}") from None
    return p


__all__ = ["FileError", "output_folder", "output_path", "read_text", "write_text"]
