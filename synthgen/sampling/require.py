"""A small, safe language for conditions on records: ``--require "age >= 50 and region == 'London'"``.

Grammar (a subset of Python expressions, parsed with :mod:`ast` and never evaluated by Python):

* comparisons ``name OP value`` with OP one of ``== != < <= > >=``, chains such as
  ``18 <= age < 65``, and membership ``name in [v1, v2]`` / ``name not in (...)``;
* ``and``, ``or``, ``not`` and parentheses;
* names are column names (use backticks for names that are not identifiers: ```hours-per-week` > 40``);
  values are numbers, quoted strings, ``True``, ``False`` or ``None``.

For UK registrations the names are the parsed parts of the plate: ``tag``, ``region``, ``office``,
``age`` (the two-digit age identifier), ``year``, ``release`` ("March" or "September") and
``letters``.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any, Callable

from ..errors import InvalidDataError, InvalidParameterError

_OPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

_BACKTICK = re.compile(r"`([^`]*)`")


class Condition:
    """A parsed condition; call it on a mapping of names to values to get a bool."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError(f"require must be a non-empty expression; got {text!r}")
        self.text = text
        self._aliases: dict[str, str] = {}

        def alias(match):
            key = f"__col{len(self._aliases)}"
            self._aliases[key] = match.group(1)
            return key

        source = _BACKTICK.sub(alias, text.strip())
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise InvalidParameterError(
                f"cannot parse require expression {text!r}: {exc.msg} at column {exc.offset}"
            ) from None
        self._check(tree.body)
        self._tree = tree.body
        self.names = sorted({self._aliases.get(n.id, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)})

    def _fail(self, node, what: str):
        raise InvalidParameterError(
            f"require expression {self.text!r}: {what} is not allowed (use comparisons of names "
            "with numbers or strings, joined by and/or/not)"
        )

    def _check(self, node) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._check(node.operand)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op in node.ops:
                if type(op) not in _OPS:
                    self._fail(node, f"the operator {type(op).__name__}")
            if not any(isinstance(o, ast.Name) for o in operands):
                self._fail(node, "a comparison without a column name")
            for o in operands:
                self._check_operand(o)
        else:
            self._fail(node, f"'{ast.unparse(node)}'")

    def _check_operand(self, node) -> None:
        if isinstance(node, ast.Name):
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for elt in node.elts:
                if not isinstance(elt, ast.Constant):
                    self._fail(node, f"'{ast.unparse(elt)}' inside a list")
            return
        self._fail(node, f"'{ast.unparse(node)}'")

    def __call__(self, record: dict[str, Any]) -> bool:
        return bool(self._eval(self._tree, record))

    def _eval(self, node, rec):
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, rec) for v in node.values)
            return any(self._eval(v, rec) for v in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self._eval(node.operand, rec)
        if isinstance(node, ast.Compare):
            left = self._value(node.left, rec)
            for op, right_node in zip(node.ops, node.comparators):
                right = self._value(right_node, rec)
                try:
                    if not _OPS[type(op)](left, right):
                        return False
                except TypeError:
                    return False
                left = right
            return True
        raise InvalidParameterError(f"require expression {self.text!r} cannot be evaluated")

    def _value(self, node, rec):
        if isinstance(node, ast.Name):
            name = self._aliases.get(node.id, node.id)
            if name not in rec:
                known = ", ".join(sorted(map(str, rec))) or "none"
                raise InvalidParameterError(
                    f"require expression {self.text!r} names {name!r}, which is not a column; known: {known}"
                )
            return rec[name]
        if isinstance(node, ast.UnaryOp):
            return -node.operand.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [e.value for e in node.elts]
        return node.value

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def registration_fields(reg: str) -> dict[str, Any]:
    """The names a condition can use on a UK registration."""
    from ..vectorisers.ukreg_rules import parse

    p = parse(reg)
    return {
        "tag": p.tag,
        "region": p.region,
        "office": p.office,
        "age": p.age,
        "year": p.year,
        "release": p.release,
        "letters": p.letters,
        "plate": reg,
    }


def as_predicate(require) -> Callable[[Any], bool] | None:
    """Turn ``require`` (None, an expression string or a callable) into a predicate on records.

    A record is what the user holds: a registration string, a dict for a table row, or a
    numpy row for arrays (names ``x0``, ``x1``, ...).  A string that is not a valid registration
    satisfies no condition.
    """
    if require is None:
        return None
    if callable(require):
        return require
    cond = Condition(require)

    def predicate(record) -> bool:
        if isinstance(record, str):
            try:
                fields = registration_fields(record)
            except InvalidDataError:
                return False  # a plate that is not valid has none of the attributes
            return cond(fields)
        if isinstance(record, dict):
            return cond(record)
        return cond({f"x{i}": v for i, v in enumerate(record)})

    predicate.condition = cond  # type: ignore[attr-defined]
    return predicate
