"""README's and docs' shell examples, run as written with the real gbl in a temp copy of
sample_project.  A fenced ```sh or ```console block preceded by ``<!-- runnable: SETUP -->`` runs
here; SETUP names how its directory is prepared (below).  An ```sh block runs with
``bash -euo pipefail``: every command must succeed.  In a ```console block each ``$ command``
runs and the lines shown after it must appear in its output (stdout, then stderr) in that
order, ``…`` matching anything."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLE, copy_project

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"<!-- runnable: (\w+) -->\n```(sh|console)\n(.*?)```", re.S)


def examples() -> list[tuple[str, str, str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in MARK.finditer(text):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{doc.relative_to(ROOT).as_posix()}:{line}", m.group(1), m.group(2), m.group(3)))
    return found


EXAMPLES = examples()


def test_the_runnable_examples_are_found():
    assert {(where.split(":")[0], setup) for where, setup, _, _ in EXAMPLES} >= {
        ("README.md", "go1x"), ("README.md", "badzip"), ("docs/migrating.md", "go1x"), ("docs/docker.md", "home")}


# ------------------------------------------------------------------------------------ setups
def _template_from_docs() -> str:
    text = (ROOT / "docs" / "migrating.md").read_text(encoding="utf-8")
    return re.search(r"```yaml\n(# template.yaml \(before\)\n.*?)```", text, re.S).group(1)


def setup_go1x(root: Path, env: dict) -> None:
    """The walkthrough's go1.x project: the sample's functions, a legacy Makefile, docs/migrating.md's template."""
    (root / "template.yaml").write_text(_template_from_docs(), encoding="utf-8")
    (root / "Makefile").write_text("build:\n\tGOOS=linux GOARCH=amd64 go build -o bin/api ./cmd/api\n")


def setup_badzip(root: Path, env: dict) -> None:
    """function.zip: the sample's api zip with its bootstrap not executable (mode 0644)."""
    proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", "build", "-C", str(root), "api"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(root / "dist" / "api.zip") as zin, zipfile.ZipFile(root / "function.zip", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zout.writestr(info, data)


def setup_home(root: Path, env: dict) -> None:
    """A private HOME (so ~/.cache/gbl/docker is the test's), the host's Go caches kept."""
    for key in ("GOMODCACHE", "GOCACHE", "GOPATH"):
        env[key] = subprocess.run(["go", "env", key], capture_output=True, text=True, check=True).stdout.strip()
    env["HOME"] = str(root.parent / "home")
    Path(env["HOME"]).mkdir()


def check_home(root: Path, env: dict) -> None:
    cache = Path(env["HOME"]) / ".cache" / "gbl" / "docker" / "gomodcache"
    assert (cache / "cache" / "download" / "github.com" / "aws" / "aws-lambda-go").is_dir()
    for d, _, _ in os.walk(cache):  # Go makes the module cache read-only: let tmp_path go
        os.chmod(d, 0o755)


SETUPS = {"go1x": setup_go1x, "badzip": setup_badzip, "home": setup_home}
CHECKS = {"home": check_home}


# ------------------------------------------------------------------------------------ runner
def _gbl_on_path(tmp_path: Path, env: dict) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "gbl"
    shim.write_text(f"#!{sys.executable}\nimport runpy, sys\nsys.argv[0] = 'gbl'\n"
                    "runpy.run_module('gobuild_lambda', run_name='__main__')\n")
    shim.chmod(0o755)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")


def _matches(expected: str, line: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("…"))
    return re.fullmatch(pattern, line.rstrip()) is not None


def _run_console(block: str, root: Path, env: dict, where: str) -> None:
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:].split("  #")[0].strip(), []))
        elif steps:
            steps[-1][1].append(line)
    for command, expected in steps:
        proc = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True,
                              timeout=600)
        got = (proc.stdout + proc.stderr).splitlines()
        i = 0
        for want in expected:
            while i < len(got) and not _matches(want, got[i]):
                i += 1
            assert i < len(got), f"{where}: `{command}` did not print {want!r}:\n{proc.stdout}{proc.stderr}"
            i += 1


@pytest.mark.parametrize("where,setup,kind,block", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs_as_documented(where, setup, kind, block, tmp_path):
    assert setup in SETUPS, f"{where}: unknown setup {setup!r}"
    root = copy_project(SAMPLE, tmp_path / "project")
    env = dict(os.environ)
    _gbl_on_path(tmp_path, env)
    SETUPS[setup](root, env)
    if kind == "sh":
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=root, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{where}:\n{block}\n{proc.stdout}{proc.stderr}"
    else:
        _run_console(block, root, env, where)
    if setup in CHECKS:
        CHECKS[setup](root, env)
