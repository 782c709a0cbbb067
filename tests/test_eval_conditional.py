"""The conditional check of synthgen.evaluate: scores on the real rows meeting the condition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen.errors import InvalidDataError
from synthgen.evaluation.conditional import conditional_fidelity, meets


@pytest.fixture(scope="module")
def real():
    r = np.random.default_rng(0)
    age = r.integers(18, 90, size=600)
    sex = r.choice(["F", "M"], size=600)
    hours = 40 + (age > 60) * -10 + r.normal(scale=5, size=600)
    return pd.DataFrame({"age": age, "sex": sex, "hours": hours})


def test_meets_by_hand(real):
    ok = meets(real, {"sex": "F", "age": (60, None)})
    np.testing.assert_array_equal(ok, ((real["sex"] == "F") & (real["age"] >= 60)).to_numpy())
    with pytest.raises(InvalidDataError, match="'height'"):
        meets(real, {"height": 1})


def test_the_real_subset_scores_as_itself(real):
    given = {"sex": "F", "age": (60, None)}
    subset = real[meets(real, given)]
    res = conditional_fidelity(real, subset, given)
    assert res["n_real_rows"] == len(subset) and res["share_carrying"] == 1.0
    assert res["column_shapes"] == pytest.approx(1.0)
    # unconditioned rows carry the condition less often and score worse on the subset
    other = conditional_fidelity(real, real.sample(300, random_state=1), given)
    assert other["share_carrying"] < 0.5 and other["column_shapes"] < res["column_shapes"]


def test_evaluate_reports_the_conditional_check(real):
    given = {"sex": "M"}
    rep = synthgen.evaluate(real, real[real["sex"] == "M"], given=given)
    cond = rep.to_dict()["conditional"]
    assert cond["share_carrying"] == 1.0 and cond["n_real_rows"] == int((real["sex"] == "M").sum())


def test_no_real_row_meets_it(real):
    res = conditional_fidelity(real, real.head(5), {"age": (200, None)})
    assert res["n_real_rows"] == 0 and np.isnan(res["score"]) and "too few" in res["note"]
