"""Model files refuse anything damaged, foreign or unsafe; every write is atomic."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen.errors import InvalidDataError, ModelFileError
from synthgen.io import (
    FORMAT_VERSION,
    TableWriter,
    atomic_path,
    read_data,
    read_model_file,
    write_model_file,
)


class _WritesMarker:
    """Unpickling this object would create the file at ``path`` (code run by pickle)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def fitted(correlated_data):
    return synthgen.make("gaussian").fit(correlated_data, seed=3)


@pytest.fixture
def model_path(fitted, tmp_path) -> Path:
    path = tmp_path / "model.sgm"
    fitted.save(path)
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def with_config(model_path: Path, out: Path, change) -> Path:
    entries = members(model_path)
    config = json.loads(entries["config.json"])
    change(config)
    entries["config.json"] = json.dumps(config).encode()
    return write_zip(out, entries)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- round trip ----------------------------------------------------------------------------------


def test_model_round_trip(fitted, model_path, correlated_data):
    back = synthgen.load(model_path)
    assert type(back) is type(fitted) and back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(np.asarray(back.params_.mean), np.asarray(fitted.params_.mean))
    np.testing.assert_array_equal(np.asarray(back.params_.chol), np.asarray(fitted.params_.chol))
    np.testing.assert_array_equal(back.sample(500, seed=8), fitted.sample(500, seed=8))
    np.testing.assert_array_equal(back.score_samples(correlated_data),
                                  fitted.score_samples(correlated_data))
    config, _ = read_model_file(model_path)
    assert config["format_version"] == FORMAT_VERSION
    assert config["generator"] == "gaussian"
    assert config["training"]["n_rows"] == len(correlated_data)


