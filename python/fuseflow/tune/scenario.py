"""Scenario files for ``fuseflow tune``: a tuning problem described in TOML.

    name = "spmm-tiling"
    objective = "spmm_model.py:cycles"     # a file next to the scenario, or "package.module:attr"
    budget = 30
    seed = 0
    output = "runs/spmm"                   # relative to the scenario file
    executor = "serial"                    # serial | process | ray
    workers = 2                            # process/ray only
    # address = "10.0.0.5:6379"            # ray only: an existing cluster (default: a local instance)
    objectives = 1                         # > 1: multi-objective, Pareto front reported
    constraints = ["bi * bj <= 4096", "par <= bi"]      # expression language (fuseflow.tune.expr)
    constraint_functions = ["spmm_model.py:fits"]       # callables: point -> bool

    [settings]                             # fuseflow.tune.Settings fields
    doe = 5

    [[parameter]]
    name = "order"
    type = "permutation"                   # real | integer | ordinal | categorical | permutation
    items = ["i", "k", "j"]
    encoding = "kendall"                   # spearman | kendall | hamming

    [[parameter]]
    name = "bi"
    type = "ordinal"
    values = [4, 8, 16, 32, 64]
    default = 16
    condition = "order[0] != 'k'"          # optional: active only when true

Expressions are parsed by the safe evaluator of :mod:`fuseflow.tune.expr`, never ``eval``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuseflow.errors import FuseflowError
from fuseflow.files import read_text
from fuseflow.tune import params as P
from fuseflow.tune.expr import Expression
from fuseflow.tune.optimizer import Settings
from fuseflow.tune.space import Space


class ScenarioError(FuseflowError):
    """A scenario file is invalid."""


class ImportedCallable:
    """A callable named by ``"file.py:attr"`` (relative to ``base``) or ``"package.module:attr"``.

    Loaded on first call and picklable by reference, so process-pool and Ray workers load it
    themselves.
    """

    def __init__(self, spec: str, base: str | Path = "."):
        if not isinstance(spec, str) or spec.count(":") != 1:
            raise ScenarioError(f"expected 'module:function' or 'file.py:function', got {spec!r}")
        self.spec, self.base = spec, str(Path(base).resolve())
        self._fn = None

    def __getstate__(self):
        return {"spec": self.spec, "base": self.base, "_fn": None}

    def load(self):
        if self._fn is not None:
            return self._fn
        target, attr = self.spec.split(":")
        if target.endswith(".py"):
            path = Path(target)
            path = path if path.is_absolute() else Path(self.base) / path
            if not path.is_file():
                raise ScenarioError(f"{self.spec}: no such file {path}")
            name = "fuseflow_scenario_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(name)
            if module is None:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # dataclasses and pickling look modules up by name
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]
                    raise
        else:
            try:
                module = importlib.import_module(target)
            except ImportError as e:
                raise ScenarioError(f"{self.spec}: cannot import {target}: {e}") from None
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise ScenarioError(f"{self.spec}: {attr} is not a callable in {target}")
        self._fn = fn
        return fn

    def __call__(self, *args, **kw):
        return self.load()(*args, **kw)

    def __repr__(self) -> str:
        return self.spec


@dataclass
class Scenario:
    """A parsed scenario (paths resolved against the scenario file's directory)."""

    name: str
    space: Space
    objective: ImportedCallable
    budget: int
    seed: int
    output: Path
    executor: str = "serial"
    workers: int | None = None
    address: str | None = None
    n_objectives: int = 1
    settings: Settings = field(default_factory=Settings)

    @property
    def log_path(self) -> Path:
        return self.output / "log.jsonl"


_PARAM_KEYS = {
    "real": ({"low", "high"}, {"log", "default"}),
    "integer": ({"low", "high"}, {"log", "default"}),
    "ordinal": ({"values"}, {"log", "default"}),
    "categorical": ({"choices"}, {"default"}),
    "permutation": ({"items"}, {"encoding", "default"}),
}
_CLASSES = {"real": P.Real, "integer": P.Integer, "ordinal": P.Ordinal,
            "categorical": P.Categorical, "permutation": P.Permutation}


def _param(entry: dict, where: str) -> P.Param:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: expected a table")
    kind, name = entry.get("type"), entry.get("name")
    if kind not in _PARAM_KEYS:
        raise ScenarioError(f"{where}: type must be one of {sorted(_PARAM_KEYS)}, got {kind!r}")
    required, optional = _PARAM_KEYS[kind]
    given = set(entry) - {"type", "name", "condition"}
    missing, unknown = required - given, given - required - optional
    if missing:
        raise ScenarioError(f"{where} ({name}): missing {sorted(missing)}")
    if unknown:
        raise ScenarioError(f"{where} ({name}): unknown key(s) {sorted(unknown)}")
    cond = entry.get("condition")
    kw = {k: entry[k] for k in given}
    if cond is not None:
        kw["condition"] = Expression(cond) if isinstance(cond, str) else cond
    args = [kw.pop(k) for k in sorted(required, key=["low", "high", "values", "choices", "items"].index)]
    return _CLASSES[kind](name, *args, **kw)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Parse a scenario file; ``overrides`` replace top-level keys (e.g. from the command line)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"no such scenario file: {path}")
    try:
        data = tomllib.loads(read_text(path, "scenario"))
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: invalid TOML: {e}") from None
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {"name", "objective", "budget", "seed", "output", "executor", "workers", "address", "objectives",
             "constraints", "constraint_functions", "settings", "parameter"}
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {sorted(unknown)}")
    base = path.parent.resolve()
    if "objective" not in data:
        raise ScenarioError(f"{path}: 'objective' is required")
    entries = data.get("parameter") or []
    if not entries:
        raise ScenarioError(f"{path}: at least one [[parameter]] is required")
    params = [_param(e, f"{path}: parameter {i + 1}") for i, e in enumerate(entries)]
    constraints: list = list(data.get("constraints", []))
    if not all(isinstance(c, str) for c in constraints):
        raise ScenarioError(f"{path}: constraints must be expression strings")
    constraints += [ImportedCallable(s, base) for s in data.get("constraint_functions", [])]
    space = Space(params, constraints)
    settings_kw = data.get("settings", {})
    fields = {f.name for f in dataclasses.fields(Settings)}
    bad = set(settings_kw) - fields
    if bad:
        raise ScenarioError(f"{path}: unknown setting(s) {sorted(bad)}; known: {sorted(fields)}")
    budget, seed = data.get("budget", 40), data.get("seed", 0)
    for key, val in (("budget", budget), ("seed", seed)):
        if not isinstance(val, int) or isinstance(val, bool):
            raise ScenarioError(f"{path}: {key} must be an integer")
    output = Path(data.get("output", f"tune-{path.stem}"))
    try:
        settings = Settings(**settings_kw)
    except FuseflowError as e:
        raise ScenarioError(f"{path}: [settings] {e}") from None
    return Scenario(
        name=str(data.get("name", path.stem)), space=space,
        objective=ImportedCallable(data["objective"], base), budget=budget, seed=seed,
        output=output if output.is_absolute() else base / output,
        executor=str(data.get("executor", "serial")), workers=data.get("workers"), address=_address(data, path),
        n_objectives=int(data.get("objectives", 1)), settings=settings)


def _address(data: dict, path: Path) -> str | None:
    address = data.get("address")
    if address is None:
        return None
    if not isinstance(address, str) or not address.strip():
        raise ScenarioError(f"{path}: address must be a Ray cluster address such as 'HOST:6379'")
    if data.get("executor", "serial") != "ray":
        raise ScenarioError(f"{path}: address names a Ray cluster; it needs executor = \"ray\"")
    return address.strip()
