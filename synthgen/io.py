"""Files in and out: tables (CSV, Parquet, JSON Lines, text), atomic writes, model files.

A model file (``.sgm``) is a zip holding ``config.json`` (format version, synthgen
version, generator name, hyperparameters, vectoriser, training summary, and the
structure of every saved tree) and ``params.npz`` (the arrays, one entry per leaf).
Arrays are read with ``allow_pickle=False``; nothing is ever unpickled.  Only the
arrays the structure names are read, each after its declared size and its npy header
are checked, so a file cannot make the reader allocate more than it plausibly holds.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import json
import math
import os
import re
import socket
import stat
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import InvalidDataError, ModelFileError, OutputFileError, SynthgenError

FORMAT_NAME = "synthgen-model"
FORMAT_VERSION = 1
_MAX_CONFIG_BYTES = 64 * 2**20
#: params.npz may always expand to this many bytes; beyond it, to at most
#: ``_MAX_EXPANSION`` times its compressed size (arrays of fitted floats barely compress).
_FREE_PARAMS_BYTES = 256 * 2**20
_MAX_EXPANSION = 100
_MAX_TREE_DEPTH = 64
#: a temporary file of a writer that has gone is removed once it is this old (seconds).
STALE_TEMP_SECONDS = 60

# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------

#: temporary files being written by this process (removed by a signal handler on exit).
_LIVE_TEMP: set[Path] = set()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    A crash, an exception or a Ctrl-C inside the block leaves no file under the final name.
    The temporary name, ``.NAME.HOST-PID.XXXXXXXX.part``, says which process writes it, so
    that a later write of ``NAME`` can remove what a killed writer left (see
    :func:`sweep_stale_temp_files`).  A failure of the file system (no space left, a
    read-only or virtual folder) is an :class:`OutputFileError` naming ``path``.
    """
    final = Path(path)
    folder = final.parent if str(final.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidDataError(f"cannot write {final}: folder {folder} does not exist")
    sweep_stale_temp_files(final)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.{_writer_tag()}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise output_error(final, exc) from exc
    tmp_path = Path(tmp)
    _LIVE_TEMP.add(tmp_path)
    try:
        os.close(fd)
        _set_default_mode(tmp_path)
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, SynthgenError):
            raise output_error(final, exc) from exc
        raise
    finally:
        _LIVE_TEMP.discard(tmp_path)


def check_writable(path: str | os.PathLike) -> None:
    """Refuse now, with an :class:`OutputFileError`, a path whose folder takes no new files.

    A temporary file is created beside ``path`` and removed again, as :func:`atomic_path`
    would: a read-only, virtual (``/proc``, ``/sys``) or full folder fails here.
    """
    final = Path(path)
    folder = final.parent if str(final.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.{_writer_tag()}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise output_error(final, exc) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def output_error(final: Path, exc: OSError) -> OutputFileError:
    """``exc`` (raised while writing ``final`` or its temporary file) as one line naming ``final``."""
    text = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    text = text[:1].lower() + text[1:]
    code = "" if exc.errno is None else f"errno {exc.errno}"
    folder = final.parent if str(final.parent) else Path(".")
    if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS) and folder.is_dir():
        reason = f"folder {folder} does not take new files ({text}{', ' + code if code else ''})"
    else:
        reason = f"{text} ({code})" if code else text
    kept = "; the existing file is unchanged" if final.exists() else ""
    err = OutputFileError(f"cannot write {final}: {reason}{kept}")
    err.errno, err.strerror, err.filename = exc.errno, exc.strerror, str(final)
    return err


def remove_live_temp_files() -> None:
    """Remove the temporary files this process is writing (for a handler of SIGTERM or SIGINT)."""
    for tmp in list(_LIVE_TEMP):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _LIVE_TEMP.discard(tmp)


def _writer_tag() -> str:
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname().split(".")[0])[:32] or "host"
    return f"{host}-{os.getpid()}"


