"""TableVectoriser: exact round trips of dtypes and values, gaps, rare categories, scalings, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, QuantileTransformer, StandardScaler

import synthgen
from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.io import flatten_tree, read_model_file, unflatten_tree, write_model_file
from synthgen.vectorisers import auto_vectoriser
from synthgen.vectorisers.table import TableVectoriser

from conftest import packaged_file

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]


@pytest.fixture(scope="module")
def adult():
    return pd.read_csv(packaged_file("adult"), header=None, names=ADULT_COLUMNS,
                       skipinitialspace=True, na_values="?")


def mixed_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Every kind of column, with gaps, unused categories, time zones and a constant."""
    r = np.random.default_rng(seed)
    gaps = r.random(n) < 0.2
    days = pd.Timestamp("2021-03-01") + pd.to_timedelta(r.integers(0, 400, n), unit="D")
    df = pd.DataFrame({
        "f64": np.where(gaps, np.nan, r.normal(50.0, 10.0, n)),
        "f32": r.lognormal(0.0, 1.0, n).astype("float32"),
        "F64": pd.array(np.where(gaps, None, r.normal(size=n)), dtype="Float64"),
        "i64": r.integers(-5, 40, n),
        "u8": r.integers(0, 255, n).astype("uint8"),
        "I64": pd.array(np.where(gaps[::-1], None, r.integers(0, 9, n)), dtype="Int64"),
        "flag": r.random(n) < 0.3,
        "nflag": pd.array(np.where(gaps, None, r.random(n) < 0.5), dtype="boolean"),
        "text": pd.Series(np.where(gaps, None, r.choice(["red", "green", "blue"], n)), dtype="str"),
        "pdstr": pd.Series(r.choice(["x", "y"], n), dtype="string"),
        "obj": pd.Series(r.choice(["a", "b", "c"], n - 2).tolist() + [7, 7], dtype=object),
        "cat": pd.Categorical(r.choice(["lo", "mid", "hi"], n),
                              categories=["lo", "mid", "hi", "unused"], ordered=True),
        "day": days.as_unit("s"),
        "when_ns": pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 10**6, n), unit="s"),
        "when_tz": (days + pd.to_timedelta(r.integers(0, 86_400, n), unit="s"))
        .as_unit("us").tz_localize("Europe/Paris", nonexistent="shift_forward", ambiguous=False),
        "wait": pd.to_timedelta(r.integers(0, 5_000, n), unit="ms"),
        "const": "same",
        "one_cat": pd.Series(np.where(gaps, None, "only"), dtype="str"),
    })
    df.loc[gaps[::-1], "when_ns"] = pd.NaT
    return df


def assert_same_frame(back: pd.DataFrame, df: pd.DataFrame) -> None:
    """Same columns, dtypes, gaps, categories and values (floats to float32 precision)."""
    assert list(back.columns) == list(df.columns)
    assert list(back.dtypes) == list(df.dtypes)
    for c in df.columns:
        a, b = df[c], back[c]
        np.testing.assert_array_equal(b.isna().to_numpy(), a.isna().to_numpy(), err_msg=str(c))
        if pd.api.types.is_float_dtype(a.dtype):
            x = a.to_numpy(dtype=np.float64, na_value=np.nan)
            y = b.to_numpy(dtype=np.float64, na_value=np.nan)
            scale = np.nanmax(np.abs(x - np.nanmean(x))) if np.isfinite(x).any() else 0.0
            np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-6 * scale + 1e-30, err_msg=str(c))
        elif a.dtype.kind in "mM":  # float32 features: exact up to ~1e-6 of the column's range
            kept = a.notna().to_numpy()
            x, y = a[kept].array.asi8, b[kept].array.asi8
            span = int(x.max() - x.min()) if len(x) else 0
            assert np.abs(y - x).max(initial=0) <= 1e-6 * span, c
            assert b.dt.tz == a.dt.tz if a.dtype.kind == "M" else True
        else:
            kept = a.notna().to_numpy()
            assert a[kept].tolist() == b[kept].tolist(), c
            assert [type(v) for v in a[kept]] == [type(v) for v in b[kept]], c


