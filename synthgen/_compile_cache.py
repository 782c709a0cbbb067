"""JAX's persistent compilation cache, kept in the user's cache folder.

A fresh process would otherwise compile every JAX program again (most of a short
command's time).  :func:`enable` points JAX at

    ``$SYNTHGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/synthgen/jax``, else ``~/.cache/synthgen/jax``

and inside it at one folder per JAX version, jaxlib version and processor (for example
``jax-0.10.2-jaxlib-0.10.2-x86_64-3f9c2a1e``), with every program cached however small or
quick to compile.  ``SYNTHGEN_CACHE_DIR=off`` turns the cache off.  When JAX's own cache
folder is already set (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``), it is left alone.

Why a folder per version and processor: JAX's cache key already holds the program, the
jaxlib version, the backend and the compiler options, so an entry is never used for another
program; the folder name adds what the key leaves out (the JAX version, and on CPU the
processor's features, which XLA checks only when loading), so a home folder shared by
several machines or environments keeps one set of entries each instead of rejecting each
other's.  A folder that no process has used for :data:`STALE_DAYS` days (left behind by an
upgrade) is removed.

A cache folder that cannot be created or written never stops a command: it runs without
the cache, after one :class:`CompileCacheWarning`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

ENV_VAR = "SYNTHGEN_CACHE_DIR"
#: the value of :data:`ENV_VAR` that turns the cache off (any case)
OFF = "off"
#: version folders unused for this long are removed
STALE_DAYS = 30
_PREFIX = "jax-"

_lock = threading.Lock()
_done = False
_folder: Path | None = None


class CompileCacheWarning(UserWarning):
    """The compilation cache folder is unusable; programs are compiled without it."""


def bucket(n: int, minimum: int = 64) -> int:
    """The size bucket of ``n`` rows: ``minimum`` at least, else the smallest ``m * 2**e >= n``
    with four values of ``m`` per doubling up to 2**14 rows, eight up to 2**17 and sixteen
    beyond, so a bucket is at most 25%, 12.5% and 6.25% above ``n`` (where arithmetic on many
    rows costs more than a compilation, the buckets are finer).

    Arrays padded to their bucket (with weight-0 rows) give a program that serves every
    row count of the bucket, so a new row count rarely means a new compilation.
    """
    n, minimum = int(n), int(minimum)
    if n <= minimum:
        return minimum
    bits = 3 if n <= 1 << 14 else 4 if n <= 1 << 17 else 5
    e = max(0, (n - 1).bit_length() - bits)  # 2**(e+bits-1) < n <= 2**(e+bits)
    return -(-n // (1 << e)) << e


def cache_root(environ=None) -> Path | None:
    """The cache's root folder as the environment sets it, or ``None`` when it is off."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "").strip()
    if value.lower() == OFF:
        return None
    if value:
        return Path(value).expanduser().absolute()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # the XDG specification ignores a relative XDG_CACHE_HOME
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "synthgen" / "jax"


def version_folder_name() -> str:
    """``jax-<version>-jaxlib-<version>-<machine>-<processor hash>``: one folder per setup."""
    import jax
    import jaxlib

    machine = platform.machine() or "unknown"
    return f"{_PREFIX}{jax.__version__}-jaxlib-{jaxlib.__version__}-{machine}-{_processor_hash()}"


def _processor_hash() -> str:
    """8 hex digits of the processor's model and feature flags (what compiled CPU code needs)."""
    text = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features", "CPU implementer", "CPU part"):
                    text += line
                elif not line.strip() and text:
                    break  # the first processor describes them all
    except OSError:
        pass
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def enable() -> Path | None:
    """Turn on the persistent compilation cache (once per process); returns its folder.

    Call before the first compilation; later calls return the same answer at no cost.
    ``None`` when the cache is off, left to the user's own JAX settings, or unusable.
    """
    global _done, _folder
    with _lock:
        if _done:
            return _folder
        _done = True
        _folder = _enable()
        return _folder


def _enable() -> Path | None:
    import jax

    if jax.config.jax_compilation_cache_dir or not jax.config.jax_enable_compilation_cache:
        return None
    root = cache_root()
    if root is None:
        return None
    folder = root / version_folder_name()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
        os.utime(folder)
    except OSError as exc:
        warnings.warn(
            f"cannot use the compilation cache folder {str(folder)!r} "
            f"({exc.strerror or exc}); JAX programs are compiled without it. Set {ENV_VAR} "
            f"to a writable folder, or to '{OFF}' to turn the cache off",
            CompileCacheWarning, stacklevel=3)
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES" not in os.environ:
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    _remove_stale(root, folder.name)
    return folder


def _remove_stale(root: Path, keep: str) -> None:
    """Remove the version folders beside ``keep`` that no process used for STALE_DAYS days."""
    limit = time.time() - STALE_DAYS * 86400
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name == keep or not entry.name.startswith(_PREFIX) or "-jaxlib-" not in entry.name:
            continue
        try:
            if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime < limit:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            continue
