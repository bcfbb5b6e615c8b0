"""A small generated monorepo (bench/monorepo.py) for the incremental and shard tests.

Six functions: five amd64 and one arm64 (``catalog-sync``), all importing internal/platform, two
(``orders-create``, ``invoices-update``) also importing internal/billing.  Generated and tidied
once per session (offline from the module cache that .ci/setup fills for sample_project, which
needs the same aws-lambda-go), then copied into each test's tmp dir.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

import gobuild_lambda
from conftest import ROOT, copy_project


def _load_monorepo():
    spec = importlib.util.spec_from_file_location("gbl_bench_monorepo", ROOT / "bench" / "monorepo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


monorepo = _load_monorepo()

COUNT = 6
NAMES = monorepo.function_names(COUNT)
ARM64 = "catalog-sync"
AMD64 = [n for n in NAMES if n != ARM64]
BILLING = monorepo.billing_users(COUNT)
GBL_TOML = f'[functions.{ARM64}]\narch = "arm64"\n'


@pytest.fixture(scope="session")
def mono_template(tmp_path_factory) -> Path:
    """The generated sources (never built: tests copy them)."""
    root = tmp_path_factory.mktemp("mono") / "template"
    monorepo.generate(root, COUNT, gbl_toml=GBL_TOML)
    monorepo.tidy(root)
    return root


def zip_hashes(dist: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(dist).glob("*.zip"))}


def manifest_of(dist: Path) -> dict:
    return json.loads((Path(dist) / "manifest.json").read_text())


def clean_build(src: Path, dest: Path) -> tuple[dict[str, str], dict]:
    """Build a copy of ``src``'s sources from nothing (no .gbl/, no dist/): zips and manifest."""
    if dest.exists():
        shutil.rmtree(dest)
    root = copy_project(src, dest)
    report = gobuild_lambda.build(root)
    assert all(r.relinked and r.rezipped for r in report.results)
    return zip_hashes(root / "dist"), manifest_of(root / "dist")


def touched(report) -> tuple[set[str], set[str]]:
    """(relinked, re-zipped) function names of a build report."""
    return ({r.function.name for r in report.results if r.relinked},
            {r.function.name for r in report.results if r.rezipped})