def json_round_trip(vec):
    """Save the vectoriser's state as a model file would (JSON + arrays) and load it back."""
    arrays: dict = {}
    spec = json.loads(json.dumps(flatten_tree(vec.get_state(), "v", arrays), sort_keys=True))
    assert all(a.dtype != object for a in arrays.values())
    return type(vec).from_state(unflatten_tree(spec, arrays))


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_adult_round_trip_is_exact_and_blocks_tile_the_matrix(adult):
    vec = TableVectoriser().fit(adult)
    X = vec.transform(adult)
    assert X.dtype == np.float32
    pd.testing.assert_frame_equal(vec.inverse_transform(X), adult)
    assert vec.kinds_["age"] == "integer" and vec.kinds_["workclass"] == "categorical"
    stops = [b.start for b in vec.blocks_[1:]] + [X.shape[1]]
    assert [b.stop for b in vec.blocks_] == stops and vec.blocks_[0].start == 0
    widths = {b.name: b.width for b in vec.blocks_ if b.kind == "categorical"}
    assert widths["workclass"] == adult["workclass"].nunique() + 1  # + <missing>
    assert widths["income"] == 2
    names = vec.get_feature_names_out()
    assert len(names) == X.shape[1] and "native-country=<missing>" in names
    # one-hot rows sum to one; the <missing> slot is exactly the gaps
    wc = next(b for b in vec.blocks_ if b.name == "workclass")
    np.testing.assert_array_equal(X[:, wc.start:wc.stop].sum(axis=1), 1.0)
    np.testing.assert_array_equal(X[:, wc.stop - 1] == 1, adult["workclass"].isna())


def test_every_dtype_round_trips_and_survives_a_model_file(tmp_path):
    df = mixed_frame()
    df["a/b"] = df["i64"]  # a name that cannot be a key in a saved tree
    vec = TableVectoriser().fit(df)
    assert vec.kinds_ == {
        "f64": "continuous", "f32": "continuous", "F64": "continuous", "i64": "integer",
        "u8": "integer", "I64": "integer", "flag": "boolean", "nflag": "boolean",
        "text": "categorical", "pdstr": "categorical", "obj": "categorical",
        "cat": "categorical", "day": "datetime", "when_ns": "datetime", "when_tz": "datetime",
        "wait": "datetime", "const": "constant", "one_cat": "constant", "a/b": "integer",
    }
    X = vec.transform(df)
    assert_same_frame(vec.inverse_transform(X), df)
    write_model_file(tmp_path / "v.sgm", {"generator": "none"}, {"vectoriser": vec.get_state()})
    _, trees = read_model_file(tmp_path / "v.sgm")
    back = TableVectoriser.from_state(trees["vectoriser"])
    np.testing.assert_array_equal(back.transform(df), X)
    assert_same_frame(back.inverse_transform(X), df)
    assert back.dtypes_["cat"] == df["cat"].dtype  # same categories, same order, ordered


def test_int_column_labels_and_column_order_are_kept():
    df = pd.DataFrame({3: ["a", "b", "a"], 1: [1.5, 2.5, 0.5], 2: [1, 2, 3]})
    vec = TableVectoriser().fit(df)
    back = vec.inverse_transform(vec.transform(df))
    assert list(back.columns) == [3, 1, 2]
    assert_same_frame(back, df)


def test_one_row_frame_and_single_category_columns():
    df = pd.DataFrame({"a": [1.5], "b": ["x"], "c": [3], "when": pd.to_datetime(["2020-02-02"])})
    vec = TableVectoriser().fit(df)
    assert set(vec.kinds_.values()) == {"constant"}
    X = vec.transform(df)
    assert X.shape == (1, 0)
    back = vec.inverse_transform(np.zeros((4, 0)))
    assert len(back) == 4 and list(back.dtypes) == list(df.dtypes)
    assert (back["b"] == "x").all() and (back["when"] == df["when"][0]).all()
    forced = TableVectoriser(kinds={"b": "categorical"}).fit(df)
    assert forced.transform(df).tolist() == [[1.0]]
    assert forced.inverse_transform(np.array([[0.2]]))["b"].tolist() == ["x"]


