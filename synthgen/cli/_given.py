"""``--given "sex=Female,age>=60"``: conditions every sampled row carries.

Clauses are separated by commas; each is ``name OP value`` with OP one of ``= == >= <= > <``
(a name that is not a plain word goes in backticks, a text value may be quoted).  Equalities
become ``given[name] = value`` and bounds on one column merge into a range ``(lo, hi)``.  A
clause of another form (``!=``, ``in [...]``, ``or``) is not an exact condition: a --given made
only of such clauses is applied with --require semantics (the rejection sampler), and the CLI
says so.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Optional

import typer

from ..errors import InvalidParameterError

GivenOpt = Annotated[Optional[str], typer.Option(
    "--given", metavar="CONDS",
    help="Conditions every row carries, e.g. \"sex=Female,age>=60\" (=, >=, <=, >, <; commas "
         "join them). Exact for gaussian, gmm, pca_gmm, kde and circuit; vae by "
         "importance resampling. See docs/conditional.md.")]

_CLAUSE = re.compile(r"^\s*(`[^`]+`|[A-Za-z_][\w.\-]*)\s*(==|=|>=|<=|>|<)\s*(.+?)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas outside quotes and brackets."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (s.strip() for s in parts) if p]


def _value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text) else number


_NOT_EQUAL = re.compile(r"^\s*(`[^`]+`|[A-Za-z_][\w.\-]*)\s*!=\s*([A-Za-z_][\w.\- ]*?)\s*$")


def _quoted(clause: str) -> str:
    """``sex!=Male`` as the require language writes it: ``sex != 'Male'``."""
    m = _NOT_EQUAL.match(clause)
    if m and m.group(2) not in ("True", "False", "None"):
        return f"{m.group(1)} != {m.group(2)!r}"
    return clause


def parse_given(text: str | None) -> tuple[dict | None, str | None]:
    """``(given dict, None)``, or ``(None, require expression)`` for a non-exact --given."""
    if text is None:
        return None, None
    clauses = _split(text)
    if not clauses:
        raise InvalidParameterError("--given must hold at least one condition, e.g. \"sex=Female\"")
    matched = [_CLAUSE.match(c) for c in clauses]
    if not all(matched):
        from ..sampling.require import Condition

        expression = " and ".join(f"({_quoted(c)})" for c in clauses)
        Condition(expression)  # a clear error for text that is no condition at all
        if any(matched):
            bad = [c for c, m in zip(clauses, matched) if not m]
            raise InvalidParameterError(
                f"--given: {', '.join(map(repr, bad))} cannot be sampled exactly; pass such "
                "conditions with --require, and the exact ones (=, >=, <=, >, <) with --given"
            )
        return None, expression
    given: dict[str, Any] = {}
    for m in matched:
        name, op, raw = m.group(1).strip("`"), m.group(2), m.group(3)
        value = _value(raw)
        if op in ("=", "=="):
            if name in given:
                raise InvalidParameterError(f"--given names {name!r} twice")
            given[name] = value
            continue
        if not isinstance(value, (int, float)):
            raise InvalidParameterError(f"--given: {name}{op}{raw} needs a number")
        lo, hi = given.get(name, (None, None)) if isinstance(given.get(name), tuple) else (None, None)
        if name in given and not isinstance(given[name], tuple):
            raise InvalidParameterError(f"--given names {name!r} twice")
        v = float(value)
        if op == ">=":
            lo = v if lo is None else max(lo, v)
        elif op == ">":
            v = math.nextafter(v, math.inf)
            lo = v if lo is None else max(lo, v)
        elif op == "<=":
            hi = v if hi is None else min(hi, v)
        else:
            v = math.nextafter(v, -math.inf)
            hi = v if hi is None else min(hi, v)
        given[name] = (lo, hi)
    return given, None


def report(gen, *, quiet: bool) -> None:
    """One line on stderr saying how the conditional rows were drawn."""
    info = getattr(gen, "conditional_summary_", None)
    if quiet or not info:
        return
    from ._common import stderr_console

    line = f"given: {info['returned']:,} of {info['requested']:,} rows, {info['method']}"
    if "candidates" in info:
        line += (f" ({info['candidates']:,} candidates, acceptance "
                 f"{info['acceptance_rate']:.2%})")
    stderr_console().print(line, highlight=False)


def fallback(text: str | None, require: str | None, *, quiet: bool) -> tuple[dict | None, str | None]:
    """The ``given`` dict to sample with, and the --require expression (a non-exact --given
    becomes one, with a note on stderr)."""
    given, expression = parse_given(text)
    if expression is None:
        return given, require
    if require is not None:
        raise InvalidParameterError(
            "--given holds conditions that cannot be sampled exactly; join them to --require "
            "instead of giving both"
        )
    if not quiet:
        from ._common import stderr_console

        stderr_console().print(f"--given {text!r} is not an exact condition; it is applied as "
                               f"--require {expression!r} (rejection sampling)", highlight=False)
    return None, expression
