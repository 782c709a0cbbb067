"""Privacy metrics: chunked k-nearest search against brute force, exact copies by hashing,
leave-one-out baseline, and memory that stays bounded on 20,000 x 20,000 rows."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from synthgen.errors import InvalidDataError
from synthgen.evaluation._tables import Encoder, align, row_hashes
from synthgen.evaluation.privacy import nearest_k, nndr, privacy
from synthgen.sampling.nearest import RecordIndex


@pytest.fixture(scope="module")
def points():
    r = np.random.default_rng(4)
    records = r.normal(size=(1500, 6))
    queries = np.concatenate([r.normal(size=(300, 6)), records[:40]])  # 40 exact copies
    return records, queries


@pytest.mark.parametrize("k, query_chunk, record_chunk", [(2, 64, 256), (3, 1024, 4096), (2, 100, 700)])
def test_nearest_k_matches_brute_force(points, k, query_chunk, record_chunk):
    records, queries = points
    D = cdist(queries, records)
    got = nearest_k(records, queries, k, query_chunk=query_chunk, record_chunk=record_chunk)
    np.testing.assert_allclose(got.distance, np.sort(D, axis=1)[:, :k], atol=1e-12)
    np.testing.assert_array_equal(got.index[:, 0], D.argmin(axis=1))
    assert (got.distance[-40:, 0] == 0.0).all()  # exact copies read exactly 0 (recomputed in float64)


def test_nearest_k_reuses_an_index_and_checks_its_input(points):
    records, queries = points
    index = RecordIndex(records, record_chunk=512)
    a = nearest_k(records, queries, 2, index=index)
    b = nearest_k(records, queries, 2)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_allclose(index.query(queries).distance, a.distance[:, 0], atol=5e-3)
    with pytest.raises(InvalidDataError, match="3 nearest"):
        nearest_k(records[:2], queries, 3)
    with pytest.raises(InvalidDataError, match="6 columns"):
        nearest_k(records, queries[:, :4], 2)


def test_nndr_by_hand():
    d = np.array([[0.5, 0.5], [0.0, 1.0], [0.0, 0.0], [1.0, 4.0]])
    np.testing.assert_allclose(nndr(d), [1.0, 0.0, 0.0, 0.25])


def _table(r, n):
    return pd.DataFrame({
        "x": r.normal(size=n).round(3),
        "n": r.integers(0, 100, n),
        "c": pd.Series(r.choice(["a", "b", "c"], n)).where(r.random(n) > 0.1),
    })


def test_exact_copies_are_found_by_value_not_by_distance():
    r = np.random.default_rng(8)
    train = _table(r, 400)
    copies = train.iloc[:30].copy()
    near = train.iloc[30:60].copy()
    near["x"] = near["x"] + 1e-9  # a hair away: not a copy, though its distance is ~0
    fresh = _table(r, 40)
    synth = pd.concat([copies, near, fresh], ignore_index=True)
    t = align(train, synth)
    h_train, h_syn = row_hashes(t.real, t.kinds), row_hashes(t.synthetic, t.kinds)
    assert np.isin(h_syn[:30], h_train).all()  # gaps equal gaps
    assert not np.isin(h_syn[30:60], h_train).any()
    summary, dist = privacy(t.real, t.synthetic, None, t.kinds)
    expected = np.isin(h_syn, h_train).mean()
    assert summary["exact_copies"]["synthetic"] == pytest.approx(expected)
    assert summary["exact_copies"]["n_synthetic"] >= 30
    assert (dist["dcr_synthetic"][:30] == 0).all() and (dist["dcr_synthetic"][30:60] < 1e-6).all()


def test_the_same_values_in_other_dtypes_hash_alike():
    a = pd.DataFrame({"x": [1.0, -0.0, np.nan, np.nan],
                      "i": pd.array([1, 2, None, 4], dtype="Int64"), "c": ["u", None, "w", "w"]})
    b = pd.DataFrame({"x": np.array([1.0, 0.0, -np.float64("nan"), 0.0]),  # a NaN with its sign bit set
                      "i": [1.0, 2.0, np.nan, 4.0], "c": pd.Categorical(["u", None, "w", "w"])})
    t = align(a, b)
    h_a, h_b = row_hashes(t.real, t.kinds), row_hashes(t.synthetic, t.kinds)
    np.testing.assert_array_equal(h_a == h_b, [True, True, True, False])  # a gap is not a 0


def test_baselines_match_brute_force():
    r = np.random.default_rng(12)
    train, synth, hold = _table(r, 300), _table(r, 200), _table(r, 150)
    train = pd.concat([train, train.iloc[:5]], ignore_index=True)  # duplicated real rows
    t = align(train, synth, hold)
    enc = Encoder(t.kinds).fit(t.real, [t.synthetic, t.holdout])
    Xt, Xs, Xh = (enc.transform(f) for f in (t.real, t.synthetic, t.holdout))
    with_holdout, d1 = privacy(t.real, t.synthetic, t.holdout, t.kinds, query_chunk=64, record_chunk=128)
    Dh = np.sort(cdist(Xh, Xt), axis=1)
    np.testing.assert_allclose(d1["dcr_baseline"], Dh[:, 0], atol=1e-12)
    np.testing.assert_allclose(d1["dcr_synthetic"], cdist(Xs, Xt).min(axis=1), atol=1e-12)
    assert with_holdout["baseline"] == "holdout"
    assert with_holdout["nndr"]["baseline"]["median"] == pytest.approx(np.median(nndr(Dh[:, :2])))
    loo, d2 = privacy(t.real, t.synthetic, None, t.kinds, query_chunk=64, record_chunk=128)
    D = cdist(Xt, Xt)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(np.sort(d2["dcr_baseline"]), np.sort(D.min(axis=1)), atol=1e-12)
    assert loo["baseline"] == "real (leave-one-out)"
    assert loo["exact_copies"]["baseline"] == pytest.approx(train.duplicated(keep=False).mean())
    assert loo["exact_copies"]["baseline"] >= 10 / len(train)
    assert loo["nndr"]["baseline"]["median"] == pytest.approx(np.median(nndr(np.sort(D, axis=1)[:, :2])))


def test_copied_rows_are_flagged_against_fresh_real_rows():
    r = np.random.default_rng(21)
    train, hold = _table(r, 500), _table(r, 300)
    t = align(train, train.sample(frac=1.0, random_state=0), hold)
    summary, _ = privacy(t.real, t.synthetic, t.holdout, t.kinds)
    assert summary["exact_copies"]["synthetic"] == 1.0
    assert summary["dcr"]["synthetic"]["median"] == 0.0 and summary["dcr"]["baseline"]["median"] > 0
    assert summary["dcr"]["synthetic_below_baseline_p05"] == 1.0
    assert summary["nndr"]["synthetic"]["median"] == 0.0


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, tracemalloc
    import numpy as np
    from synthgen.evaluation.privacy import nearest_k
    from synthgen.sampling.nearest import RecordIndex
    r = np.random.default_rng(0)
    n = 20_000
    records, queries = r.normal(size=(n, 4)), r.normal(size=(n, 4))
    index = RecordIndex(records, record_chunk=1024)
    nearest_k(records, queries[:256], 2, index=index, query_chunk=256)  # compile first
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    got = nearest_k(records, queries, 2, index=index, query_chunk=256)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    probe = queries[::997]
    d = np.sqrt(((probe[:, None, :] - records[None]) ** 2).sum(-1))
    ok = bool(np.allclose(got.distance[::997], np.sort(d, axis=1)[:, :2], atol=1e-12))
    print(json.dumps({"rss_kb": rss_after - rss_before, "traced": traced_peak, "ok": ok}))
""")


def test_memory_stays_bounded_on_20000_by_20000_rows():
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True,
                         timeout=300, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    full_matrix = 20_000 * 20_000 * 4  # bytes of the float32 distance matrix
    assert res["ok"]
    assert res["traced"] < full_matrix / 50
    assert res["rss_kb"] * 1024 < full_matrix / 10
