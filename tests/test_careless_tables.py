"""Careless tables: identifier columns, high-cardinality categories, stray strings in numeric
columns, and date-times held as text.  None of them may blow up or pass silently."""

from __future__ import annotations

import json
import re
import tracemalloc
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen.cli.app import app
from synthgen.errors import InvalidDataError, SamplingError
from synthgen.io import flatten_tree, read_data, read_model_file, unflatten_tree, write_model_file
from synthgen.vectorisers._dtypes import parse_datetimes
from synthgen.vectorisers.table import TableVectoriser


def id_table(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """A table with one ID per row (strings, in no order), two numbers and a flag."""
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    return pd.DataFrame({"id": [f"C{i:07d}" for i in r.permutation(n)], "x": x,
                         "y": 2.0 * x + r.normal(size=n), "flag": r.random(n) < 0.3})


def no_warnings(fn, *args, **kwargs):
    """Call ``fn``, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def json_round_trip(vec):
    arrays: dict = {}
    spec = json.loads(json.dumps(flatten_tree(vec.get_state(), "v", arrays), sort_keys=True))
    assert all(a.dtype != object for a in arrays.values())
    return type(vec).from_state(unflatten_tree(spec, arrays))


# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------


def test_an_id_column_gets_no_features_and_memory_stays_small():
    df = id_table()
    tracemalloc.start()
    try:
        vec = no_warnings(TableVectoriser().fit, df)
        X = vec.transform(df)
        back = vec.inverse_transform(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert vec.kinds_["id"] == "identifier"
    assert vec.n_features_out_ == 3 and list(vec.get_feature_names_out()) == ["x", "y", "flag"]
    assert peak < 64 * 2**20  # a one-hot of the IDs alone would take 3.2 GB
    assert back["id"].is_unique and not back["id"].isin(df["id"]).any()
    assert back["id"].str.fullmatch(r"C\d{7}").all()
    pd.testing.assert_frame_equal(back.drop(columns="id"), df.drop(columns="id"), atol=1e-5)


@pytest.mark.parametrize("name,params", [("gaussian", {}), ("gmm", {"n_components": 2})])
def test_an_id_table_fits_and_samples_with_the_gaussian_models(name, params):
    df = id_table()
    gen = synthgen.make(name, **params).fit(df)
    out = gen.sample(5000, seed=1)
    assert list(out.columns) == list(df.columns) and list(out.dtypes) == list(df.dtypes)
    assert out["id"].is_unique and not out["id"].isin(df["id"]).any()
    assert out["id"].str.fullmatch(r"C\d{7}").all()
    assert abs(np.corrcoef(out["x"], out["y"])[0, 1] - np.corrcoef(df["x"], df["y"])[0, 1]) < 0.05
    pd.testing.assert_frame_equal(gen.sample(300, seed=7), gen.sample(300, seed=7))


def test_identifiers_are_a_function_of_the_row_and_distinct_within_a_call():
    df = id_table(2000, seed=3)
    r = np.random.default_rng(3)
    df["id"] = [uuid.UUID(bytes=r.bytes(16)).hex[:12] for _ in range(2000)]
    vec = TableVectoriser().fit(df)
    assert vec.kinds_["id"] == "identifier"
    Z = np.random.default_rng(4).normal(size=(3000, vec.n_features_out_))
    first = vec.inverse_transform(Z)["id"]
    again = pd.concat([vec.inverse_transform(Z[i:i + 701])["id"] for i in range(0, 3000, 701)])
    np.testing.assert_array_equal(again.to_numpy(), first.to_numpy())
    assert first.is_unique
    other = vec.inverse_transform(Z + 0.5)["id"]
    assert (other != first).mean() > 0.99  # other rows, other identifiers
    same_rows = vec.inverse_transform(np.zeros((500, vec.n_features_out_)))["id"]
    assert same_rows.is_unique and not same_rows.isin(df["id"]).any()
    # a shape with little room: the rows of one call still get distinct identifiers
    small = TableVectoriser().fit(id_table(2000, seed=3))
    ids = small.inverse_transform(Z[:, :small.n_features_out_])["id"]
    assert ids.is_unique and not ids.isin(id_table(2000, seed=3)["id"]).any()


def test_identifiers_keep_the_shape_of_their_values():
    r = np.random.default_rng(5)
    n = 400
    words = pd.Series(["".join(r.choice(list("abcdefghijklmnop"), r.integers(3, 9))).title()
                       for _ in range(3 * n)]).drop_duplicates().head(n).tolist()
    df = pd.DataFrame({
        "uuid": [str(uuid.UUID(bytes=r.bytes(16), version=4)) for _ in range(n)],
        "name": words,
        "code": [f"AB-{v:05d}" for v in r.choice(40_000, n, replace=False)],
        "v": r.normal(size=n),
    })
    vec = TableVectoriser().fit(df)
    assert [vec.kinds_[c] for c in ("uuid", "name", "code")] == ["identifier"] * 3
    out = vec.inverse_transform(r.normal(size=(2000, vec.n_features_out_)))
    hexd = "[0-9a-f]"
    assert out["uuid"].str.fullmatch(f"{hexd}{{8}}-{hexd}{{4}}-4{hexd}{{3}}-{hexd}{{4}}-"
                                     f"{hexd}{{12}}").all()
    assert out["name"].str.fullmatch(r"[A-Z][a-z]{2,7}").all()
    lengths = out["name"].str.len().value_counts(normalize=True)
    expected = pd.Series(words).str.len().value_counts(normalize=True)
    np.testing.assert_allclose(lengths.reindex(expected.index, fill_value=0), expected, atol=0.05)
    assert out["code"].str.fullmatch(r"AB-\d{5}").all()
    for c in ("uuid", "name", "code"):
        assert out[c].is_unique and not out[c].isin(df[c]).any(), c


def test_integer_identifiers_come_from_a_fresh_range():
    r = np.random.default_rng(6)
    n = 500
    df = pd.DataFrame({
        "customer_id": r.choice(10**9, n, replace=False),
        "OrderNo": pd.array(np.where(r.random(n) < 0.2, None, np.arange(n) + 7), dtype="Int64"),
        "cents": r.choice(10**6, n, replace=False),  # distinct, but a quantity
        "visits": r.integers(0, 50, n),
    })
    vec = no_warnings(TableVectoriser().fit, df)
    assert vec.kinds_ == {"customer_id": "identifier", "OrderNo": "identifier",
                          "cents": "integer", "visits": "integer"}
    assert list(vec.get_feature_names_out()) == ["OrderNo=<missing>", "cents", "visits"]
    out = vec.inverse_transform(vec.transform(df))
    assert list(out.dtypes) == list(df.dtypes)
    assert out["customer_id"].is_unique and (out["customer_id"] > df["customer_id"].max()).all()
    np.testing.assert_array_equal(out["OrderNo"].isna(), df["OrderNo"].isna())
    kept = out["OrderNo"].dropna()
    assert kept.is_unique and (kept > df["OrderNo"].max()).all()


def test_a_dense_unnamed_integer_column_is_an_identifier_with_a_warning():
    df = pd.DataFrame({"row": np.arange(100, 200), "v": np.linspace(0.0, 1.0, 100)})
    with pytest.warns(UserWarning, match=r"column 'row' holds a different integer in every row "
                                         r"\(100 to 199\).*kinds=\{'row': 'integer'\}"):
        vec = TableVectoriser().fit(df)
    assert vec.kinds_["row"] == "identifier"
    assert no_warnings(TableVectoriser(kinds={"row": "integer"}).fit, df).kinds_["row"] == "integer"


def test_columns_that_are_not_identifiers():
    r = np.random.default_rng(7)
    few = pd.DataFrame({"code": [f"k{i}" for i in range(29)], "row_id": np.arange(29)})
    assert no_warnings(TableVectoriser().fit, few).kinds_ == {"code": "categorical",
                                                              "row_id": "integer"}
    df = pd.DataFrame({
        "repeated": [f"r{i}" for i in range(36)] + ["r0"] * 4,    # 90% distinct
        "float": r.normal(size=40),                                # continuous, distinct anyway
        "ints": r.choice(10**6, 40, replace=False),                # distinct, sparse, unnamed
    })
    vec = no_warnings(TableVectoriser().fit, df)
    assert vec.kinds_ == {"repeated": "categorical", "float": "continuous", "ints": "integer"}
    full = pd.DataFrame({"two_digits": [f"{i:02d}" for i in range(100)]})
    with pytest.warns(UserWarning, match="column 'two_digits' has 100 categories"):
        vec = TableVectoriser().fit(full)  # every value of the shape is taken: no fresh ones
    assert vec.kinds_["two_digits"] == "categorical"


def test_identifier_kind_can_be_named_or_refused():
    df = pd.DataFrame({"code": ["a1", "b2", "a1", "c3"], "cat": pd.Categorical(list("xyxz")),
                       "f": [1.0, 2.0, np.nan, 4.0], "g": [1.5, 2.0, 3.0, 4.0]})
    vec = TableVectoriser(kinds={"code": "identifier", "f": "identifier"}).fit(df)
    assert vec.kinds_["code"] == "identifier" and vec.kinds_["f"] == "identifier"
    assert list(vec.get_feature_names_out()) == ["cat=x", "cat=y", "cat=z", "f=<missing>", "g"]
    out = vec.inverse_transform(np.zeros((6, vec.n_features_out_)))
    assert out["code"].str.fullmatch(r"[a-z]\d").all() and not out["code"].isin(df["code"]).any()
    assert out["f"].dtype == np.float64 and (out["f"] > 4).all()
    with pytest.raises(InvalidDataError, match=r"column 'cat' \(dtype category\) cannot be "
                                               r"identifier"):
        TableVectoriser(kinds={"cat": "identifier"}).fit(df)
    with pytest.raises(InvalidDataError, match="column 'g' cannot be an identifier: it holds "
                                               "numbers that are not integers, such as 1.5"):
        TableVectoriser(kinds={"g": "identifier"}).fit(df)
    with pytest.raises(InvalidDataError, match="column 'code' cannot be an identifier: its "
                                               "values leave no room"):
        TableVectoriser(kinds={"code": "identifier"}).fit(
            pd.DataFrame({"code": [str(i) for i in range(10)]}))


def test_a_call_beyond_an_identifiers_room_is_refused():
    codes = [f"{a}{d}" for a in "ABCD" for d in range(10)]  # 40 codes; 22 x 10 fresh ones
    vec = TableVectoriser().fit(pd.DataFrame({"code": codes, "v": np.arange(40.0) ** 0.5}))
    assert vec.kinds_["code"] == "identifier"
    fresh = vec.inverse_transform(np.random.default_rng(8).normal(size=(220, 1)))["code"]
    assert fresh.is_unique and not fresh.isin(codes).any()
    assert fresh.str.fullmatch(r"[E-Z]\d").all()
    with pytest.raises(SamplingError, match=r"column 'code' cannot give 221 rows distinct fresh "
                                            r"identifiers in one call \(221 rows drew length 2, "
                                            r"whose shape holds 220 fresh values\)"):
        vec.inverse_transform(np.zeros((221, 1)))
    small = TableVectoriser(kinds={"n": "identifier"})
    small.fit(pd.DataFrame({"n": np.arange(200, dtype="uint8")}))
    fresh = small.inverse_transform(np.zeros((56, 0)))["n"]
    assert fresh.dtype == np.uint8 and sorted(fresh) == list(range(200, 256))
    with pytest.raises(SamplingError, match=r"column 'n' cannot give 57 rows .*\(the fresh range "
                                            r"holds 56 values\)"):
        small.inverse_transform(np.zeros((57, 0)))


def test_identifiers_survive_a_model_file(tmp_path):
    df = id_table(3000, seed=9)
    df["customer_id"] = np.random.default_rng(9).choice(10**8, 3000, replace=False)
    vec = TableVectoriser().fit(df)
    Z = np.random.default_rng(10).normal(size=(400, vec.n_features_out_))
    write_model_file(tmp_path / "v.sgm", {"generator": "none"}, {"vectoriser": vec.get_state()})
    _, trees = read_model_file(tmp_path / "v.sgm")
    for back in (TableVectoriser.from_state(trees["vectoriser"]), json_round_trip(vec)):
        assert back.kinds_ == vec.kinds_
        pd.testing.assert_frame_equal(back.inverse_transform(Z), vec.inverse_transform(Z))
    gen = synthgen.make("gaussian").fit(df, seed=0)
    gen.save(tmp_path / "g.sgm")
    pd.testing.assert_frame_equal(synthgen.load(tmp_path / "g.sgm").sample(200, seed=2),
                                  gen.sample(200, seed=2))


# ---------------------------------------------------------------------------------------------
# High-cardinality categories
# ---------------------------------------------------------------------------------------------


def city_table(n: int = 6000, k: int = 1000, seed: int = 11) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, k + 1)
    cities = np.array([f"city{i:04d}" for i in range(k)])
    df = pd.DataFrame({"city": r.choice(cities, n, p=p / p.sum()), "v": r.normal(size=n)})
    df.loc[: k - 1, "city"] = cities  # every city at least once
    return df


def test_a_high_cardinality_column_is_capped_with_a_warning():
    df = city_table()
    with pytest.warns(UserWarning, match=r"column 'city' has 1000 categories, more than the "
                                         r"default max_categories=50.*the 49 most frequent.*"
                                         r"max_categories=None") as caught:
        vec = TableVectoriser().fit(df)
    assert len(caught) == 1
    city = next(b for b in vec.blocks_ if b.name == "city")
    assert vec.kinds_["city"] == "categorical" and city.width == 50
    names = list(vec.get_feature_names_out())
    assert names[city.stop - 1] == "city=<other>"
    top = [n.split("=", 1)[1] for n in names[city.start:city.stop - 1]]
    counts = df["city"].value_counts()
    assert counts[top].min() >= counts.drop(top).max()  # the most frequent are kept
    # <other> decodes to the pooled categories at their training frequencies, row by row
    X = np.random.default_rng(12).normal(size=(30_000, vec.n_features_out_))
    X[:, city.stop - 1] += 12.0
    out = vec.inverse_transform(X)["city"]
    pooled = df["city"][~df["city"].isin(top)]
    assert not out.isin(top).any()
    share = out.value_counts(normalize=True)
    expected = pooled.value_counts(normalize=True)
    np.testing.assert_allclose(share.reindex(expected.index[:20], fill_value=0),
                               expected.iloc[:20], atol=0.01)
    again = pd.concat([vec.inverse_transform(X[i:i + 999])["city"] for i in range(0, 30_000, 999)])
    np.testing.assert_array_equal(again.to_numpy(), out.to_numpy())
    back = json_round_trip(vec)
    np.testing.assert_array_equal(back.inverse_transform(X[:500])["city"], out[:500])


def test_the_cap_can_be_lifted_or_set():
    df = city_table(3000, 300)
    vec = no_warnings(TableVectoriser(max_categories=None).fit, df)
    assert vec.n_features_out_ == 301
    pd.testing.assert_frame_equal(vec.inverse_transform(vec.transform(df)), df, atol=1e-5)
    explicit = no_warnings(TableVectoriser(max_categories=10).fit, df)
    assert explicit.n_features_out_ == 11
    X = explicit.transform(df)
    kept = [n.split("=", 1)[1] for n in explicit.get_feature_names_out()[:9]]
    pooled = ~df["city"].isin(kept)
    mode = df["city"][pooled].value_counts().idxmax()
    assert (explicit.inverse_transform(X)["city"][pooled] == mode).all()  # explicit caps: mode
    freq = no_warnings(TableVectoriser(max_categories=10, decode_other="frequency").fit, df)
    assert freq.inverse_transform(X)["city"][pooled].nunique() > 50


def test_memory_does_not_grow_with_the_square_of_the_categories():
    r = np.random.default_rng(13)
    values = np.array([f"v{i}" for i in range(20_000)])
    df = pd.DataFrame({"k": np.concatenate([values, values]), "x": r.normal(size=40_000)})
    df["c"] = pd.Categorical(df["k"])
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vec = TableVectoriser().fit(df)
        vec.inverse_transform(vec.transform(df))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [str(w.message)[:34] for w in caught] == ["column 'k' has 20000 categories, m",
                                                     "column 'c' has 20000 categories, m"]
    assert vec.kinds_["k"] == vec.kinds_["c"] == "categorical"
    assert vec.n_features_out_ == 101
    assert peak < 160 * 2**20  # one 20,000-wide one-hot of 40,000 rows alone takes 6.4 GB


def test_states_saved_before_the_cap_still_load():
    df = city_table(2000, 80)
    vec = TableVectoriser(max_categories=None, decode_other="mode", min_frequency=20).fit(df)
    state = vec.get_state()
    state["fitted"]["columns"][0]["codec"].pop("decode_other")  # not kept by earlier versions
    back = TableVectoriser.from_state(state)
    X = vec.transform(df)
    pd.testing.assert_frame_equal(back.inverse_transform(X), vec.inverse_transform(X))
    assert back.get_config()["max_categories"] is None


def test_old_behaviour_for_an_id_column_when_asked_for():
    df = id_table(400, seed=14)
    vec = no_warnings(TableVectoriser(kinds={"id": "categorical"}, max_categories=None).fit, df)
    assert vec.kinds_["id"] == "categorical" and vec.n_features_out_ == 403
    pd.testing.assert_frame_equal(vec.inverse_transform(vec.transform(df)), df, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Numbers and date-times held as text
# ---------------------------------------------------------------------------------------------


def test_stray_strings_in_a_numeric_column_are_named():
    r = np.random.default_rng(15)
    v = [str(x) if i % 5 else "hello" for i, x in enumerate(r.integers(0, 160, 800))]
    df = pd.DataFrame({"v": v, "w": r.normal(size=800)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vec = TableVectoriser().fit(df)
    stray = [str(w.message) for w in caught if "mostly numbers" in str(w.message)]
    assert len(stray) == 1
    assert re.search(r"column 'v' is mostly numbers \(80\.0% of its values\) but also holds "
                     r"'hello' \(160 rows\)", stray[0])
    assert "pd.to_numeric(df['v'], errors='coerce')" in stray[0]
    assert "kinds={'v': 'categorical'}" in stray[0]
    assert vec.kinds_["v"] == "categorical"
    named = TableVectoriser(kinds={"v": "categorical"}, max_categories=None)
    assert no_warnings(named.fit, df).kinds_["v"] == "categorical"
    clean = df.assign(v=pd.to_numeric(df["v"], errors="coerce"))
    assert no_warnings(TableVectoriser().fit, clean).kinds_["v"] == "continuous"


def test_text_that_is_all_numbers_or_plain_categories_draws_no_warning():
    r = np.random.default_rng(16)
    df = pd.DataFrame({"zip": r.choice([f"{i:05d}" for i in range(30)], 300),
                       "colour": r.choice(["red", "green", "7"], 300)})
    assert no_warnings(TableVectoriser().fit, df).kinds_ == {"zip": "categorical",
                                                             "colour": "categorical"}


def test_date_times_held_as_text_in_a_frame_are_flagged_not_taken_for_identifiers():
    days = pd.date_range("2020-01-01", periods=60, freq="D")
    df = pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "v": np.arange(60.0) ** 0.5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vec = TableVectoriser().fit(df)
    first, cap = (str(w.message) for w in caught)
    assert re.match(r"column 'day' holds date-times as text, so it is modelled as a categorical "
                    r"column of 60 categories.*pd\.to_datetime\(df\['day'\], format='%Y-%m-%d'\)",
                    first)
    assert cap.startswith("column 'day' has 60 categories")
    assert vec.kinds_["day"] == "categorical"
    assert no_warnings(TableVectoriser().fit, parse_datetimes(df)).kinds_["day"] == "datetime"


# ---------------------------------------------------------------------------------------------
# Date-times in text files
# ---------------------------------------------------------------------------------------------


def date_frame(n: int = 40, seed: int = 17) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    days = pd.Timestamp("2021-03-01") + pd.to_timedelta(r.integers(0, 400, n), unit="D")
    stamps = days + pd.to_timedelta(r.integers(0, 86_400, n), unit="s")
    return pd.DataFrame({
        "day": days.strftime("%Y-%m-%d"),
        "stamp": stamps.strftime("%Y-%m-%dT%H:%M:%S"),
        "dmy": days.strftime("%d/%m/%Y"),
        "offset": stamps.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
        "precision": np.where(np.arange(n) % 2, stamps.strftime("%Y-%m-%d %H:%M:%S"),
                              stamps.strftime("%Y-%m-%d %H:%M:%S.250")),
        "gappy": np.where(np.arange(n) % 4 == 0, None, days.strftime("%Y-%m-%d")),
        "month": r.choice(["March", "April", "May"], n),
        "year_month": days.strftime("%Y-%m"),
        "one_bad": np.where(np.arange(n) == 3, "unknown", days.strftime("%Y-%m-%d")),
        "mixed_formats": np.where(np.arange(n) % 2, days.strftime("%Y-%m-%d"),
                                  days.strftime("%d/%m/%Y")),
        "amount": r.normal(size=n),
    })


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_read_data_parses_date_times_strictly(tmp_path, suffix):
    frame = date_frame()
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        path.write_text("".join(json.dumps(rec) + "\n" for rec in frame.to_dict("records")))
    back = read_data(path)
    parsed = {c for c in back.columns if pd.api.types.is_datetime64_any_dtype(back[c].dtype)}
    assert parsed == {"day", "stamp", "dmy", "offset", "precision", "gappy"}
    days = pd.to_datetime(frame["day"])
    pd.testing.assert_series_equal(back["day"], days, check_dtype=False)
    pd.testing.assert_series_equal(back["dmy"], days, check_dtype=False, check_names=False)
    assert str(back["offset"].dt.tz) == "UTC+01:00"
    assert (back["offset"].dt.tz_convert("UTC").dt.hour
            == (pd.to_datetime(frame["stamp"]).dt.hour - 1) % 24).all()
    assert (back["precision"].dt.microsecond == np.where(np.arange(40) % 2, 0, 250_000)).all()
    np.testing.assert_array_equal(back["gappy"].isna(), frame["gappy"].isna())
    assert back["amount"].dtype == np.float64
    for c in ("month", "year_month", "one_bad", "mixed_formats"):
        assert back[c].tolist() == frame[c].tolist(), c
    kept = read_data(path, parse_dates=False)
    assert not any(pd.api.types.is_datetime64_any_dtype(kept[c].dtype) for c in kept.columns)


def test_codes_numbers_and_words_are_never_dates():
    frame = pd.DataFrame({
        "code": ["20210301", "20210302", "20211231"],
        "year": ["2021", "2022", "2023"],
        "words": ["Mon", "Tue", "Wed"],
        "short": ["21-03-01", "21-03-02", "21-03-03"],
        "mixed": ["2021-03-01", 5, "2021-03-03"],
        "iso": ["2021-03-01", "2021-03-02", "2021-03-03"],
    })
    out = parse_datetimes(frame)
    assert [c for c in out.columns if out[c].dtype.kind == "M"] == ["iso"]
    assert not pd.api.types.is_datetime64_any_dtype(frame["iso"])  # the given frame is kept


def test_differing_utc_offsets_are_read_in_utc():
    frame = pd.DataFrame({"t": ["2021-03-01T10:00:00+01:00", "2021-07-01T10:00:00+02:00", None]})
    out = parse_datetimes(frame)["t"]
    assert str(out.dt.tz) == "UTC"
    assert out.dt.hour.tolist()[:2] == [9, 8] and out.isna().tolist() == [False, False, True]


def test_sampled_date_times_are_written_back_as_iso(tmp_path):
    r = np.random.default_rng(18)
    n = 300
    days = pd.Timestamp("2022-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D")
    stamps = days + pd.to_timedelta(r.integers(0, 86_400, n), unit="s")
    pd.DataFrame({"id": [f"U{i:06d}" for i in r.permutation(n)],
                  "day": days.strftime("%Y-%m-%d"), "stamp": stamps.strftime("%Y-%m-%dT%H:%M:%S"),
                  "x": r.normal(size=n)}).to_csv(tmp_path / "in.csv", index=False)
    result = CliRunner().invoke(app, ["sample", "--data", str(tmp_path / "in.csv"), "--model",
                                      "gaussian", "--n", "200", "--seed", "1", "-o",
                                      str(tmp_path / "out.csv"), "-q"],
                                env={"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"})
    assert result.exit_code == 0, result.output
    text = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert text["day"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert text["stamp"].str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}").all()
    assert text["id"].str.fullmatch(r"U\d{6}").all() and text["id"].is_unique
    back = read_data(tmp_path / "out.csv")
    assert back["day"].dtype.kind == "M" and back["stamp"].dtype.kind == "M"
    assert back["day"].between(days.min(), days.max()).all()
    assert back["day"].nunique() > 50