def test_model_file_holds_json_and_plain_arrays(model_path):
    entries = members(model_path)
    assert set(entries) == {"config.json", "params.npz"}
    with np.load(io.BytesIO(entries["params.npz"]), allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_tree_round_trip_of_nested_structures(tmp_path):
    from synthgen.generators.gaussian import GaussianParams

    tree = {"p": GaussianParams(np.arange(3.0), np.eye(3)), "list": [1, 2.5, "x", None, True],
            "tuple": (np.int32(4), np.zeros((2, 0)))}
    path = tmp_path / "t.sgm"
    write_model_file(path, {"generator": "gaussian"}, {"tree": tree})
    _, trees = read_model_file(path)
    back = trees["tree"]
    assert isinstance(back["p"], GaussianParams)
    np.testing.assert_array_equal(back["p"].chol, np.eye(3))
    assert back["list"] == [1, 2.5, "x", None, True]
    assert back["tuple"][0] == 4 and back["tuple"][1].shape == (2, 0)


# -- refusing bad files --------------------------------------------------------------------------


def test_pickled_object_array_is_refused_and_never_unpickled(model_path, tmp_path):
    marker = tmp_path / "pwned"
    entries = members(model_path)
    with np.load(io.BytesIO(entries["params.npz"]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _WritesMarker(str(marker))
    arrays["params/mean"] = evil
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    entries["params.npz"] = buf.getvalue()
    crafted = write_zip(tmp_path / "evil.sgm", entries)
    with pytest.raises(ModelFileError, match="pickle"):
        read_model_file(crafted)
    with pytest.raises(ModelFileError):
        synthgen.load(crafted)
    assert not marker.exists()
    # The crafted archive is a real threat: a reader that allowed pickle would run its code.
    with np.load(io.BytesIO(entries["params.npz"]), allow_pickle=True) as npz:
        npz["params/mean"]
    assert marker.exists()


def test_truncated_file(model_path, tmp_path):
    raw = model_path.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 30):
        part = tmp_path / f"cut{cut}.sgm"
        part.write_bytes(raw[:cut])
        with pytest.raises(ModelFileError, match=part.name):
            synthgen.load(part)


def test_zip_without_config(model_path, tmp_path):
    entries = members(model_path)
    del entries["config.json"]
    path = write_zip(tmp_path / "noconfig.sgm", entries)
    with pytest.raises(ModelFileError, match="lacks config.json"):
        synthgen.load(path)


def test_foreign_zip(tmp_path):
    path = write_zip(tmp_path / "foreign.sgm", {"readme.txt": b"hello", "data.bin": b"\x00\x01"})
    with pytest.raises(ModelFileError, match="not a synthgen model file"):
        synthgen.load(path)
    buf = io.BytesIO()
    np.savez(buf, x=np.arange(3))
    lookalike = write_zip(tmp_path / "lookalike.sgm",
                          {"config.json": b'{"name": "something else"}', "params.npz": buf.getvalue()})
    with pytest.raises(ModelFileError, match="format marker"):
        synthgen.load(lookalike)


def test_non_zip_file(tmp_path):
    path = tmp_path / "text.sgm"
    path.write_text("time,amount\n1,2\n")
    with pytest.raises(ModelFileError, match="text.sgm"):
        synthgen.load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        synthgen.load(tmp_path / "absent.sgm")
    with pytest.raises(ModelFileError, match="folder"):
        synthgen.load(tmp_path)


def test_newer_format_version(model_path, tmp_path):
    path = with_config(model_path, tmp_path / "future.sgm",
                       lambda c: c.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match="upgrade synthgen"):
        synthgen.load(path)


def test_config_that_is_not_json_or_names_unknown_generator(model_path, tmp_path):
    entries = members(model_path)
    entries["config.json"] = b"{not json"
    with pytest.raises(ModelFileError, match="not valid JSON"):
        synthgen.load(write_zip(tmp_path / "badjson.sgm", entries))
    path = with_config(model_path, tmp_path / "unknown.sgm", lambda c: c.update(generator="zzz"))
    with pytest.raises(ModelFileError, match="unknown generator 'zzz'"):
        synthgen.load(path)


def test_damaged_params_npz(model_path, tmp_path):
    entries = members(model_path)
    entries["params.npz"] = entries["params.npz"][:40]
    with pytest.raises(ModelFileError, match="params.npz"):
        synthgen.load(write_zip(tmp_path / "badnpz.sgm", entries))


@pytest.mark.parametrize("name", ["os:system", "subprocess:Popen", "collections:OrderedDict",
                                  "synthgenx.evil:Tuple", "builtins:tuple"])
def test_config_naming_a_class_outside_synthgen(model_path, tmp_path, name):
    def change(config):
        config["trees"]["params"]["class"] = name

    path = with_config(model_path, tmp_path / "outside.sgm", change)
    with pytest.raises(ModelFileError, match="outside synthgen"):
        synthgen.load(path)


def test_config_naming_a_synthgen_object_that_is_not_a_parameter_tuple(model_path, tmp_path):
    def change(config):
        config["trees"]["params"]["class"] = "synthgen.io:atomic_path"

    path = with_config(model_path, tmp_path / "notuple.sgm", change)
    with pytest.raises(ModelFileError, match="not a parameter tuple"):
        synthgen.load(path)


# -- atomic writes -------------------------------------------------------------------------------


def test_atomic_path_leaves_no_file_on_error(tmp_path):
    final = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("half a file")
            raise RuntimeError("crash while writing")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_file_on_error_and_replaces_it_on_success(tmp_path):
    final = tmp_path / "out.csv"
    final.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(final) as tmp:
            tmp.write_text("new")
            raise KeyboardInterrupt
    assert final.read_text() == "old"
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new"
    assert leftovers(tmp_path) == []


def test_atomic_path_needs_an_existing_folder(tmp_path):
    with pytest.raises(InvalidDataError, match="does not exist"):
        with atomic_path(tmp_path / "missing" / "x.csv"):
            pass


def test_model_save_is_atomic(fitted, tmp_path, monkeypatch):
    path = tmp_path / "m.sgm"

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(path)
    assert not path.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_table_writer_round_trip_and_failure(tmp_path, suffix):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=30), "n": np.arange(30), "s": list("abc") * 10})
    path = tmp_path / f"t{suffix}"
    with TableWriter(path) as writer:
        for start in range(0, 30, 7):
            writer.write(frame.iloc[start:start + 7])
    back = read_data(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False, rtol=1e-14)

    failed = tmp_path / f"f{suffix}"
    with pytest.raises(ValueError, match="stop"):
        with TableWriter(failed) as writer:
            writer.write(frame.iloc[:10])
            raise ValueError("stop")
    assert not failed.exists() and leftovers(tmp_path) == []


def test_text_round_trip(tmp_path):
    path = tmp_path / "plates.txt"
    with TableWriter(path) as writer:
        writer.write(["AB51CDE", "XY02ZZZ"])
        writer.write(["LM70ABC"])
    assert read_data(path) == ["AB51CDE", "XY02ZZZ", "LM70ABC"]
    with pytest.raises(InvalidDataError, match="strings only"):
        with TableWriter(tmp_path / "table.txt") as writer:
            writer.write(pd.DataFrame({"a": [1.0]}))
    assert not (tmp_path / "table.txt").exists()


def test_read_data_errors(tmp_path):
    with pytest.raises(InvalidDataError, match="cannot tell the format"):
        read_data(tmp_path / "data.xlsx")
    with pytest.raises(InvalidDataError, match="does not exist"):
        read_data(tmp_path / "absent.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InvalidDataError, match="could not read"):
        read_data(bad)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    from synthgen.io import atomic_path

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("a\n1\n")
        assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)


