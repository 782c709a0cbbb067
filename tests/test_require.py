"""The --require expression language."""

from __future__ import annotations

import pytest

from synthgen.errors import InvalidParameterError
from synthgen.sampling.require import Condition, as_predicate


@pytest.mark.parametrize(
    "text, record, expected",
    [
        ("age >= 50", {"age": 50}, True),
        ("age >= 50", {"age": 49}, False),
        ("18 <= age < 65", {"age": 64}, True),
        ("18 <= age < 65", {"age": 65}, False),
        ("region == 'London' and not age < 50", {"region": "London", "age": 60}, True),
        ("region == 'London' or age < 50", {"region": "Wales", "age": 60}, False),
        ("sex in ['Male', 'Other']", {"sex": "Female"}, False),
        ("sex not in ('Male',)", {"sex": "Female"}, True),
        ("`hours-per-week` > 40", {"hours-per-week": 45}, True),
        ("x0 > -1.5", {"x0": -1.0}, True),
        ("workclass == None", {"workclass": None}, True),
        ("age > 'ten'", {"age": 5}, False),
    ],
)
def test_conditions(text, record, expected):
    assert Condition(text)(record) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "non-empty expression"),
        ("age >", "cannot parse require expression"),
        ("__import__('os').system('true')", "is not allowed"),
        ("age.real > 3", "is not allowed"),
        ("1 < 2", "a comparison without a column name"),
        ("age + 1 > 3", "is not allowed"),
        ("age is None", "the operator Is"),
        ("f(age) > 3", "is not allowed"),
    ],
)
def test_anything_else_is_refused(text, message):
    with pytest.raises(InvalidParameterError, match=message):
        Condition(text)


def test_unknown_names_are_reported_with_the_known_ones():
    with pytest.raises(InvalidParameterError, match="names 'agee', which is not a column; known: age"):
        Condition("agee > 3")({"age": 5})


def test_predicates_on_arrays_use_positional_names():
    pred = as_predicate("x1 > 0")
    assert pred([5.0, 1.0]) and not pred([5.0, -1.0])
    assert as_predicate(None) is None
    fn = lambda r: True  # noqa: E731
    assert as_predicate(fn) is fn


def test_registration_conditions_use_the_parsed_plate():
    pred = as_predicate("age >= 50 and region == 'London'")
    assert pred("LA51ABC")  # London (Wimbledon), September 2001
    assert not pred("LA02ABC")  # March 2002
    assert not pred("AA51ABC")  # Anglia
    assert not pred("FO51ABC")  # never issued: no attributes at all
    assert as_predicate("year == 2001 and release == 'September'")("AB51CDE")
