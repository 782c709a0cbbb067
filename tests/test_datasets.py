"""Embedded data sets: the shipped files are the published ones, loaded with the right shape."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pandas as pd
import pytest

from synthgen import datasets
from synthgen.errors import InvalidParameterError

from conftest import packaged_file

#: sha256 of the published files (UCI's adult.data; the creditcard_sample.csv of the source
#: repository), as recorded in synthgen/datasets/data/PROVENANCE.md.
PUBLISHED_SHA256 = {
    "creditcard": "2942d1f71d326ef41f8092c4affdb9a8aee8982599d5345df3ecaea29c4ef377",
    "adult": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
}


@pytest.fixture(scope="module")
def adult():
    return datasets.load("adult")


@pytest.fixture(scope="module")
def creditcard():
    return datasets.load("creditcard")


def test_list_datasets_describes_every_name():
    table = datasets.list_datasets()
    assert list(table) == ["creditcard", "adult", "ukreg"]
    for info in table.values():
        assert {"rows", "columns", "kind", "description", "provenance", "licence"} <= set(info)
        assert info["licence"] and info["provenance"]
    assert (table["creditcard"]["rows"], table["creditcard"]["columns"]) == (1722, 31)
    assert (table["adult"]["rows"], table["adult"]["columns"]) == (32561, 15)
    assert table["ukreg"]["kind"] == "strings"
    assert datasets.DEFAULT == "creditcard"


def test_packaged_files_are_the_published_bytes():
    with datasets.data_path("creditcard").open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == PUBLISHED_SHA256["creditcard"]
    with datasets.data_path("adult").open("rb") as fh:
        assert hashlib.sha256(gzip.decompress(fh.read())).hexdigest() == PUBLISHED_SHA256["adult"]


def test_provenance_records_the_published_hashes():
    text = datasets.data_path("adult").parent.joinpath("PROVENANCE.md").read_text()
    for digest in PUBLISHED_SHA256.values():
        assert digest in text


def test_provenance_file_sits_beside_the_data():
    text = datasets.data_path("adult").parent.joinpath("PROVENANCE.md").read_text()
    for needle in ("CC BY 4.0", "Dal Pozzolo", "Database Contents License", "Becker"):
        assert needle in text


def test_creditcard_shape_columns_and_frauds(creditcard):
    assert creditcard.shape == (1722, 31)
    expected = ["Time"] + [f"V{i}" for i in range(1, 29)] + ["Amount", "Class"]
    assert list(creditcard.columns) == expected
    assert creditcard["Class"].dtype == np.int64
    assert int(creditcard["Class"].sum()) == 492
    assert int((creditcard["Class"] == 0).sum()) == 1230
    assert all(creditcard[c].dtype == np.float64 for c in expected[:-1])
    assert not creditcard.isna().any().any()
    assert creditcard.index.equals(pd.RangeIndex(1722))


def test_creditcard_matches_a_plain_pandas_read_of_the_file(creditcard):
    raw = pd.read_csv(packaged_file("creditcard"), index_col=0).reset_index(drop=True)
    pd.testing.assert_frame_equal(creditcard, raw)


def test_adult_shape_dtypes_and_gaps(adult):
    assert adult.shape == (32561, 15)
    assert list(adult.columns) == datasets.ADULT_COLUMNS
    numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    for col in numeric:
        assert adult[col].dtype == np.int64, col
    for col in set(adult.columns) - set(numeric):
        assert pd.api.types.is_string_dtype(adult[col].dtype), col
    gaps = adult.isna().sum()
    assert gaps.to_dict() == {c: {"workclass": 1836, "occupation": 1843,
                                  "native-country": 583}.get(c, 0) for c in adult.columns}
    assert adult["income"].value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}


def test_adult_values_have_no_padding_and_no_question_marks(adult):
    for col in ("workclass", "occupation", "native-country", "sex"):
        values = adult[col].dropna()
        assert not values.str.startswith(" ").any()
        assert not (values == "?").any()
    assert set(adult["sex"]) == {"Male", "Female"}


def test_adult_agrees_with_a_plain_read_of_the_file(adult):
    raw = pd.read_csv(packaged_file("adult"), header=None, names=datasets.ADULT_COLUMNS,
                      skipinitialspace=True, na_values="?")
    pd.testing.assert_frame_equal(adult, raw)


def test_ukreg_loads_generated_registrations():
    from synthgen.vectorisers import ukreg_rules

    plates = datasets.load("ukreg", n=50, seed=4, on="2024-06-01")
    assert plates == ukreg_rules.generate(50, seed=4, on="2024-06-01")
    assert len(plates) == 50 and all(isinstance(p, str) for p in plates)
    assert ukreg_rules.valid_mask(plates, on="2024-06-01").all()
    assert datasets.load("ukreg", n=50, seed=4, on="2024-06-01") == plates
    assert datasets.load("ukreg", n=50, seed=5, on="2024-06-01") != plates


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(InvalidParameterError) as info:
        datasets.load("iris")
    message = str(info.value)
    assert "'iris'" in message
    for name in ("creditcard", "adult", "ukreg"):
        assert name in message


def test_unexpected_arguments_are_errors():
    with pytest.raises(InvalidParameterError, match="takes no arguments"):
        datasets.load("adult", n=3)
    with pytest.raises(InvalidParameterError, match="takes n, seed and on"):
        datasets.load("ukreg", rows=3)


def test_default_load_is_creditcard(creditcard):
    pd.testing.assert_frame_equal(datasets.load(), creditcard)


def test_datasets_reachable_from_the_package():
    import synthgen

    assert synthgen.datasets.load is datasets.load
