"""What gbl says when `go` itself misbehaves (issue 16): a clear message and its exit code, never a
traceback and never go.mod blamed for what is not go.mod's fault.  Real `go` where it can show
the case (GOFLAGS), a `go` wrapper (GBL_GO) for the broken toolchains."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE, copy_project, run_gbl

REAL_GO = shutil.which("go")


def wrapper(tmp: Path, match: list[str], body: str) -> Path:
    """A `go` that runs ``body`` (Python) when its arguments start with ``match``, else real go."""
    path = tmp / "wrapgo" / "go"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"if sys.argv[1:1 + {len(match)}] == {match!r}:\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + f"os.execv({REAL_GO!r}, [{REAL_GO!r}, *sys.argv[1:]])\n"
    )
    path.chmod(0o755)
    return path


def gbl(project: Path, go: Path | None = None, *args: str, **env_extra: str):
    env = dict(os.environ, **env_extra)
    if go is not None:
        env["GBL_GO"] = str(go)
    return run_gbl(*args or ("plan",), "-C", str(project), env=env)


@pytest.mark.parametrize("match", [["list", "-m"], ["list", "-e"]])
@pytest.mark.parametrize("command", ["plan", "build"])
def test_go_printing_non_json_is_a_clear_tool_error(tmp_path, match, command):
    project = copy_project(SAMPLE, tmp_path / "p")
    go = wrapper(tmp_path, match, "print('Welcome to the go wrapper v2!')\nprint('{\"Path\": 1')\nsys.exit(0)")
    r = gbl(project, go, command)
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
    assert "not JSON" in r.stderr and "Welcome to the go wrapper v2!" in r.stderr
    assert str(go) in r.stderr  # where: which `go`
    assert "hint:" in r.stderr and "wrapper" in r.stderr


@pytest.mark.parametrize("match", [["list", "-m"], ["list", "-e"]])
def test_go_failing_without_output_says_so(tmp_path, match):
    project = copy_project(SAMPLE, tmp_path / "p")
    go = wrapper(tmp_path, match, "sys.exit(3)")
    r = gbl(project, go)
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
    assert "go.mod cannot be read" not in r.stderr
    assert "failed (exit code 3) without printing a word" in r.stderr
    assert str(go) in r.stderr and "reinstall Go" in r.stderr


@pytest.mark.parametrize("command", ["plan", "build"])
def test_bad_goflags_is_blamed_on_goflags_not_go_mod(tmp_path, command):
    project = copy_project(SAMPLE, tmp_path / "p")
    r = gbl(project, None, command, GOFLAGS="-badflag")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "go.mod cannot be read" not in r.stderr
    assert "Go rejected GOFLAGS='-badflag'" in r.stderr
    assert "unknown flag -badflag" in r.stderr  # Go's own words
    assert "unset GOFLAGS" in r.stderr and "go env -u GOFLAGS" in r.stderr
    assert not (project / "dist").exists()
