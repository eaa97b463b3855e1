"""The SAM cycle simulator: compiled engine (Cython), token and FIFO types."""

from fuseflow.sim._tokens import DATA, DONE, EMPTY, KIND_NAMES, STOP, Fifo

__all__ = ["DATA", "DONE", "EMPTY", "KIND_NAMES", "STOP", "Fifo"]