def sweep_stale_temp_files(final: str | os.PathLike) -> list[Path]:
    """Remove temporary files that earlier writes of ``final`` left behind; return them.

    A file is removed only when its name says it was written on this host by a process
    that no longer exists, and it has not changed for :data:`STALE_TEMP_SECONDS`: a
    concurrent writer's file (its process is alive) is never touched.
    """
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    prefix, host = f".{final.name}.", _writer_tag().rpartition("-")[0]
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(prefix) and e.name.endswith(".part")]
    except OSError:
        return removed
    for entry in entries:
        parts = entry.name[len(prefix):-len(".part")].split(".")
        if len(parts) != 2:
            continue
        owner, _, pid = parts[0].rpartition("-")
        if owner != host or not pid.isdigit() or _process_alive(int(pid)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and time.time() - info.st_mtime >= STALE_TEMP_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _process_alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


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


def unflatten_tree(spec: Any, arrays: dict[str, np.ndarray], _depth: int = 0) -> Any:
    """Inverse of :func:`flatten_tree`; raises ``ModelFileError`` on anything unexpected."""
    if _depth > _MAX_TREE_DEPTH:
        raise ModelFileError(f"the model's structure is nested more than {_MAX_TREE_DEPTH} levels deep")
    if spec is None or isinstance(spec, (bool, int, float, str)):
        return spec
    if not isinstance(spec, dict) or "__tree__" not in spec:
        raise ModelFileError(f"unexpected entry in the model's structure: {spec!r:.80}")
    kind, depth = spec["__tree__"], _depth + 1
    if kind == "array":
        key = spec.get("key")
        if not isinstance(key, str) or key not in arrays:
            raise ModelFileError(f"the model file lacks the array {key!r}")
        return arrays[key]
    if kind == "dict":
        items = _node_items(spec, dict)
        return {k: unflatten_tree(v, arrays, depth) for k, v in items.items()}
    if kind in ("list", "tuple"):
        items = [unflatten_tree(v, arrays, depth) for v in _node_items(spec, list)]
        return items if kind == "list" else tuple(items)
    if kind == "namedtuple":
        cls = _resolve_namedtuple(spec.get("class", ""))
        fields = spec.get("fields")
        if not isinstance(fields, dict) or set(fields) != set(cls._fields):
            raise ModelFileError(f"fields of {cls.__name__} in the model file do not match")
        return cls(**{f: unflatten_tree(v, arrays, depth) for f, v in fields.items()})
    raise ModelFileError(f"unknown node kind {kind!r:.40} in the model's structure")


def _node_items(spec: dict, kind: type):
    items = spec.get("items")
    if not isinstance(items, kind):
        raise ModelFileError(
            f"a {spec['__tree__']} node of the model's structure has no {kind.__name__} of items"
        )
    return items


def _resolve_namedtuple(name: Any):
    """The parameter tuple class ``"synthgen.module:Class"``: a NamedTuple defined in that module.

    Only a class the named synthgen module itself defines is accepted: no attribute chains,
    no names a module imports from elsewhere.
    """
    if not isinstance(name, str):
        raise ModelFileError(f"the model file names a class by {name!r:.80}, not by a string")
    module_name, sep, qualname = name.partition(":")
    if not sep or not (module_name == "synthgen" or module_name.startswith("synthgen.")):
        raise ModelFileError(f"the model file names a class outside synthgen: {name!r:.120}")
    if not qualname.isidentifier() or not all(p.isidentifier() for p in module_name.split(".")):
        raise ModelFileError(
            f"the model file names {name!r:.120}; a class is named module:Class, without attribute chains"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelFileError(f"the model file names an unknown class {name!r}") from exc
    obj = vars(module).get(qualname)
    if obj is None:
        raise ModelFileError(f"the model file names an unknown class {name!r}")
    if not (isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")
            and hasattr(obj, "_make")):
        raise ModelFileError(f"the model file names {name!r}, which is not a parameter tuple")
    if obj.__module__ != module_name or obj.__qualname__ != qualname:
        raise ModelFileError(f"the model file names {name!r}, which {module_name} does not define")
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
    """Read a model file; return ``(config, trees)``.  Every failure is a ``ModelFileError``.

    Only ``config.json`` and the arrays its structure names are read; the declared size of
    each is checked before anything is decompressed.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            config = _read_config(path, zf)
            _check_config(path, config)
            arrays = _read_arrays(path, zf, _array_keys(path, config["trees"]))
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise ModelFileError(f"{path} is damaged or not a synthgen model file ({exc})") from exc
    except RecursionError as exc:
        raise ModelFileError(f"{path}: config.json is nested too deeply") from exc
    except (OSError, ValueError, RuntimeError, NotImplementedError, MemoryError) as exc:
        raise ModelFileError(f"{path} could not be read ({type(exc).__name__}: {exc})") from exc
    try:
        trees = {name: unflatten_tree(spec, arrays) for name, spec in config["trees"].items()}
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    return config, trees


def _read_config(path: Path, zf: zipfile.ZipFile) -> Any:
    names = set(zf.namelist())
    if "config.json" not in names or "params.npz" not in names:
        raise ModelFileError(f"{path} is not a synthgen model file (it lacks config.json or params.npz)")
    info = zf.getinfo("config.json")
    if info.file_size > _MAX_CONFIG_BYTES:
        raise ModelFileError(f"{path}: config.json is implausibly large ({info.file_size:,} bytes)")
    with zf.open(info) as fh:
        raw = fh.read(_MAX_CONFIG_BYTES + 1)
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ModelFileError(f"{path}: config.json is implausibly large")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: config.json is not valid JSON ({exc})") from exc


def _array_keys(path: Path, specs: Any) -> set[str]:
    """The keys of every array the saved structure refers to (the members worth reading)."""
    keys: set[str] = set()
    stack = [(specs, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_TREE_DEPTH:
            raise ModelFileError(
                f"{path}: the model's structure is nested more than {_MAX_TREE_DEPTH} levels deep")
        if isinstance(node, dict):
            if node.get("__tree__") == "array" and isinstance(node.get("key"), str):
                keys.add(node["key"])
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return keys


def _read_arrays(path: Path, zf: zipfile.ZipFile, keys: set[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of params.npz, read one by one from the compressed stream."""
    info = zf.getinfo("params.npz")
    limit = max(_FREE_PARAMS_BYTES, _MAX_EXPANSION * info.compress_size)
    if info.file_size > limit:
        raise ModelFileError(
            f"{path}: params.npz declares {info.file_size:,} bytes from {info.compress_size:,} "
            f"compressed (more than {_MAX_EXPANSION} to 1); refusing to expand it"
        )
    with zf.open(info) as raw:
        try:
            npz = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as exc:
            raise ModelFileError(f"{path}: params.npz is damaged ({exc})") from exc
        with npz:
            members = {}
            for key in sorted(keys):
                try:
                    members[key] = npz.getinfo(f"{key}.npy")
                except KeyError:
                    raise ModelFileError(f"{path}: params.npz lacks the array {key!r}") from None
            if sum(m.file_size for m in members.values()) > info.file_size:
                raise ModelFileError(f"{path}: the arrays of params.npz declare more bytes than it holds")
            arrays = {}
            for key, member in sorted(members.items(), key=lambda kv: kv[1].header_offset):
                with npz.open(member) as fh:
                    arrays[key] = _read_npy(path, key, fh, member.file_size)
    return arrays


def _read_npy(path: Path, key: str, fh, size: int) -> np.ndarray:
    """One ``.npy`` entry of ``size`` bytes; its header must account for exactly that size."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"npy format version {version} is not supported")
    except ValueError as exc:
        raise ModelFileError(f"{path}: array {key!r} in params.npz is damaged ({exc})") from exc
    if dtype.hasobject:
        raise ModelFileError(
            f"{path}: params.npz holds data that needs pickle (array {key!r} of Python objects); refusing"
        )
    body = size - fh.tell()
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != body:
        raise ModelFileError(
            f"{path}: array {key!r} in params.npz declares shape {shape} of {dtype} ({nbytes:,} bytes) "
            f"but its entry holds {body:,} bytes"
        )
    fh.seek(0)
    try:
        return fmt.read_array(fh, allow_pickle=False)
    except ValueError as exc:
        raise ModelFileError(f"{path}: array {key!r} in params.npz is damaged ({exc})") from exc


def _check_config(path: Path, config: Any) -> None:
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a synthgen model file (no synthgen format marker)")
    version = config.get("format_version")
    if type(version) is not int:
        raise ModelFileError(f"{path}: the format version is missing or not an integer (got {version!r:.40})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in model format {version} (by synthgen "
            f"{config.get('synthgen_version', '?')!s:.40}); this synthgen reads up to format "
            f"{FORMAT_VERSION}: upgrade synthgen"
        )
    if version < 1:
        raise ModelFileError(f"{path}: format version {version} is not a model format (they start at 1)")
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


def read_data(path: str | os.PathLike, *, parse_dates: bool = True):
    """Read a table (CSV, Parquet, JSON Lines) as a DataFrame, or a text file as a list of str.

    In CSV and JSON Lines, a text column whose values all read as date-times of one format
    becomes a datetime64 column (see :func:`synthgen.vectorisers._dtypes.parse_datetimes`);
    ``parse_dates=False`` keeps every column as the reader gives it.
    """
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
    if parse_dates and fmt in ("csv", "jsonl"):
        from .vectorisers._dtypes import parse_datetimes

        frame = parse_datetimes(frame)
    return frame


class TableWriter:
    """Append chunks of rows to a CSV, Parquet, JSON Lines or text file, or CSV to a stream.

    Use as a context manager; a file is written under a temporary name and renamed
    only when the block ends without an exception (closing the file included).
    """

    def __init__(self, path: str | os.PathLike | None, stream=None):
        self.path = None if path is None else Path(path)
        self.fmt = "csv" if self.path is None else data_format(self.path)
        self.stream = stream
        self._parquet = None
        self._first = True
        self._atomic = None
        self._fh = None

    def __enter__(self) -> "TableWriter":
        if self.path is None:
            self._fh = self.stream
            return self
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        try:
            if self.fmt != "parquet":
                self._fh = open(self._tmp, "w", encoding="utf-8", newline="")
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(self, chunk) -> None:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            table = _arrow_table(chunk)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema,
                                                 **parquet_options(table.schema))
            self._parquet.write_table(table)
        else:
            self._fh.write(encode_text(chunk, self.fmt, header=self._first))
        self._first = False

    def __exit__(self, exc_type, exc, tb):
        close_error = None
        try:
            self._close()
        except BaseException as err:  # noqa: BLE001 - a failed close fails the write
            close_error = err
        if exc is None and close_error is not None:
            exc_type, exc, tb = type(close_error), close_error, close_error.__traceback__
        suppressed = False
        if self._atomic is not None:
            suppressed = self._atomic.__exit__(exc_type, exc, tb)
        if close_error is not None and exc is close_error:
            raise close_error
        return suppressed

    def _close(self) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
        finally:
            if self.path is not None and self._fh is not None:
                self._fh.close()
            elif self._fh is not None:
                self._fh.flush()


def _frame(chunk):
    import pandas as pd

    if isinstance(chunk, list):
        return pd.DataFrame({"value": chunk})
    if isinstance(chunk, np.ndarray):
        return pd.DataFrame(chunk, columns=[f"x{i}" for i in range(chunk.shape[1])])
    return chunk


def dictionary_columns(schema):
    """The columns worth Parquet's dictionary encoding: all but the floating-point ones (whose
    values rarely repeat, so that the encoder would build a dictionary only to drop it)."""
    import pyarrow.types as pat

    names = [f.name for f in schema if not pat.is_floating(f.type)]
    return names if names else False


def parquet_options(schema) -> dict:
    """How synthgen writes Parquet: dictionary encoding for the columns that are not floats;
    floating-point columns in BYTE_STREAM_SPLIT (each value's bytes regrouped by position, so
    that snappy finds the shared exponents: smaller files, written about twice as fast as
    plain floats, read by Arrow, Spark, DuckDB and polars)."""
    import pyarrow.types as pat

    floats = [f.name for f in schema if pat.is_floating(f.type)]
    out = {"use_dictionary": dictionary_columns(schema)}
    if floats:
        out["column_encoding"] = dict.fromkeys(floats, "BYTE_STREAM_SPLIT")
    return out


def _arrow_table(chunk):
    import pyarrow as pa

    return pa.Table.from_pandas(_frame(chunk), preserve_index=False)


def encode_text(chunk, fmt: str, *, header: bool = True) -> str:
    """Rows (a DataFrame, an array or a list of strings) as CSV, JSON Lines or text lines."""
    if isinstance(chunk, list) and fmt in ("csv", "text"):
        return "".join(f"{s}\n" for s in chunk)
    if fmt == "text":
        raise InvalidDataError("a text output file takes strings only; use .csv for tables")
    frame = _frame(chunk)
    if fmt == "csv":
        return frame.to_csv(index=False, header=header)
    text = frame.to_json(orient="records", lines=True, date_format="iso", double_precision=15)
    return text if text.endswith("\n") else text + "\n"


def encoded_bytes_per_row(chunk, fmt: str, rows: int = 2000) -> float:
    """Bytes a row of ``chunk`` takes in format ``fmt``, measured on its first ``rows`` rows."""
    part = chunk[:rows] if isinstance(chunk, (list, np.ndarray)) else chunk.iloc[:rows]
    n = len(part)
    if n == 0:
        return 0.0
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(_arrow_table(part), buf)
        return buf.tell() / n
    return len(encode_text(part, fmt, header=False).encode("utf-8")) / n
