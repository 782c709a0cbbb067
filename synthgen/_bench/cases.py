"""What a benchmark runs: data sets (each with its target column and a real holdout) and
generators (each with the hyperparameters it runs with).

Data sets are the embedded ones or files.  Every data set is shuffled with the run's seed,
capped to a number of rows (in quick mode, or by ``max_rows``), and split: 30% of the rows
are held out (the test set of the utility models and the baseline of the distances to the
closest record), the other 70% train the generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidDataError, InvalidParameterError

#: Share of each data set's rows held out from training.
HOLDOUT_FRACTION = 0.3
#: Fewest rows a data set may have (so that both parts of the split hold a few).
MIN_ROWS = 20
#: Rows of a data file in quick mode (a random subset when the file is larger).
QUICK_FILE_ROWS = 5_000

#: Hyperparameters that replace a generator's defaults in quick mode (only those the
#: generator has are used; ``--param`` overrides them).
QUICK_PARAMS: dict[str, dict[str, Any]] = {
    "gmm": {"n_components_range": (1, 6)},
    "pca_gmm": {"n_components_range": (1, 6)},
    "vae": {"epochs": 30},
}
#: Set for every generator that has them: a child process has no terminal for a progress bar.
QUIET_PARAMS: dict[str, Any] = {"verbose": False}


@dataclass(frozen=True)
class DatasetSpec:
    """One data set of a benchmark: where it comes from, what utility predicts, how it is cut."""

    name: str
    source: str  # an embedded data set's name, or a file's path
    kind: str  # "embedded" or "file"
    target: str | None = None
    quick_rows: int | None = None  # rows used in quick mode (None: all)
    full_rows: int | None = None  # rows used otherwise (None: all; generated sets: how many)
    drop: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["drop"] = list(self.drop)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DatasetSpec":
        return cls(**{**d, "drop": tuple(d.get("drop") or ())})


EMBEDDED: dict[str, DatasetSpec] = {
    "creditcard": DatasetSpec(
        "creditcard", "creditcard", "embedded", target="Class", drop=("Time",),
        note="Time (seconds since the capture began) is dropped, as the creditcard vectoriser "
             "does by default"),
    "adult": DatasetSpec(
        "adult", "adult", "embedded", target="income", quick_rows=4_000,
        note="income (<=50K / >50K) is the utility target"),
    "ukreg": DatasetSpec(
        "ukreg", "ukreg", "embedded", target=None, quick_rows=2_500, full_rows=10_000,
        note="registration strings drawn from the format rules; no target, so no utility"),
}


@dataclass
class Case:
    """One (generator, data set) run: what the child process is told."""

    model: str  # the label in the table
    dataset: DatasetSpec
    params: dict[str, Any] = field(default_factory=dict)
    generator: str | None = None  # a registry name, or None when ``factory`` builds the model
    factory: str | None = None  # "module:function" or "path/to/file.py:function"
    python: str | None = None  # the interpreter that runs it (None: this one)
    timeout: float | None = None  # seconds it may run (None: the run's limit)

    def to_dict(self, *, quick: bool, seed: int, max_rows: int | None) -> dict[str, Any]:
        return {"model": self.model, "generator": self.generator, "factory": self.factory,
                "params": json_params(self.params), "dataset": self.dataset.to_dict(),
                "quick": quick, "seed": seed, "max_rows": max_rows}


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def split_names(names) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (options may be repeated or comma-separated)."""
    if names is None:
        return []
    if isinstance(names, str):
        names = [names]
    return [part.strip() for item in names for part in str(item).split(",") if part.strip()]


# ---------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------


def resolve_datasets(names, *, target: str | None = None) -> list[DatasetSpec]:
    """Data set specs for embedded names and file paths (all embedded ones when ``names`` is empty).

    ``target`` is the utility target of the files (the embedded sets have their own).
    """
    from ..datasets import list_datasets

    names = split_names(names) or list(list_datasets())
    specs, seen = [], set()
    for name in names:
        spec = _file_spec(name, target) if Path(name).is_file() else _embedded_spec(name)
        if spec.name in seen:
            spec = replace(spec, name=spec.source)
        if spec.name in seen:
            raise InvalidParameterError(f"--datasets names {name!r} more than once")
        seen.add(spec.name)
        specs.append(spec)
    return specs


