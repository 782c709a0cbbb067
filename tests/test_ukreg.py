"""UkRegVectoriser: one-hot per position, exact round trips, strict decoding, generators."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax

import synthgen
from synthgen.errors import InvalidDataError, InvalidParameterError, NotFittedError
from synthgen.io import flatten_tree, unflatten_tree
from synthgen.registry import list_generators
from synthgen.vectorisers import auto_vectoriser
from synthgen.vectorisers import ukreg_rules as R
from synthgen.vectorisers.ukreg import UkRegVectoriser, looks_like_registrations

ON = dt.date(2026, 11, 22)
AGES = [f"{a:02d}" for a in R.valid_ages(ON)]

valid_marks = st.builds(
    lambda tag, age, letters: tag + age + letters,
    st.sampled_from(R.TAGS), st.sampled_from(AGES),
    st.text(st.sampled_from(R.RANDOM_LETTERS), min_size=3, max_size=3),
)


@pytest.fixture(scope="module")
def regs():
    return R.generate(400, seed=0, on=ON)


@pytest.fixture(scope="module")
def vec(regs):
    return UkRegVectoriser(on=ON).fit(regs)


def test_blocks_follow_the_positions(vec):
    assert [b.name for b in vec.blocks_] == [f"pos{i}" for i in range(1, 8)]
    assert all(b.kind == "categorical" for b in vec.blocks_)
    assert [b.width for b in vec.blocks_] == [19, 23, 6, 10, 24, 24, 24]
    assert vec.alphabets_[2] == "012567" and vec.alphabets_[3] == "0123456789"
    assert vec.n_features_out_ == 130 == len(vec.get_feature_names_out())
    assert vec.get_feature_names_out()[0] == "pos1_A"


def test_digit_alphabets_follow_the_fit_date():
    v = UkRegVectoriser(on="2001-10-01").fit(["AB51CDE"])
    assert v.alphabets_[2:4] == ["5", "1"]
    v = UkRegVectoriser(on="2003-03-01").fit(["AB51CDE"])
    assert v.alphabets_[2:4] == ["05", "123"]


def test_transform_is_one_hot_at_the_right_columns(vec, regs):
    X = vec.transform(regs)
    assert X.dtype == np.float32 and X.shape == (len(regs), 130)
    for blk in vec.blocks_:
        assert np.array_equal(X[:, blk.start:blk.stop].sum(axis=1), np.ones(len(regs)))
    names = vec.get_feature_names_out()
    for row, reg in zip(X[:20], regs[:20]):
        hot = [names[j] for j in np.flatnonzero(row)]
        assert hot == [f"pos{p + 1}_{c}" for p, c in enumerate(reg)]


@settings(max_examples=80, deadline=None)
@given(st.lists(valid_marks, min_size=1, max_size=30))
def test_round_trip_without_space(marks):
    v = UkRegVectoriser(on=ON).fit(marks)
    X = v.transform(marks)
    assert v.inverse_transform(X) == marks
    assert v.inverse_transform(X, strict=True) == marks
    assert v.recover(X) == marks


@settings(max_examples=40, deadline=None)
@given(st.lists(valid_marks, min_size=1, max_size=30))
def test_round_trip_with_space(marks):
    spaced = [m[:4] + " " + m[4:] for m in marks]
    v = UkRegVectoriser(on=ON).fit(spaced)
    assert v.inverse_transform(v.transform(spaced)) == spaced
    assert v.transform(marks).tolist() == v.transform(spaced).tolist()


def _brute_force_strict(vec, row):
    """Best valid mark by scoring every valid tag and age identifier one by one."""
    def col(p, c):
        return vec.blocks_[p].start + vec.alphabets_[p].index(c)

    best_tag = max(R.TAGS, key=lambda t: row[col(0, t[0])] + row[col(1, t[1])])
    best_age = max(AGES, key=lambda a: row[col(2, a[0])] + row[col(3, a[1])])
    letters = "".join(max(R.RANDOM_LETTERS, key=lambda c: row[col(p, c)]) for p in range(4, 7))
    return best_tag + best_age + letters


def test_strict_decoding_is_the_best_valid_mark(vec):
    Z = np.random.default_rng(1).normal(size=(25, vec.n_features_out_))
    assert vec.inverse_transform(Z, strict=True) == [_brute_force_strict(vec, z) for z in Z]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 10.0))
def test_strict_decoding_is_always_valid(seed, scale):
    v = UkRegVectoriser(on=ON, strict=True).fit(["AB51CDE"])
    Z = np.random.default_rng(seed).normal(scale=scale, size=(200, v.n_features_out_))
    assert R.valid_mask(v.inverse_transform(Z), ON).all()
    loose = v.inverse_transform(Z, strict=False)
    assert all(R.is_valid(m, ON) or len(m) == 7 for m in loose)


def test_loose_decoding_keeps_well_shaped_but_invalid_marks(vec):
    X = vec.transform(["FO27ABC"])
    assert vec.inverse_transform(X) == ["FO27ABC"]
    strict = vec.inverse_transform(X, strict=True)[0]
    assert R.is_valid(strict, ON) and strict[4:] == "ABC"


def test_decoding_reads_values_as_logits(vec):
    Z = np.random.default_rng(2).normal(size=(300, vec.n_features_out_))
    L = Z.copy()
    for blk in vec.blocks_:
        L[:, blk.start:blk.stop] = log_softmax(Z[:, blk.start:blk.stop], axis=1)
    for strict in (False, True):
        assert vec.inverse_transform(Z, strict=strict) == vec.inverse_transform(L, strict=strict)


def test_decoding_is_chunked_consistently(vec, monkeypatch):
    import synthgen.vectorisers.ukreg as mod

    Z = np.random.default_rng(3).normal(size=(50, vec.n_features_out_))
    whole = vec.inverse_transform(Z, strict=True)
    monkeypatch.setattr(mod, "DECODE_CHUNK", 7)
    assert vec.inverse_transform(Z, strict=True) == whole


@pytest.mark.parametrize("bad, message", [
    ("AB51CD", "'AB51CD' \\(row 1\\) has the wrong length"),
    ("AB51  CD", "' ' at position 5"),
    ("AB51CDEFG", "wrong length"),
    ("ab51cde", "'ab51cde' \\(row 1\\): 'a' at position 1"),
    ("AQ51CDE", "'AQ51CDE' \\(row 1\\): 'Q' at position 2"),
    ("AB41CDE", "'AB41CDE' \\(row 1\\): '4' at position 3"),
    ("AB51CDI", "'I' at position 7"),
    ("AB51CDÉ", "position 7"),
    (7, "registration 1 \\(7\\) is of type int"),
])
def test_transform_rejects_ill_shaped_marks(vec, bad, message):
    with pytest.raises(InvalidDataError, match=message):
        vec.transform(["AB51CDE", bad])


def test_bad_input_and_parameters(vec):
    with pytest.raises(InvalidDataError, match="empty"):
        UkRegVectoriser(on=ON).fit([])
    with pytest.raises(InvalidDataError, match="list, 1-D array or Series"):
        UkRegVectoriser(on=ON).fit("AB51CDE")
    with pytest.raises(InvalidParameterError, match="on must be"):
        UkRegVectoriser(on="yesterday").fit(["AB51CDE"])
    with pytest.raises(InvalidParameterError, match="strict must be True or False"):
        UkRegVectoriser(strict="yes", on=ON).fit(["AB51CDE"])
    with pytest.raises(InvalidParameterError, match="strict must be"):
        vec.inverse_transform(np.zeros((1, 130)), strict=1)
    with pytest.raises(InvalidDataError, match="130 columns"):
        vec.inverse_transform(np.zeros((2, 129)))
    with pytest.raises(InvalidDataError, match="row 1 .* NaN"):
        vec.inverse_transform(np.vstack([np.zeros(130), np.full(130, np.nan)]))
    with pytest.raises(NotFittedError):
        UkRegVectoriser().transform(["AB51CDE"])


def test_state_round_trip_through_json_and_arrays(vec, regs):
    import json

    arrays: dict = {}
    spec = json.loads(json.dumps(flatten_tree(vec.get_state(), "v", arrays)))
    again = UkRegVectoriser.from_state(unflatten_tree(spec, arrays))
    X = vec.transform(regs)
    assert again.on_ == ON and again.alphabets_ == vec.alphabets_
    assert np.array_equal(again.transform(regs), X)
    assert again.inverse_transform(X) == regs
    assert repr(again) == "UkRegVectoriser(strict=False, on='2026-11-22')"


def test_output_takes_the_form_of_the_input(regs):
    arr = np.array(regs)
    v = UkRegVectoriser(on=ON).fit(arr)
    out = v.inverse_transform(v.transform(arr))
    assert isinstance(out, np.ndarray) and out.tolist() == regs
    ser = pd.Series(regs, name="plate")
    v = UkRegVectoriser(on=ON).fit(ser)
    out = v.inverse_transform(v.transform(ser))
    assert isinstance(out, pd.Series) and out.name == "plate" and out.tolist() == regs


def test_looks_like_registrations(regs):
    assert looks_like_registrations(regs)
    assert looks_like_registrations([r[:4] + " " + r[4:] for r in regs])
    assert looks_like_registrations(R.generate(50, seed=1, on=R.LAST_DAY))
    assert looks_like_registrations(regs[:97] + ["hello", "world", "x"])
    assert not looks_like_registrations(regs[:90] + ["not a plate"] * 10)
    assert not looks_like_registrations(["hello", "world"])
    assert not looks_like_registrations([])
    assert not looks_like_registrations([r.lower() for r in regs])
    assert isinstance(auto_vectoriser(regs), UkRegVectoriser)


# The mixture joins as soon as it is part of the registry.
MODELS = [(name, kwargs) for name, kwargs in [("gaussian", {}), ("gmm", {"n_components": 2})]
          if name in list_generators()]


@pytest.mark.parametrize("name, kwargs", MODELS)
def test_generators_fit_and_sample_marks(name, kwargs, regs, tmp_path):
    gen = synthgen.make(name, **kwargs).fit(regs, seed=0)
    assert isinstance(gen.vectoriser_, UkRegVectoriser)
    out = gen.sample(100, seed=1)
    assert isinstance(out, list) and len(out) == 100
    assert all(isinstance(m, str) and len(m) == 7 for m in out)
    assert all(m[0] in R.REGION_LETTERS and m[4:].isalpha() for m in out)
    assert out == gen.sample(100, seed=1)
    gen.save(tmp_path / "plates.sgm")
    assert synthgen.load(tmp_path / "plates.sgm").sample(100, seed=1) == out


def test_strict_vectoriser_makes_only_valid_samples(regs):
    gen = synthgen.make("gaussian", vectoriser=UkRegVectoriser(on=ON, strict=True)).fit(regs, seed=0)
    assert R.valid_mask(gen.sample(500, seed=2), ON).all()
