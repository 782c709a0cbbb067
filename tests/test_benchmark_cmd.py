"""``synthgen benchmark`` end to end: files written, sane values, errors, failing cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen._bench.cases import HOLDOUT_FRACTION, DatasetSpec, load_split, resolve_datasets
from synthgen._bench.output import COLUMNS
from synthgen.benchmarking import Case, run_cases
from synthgen.cli.app import app
from synthgen.cli.benchmark import parse_model_params
from synthgen.errors import InvalidParameterError
from synthgen.evaluation import EVERY_PAIR

runner = CliRunner()
ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}
N_ROWS = 200
HEADERS = [h for h, _ in COLUMNS]

FACTORIES = '''
import os, sys

class Bootstrap:
    """Draws training rows with replacement: every synthetic row is a copy."""
    def __init__(self, params, context):
        self.context = context
    def fit(self, data, seed):
        self.data = data
    def sample(self, n, seed):
        return self.data.sample(n, replace=True, random_state=seed).reset_index(drop=True)

class Raises(Bootstrap):
    def fit(self, data, seed):
        raise RuntimeError("boom in fit")

class Exits(Bootstrap):
    def fit(self, data, seed):
        print("about to exit", file=sys.stderr, flush=True)
        os._exit(3)

class Sleeps(Bootstrap):
    def fit(self, data, seed):
        import time
        time.sleep(120)
'''


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def assert_usage_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in fragments:
        assert fragment in last, (fragment, last)
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory) -> Path:
    """200 rows: two correlated numbers, a uniform one, and a 0/1 label that depends on them."""
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=N_ROWS)
    x2 = 0.8 * x1 + 0.6 * rng.normal(size=N_ROWS)
    x3 = rng.uniform(-1, 1, size=N_ROWS)
    y = (x1 + 0.5 * x3 + 0.3 * rng.normal(size=N_ROWS) > 0).astype(int)
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": y}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ok_run(table_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "out"
    result = invoke("benchmark", "--models", "gaussian,kde", "--datasets", table_csv, "--target", "y",
                    "--quick", "--plot", "-o", out)
    return result, out


def test_writes_json_markdown_and_plot_with_sane_values(ok_run):
    result, out = ok_run
    assert result.exit_code == 0, result.output
    data = json.loads((out / "benchmark.json").read_text())
    rows = data["rows"]
    assert [(r["model"], r["dataset"]) for r in rows] == [("gaussian", "tiny"), ("kde", "tiny")]
    n_hold = round(N_ROWS * HOLDOUT_FRACTION)
    for r in rows:
        assert r["status"] == "ok" and r["error"] is None
        assert (r["n_train"], r["n_holdout"], r["n_synthetic"]) == (N_ROWS - n_hold, n_hold, N_ROWS - n_hold)
        for key in ("fidelity", "column_shapes", "column_pair_trends", "detection_auc",
                    "utility_tstr", "utility_trtr", "dcr_below_holdout_p05", "exact_copies"):
            assert 0.0 <= r[key] <= 1.0, (key, r[key])
        assert r["utility_target"] == "y" and r["utility_metric"] == "roc_auc"
        assert r["rows_per_s"] > 0 and r["fit_s"] > 0 and r["sample_s"] > 0
        assert r["speed_rows"] == 10_000
        assert r["peak_rss_mib"] > 0 and r["added_rss_mib"] >= 0
        assert r["peak_rss_mib"] >= r["baseline_rss_mib"]
        assert r["dcr_median"] >= 0 and r["dcr_holdout_median"] > 0
    assert data["settings"]["quick"] is True
    assert data["settings"]["models"]["kde"]["params"] == {}
    assert data["machine"]["cpu_count"] >= 1 and "jax" in data["machine"]["versions"]
    assert data["settings"]["command"].startswith("synthgen benchmark --quick --models gaussian,kde")
    md = (out / "benchmark.md").read_text()
    assert "quick mode" in md
    assert "| " + " | ".join(HEADERS) + " |" in md
    assert md.count("| gaussian | tiny |") == 1 and md.count("| kde | tiny |") == 1
    assert (out / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for header in ("fidelity", "det. AUC", "gaussian", "kde"):
        assert header in result.stdout


def test_row_agrees_with_evaluate_run_here(ok_run, table_csv):
    """Same split, fit and sample seeds in this process give the row's numbers."""
    _, out = ok_run
    row = json.loads((out / "benchmark.json").read_text())["rows"][0]
    spec = resolve_datasets([str(table_csv)], target="y")[0]
    train, holdout, _ = load_split(spec, quick=True, max_rows=None, seed=0)
    synthetic = synthgen.make("gaussian").fit(train, seed=0).sample(len(train), seed=1)
    report = synthgen.evaluate(train, synthetic, holdout=holdout, target="y", seed=0,
                               **EVERY_PAIR).to_dict()
    assert row["fidelity"] == pytest.approx(report["score"], abs=1e-12)
    assert row["detection_auc"] == pytest.approx(report["detection"]["auc"], abs=1e-12)
    assert row["utility_tstr"] == pytest.approx(report["utility"]["metrics"]["roc_auc"]["tstr"], abs=1e-12)
    assert row["dcr_median"] == pytest.approx(report["privacy"]["dcr"]["synthetic"]["median"], abs=1e-12)


