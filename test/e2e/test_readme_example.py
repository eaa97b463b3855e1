"""The README's real-graph example runs as written (from the checkout's root, with the shared
data folder beside it; skipped when the data is absent)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if "data.load_graph(" in b]
    assert len(found) == 1, "the README holds one real-graph example"
    return found[0]


def test_readme_cora_example(capsys, monkeypatch):
    code = _example()
    assert len([line for line in code.splitlines() if line.strip()]) < 10
    path = re.search(r'load_graph\("([^"]+)"\)', code)[1]
    if not (ROOT / path).exists():
        pytest.skip(f"{path} not found beside the checkout")
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("FUSEFLOW_DATA_DIR", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert re.fullmatch(r"[\d,]+ cycles, [\d,]+ ops\n", out), out
