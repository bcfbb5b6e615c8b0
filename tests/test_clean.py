"""`gbl clean`: removes the zips and manifest gbl wrote, .gbl/ and the warm build containers
(those: test_docker_build.py), and nothing else; refuses another module's output directory."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from conftest import SAMPLE, copy_project, run_gbl
from json_helpers import checked
from gobuild_lambda import errors
from gobuild_lambda.fsutil import temp_name


def snapshot(root: Path) -> dict[str, str]:
    """Every file outside dist/ and .gbl/: its sha256 (what a user wrote)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(("dist/", ".gbl/")):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_clean_removes_gbls_files_and_keeps_the_users(tmp_path):
    root = copy_project(SAMPLE, tmp_path / "p")
    assert run_gbl("build", "-C", str(root)).returncode == 0
    before = snapshot(root)
    dist = root / "dist"
    (dist / "NOTES.md").write_text("mine\n")  # a user's file in dist/ stays
    (dist / "other.zip").write_bytes(b"PK")  # a zip the manifest does not name is not gbl's
    (dist / temp_name("api.zip", "zip", unique="x")).write_bytes(b"half")  # a killed run's temporary
    proc = run_gbl("clean", "-C", str(root), "--json")
    doc = checked(proc, "clean", ok=True)
    assert doc["project_dir"] == str(root) and doc["out_dir"] == str(dist)
    assert sorted(Path(p).name for p in doc["kept"]) == ["NOTES.md", "other.zip"]
    assert sorted(p.name for p in dist.iterdir()) == ["NOTES.md", "other.zip"]
    removed = [Path(p) for p in doc["removed"]]
    assert {p.name for p in removed} >= {"api.zip", "echo.zip", "nightly-report.zip", "manifest.json", ".gbl"}
    assert removed.index(dist / "manifest.json") > removed.index(dist / "api.zip")  # the manifest goes last
    assert not (root / ".gbl").exists()
    assert isinstance(doc["containers"], int)  # a daemon answers in CI: 0 of this local build's
    assert snapshot(root) == before
    # The next build starts from nothing and works; a second clean then empties dist/ of gbl's files.
    assert run_gbl("build", "-C", str(root)).returncode == 0
    (dist / "NOTES.md").unlink()
    (dist / "other.zip").unlink()
    proc = run_gbl("clean", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"removed {dist} (3 zip(s) and its manifest)" in proc.stdout
    assert f"removed {root / '.gbl'}" in proc.stdout
    assert not dist.exists() and not (root / ".gbl").exists()
    assert snapshot(root) == before


def test_clean_out_and_without_docker(tmp_path):
    """-o DIR relative to -C; no Docker daemon is no error (nothing of gbl's can run there);
    a project never built has nothing to clean."""
    root = copy_project(SAMPLE, tmp_path / "p")
    assert run_gbl("build", "-C", str(root), "-o", "out/zips").returncode == 0
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    proc = run_gbl("clean", "-C", str(root), "-o", "out/zips", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no Docker daemon answered: no warm build container to stop" in proc.stdout
    assert not (root / "out" / "zips").exists() and (root / "out").is_dir()
    proc = run_gbl("clean", "-C", str(root), "--json", env=env)
    doc = checked(proc, "clean", ok=True)
    assert doc["removed"] == [] and doc["containers"] is None
    proc = run_gbl("clean", "-C", str(root), env=env)
    assert f"nothing of gbl's to clean in {root}" in proc.stdout


def test_clean_refuses_another_modules_output_directory(tmp_path):
    a = copy_project(SAMPLE, tmp_path / "a")
    assert run_gbl("build", "-C", str(a)).returncode == 0
    b = copy_project(SAMPLE, tmp_path / "b")
    go_mod = b / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("module ", "module example.com/other/", 1))
    manifest = a / "dist" / "manifest.json"
    before = sorted(p.name for p in (a / "dist").iterdir())
    proc = run_gbl("clean", "-C", str(b), "-o", str(a / "dist"), "--json")
    doc = checked(proc, "clean", ok=False)
    assert proc.returncode == errors.OutputError.exit_code
    assert doc["error"]["where"] == str(manifest)
    assert "holds the zips of the Go module" in doc["error"]["message"]
    assert sorted(p.name for p in (a / "dist").iterdir()) == before
    assert json.loads(manifest.read_text())["functions"]

