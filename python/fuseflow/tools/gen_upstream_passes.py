"""Regenerate ``passes/upstream_passes.json``: the catalogue of upstream MLIR passes.

The bindings can parse any registered pass but cannot list them, so the candidates are the
kebab-case words found in the bindings' shared libraries, each kept only if MLIR's pipeline
parser accepts it (which also yields its anchor and default options). One-line summaries come
from ``torch-mlir-opt --help`` for the passes that tool knows.

    python -m fuseflow.tools.gen_upstream_passes [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import torch_mlir

import fuseflow.passes
from fuseflow.bindings import PassManager, captured_native_stderr, ir

CATALOGUE = Path(fuseflow.passes.__file__).parent / "upstream_passes.json"

LIBS = Path(torch_mlir.__path__[0]) / "_mlir_libs"
_WORD = re.compile(rb"[a-z][a-z0-9-]{2,}")


_PRINTABLE = re.compile(rb"[\x20-\x7e]{3,}")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_SENTENCE = re.compile(r"^[A-Z][a-z]+( [^ :@{}]+){2,}$")


def library_strings() -> list[str]:
    """The printable strings of the bindings' shared libraries, in file order (like strings(1))."""
    out: list[str] = []
    for lib in sorted(LIBS.glob("*.so")):
        out.extend(m.decode() for m in _PRINTABLE.findall(lib.read_bytes()))
    return out


def candidates(strings: list[str]) -> set[str]:
    out: set[str] = set()
    for line in strings:
        for tok in set(_WORD.findall(line.encode())):
            word = tok.decode()
            # string literals are tail-merged by the linker: try every suffix
            for i in range(len(word) - 2):
                s = word[i:]
                if s[0].isalpha() and not s.endswith("-") and "--" not in s:
                    out.add(s)
    return out


def summaries(strings: list[str], names: set[str]) -> dict[str, str]:
    """One-line summaries: ``torch-mlir-opt --help`` where it knows the pass; otherwise the
    string the pass registration keeps right after its argument, accepted only in the exact
    shape TableGen emits (class name, argument, sentence) so that no summary is a guess."""
    out = {}
    for i in range(1, len(strings) - 1):
        name = strings[i]
        if name in names and name not in out and _CLASS_NAME.match(strings[i - 1]) \
                and _SENTENCE.match(strings[i + 1]):
            out[name] = strings[i + 1].rstrip(".")
    text = subprocess.run([str(LIBS / "torch-mlir-opt"), "--help"], capture_output=True, text=True).stdout
    for m in re.finditer(r"^\s{6}--([a-z0-9-]+)\s+-\s+(.*)$", text, re.M):
        out[m[1]] = m[2].strip()
    return out


def catalogue() -> list[dict]:
    from fuseflow.context import make_context

    ctx = make_context()
    found = {}
    strings = library_strings()
    with captured_native_stderr():
        for name in sorted(candidates(strings)):
            for anchor in ("builtin.module", "func.func", "any"):
                try:
                    pm = PassManager.parse(f"{anchor}({name})", ctx)
                except (ValueError, ir.MLIRError):
                    continue
                printed = str(pm)
                opts = re.search(r"\{.*\}", printed)
                found[name] = (anchor, opts[0] if opts and opts[0] != "{}" else "")
                break
    notes = summaries(strings, set(found))
    return [
        {"name": n, "anchor": a, "options": re.sub(r"\s+", " ", o), "summary": notes.get(n, "")}
        for n, (a, o) in sorted(found.items())
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the checked-in catalogue differs")
    args = ap.parse_args()
    data = {"passes": catalogue()}
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if args.check:
        same = CATALOGUE.read_text() == text
        print("up to date" if same else f"{CATALOGUE} is stale; regenerate it")
        return 0 if same else 1
    CATALOGUE.write_text(text)
    print(f"wrote {len(data['passes'])} passes to {CATALOGUE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
