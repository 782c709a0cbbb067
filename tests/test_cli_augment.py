"""``synthgen augment`` end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthgen.augment import augment_frame
from synthgen.cli.app import app

runner = CliRunner()
ENV = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    r = np.random.default_rng(4)
    df = pd.DataFrame(r.normal(size=(240, 4)), columns=["f1", "f2", "f3", "f4"])
    df["label"] = np.where(np.arange(240) < 40, "fraud", "genuine")
    df.loc[df.label == "fraud", "f1"] += 3.0
    path = tmp_path_factory.mktemp("a") / "l.csv"
    df.to_csv(path, index=False)
    return path, df


def test_augment_grows_the_rare_class_to_the_ratio(labelled, tmp_path):
    path, df = labelled
    out = tmp_path / "out.csv"
    res = invoke("augment", path, "--target", "label", "--model", "gaussian", "--ratio", "0.5",
                 "--seed", 7, "-o", out)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert list(got.columns) == list(df.columns)
    pd.testing.assert_frame_equal(got.iloc[:240], df, check_dtype=False)
    assert (got["label"].value_counts() == pd.Series({"genuine": 200, "fraud": 100})).all()
    new = got.iloc[240:]
    assert (new["label"] == "fraud").all()
    assert new["f1"].mean() > 2.0  # drawn from the fraud class, not the genuine one
    assert "added 60 synthetic rows (fraud: 60)" in res.stderr
    expected = augment_frame(df, "label", model="gaussian", ratio=0.5, seed=7)
    np.testing.assert_allclose(new[["f1", "f2", "f3", "f4"]].to_numpy(),
                               expected.iloc[240:][["f1", "f2", "f3", "f4"]].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "nope"], "--target 'nope' is not a column"),
        (["--target", "label", "--ratio", "lots"], "--ratio must be a number in (0, 1] or one of"),
        (["--target", "label", "--ratio", "1.5"], "--ratio must be a number in (0, 1]; got 1.5"),
        (["--target", "label", "--model", "nope"], "generator must be a generator name"),
    ],
)
def test_bad_augment_options(labelled, tmp_path, args, message):
    path, _ = labelled
    out = tmp_path / "never.csv"
    res = invoke("augment", path, "-o", out, *args)
    assert res.exit_code == 2, res.output
    assert message in res.stderr.strip().splitlines()[-1]
    assert not out.exists()
