"""Issue 16, the output directory: gbl touches only its own files there, and every fault in it is a
clear message with its exit code (never a traceback)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_gbl
from gobuild_lambda import errors, fsutil
from safety_helpers import manifest_of, tiny_module


def test_sweep_removes_only_gbls_own_temporaries(tmp_path):
    root = tiny_module(tmp_path / "p")
    dist = root / "dist"
    dist.mkdir()
    users = [dist / ".notes.tmp", dist / ".draft.zip.1234.tmp", dist / ".gbl-notes.tmp"]
    for u in users:
        u.write_text("mine")
    ours = dist / fsutil.temp_name("alpha.zip", "staged")
    ours.write_bytes(b"half a zip from a killed gbl")
    assert fsutil.is_gbl_temporary(ours.name)
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    for u in users:
        assert u.read_text() == "mine", u
    assert not ours.exists()


def test_temporary_names_are_short_and_recognisable():
    name = fsutil.temp_name("x" * 250 + ".zip", "staged")
    assert len(name.encode()) < 120 and fsutil.is_gbl_temporary(name)
    assert not fsutil.is_gbl_temporary(".x.zip.123.staged.tmp")
    assert not fsutil.is_gbl_temporary(".gbl-tmp-notes.tmp")


def test_lock_that_is_a_directory_is_a_clear_output_error(tmp_path):
    root = tiny_module(tmp_path / "p")
    (root / ".gbl" / "lock").mkdir(parents=True)
    (root / ".gbl" / "lock" / "x").write_text("")
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_OUTPUT, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "lock file is a directory" in proc.stderr and str(root / ".gbl" / "lock") in proc.stderr
    assert "remove" in proc.stderr


def test_lock_that_is_a_symlink_loop_is_a_clear_output_error(tmp_path):
    root = tiny_module(tmp_path / "p")
    (root / ".gbl").mkdir()
    os.symlink("lock", root / ".gbl" / "lock")  # points at itself: ELOOP
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_OUTPUT, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "symbolic link" in proc.stderr and "remove" in proc.stderr
    assert (root / ".gbl" / "lock").is_symlink()  # not followed, not replaced


def test_a_directory_where_a_zip_goes_is_a_clear_output_error(tmp_path):
    root = tiny_module(tmp_path / "p")
    (root / "dist" / "alpha.zip").mkdir(parents=True)
    (root / "dist" / "alpha.zip" / "keep.txt").write_text("mine")
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_OUTPUT, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "is a directory" in proc.stderr and "alpha" in proc.stderr and "move or remove" in proc.stderr
    assert (root / "dist" / "alpha.zip" / "keep.txt").read_text() == "mine"


def test_a_240_character_function_name_builds(tmp_path):
    long = "f" * 240
    root = tiny_module(tmp_path / "p", functions=(long, "beta"))
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert (root / "dist" / f"{long}.zip").is_file()
    assert long in manifest_of(root / "dist")["functions"]


def test_a_function_name_too_long_for_a_zip_name_is_a_config_error(tmp_path):
    long = "g" * 252  # the directory fits, <name>.zip (256 bytes) does not
    root = tiny_module(tmp_path / "p", functions=(long, "beta"))
    assert run_gbl("build", "-C", str(root), "beta").returncode == 0
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_USAGE, proc.stderr
    assert "Traceback" not in proc.stderr and "disk" not in proc.stderr
    assert "255 bytes" in proc.stderr and "name" in proc.stderr
    assert (root / "dist" / "beta.zip").is_file()  # nothing deleted


def test_init_force_keeps_every_file_it_replaces(tmp_path):
    from conftest import copy_project, SAMPLE

    project = copy_project(SAMPLE, tmp_path / "sample_project")
    toml = (project / "gbl.toml").read_text() + "# my precious comment\n"
    (project / "gbl.toml").write_text(toml)
    (project / "Makefile").write_text("all:\n\t@echo hand-written\n")
    wf = project / ".github" / "workflows" / "gbl.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text("name: mine\n")
    proc = run_gbl("init", "--force", "-C", str(project))
    assert proc.returncode == 0, proc.stderr
    assert (project / "gbl.toml.bak").read_text() == toml
    assert (project / "Makefile.bak").read_text() == "all:\n\t@echo hand-written\n"
    assert wf.with_name("gbl.yml.bak").read_text() == "name: mine\n"
    for p in (project / "gbl.toml.bak", project / "Makefile.bak", wf.with_name("gbl.yml.bak")):
        assert f"kept as {p}" in proc.stdout
    # a second --force with changed files keeps the first backups and adds .bak.1
    (project / "Makefile").write_text("all:\n\t@echo second\n")
    proc = run_gbl("init", "--force", "-C", str(project))
    assert proc.returncode == 0, proc.stderr
    assert (project / "Makefile.bak").read_text() == "all:\n\t@echo hand-written\n"
    assert (project / "Makefile.bak.1").read_text() == "all:\n\t@echo second\n"
    assert not (project / "gbl.toml.bak.1").exists()  # unchanged files are not backed up again


def test_gbl_zip_never_leaves_a_zip_that_failed_verify(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    proc = run_gbl("zip", str(text), "-o", str(tmp_path / "bad.zip"), cwd=tmp_path)
    assert proc.returncode == errors.EXIT_VERIFY_FAILED, proc.stderr
    assert "bad.zip" in proc.stdout + proc.stderr and "not written" in proc.stderr
    assert not (tmp_path / "bad.zip").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    # an older zip at the destination is left exactly as it was
    (tmp_path / "bad.zip").write_bytes(b"older")
    proc = run_gbl("zip", str(text), "-o", str(tmp_path / "bad.zip"), "--json", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_VERIFY_FAILED
    assert (tmp_path / "bad.zip").read_bytes() == b"older"
    import json
    assert json.loads(proc.stdout)["written"] is False