# ---------------------------------------------------------------------------------------------
# Hypothesis: any frame round-trips; any matrix decodes to a valid frame
# ---------------------------------------------------------------------------------------------

TYPES = ["float64", "float32", "Float64", "int64", "uint8", "Int64", "bool", "boolean", "str",
         "string", "object", "category", "datetime_s", "datetime_ns", "datetime_us_tz",
         "timedelta"]
NULLABLE = {"float64", "Float64", "Int64", "boolean", "str", "string", "object", "category",
            "datetime_s", "datetime_ns", "datetime_us_tz", "timedelta"}
STEPS = {"datetime_s": "1D", "datetime_ns": "1s", "datetime_us_tz": "1us", "timedelta": "1ms"}


def _column(draw, kind: str, n: int) -> pd.Series:
    gaps = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) & (kind in NULLABLE)
    if kind in ("float64", "float32", "Float64"):
        lim = 1e4 if kind == "float32" else 1e6
        vals = draw(st.lists(st.floats(-lim, lim, width=32 if kind == "float32" else 64),
                             min_size=n, max_size=n))
        x = np.where(gaps, np.nan, np.asarray(vals, dtype=np.float64))
        return pd.Series(x.astype("float32") if kind == "float32" else x).astype(kind)
    if kind in ("int64", "uint8", "Int64"):
        base = 0 if kind == "uint8" else draw(st.integers(-10**12, 10**12))
        vals = np.asarray(draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))) + base
        return pd.Series(np.where(gaps, None, vals) if kind == "Int64" else vals).astype(kind)
    if kind in ("bool", "boolean"):
        vals = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=object)
        return pd.Series(np.where(gaps, None, vals)).astype(kind)
    if kind in ("str", "string", "object", "category"):
        pool = ["", "a", "Zoë", "b/c", "10"] + ([3, 4.5] if kind == "object" else [])
        vals = np.asarray(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype=object)
        vals[gaps] = None
        if kind == "category":
            return pd.Series(pd.Categorical(vals, categories=pool + ["never"],
                                            ordered=draw(st.booleans())))
        return pd.Series(vals, dtype=kind)
    k = np.asarray(draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)))
    if kind == "timedelta":
        values = pd.to_timedelta(k * pd.Timedelta(STEPS[kind]))
    else:
        start = pd.Timestamp(draw(st.integers(0, 2 * 10**9)), unit="s")
        values = pd.DatetimeIndex(start + k * pd.Timedelta(STEPS[kind]))
        values = values.as_unit({"datetime_s": "s", "datetime_ns": "ns"}.get(kind, "us"))
        if kind == "datetime_us_tz":
            values = values.tz_localize("UTC").tz_convert("America/New_York")
    series = pd.Series(values)
    series[gaps] = pd.NaT
    return series


@st.composite
def frames(draw):
    n = draw(st.integers(1, 20))
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=5))
    return pd.DataFrame({f"c{i}_{k}": _column(draw, k, n) for i, k in enumerate(kinds)})


HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(df=frames())
def test_any_frame_round_trips(df):
    vec = TableVectoriser().fit(df)
    assert_same_frame(vec.inverse_transform(vec.transform(df)), df)
    assert_same_frame(json_round_trip(vec).inverse_transform(vec.transform(df)), df)


@HYPO
@given(df=frames(), seed=st.integers(0, 2**32 - 1))
def test_any_matrix_decodes_to_a_valid_frame(df, seed):
    vec = TableVectoriser().fit(df)
    X = np.random.default_rng(seed).normal(0.0, 2.0, size=(30, vec.n_features_out_))
    out = vec.inverse_transform(X)
    assert list(out.columns) == list(df.columns) and list(out.dtypes) == list(df.dtypes)
    for c in df.columns:
        seen, got = df[c].dropna(), out[c].dropna()
        if not df[c].isna().any():
            assert not out[c].isna().any(), c
        if len(seen) == 0:
            assert len(got) == 0
            continue
        kind = vec.kinds_[c]
        if kind in ("categorical", "boolean", "constant"):
            assert set(got.tolist()) <= set(seen.tolist()), c
        elif kind in ("integer", "datetime"):
            assert (got >= seen.min()).all() and (got <= seen.max()).all(), c


