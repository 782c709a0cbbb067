"""``synthgen evaluate`` end to end: the printed table, the JSON and HTML files, and errors."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen import datasets
from synthgen.cli.app import app
from synthgen.evaluation import EVERY_PAIR
from synthgen.io import read_data

runner = CliRunner()
QUIET_ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0", "COLUMNS": "120"}
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=QUIET_ENV)


def assert_error(result, *fragments: str) -> str:
    """Exit status 2 and one error line on stderr, containing each fragment; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Disjoint Adult rows as real (CSV), synthetic (JSON Lines) and holdout (Parquet) files,
    the synthetic ages shifted."""
    df = datasets.load("adult").sample(1100, random_state=0).reset_index(drop=True)
    folder = tmp_path_factory.mktemp("tables")
    real, synth, holdout = df.iloc[:500], df.iloc[500:900].copy(), df.iloc[900:]
    synth["age"] = synth["age"] + 3
    paths = {"real": folder / "real.csv", "synthetic": folder / "synthetic.jsonl",
             "holdout": folder / "holdout.parquet"}
    real.to_csv(paths["real"], index=False)
    synth.to_json(paths["synthetic"], orient="records", lines=True)
    holdout.to_parquet(paths["holdout"], index=False)
    return paths


@pytest.fixture(scope="module")
def full_run(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = invoke("evaluate", files["real"], files["synthetic"], "--holdout", files["holdout"],
                    "--target", "income", "--seed", 3, "--json", out / "report.json",
                    "--html", out / "report.html")
    return result, out


@pytest.fixture(scope="module")
def library_report(files):
    """The same files through the library, as the command reads them."""
    return synthgen.evaluate(read_data(files["real"]), read_data(files["synthetic"]),
                             holdout=read_data(files["holdout"]), target="income", seed=3)


def test_prints_the_report_as_a_table(full_run, library_report):
    result, _ = full_run
    assert result.exit_code == 0, result.output
    d = library_report.to_dict()
    out = result.stdout
    for phrase in ("Evaluation (500 real, 400 synthetic, 200 holdout)", "fidelity score",
                   "column pair trends", "pairs counted", "detection ROC AUC",
                   "utility roc_auc (income)", "exact copies", "DCR median", "NNDR median",
                   "Column shapes", "Column pair trends", "native-country"):
        assert phrase in out, phrase
    assert re.search(rf"fidelity score\s*│\s*{d['score']:.3f}", out)
    assert re.search(rf"detection ROC AUC\s*│\s*{d['detection']['auc']:.3f}", out)
    th = d["thresholds"]
    assert re.search(rf"pairs counted\s*│\s*{th['pairs_counted']} of {th['pairs']}", out)
    assert "real |r| > 0.5, V > 0.3 (SDMetrics)" in out
    assert "error" not in result.stderr
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == [
        "evaluating 400 synthetic rows against 500 real and 200 holdout", "wrote "
        f"{full_run[1] / 'report.json'}", f"wrote {full_run[1] / 'report.html'}"]


def test_json_is_the_library_report_of_the_same_files(full_run, library_report):
    result, out = full_run
    assert result.exit_code == 0, result.output
    written = json.loads((out / "report.json").read_text())
    assert written == json.loads(library_report.to_json())
    assert written["thresholds"]["convention"] == "sdmetrics"
    assert written["utility"]["test_set"] == "holdout" and written["privacy"]["baseline"] == "holdout"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]  # no .part left


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags, self.images = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster"):
                self.refs.append(value)
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def _parse(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def test_html_is_one_self_contained_page(full_run, library_report):
    result, out = full_run
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    links = _parse(page)
    assert links.refs and all(ref.startswith("data:") for ref in links.refs), links.refs
    assert not {"script", "link", "iframe", "object", "embed"} & set(links.tags)
    assert "://" not in page and "@import" not in page and "url(" not in page
    assert len(links.images) == 1 and links.images[0].startswith("data:image/png;base64,")
    png = base64.b64decode(links.images[0].split(",", 1)[1], validate=True)
    assert png.startswith(PNG) and len(png) > 20_000
    d = library_report.to_dict()
    assert f"<td>fidelity score</td><td>{d['score']:.3f}</td>" in page
    assert "matplotlib is not installed" not in page
    # Every pair is listed, counted or not, with the thresholds in words.
    assert page.count("<td>ContingencySimilarity</td>") + page.count(
        "<td>CorrelationSimilarity</td>") == len(d["details"]["column_pair_trends"])
    assert "SDMetrics QualityReport's defaults" in page


def _small_files(folder: Path) -> tuple[Path, Path]:
    r = np.random.default_rng(4)
    x = r.normal(size=300)
    frame = pd.DataFrame({"x": x, "y": 0.2 * x + r.normal(size=300),
                          "g": np.where(x > 0, "p", "n")})
    real, synth = folder / "real.csv", folder / "synth.csv"
    frame.iloc[:150].to_csv(real, index=False)
    frame.iloc[150:].to_csv(synth, index=False)
    return real, synth


def test_html_without_matplotlib_says_so(tmp_path, monkeypatch):
    real, synth = _small_files(tmp_path)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("evaluate", real, synth, "--html", tmp_path / "page.html", "-q")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "matplotlib is not installed" in page and "pip install synthgen[plot]" in page
    links = _parse(page)
    assert links.images == [] and links.refs == []


def test_quiet_every_pair_and_seed(tmp_path):
    real, synth = _small_files(tmp_path)
    result = invoke("evaluate", real, synth, "--every-pair", "--seed", 9, "--quiet",
                    "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "thresholds 0: every pair" in result.stdout
    written = json.loads((tmp_path / "r.json").read_text())
    expected = synthgen.evaluate(read_data(real), read_data(synth), seed=9, **EVERY_PAIR)
    assert written == json.loads(expected.to_json())
    assert written["thresholds"] == {"real_correlation": 0.0, "real_association": 0.0,
                                     "convention": "every_pair", "pairs_counted": 3, "pairs": 3}


# -- errors ---------------------------------------------------------------------------------------
def test_mismatched_columns_name_them(files, tmp_path):
    frame = read_data(files["real"])
    bad = tmp_path / "bad.csv"
    frame.drop(columns=["sex", "race"]).assign(extra=1).to_csv(bad, index=False)
    line = assert_error(invoke("evaluate", files["real"], bad, "--json", tmp_path / "r.json"),
                        "sex", "race", "extra", str(bad), str(files["real"]))
    assert line.index("sex") < line.index("extra")
    assert not (tmp_path / "r.json").exists()
    assert_error(invoke("evaluate", files["real"], files["synthetic"], "--holdout", bad),
                 "--holdout", "sex", "race", "extra")


def test_strings_against_a_table(files, tmp_path):
    plates = tmp_path / "plates.txt"
    plates.write_text("AB12 CDE\nXY99 ZZZ\n")
    assert_error(invoke("evaluate", files["real"], plates), str(plates), "list of strings", "table")
    assert_error(invoke("evaluate", plates, files["synthetic"]), str(plates), "list of strings")


def test_missing_file(files, tmp_path):
    missing = tmp_path / "nowhere.csv"
    assert_error(invoke("evaluate", files["real"], missing), "SYNTHETIC", str(missing), "does not exist")
    assert_error(invoke("evaluate", missing, files["synthetic"]), "REAL", str(missing))
    assert_error(invoke("evaluate", files["real"], files["synthetic"], "--holdout", missing),
                 "--holdout", str(missing))


def test_bad_options(files, tmp_path):
    assert_error(invoke("evaluate", files["real"], files["synthetic"], "--target", "salary"),
                 "--target", "salary", "income")
    assert_error(invoke("evaluate", files["real"], files["synthetic"], "--seed", -1), "--seed")
    assert_error(invoke("evaluate", files["real"], files["synthetic"],
                        "--html", tmp_path / "no" / "page.html"), "folder", "does not exist")


def test_existing_output_survives_a_failed_run(files, tmp_path):
    keep = tmp_path / "report.json"
    keep.write_text("old\n")
    assert_error(invoke("evaluate", files["real"], files["synthetic"], "--target", "salary",
                        "--json", keep), "salary")
    assert keep.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_help_does_not_import_jax_or_pandas():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from synthgen.cli.app import app\n"
        "res = CliRunner().invoke(app, ['evaluate', '--help'])\n"
        "assert res.exit_code == 0, res.output\n"
        "assert '--holdout' in res.output and '--every-pair' in res.output, res.output\n"
        "print('jax' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr
