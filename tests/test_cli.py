"""The command line end to end: every command, output formats, seeds, and one-line errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen.cli.app import app
from synthgen.cli._common import parse_params, parse_value
from synthgen._params import Bool, Param
from synthgen.errors import InvalidParameterError, SamplingError
from synthgen.generators.gaussian import GaussianGenerator
from synthgen.io import read_data

runner = CliRunner()
QUIET_ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env or QUIET_ENV)


def assert_error(result, *fragments: str) -> None:
    """Exit status 2 and one error line, the last on stderr (status lines may precede it)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert errors == lines[-1:], result.stderr
    assert lines[-1].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    assert "Traceback" not in result.output


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory) -> Path:
    """A small numeric table: 3 correlated float columns and an int column."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=(240, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.4], [0.0, 0.0, 1.0]])
    frame = pd.DataFrame({"a": z[:, 0], "b": z[:, 1] * 3 + 10, "c": z[:, 2],
                          "k": rng.integers(0, 5, size=240)})
    path = tmp_path_factory.mktemp("data") / "table.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(table_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "g.sgm"
    result = invoke("fit", table_csv, "--model", "gaussian", "-o", out, "--seed", 4, "-q")
    assert result.exit_code == 0, result.output
    return out


def read_stdout_csv(result) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(result.stdout))


# -- parsing -------------------------------------------------------------------------------------


def test_param_values_parse_as_json_literals_else_strings():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("0.25") == 0.25
    assert parse_value("true") is True and parse_value("false") is False
    assert parse_value("null") is None
    assert parse_value("[64, 32]") == (64, 32)
    assert parse_value("bic") == "bic"
    assert parse_value("full") == "full"
    assert parse_params(["a=1", "b=x=y", "c="]) == {"a": 1, "b": "x=y", "c": ""}


@pytest.mark.parametrize("bad", ["novalue", "=3", "1x=2", "a b=1"])
def test_malformed_param_is_an_error(bad):
    with pytest.raises(InvalidParameterError, match="KEY=VALUE"):
        parse_params([bad])


def test_repeated_param_is_an_error():
    with pytest.raises(InvalidParameterError, match="more than once"):
        parse_params(["a=1", "a=2"])


# -- listing commands ----------------------------------------------------------------------------


def test_version_and_help():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"synthgen {synthgen.__version__}"
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("sample", "fit", "score", "models", "datasets"):
        assert command in result.stdout
    bare = invoke()
    assert bare.exit_code == 2 and "Usage" in bare.output and "sample" in bare.output


def test_models_lists_the_registry_one_line_each():
    result = invoke("models")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    described = synthgen.describe_generators()
    assert len(lines) == len(described)
    for line, (name, description) in zip(lines, described.items()):
        assert line.split()[0] == name
        assert line.endswith(description)


def test_datasets_lists_sizes_and_provenance():
    result = invoke("datasets")
    assert result.exit_code == 0
    out = result.stdout
    assert "creditcard: 1,722 rows x 31 columns" in out
    assert "adult: 32,561 rows x 15 columns" in out
    assert "ukreg:" in out
    assert "CC BY 4.0" in out and "Dal Pozzolo" in out


def test_listing_commands_do_not_import_jax():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from synthgen.cli.app import app\n"
        "r = CliRunner()\n"
        "for args in (['--help'], ['--version'], ['models'], ['datasets'], ['sample', '--help']):\n"
        "    res = r.invoke(app, args)\n"
        "    assert res.exit_code == 0, (args, res.output)\n"
        "print('jax' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


# -- sample --------------------------------------------------------------------------------------


def test_sample_writes_n_rows_with_the_training_columns_to_stdout(table_csv):
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 37, "--seed", 1)
    assert result.exit_code == 0, result.output
    frame = read_stdout_csv(result)
    assert list(frame.columns) == ["a", "b", "c", "k"]
    assert len(frame) == 37
    assert frame["k"].dtype == np.int64 and frame["k"].between(0, 4).all()
    assert "wrote 37 rows" in result.stderr


def test_quiet_writes_nothing_on_stderr(table_csv):
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 5, "-q")
    assert result.exit_code == 0
    assert result.stderr == ""


class _ChattyGaussian(GaussianGenerator):
    """A Gaussian generator with a training display of its own, like the VAE's."""

    hyperparameters = {**GaussianGenerator.hyperparameters,
                       "verbose": Param(True, Bool(), "report training on stderr")}

    def _fit(self, key, X, hp):
        if hp["verbose"]:
            print("training display", file=sys.stderr)
        return super()._fit(key, X, hp)