# ---------------------------------------------------------------------------------------------
# Gaps
# ---------------------------------------------------------------------------------------------


def test_missing_indicators_are_exposed_and_decoded_at_their_threshold():
    df = mixed_frame(40, seed=3)[["f64", "nflag", "I64", "when_ns", "text"]]
    for decoding in ("argmax", "calibrated"):
        vec = TableVectoriser(decoding=decoding).fit(df)
        X = vec.transform(df)
        names = list(vec.get_feature_names_out())
        for c in ("f64", "nflag", "I64", "when_ns"):
            j = names.index(f"{c}=<missing>")
            assert next(b for b in vec.blocks_ if b.start == j).kind == "binary"
            np.testing.assert_array_equal(X[:, j], df[c].isna().to_numpy())
        assert "text=<missing>" in names  # a gap in a categorical column is its own slot
        assert [b.kind for b in vec.blocks_ if b.name == "text"] == ["categorical"]
        # the imputed value sits at the column's mean (0 after standardisation)
        assert np.allclose(X[df["f64"].isna().to_numpy(), names.index("f64")], 0.0, atol=1e-6)
        rate = df["f64"].isna().mean()
        t = 0.5 if decoding == "argmax" else rate + np.sqrt(rate * (1 - rate)) * norm.ppf(1 - rate)
        assert 0.05 <= t <= 0.95
        j = names.index("f64=<missing>")
        flipped = X.copy()
        flipped[:, j] = np.where(X[:, j] >= 0.5, t - 1e-3, t + 1e-3)
        back = vec.inverse_transform(flipped)
        np.testing.assert_array_equal(back["f64"].isna(), df["f64"].notna())


def test_calibrated_decoding_gives_back_frequencies_under_a_gaussian_model():
    r = np.random.default_rng(9)
    n = 4000
    df = pd.DataFrame({
        "k": r.choice(list("abcde"), n, p=[0.6, 0.25, 0.1, 0.04, 0.01]),
        "x": np.where(r.random(n) < 0.03, np.nan, r.normal(size=n)),
        "flag": r.random(n) < 0.08,
    })
    df.loc[r.random(n) < 0.05, "k"] = None
    real = {"k": df["k"].value_counts(normalize=True, dropna=False),
            "x": df["x"].isna().mean(), "flag": df["flag"].mean()}
    errors = {}
    for decoding in ("argmax", "calibrated"):
        vec = TableVectoriser(decoding=decoding).fit(df)
        X = vec.transform(df).astype(np.float64)
        draws = np.random.default_rng(10).multivariate_normal(X.mean(0), np.cov(X.T), 40_000)
        out = vec.inverse_transform(draws)
        got = out["k"].value_counts(normalize=True, dropna=False)
        errors[decoding] = max(
            np.abs(got.reindex(real["k"].index, fill_value=0) - real["k"]).max(),
            abs(out["x"].isna().mean() - real["x"]), abs(out["flag"].mean() - real["flag"]))
        # exact rows decode to themselves either way
        pd.testing.assert_frame_equal(vec.inverse_transform(X), df)
    assert errors["calibrated"] < 0.01 < errors["argmax"]


def test_new_gaps_at_transform_are_refused():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": ["a", "b", "a"]})
    vec = TableVectoriser().fit(df)
    with pytest.raises(InvalidDataError, match="column 'x' has missing values"):
        vec.transform(df.assign(x=[1.0, np.nan, 2.0]))
    with pytest.raises(InvalidDataError, match="column 'k' has categories not seen"):
        vec.transform(df.assign(k=["a", None, "b"]))


# ---------------------------------------------------------------------------------------------
# Categories: unseen, pooled
# ---------------------------------------------------------------------------------------------


