"""Incremental builds with the real toolchain: after a change, exactly the functions it affects are
relinked and re-zipped, the others are left alone, and every zip equals a clean build's.

"The Go version changed" cannot be reproduced with the one toolchain installed here (another Go
would have to be downloaded).  What a new toolchain does to a build — every package, the standard
library included, compiles differently for the arch, so every binary of that arch changes — is what
``GOAMD64=v3`` does, and that is tested instead (test_toolchain_setting_*).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import gobuild_lambda
from conftest import copy_project
from mono_helpers import (  # noqa: F401 - mono_template is a fixture
    AMD64, ARM64, BILLING, NAMES, clean_build, manifest_of, mono_template, monorepo, touched, zip_hashes,
)


@pytest.fixture()
def built(mono_template, tmp_path):
    """A private copy of the monorepo, built once (everything relinked and zipped)."""
    root = copy_project(mono_template, tmp_path / "mono")
    report = gobuild_lambda.build(root)
    assert report.ok
    assert touched(report) == (set(NAMES), set(NAMES))
    return root


def rebuild_and_check(root, tmp_path, relinked: set[str], rezipped: set[str] | None = None):
    """Build ``root`` again: exactly ``relinked`` relink and ``rezipped`` (default: the same) are
    re-zipped; the zips and the manifest equal those of a clean build of the same sources."""
    before = zip_hashes(root / "dist")
    report = gobuild_lambda.build(root)
    assert report.ok
    assert touched(report) == (relinked, relinked if rezipped is None else rezipped)
    after = zip_hashes(root / "dist")
    # what was not rebuilt kept its bytes; what was re-zipped has new ones
    for name in NAMES:
        same = after[f"{name}.zip"] == before[f"{name}.zip"]
        assert same == (name not in (relinked if rezipped is None else rezipped)), name
    hashes, manifest = clean_build(root, tmp_path / "clean")
    assert after == hashes
    assert manifest_of(root / "dist") == manifest
    return report


def test_noop_rebuilds_nothing(built):
    before = zip_hashes(built / "dist")
    manifest_mtime = (built / "dist" / "manifest.json").stat().st_mtime_ns
    report = gobuild_lambda.build(built)
    assert touched(report) == (set(), set())
    assert zip_hashes(built / "dist") == before
    assert (built / "dist" / "manifest.json").stat().st_mtime_ns == manifest_mtime  # not even rewritten


_MODULES_AFTER = r"""
import json, sys
from gobuild_lambda import cli
try:
    cli.main(["build", "-C", sys.argv[1]])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_noop_cli_imports_only_what_it_uses(built):
    """The CLI's own share of a no-op `gbl build` is mostly imports: none of what a no-op does not
    need is loaded (docker, jinja2, ruamel, verify...), nor pydantic, which typer 0.29 imports for
    every option (pyproject pins typer below it).  Counts modules instead of timing them."""
    out = subprocess.run([sys.executable, "-c", _MODULES_AFTER, str(built)], capture_output=True,
                         text=True, check=True, timeout=300)
    doc = json.loads(out.stdout.splitlines()[-1])
    assert doc["code"] == 0, out.stderr
    tops = {m.split(".")[0] for m in doc["modules"]}
    assert not tops & {"pydantic", "pydantic_core", "docker", "requests", "urllib3", "jinja2", "ruamel", "yaml",
                        "boto3", "botocore", "s3transfer", "watchfiles"}
    ours = {m for m in doc["modules"] if m.startswith("gobuild_lambda.")}
    assert not ours & {f"gobuild_lambda.{m}" for m in ("verify", "elf", "docker_build", "migrate", "scaffold", "deployment",
                                                                      "watcher", "devserver")}


def test_one_function_changed(built, tmp_path):
    monorepo.edit_function(built, "users-list", revision=1)
    rebuild_and_check(built, tmp_path, {"users-list"})


def test_shared_package_changed_rebuilds_only_its_importers(built, tmp_path):
    assert set(BILLING) == {"orders-create", "invoices-update"}
    monorepo.edit_billing(built, revision=1)
    rebuild_and_check(built, tmp_path, set(BILLING))


def test_package_every_function_imports_changed(built, tmp_path):
    monorepo.edit_platform(built, revision=1)
    rebuild_and_check(built, tmp_path, set(NAMES))


def test_gbl_toml_ldflags_of_one_function(built, tmp_path):
    toml = built / "gbl.toml"
    toml.write_text(toml.read_text() + '\n[functions.payments-get]\nldflags = "-X main.Version=2.0"\n')
    report = rebuild_and_check(built, tmp_path, {"payments-get"})
    assert manifest_of(built / "dist")["functions"]["payments-get"]["flags"]["ldflags"] == "-s -w -X main.Version=2.0"
    assert report.ok


def test_gbl_toml_default_tags_change_every_function(built, tmp_path):
    toml = built / "gbl.toml"
    toml.write_text('[defaults]\ntags = ["prod"]\n\n' + toml.read_text())
    rebuild_and_check(built, tmp_path, set(NAMES))


def test_toolchain_setting_changes_every_function_of_that_arch(built, tmp_path):
    # The stand-in for a new Go version (module docstring): every amd64 package recompiles.
    toml = built / "gbl.toml"
    toml.write_text('[defaults]\nenv = { GOAMD64 = "v3" }\n\n' + toml.read_text())
    # The arm64 function's settings changed too (so Go links it into a new directory), but its
    # bytes did not (GOAMD64 means nothing to arm64): it is not re-zipped.
    rebuild_and_check(built, tmp_path, set(NAMES), rezipped=set(AMD64))
    assert ARM64 not in AMD64


def test_same_binary_under_new_settings_is_not_rezipped(built, tmp_path):
    # GOAMD64=v1 is the default: gbl builds into a new directory (its settings changed), Go links
    # byte-identical binaries there, and gbl sees that and keeps every zip.
    toml = built / "gbl.toml"
    toml.write_text('[defaults]\nenv = { GOAMD64 = "v1" }\n\n' + toml.read_text())
    rebuild_and_check(built, tmp_path, set(NAMES), rezipped=set())


def test_deleted_zip_is_rezipped_alone(built, tmp_path):
    (built / "dist" / "users-list.zip").unlink()
    report = gobuild_lambda.build(built)
    assert touched(report) == (set(), {"users-list"})
    hashes, manifest = clean_build(built, tmp_path / "clean")
    assert zip_hashes(built / "dist") == hashes
    assert manifest_of(built / "dist") == manifest


def test_change_between_two_builds_of_a_speculative_start(built, tmp_path):
    # The second build starts last build's `go build` before planning; a change to gbl.toml that
    # moves a function to another arch must still be honoured (the speculative start is discarded).
    toml = built / "gbl.toml"
    toml.write_text(toml.read_text() + '\n[functions.users-list]\narch = "arm64"\n')
    report = rebuild_and_check(built, tmp_path, {"users-list"})
    assert {r.function.name: r.function.arch for r in report.results}["users-list"] == "arm64"


def test_a_build_from_inside_the_project_gets_the_head_start(built, tmp_path):
    # Run from cmd/, gbl plans the project above it (as `go` would) and, as from the project's own
    # directory, starts last build's `go build` before `go list` plans: the log of a `go` wrapper
    # shows `build` first.
    log = tmp_path / "go.log"
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{shutil.which("go")}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "GBL_GO": str(wrapper)}
    for where in (built, built / "cmd"):
        log.write_text("")
        report = gobuild_lambda.build(where, env=env)
        assert report.out_dir == (built / "dist").resolve() and touched(report) == (set(), set())
        assert log.read_text().split()[0] == "build", (where, log.read_text())
