"""Scale-out on Dask: partitioned sampling, out-of-core fitting, scoring and nearest-record
distances over Dask DataFrames.

An optional extra (``pip install synthgen[dask]``); the rest of synthgen never imports it.
Rows for a seed depend only on the seed and the block index (:mod:`synthgen.random`), so a
partition is a range of blocks and any scheduler, on any number of workers, reproduces the
rows of one process; a lost partition recomputed after a worker failure is the same rows.
``fit`` sums per-partition statistics on the workers for the Gaussian and the mixture, and
streams mini-batches from a Parquet dataset in one process for the VAE and the circuit.
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
    import dask.dataframe  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "synthgen.dask needs Dask: pip install synthgen[dask] (dask[dataframe] and distributed)"
    ) from exc

from ._fit import fit
from ._parquet import write_parquet
from ._sampling import sample
from ._scoring import nearest_distances, score_samples

__all__ = ["sample", "fit", "score_samples", "nearest_distances", "write_parquet"]
