"""The registry of fuseflow passes, and the catalogue of upstream MLIR passes.

fuseflow passes register themselves with ``@register``. Upstream passes are whatever the
bindings' pass registry knows; their names, anchors and options are catalogued in
``upstream_passes.json`` (regenerate with ``python -m fuseflow.tools.gen_upstream_passes``; a unit
test fails when it drifts from the bindings).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import json
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from fuseflow.passes.pass_base import ModulePass

_PASSES: dict[str, type[ModulePass]] = {}


def register(cls: type[ModulePass]) -> type[ModulePass]:
    """Class decorator: make a pass available by name to pipelines and ``fuseflow-opt``."""
    if not cls.name or cls.name != cls.name.lower() or " " in cls.name:
        raise TypeError(f"{cls.__name__}: pass name must be kebab-case, got {cls.name!r}")
    if not (cls.__doc__ or "").strip():
        raise TypeError(f"{cls.__name__}: a pass needs a docstring")
    other = _PASSES.get(cls.name)
    if other is not None and other is not cls:
        raise TypeError(f"pass name {cls.name!r} is already taken by {other.__name__}")
    _PASSES[cls.name] = cls
    return cls


@functools.cache
def _load_builtin_passes() -> None:
    """Import every pass module in this package so that its ``@register`` runs."""
    import fuseflow.passes as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("registry", "pass_base", "pipeline") and not info.name.startswith("_"):
            importlib.import_module(f"fuseflow.passes.{info.name}")


def fuseflow_passes() -> dict[str, type[ModulePass]]:
    """All registered fuseflow passes, by name."""
    _load_builtin_passes()
    return dict(sorted(_PASSES.items()))


def get_pass(name: str) -> type[ModulePass] | None:
    _load_builtin_passes()
    return _PASSES.get(name)


@dataclass(frozen=True)
class UpstreamPass:
    name: str
    anchor: str  # the op it is scheduled on by default: builtin.module, func.func or any
    options: str  # default options as MLIR prints them ("{a=1 b=2}" or "")
    summary: str


@functools.cache
def upstream_passes() -> dict[str, UpstreamPass]:
    data = json.loads((Path(__file__).parent / "upstream_passes.json").read_text())
    return {p["name"]: UpstreamPass(**p) for p in data["passes"]}


def close_matches(name: str, n: int = 3) -> list[str]:
    """The registered names (fuseflow or upstream) closest to ``name``."""
    names = list(fuseflow_passes()) + list(upstream_passes())
    return difflib.get_close_matches(name, names, n=n, cutoff=0.6)