def test_split_is_disjoint_complete_and_seeded(table_csv):
    spec = resolve_datasets([str(table_csv)], target="y")[0]
    frame = pd.read_csv(table_csv)
    train, holdout, info = load_split(spec, quick=False, max_rows=None, seed=5)
    keys = lambda f: set(map(tuple, f.round(12).to_numpy()))  # noqa: E731
    assert keys(train) | keys(holdout) == keys(frame) and not keys(train) & keys(holdout)
    assert info == {"rows_available": N_ROWS, "rows_used": N_ROWS, "n_train": 140, "n_holdout": 60,
                    "subsampled": False}
    again, _, _ = load_split(spec, quick=False, max_rows=None, seed=5)
    other, _, _ = load_split(spec, quick=False, max_rows=None, seed=6)
    pd.testing.assert_frame_equal(train, again)
    assert not train.equals(other)
    capped, held, info = load_split(spec, quick=False, max_rows=50, seed=5)
    assert (len(capped), len(held), info["subsampled"]) == (35, 15, True)


def test_embedded_sets_have_their_targets_and_creditcard_drops_time():
    specs = {s.name: s for s in resolve_datasets(None)}
    assert list(specs) == list(synthgen.datasets.list_datasets())
    assert specs["creditcard"].target == "Class" and specs["adult"].target == "income"
    assert specs["ukreg"].target is None
    train, holdout, _ = load_split(specs["creditcard"], quick=True, max_rows=None, seed=0)
    assert "Time" not in train.columns and len(train) + len(holdout) == 1722
    strings, held, info = load_split(specs["ukreg"], quick=True, max_rows=None, seed=0)
    assert isinstance(strings, list) and len(strings) + len(held) == specs["ukreg"].quick_rows


@pytest.mark.parametrize("args, fragments", [
    (["--models", "nope"], ["unknown model 'nope'", "gaussian"]),
    (["--models", "gaussian,gaussian"], ["more than once"]),
    (["--datasets", "nope"], ["unknown data set 'nope'", "creditcard"]),
    (["--datasets", "missing.csv"], ["missing.csv does not exist"]),
    (["--models", "gaussian", "--param", "gaussian.nope=1"], ["unknown parameter", "nope"]),
    (["--models", "gaussian", "--param", "kde.bandwidth=1"], ["'kde'", "does not run"]),
    (["--models", "gaussian", "--param", "epochs=3"], ["MODEL.KEY=VALUE"]),
    (["--models", "gaussian", "--max-rows", "5"], ["--max-rows", "at least 20", "got 5"]),
    (["--models", "gaussian", "--timeout", "0"], ["--timeout", "positive"]),
])
def test_bad_names_exit_2_with_one_line(args, fragments, tmp_path):
    result = invoke("benchmark", *args, "-o", tmp_path / "out")
    assert_usage_error(result, *fragments)
    assert not (tmp_path / "out").exists()