# -- temporary files: naming, signals, leftovers of killed writers, failing file systems ---------


def test_a_temporary_name_says_which_process_writes_it(tmp_path):
    import os

    with atomic_path(tmp_path / "out.csv") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.csv.")
        assert tmp.name.endswith(".part") and f"-{os.getpid()}." in tmp.name


def test_live_temporary_files_can_be_removed_by_a_signal_handler(tmp_path):
    from synthgen.io import remove_live_temp_files

    final = tmp_path / "out.csv"
    final.write_text("old")
    with atomic_path(final) as tmp:
        tmp.write_text("half")
        remove_live_temp_files()
        assert not tmp.exists()
        with pytest.raises(FileNotFoundError):
            tmp.stat()
        tmp.write_text("whole")
    assert final.read_text() == "whole"
    assert leftovers(tmp_path) == []


def _temp_name(final: str, host: str, pid: int, rand: str = "a1b2c3d4") -> str:
    return f".{final}.{host}-{pid}.{rand}.part"


def test_stale_temporary_files_of_gone_writers_are_swept_and_no_others(tmp_path):
    import os
    import subprocess
    import time

    from synthgen.io import STALE_TEMP_SECONDS, _writer_tag, sweep_stale_temp_files

    host = _writer_tag().rpartition("-")[0]
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    old = time.time() - 10 * STALE_TEMP_SECONDS
    names = {
        "stale": _temp_name("out.csv", host, gone.pid),
        "alive": _temp_name("out.csv", host, alive.pid),
        "fresh": _temp_name("out.csv", host, gone.pid, "zzzzzzzz"),
        "other host": _temp_name("out.csv", "elsewhere", gone.pid),
        "other file": _temp_name("other.csv", host, gone.pid),
        "not ours": ".out.csv.notes.part",
    }
    try:
        for key, name in names.items():
            (tmp_path / name).write_text(key)
            if key != "fresh":
                os.utime(tmp_path / name, (old, old))
        removed = sweep_stale_temp_files(tmp_path / "out.csv")
    finally:
        alive.kill()
        alive.wait()
    assert [p.name for p in removed] == [names["stale"]]
    assert leftovers(tmp_path) == sorted(n for k, n in names.items() if k != "stale")
    # a write of out.csv sweeps in the same way
    os.utime(tmp_path / names["fresh"], (old, old))
    with atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("new")
    assert names["fresh"] not in leftovers(tmp_path)


def test_a_file_system_failure_is_one_error_naming_the_output(tmp_path):
    import errno

    from synthgen.io import OutputFileError

    final = tmp_path / "big.parquet"
    final.write_text("old")
    with pytest.raises(OutputFileError) as info:
        with atomic_path(final) as tmp:
            tmp.write_text("part")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    message = str(info.value)
    assert message == (f"cannot write {final}: no space left on device (errno 28); "
                       "the existing file is unchanged")
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert final.read_text() == "old" and leftovers(tmp_path) == []


@pytest.mark.parametrize("target", ["/proc/model.sgm", "/sys/model.sgm"])
def test_saving_into_a_virtual_folder_names_the_target_not_the_temporary(fitted, target):
    from synthgen.io import OutputFileError

    with pytest.raises(OutputFileError) as info:
        fitted.save(target)
    message = str(info.value)
    assert message.startswith(f"cannot write {target}: folder ") and "does not take new files" in message
    assert ".part" not in message and "\n" not in message


def test_a_failure_while_closing_the_file_fails_the_write(tmp_path, monkeypatch):
    import errno

    import pyarrow.parquet as pq

    from synthgen.io import OutputFileError

    def full_on_close(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "close", full_on_close)
    final = tmp_path / "t.parquet"
    with pytest.raises(OutputFileError, match="no space left on device"):
        with TableWriter(final) as writer:
            writer.write(pd.DataFrame({"a": [1.0, 2.0]}))
    assert not final.exists() and leftovers(tmp_path) == []


def test_the_encoded_size_of_a_row_is_measured_in_the_output_format():
    from synthgen.io import encode_text, encoded_bytes_per_row

    frame = pd.DataFrame({"x": np.arange(100) * 1.5, "s": ["abc"] * 100})
    text = encode_text(frame, "csv", header=False)
    assert encoded_bytes_per_row(frame, "csv") == len(text.encode()) / 100
    assert encoded_bytes_per_row(["AB12CDE"] * 10, "text") == 8.0
    assert 0 < encoded_bytes_per_row(frame, "parquet") < 100
