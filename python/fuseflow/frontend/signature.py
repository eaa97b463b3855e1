"""What an imported model's entry function takes and returns: names, shapes, formats, order.

``import_model`` returns an :class:`ImportedModel`. Its ``inputs`` list the entry function's
arguments in order: first the model's forward() arguments (names from the forward signature),
then the parameters that were named sparse and lifted to arguments (names are the parameter
paths, e.g. ``enc.weight``). Later stages bind tensors to arguments with :meth:`ImportedModel.bind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuseflow.frontend.formats import Format, FormatError


@dataclass(frozen=True)
class TensorSpec:
    """One argument or result of the entry function."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name, e.g. "float32"
    format: Format
    kind: str = "input"  # "input" (a forward() argument), "weight" (a lifted parameter), "output"

    @property
    def is_sparse(self) -> bool:
        return not self.format.is_dense

    def describe(self) -> str:
        return f"{self.name}: {list(self.shape)} {self.dtype} {self.format} ({self.kind})"


@dataclass
class ImportedModel:
    """An imported model: the MLIR module plus the metadata to call its entry function.

    ``module``: linalg-on-tensors IR; sparse arguments carry ``#sparse_tensor.encoding`` types.
    ``inputs``: the entry function's arguments, in order (forward() args, then lifted weights).
    ``outputs``: its results as imported (formats may change when passes propagate sparsity;
    the function type is the truth at run time).
    ``weights``: the values of lifted parameters, by name, so callers may omit them.
    """

    module: Any
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    func_name: str = "main"
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def context(self):
        return self.module.context

    @property
    def operation(self):
        """The module's operation, so an ImportedModel can be passed wherever an ``ir.Module``
        is (``fuseflow.passes.run_pipeline(m, ...)`` runs on ``m.module`` in place)."""
        return self.module.operation

    @property
    def body(self):
        return self.module.body

    def __str__(self) -> str:
        from fuseflow.bindings import print_module

        return print_module(self.module)

    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    def bind(self, inputs=None, /, **named) -> list[Any]:
        """The entry function's arguments, in order, from positional and/or named tensors.

        ``inputs`` is a sequence (forward() arguments first, in order; lifted weights may follow
        or be omitted) or a dict by name. Omitted lifted weights take their imported values.
        """
        values: dict[str, Any] = {}
        if isinstance(inputs, dict):
            values.update(inputs)
        elif inputs is not None:
            seq = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if len(seq) > len(self.inputs):
                raise FormatError(
                    f"{len(seq)} inputs given but the model takes {len(self.inputs)}: "
                    f"{', '.join(self.input_names())}"
                )
            values.update(zip(self.input_names(), seq, strict=False))
        values.update(named)
        unknown = sorted(set(values) - set(self.input_names()))
        if unknown:
            raise FormatError(
                f"unknown input name(s) {unknown}; the model takes {', '.join(self.input_names())}"
            )
        out = []
        for spec in self.inputs:
            if spec.name in values:
                out.append(values[spec.name])
            elif spec.name in self.weights:
                out.append(self.weights[spec.name])
            else:
                raise FormatError(f"missing input '{spec.name}' ({spec.describe()})")
        return out

    def describe(self) -> str:
        lines = [f"func @{self.func_name}"]
        lines += [f"  in  {s.describe()}" for s in self.inputs]
        lines += [f"  out {s.describe()}" for s in self.outputs]
        return "\n".join(lines)
