"""The base class of fuseflow's Python passes, and their typed options.

A pass is a class with a kebab-case ``name``, a docstring (first line = one-line summary) and
options declared as class attributes::

    @register
    class FoldThingsPass(ModulePass):
        '''Fold things into other things. ...'''
        name = "fuseflow-fold-things"
        limit = Option(int, 8, "stop after this many folds")
        formats = Option(list[str], ["csr"], "formats to consider", choices=["csr", "csc"])

        def run(self, module):
            ...

Options are parsed from MLIR's textual syntax (``{limit=4 formats=csr,csc}``); a bad key or
value raises ``OptionError`` naming the pass, the option and what was expected.
"""

from __future__ import annotations

import difflib
import traceback
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from fuseflow.bindings import ir
from fuseflow.errors import FuseflowError


class OptionError(FuseflowError):
    """A pass option is unknown or its value does not parse."""


class PassFailure(Exception):
    """Raised inside ``run`` to fail the pass with an error at ``location``."""

    def __init__(self, message: str, location: ir.Location | None = None):
        super().__init__(message)
        self.location = location


_SCALARS = {int, float, str, bool}


@dataclass
class Option:
    """A typed pass option: ``int``, ``float``, ``str``, ``bool`` or ``list[...]`` of those."""

    type: Any
    default: Any
    help: str = ""
    choices: list[Any] | None = None
    name: str = ""  # filled in by ModulePass.__init_subclass__ (kebab-case of the attribute)
    attr: str = ""

    @property
    def element_type(self):
        return typing.get_args(self.type)[0] if self.is_list else self.type

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.type) is list

    def type_name(self) -> str:
        base = self.element_type.__name__
        return f"list of {base}" if self.is_list else base

    def parse(self, text: str) -> Any:
        if self.is_list:  # an item may be braced to hold commas: {i,k,j}
            items = [t.strip() for t in split_top_level(text, ",")] if text.strip() else []
            return [self._parse_scalar(t[1:-1] if t.startswith("{") and t.endswith("}") else t) for t in items]
        return self._parse_scalar(text.strip())

    def _parse_scalar(self, text: str) -> Any:
        t = self.element_type
        try:
            if t is bool:
                if text.lower() in ("1", "true", "on", ""):
                    value = True
                elif text.lower() in ("0", "false", "off"):
                    value = False
                else:
                    raise ValueError(text)
            elif t is int:
                value = int(text, 0)
            elif t is float:
                value = float(text)
            else:
                value = text
        except ValueError:
            raise OptionError(f"expected {t.__name__}, got '{text}'") from None
        if self.choices is not None and value not in self.choices:
            listed = ", ".join(map(str, self.choices))
            raise OptionError(f"'{text}' is not one of: {listed}")
        return value

    def format(self, value: Any) -> str:
        def one(v):
            return str(v).lower() if isinstance(v, bool) else str(v)

        if self.is_list and any("," in one(v) for v in value):  # braced items: parse reads them back whole
            text = "{" + ",".join(f"{{{one(v)}}}" if "," in one(v) else one(v) for v in value) + "}"
        else:
            text = ",".join(one(v) for v in value) if self.is_list else one(value)
        if any(ch.isspace() for ch in text) or text[:1] in ("'", '"'):  # parse_option_text reads it back
            return f"'{text}'" if '"' in text else f'"{text}"'
        return text


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` characters that are not nested in (), {} or []."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_option_text(text: str) -> dict[str, str]:
    """``"a=1 b=x,y c"`` (the inside of ``{...}``) -> ``{"a": "1", "b": "x,y", "c": ""}``.

    Values may be quoted with '' or "" or braced with {} to contain spaces.
    """
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        j = i
        while j < n and text[j] not in "= \t\n":
            j += 1
        key = text[i:j]
        if not key:
            raise OptionError(f"malformed option text '{text}'")
        value = ""
        if j < n and text[j] == "=":
            j += 1
            if j < n and text[j] in "'\"":
                q = text[j]
                k = text.find(q, j + 1)
                if k < 0:
                    raise OptionError(f"unterminated quote in option '{key}'")
                value, j = text[j + 1 : k], k + 1
            else:
                k, depth = j, 0
                while k < n and (depth or not text[k].isspace()):
                    depth += text[k] in "{[(" and 1 or (text[k] in "}])" and -1 or 0)
                    k += 1
                value, j = text[j:k], k
                if value.startswith("{") and value.endswith("}"):
                    value = value[1:-1]
        out[key] = value
        i = j
    return out


class ModulePass:
    """A Python pass that runs on a ``builtin.module`` and may rewrite anything inside it.

    Subclasses set ``name`` and implement ``run(module_op)``; they report user-facing failures
    by raising ``PassFailure(message, location)``.
    """

    name: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        opts: dict[str, Option] = {}
        for base in reversed(cls.__mro__[1:]):
            opts.update(getattr(base, "options", {}) or {})
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Option):
                value.attr = attr
                value.name = value.name or attr.replace("_", "-")
                if value.choices is not None and not value.is_list and value.default not in value.choices:
                    raise TypeError(f"{cls.__name__}.{attr}: default not among choices")
                opts[value.name] = value
                delattr(cls, attr)
        cls.options = opts

    def __init__(self, **values: Any):
        for opt in self.options.values():
            setattr(self, opt.attr, list(opt.default) if opt.is_list else opt.default)
        for key, value in values.items():
            opt = self._option(key.replace("_", "-"))
            setattr(self, opt.attr, value)

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def _option(cls, key: str) -> Option:
        if key in cls.options:
            return cls.options[key]
        close = difflib.get_close_matches(key, list(cls.options), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(cls.options) or "none"
        raise OptionError(f"pass '{cls.name}' has no option '{key}'{hint} (options: {known})")

    @classmethod
    def from_option_text(cls, text: str) -> ModulePass:
        """Instantiate from MLIR's textual option syntax (the inside of ``{...}``)."""
        values = {}
        for key, raw in parse_option_text(text).items():
            opt = cls._option(key)
            try:
                values[key] = opt.parse(raw)
            except OptionError as e:
                raise OptionError(
                    f"pass '{cls.name}': bad value for option '{key}' ({opt.type_name()}): {e}"
                ) from None
        return cls(**values)

    def option_text(self) -> str:
        """Options as ``{k=v ...}`` text (empty when the pass has none), for printing pipelines."""
        if not self.options:
            return ""
        items = [f"{o.name}={o.format(getattr(self, o.attr))}" for o in self.options.values()]
        return "{" + " ".join(items) + "}"

    def pipeline_text(self) -> str:
        return self.name + self.option_text()

    # -- running --------------------------------------------------------------------------
    def run(self, module: ir.Operation) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    def _callback(self, op, pass_) -> None:
        """Entry point from the MLIR PassManager: turn Python failures into diagnostics."""
        try:
            with op.context, op.location:
                self.run(op)
        except PassFailure as e:
            loc = e.location or op.location
            loc.emit_error(f"{self.name}: {e}")
            pass_.signal_pass_failure()
        except Exception as e:  # an internal error must not kill the process or lose the IR
            frame = traceback.extract_tb(e.__traceback__)[-1]
            op.location.emit_error(
                f"{self.name}: internal error: {type(e).__name__}: {e} "
                f"(at {frame.filename}:{frame.lineno})"
            )
            pass_.signal_pass_failure()