def test_unseen_categories_and_missing_columns():
    df = pd.DataFrame({"colour": ["red", "blue", "red"], "n": [1, 2, 3]})
    vec = TableVectoriser().fit(df)
    with pytest.raises(InvalidDataError, match=r"column 'colour' has categories not seen.*'green'"):
        vec.transform(df.assign(colour=["red", "green", "green"]))
    with pytest.raises(InvalidDataError, match="missing columns: 'n'"):
        vec.transform(df[["colour"]])
    loose = TableVectoriser(handle_unknown="ignore").fit(df)
    X = loose.transform(df.assign(colour=["red", "green", "blue"]))
    np.testing.assert_array_equal(X[:, :2], [[0, 1], [0, 0], [1, 0]])
    # extra columns are ignored, order of the given frame does not matter
    np.testing.assert_array_equal(vec.transform(df[["n", "colour"]].assign(z=1)), vec.transform(df))


@pytest.mark.parametrize("min_frequency,max_categories", [(5, None), (0.08, None), (None, 3),
                                                          (3, 4), (None, 2)])
def test_pooling_matches_scikit_learn(min_frequency, max_categories):
    r = np.random.default_rng(1)
    values = r.choice(list("abcdefg"), size=200, p=[0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.02])
    df = pd.DataFrame({"k": values})
    ref = OneHotEncoder(min_frequency=min_frequency, max_categories=max_categories,
                        sparse_output=False).fit(df)
    vec = TableVectoriser(min_frequency=min_frequency, max_categories=max_categories).fit(df)
    pooled = set(ref.infrequent_categories_[0] if ref.infrequent_categories_[0] is not None else [])
    kept = [n.split("=", 1)[1] for n in vec.get_feature_names_out() if n != "k=<other>"]
    assert set(kept) == set("abcdefg") - pooled
    assert ("k=<other>" in vec.get_feature_names_out()) == bool(pooled)
    assert vec.n_features_out_ == ref.transform(df).shape[1]
    X = vec.transform(df)
    np.testing.assert_array_equal(X.sum(axis=1), 1.0)
    if pooled:  # <other> decodes to the most frequent pooled category
        mode = df["k"][df["k"].isin(pooled)].value_counts().idxmax()
        back = vec.inverse_transform(X)
        assert (back["k"][df["k"].isin(pooled)] == mode).all()
        assert (back["k"][~df["k"].isin(pooled)] == df["k"][~df["k"].isin(pooled)]).all()


def test_other_decoded_by_frequency_is_deterministic_per_row():
    r = np.random.default_rng(2)
    df = pd.DataFrame({"k": r.choice(list("abcde"), 3000, p=[0.7, 0.12, 0.09, 0.06, 0.03]),
                       "x": r.normal(size=3000)})
    vec = TableVectoriser(max_categories=2, decode_other="frequency").fit(df)
    X = np.random.default_rng(3).normal(size=(20000, vec.n_features_out_))
    X[:, 1] += 12.0  # the <other> slot wins the argmax
    out = vec.inverse_transform(X)["k"]
    share = out.value_counts(normalize=True)
    expected = df["k"][df["k"] != "a"].value_counts(normalize=True)
    assert set(share.index) == set(expected.index)
    np.testing.assert_allclose(share[expected.index], expected, atol=0.02)
    again = pd.concat([vec.inverse_transform(X[i:i + 777])["k"] for i in range(0, len(X), 777)])
    np.testing.assert_array_equal(again.to_numpy(), out.to_numpy())


# ---------------------------------------------------------------------------------------------
# Scalings, integers and date-times
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,ref", [("standard", StandardScaler()), ("minmax", MinMaxScaler()),
                                        ("quantile", QuantileTransformer(
                                            n_quantiles=1000, output_distribution="normal",
                                            subsample=None))])
def test_scalings_match_scikit_learn(method, ref):
    r = np.random.default_rng(4)
    amount = np.round(np.concatenate([r.lognormal(3.0, 1.5, 2500), np.zeros(500)]), 2)
    df = pd.DataFrame({"amount": amount})
    # the scaling alone (round_floats would round the cents back: its own test below)
    vec = TableVectoriser(continuous=method, round_floats=False).fit(df)
    expected = ref.fit_transform(df[["amount"]])[:, 0]
    np.testing.assert_allclose(vec.transform(df)[:, 0], expected, rtol=1e-5, atol=1e-5)
    z = r.normal(0.0, 1.5, size=(4000, 1))
    back = vec.inverse_transform(z)["amount"].to_numpy()
    np.testing.assert_allclose(back, ref.inverse_transform(z)[:, 0], rtol=1e-6, atol=1e-6)


