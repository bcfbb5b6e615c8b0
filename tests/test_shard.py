"""Sharded builds with the real toolchain: the shards of a build partition its functions, their
union (``gbl manifest merge``) equals the full build, and a function's shard depends only on its
own name, so adding a function moves no other one.
"""

from __future__ import annotations

import json

import pytest

import gobuild_lambda
from conftest import copy_project, run_gbl
from gobuild_lambda import errors
from gobuild_lambda.pipeline import merge_manifests
from gobuild_lambda.planner import shard_of
from mono_helpers import NAMES, manifest_of, mono_template, monorepo, zip_hashes  # noqa: F401

SHARDS = 3


@pytest.fixture(scope="module")
def full_and_shards(mono_template, tmp_path_factory):
    """One copy of the monorepo: a full build into full/, and each shard into shard-K/."""
    root = copy_project(mono_template, tmp_path_factory.mktemp("shards") / "mono")
    full = gobuild_lambda.build(root, out_dir=root / "full")
    shards = [gobuild_lambda.build(root, out_dir=root / f"shard-{k}", shard=(k, SHARDS))
              for k in range(1, SHARDS + 1)]
    return root, full, shards


def test_shards_partition_the_functions(full_and_shards):
    _, full, shards = full_and_shards
    names = [sorted(r.function.name for r in s.results) for s in shards]
    flat = [n for group in names for n in group]
    assert sorted(flat) == sorted(NAMES) == sorted(r.function.name for r in full.results)
    assert len(flat) == len(set(flat))  # no function in two shards
    for k, group in enumerate(names, start=1):
        assert all(shard_of(n, SHARDS) == k for n in group)
        assert sorted(manifest_of(full_and_shards[0] / f"shard-{k}")["functions"]) == group


def test_merged_shards_equal_the_full_build(full_and_shards, tmp_path):
    root, _, _ = full_and_shards
    merged = tmp_path / "merged"
    path = merge_manifests([root / f"shard-{k}" for k in range(1, SHARDS + 1)], merged)
    assert path == merged / "manifest.json"
    assert zip_hashes(merged) == zip_hashes(root / "full")
    assert manifest_of(merged) == manifest_of(root / "full")
    assert (merged / "manifest.json").read_bytes() == (root / "full" / "manifest.json").read_bytes()


def test_cli_shard_builds_and_merge(full_and_shards, tmp_path):
    root, _, _ = full_and_shards
    outs = []
    for k in range(1, SHARDS + 1):
        out = tmp_path / f"cli-{k}"
        proc = run_gbl("build", "-C", str(root), "--shard", f"{k}/{SHARDS}", "--out", str(out), "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert sorted(f["name"] for f in doc["functions"]) == sorted(n for n in NAMES if shard_of(n, SHARDS) == k)
        outs.append(str(out))
    proc = run_gbl("manifest", "merge", *outs, "--out", str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stderr
    assert zip_hashes(tmp_path / "merged") == zip_hashes(root / "full")
    assert manifest_of(tmp_path / "merged") == manifest_of(root / "full")


def test_merge_conflict_fails(full_and_shards, tmp_path):
    root, _, _ = full_and_shards
    name = next(n for n in NAMES if shard_of(n, SHARDS) == 1)
    forged = tmp_path / "forged"
    forged.mkdir()
    doc = manifest_of(root / "shard-1")
    doc["functions"][name]["sha256"] = "0" * 64
    (forged / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(errors.UsageError, match=name):
        merge_manifests([root / "shard-1", forged], tmp_path / "merged")
    proc = run_gbl("manifest", "merge", str(root / "shard-1"), str(forged), "--out", str(tmp_path / "m2"))
    assert proc.returncode == errors.EXIT_USAGE
    assert name in proc.stderr


def test_adding_a_function_moves_no_other_shard(mono_template, tmp_path):
    root = copy_project(mono_template, tmp_path / "mono")
    before = gobuild_lambda.plan(root)
    assignment = {f.name: k for k in range(1, SHARDS + 1) for f in before.shard(k, SHARDS).functions}
    added = [monorepo.add_function(root, i) for i in range(len(NAMES), len(NAMES) + 4)]
    after = gobuild_lambda.plan(root)
    assert {f.name for f in after.functions} == set(NAMES) | set(added)
    moved = {f.name: k for k in range(1, SHARDS + 1) for f in after.shard(k, SHARDS).functions}
    assert {n: moved[n] for n in NAMES} == assignment


def test_shard_of_is_a_stable_hash_of_the_name():
    # Fixed values: a change to the hash would silently reshuffle every CI matrix.
    assert [shard_of(n, 4) for n in ("api", "orders-create", "users-list", "nightly-report")] == [2, 1, 3, 4]
    assert all(1 <= shard_of(n, 5) <= 5 for n in monorepo.function_names(200))
    counts = [sum(shard_of(n, 4) == k for n in monorepo.function_names(200)) for k in range(1, 5)]
    assert min(counts) >= 30  # 200 names spread over 4 shards, none starved


def test_bad_shard_spec(mono_template, tmp_path):
    root = copy_project(mono_template, tmp_path / "mono")
    with pytest.raises(errors.UsageError):
        gobuild_lambda.build(root, shard=(4, 3))
    proc = run_gbl("build", "-C", str(root), "--shard", "two/3")
    assert proc.returncode == errors.EXIT_USAGE
