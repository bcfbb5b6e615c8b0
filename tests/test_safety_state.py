"""Issue 16, state files: dist/manifest.json, .gbl/*.json and shard manifests are data.  Nothing they
say makes gbl read, write, delete or run anything outside the project's own output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import run_gbl
from gobuild_lambda import errors
from gobuild_lambda.pipeline import merge_manifests
from safety_helpers import manifest_of, tiny_module

import pytest


def _victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim" / "precious.txt"
    v.parent.mkdir()
    v.write_text("do not delete")
    return v


def _hostile_entry(zip_field: str) -> dict:
    return {"package": "x", "dir": "cmd/alpha", "arch": "amd64", "runtime": "provided.al2023",
            "zip": zip_field, "size": 13, "sha256": "0" * 64, "code_sha256": "", "go_version": "",
            "aws_lambda_go": None, "builder": "local", "flags": {}, "include": []}


@pytest.mark.parametrize("how", ["relative", "absolute", "name"])
def test_manifest_naming_a_file_outside_dist_never_deletes_it(tmp_path, how):
    victim = _victim(tmp_path)
    root = tiny_module(tmp_path / "p")
    dist = root / "dist"
    dist.mkdir()
    if how == "relative":
        functions = {"alpha": _hostile_entry("../../victim/precious.txt")}
    elif how == "absolute":
        functions = {"alpha": _hostile_entry(str(victim)), "gone": _hostile_entry(str(victim))}
    else:  # a function that no longer exists, whose *name* walks out of dist/
        functions = {"../../victim/precious": _hostile_entry("../../victim/precious.zip")}
        victim.rename(victim.with_suffix(".zip"))
        victim = victim.with_suffix(".zip")
    (dist / "manifest.json").write_text(json.dumps({"schema": 1, "functions": functions}))
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "do not delete"
    doc = manifest_of(dist)
    assert sorted(doc["functions"]) == ["alpha", "beta"]
    assert all(e["zip"] == f"{n}.zip" for n, e in doc["functions"].items())


def test_a_second_project_is_refused_and_the_first_keeps_its_zips(tmp_path):
    shared = tmp_path / "shared-dist"
    a = tiny_module(tmp_path / "a", module="example.com/a", functions=("alpha",))
    b = tiny_module(tmp_path / "b", module="example.com/b", functions=("beta",))
    assert run_gbl("build", "-C", str(a), "--out", str(shared)).returncode == 0
    before = (shared / "alpha.zip").read_bytes()
    proc = run_gbl("build", "-C", str(b), "--out", str(shared))
    assert proc.returncode == errors.EXIT_OUTPUT, proc.stderr
    assert "example.com/a" in proc.stderr and "example.com/b" in proc.stderr
    assert "--out" in proc.stderr and "Traceback" not in proc.stderr
    assert (shared / "alpha.zip").read_bytes() == before
    assert not (shared / "beta.zip").exists()
    assert manifest_of(shared)["module"] == "example.com/a"
    # the same project again is fine
    assert run_gbl("build", "-C", str(a), "--out", str(shared)).returncode == 0


def test_two_projects_building_into_one_out_at_once_one_wins_cleanly(tmp_path):
    shared = tmp_path / "shared-dist"
    projects = [tiny_module(tmp_path / n, module=f"example.com/{n}", functions=(f"{n}-fn", f"{n}-two"))
                for n in ("a", "b")]
    procs = [subprocess.Popen([sys.executable, "-m", "gobuild_lambda", "build", "-C", str(p), "--out", str(shared)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in projects]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, errors.EXIT_OUTPUT], outs
    winner = "a" if procs[0].returncode == 0 else "b"
    loser = "b" if winner == "a" else "a"
    assert "example.com/" + winner in outs[[0, 1][loser == "b"]][1]
    doc = manifest_of(shared)
    assert doc["module"] == f"example.com/{winner}"
    assert sorted(doc["functions"]) == [f"{winner}-fn", f"{winner}-two"]
    import hashlib
    for name, e in doc["functions"].items():
        assert hashlib.sha256((shared / e["zip"]).read_bytes()).hexdigest() == e["sha256"]
    assert sorted(p.name for p in shared.iterdir()) == sorted([f"{winner}-fn.zip", f"{winner}-two.zip", "manifest.json"])


def test_merge_never_writes_outside_out(tmp_path):
    root = tiny_module(tmp_path / "p", functions=("alpha",))
    assert run_gbl("build", "-C", str(root), "--out", str(tmp_path / "s1")).returncode == 0
    doc = manifest_of(tmp_path / "s1")
    doc["functions"]["alpha"]["zip"] = "../escaped.zip"
    (tmp_path / "s1" / "manifest.json").write_text(json.dumps(doc))
    (tmp_path / "escaped.zip").write_bytes((tmp_path / "s1" / "alpha.zip").read_bytes())
    with pytest.raises(errors.UsageError) as exc:
        merge_manifests([tmp_path / "s1"], tmp_path / "merged" / "out")
    assert "../escaped.zip" in str(exc.value) and "alpha" in str(exc.value)
    proc = run_gbl("manifest", "merge", str(tmp_path / "s1"), "--out", str(tmp_path / "merged" / "out"))
    assert proc.returncode == errors.EXIT_USAGE and "Traceback" not in proc.stderr
    assert not (tmp_path / "merged" / "escaped.zip").exists()
    assert not list((tmp_path / "merged").rglob("*.zip"))


EVIL = 'package main\n\nimport "os"\n\nfunc main() { os.WriteFile(os.Args[1], []byte("ran"), 0o644) }\n'
_SELECTION = {"names": [], "shard": None, "arch": None, "builder": None, "image": None, "jobs": 2}


@pytest.mark.parametrize("form", ["args", "functions"])
def test_a_planted_calls_file_never_runs_anything_but_gbls_own_go_build(tmp_path, form):
    root = tiny_module(tmp_path / "p")
    (root / "tools" / "evil").mkdir(parents=True)
    (root / "tools" / "evil" / "main.go").write_text(EVIL)
    marker = tmp_path / "evil-ran"
    assert run_gbl("build", "-C", str(root), "--jobs", "2").returncode == 0
    if form == "args":  # the old format: a command line to run
        doc = {"selection": _SELECTION, "calls": [
            {"args": ["run", "./tools/evil", str(marker)], "env": [["GOFLAGS", ""]],
             "out_dir": str(root / ".gbl" / "build" / "x"), "binaries": ["alpha"]}]}
    else:  # the current format, naming a package that is not one of the project's functions
        doc = {"selection": _SELECTION, "functions": [
            {"package": "example.com/tiny/tools/evil", "rel_dir": "tools/evil"},
            {"package": "-toolexec=/bin/sh", "rel_dir": "cmd/alpha"}]}
    (root / ".gbl" / "calls.json").write_text(json.dumps(doc))
    proc = run_gbl("build", "-C", str(root), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert not list((root / ".gbl" / "build").rglob("evil"))


def test_speculative_calls_are_derived_from_gbl_toml_not_read_from_the_file(tmp_path):
    from gobuild_lambda import incremental

    root = tiny_module(tmp_path / "p")
    assert run_gbl("build", "-C", str(root), "--jobs", "2").returncode == 0
    calls = incremental.speculative_calls(root, _SELECTION)
    assert calls and all(c.args[0] == "build" for c in calls)
    assert sorted(f.rel_dir for c in calls for f in c.functions) == ["cmd/alpha", "cmd/beta"]
    doc = json.loads((root / ".gbl" / "calls.json").read_text())
    assert "args" not in json.dumps(doc) and "env" not in doc


def test_a_zip_changed_in_place_at_the_same_size_is_rebuilt(tmp_path):
    import hashlib

    root = tiny_module(tmp_path / "p")
    assert run_gbl("build", "-C", str(root)).returncode == 0
    z = root / "dist" / "alpha.zip"
    good = z.read_bytes()
    with open(z, "r+b") as fh:  # same size, same inode, different bytes
        fh.seek(len(good) // 2)
        fh.write(bytes([good[len(good) // 2] ^ 0xFF]))
    assert z.stat().st_size == len(good) and z.read_bytes() != good
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert z.read_bytes() == good
    entry = manifest_of(root / "dist")["functions"]["alpha"]
    assert hashlib.sha256(z.read_bytes()).hexdigest() == entry["sha256"]
    # and a no-op build after that leaves it alone
    before = z.stat().st_ino, z.stat().st_mtime_ns
    assert run_gbl("build", "-C", str(root)).returncode == 0
    assert (z.stat().st_ino, z.stat().st_mtime_ns) == before


@pytest.mark.parametrize("how", ["relative", "absolute", "name", "fifo"])
def test_verify_never_reads_a_file_a_manifest_names_outside_dist(tmp_path, how):
    """`gbl verify` with no argument reads dist/manifest.json: an entry whose zip is not
    <name>.zip beside it is not trusted, and the file it names is never opened."""
    import os

    root = tmp_path / "p"
    dist = root / "dist"
    dist.mkdir(parents=True)
    secret = tmp_path / ("secret.zip" if how == "name" else "secret")
    if how == "fifo":  # opening it would block: the run's timeout fails the test
        os.mkfifo(secret)
        functions = {"alpha": _hostile_entry("../../secret")}
    else:  # not a zip: reading it would make verify fail on it (exit 4), not refuse it (exit 2)
        secret.write_bytes(b"the secret, not a zip")
        functions = {"relative": {"alpha": _hostile_entry("../../secret")},
                     "absolute": {"alpha": _hostile_entry(str(secret))},
                     "name": {"../../secret": _hostile_entry("../../secret.zip")}}[how]
    (dist / "manifest.json").write_text(json.dumps({"schema": 1, "functions": functions}))
    proc = run_gbl("verify", cwd=root, timeout=60)
    assert proc.returncode == errors.EXIT_USAGE, (proc.stdout, proc.stderr)
    assert "not trusted" in proc.stderr and "manifest.json" in proc.stderr
    assert "Traceback" not in proc.stderr and "the secret" not in proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout and "PASS" not in proc.stdout
