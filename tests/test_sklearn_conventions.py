"""Generators behave as scikit-learn estimators: fit(X, y), tags, score, clone, model selection,
and fitted state that is either wholly new or wholly old."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

import synthgen
from synthgen.errors import InvalidDataError

NAMES = ["gaussian", "gmm", "pca_gmm", "kde", "vae"]
FAST = {"gmm": {"n_components": 2}, "pca_gmm": {"n_components": 2}, "kde": {"bandwidth": 0.5},
        "vae": {"epochs": 2, "verbose": False}}


def make(name, **extra):
    return synthgen.make(name, **{**FAST.get(name, {}), **extra})


@pytest.mark.parametrize("name", NAMES)
def test_tags_clone_and_fit_with_y(name, correlated_data):
    gen = make(name)
    tags = get_tags(gen)
    assert tags.estimator_type == get_tags(GaussianMixture()).estimator_type == "density_estimator"
    assert tags.requires_fit and not tags.target_tags.required
    twin = clone(gen)
    assert type(twin) is type(gen) and twin.get_params() == gen.get_params()
    y = np.arange(len(correlated_data)) % 2
    assert gen.fit(correlated_data, y) is gen
    assert np.isfinite(gen.score(correlated_data, y))


def test_a_generator_ends_a_pipeline(correlated_data):
    y = np.arange(len(correlated_data)) % 2
    pipe = Pipeline([("scale", StandardScaler()), ("gen", synthgen.make("gaussian"))])
    pipe.fit(correlated_data, y)
    scaled = StandardScaler().fit_transform(correlated_data)
    direct = synthgen.make("gaussian").fit(scaled)
    np.testing.assert_allclose(pipe.score_samples(correlated_data), direct.score_samples(scaled),
                               rtol=1e-5)
    assert pipe.score(correlated_data) == pytest.approx(direct.score(scaled), rel=1e-5)


def test_grid_search_picks_what_it_picks_for_gaussian_mixture():
    r = np.random.default_rng(5)
    X = np.concatenate([r.normal(size=(200, 2)) * 0.4, r.normal(size=(200, 2)) * 0.4 + 3.0])
    ours = GridSearchCV(synthgen.make("gmm", n_components=1),
                        {"n_components": [1, 2, 3], "covariance_type": ["full", "diag"]},
                        cv=KFold(3, shuffle=True, random_state=0)).fit(X)
    ref = GridSearchCV(GaussianMixture(random_state=0),
                       {"n_components": [1, 2, 3], "covariance_type": ["full", "diag"]},
                       cv=KFold(3, shuffle=True, random_state=0)).fit(X)
    assert ours.best_params_ == ref.best_params_
    assert ours.best_params_["n_components"] == 2
    params = ours.cv_results_["params"]
    assert params == ref.cv_results_["params"]
    mine, theirs = ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    settled = [i for i, p in enumerate(params) if p["n_components"] < 3]
    np.testing.assert_allclose(mine[settled], theirs[settled], rtol=2e-3)
    # three components on two clusters: EM's local optima differ; never worse by more than 1%
    spare = [i for i, p in enumerate(params) if p["n_components"] == 3]
    assert (mine[spare] >= theirs[spare] - 0.01 * np.abs(theirs[spare])).all()


@pytest.mark.parametrize("name", NAMES)
def test_a_failed_refit_leaves_the_old_model(name, correlated_data):
    gen = make(name).fit(correlated_data, seed=1)
    before = gen.sample(20, seed=2)
    bad = pd.DataFrame(correlated_data[:, :2].copy(), columns=["a", "b"])
    bad.iloc[3, 1] = np.inf
    with pytest.raises(InvalidDataError):
        gen.fit(bad)
    assert gen.n_features_in_ == 3
    np.testing.assert_array_equal(gen.sample(20, seed=2), before)


def test_a_refit_that_fails_inside_the_model_changes_nothing(correlated_data, monkeypatch):
    from synthgen.generators.gaussian import GaussianGenerator

    gen = synthgen.make("gaussian").fit(correlated_data, seed=1)
    state = dict(gen.__dict__)

    def failing(self, key, X, hp):
        self.covariance_type_ = "diag"
        raise RuntimeError("boom")

    monkeypatch.setattr(GaussianGenerator, "_fit", failing)
    with pytest.raises(RuntimeError):
        gen.fit(correlated_data[:, :2], seed=4)
    assert gen.__dict__.keys() == state.keys()
    assert all(gen.__dict__[k] is v for k, v in state.items())


def test_an_unfitted_generator_stays_unfitted_after_a_failed_fit(correlated_data):
    gen = synthgen.make("gaussian")
    with pytest.raises(InvalidDataError):
        gen.fit(correlated_data[:0])
    assert not [k for k in gen.__dict__ if k.endswith("_")]


def test_set_params_after_fit_does_not_change_the_fitted_model(correlated_data):
    full = synthgen.make("gaussian").fit(correlated_data)
    expected = full.score_samples(correlated_data)
    for scored_first in (True, False):
        gen = synthgen.make("gaussian").fit(correlated_data)
        if scored_first:
            gen.score_samples(correlated_data)
        gen.set_params(covariance_type="diag")
        np.testing.assert_allclose(gen.score_samples(correlated_data), expected, rtol=1e-6)
        gen.fit(correlated_data)
        diag = synthgen.make("gaussian", covariance_type="diag").fit(correlated_data)
        np.testing.assert_allclose(gen.score_samples(correlated_data),
                                   diag.score_samples(correlated_data), rtol=1e-6)


def test_the_fitted_covariance_type_survives_a_file(correlated_data, tmp_path):
    gen = synthgen.make("gaussian", covariance_type="diag").fit(correlated_data)
    gen.save(tmp_path / "g.sgm")
    back = synthgen.load(tmp_path / "g.sgm")
    np.testing.assert_allclose(back.score_samples(correlated_data),
                               gen.score_samples(correlated_data), rtol=1e-6)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions, as absolute names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            out.add(module)
            out |= {f"{module}.{a.name}" for a in node.names}
    return out


ROOT = Path(synthgen.__file__).resolve().parents[1]


def test_base_imports_nothing_above_it():
    above = ("synthgen.registry", "synthgen.generators", "synthgen.sampling", "synthgen.cli",
             "synthgen.evaluation", "synthgen.augment", "synthgen.loading")
    found = _imports(ROOT / "synthgen" / "base.py")
    assert not [m for m in found if m.startswith(above)]


def test_cli_commands_take_shared_options_from_common_only():
    commands = [p for p in (ROOT / "synthgen" / "cli").glob("*.py") if not p.name.startswith("_")
                and p.name not in ("__init__.py", "app.py")]
    assert len(commands) >= 7
    names = {f"synthgen.cli.{p.stem}" for p in commands}
    for path in commands:
        assert not (_imports(path) & names), path.name


def test_pca_gmm_samples_as_fitted_whatever_set_params_says(correlated_data):
    plain = synthgen.make("pca_gmm", n_components=1, pca_components=2).fit(correlated_data)
    expected = plain.sample(200, seed=3)
    for sampled_first in (True, False):
        gen = synthgen.make("pca_gmm", n_components=1, pca_components=2).fit(correlated_data)
        if sampled_first:
            gen.sample(5, seed=0)
        gen.set_params(sample_noise=True)
        np.testing.assert_array_equal(gen.sample(200, seed=3), expected)
        noisy = gen.fit(correlated_data).sample(200, seed=3)
        assert not np.allclose(noisy, expected)
