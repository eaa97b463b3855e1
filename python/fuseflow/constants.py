"""Reading tensor constants (model weights) out of MLIR modules as numpy arrays.

torch-mlir stores weights as ``dense_resource<name>`` blobs; the bindings cannot read a blob's
bytes, so they are taken from the module's printed resource section (hex, a 4-byte alignment
header, then the raw little-endian data). Inline ``dense<...>`` constants are read directly.
"""

from __future__ import annotations

import re

import numpy as np

from fuseflow.bindings import ir, print_module
from fuseflow.errors import FuseflowError

_NUMPY = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i64": np.int64, "i32": np.int32,
          "i1": np.bool_, "bf16": None}
_RESOURCE = re.compile(r"dense_resource<([^>]+)>")


class ConstantReader:
    """Reads every tensor constant of one module (the resource section is parsed once)."""

    def __init__(self, module: ir.Module):
        self.module = module
        self._blobs: dict[str, bytes] | None = None

    def _resource_blobs(self) -> dict[str, bytes]:
        if self._blobs is None:
            text = print_module(self.module)
            self._blobs = {}
            for m in re.finditer(r'^\s*([\w.\-]+):\s*"0x([0-9A-Fa-f]*)"', text, re.M):
                raw = bytes.fromhex(m[2])
                self._blobs[m[1]] = raw[4:]  # drop the alignment header
        return self._blobs

    def array(self, attr: ir.Attribute) -> np.ndarray:
        """The value of an ``arith.constant`` tensor attribute."""
        t = ir.RankedTensorType(attr.type)
        dtype = _NUMPY.get(str(t.element_type))
        if dtype is None:
            raise FuseflowError(f"constants of element type {t.element_type} are not supported")
        shape = tuple(t.shape)
        m = _RESOURCE.match(str(attr))
        if m:
            blob = self._resource_blobs().get(m[1])
            if blob is None:
                raise FuseflowError(f"the module has no data for resource '{m[1]}' (was it printed with elided resources?)")
            return np.frombuffer(blob, dtype=dtype).reshape(shape).copy()
        try:
            return np.array(ir.DenseElementsAttr(attr), dtype=dtype).reshape(shape)
        except (TypeError, ValueError) as e:
            raise FuseflowError(f"cannot read constant {str(attr)[:80]}: {e}") from None