def test_quantile_inverse_is_accurate_and_stays_in_range():
    r = np.random.default_rng(5)
    df = pd.DataFrame({"amount": r.pareto(1.5, 5000) * 10.0, "n": r.poisson(3.0, 5000)})
    vec = TableVectoriser(continuous="standard", scalers={"amount": "quantile"}).fit(df)
    X = vec.transform(df)
    assert abs(X[:, 0].mean()) < 0.05 and abs(X[:, 0].std() - 1.0) < 0.05  # a bell, not a spike
    back = vec.inverse_transform(X)
    rel = np.abs(back["amount"] - df["amount"]) / df["amount"].abs().clip(lower=1.0)
    assert rel.max() < 1e-4
    far = vec.inverse_transform(np.array([[40.0, 0.0], [-40.0, 0.0]]))["amount"]
    assert far.tolist() == [df["amount"].max(), df["amount"].min()]


def test_integers_are_rounded_and_kept_in_range_and_datetimes_keep_their_resolution():
    df = pd.DataFrame({
        "n": np.array([3, 7, 9, 12], dtype="int32"),
        "day": pd.to_datetime(["2020-01-01", "2020-01-05", "2020-03-01", "2020-02-10"]),
        "tick": pd.to_datetime(["2020-01-01 10:00:00", "2020-01-01 10:00:30",
                                "2020-01-01 10:01:00", "2020-01-01 11:00:00"]).tz_localize("UTC"),
    })
    vec = TableVectoriser().fit(df)
    out = vec.inverse_transform(np.random.default_rng(6).normal(0, 3, size=(500, 3)))
    assert out["n"].dtype == np.int32 and out["n"].between(3, 12).all()
    assert out["n"].nunique() > 4  # integers in between are sampled too
    assert (out["day"] == out["day"].dt.normalize()).all()
    assert out["day"].between(df["day"].min(), df["day"].max()).all()
    assert (out["tick"].dt.microsecond == 0).all() and out["tick"].dt.tz is not None


# ---------------------------------------------------------------------------------------------
# Kinds, options and errors
# ---------------------------------------------------------------------------------------------


def test_kinds_can_be_named():
    df = pd.DataFrame({"grade": [1, 2, 3, 2, 1], "answer": ["yes", "no", "yes", "yes", "no"],
                       "score": [1.0, 2.0, 2.0, 3.0, 5.0]})
    vec = TableVectoriser(kinds={"grade": "categorical", "answer": "boolean", "score": "integer"})
    vec.fit(df)
    assert [b.kind for b in vec.blocks_] == ["categorical", "binary", "continuous"]
    assert vec.blocks_[0].width == 3
    back = vec.inverse_transform(vec.transform(df))
    assert_same_frame(back, df)
    out = vec.inverse_transform(np.array([[0.1, 0.9, 0.2, 0.7, -0.3]]))  # 2.6 - 0.3 * 1.36
    assert out.iloc[0].tolist() == [2, "yes", 2.0]


@pytest.mark.parametrize("kwargs,match", [
    ({"continuous": "log"}, "continuous must be one of 'standard', 'minmax', 'quantile'; got 'log'"),
    ({"min_frequency": 0}, "min_frequency must be"),
    ({"max_categories": 1}, "max_categories must be"),
    ({"handle_unknown": "skip"}, "handle_unknown must be one of"),
    ({"kinds": {"nope": "integer"}}, "kinds names column 'nope', which is not in the data"),
    ({"kinds": {"a": "text"}}, r"kinds\['a'\] must be one of 'continuous'"),
    ({"scalers": {"a": "robust"}}, r"scalers\['a'\] must be one of"),
    ({"kinds": ["a"]}, "kinds must be a dict of column -> value"),
])
def test_bad_options_are_refused(kwargs, match):
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(InvalidParameterError, match=match):
        TableVectoriser(**kwargs).fit(df)


