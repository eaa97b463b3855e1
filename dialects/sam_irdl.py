"""The IRDL text of the ``sam`` dialect, as ``Sam.load()`` loads it.

The checked-in snapshot ``dialects/sam.irdl.mlir`` is regenerated with::

    python -m fuseflow.dialects.sam_irdl > dialects/sam.irdl.mlir

and a unit test fails when it drifts from the Python definition. An excerpt::

    irdl.operation @root {
      %0 = irdl.base @sam::@ref
      irdl.results(out_ref: %0)
    }

(The optional ``scalar`` attribute of ``sam.alu`` is a discardable attribute checked by the
Python verifier, so it does not appear in the IRDL.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from fuseflow.bindings import ir, passmanager
from fuseflow.dialects.sam import Sam

SNAPSHOT = Path(__file__).with_name("sam.irdl.mlir")


def irdl_text() -> str:
    """The IRDL module of the Python definition, after the canonicalize/cse that load() runs."""
    with ir.Context(), ir.Location.unknown():
        module = Sam._emit_module()
        pm = passmanager.PassManager()
        pm.add("canonicalize, cse")
        pm.run(module.operation)
        return module.operation.get_asm(enable_debug_info=False)


def main() -> int:
    sys.stdout.write(irdl_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
