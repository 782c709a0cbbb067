"""``synthgen sample --given``: parsing into given= conditions, and the command itself."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthgen.cli._given import parse_given
from synthgen.cli.app import app
from synthgen.errors import InvalidParameterError

runner = CliRunner()
ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def test_clauses_become_values_and_ranges():
    given, req = parse_given("sex=Female, age>=60, age<70, `hours-per-week` == 40, city='a,b'")
    assert req is None
    assert given["sex"] == "Female" and given["hours-per-week"] == 40
    assert given["age"] == (60.0, math.nextafter(70.0, -math.inf))
    assert given["city"] == "a,b"


def test_strict_bounds_exclude_the_value():
    given, _ = parse_given("x>1")
    assert given["x"][0] > 1 and given["x"][1] is None


def test_inexact_clauses_become_a_require_expression():
    given, req = parse_given("sex!=Male")
    assert given is None and req == "(sex != 'Male')"
    with pytest.raises(InvalidParameterError, match="cannot be sampled exactly"):
        parse_given("sex!=Male, age>=3")
    with pytest.raises(InvalidParameterError):
        parse_given("a=1, a=2")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    r = np.random.default_rng(0)
    df = pd.DataFrame({"a": r.normal(size=300), "k": r.choice(["u", "v", "w"], size=300),
                       "n": r.integers(0, 50, size=300)})
    path = tmp_path_factory.mktemp("d") / "t.csv"
    df.to_csv(path, index=False)
    return path


def test_sample_given_writes_rows_that_carry_it(table, tmp_path):
    out = tmp_path / "s.csv"
    res = invoke("sample", "--data", table, "--model", "gaussian", "--given", "k=v,n>=40",
                 "--n", 300, "--seed", 1, "-o", out)
    assert res.exit_code == 0, res.output
    assert "exact conditional normal" in res.stderr
    rows = pd.read_csv(out)
    assert len(rows) == 300 and (rows["k"] == "v").all() and (rows["n"] >= 40).all()


def test_sample_given_unknown_category_is_one_line_error(table):
    res = invoke("sample", "--data", table, "--model", "gaussian", "--given", "k=zzz", "--n", 5)
    assert res.exit_code == 2 and "'zzz'" in res.stderr and "'k'" in res.stderr
