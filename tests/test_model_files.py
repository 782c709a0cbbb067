"""Crafted model files, made from real fits, end in one ModelFileError naming the file and the fault."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen.cli.app import app
from synthgen.errors import ModelFileError
from synthgen.sampling import RejectionSampler

# -- real fits, and files rewritten from them ----------------------------------------------------


@pytest.fixture(scope="module")
def numeric():
    rng = np.random.default_rng(0)
    return rng.normal(size=(150, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def files(numeric, tmp_path_factory) -> dict[str, Path]:
    """One real model file per generator kind, fitted on small data made here."""
    folder = tmp_path_factory.mktemp("models")
    table = pd.DataFrame({"a": numeric[:, 0], "b": numeric[:, 1],
                          "c": np.array(list("xyz"))[np.arange(len(numeric)) % 3]})
    fits = {
        "gaussian": (synthgen.make("gaussian"), numeric),
        "gmm": (synthgen.make("gmm", n_components=2), numeric),
        "pca_gmm": (synthgen.make("pca_gmm", n_components=2, pca_components=2), numeric),
        "kde": (synthgen.make("kde", bandwidth="scott"), table),
        "vae": (synthgen.make("vae", epochs=2, hidden=(8,), latent_dim=2, verbose=False), table),
        "rejection": (RejectionSampler(synthgen.make("gaussian")), numeric),
    }
    out = {}
    for name, (gen, data) in fits.items():
        gen.fit(data, seed=1)
        out[name] = folder / f"{name}.sgm"
        gen.save(out[name])
    return out


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def arrays_of(entries: dict[str, bytes]) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(entries["params.npz"]), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def rewrite(src: Path, out: Path, *, config=None, arrays=None) -> Path:
    """``src`` with its config and/or arrays changed in place by the given functions."""
    entries = members(src)
    if config is not None:
        cfg = json.loads(entries["config.json"])
        config(cfg)
        entries["config.json"] = json.dumps(cfg).encode()
    if arrays is not None:
        arr = arrays_of(entries)
        arrays(arr)
        buf = io.BytesIO()
        np.savez(buf, **arr)
        entries["params.npz"] = buf.getvalue()
    return write_zip(out, entries)


def refused(path: Path, *fragments: str) -> str:
    with pytest.raises(ModelFileError) as info:
        synthgen.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_the_real_files_load_and_sample(files):
    for name, path in files.items():
        gen = synthgen.load(path)
        rows = gen.sample(5, seed=2)
        assert len(rows) == 5, name


# -- damage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["params.npz", "config.json"])
def test_a_flipped_byte_in_the_compressed_data(files, tmp_path, member):
    raw = bytearray(files["gaussian"].read_bytes())
    with zipfile.ZipFile(files["gaussian"]) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    # the last bytes of a deflate stream may encode only data past the declared size: spared
    for i, where in enumerate(np.linspace(start + 2, start + 0.8 * info.compress_size, 5).astype(int)):
        damaged = bytearray(raw)
        damaged[where] ^= 0x5A
        path = tmp_path / f"flip{i}.sgm"
        path.write_bytes(bytes(damaged))
        refused(path)


@pytest.mark.parametrize("tree", ["params", "state", "vectoriser"])
def test_a_missing_tree(files, tmp_path, tree):
    path = rewrite(files["gaussian"], tmp_path / "notree.sgm", config=lambda c: c["trees"].pop(tree))
    refused(path, "lacks the saved tree", tree)


@pytest.mark.parametrize("where", ["state", "vectoriser"])
def test_a_tree_node_without_items(files, tmp_path, where):
    path = rewrite(files["gaussian"], tmp_path / "noitems.sgm",
                   config=lambda c: c["trees"][where].pop("items"))
    refused(path, "no dict of items")


def test_a_tree_node_of_the_wrong_kind(files, tmp_path):
    def change(c):
        c["trees"]["state"]["items"] = ["not", "a", "dict"]
        c["trees"]["vectoriser"]["__tree__"] = "list"

    refused(rewrite(files["gaussian"], tmp_path / "kinds.sgm", config=change), "items")


# -- arrays of the wrong shape, dtype or value ---------------------------------------------------


def test_arrays_of_the_wrong_shape(files, tmp_path):
    path = rewrite(files["gaussian"], tmp_path / "shape.sgm",
                   arrays=lambda a: a.update({"params/mean": np.zeros(4, np.float32)}))
    refused(path, "params.mean", "(4,)", "(3,)")
    path = rewrite(files["gmm"], tmp_path / "gmmshape.sgm",
                   arrays=lambda a: a.update({"params/means": a["params/means"][:, :2]}))
    refused(path, "params.means")
    path = rewrite(files["kde"], tmp_path / "kdeshape.sgm",
                   arrays=lambda a: a.update({"params/train": a["params/train"].T}))
    refused(path, "params.train")


def test_strings_or_ints_where_floats_belong(files, tmp_path):
    path = rewrite(files["gaussian"], tmp_path / "strings.sgm",
                   arrays=lambda a: a.update({"params/mean": np.array(["1.0", "2.0", "x"])}))
    refused(path, "params.mean", "where floats belong")
    path = rewrite(files["gmm"], tmp_path / "ints.sgm",
                   arrays=lambda a: a.update({"params/means": a["params/means"].astype(np.int64)}))
    refused(path, "params.means", "int64")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_params_that_are_not_finite(files, tmp_path, value):
    def poison(a):
        for key in [k for k in a if k.startswith("params/")]:
            a[key] = np.full_like(a[key], value)

    refused(rewrite(files["gmm"], tmp_path / "nan.sgm", arrays=poison), "not finite")
    path = rewrite(files["pca_gmm"], tmp_path / "nanvar.sgm",
                   arrays=lambda a: a.update({"params/noise_var": np.float32(value)}))
    refused(path, "params.noise_var", "not finite")


def test_values_the_model_cannot_use(files, tmp_path):
    path = rewrite(files["gaussian"], tmp_path / "chol.sgm",
                   arrays=lambda a: a.update({"params/chol": -a["params/chol"]}))
    refused(path, "chol diagonal", "positive")
    path = rewrite(files["kde"], tmp_path / "bw.sgm",
                   arrays=lambda a: a.update({"params/bandwidth": np.float32(0.0)}))
    refused(path, "bandwidth", "positive")


def test_a_vae_whose_layers_do_not_match_its_architecture(files, tmp_path):
    entries = members(files["vae"])
    kernels = sorted(k for k in arrays_of(entries) if k.endswith("kernel") and "decoder" in k)

    def change(a):
        a[kernels[0]] = np.zeros(a[kernels[0]].shape[::-1] + (1,), np.float32)[..., 0]

    refused(rewrite(files["vae"], tmp_path / "layers.sgm", arrays=change), "params.net")


# -- a file bigger inside than outside -----------------------------------------------------------


def write_with_extra_zeros(src: Path, out: Path, nbytes: int) -> Path:
    """``src`` with an extra all-zero array of ``nbytes`` in params.npz, streamed (never in memory)."""
    entries = members(src)
    with zipfile.ZipFile(io.BytesIO(entries["params.npz"])) as old, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as outer:
        outer.writestr("config.json", entries["config.json"])
        with outer.open("params.npz", "w", force_zip64=True) as dst, zipfile.ZipFile(dst, "w") as inner:
            with inner.open("extra.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": "<f8", "fortran_order": False, "shape": (nbytes // 8,)})
                chunk = bytes(1 << 22)
                for _ in range(nbytes // len(chunk)):
                    fh.write(chunk)
            for info in old.infolist():
                inner.writestr(info.filename, old.read(info))
    return out


def test_a_zip_bomb_is_refused_by_its_declared_size_without_expanding_it(files, tmp_path):
    path = write_with_extra_zeros(files["gaussian"], tmp_path / "bomb.sgm", 512 * 2**20)
    assert path.stat().st_size < 8 * 2**20
    tracemalloc.start()
    try:
        message = refused(path, "params.npz declares 536,8", "refusing to expand")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "compressed" in message
    assert peak < 16 * 2**20


def test_arrays_the_model_does_not_name_are_never_read(files, tmp_path, numeric):
    path = write_with_extra_zeros(files["gaussian"], tmp_path / "extra.sgm", 128 * 2**20)
    tracemalloc.start()
    try:
        gen = synthgen.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    np.testing.assert_array_equal(gen.sample(20, seed=4), synthgen.load(files["gaussian"]).sample(20, seed=4))


def test_an_array_whose_header_claims_more_than_its_entry_holds(files, tmp_path):
    entries = members(files["gaussian"])
    with zipfile.ZipFile(io.BytesIO(entries["params.npz"])) as old:
        inner = {info.filename: old.read(info) for info in old.infolist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**12,)})
    inner["params/mean.npy"] = header.getvalue() + np.zeros(3, np.float32).tobytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in inner.items():
            zf.writestr(name, data)
    entries["params.npz"] = buf.getvalue()
    refused(write_zip(tmp_path / "liar.sgm", entries), "'params/mean'", "declares shape (1000000000000,)")


# -- the config ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, -5, True, 1.0, "1", None])
def test_format_versions_that_are_not_format_versions(files, tmp_path, version):
    path = rewrite(files["gaussian"], tmp_path / "version.sgm",
                   config=lambda c: c.update(format_version=version))
    refused(path, "format version")


def test_a_config_nested_too_deeply(files, tmp_path):
    entries = members(files["gaussian"])
    entries["config.json"] = b"[" * 100_000 + b"]" * 100_000
    refused(write_zip(tmp_path / "deep.sgm", entries), "nested too deeply")

    def deep_state(c):
        node = {"__tree__": "array", "key": "params/mean"}
        for _ in range(200):
            node = {"__tree__": "list", "items": [node]}
        c["trees"]["state"] = node

    refused(rewrite(files["gaussian"], tmp_path / "deeptree.sgm", config=deep_state), "nested more than")


@pytest.mark.parametrize("label", ["gmm", "pca_gmm", "kde", "vae"])
def test_a_gaussian_file_relabelled_as_another_generator(files, tmp_path, label):
    path = rewrite(files["gaussian"], tmp_path / "relabelled.sgm",
                   config=lambda c: c.update(generator=label))
    refused(path, "GaussianParams", f"a {label} model has")


@pytest.mark.parametrize("name, fragment", [
    ("synthgen.io:np.linalg._linalg.SVDResult", "attribute chains"),
    ("synthgen.generators.gmm:np.linalg._linalg.EighResult", "attribute chains"),
    ("synthgen.generators.pca_gmm:GMMParams", "does not define"),
    ("synthgen.generators.gaussian:NamedTuple", "not a parameter tuple"),
    ("synthgen.generators.gaussian:jax", "not a parameter tuple"),
    ("synthgen.no_such_module:Params", "unknown class"),
    ("synthgen.generators.gaussian", "outside synthgen"),
])
def test_class_names_resolve_only_to_tuples_synthgen_defines(files, tmp_path, name, fragment):
    def change(c):
        c["trees"]["params"]["class"] = name

    refused(rewrite(files["gaussian"], tmp_path / "cls.sgm", config=change), fragment)


def test_hyperparameters_the_generator_does_not_take(files, tmp_path):
    path = rewrite(files["gmm"], tmp_path / "hp.sgm",
                   config=lambda c: c["hyperparameters"].update(n_components=-3))
    refused(path, "n_components")
    path = rewrite(files["gmm"], tmp_path / "hp2.sgm",
                   config=lambda c: c["hyperparameters"].update(secret="x"))
    refused(path, "secret")


# -- the state and the vectoriser ----------------------------------------------------------------


def state_item(name, value):
    def change(c):
        c["trees"]["state"]["items"][name] = value

    return change


@pytest.mark.parametrize("name, value", [("n_features_in", True), ("n_features_in", -1),
                                         ("n_sample_calls", 2**40), ("fit_seed", "0"),
                                         ("extra", {"__tree__": "list", "items": [1, 2]})])
def test_a_state_out_of_range(files, tmp_path, name, value):
    refused(rewrite(files["gaussian"], tmp_path / "state.sgm", config=state_item(name, value)), name)


def test_a_sample_key_of_the_wrong_shape(files, tmp_path):
    path = rewrite(files["gaussian"], tmp_path / "key.sgm",
                   arrays=lambda a: a.update({"state/sample_key": np.arange(5, dtype=np.uint32)}))
    refused(path, "sample_key")


def test_a_vectoriser_state_that_disagrees_with_the_model(files, tmp_path):
    def drop_column(c):
        fitted = c["trees"]["vectoriser"]["items"]["fitted"]["items"]
        fitted["columns"]["items"].pop()
        fitted["dtypes"]["items"].pop()

    refused(rewrite(files["gaussian"], tmp_path / "vec.sgm", config=drop_column),
            "vectoriser makes 2 columns", "has 3")
    path = rewrite(files["gmm"], tmp_path / "dims.sgm",
                   config=state_item("n_features_in", 4))
    refused(path, "4")


def test_a_mixture_whose_summary_disagrees_with_its_params(files, tmp_path):
    def change(c):
        c["trees"]["state"]["items"]["extra"]["items"]["covariance_type"] = "diag"

    refused(rewrite(files["gmm"], tmp_path / "cov.sgm", config=change), "prec_chol")
    path = rewrite(files["gmm"], tmp_path / "k.sgm", config=lambda c: c["trees"]["state"]["items"]
                   ["extra"]["items"].update(n_components=5))
    refused(path, "log_weights")


# -- wrapped samplers ----------------------------------------------------------------------------


def test_a_sampler_wrapping_a_sampler_or_an_unknown_generator(files, tmp_path):
    path = rewrite(files["rejection"], tmp_path / "nested.sgm",
                   config=lambda c: c["inner"].update(generator="rejection"))
    refused(path, "wraps another sampler")
    path = rewrite(files["rejection"], tmp_path / "unknown.sgm",
                   config=lambda c: c["inner"].update(generator="zzz"))
    refused(path, "unknown generator 'zzz'")
    path = rewrite(files["rejection"], tmp_path / "relabel.sgm",
                   config=lambda c: c["inner"].update(generator="gmm"))
    refused(path, "GaussianParams", "a gmm model has")


def test_a_sampler_whose_records_do_not_fit_the_generator(files, tmp_path):
    path = rewrite(files["rejection"], tmp_path / "records.sgm",
                   arrays=lambda a: a.update({"sampler/space/records": a["sampler/space/records"][:, :2]}))
    refused(path, "records")
    path = rewrite(files["rejection"], tmp_path / "threshold.sgm",
                   config=lambda c: c["trees"]["sampler"]["items"].update(threshold=-1.0))
    refused(path, "threshold")
    path = rewrite(files["rejection"], tmp_path / "space.sgm",
                   config=lambda c: c["trees"]["sampler"]["items"]["space"]["items"].update(kind="latent"))
    refused(path, "latent space")


# -- the command line ----------------------------------------------------------------------------


def test_the_cli_gives_one_line_and_status_2(files, tmp_path):
    crafted = [
        rewrite(files["gaussian"], tmp_path / "relabelled.sgm", config=lambda c: c.update(generator="gmm")),
        rewrite(files["gaussian"], tmp_path / "nan.sgm",
                arrays=lambda a: a.update({"params/mean": np.full(3, np.nan, np.float32)})),
        rewrite(files["gaussian"], tmp_path / "v0.sgm", config=lambda c: c.update(format_version=0)),
    ]
    runner = CliRunner()
    for path in crafted:
        out = tmp_path / f"{path.stem}.csv"
        result = runner.invoke(app, ["sample", "--from", str(path), "-o", str(out), "-q"])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0], lines
        assert not out.exists()
