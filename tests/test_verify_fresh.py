"""A zip gbl has just written is verified from what packaging knows (its bytes, each entry's CRC
and content) rather than read back and inflated: the verdict must be exactly a full verify's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import verify_helpers as vh
from gobuild_lambda import package, verify
from gobuild_lambda.verify import zipread


@pytest.fixture(scope="session")
def bins(tmp_path_factory) -> vh.Binaries:
    return vh.binaries(tmp_path_factory.getbasetemp())


def _both(binary: Path, dest: Path, includes=(), arch=None, runtime="provided.al2023"):
    fresh = package.package_fresh(binary, dest, includes=includes)
    assert fresh.data == dest.read_bytes() and fresh.packaged == package.Packaged.of_file(dest)
    return (verify.verify_fresh(fresh.data, dest, fresh.known, arch=arch, runtime=runtime),
            verify.verify_zip(dest, arch=arch, runtime=runtime))


def test_fresh_verdicts_equal_full_verify_on_the_sample(sample_build, tmp_path):
    for r in sample_build.results:
        binary = sample_build.plan.project_dir / ".gbl" / "build"
        (path,) = [p for p in binary.rglob(r.function.name) if p.is_file()][:1] or [None]
        assert path is not None
        fresh, full = _both(path, tmp_path / f"{r.function.name}.zip", arch=r.function.arch,
                            runtime=r.function.runtime)
        assert fresh == full and fresh.ok
        assert (fresh.arch, fresh.go_version, fresh.aws_lambda_go) == (r.function.arch, r.go_version,
                                                                       r.aws_lambda_go or None)


def test_fresh_verdicts_equal_full_verify_on_every_corpus_binary(bins, tmp_path):
    """Every binary of the verify corpus gbl can package (any file is zipped as bootstrap), with
    and without includes (a script that execs, a private file), for each arch and runtime: the
    same checks (ids, statuses, messages) and facts, failures included."""
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\nexec ./bootstrap \"$@\"\n")
    private = tmp_path / "secret.txt"
    private.write_text("x")
    includes_sets = [(), (("run.sh", script, True), ("data/notes.txt", private, False))]
    compared = 0
    for name in sorted(bins.built):
        for includes in includes_sets:
            for arch in (None, "amd64", "arm64"):
                for runtime in ("provided.al2023", "provided.al2"):
                    fresh, full = _both(bins.path(name), tmp_path / f"{name}.zip", includes, arch, runtime)
                    assert fresh.checks == full.checks, (name, arch, runtime)
                    assert fresh == full
                    compared += 1
    assert compared >= 12 * 2 * 3 * 2
    assert any(not v.ok for v in [_both(bins.path(n), tmp_path / "f.zip", (), "arm64")[0] for n in bins.built])


def test_fresh_verify_reads_the_headers_not_the_known_facts(tmp_path, bins, monkeypatch):
    """What packaging knows is used only where the zip's own headers agree with it: a known CRC
    that differs from the written one sends the entry through the full read (which fails it)."""
    fresh = package.package_fresh(bins.path("linux-amd64"), tmp_path / "a.zip")
    crc, content = fresh.known["bootstrap"]
    lying = {"bootstrap": (crc ^ 1, content)}
    inflated = []
    real = zipread.read_member
    monkeypatch.setattr(zipread, "read_member", lambda *a, **k: inflated.append(1) or real(*a, **k))
    assert verify.verify_fresh(fresh.data, tmp_path / "a.zip", fresh.known) == verify.verify_zip(tmp_path / "a.zip")
    assert len(inflated) == 1  # only the full verify inflated
    # A corrupted byte in the data: the header still agrees with packaging, so the fresh path
    # trusts it; a known CRC that disagrees with the header makes it inflate, and it fails.
    broken = bytearray(fresh.data)
    broken[len(broken) // 3] ^= 0xFF
    v = verify.verify_fresh(bytes(broken), tmp_path / "a.zip", lying)
    assert not v.ok and any(c.id == "zip-integrity" and c.status == "fail" for c in v.checks)
    assert os.path.exists(tmp_path / "a.zip")
