"""Shared, real artifacts for the test suite: built once per session, copied where tests write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_project"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_IGNORE = shutil.ignore_patterns("dist", ".gbl", "*.zip")


def copy_project(src: Path, dest: Path) -> Path:
    """A private copy of a Go module (without build output) that a test may change."""
    shutil.copytree(src, dest, ignore=_IGNORE)
    return dest


def run_gbl(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600,
            **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI (`python -m gobuild_lambda`) as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "gobuild_lambda", *args],
        cwd=cwd, env=env if env is not None else dict(os.environ), capture_output=True, text=True,
        timeout=timeout, **kwargs,
    )


@pytest.fixture(scope="session")
def sample_copy(tmp_path_factory) -> Path:
    """sample_project copied once, for tests that only read what it builds."""
    return copy_project(SAMPLE, tmp_path_factory.mktemp("sample") / "sample_project")


@pytest.fixture(scope="session")
def sample_build(sample_copy):
    """The sample project built once with the library API (real go build, package, verify)."""
    import gobuild_lambda

    return gobuild_lambda.build(sample_copy)


@pytest.fixture()
def project(tmp_path):
    """A factory: copy a fixture module (or sample_project) into this test's tmp dir."""

    def make(name: str) -> Path:
        src = SAMPLE if name == "sample_project" else FIXTURES / name
        return copy_project(src, tmp_path / name)

    return make


# What a test needs that the macOS and Windows CI jobs do not have (.github/workflows/ci.yml
# deselects these markers there; `.ci/run`, on Linux, runs every test).  By file, and by test.
_NEEDS_BY_FILE = {
    "test_docker_build.py": ("docker", "linux"),
    "test_e2e.py": ("emulator", "qemu", "linux"),
    "test_invoke.py": ("emulator", "qemu", "linux"),
    "test_signals.py": ("linux",),  # process groups, PR_SET_PDEATHSIG, POSIX signals
    "test_verify_linux.py": ("linux",),  # gcc and glibc fixtures
}
_NEEDS_BY_TEST = {
    "test_make_build_produces_the_same_zips_as_gbl_build": ("linux",),  # make
    "test_makefile_targets_call_gbl": ("linux",),  # make
    "test_migrate_invoke_diff_deploy_init_resolve_paths_under_dash_C": ("emulator", "linux"),
    "test_non_utf8_stdout_never_tracebacks": ("linux",),  # patch
    "test_init_in_two_sibling_projects_of_a_monorepo": ("linux",),  # make
    "test_image_implies_docker": ("linux",),  # a unix:// DOCKER_HOST
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        needs = _NEEDS_BY_FILE.get(item.path.name, ()) + _NEEDS_BY_TEST.get(item.originalname, ())
        for name in dict.fromkeys(needs):
            item.add_marker(getattr(pytest.mark, name))
