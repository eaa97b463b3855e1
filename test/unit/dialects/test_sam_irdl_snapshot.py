"""The checked-in IRDL snapshot matches the Python definition of the sam dialect.

Regenerate after changing dialects/sam.py:
    python -m fuseflow.dialects.sam_irdl > dialects/sam.irdl.mlir
"""

from fuseflow.bindings import ir
from fuseflow.context import make_context
from fuseflow.dialects import sam, sam_irdl


def test_snapshot_is_current():
    assert sam_irdl.SNAPSHOT.read_text() == sam_irdl.irdl_text(), (
        "dialects/sam.irdl.mlir is stale: run python -m fuseflow.dialects.sam_irdl > dialects/sam.irdl.mlir")


def test_snapshot_names_every_op_and_type():
    text = sam_irdl.SNAPSHOT.read_text()
    for cls in sam.Sam.operations:
        assert f"irdl.operation @{cls._op_name} " in text
    for cls in sam.Sam.types:
        assert f"irdl.type @{cls._name} " in text


def test_snapshot_parses():
    with make_context():
        module = ir.Module.parse(sam_irdl.SNAPSHOT.read_text())
        assert module.operation.verify()
