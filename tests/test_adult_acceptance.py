"""Acceptance: a Gaussian mixture fitted on UCI Adult samples rows of the same shape and kind.

The same 15 columns and dtypes, only seen categories, integral integers within their observed
range, and gaps in workclass, occupation and native-country at the real rate (within one
percentage point).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen

from conftest import packaged_file

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]
N_SAMPLES = 10_000


@pytest.fixture(scope="module")
def adult():
    return pd.read_csv(packaged_file("adult"), header=None, names=COLUMNS,
                       skipinitialspace=True, na_values="?")


@pytest.fixture(scope="module")
def samples(adult):
    gen = synthgen.make("gmm", n_components=10).fit(adult, seed=0)
    return gen.sample(N_SAMPLES, seed=1)


def test_same_columns_and_dtypes(adult, samples):
    assert isinstance(samples, pd.DataFrame) and len(samples) == N_SAMPLES
    assert list(samples.columns) == COLUMNS
    assert list(samples.dtypes) == list(adult.dtypes)


def test_only_seen_categories(adult, samples):
    for col in adult.columns:
        if adult[col].dtype.kind not in "iuf":
            seen = set(adult[col].dropna())
            assert set(samples[col].dropna()) <= seen, col
            assert samples[col].nunique() > 1, col


def test_integer_columns_are_integral_and_within_range(adult, samples):
    for col in adult.select_dtypes("integer").columns:
        values = samples[col].to_numpy()
        assert np.issubdtype(values.dtype, np.integer), col
        assert values.min() >= adult[col].min() and values.max() <= adult[col].max(), col
    assert samples["age"].std() > 5  # not collapsed onto one value


@pytest.mark.parametrize("col", ["workclass", "occupation", "native-country"])
def test_gaps_at_the_real_rate(adult, samples, col):
    real = adult[col].isna().mean()
    assert real > 0.01
    assert abs(samples[col].isna().mean() - real) <= 0.01, (col, samples[col].isna().mean(), real)


def test_columns_without_gaps_get_none(adult, samples):
    for col in adult.columns:
        if not adult[col].isna().any():
            assert not samples[col].isna().any(), col
