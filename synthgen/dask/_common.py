"""What the Dask modules share: shipping a model to the workers once, and checking partitions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidDataError


def install_fit(gen, new, *, vec, n_features: int, n_rows: int, seed: int, params, stream_key):
    """Give ``gen`` the fitted state built on ``new`` (its unfitted copy) all at once, so that a
    fit that fails before this leaves ``gen`` as it was; returns ``gen``."""
    new.vectoriser_ = vec
    new.n_features_in_, new.n_train_, new.fit_seed_ = n_features, n_rows, seed
    return gen._adopt_fit(new, params, stream_key)


def shippable(gen):
    """A shallow copy of a fitted generator without its compiled-function cache (compiled
    programs are per process; each worker compiles its own once)."""
    new = object.__new__(type(gen))
    new.__dict__.update({k: v for k, v in gen.__dict__.items() if k != "_jit_cache"})
    inner = new.__dict__.get("generator_")
    if inner is not None:
        new.generator_ = shippable(inner)
    return new


def current_client():
    """The distributed client in use, or None (then Dask's local schedulers run the graph)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is in the extra
        return None
    try:
        return default_client()
    except ValueError:
        return None


def ship(obj, client=None):
    """``obj`` scattered to every worker once (a future the tasks take as an argument), or
    ``obj`` itself when no distributed client runs.  Nothing is written to disk."""
    client = client if client is not None else current_client()
    if client is None:
        return obj
    return client.scatter(obj, broadcast=True, hash=False)


def check_partition(part, index: int, columns, dtypes=None) -> pd.DataFrame:
    """Refuse a partition whose columns or dtypes differ from the expected ones, naming the
    partition and the column."""
    if not isinstance(part, pd.DataFrame):
        raise InvalidDataError(f"partition {index} is a {type(part).__name__}, not a DataFrame")
    have = [str(c) for c in part.columns]
    missing = [c for c in columns if c not in have]
    if missing:
        raise InvalidDataError(
            f"partition {index} has no column {missing[0]!r} (expected columns: {', '.join(columns)})")
    extra = [c for c in have if c not in columns]
    if extra:
        raise InvalidDataError(f"partition {index} has an unexpected column {extra[0]!r}")
    if dtypes is not None:
        for c, want in zip(columns, dtypes):
            got = str(part[c].dtype)
            if got != str(want):
                raise InvalidDataError(
                    f"partition {index}: column {c!r} has dtype {got}; the other partitions "
                    f"(and the metadata) have {want}")
    return part


def as_frame(out, columns=None) -> pd.DataFrame:
    """A sampled chunk as a DataFrame: tables stay tables, arrays get their feature names as
    columns, lists of strings become one column ``value``."""
    if isinstance(out, pd.DataFrame):
        return out
    if isinstance(out, list):
        return pd.DataFrame({"value": pd.Series(out, dtype=object)})
    arr = np.asarray(out)
    names = list(columns) if columns is not None and len(columns) == arr.shape[1] else [
        f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=names)


def moments(X, raw) -> dict:
    """Row count, mean, centred scatter, and the raw minimum and maximum of a partition."""
    n = len(X)
    if n == 0:
        return {"n": 0}
    mean = X.mean(axis=0)
    Xc = X - mean
    return {"n": n, "mean": mean, "m2": Xc.T @ Xc, "min": raw.min(axis=0), "max": raw.max(axis=0),
            "d": X.shape[1]}


def merge_moments(a: dict, b: dict) -> dict:
    """Two partitions' :func:`moments` as one (the parallel update of mean and scatter)."""
    n = a["n"] + b["n"]
    delta = b["mean"] - a["mean"]
    return {"n": n, "mean": a["mean"] + delta * (b["n"] / n),
            "m2": a["m2"] + b["m2"] + np.outer(delta, delta) * (a["n"] * b["n"] / n),
            "min": np.minimum(a["min"], b["min"]), "max": np.maximum(a["max"], b["max"]),
            "d": a["d"]}
