"""The constraint expression language: what it evaluates and what it refuses."""

from __future__ import annotations

import pytest

from fuseflow.tune import Expression, ExpressionError


@pytest.mark.parametrize("text,point,expected", [
    ("b * p <= 256", {"b": 64, "p": 4}, True),
    ("b * p <= 256", {"b": 128, "p": 4}, False),
    ("divides(p, b)", {"b": 64, "p": 3}, False),
    ("before(order, 'i', 'k')", {"order": ("k", "i", "j")}, False),
    ("pos(order, 'j') == 2", {"order": ("k", "i", "j")}, True),
    ("order[0] != 'k' and fmt in ('csr', 'dcsr')", {"order": ("i", "k"), "fmt": "csr"}, True),
    ("1 < u < chunk // 8", {"u": 2, "chunk": 32}, True),
    ("max(a, b) - min(a, b) <= 2 if a else True", {"a": 0, "b": 9}, True),
    ("not (x is None) or y", {"x": None, "y": False}, False),
])
def test_evaluates(text, point, expected):
    assert Expression(text)(point) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "b.__class__",
    "[x for x in range(3)]",
    "lambda: 1",
    "open('f')",
    "b := 3",
    "x[1:2]",
    "2 ** 1000",
])
def test_refuses_unsafe_or_unknown_syntax(text):
    with pytest.raises(ExpressionError):
        Expression(text)({"b": 1, "x": (1, 2)})


def test_names_are_collected():
    assert Expression("a + pos(order, 'i') > c").names == {"a", "order", "c"}