def _embedded_spec(name: str) -> DatasetSpec:
    from ..datasets import list_datasets
    from ..io import TABLE_SUFFIXES

    known = list_datasets()
    if name in known:
        return EMBEDDED.get(name) or DatasetSpec(name, name, "embedded")
    path = Path(name)
    if path.is_dir():
        raise InvalidDataError(f"--datasets {name} is a folder; expected a data file or a data set name")
    if path.suffix.lower() in TABLE_SUFFIXES or "/" in name:
        raise InvalidDataError(f"--datasets: data file {name} does not exist")
    raise InvalidParameterError(
        f"unknown data set {name!r} for --datasets; known: {', '.join(known)}, "
        f"or a path to a {', '.join(sorted(TABLE_SUFFIXES))} file"
    )


def _file_spec(name: str, target: str | None) -> DatasetSpec:
    from ..io import read_data

    data = read_data(name)
    n = len(data)
    if n < MIN_ROWS:
        raise InvalidDataError(f"--datasets {name} has {n} row(s); the benchmark needs at least {MIN_ROWS}")
    if target is not None:
        columns = [str(c) for c in getattr(data, "columns", [])]
        if target not in columns:
            raise InvalidDataError(
                f"--target {target!r} is not a column of {name}; columns: {', '.join(columns) or 'none'}"
            )
    note = f"utility target: {target}" if target else "no --target, so no utility"
    return DatasetSpec(Path(name).stem, str(name), "file", target=target,
                       quick_rows=QUICK_FILE_ROWS, note=note)


def load_split(spec: DatasetSpec, *, quick: bool, max_rows: int | None, seed: int):
    """``(train, holdout, info)``: the data set shuffled with ``seed``, capped and split 70/30."""
    cap = max_rows if max_rows is not None else (spec.quick_rows if quick else spec.full_rows)
    data, total = _load(spec, cap, seed)
    rng = np.random.default_rng([seed, 0x5EED])
    order = rng.permutation(len(data))
    if cap is not None and cap < len(order):
        order = order[:cap]
    if len(order) < MIN_ROWS:
        raise InvalidDataError(
            f"data set {spec.name} has {len(order)} rows to use; the benchmark needs at least {MIN_ROWS}"
        )
    n_hold = int(round(len(order) * HOLDOUT_FRACTION))
    hold_idx, train_idx = order[:n_hold], order[n_hold:]
    train, holdout = _take(data, train_idx), _take(data, hold_idx)
    info = {"rows_available": total, "rows_used": len(order), "n_train": len(train_idx),
            "n_holdout": len(hold_idx), "subsampled": total is not None and len(order) < total}
    return train, holdout, info


def _load(spec: DatasetSpec, cap: int | None, seed: int):
    """The whole data set and its row count (None for a generated set, made to size)."""
    from .. import datasets
    from ..io import read_data

    if spec.kind == "file":
        data = read_data(spec.source)
    elif datasets.list_datasets()[spec.source]["rows"] is None:
        n = cap or spec.full_rows or 10_000
        return datasets.load(spec.source, n=n, seed=seed), None
    else:
        data = datasets.load(spec.source)
    if spec.drop and hasattr(data, "drop"):
        data = data.drop(columns=[c for c in spec.drop if c in data.columns])
    return data, len(data)


def _take(data, idx: np.ndarray):
    if isinstance(data, list):
        return [data[i] for i in idx]
    if isinstance(data, np.ndarray):
        return data[idx]
    return data.iloc[idx].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------


def resolve_models(names) -> list[str]:
    """Registry names (all of ``list_generators()`` when ``names`` is empty)."""
    from ..registry import list_generators

    known = list_generators()
    names = split_names(names) or list(known)
    for name in names:
        if name not in known:
            raise InvalidParameterError(f"unknown model {name!r} for --models; known: {', '.join(known)}")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"--models names a model more than once: {', '.join(names)}")
    return names


def model_params(name: str, *, quick: bool, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The hyperparameters ``name`` runs with: quiet, quick-mode settings, then ``given``.

    Names in ``given`` are checked now (a typo is a usage error); values are checked when
    the model is fitted, so a bad value fails that model's row only.
    """
    from .._params import check_names
    from ..registry import get_generator_class

    table = get_generator_class(name).param_table()
    given = dict(given or {})
    check_names(name, table, given)
    params = {k: v for k, v in QUIET_PARAMS.items() if k in table}
    if quick:
        params.update({k: v for k, v in QUICK_PARAMS.get(name, {}).items() if k in table})
    params.update(given)
    return params


def check_param_models(params: dict[str, dict[str, Any]] | None, models: list[str]) -> None:
    """Every model named in ``params`` must be one of the models that run."""
    for name in params or {}:
        if name not in models:
            raise InvalidParameterError(
                f"--param names model {name!r}, which does not run; running: {', '.join(models)}"
            )
