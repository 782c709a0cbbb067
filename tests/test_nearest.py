"""Chunked nearest-record search against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from synthgen.errors import InvalidDataError
from synthgen.sampling.nearest import RecordIndex, min_distances_numpy, nearest_records


@pytest.fixture(scope="module")
def problem():
    r = np.random.default_rng(3)
    records = r.normal(size=(1037, 5))
    queries = r.normal(size=(613, 5))
    scales = np.exp(0.4 * r.normal(size=records.shape))
    return records, queries, scales


@pytest.mark.parametrize("query_chunk, record_chunk", [(64, 128), (2048, 8192), (100, 1000)])
def test_euclidean_matches_brute_force(problem, query_chunk, record_chunk):
    records, queries, _ = problem
    D = cdist(queries, records)
    got = nearest_records(queries, records, query_chunk=query_chunk, record_chunk=record_chunk,
                          return_index=True)
    np.testing.assert_allclose(got.distance, D.min(axis=1), atol=2e-5, rtol=1e-5)
    np.testing.assert_array_equal(got.index, D.argmin(axis=1))


def test_per_record_scales_match_the_numpy_loop(problem):
    records, queries, scales = problem
    ref = min_distances_numpy(queries, records, scales)
    got = nearest_records(queries, records, scales=scales, query_chunk=128, record_chunk=256)
    np.testing.assert_allclose(got.distance, ref, atol=2e-5, rtol=1e-5)
    assert got.index is None
    with_index = nearest_records(queries, records, scales=scales, return_index=True)
    D = np.sqrt((((queries[:, None, :] - records[None]) / scales[None]) ** 2).sum(-1))
    np.testing.assert_array_equal(with_index.index, D.argmin(axis=1))


def test_whitening_is_mahalanobis_with_the_covariance(problem):
    records, queries, _ = problem
    cov = np.cov(records.T)
    W = np.linalg.inv(np.linalg.cholesky(cov)).T
    ref = cdist(queries, records, metric="mahalanobis", VI=np.linalg.inv(cov)).min(axis=1)
    got = nearest_records(queries, records, whiten=W)
    np.testing.assert_allclose(got.distance, ref, atol=2e-5, rtol=1e-5)


def test_an_index_serves_many_queries_and_exact_copies_are_at_zero(problem):
    records, _, scales = problem
    index = RecordIndex(records, scales=scales)
    # The expanded square in float32 reads a copy as sqrt(eps * |r|^2 / s^2) at most.
    w = (records[:50] ** 2 / scales[:50] ** 2).sum(axis=1).max()
    np.testing.assert_allclose(index.query(records[:50]).distance, 0.0, atol=np.sqrt(4e-7 * w))
    far = index.query(records[:50] + 10 * scales[:50])
    assert (far.distance > 1.0).all()


def test_bad_shapes_are_refused(problem):
    records, queries, scales = problem
    with pytest.raises(InvalidDataError, match="queries must be 2-D with 5 columns"):
        RecordIndex(records).query(queries[:, :3])
    with pytest.raises(InvalidDataError, match="scales must have the records' shape"):
        RecordIndex(records, scales=scales[:10])
    with pytest.raises(InvalidDataError, match="non-empty 2-D"):
        RecordIndex(records[:0])


def test_distances_to_others_leave_each_record_out(problem):
    records, _, _ = problem
    D = cdist(records, records)
    np.fill_diagonal(D, np.inf)
    index = RecordIndex(records, record_chunk=256)
    np.testing.assert_allclose(index.distances_to_others(records, query_chunk=100), D.min(axis=1),
                               atol=2e-5, rtol=1e-5)