def test_bad_target_and_output_exit_2(table_csv, tmp_path):
    result = invoke("benchmark", "--models", "gaussian", "--datasets", table_csv, "--target", "zz")
    assert_usage_error(result, "--target 'zz'", "x1")
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert_usage_error(invoke("benchmark", "--models", "gaussian", "-o", afile), "is a file")
    assert_usage_error(invoke("benchmark", "--models", "gaussian", "-o", tmp_path / "a" / "b"), "does not exist")


def test_failing_model_reports_its_error_in_its_row(table_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("benchmark", "--models", "gaussian,kde", "--datasets", table_csv, "--quick",
                    "--param", "kde.bandwidth=-1", "-q")
    assert result.exit_code == 1, result.output
    folder = tmp_path / "synthgen-benchmark"
    gaussian, kde = json.loads((folder / "benchmark.json").read_text())["rows"]
    assert gaussian["status"] == "ok" and 0 <= gaussian["fidelity"] <= 1
    assert gaussian["utility_metric"] is None  # no --target: no utility
    assert kde["status"] == "error" and kde["stage"] == "fit"
    assert kde["error"].startswith("InvalidParameterError: bandwidth must be")
    assert kde["fidelity"] is None and kde["params"] == {"bandwidth": -1}
    md = (folder / "benchmark.md").read_text()
    kde_line = next(line for line in md.splitlines() if line.startswith("| kde |"))
    assert "fit failed: InvalidParameterError: bandwidth must be" in kde_line
    assert "fit failed" in result.stdout and result.stderr == ""


def test_crashes_exceptions_and_timeouts_stay_in_their_rows(table_csv, tmp_path):
    factories = tmp_path / "factories.py"
    factories.write_text(FACTORIES)
    spec = resolve_datasets([str(table_csv)], target="y")[0]
    cases = [Case(model=name, dataset=spec, factory=f"{factories}:{name}",
                  timeout=3 if name == "Sleeps" else None)
             for name in ("Raises", "Exits", "Sleeps", "Bootstrap")]
    seen = []
    result = run_cases(cases, quick=True,
                       progress=lambda i, n, case, row: seen.append((i, n, case.model, row is None)))
    raises, exits, sleeps, boot = result.rows
    assert raises["stage"] == "fit" and raises["error"] == "RuntimeError: boom in fit"
    assert exits["status"] == "error" and "exited with status 3" in exits["error"]
    assert exits["error"].endswith("about to exit")
    assert sleeps["status"] == "error" and "timed out after 3 s" in sleeps["error"]
    assert boot["status"] == "ok" and result.failed == [raises, exits, sleeps]
    # resampled training rows: every synthetic row is a copy, at distance 0
    assert boot["exact_copies"] == 1.0 and boot["dcr_median"] == 0.0
    assert boot["dcr_below_holdout_p05"] == 1.0 and boot["dcr_holdout_median"] > 0
    assert seen == [(i, 4, c.model, start) for i, c in enumerate(cases) for start in (True, False)]


def test_param_parsing():
    assert parse_model_params(["vae.epochs=5", "gmm.n_components_range=[1,3]", "kde.bandwidth=cv"]) == {
        "vae": {"epochs": 5}, "gmm": {"n_components_range": (1, 3)}, "kde": {"bandwidth": "cv"}}
    for bad in ("vae=3", "vae.=3", ".epochs=3", "vae.epochs"):
        with pytest.raises(InvalidParameterError, match="MODEL.KEY=VALUE"):
            parse_model_params([bad])
    with pytest.raises(InvalidParameterError, match="more than once"):
        parse_model_params(["vae.epochs=1", "vae.epochs=2"])


def test_quick_settings_apply_only_to_known_hyperparameters():
    from synthgen._bench.cases import model_params

    assert model_params("gaussian", quick=True) == {}
    if "vae" in synthgen.list_generators():
        assert model_params("vae", quick=True) == {"verbose": False, "epochs": 30}
        assert model_params("vae", quick=False, given={"epochs": 7}) == {"verbose": False, "epochs": 7}
    adult = resolve_datasets(["adult"])[0]
    assert DatasetSpec.from_dict(adult.to_dict()) == adult