def test_quiet_silences_a_generators_own_training_display(table_csv, monkeypatch):
    import synthgen.registry

    monkeypatch.setattr(synthgen.registry, "make", lambda name, **hp: _ChattyGaussian(**hp))
    args = ("sample", "--data", table_csv, "--n", 20, "--seed", 0)
    loud = invoke(*args)
    assert loud.exit_code == 0, loud.output
    assert "training display" in loud.stderr
    quiet = invoke(*args, "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout
    forced = invoke(*args, "-q", "--param", "verbose=true")
    assert "training display" in forced.stderr


def test_csv_on_stdout_stays_on_stdout_with_a_progress_bar(table_csv):
    env = {"TTY_INTERACTIVE": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "160"}
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 300, "--seed", 1,
                    env=env)
    assert result.exit_code == 0, result.output
    assert len(read_stdout_csv(result)) == 300
    assert "300/300 rows" in result.stderr and "a,b,c,k" not in result.stderr


def test_same_seed_same_rows_and_chunking_does_not_matter(table_csv):
    base = ("sample", "--model", "gaussian", "--data", table_csv, "--n", 300, "--seed", 9, "-q")
    first = invoke(*base)
    again = invoke(*base, "--chunk-rows", 7)
    other = invoke(*base[:-3], "--seed", 10, "-q")
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout


@pytest.mark.parametrize("seed", [None, 0, 123])
def test_fit_then_sample_equals_sample(table_csv, tmp_path, seed):
    seed_args = () if seed is None else ("--seed", seed)
    model = tmp_path / "m.sgm"
    fitted = invoke("fit", table_csv, "--model", "gaussian", "-o", model, "-q",
                    "--param", "covariance_type=diag", *seed_args)
    assert fitted.exit_code == 0, fitted.output
    from_file = invoke("sample", "--from", model, "--n", 500, "-q", *seed_args)
    direct = invoke("sample", "--data", table_csv, "--model", "gaussian", "--n", 500, "-q",
                    "--param", "covariance_type=diag", *seed_args)
    assert from_file.exit_code == 0 and direct.exit_code == 0
    assert from_file.stdout == direct.stdout
    assert len(read_stdout_csv(direct)) == 500


def test_sample_matches_the_library(table_csv):
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 50, "--seed", 5, "-q")
    gen = synthgen.make("gaussian").fit(read_data(table_csv), seed=5)
    expected = gen.sample(50, seed=5)
    got = read_stdout_csv(result)
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=1e-12)


def test_param_reaches_the_generator(table_csv, tmp_path):
    model = tmp_path / "diag.sgm"
    result = invoke("fit", table_csv, "--model", "gaussian", "-o", model, "-q",
                    "--param", "covariance_type=diag", "--param", "reg_covar=0.5")
    assert result.exit_code == 0
    gen = synthgen.load(model)
    assert gen.covariance_type == "diag" and gen.reg_covar == 0.5
    cov = gen.covariance_
    np.testing.assert_allclose(cov, np.diag(np.diag(cov)), atol=1e-6)
    assert np.all(np.diag(cov) >= 0.5)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_each_table_format_reads_back(table_csv, tmp_path, suffix):
    out = tmp_path / f"rows{suffix}"
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 20000,
                    "--seed", 2, "-o", out, "-q", "--chunk-rows", 6000)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    back = read_data(out)
    assert list(back.columns) == ["a", "b", "c", "k"]
    expected = synthgen.make("gaussian").fit(read_data(table_csv), seed=2).sample(20000, seed=2)
    # CSV and Parquet are exact; JSON Lines keeps 15 decimals.
    atol = 1e-15 if suffix == ".jsonl" else 0.0
    np.testing.assert_allclose(back.to_numpy(float), expected.to_numpy(float), rtol=1e-12, atol=atol)
    assert leftovers(tmp_path) == []


