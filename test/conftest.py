"""Settings every test shares."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _repro_dumps_stay_in_the_session_folder(tmp_path_factory):
    """Pipelines that fail on purpose in tests dump their input; keep those dumps with pytest's
    own temporary files instead of the machine's temp folder."""
    if os.environ.get("FUSEFLOW_REPRO_DIR"):
        yield
        return
    os.environ["FUSEFLOW_REPRO_DIR"] = str(tmp_path_factory.mktemp("repro"))
    yield
    os.environ.pop("FUSEFLOW_REPRO_DIR", None)
