"""Issue 16, include globs: only files inside the module are packed; links out of it and link loops
are configuration errors that name the function, the pattern, the path and the fix."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from conftest import run_gbl
from gobuild_lambda import errors, package
from gobuild_lambda.config import Include
from safety_helpers import tiny_module


def _project(tmp_path: Path, include: str) -> Path:
    root = tiny_module(tmp_path / "p", gbl_toml=f'[functions.alpha]\ninclude = ["{include}"]\n')
    (root / "assets").mkdir()
    (root / "assets" / "greeting.txt").write_text("hi\n")
    return root


def _snapshot(dist: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(dist.iterdir())}


@pytest.mark.parametrize("target", ["host-file", "/proc/self/environ", "host-dir"])
def test_a_link_out_of_the_module_is_refused_and_nothing_is_packed(tmp_path, target):
    secret = tmp_path / "secret.txt"
    secret.write_text("AWS_SECRET=hunter2\n")
    root = _project(tmp_path, "assets/**/*")
    assert run_gbl("build", "-C", str(root)).returncode == 0
    before = _snapshot(root / "dist")
    if target == "host-file":
        os.symlink(secret, root / "assets" / "leak.txt")
        bad = "assets/leak.txt"
    elif target == "host-dir":
        os.symlink(tmp_path, root / "assets" / "host")
        (root / "gbl.toml").write_text('[functions.alpha]\ninclude = ["assets/host/*.txt"]\n')
        bad = "assets/host/secret.txt"
    else:
        os.symlink(target, root / "assets" / "environ")
        bad = "assets/environ"
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_USAGE, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for part in ("'alpha'", "include", bad, "outside the module", "copy the file into the module"):
        assert part in proc.stderr, (part, proc.stderr)
    assert _snapshot(root / "dist") == before  # nothing deleted, nothing packed
    for z in (root / "dist").glob("*.zip"):
        assert b"hunter2" not in z.read_bytes()


def test_a_link_loop_never_runs_away_and_packs_each_file_once(tmp_path):
    root = _project(tmp_path, "assets/**/*.txt")
    os.symlink(".", root / "assets" / "loop")
    os.symlink("..", root / "assets" / "up")
    proc = run_gbl("build", "-C", str(root), timeout=120)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(root / "dist" / "alpha.zip") as zf:
        assert zf.namelist() == ["assets/greeting.txt", "bootstrap"]


def test_a_pattern_through_a_link_loop_is_a_clear_error(tmp_path):
    root = tiny_module(tmp_path / "p")
    (root / "assets").mkdir()
    (root / "assets" / "a.txt").write_text("x")
    os.symlink(".", root / "assets" / "loop")
    with pytest.raises(errors.ConfigError) as exc:
        package.resolve_includes([Include("assets/loop/loop/*.txt")], root, function="alpha")
    text = str(exc.value)
    assert "'alpha'" in text and "assets/loop/loop/*.txt" in text and "loop" in text


def test_a_link_inside_the_module_is_packed(tmp_path):
    root = _project(tmp_path, "assets/*.txt")
    (root / "shared").mkdir()
    (root / "shared" / "common.txt").write_text("common\n")
    os.symlink("../shared/common.txt", root / "assets" / "common.txt")
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(root / "dist" / "alpha.zip") as zf:
        assert zf.namelist() == ["assets/common.txt", "assets/greeting.txt", "bootstrap"]
        assert zf.read("assets/common.txt") == b"common\n"


def test_an_include_matching_nothing_is_a_config_error_before_anything_is_deleted(tmp_path):
    root = _project(tmp_path, "assets/*.txt")
    assert run_gbl("build", "-C", str(root)).returncode == 0
    before = _snapshot(root / "dist")
    assert set(before) == {"alpha.zip", "beta.zip", "manifest.json"}
    (root / "gbl.toml").write_text('[functions.alpha]\ninclude = ["assets/*.json"]\n')
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_USAGE, proc.stdout + proc.stderr
    assert "'alpha'" in proc.stderr and "include" in proc.stderr and "assets/*.json" in proc.stderr
    assert "matches no file" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(root / "dist") == before


def test_glob_rules_match_pythons_for_ordinary_trees(tmp_path):
    import glob as pyglob

    for rel in ["a/x.txt", "a/b/y.txt", "a/.hidden.txt", "a/.dir/z.txt", "c.txt", "a/b/c/d.json"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    for pattern in ["**/*.txt", "a/**", "a/*/*.txt", "*.txt", "a/**/*.json", "a/.*", "**/b/*"]:
        ours = [n for n, _, _ in package.resolve_includes([Include(pattern)], tmp_path, function="f")]
        theirs = sorted(m for m in pyglob.glob(pattern, root_dir=tmp_path, recursive=True)
                        if (tmp_path / m).is_file())
        assert ours == theirs, pattern
