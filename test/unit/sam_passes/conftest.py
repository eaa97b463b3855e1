import pytest

from fuseflow.bindings import ir
from fuseflow.context import make_context


@pytest.fixture
def ctx():
    """A fuseflow Context (sam dialect loaded), active with an unknown location."""
    c = make_context()
    with c, ir.Location.unknown():
        yield c