def test_default_data_is_the_embedded_creditcard_table():
    result = invoke("sample", "--model", "gaussian", "--n", 10, "--seed", 0, "-q")
    assert result.exit_code == 0, result.output
    frame = read_stdout_csv(result)
    gen = synthgen.make("gaussian").fit(synthgen.datasets.load("creditcard"), seed=0)
    expected = gen.sample(10, seed=0)
    assert list(frame.columns) == list(expected.columns)
    assert {"V1", "V28", "Amount"} <= set(frame.columns)
    np.testing.assert_allclose(frame.to_numpy(float), expected.to_numpy(float), rtol=1e-12)


def test_without_model_the_commands_fit_the_circuit(table_csv, tmp_path):
    model = tmp_path / "default.sgm"
    result = invoke("fit", table_csv, "-o", model, "--seed", 2, "-q")
    assert result.exit_code == 0, result.output
    fitted = synthgen.load(model)
    assert fitted.name == "circuit"
    expected = synthgen.make("circuit").fit(pd.read_csv(table_csv), seed=2)
    pd.testing.assert_frame_equal(fitted.sample(25, seed=3), expected.sample(25, seed=3))
    assert "Default: circuit" in invoke("sample", "--help").stdout


def test_ukreg_strings_to_a_text_file(tmp_path):
    from synthgen.vectorisers import ukreg_rules

    data = tmp_path / "plates.txt"
    data.write_text("\n".join(ukreg_rules.generate(400, seed=3)) + "\n")
    out = tmp_path / "new.txt"
    result = invoke("sample", "--model", "gaussian", "--data", data, "--n", 60, "--seed", 1,
                    "-o", out, "-q")
    assert result.exit_code == 0, result.output
    plates = read_data(out)
    assert len(plates) == 60 and all(isinstance(p, str) for p in plates)
    assert ukreg_rules.valid_mask(plates).mean() > 0.5


def test_progress_bar_on_an_interactive_stderr(table_csv, tmp_path):
    env = {"TTY_INTERACTIVE": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "160"}
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 3000,
                    "-o", tmp_path / "p.csv", env=env)
    assert result.exit_code == 0, result.output
    assert "3,000/3,000 rows" in result.stderr
    assert "rows/s" in result.stderr and "eta" in result.stderr


# -- score ---------------------------------------------------------------------------------------


def test_score_writes_log_density_per_row(table_csv, model_file, tmp_path):
    result = invoke("score", table_csv, "--from", model_file, "-q")
    assert result.exit_code == 0, result.output
    scores = read_stdout_csv(result)
    assert list(scores.columns) == ["log_density"]
    expected = synthgen.load(model_file).score_samples(read_data(table_csv))
    np.testing.assert_allclose(scores["log_density"], expected, rtol=1e-6)

    out = tmp_path / "scores.parquet"
    result = invoke("score", table_csv, "--from", model_file, "-o", out, "--with-data", "-q")
    assert result.exit_code == 0
    back = pd.read_parquet(out)
    assert list(back.columns) == ["a", "b", "c", "k", "log_density"]
    np.testing.assert_allclose(back["log_density"], expected, rtol=1e-6)


def test_score_refuses_data_of_another_shape(model_file, tmp_path):
    other = tmp_path / "other.csv"
    pd.DataFrame({"a": [1.0, 2.0], "z": [3.0, 4.0]}).to_csv(other, index=False)
    out = tmp_path / "scores.csv"
    assert_error(invoke("score", other, "--from", model_file, "-o", out), "columns")
    assert not out.exists()


