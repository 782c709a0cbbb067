"""CreditCardVectoriser: the classic min-max recipe, quantile scaling, exact inverse, label block."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer

import synthgen
from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.io import flatten_tree, unflatten_tree
from synthgen.vectorisers import auto_vectoriser
from synthgen.vectorisers.creditcard import CreditCardVectoriser, looks_like_creditcard

from conftest import packaged_file

V = [f"V{i}" for i in range(1, 29)]


@pytest.fixture(scope="module")
def cards():
    return pd.read_csv(packaged_file("creditcard"), index_col=0)


def test_it_is_recognised_and_picked(cards):
    assert looks_like_creditcard(cards)
    assert looks_like_creditcard(cards.drop(columns=["Time", "Class"]))
    assert not looks_like_creditcard(cards.drop(columns=["V7"]))
    assert not looks_like_creditcard(cards.to_numpy())
    assert isinstance(auto_vectoriser(cards), CreditCardVectoriser)


def test_minmax_is_the_classic_recipe_and_its_inverse_is_exact(cards):
    vec = CreditCardVectoriser().fit(cards)
    X = vec.transform(cards)
    features = [c for c in cards.columns if c not in ("Time", "Class")]
    assert list(vec.get_feature_names_out()) == features + ["Class"]
    np.testing.assert_allclose(X[:, :-1], MinMaxScaler().fit_transform(cards[features]),
                               atol=1e-6)
    assert X[:, :-1].min() == 0.0 and X[:, :-1].max() == 1.0
    np.testing.assert_array_equal(X[:, -1], cards["Class"])
    assert [b.kind for b in vec.blocks_] == ["continuous"] * 29 + ["binary"]
    back = vec.inverse_transform(X)
    assert list(back.columns) == features + ["Class"]  # Time was dropped: samples have none
    assert list(back.dtypes) == list(cards[back.columns].dtypes) and back["Class"].dtype == np.int64
    span = (cards[features].max() - cards[features].min()).to_numpy()
    err = np.abs(back[features].to_numpy() - cards[features].to_numpy()).max(axis=0)
    assert (err <= 1e-6 * span).all()  # float32 precision of the matrix
    np.testing.assert_array_equal(back["Class"], cards["Class"])
    # in float64 the inverse is exact to rounding
    exact = vec._inverse(vec._transform(cards))
    np.testing.assert_allclose(exact[features], cards[features], rtol=1e-12, atol=1e-12)


def test_options_time_label_and_log_amount(cards):
    kept = CreditCardVectoriser(time="keep", label=None).fit(cards)
    assert list(kept.get_feature_names_out()) == [c for c in cards.columns if c != "Class"]
    assert all(b.kind == "continuous" for b in kept.blocks_)
    logged = CreditCardVectoriser(log_amount=True).fit(cards)
    j = list(logged.get_feature_names_out()).index("Amount")
    la = np.log1p(cards["Amount"].to_numpy())
    np.testing.assert_allclose(logged.transform(cards)[:, j], (la - la.min()) / np.ptp(la),
                               atol=1e-6)
    back = logged._inverse(logged._transform(cards))
    np.testing.assert_allclose(back["Amount"], cards["Amount"], rtol=1e-10, atol=1e-10)


def test_quantile_scaling_matches_scikit_learn_and_stays_in_range(cards):
    vec = CreditCardVectoriser(scaling="quantile").fit(cards)
    features = list(vec.get_feature_names_out())[:-1]
    ref = QuantileTransformer(n_quantiles=1000, output_distribution="normal", subsample=None)
    np.testing.assert_allclose(vec.transform(cards)[:, :-1], ref.fit_transform(cards[features]),
                               atol=1e-5)
    z = np.random.default_rng(0).normal(0.0, 3.0, size=(2000, len(features) + 1))
    out = vec.inverse_transform(z)
    np.testing.assert_allclose(out[features], ref.inverse_transform(z[:, :-1]), rtol=1e-6, atol=1e-6)
    assert (out[features] >= cards[features].min()).all().all()
    assert (out[features] <= cards[features].max()).all().all()
    assert set(out["Class"]) <= {0, 1}


def test_clip_only_when_asked(cards):
    free = CreditCardVectoriser().fit(cards)
    clipped = CreditCardVectoriser(clip=True).fit(cards)
    z = np.full((1, free.n_features_out_), 1.5)
    top = cards.drop(columns=["Time", "Class"]).max()
    span = top - cards.drop(columns=["Time", "Class"]).min()
    out_free, out_clip = free.inverse_transform(z), clipped.inverse_transform(z)
    np.testing.assert_allclose(out_free[top.index].iloc[0], top + 0.5 * span, rtol=1e-9)
    np.testing.assert_allclose(out_clip[top.index].iloc[0], top, rtol=1e-12)


def test_label_threshold(cards):
    p = cards["Class"].mean()
    expected = {"argmax": 0.5,
                "calibrated": p + np.sqrt(p * (1 - p)) * norm.ppf(1 - p)}
    for decoding, t in expected.items():
        vec = CreditCardVectoriser(decoding=decoding).fit(cards)
        z = np.zeros((4, vec.n_features_out_))
        z[:, -1] = [0.0, t - 1e-3, t + 1e-3, 1.0]
        assert vec.inverse_transform(z)["Class"].tolist() == [0, 0, 1, 1]


def test_state_is_json_and_arrays(cards):
    vec = CreditCardVectoriser(scaling="quantile", log_amount=True).fit(cards)
    arrays: dict = {}
    spec = json.loads(json.dumps(flatten_tree(vec.get_state(), "v", arrays)))
    back = CreditCardVectoriser.from_state(unflatten_tree(spec, arrays))
    assert back.get_config() == vec.get_config()
    X = vec.transform(cards)
    np.testing.assert_array_equal(back.transform(cards), X)
    pd.testing.assert_frame_equal(back.inverse_transform(X), vec.inverse_transform(X))


def test_bad_data_and_options_are_refused(cards):
    with pytest.raises(InvalidDataError, match="missing columns: V3, Amount"):
        CreditCardVectoriser().fit(cards.drop(columns=["V3", "Amount"]))
    gap = cards.copy()
    gap.loc[gap.index[4], "V2"] = np.nan
    with pytest.raises(InvalidDataError, match="column 'V2' has missing values"):
        CreditCardVectoriser().fit(gap)
    with pytest.raises(InvalidDataError, match="column 'note' is not numeric"):
        CreditCardVectoriser().fit(cards.assign(note="x"))
    with pytest.raises(InvalidDataError, match=r"label column 'Class' must hold 0 and 1; got \[2"):
        CreditCardVectoriser().fit(cards.assign(Class=cards["Class"] + 1))
    with pytest.raises(InvalidDataError, match="log_amount=True cannot take log1p"):
        CreditCardVectoriser(log_amount=True).fit(cards.assign(Amount=cards["Amount"] - 10))
    with pytest.raises(InvalidParameterError, match="scaling must be one of 'minmax'"):
        CreditCardVectoriser(scaling="robust").fit(cards)
    with pytest.raises(InvalidParameterError, match="time must be one of 'drop', 'keep'"):
        CreditCardVectoriser(time=True).fit(cards)
    vec = CreditCardVectoriser().fit(cards)
    with pytest.raises(InvalidDataError, match="missing columns: V28"):
        vec.transform(cards.drop(columns=["V28"]))


def test_a_generator_samples_card_rows(cards, tmp_path):
    gen = synthgen.make("gaussian").fit(cards, seed=0)
    out = gen.sample(3000, seed=1)
    assert "Time" not in out.columns and out["Class"].dtype == np.int64
    assert set(out["Class"]) <= {0, 1}
    assert abs(out["Class"].mean() - cards["Class"].mean()) < 0.03  # calibrated label threshold
    # the label is modelled jointly: sampled frauds carry the frauds' low V14, as real ones do
    real = cards.groupby("Class")["V14"].mean()
    fake = out.groupby("Class")["V14"].mean()
    assert real[1] < real[0] - 3 and fake[1] < fake[0] - 3
    gen.save(tmp_path / "cards.sgm")
    pd.testing.assert_frame_equal(synthgen.load(tmp_path / "cards.sgm").sample(40, seed=2),
                                  gen.sample(40, seed=2))
