"""Hyperparameter rules and their messages."""

from __future__ import annotations

import pytest

from synthgen._params import AnyOf, Bool, Check, Choice, Float, Int, Optional, Param, check_names, validate
from synthgen.errors import InvalidParameterError


def test_int_rule():
    rule = Int(1)
    assert rule("k", 3) == 3
    for bad in (0, -1, 1.5, True, "2", None):
        with pytest.raises(InvalidParameterError, match=r"^k must be a positive int; got "):
            rule("k", bad)
    with pytest.raises(InvalidParameterError, match=r"k must be an int in \[2, 5\]; got 6"):
        Int(2, 5)("k", 6)


def test_float_rule_bounds_and_nan():
    assert Float(0, low_open=True)("h", 2) == 2.0
    for bad in (0, -1.0, float("nan"), "x", False):
        with pytest.raises(InvalidParameterError, match="h must be a positive number"):
            Float(0, low_open=True)("h", bad)
    with pytest.raises(InvalidParameterError, match=r"a must be a number in \(0, 1\)"):
        Float(0, 1, low_open=True, high_open=True)("a", 1.0)


def test_choice_anyof_optional_bool_and_check():
    k = AnyOf(Int(1), Choice("bic"), desc="a positive int or 'bic'")
    assert k("n_components", "bic") == "bic" and k("n_components", 4) == 4
    with pytest.raises(InvalidParameterError, match="n_components must be a positive int or 'bic'; got 0"):
        k("n_components", 0)
    assert Optional(Int(0))("x", None) is None
    assert Bool()("flag", True) is True
    with pytest.raises(InvalidParameterError, match="flag must be True or False; got 1"):
        Bool()("flag", 1)

    def even(v):
        if v % 2:
            raise ValueError
        return v

    assert Check(even, "an even int")("e", 4) == 4
    with pytest.raises(InvalidParameterError, match="e must be an even int; got 3"):
        Check(even, "an even int")("e", 3)


def test_validate_fills_defaults_and_check_names_lists_the_known():
    table = {"a": Param(1, Int(0)), "b": Param("x", Choice("x", "y"))}
    assert validate("thing", table, {"b": "y"}) == {"a": 1, "b": "y"}
    with pytest.raises(InvalidParameterError, match="unknown parameters for thing: c, d; known: a, b"):
        check_names("thing", table, {"c": 1, "d": 2})
