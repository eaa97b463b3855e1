"""A small, safe expression language for constraints and conditions in scenario files.

Expressions use Python syntax but are evaluated by a tree walker over a whitelist of node types
(never ``eval``): numbers, strings, booleans, ``None``, tuples/lists, parameter names, arithmetic
(``+ - * / // % **``), comparisons (including chained ones and ``in``), ``and`` / ``or`` /
``not``, ``x if c else y``, subscripts, and the functions ``min max abs len pos before
divides``.

    >>> e = Expression("b * p <= 256 and divides(p, b) and before(order, 'i', 'k')")
    >>> e({"b": 64, "p": 4, "order": ("i", "j", "k")})
    True
    >>> sorted(e.names)
    ['b', 'order', 'p']

``pos(order, x)`` is the position of item ``x`` in a permutation, ``before(order, x, y)`` is
``pos(order, x) < pos(order, y)``, ``divides(a, b)`` is ``b % a == 0``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping

from fuseflow.errors import FuseflowError


class ExpressionError(FuseflowError):
    """An expression is not valid in the constraint language."""


def _pos(seq, item):
    try:
        return list(seq).index(item)
    except ValueError:
        raise ExpressionError(f"pos(): {item!r} is not in {seq!r}") from None


FUNCTIONS = {
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "pos": _pos,
    "before": lambda seq, a, b: _pos(seq, a) < _pos(seq, b),
    "divides": lambda a, b: a != 0 and b % a == 0,
}

_BIN = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_CMP = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}
_MAX_POW = 64


class Expression:
    """A parsed expression; call it with a mapping of parameter values."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("empty expression")
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as e:
            raise ExpressionError(f"invalid expression {text!r}: {e.msg}") from None
        self.names: set[str] = set()
        self._check(tree.body)
        self._tree = tree.body

    def _check(self, node: ast.AST) -> None:
        ok = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Name, ast.Constant,
              ast.Tuple, ast.List, ast.Subscript, ast.Call)
        if not isinstance(node, ok):
            raise ExpressionError(f"{self.text!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.BinOp) and type(node.op) not in _BIN:
            raise ExpressionError(f"{self.text!r}: operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
            raise ExpressionError(f"{self.text!r}: operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Compare) and any(type(o) not in _CMP for o in node.ops):
            raise ExpressionError(f"{self.text!r}: comparison not allowed")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool, type(None))):
            raise ExpressionError(f"{self.text!r}: constant {node.value!r} is not allowed")
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            raise ExpressionError(f"{self.text!r}: slices are not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(f"{self.text!r}: only {sorted(FUNCTIONS)} may be called")
            if node.keywords:
                raise ExpressionError(f"{self.text!r}: keyword arguments are not allowed")
            for a in node.args:
                self._check(a)
            return
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{self.text!r}: {node.id} is a function")
            self.names.add(node.id)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)):
                continue
            self._check(child)

    def __call__(self, point: Mapping):
        return self._eval(self._tree, point)

    def _eval(self, node, env):
        match node:
            case ast.Constant():
                return node.value
            case ast.Name():
                return env[node.id]
            case ast.Tuple() | ast.List():
                return tuple(self._eval(e, env) for e in node.elts)
            case ast.BoolOp(op=ast.And()):
                result = True
                for v in node.values:
                    result = self._eval(v, env)
                    if not result:
                        return result
                return result
            case ast.BoolOp():
                result = False
                for v in node.values:
                    result = self._eval(v, env)
                    if result:
                        return result
                return result
            case ast.UnaryOp():
                return _UNARY[type(node.op)](self._eval(node.operand, env))
            case ast.BinOp():
                a, b = self._eval(node.left, env), self._eval(node.right, env)
                if isinstance(node.op, ast.Pow) and isinstance(b, (int, float)) and abs(b) > _MAX_POW:
                    raise ExpressionError(f"{self.text!r}: exponent {b} too large")
                try:
                    return _BIN[type(node.op)](a, b)
                except (TypeError, ZeroDivisionError) as e:
                    raise ExpressionError(f"{self.text!r}: {e}") from None
            case ast.Compare():
                left = self._eval(node.left, env)
                for op, comp in zip(node.ops, node.comparators, strict=True):
                    right = self._eval(comp, env)
                    try:
                        if not _CMP[type(op)](left, right):
                            return False
                    except TypeError as e:
                        raise ExpressionError(f"{self.text!r}: {e}") from None
                    left = right
                return True
            case ast.IfExp():
                branch = node.body if self._eval(node.test, env) else node.orelse
                return self._eval(branch, env)
            case ast.Subscript():
                seq, key = self._eval(node.value, env), self._eval(node.slice, env)
                try:
                    return seq[key]
                except (TypeError, IndexError, KeyError) as e:
                    raise ExpressionError(f"{self.text!r}: bad subscript: {e}") from None
            case ast.Call():
                args = [self._eval(a, env) for a in node.args]
                try:
                    return FUNCTIONS[node.func.id](*args)
                except TypeError as e:
                    raise ExpressionError(f"{self.text!r}: {e}") from None
        raise ExpressionError(f"{self.text!r}: cannot evaluate {type(node).__name__}")

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"
