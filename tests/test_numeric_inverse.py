"""The numeric vectoriser's inverse and the Parquet writer's encodings: the fast paths give the
frames and files the general ones give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.io import dictionary_columns, parquet_options
from synthgen.vectorisers import base
from synthgen.vectorisers.base import NumericVectoriser


def _per_column(vec, X):
    cols = {name: base._restore_column(X[:, j], dtype, vec.min_[j], vec.max_[j])
            for j, (name, dtype) in enumerate(zip(vec.columns_, vec.dtypes_))}
    frame = pd.DataFrame(cols)
    frame.columns = vec.column_labels_
    return frame


FRAMES = {
    "float64": lambda r: pd.DataFrame(r.normal(size=(300, 4)), columns=list("abcd")),
    "float32, mixed labels": lambda r: pd.DataFrame(r.normal(size=(300, 2)).astype(np.float32),
                                                    columns=[7, "x"]),
    "int64": lambda r: pd.DataFrame(r.integers(-5, 9, (300, 3)), columns=list("abc")),
    "mixed dtypes": lambda r: pd.DataFrame({"a": r.normal(size=300), "b": r.integers(0, 4, 300)}),
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_the_inverse_equals_the_per_column_restore(name):
    r = np.random.default_rng(3)
    df = FRAMES[name](r)
    vec = NumericVectoriser().fit(df)
    X = (vec.transform(df) + r.normal(scale=0.7, size=(len(df), df.shape[1]))).astype(np.float32)
    got = vec.inverse_transform(X)
    want = _per_column(vec, X)
    pd.testing.assert_frame_equal(got, want)
    assert list(got.columns) == list(df.columns) and list(got.dtypes) == list(df.dtypes)
    if len(set(map(str, df.dtypes))) == 1:
        assert all(got[c].to_numpy().flags.c_contiguous for c in got.columns)
    ints = [c for c in df.columns if df[c].dtype.kind in "iu"]
    for c in ints:  # integer columns are rounded and kept within the observed range
        assert got[c].min() >= df[c].min() and got[c].max() <= df[c].max()


def test_floating_columns_are_byte_stream_split_without_a_dictionary_and_read_back(tmp_path):
    table = pa.table({"f": np.linspace(0, 1, 1000), "i": np.arange(1000) % 7,
                      "s": ["x", "y"] * 500, "g": np.linspace(0, 1, 1000).astype(np.float32)})
    assert dictionary_columns(table.schema) == ["i", "s"]
    assert dictionary_columns(pa.table({"f": [1.0]}).schema) is False
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, **parquet_options(table.schema))
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(j).path_in_schema: meta.column(j).encodings for j in range(4)}
    for c in ("f", "g"):
        assert "BYTE_STREAM_SPLIT" in encodings[c]
        assert not any("DICTIONARY" in e for e in encodings[c])
    assert any("DICTIONARY" in e for e in encodings["s"])
    assert pq.read_table(path).equals(table)
