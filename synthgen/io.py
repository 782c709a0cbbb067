"""Files in and out: tables (CSV, Parquet, JSON Lines, text), atomic writes, model files.

A model file (``.sgm``) is a zip holding ``config.json`` (format version, synthgen
version, generator name, hyperparameters, vectoriser, training summary, and the
structure of every saved tree) and ``params.npz`` (the arrays, one entry per leaf).
Arrays are read with ``allow_pickle=False``; nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import InvalidDataError, ModelFileError

FORMAT_NAME = "synthgen-model"
FORMAT_VERSION = 1
_MAX_CONFIG_BYTES = 64 * 2**20

# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    A crash, an exception or a Ctrl-C inside the block leaves no file under the final name.
    """
    final = Path(path)
    folder = final.parent if str(final.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidDataError(f"cannot write {final}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    _set_default_mode(tmp_path)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _set_default_mode(path: Path) -> None:
    """Give a temporary file the permissions a plain ``open`` would (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


# ---------------------------------------------------------------------------------------------
# Trees of arrays <-> JSON structure + flat arrays
# ---------------------------------------------------------------------------------------------


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields") and hasattr(obj, "_asdict")


def flatten_tree(tree: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """Describe ``tree`` as JSON, moving every array leaf into ``arrays`` under a path key.

    Supported nodes: NamedTuples defined in synthgen, dicts with string keys, lists, tuples,
    None, bools, ints, floats, strings, numpy and JAX arrays.
    """
    if tree is None or isinstance(tree, (bool, str)):
        return tree
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return tree
    if isinstance(tree, (np.generic,)):
        return tree.item()
    if _is_namedtuple(tree):
        cls = type(tree)
        if not cls.__module__.startswith("synthgen"):
            raise TypeError(f"cannot save a {cls.__module__}.{cls.__qualname__}")
        return {
            "__tree__": "namedtuple",
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {f: flatten_tree(getattr(tree, f), f"{prefix}/{f}", arrays) for f in cls._fields},
        }
    if isinstance(tree, dict):
        for k in tree:
            if not isinstance(k, str) or "/" in k:
                raise TypeError(f"cannot save a dict key {k!r}: keys must be strings without '/'")
        return {
            "__tree__": "dict",
            "items": {k: flatten_tree(v, f"{prefix}/{k}", arrays) for k, v in tree.items()},
        }
    if isinstance(tree, (list, tuple)):
        return {
            "__tree__": "list" if isinstance(tree, list) else "tuple",
            "items": [flatten_tree(v, f"{prefix}/{i}", arrays) for i, v in enumerate(tree)],
        }
    arr = np.asarray(tree)
    if arr.dtype == object:
        raise TypeError(f"cannot save an object array at {prefix}")
    arrays[prefix] = arr
    return {"__tree__": "array", "key": prefix}


def unflatten_tree(spec: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of :func:`flatten_tree`; raises ``ModelFileError`` on anything unexpected."""
    if spec is None or isinstance(spec, (bool, int, float, str)):
        return spec
    if not isinstance(spec, dict) or "__tree__" not in spec:
        raise ModelFileError(f"unexpected entry in the model's structure: {spec!r:.80}")
    kind = spec["__tree__"]
    if kind == "array":
        key = spec.get("key")
        if key not in arrays:
            raise ModelFileError(f"the model file lacks the array {key!r}")
        return arrays[key]
    if kind == "dict":
        return {k: unflatten_tree(v, arrays) for k, v in spec["items"].items()}
    if kind in ("list", "tuple"):
        items = [unflatten_tree(v, arrays) for v in spec["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "namedtuple":
        cls = _resolve_namedtuple(spec.get("class", ""))
        fields = spec.get("fields", {})
        if set(fields) != set(cls._fields):
            raise ModelFileError(f"fields of {cls.__name__} in the model file do not match")
        return cls(**{f: unflatten_tree(v, arrays) for f, v in fields.items()})
    raise ModelFileError(f"unknown node kind {kind!r} in the model's structure")


def _resolve_namedtuple(name: str):
    module_name, _, qualname = name.partition(":")
    if not (module_name == "synthgen" or module_name.startswith("synthgen.")) or not qualname:
        raise ModelFileError(f"the model file names a class outside synthgen: {name!r}")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ModelFileError(f"the model file names an unknown class {name!r}") from exc
    if not (isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")):
        raise ModelFileError(f"the model file names {name!r}, which is not a parameter tuple")
    return obj


# ---------------------------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------------------------


def write_model_file(path: str | os.PathLike, config: dict, trees: dict[str, Any]) -> None:
    """Write ``config`` plus the named ``trees`` (params, state, vectoriser) atomically."""
    arrays: dict[str, np.ndarray] = {}
    structure = {name: flatten_tree(tree, name, arrays) for name, tree in trees.items()}
    config = dict(config, format=FORMAT_NAME, format_version=FORMAT_VERSION, trees=structure)
    payload = json.dumps(config, indent=1, sort_keys=True, allow_nan=True).encode()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("config.json", payload)
            zf.writestr("params.npz", buf.getvalue())


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, Any]]:
    """Read a model file; return ``(config, trees)``.  Every failure is a ``ModelFileError``."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "config.json" not in names or "params.npz" not in names:
                raise ModelFileError(
                    f"{path} is not a synthgen model file (it lacks config.json or params.npz)"
                )
            info = zf.getinfo("config.json")
            if info.file_size > _MAX_CONFIG_BYTES:
                raise ModelFileError(f"{path}: config.json is implausibly large")
            config = json.loads(zf.read("config.json").decode("utf-8"))
            npz_bytes = zf.read("params.npz")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ModelFileError(f"{path} is damaged or not a synthgen model file ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: config.json is not valid JSON ({exc})") from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} could not be read ({exc})") from exc
    _check_config(path, config)
    try:
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise ModelFileError(f"{path}: params.npz holds data that needs pickle; refusing ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds on corrupt archives
        raise ModelFileError(f"{path}: params.npz is damaged ({exc})") from exc
    trees = {name: unflatten_tree(spec, arrays) for name, spec in config["trees"].items()}
    return config, trees


def _check_config(path: Path, config: Any) -> None:
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a synthgen model file (no synthgen format marker)")
    version = config.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path}: the format version is missing or not an integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in model format {version} (by synthgen "
            f"{config.get('synthgen_version', '?')}); this synthgen reads up to format "
            f"{FORMAT_VERSION}: upgrade synthgen"
        )
    if not isinstance(config.get("trees"), dict) or not isinstance(config.get("generator"), str):
        raise ModelFileError(f"{path}: config.json lacks the generator name or its trees")


# ---------------------------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------------------------

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".txt": "text"}


def data_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise InvalidDataError(f"cannot tell the format of {path}: use one of {known}")
    return TABLE_SUFFIXES[suffix]


def read_data(path: str | os.PathLike):
    """Read a table (CSV, Parquet, JSON Lines) as a DataFrame, or a text file as a list of str."""
    import pandas as pd

    path = Path(path)
    fmt = data_format(path)
    if not path.is_file():
        raise InvalidDataError(f"data file {path} does not exist")
    try:
        if fmt == "csv":
            frame = pd.read_csv(path)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
            return [s.strip() for s in lines if s.strip()]
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes one clear error
        raise InvalidDataError(f"could not read {path} as {fmt}: {exc}") from exc
    if frame.shape[1] and str(frame.columns[0]).startswith("Unnamed: 0"):
        frame = frame.drop(columns=frame.columns[0])
    return frame


class TableWriter:
    """Append chunks of rows to a CSV, Parquet, JSON Lines or text file, or CSV to a stream.

    Use as a context manager; a file is written under a temporary name and renamed
    only when the block ends without an exception.
    """

    def __init__(self, path: str | os.PathLike | None, stream=None):
        self.path = None if path is None else Path(path)
        self.fmt = "csv" if self.path is None else data_format(self.path)
        self.stream = stream
        self._parquet = None
        self._first = True
        self._atomic = None

    def __enter__(self) -> "TableWriter":
        if self.path is not None:
            self._atomic = atomic_path(self.path)
            self._tmp = self._atomic.__enter__()
            self._fh = None if self.fmt == "parquet" else open(self._tmp, "w", encoding="utf-8", newline="")
        else:
            self._fh = self.stream
        return self

    def write(self, chunk) -> None:
        import pandas as pd

        if isinstance(chunk, list):
            if self.fmt in ("csv", "text"):
                self._fh.write("".join(f"{s}\n" for s in chunk))
                return
            chunk = pd.DataFrame({"value": chunk})
        if isinstance(chunk, np.ndarray):
            chunk = pd.DataFrame(chunk, columns=[f"x{i}" for i in range(chunk.shape[1])])
        if self.fmt == "csv":
            chunk.to_csv(self._fh, index=False, header=self._first)
        elif self.fmt == "jsonl":
            text = chunk.to_json(orient="records", lines=True, date_format="iso",
                                 double_precision=15)
            self._fh.write(text if text.endswith("\n") else text + "\n")
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            self._parquet.write_table(table)
        else:
            raise InvalidDataError("a text output file takes strings only; use .csv for tables")
        self._first = False

    def __exit__(self, exc_type, exc, tb):
        if self._parquet is not None:
            self._parquet.close()
        if self.path is not None and self._fh is not None:
            self._fh.close()
        elif self._fh is not None:
            self._fh.flush()
        if self._atomic is not None:
            return self._atomic.__exit__(exc_type, exc, tb)
        return False