def test_bad_data_is_refused():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(InvalidDataError, match="column 'b' .* cannot be continuous"):
        TableVectoriser(kinds={"b": "continuous"}).fit(df)
    with pytest.raises(InvalidDataError, match="column 'b' cannot be boolean: it has 3 distinct"):
        TableVectoriser(kinds={"b": "boolean"}).fit(df)
    with pytest.raises(InvalidDataError, match="takes a pandas DataFrame; got ndarray"):
        TableVectoriser().fit(np.zeros((3, 2)))
    with pytest.raises(InvalidDataError, match="empty"):
        TableVectoriser().fit(df.iloc[:0])
    with pytest.raises(InvalidDataError, match="duplicate column names"):
        TableVectoriser().fit(pd.concat([df, df], axis=1))
    with pytest.raises(InvalidDataError, match="column 'p' has dtype period"):
        TableVectoriser().fit(df.assign(p=pd.period_range("2020-01", periods=3, freq="M")))
    with pytest.raises(InvalidDataError, match="column 'o' holds a value of type tuple"):
        TableVectoriser().fit(df.assign(o=pd.Series([(1, 2), (3, 4), (1, 2)], dtype=object)))
    vec = TableVectoriser().fit(df)
    with pytest.raises(InvalidDataError, match="column 'a' must hold numbers"):
        vec.transform(df.assign(a=["1", "two", "3"]))
    with pytest.raises(InvalidDataError, match="expected a matrix with 4 columns"):
        vec.inverse_transform(np.zeros((2, 3)))


# ---------------------------------------------------------------------------------------------
# With a generator
# ---------------------------------------------------------------------------------------------


def test_generators_pick_it_and_give_back_the_same_kind_of_frame(tmp_path):
    df = mixed_frame(300, seed=8)
    assert isinstance(auto_vectoriser(df), TableVectoriser)
    gen = synthgen.make("gaussian").fit(df, seed=0)
    out = gen.sample(500, seed=1)
    assert list(out.columns) == list(df.columns) and list(out.dtypes) == list(df.dtypes)
    for c in ("text", "obj", "cat", "pdstr"):
        assert set(out[c].dropna()) <= set(df[c].dropna()), c
    assert (out["const"] == "same").all()
    assert out["i64"].between(df["i64"].min(), df["i64"].max()).all()
    assert 0.05 < out["f64"].isna().mean() < 0.4
    gen.save(tmp_path / "m.sgm")
    pd.testing.assert_frame_equal(synthgen.load(tmp_path / "m.sgm").sample(50, seed=2),
                                  gen.sample(50, seed=2))


def test_float_columns_come_back_at_their_decimals():
    from synthgen.vectorisers.table import TableVectoriser

    r = np.random.default_rng(0)
    frame = pd.DataFrame({
        "rate": r.choice([0.0, 0.01, 0.25, 1.0], size=500),  # 2 decimals
        "amount": np.round(r.lognormal(3, 1, 500), 2),          # cents
        "measure": r.normal(size=500),                           # full precision
    })
    vec = TableVectoriser().fit(frame)
    Z = vec.transform(frame).astype(np.float32)  # a model's float32 rows of the training values
    back = vec.inverse_transform(Z)
    # float32 puts 0.0 at about 1e-9; rounded to the column's 2 decimals it is 0.0 again
    assert (back["rate"].to_numpy() == frame["rate"].to_numpy()).all()
    assert (back["amount"].to_numpy() == frame["amount"].to_numpy()).all()
    assert np.abs(back["measure"] - frame["measure"]).max() < 1e-5
    assert not (back["measure"].to_numpy() == np.round(back["measure"].to_numpy(), 6)).all()
    plain = TableVectoriser(round_floats=False).fit(frame).inverse_transform(Z)
    assert (plain["rate"].to_numpy() != frame["rate"].to_numpy()).any()
    # the decimals travel with the vectoriser's state (model files), old states have none
    state = vec.get_state()
    again = type(vec).from_state(json.loads(json.dumps(state)))
    pd.testing.assert_frame_equal(again.inverse_transform(Z), back)
