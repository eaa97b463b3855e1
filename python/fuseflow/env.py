"""The one module that reads fuseflow's environment variables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def repro_dir() -> Path:
    """Where failing pipelines dump their input IR (``FUSEFLOW_REPRO_DIR``; default: temp dir)."""
    return Path(os.environ.get("FUSEFLOW_REPRO_DIR") or tempfile.gettempdir())


def debug() -> bool:
    """``FUSEFLOW_DEBUG=1`` shows Python tracebacks for internal errors in the CLIs."""
    return os.environ.get("FUSEFLOW_DEBUG", "") not in ("", "0")


DATA_DIR = "FUSEFLOW_DATA_DIR"


def data_dir() -> str | None:
    """``FUSEFLOW_DATA_DIR``: where ``fuseflow.data.find_dataset`` looks for real data files."""
    return os.environ.get(DATA_DIR) or None
