"""The command line's rejection-sampler options: --avoid-training, --require, --alpha, --threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen.cli.app import app
from synthgen.sampling.nearest import nearest_records
from synthgen.vectorisers.ukreg_rules import is_valid, parse

runner = CliRunner()
ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    r = np.random.default_rng(0)
    df = pd.DataFrame(r.normal(size=(300, 3)), columns=["a", "b", "c"])
    path = tmp_path_factory.mktemp("d") / "t.csv"
    df.to_csv(path, index=False)
    return path, df


def test_avoid_training_keeps_samples_out_of_every_neighbourhood(table, tmp_path):
    path, df = table
    out = tmp_path / "s.csv"
    res = invoke("sample", "--data", path, "--model", "gaussian", "--avoid-training", "--alpha", "0.2",
                 "--n", 400, "--seed", 3, "-o", out)
    assert res.exit_code == 0, res.output
    assert "candidates passed" in res.stderr and "300 records avoided" in res.stderr
    rows = pd.read_csv(out)
    assert len(rows) == 400 and list(rows.columns) == ["a", "b", "c"]
    api = synthgen.sampling.RejectionSampler(synthgen.make("gaussian"), avoid="training", alpha=0.2)
    api.fit(df, seed=3)
    expected = api.sample(400, seed=3)
    np.testing.assert_allclose(rows.to_numpy(), expected.to_numpy(), rtol=1e-12)
    space = api.space_
    d = nearest_records(rows.to_numpy() @ space.whiten, space.records @ space.whiten,
                        scales=space.scales).distance
    assert (d > api.threshold_).all()


def test_require_on_registrations(tmp_path):
    out = tmp_path / "plates.txt"
    res = invoke("sample", "--data", "ukreg", "--model", "gaussian", "--require", "age >= 50",
                 "--check-output", "--n", 300, "--seed", 1, "-o", out)
    assert res.exit_code == 0, res.output
    plates = out.read_text().split()
    assert len(plates) == 300
    assert all(is_valid(p) and parse(p).age >= 50 for p in plates)


def test_fit_with_filtering_then_sample_from_the_file(table, tmp_path):
    path, _ = table
    model = tmp_path / "m.sgm"
    res = invoke("fit", path, "--model", "gaussian", "--avoid-training", "--seed", 5, "-o", model)
    assert res.exit_code == 0, res.output
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert invoke("sample", "--from", model, "--n", 50, "--seed", 5, "-o", a).exit_code == 0
    assert invoke("sample", "--data", path, "--model", "gaussian", "--avoid-training", "--seed", 5,
                  "--n", 50, "-o", b).exit_code == 0
    # same fit seed, same sampling seed -> the same rows, to the last digit written
    rows_a, rows_b = pd.read_csv(a), pd.read_csv(b)
    assert len(rows_a) == 50
    pd.testing.assert_frame_equal(rows_a, rows_b)
    assert isinstance(synthgen.load(model), synthgen.sampling.RejectionSampler)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--alpha", "0.1"], "--alpha only apply with --avoid-training or --require"),
        (["--avoid-training", "--alpha", "0.1", "--threshold", "2"], "give --alpha or --threshold, not both"),
        (["--avoid-training", "--check-output"], "--check-output needs --require"),
        (["--require", "Amount >"], "cannot parse require expression 'Amount >'"),
        (["--require", "open('x')"], "is not allowed"),
        (["--avoid-training", "--alpha", "2"], "alpha must be a number in (0, 1); got 2.0"),
    ],
)
def test_bad_filter_options_exit_2_and_write_nothing(args, message, tmp_path):
    out = tmp_path / "never.csv"
    res = invoke("sample", "--model", "gaussian", "--n", 5, "-o", out, *args)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in res.stderr
    assert not out.exists()


def test_from_cannot_take_filter_options(table, tmp_path):
    path, _ = table
    model = tmp_path / "g.sgm"
    assert invoke("fit", path, "--model", "gaussian", "-o", model).exit_code == 0
    res = invoke("sample", "--from", model, "--require", "a > 0")
    assert res.exit_code == 2
    assert "they need the training data" in res.stderr
