"""The command line under signals and a failing file system, run as real processes.

Ctrl-C (SIGINT) and SIGTERM end a command with one line and status 130 or 143, wherever they
land (inside JAX's compilation of a fit, or while rows are written), and never leave a
temporary file or damage an existing output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthgen
from synthgen.cli.app import app

#: a test run in the background may have SIGINT ignored, which a child inherits; a user's
#: terminal does not, so each child starts with the usual handlers
_PRELUDE = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
"""
#: runs the command line after patching the GMM's fit to say on stderr when it starts
_ANNOUNCING_CHILD = _PRELUDE + """
from synthgen.generators import gmm
real = gmm.GMMGenerator._fit
def announced(self, *args):
    print("fit-started", file=sys.__stderr__, flush=True)
    return real(self, *args)
gmm.GMMGenerator._fit = announced
from synthgen.cli import main
main()
"""
_CLI_CHILD = _PRELUDE + "from synthgen.cli import main; main()"
#: the command line in a process whose files may not grow beyond 1 MiB (as on a full disk)
_SMALL_FILES_CHILD = _PRELUDE + """
import resource
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
from synthgen.cli import main
main()
"""


def spawn(code: str, *args, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, SYNTHGEN_CACHE_DIR="off")
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen, line: str) -> list[str]:
    seen = []
    for raw in proc.stderr:
        seen.append(raw.rstrip("\n"))
        if seen[-1] == line:
            return seen
    raise AssertionError(f"the child ended without printing {line!r}: {seen}")


def assert_one_error_line(stderr: str, expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [expected], stderr


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def writing(folder: Path) -> bool:
    """Whether a temporary file in ``folder`` holds rows already (the CLI's check that the
    folder takes files creates and removes an empty one first, which may vanish mid-look)."""
    for name in temp_files(folder):
        try:
            if (folder / name).stat().st_size > 0:
                return True
        except FileNotFoundError:
            continue
    return False


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 3)) @ np.triu(np.ones((3, 3))), columns=list("abc"))
    path = tmp_path_factory.mktemp("model") / "g.sgm"
    synthgen.make("gaussian").fit(frame, seed=1).save(path)
    return path


def test_ctrl_c_during_a_fit_always_ends_with_status_130_and_one_line(tmp_path):
    """Three fits, each interrupted at another moment after it started (compiling, fitting)."""
    delays = (0.0, 0.8, 2.5)
    procs = [spawn(_ANNOUNCING_CHILD, "fit", "creditcard", "--model", "gmm", "-o", f"m{i}.sgm",
                   cwd=tmp_path) for i in range(len(delays))]
    try:
        started = []
        for proc in procs:
            wait_for_line(proc, "fit-started")
            started.append(time.monotonic())
        for proc, delay, t0 in sorted(zip(procs, delays, started), key=lambda x: x[2] + x[1]):
            time.sleep(max(0.0, t0 + delay - time.monotonic()))
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            rest = proc.stderr.read()
            proc.wait(timeout=60)
            assert proc.returncode == 130, (proc.returncode, rest)
            assert_one_error_line(rest, "error: interrupted")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig, status, word", [(signal.SIGTERM, 143, "terminated"),
                                               (signal.SIGINT, 130, "interrupted")])
def test_a_signal_while_writing_keeps_the_old_file_and_leaves_no_temporary(model_file, tmp_path,
                                                                         sig, status, word):
    big = tmp_path / "big.parquet"
    big.write_bytes(b"the previous output")
    proc = spawn(_CLI_CHILD, "sample", "--from", model_file, "--n", 20_000_000, "-o", big, "-q",
                 cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not writing(tmp_path):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.005)
        proc.send_signal(sig)
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, (proc.returncode, rest)
    assert_one_error_line(rest, f"error: {word}")
    assert big.read_bytes() == b"the previous output"
    assert temp_files(tmp_path) == []


def test_a_later_write_sweeps_what_a_killed_writer_left(model_file, tmp_path):
    """SIGKILL cannot be handled: the temporary file stays, and the next write of that name
    removes it once its writer is gone (a concurrent writer's file is left alone)."""
    out = tmp_path / "rows.csv"
    proc = spawn(_CLI_CHILD, "sample", "--from", model_file, "--n", 20_000_000, "-o", out, "-q",
                 cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not writing(tmp_path):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
    left = temp_files(tmp_path)
    assert len(left) == 1 and f"-{proc.pid}." in left[0]
    host = left[0].split(".")[3].rpartition("-")[0]
    old = time.time() - 3600
    os.utime(tmp_path / left[0], (old, old))
    writer = subprocess.Popen(["sleep", "60"])  # a live process, as a concurrent writer is
    try:
        live = tmp_path / f".rows.csv.{host}-{writer.pid}.abcdefgh.part"
        live.write_text("a concurrent writer's rows")
        os.utime(live, (old, old))
        result = CliRunner().invoke(app, ["sample", "--from", str(model_file), "--n", "10",
                                          "-o", str(out), "-q"])
    finally:
        writer.kill()
        writer.wait()
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 10
    assert temp_files(tmp_path) == [live.name]


def test_a_file_size_limit_mid_write_is_one_line_with_status_2(model_file, tmp_path):
    """The kernel refuses to grow the file (RLIMIT_FSIZE, as a full disk would refuse)."""
    out = tmp_path / "rows.csv"
    out.write_text("precious\n")
    proc = spawn(_SMALL_FILES_CHILD, "sample", "--from", model_file, "--n", 200_000, "-o", out, "-q",
                 cwd=tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert_one_error_line(err, f"error: cannot write {out}: file too large (errno 27); "
                               "the existing file is unchanged")
    assert out.read_text() == "precious\n"
    assert temp_files(tmp_path) == []