# -- errors --------------------------------------------------------------------------------------


def test_unknown_model(table_csv, tmp_path):
    out = tmp_path / "x.csv"
    result = invoke("sample", "--model", "nope", "--data", table_csv, "-o", out)
    assert_error(result, "unknown generator 'nope'", "gaussian")
    assert not out.exists()


@pytest.mark.parametrize("param, fragment", [
    ("colour=red", "unknown parameter for gaussian: colour"),
    ("reg_covar=-1", "reg_covar must be"),
    ("covariance_type=spherical", "covariance_type must be one of"),
    ("justtext", "--param must be KEY=VALUE"),
])
def test_bad_param(table_csv, tmp_path, param, fragment):
    out = tmp_path / "x.csv"
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--param", param, "-o", out)
    assert_error(result, fragment)
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("n", [0, -3])
def test_n_must_be_positive(n):
    assert_error(invoke("sample", "--model", "gaussian", "--n", n), "--n must be a positive int")


@pytest.mark.parametrize("command", ["sample", "fit"])
def test_seed_must_be_a_non_negative_int(command, table_csv, tmp_path):
    args = ("fit", table_csv, "-o", tmp_path / "m.sgm") if command == "fit" else ("sample",)
    assert_error(invoke(*args, "--model", "gaussian", "--seed", -1), "--seed must be an int in [0,")


def test_unreadable_and_missing_data(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text('a,b\n1,2\n3,"unterminated\n')
    assert_error(invoke("sample", "--model", "gaussian", "--data", broken), "could not read")
    assert_error(invoke("sample", "--model", "gaussian", "--data", tmp_path / "absent.csv"),
                 "does not exist")
    assert_error(invoke("sample", "--model", "gaussian", "--data", "no-such-set"),
                 "creditcard", "adult", "ukreg")
    assert_error(invoke("fit", tmp_path / "absent.parquet", "-m", "gaussian", "-o", tmp_path / "m.sgm"),
                 "does not exist")


def test_damaged_model_file(model_file, tmp_path):
    junk = tmp_path / "junk.sgm"
    junk.write_bytes(b"this is not a zip file at all")
    assert_error(invoke("sample", "--from", junk), "junk.sgm")
    truncated = tmp_path / "truncated.sgm"
    raw = model_file.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    out = tmp_path / "out.csv"
    assert_error(invoke("sample", "--from", truncated, "-o", out), "truncated.sgm")
    assert_error(invoke("score", "x.csv", "--from", tmp_path / "absent.sgm"), "does not exist")
    assert not out.exists()


def test_bad_options_are_one_line(model_file, table_csv, tmp_path):
    assert_error(invoke("sample", "--bogus"), "--bogus")
    assert_error(invoke("sample", "--n", "many"), "--n")
    assert_error(invoke("fit"), "DATA")
    assert_error(invoke("sample", "--from", model_file, "--model", "gaussian"), "--from", "--model")
    assert_error(invoke("sample", "-o", tmp_path / "rows.xlsx"), "rows.xlsx")
    assert_error(invoke("sample", "-o", tmp_path / "missing" / "rows.csv"), "does not exist")


def test_table_to_text_file_fails_cleanly(table_csv, tmp_path):
    out = tmp_path / "rows.txt"
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "-o", out)
    assert_error(result, "strings only")
    assert not out.exists() and leftovers(tmp_path) == []


