"""Every primitive is declared in one place per tool: its op (dialects/sam.py), its record
(sim/primitives.py), its kernel (a sim/_prims_*.pxi) and its semantics (sim/functional.py).

These tests fail when a dialect op has no simulator kernel or no functional semantics, when a
record names a kernel or a semantics function that does not exist, and when the file list that
CONTRIBUTING.md gives for adding a primitive stops being true."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from fuseflow.dialects import sam
from fuseflow.sim import _engine, functional
from fuseflow.sim.primitives import BY_OP, HARNESS, PRIMITIVES, Kind, Primitive

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [p for d in ("python", "dialects", "passes", "sim") for p in (ROOT / d).rglob("*")
           if p.suffix in (".py", ".pyx", ".pxi", ".pxd")]
# assembled by the reader from the writers it takes: no node of its own
STRUCTURAL_OPS = {"sam.output"}
RECORDS = sorted(PRIMITIVES.values(), key=lambda r: r.code)


def _records_of(op_name: str) -> list[type[Primitive]]:
    return [r for r in RECORDS if r.op == op_name]


@pytest.mark.parametrize("op_name", sorted(set(sam.OPS) - STRUCTURAL_OPS))
def test_every_dialect_op_has_a_kernel_and_semantics(op_name):
    records = _records_of(op_name)
    assert records, f"{op_name} has no simulator record in sim/primitives.py"
    assert op_name in BY_OP, f"no record reads {op_name} from MLIR"
    for rec in records:
        kernel = getattr(_engine, rec.kernel, None)
        assert isinstance(kernel, type) and issubclass(kernel, _engine.Node), f"{rec.name}: no kernel {rec.kernel!r}"
        assert rec.evaluate is not Primitive.evaluate, f"{rec.name}: no functional semantics"


@pytest.mark.parametrize("op_name", sorted(sam.OPS))
def test_every_dialect_op_declares_its_graph_facts(op_name):
    cls = sam.OPS[op_name]
    assert cls.loop_nest is not sam.SamOp.loop_nest, f"{op_name} declares no loop_nest"
    assert "make" in {name for c in cls.__mro__ for name in vars(c)}, f"{op_name} has no builder (make)"
    assert cls.__doc__ and '"sam.' in cls.__doc__, f"{op_name}'s docstring has no MLIR example"


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_every_record_names_what_exists(rec):
    assert Kind(rec.code).name.lower() == rec.name
    assert (rec.op is None) == (rec.code in HARNESS)
    assert rec.op is None or rec.op in sam.OPS, f"{rec.name}: unknown op {rec.op}"
    assert isinstance(getattr(_engine, rec.kernel, None), type), f"{rec.name}: no kernel {rec.kernel!r}"
    assert rec.ins is not None or rec.inputs is not Primitive.inputs, f"{rec.name}: no input count"
    if rec.op is not None:  # a dialect primitive's semantics live in functional.py, by its name
        assert callable(getattr(functional, rec.name, None)), f"functional.py has no {rec.name}()"
        assert f"fn.{rec.name}(" in inspect.getsource(rec.evaluate)


def test_kernels_configure_themselves():
    """A kernel that takes parameters reads them in its own ``configure`` (no central table)."""
    for rec in RECORDS:
        if rec.configure is not Primitive.configure:
            kernel = getattr(_engine, rec.kernel)
            assert kernel.configure is not _engine.Node.configure, f"{rec.kernel} does not configure itself"


def _contributing_files() -> list[str]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("## Adding a primitive", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `([^`]+)`", section, re.M)


def test_contributing_lists_the_files_one_primitive_touches():
    """The worked example of CONTRIBUTING.md (``crd_hold``): every source file that names it is
    one of the files listed there, and each listed file names it."""
    listed = _contributing_files()
    assert listed, "CONTRIBUTING.md has no numbered file list under 'Adding a primitive'"
    assert len(listed) <= 4
    pattern = re.compile(r"crd_hold|CrdHold|CRD_HOLD")
    naming = sorted(str(p.relative_to(ROOT)) for p in SOURCES if pattern.search(p.read_text()))
    kernel_file = [f for f in naming if f.startswith("sim/_prims_")]
    assert kernel_file, "no kernel file names crd_hold"
    expected = [f.replace("sim/_prims_*.pxi", kernel_file[0]) for f in listed]
    assert naming == sorted(expected)
