"""Hyperparameter rules: one table per generator, one message format for every mistake.

Each rule checks a value and returns it normalised, or raises ``InvalidParameterError``
with a message that names the parameter, what was expected and what was given::

    n_components must be a positive int or 'bic'; got 0
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

from .errors import InvalidParameterError


class Rule:
    """A check on one hyperparameter value; ``desc`` completes "NAME must be ..."."""

    desc = "valid"

    def check(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, name: str, value: Any) -> Any:
        try:
            return self.check(value)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            raise InvalidParameterError(f"{name} must be {self.desc}; got {value!r}") from None


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


class Int(Rule):
    def __init__(self, low: int | None = None, high: int | None = None, desc: str | None = None):
        self.low, self.high = low, high
        if desc:
            self.desc = desc
        elif low == 1 and high is None:
            self.desc = "a positive int"
        elif low == 0 and high is None:
            self.desc = "a non-negative int"
        else:
            self.desc = f"an int in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"

    def check(self, v):
        if not _is_int(v):
            raise TypeError
        v = int(v)
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise ValueError
        return v


class Float(Rule):
    def __init__(self, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False, desc: str | None = None):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        if desc:
            self.desc = desc
        elif low == 0 and high is None:
            self.desc = "a positive number" if low_open else "a non-negative number"
        else:
            lb = "(" if low_open else "["
            rb = ")" if high_open else "]"
            self.desc = f"a number in {lb}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{rb}"

    def check(self, v):
        if not _is_real(v):
            raise TypeError
        v = float(v)
        if v != v:
            raise ValueError
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            raise ValueError
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            raise ValueError
        return v


class Choice(Rule):
    def __init__(self, *options: Any):
        self.options = options
        self.desc = "one of " + ", ".join(repr(o) for o in options)

    def check(self, v):
        if isinstance(v, str) and v in self.options:
            return v
        if not isinstance(v, str) and any(v is o for o in self.options):
            return v
        raise ValueError


class Bool(Rule):
    desc = "True or False"

    def check(self, v):
        if isinstance(v, bool):
            return v
        raise TypeError


class AnyOf(Rule):
    """The first rule that accepts the value wins."""

    def __init__(self, *rules: Rule, desc: str | None = None):
        self.rules = rules
        self.desc = desc or " or ".join(r.desc for r in rules)

    def check(self, v):
        for rule in self.rules:
            try:
                return rule.check(v)
            except (TypeError, ValueError):
                continue
        raise ValueError


class Optional(Rule):
    def __init__(self, rule: Rule):
        self.rule = rule
        self.desc = f"{rule.desc} or None"

    def check(self, v):
        return None if v is None else self.rule.check(v)


class Check(Rule):
    """A rule from a plain function that returns the normalised value or raises."""

    def __init__(self, fn: Callable[[Any], Any], desc: str):
        self.fn, self.desc = fn, desc

    def check(self, v):
        return self.fn(v)


@dataclass(frozen=True)
class Param:
    """A hyperparameter: its default, its rule and one line of documentation."""

    default: Any
    rule: Rule
    doc: str = ""


def validate(name_of_owner: str, table: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """Check every value against its rule; return the normalised values."""
    out = {}
    for key, param in table.items():
        out[key] = param.rule(key, values.get(key, param.default))
    return out


def check_names(owner: str, table: dict[str, Param], given: dict[str, Any]) -> None:
    unknown = sorted(set(given) - set(table))
    if unknown:
        known = ", ".join(sorted(table)) or "none"
        raise InvalidParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} for {owner}: "
            f"{', '.join(unknown)}; known: {known}"
        )