def test_error_mid_stream_leaves_no_file(table_csv, tmp_path, monkeypatch):
    from synthgen.base import Generator

    real = Generator.iter_sample

    def failing(self, n, *, seed=None, chunk_rows=65536):
        chunks = real(self, n, seed=seed, chunk_rows=chunk_rows)
        yield next(chunks)
        yield next(chunks)
        raise SamplingError("the sampler ran dry after two chunks")

    monkeypatch.setattr(Generator, "iter_sample", failing)
    for suffix in (".csv", ".parquet", ".jsonl"):
        out = tmp_path / f"rows{suffix}"
        result = invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 1000,
                        "--chunk-rows", 100, "-o", out)
        assert_error(result, "ran dry")
        assert not out.exists()
    assert leftovers(tmp_path) == []


def test_existing_output_survives_a_failed_run(table_csv, tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    result = invoke("sample", "--model", "gaussian", "--data", table_csv, "-o", out,
                    "--param", "reg_covar=-2")
    assert_error(result, "reg_covar")
    assert out.read_text() == "precious\n"


# -- the installed console script ----------------------------------------------------------------


def test_console_script_subprocess(table_csv, tmp_path):
    script = Path(sys.executable).with_name("synthgen")
    assert script.exists(), f"console script not installed beside {sys.executable}"
    ok = subprocess.run([str(script), "sample", "--model", "gaussian", "--data", str(table_csv),
                         "--n", "25", "--seed", "3", "-q"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    frame = pd.read_csv(io.StringIO(ok.stdout))
    assert frame.shape == (25, 4)
    bad = subprocess.run([str(script), "sample", "--n", "0"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["error: --n must be a positive int; got 0"]
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"synthgen {synthgen.__version__}"


# -- hostile environments: outputs that cannot be written ----------------------------------------


def no_fitting(monkeypatch):
    """Make any fit or sampling fail loudly: the command must refuse before it starts them."""
    from synthgen.base import Generator

    def forbidden(*args, **kwargs):
        raise AssertionError("the command started work it should have refused first")

    monkeypatch.setattr(Generator, "fit", forbidden)
    monkeypatch.setattr(Generator, "iter_sample", forbidden)


@pytest.mark.parametrize("target", ["/proc/x.csv", "/sys/x.csv"])
def test_outputs_in_folders_that_take_no_files_are_refused_before_any_work(model_file, table_csv,
                                                                           monkeypatch, target):
    no_fitting(monkeypatch)
    assert_error(invoke("sample", "--model", "gaussian", "--data", table_csv, "-o", target),
                 f"cannot write {target}", "does not take new files")
    assert_error(invoke("sample", "--from", model_file, "-o", target), f"cannot write {target}")
    assert_error(invoke("score", table_csv, "--from", model_file, "-o", target), f"cannot write {target}")
    sgm = target.replace(".csv", ".sgm")
    assert_error(invoke("fit", table_csv, "-m", "gaussian", "-o", sgm), f"cannot write {sgm}")


def test_saving_a_model_where_no_file_can_be_made_is_one_error_naming_it(model_file):
    from synthgen.io import OutputFileError

    gen = synthgen.load(model_file)
    with pytest.raises(OutputFileError) as info:
        gen.save("/proc/model.sgm")
    assert str(info.value).startswith("cannot write /proc/model.sgm: ") and "\n" not in str(info.value)
    assert ".part" not in str(info.value)
    assert isinstance(info.value, OSError) and info.value.filename == "/proc/model.sgm"


def test_a_table_to_a_text_file_is_refused_before_fitting_or_sampling(table_csv, model_file, tmp_path,
                                                                     monkeypatch):
    no_fitting(monkeypatch)
    out = tmp_path / "rows.txt"
    assert_error(invoke("sample", "--model", "gaussian", "--data", table_csv, "-o", out), "strings only")
    assert_error(invoke("sample", "--from", model_file, "-o", out), "strings only")
    assert_error(invoke("score", table_csv, "--from", model_file, "-o", out), "strings only")
    assert not out.exists() and leftovers(tmp_path) == []


def test_strings_still_go_to_a_text_file_from_a_model(tmp_path):
    model = Path(__file__).parent / "data" / "vae_ukreg_latent2.sgm"
    out = tmp_path / "plates.txt"
    result = invoke("sample", "--from", model, "--n", 7, "--seed", 1, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert len(read_data(out)) == 7


def test_more_rows_than_the_disk_can_hold_are_refused_before_writing(model_file, tmp_path):
    out = tmp_path / "big.csv"
    result = invoke("sample", "--from", model_file, "--n", 10**12, "-o", out)
    assert_error(result, f"cannot write {out}", "1,000,000,000,000 rows need about", "bytes free",
                 "lower --n")
    assert not out.exists() and leftovers(tmp_path) == []


def test_the_estimate_is_compared_with_the_free_space_of_the_target_folder(model_file, tmp_path,
                                                                           monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    free = {"bytes": 5_000}
    seen = []

    def disk_usage(folder):
        seen.append(Path(folder))
        return usage(10**12, 0, free["bytes"])

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    out = tmp_path / "rows.parquet"
    assert_error(invoke("sample", "--from", model_file, "--n", 20_000, "-o", out),
                 "20,000 rows need about", "has 5,000 bytes free")
    assert not out.exists() and seen == [tmp_path]
    free["bytes"] = 10**9
    result = invoke("sample", "--from", model_file, "--n", 20_000, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert len(read_data(out)) == 20_000


def test_a_full_disk_mid_write_is_one_line_and_keeps_the_old_file(model_file, tmp_path, monkeypatch):
    import errno

    from synthgen.io import TableWriter

    real = TableWriter.write
    calls = []

    def filling(self, chunk):
        calls.append(len(chunk))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, chunk)

    monkeypatch.setattr(TableWriter, "write", filling)
    for suffix in (".csv", ".parquet"):
        calls.clear()
        out = tmp_path / f"big{suffix}"
        out.write_bytes(b"the previous output")
        result = invoke("sample", "--from", model_file, "--n", 5000, "--chunk-rows", 1000, "-o", out)
        assert_error(result, f"cannot write {out}: no space left on device (errno 28)",
                     "the existing file is unchanged")
        assert out.read_bytes() == b"the previous output"
    assert leftovers(tmp_path) == []


def test_commands_run_off_the_main_thread_except_benchmark(table_csv, tmp_path, monkeypatch):
    """Signals are handled in the main thread while a command runs in a worker (so Ctrl-C never
    lands inside JAX); ``benchmark`` stays in the main thread to stop its case processes."""
    import threading

    from synthgen import benchmarking
    from synthgen.base import Generator

    on_main = []
    real_fit = Generator.fit

    def recording_fit(self, *args, **kwargs):
        on_main.append(threading.current_thread() is threading.main_thread())
        return real_fit(self, *args, **kwargs)

    def interrupted(*args, **kwargs):
        on_main.append(threading.current_thread() is threading.main_thread())
        raise KeyboardInterrupt

    monkeypatch.setattr(Generator, "fit", recording_fit)
    monkeypatch.setattr(benchmarking, "run_cases", interrupted)
    assert invoke("sample", "--model", "gaussian", "--data", table_csv, "--n", 5, "-q").exit_code == 0
    result = invoke("benchmark", "--quick", "--models", "gaussian", "--datasets", "creditcard",
                    "-o", tmp_path / "bench", "-q")
    assert on_main == [False, True]
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == ["error: interrupted"]


def test_warnings_reach_the_command_line_as_one_line(tmp_path):
    import subprocess
    import sys

    r = np.random.default_rng(0)
    values = [str(v) for v in r.normal(size=200).round(3)]
    values[::5] = ["hello"] * 40
    pd.DataFrame({"x": values, "y": r.normal(size=200)}).to_csv(tmp_path / "stray.csv", index=False)
    proc = subprocess.run([sys.executable, "-c", "from synthgen.cli import main; main()", "sample",
                           "--data", str(tmp_path / "stray.csv"), "--model", "gaussian", "--n", "5",
                           "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("warning: ") for ln in lines), proc.stderr
    assert any("'x'" in ln for ln in lines)
