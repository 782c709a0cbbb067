"""The persistent compilation cache (synthgen._compile_cache) and the row-count buckets.

Every test that turns the cache on does so in a fresh Python process whose cache folder is
under ``tmp_path``: the test process's own JAX configuration and the user's cache folder are
never touched here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthgen import _compile_cache as cc

#: fits a small mixture, samples from it, and reports JAX's compilation cache events
PROBE = """
import collections, json, warnings
from jax import monitoring
events = collections.Counter()
monitoring.register_event_listener(lambda name, **kw: events.update([name]))
import numpy as np
import synthgen
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    X = np.random.default_rng(0).normal(size=(200, 3))
    gen = synthgen.make("gmm", n_components=2).fit(X, seed=0)
    rows = np.asarray(gen.sample(10, seed=1)).tolist()
import jax
print(json.dumps({"hits": events["/jax/compilation_cache/cache_hits"],
                  "misses": events["/jax/compilation_cache/cache_misses"],
                  "dir": jax.config.jax_compilation_cache_dir, "rows": rows,
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


def _run_probe(env: dict) -> dict:
    full = {k: v for k, v in os.environ.items()
            if k not in (cc.ENV_VAR, "XDG_CACHE_HOME", "JAX_COMPILATION_CACHE_DIR")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=full, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*-cache") if p.is_file())


# ---------------------------------------------------------------------------------------------
# A second process reuses what the first compiled
# ---------------------------------------------------------------------------------------------


def test_a_second_process_loads_every_program_the_first_compiled(tmp_path):
    root = tmp_path / "cache"
    first = _run_probe({cc.ENV_VAR: str(root)})
    folder = Path(first["dir"])
    assert folder.parent == root and folder.name == cc.version_folder_name()
    assert first["hits"] == 0 and first["misses"] > 0
    assert len(_entries(folder)) == first["misses"]
    second = _run_probe({cc.ENV_VAR: str(root)})
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert second["rows"] == first["rows"]
    assert first["warnings"] == [] and second["warnings"] == []


def test_the_default_folder_is_under_xdg_cache_home(tmp_path):
    res = _run_probe({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    folder = Path(res["dir"])
    assert folder.parent == tmp_path / "xdg" / "synthgen" / "jax"
    assert _entries(folder)


def test_off_switch_and_jax_own_setting_leave_the_folder_alone(tmp_path):
    off = _run_probe({cc.ENV_VAR: "OFF", "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert off["dir"] is None and off["hits"] == off["misses"] == 0
    assert not (tmp_path / "xdg").exists()
    own = _run_probe({"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax_own"),
                      cc.ENV_VAR: str(tmp_path / "ours")})
    assert own["dir"] == str(tmp_path / "jax_own") and not (tmp_path / "ours").exists()


def test_an_unusable_folder_gives_one_warning_and_the_command_still_works(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    res = _run_probe({cc.ENV_VAR: str(blocker / "cache")})
    assert res["dir"] is None and res["hits"] == res["misses"] == 0
    assert len(res["rows"]) == 10
    assert len(res["warnings"]) == 1, res["warnings"]
    assert res["warnings"][0].startswith("CompileCacheWarning: cannot use the compilation cache folder")
    assert cc.ENV_VAR in res["warnings"][0]


# ---------------------------------------------------------------------------------------------
# Folder rules (pure functions; no JAX configuration changes)
# ---------------------------------------------------------------------------------------------


def test_cache_root_follows_the_environment(tmp_path):
    home = Path.home()
    assert cc.cache_root({}) == home / ".cache" / "synthgen" / "jax"
    assert cc.cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "synthgen" / "jax"
    assert cc.cache_root({"XDG_CACHE_HOME": "relative/dir"}) == home / ".cache" / "synthgen" / "jax"
    assert cc.cache_root({cc.ENV_VAR: str(tmp_path / "x"), "XDG_CACHE_HOME": "/y"}) == tmp_path / "x"
    for off in ("off", "OFF", " Off "):
        assert cc.cache_root({cc.ENV_VAR: off}) is None
    assert cc.cache_root({cc.ENV_VAR: ""}) == home / ".cache" / "synthgen" / "jax"


def test_the_version_folder_names_jax_and_jaxlib():
    import jax
    import jaxlib

    name = cc.version_folder_name()
    assert name.startswith(f"jax-{jax.__version__}-jaxlib-{jaxlib.__version__}-")
    assert name == cc.version_folder_name()


def test_only_stale_version_folders_are_removed(tmp_path):
    old = time.time() - (cc.STALE_DAYS + 1) * 86400
    stale = tmp_path / "jax-0.0.1-jaxlib-0.0.1-x86_64-00000000"
    recent = tmp_path / "jax-0.0.2-jaxlib-0.0.2-x86_64-00000000"
    current = tmp_path / "jax-9.9.9-jaxlib-9.9.9-x86_64-00000000"
    other = tmp_path / "notes"
    for folder in (stale, recent, current, other):
        folder.mkdir()
        (folder / "entry-cache").write_bytes(b"x")
    for folder in (stale, current, other):
        os.utime(folder, (old, old))
    cc._remove_stale(tmp_path, current.name)
    assert not stale.exists()
    assert recent.exists() and current.exists() and other.exists()


# ---------------------------------------------------------------------------------------------
# Size buckets
# ---------------------------------------------------------------------------------------------


def test_buckets_cover_each_count_within_a_quarter_then_finer():
    sizes = [cc.bucket(n) for n in range(1, 300_000)]
    assert all(b >= n for n, b in enumerate(sizes, start=1))
    assert sizes == sorted(sizes)
    for n, b in enumerate(sizes, start=1):
        limit = 64 if n <= 64 else 1.25 * n if n <= 2**14 else 1.125 * n if n <= 2**17 else 1.0625 * n
        assert b <= limit, (n, b)
    # 64; four sizes per doubling up to 2**14, eight up to 2**17, sixteen up to 2**18, then 299,999
    assert len(set(sizes)) == 1 + 4 * 8 + 8 * 3 + 16 + 3
    assert cc.bucket(1000) == cc.bucket(1001) == 1024
    assert cc.bucket(200_000) == 204_800
    assert cc.bucket(10, minimum=16) == 16 and cc.bucket(17, minimum=16) == 20


@pytest.mark.parametrize("n, steps", [(65, 4), (1000, 4), (16_385, 8), (123_457, 8), (1_000_001, 16)])
def test_a_bucket_is_the_next_size_of_its_grid(n, steps):
    """``steps`` sizes per doubling: ``m * 2**e`` with ``steps < m <= 2 * steps``, the first >= n."""
    b = cc.bucket(n)
    e = (b - 1).bit_length() - steps.bit_length()
    assert b % (1 << e) == 0 and steps < b >> e <= 2 * steps
    assert b - (1 << e) < n <= b
