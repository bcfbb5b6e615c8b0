"""What `gbl` prints for people: build progress in a CI log (read from the pipe as it arrives),
the build summary, verify's compact and -v output, and tables that fit 80 columns."""

from __future__ import annotations

import io
import re
import os
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

from conftest import SAMPLE, copy_project, run_gbl

LONG = "a-really-long-function-name-that-must-never-be-cut-in-a-table"

# A `go` that holds every `go build` until the test creates the release file: a long build with
# no clock involved.  Everything else goes straight to the real go.
_SLOW_GO = r"""#!{python}
import os, sys, time
release = os.environ["SLOW_GO_RELEASE"]
if len(sys.argv) > 1 and sys.argv[1] == "build":
    open(os.environ["SLOW_GO_STARTED"], "w").close()
    while not os.path.exists(release):
        time.sleep(0.05)
os.execv(os.environ["REAL_GO"], [os.environ["REAL_GO"], *sys.argv[1:]])
"""


def _slow_go(tmp_path: Path) -> dict:
    wrapper = tmp_path / "slow-go"
    wrapper.write_text(_SLOW_GO.replace("{python}", sys.executable))
    wrapper.chmod(0o755)
    return {**os.environ, "GBL_GO": str(wrapper), "REAL_GO": shutil.which("go"),
            "SLOW_GO_RELEASE": str(tmp_path / "release"), "SLOW_GO_STARTED": str(tmp_path / "started")}


def test_progress_lines_arrive_in_a_pipe_while_the_build_runs(tmp_path):
    root = copy_project(SAMPLE, tmp_path / "sample_project")
    env = _slow_go(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "gobuild_lambda", "build", "-C", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out_box: list[str] = []
    reader = threading.Thread(target=lambda: out_box.append(proc.stdout.read()))
    reader.start()
    seen: list[str] = []
    try:
        for line in proc.stderr:  # line by line, as gbl writes them: not the end of the run
            seen.append(line)
            if "waiting for" in line and "go build" in line:
                # go build is still being held: the log says so while the build runs
                assert proc.poll() is None and not (tmp_path / "release").exists()
                break
        else:
            raise AssertionError("no `waiting for go build` line before the end:\n" + "".join(seen))
        text = "".join(seen)
        assert "gbl: planning" in text and "gbl: planned 3 function(s)" in text
        assert "gbl: compiling: go build (3 function(s))" in text
        assert "compiled" not in text.replace("compiling", "")  # nothing compiled yet
        (tmp_path / "release").write_text("")
        rest = proc.stderr.read()
    finally:
        (tmp_path / "release").write_text("")
        proc.wait(timeout=600)
        reader.join()
    assert proc.returncode == 0, text + rest
    for name in ("api", "echo", "nightly-report"):
        assert f"gbl: compiled {name} [" in rest and f"gbl: packaged and verified {name} (" in rest
    assert "gbl: compiling done: 3/3" in rest and "gbl: packaging done: 3/3" in rest
    assert "3/3" in rest
    out = out_box[0]
    assert "3 function(s): 3 built, 0 reused, 0 failed;" in out
    for line in out.splitlines():
        if line.startswith(("│ api ", "│ echo ")):
            assert " built " in line and "relinked" not in line  # a first build is `built`


def test_heartbeat_when_nothing_happens_for_a_while():
    """Without a terminal, a silent stage still prints a line at least every heartbeat."""
    from rich.console import Console

    from gobuild_lambda.cliout import BuildProgress
    from gobuild_lambda.pipeline import Event

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    done = threading.Event()
    with BuildProgress(console, live=False, heartbeat_s=0.2) as progress:
        progress(Event("plan", detail="2 function(s)", count=2))
        progress(Event("built", "a", "relinked"))
        while "still" not in buf.getvalue():
            done.wait(0.05)
    text = buf.getvalue()
    assert "gbl: still compiling: compiled 1/2, packaged 0/2" in text, text


def _mode_644(src: Path, dest: Path) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zout.writestr(info, data)
    return dest


def test_verify_compact_and_verbose(sample_build, tmp_path):
    dist = sample_build.out_dir
    bad = _mode_644(dist / "api.zip", tmp_path / "bad.zip")
    proc = run_gbl("verify", str(dist / "echo.zip"), str(bad))
    assert proc.returncode == 4
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{dist / 'echo.zip'}: ok (") and "checks passed)" in lines[0]
    assert lines[1].startswith(f"{bad}: FAILED (")
    assert lines[2] == "  FAIL bootstrap-executable: bootstrap: mode 0644, not executable"
    assert lines[3].strip().startswith("Lambda: Runtime.InvalidEntrypoint")
    assert lines[4].strip().startswith("fix: ")
    assert lines[-1] == "2 zip(s) checked: 1 ok, 1 failed (-v shows every check)"
    assert "zip-readable" not in proc.stdout  # passing checks are not listed

    proc = run_gbl("verify", "-v", str(dist / "echo.zip"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"{dist / 'echo.zip'}: ok"
    assert "  ok   zip-readable: " in proc.stdout and "  ok   bootstrap-executable: " in proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 zip(s) checked: 1 ok, 0 failed"


def test_tables_fit_80_columns_without_cutting_a_long_name(tmp_path):
    root = copy_project(SAMPLE, tmp_path / "sample_project")
    (root / "cmd" / "api").rename(root / "cmd" / LONG)
    env = {**os.environ, "COLUMNS": "80"}
    for args in (["plan"], ["build"], ["build"]):
        proc = run_gbl(*args, "-C", str(root), env=env)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80, proc.stdout
        assert any(f" {LONG} " in line for line in lines), proc.stdout  # whole, on one line
        assert "…" not in proc.stdout


def test_terminal_progress_shows_n_of_n_and_elapsed_time():
    """On a terminal: a progress display (compiled, packaged+verified as n/N, elapsed time)."""
    from rich.console import Console

    from gobuild_lambda.cliout import BuildProgress
    from gobuild_lambda.pipeline import Event

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    with BuildProgress(console, live=True) as progress:
        progress(Event("plan", detail="2 function(s)", count=2))
        progress(Event("build", detail="go build (2 function(s))"))
        progress(Event("built", "a", "relinked"))
        progress(Event("built", "b", "up to date"))
        progress(Event("packaged", "a", "2048 bytes"))
        progress(Event("reused", "b", "zip up to date"))
    text = buf.getvalue()
    assert "compiled" in text and "packaged+verified" in text and "2/2" in text, text
    assert re.search(r"\b\d+:\d\d:\d\d\b", text), text  # the elapsed-time column (any value: no clock)
    assert "gbl: " not in text  # no plain log lines on a terminal
