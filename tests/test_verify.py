"""gobuild_lambda.verify: the API, target collection, big files, and hostile bytes (hypothesis)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify_helpers as vh
from gobuild_lambda import verify
from gobuild_lambda.errors import UsageError
from verify_helpers import E, FILE, LINK, make_zip

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bins(tmp_path_factory) -> vh.Binaries:
    return vh.binaries(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def good_zip(bins) -> bytes:
    return make_zip([E("bootstrap", bins.get("linux-amd64"))])


# --------------------------------------------------------------------------------------------------
# verify_zip / verify_bytes


def test_verify_zip_reads_the_file(tmp_path, good_zip):
    path = tmp_path / "api.zip"
    path.write_bytes(good_zip)
    verdict = verify.verify_zip(path, arch="amd64", runtime="provided.al2")
    assert verdict.ok and verdict.path == path and verdict.arch == "amd64"
    assert verdict.failures == () and verdict.warnings == ()
    assert [c.id for c in verdict.checks][:2] == ["zip-readable", "zip-paths"]
    assert verify.verify_bytes(good_zip, str(path), arch="amd64", runtime="provided.al2") == verdict


def test_verify_zip_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        verify.verify_zip(tmp_path / "nope.zip")
    assert "no such file" in info.value.message and "nope.zip" in info.value.where
    assert info.value.hint


def test_verify_zip_on_a_directory_is_a_failed_check(tmp_path):
    verdict = verify.verify_zip(tmp_path)
    assert not verdict.ok
    (check,) = verdict.checks
    assert (check.id, check.status) == ("zip-readable", "fail") and "is a directory" in check.message


@pytest.mark.parametrize("kwargs", [{"arch": "x86_64"}, {"runtime": "go1.x"}, {"runtime": "provided"}])
def test_bad_arguments_are_usage_errors(good_zip, kwargs):
    with pytest.raises(UsageError) as info:
        verify.verify_bytes(good_zip, "a.zip", **kwargs)
    assert info.value.hint


def test_big_files_are_mapped_not_read(tmp_path):
    """Over the mmap threshold: a sparse non-zip, and a real zip over the direct-upload limit."""
    sparse = tmp_path / "sparse.zip"
    with sparse.open("wb") as f:
        f.truncate(verify._MMAP_THRESHOLD + 1)
    (check,) = verify.verify_zip(sparse).checks
    assert check.id == "zip-readable" and "not a zip" in check.message
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w") as zf:
        zi = zipfile.ZipInfo("bootstrap", vh.DATE)
        zi.create_system, zi.external_attr = vh.UNIX, vh.EXE << 16
        zf.writestr(zi, b"#!/bin/sh\nexec ./app\n")
        zi = zipfile.ZipInfo("app", vh.DATE)
        zi.create_system, zi.external_attr, zi.compress_type = vh.UNIX, vh.EXE << 16, zipfile.ZIP_STORED
        with zf.open(zi, "w") as out:
            chunk = b"\0" * (1 << 20)
            for _ in range(verify._MMAP_THRESHOLD // len(chunk) + 1):
                out.write(chunk)
    verdict = verify.verify_zip(big)
    assert vh.check(verdict, "size-zipped", "warn")
    assert vh.check(verdict, "bootstrap-format", "fail").message.startswith("'app' (run by bootstrap)")


def test_verify_reads_a_real_function_from_memory(bins):
    data = make_zip([E("bootstrap", bins.get("lambda-ok"))])
    verdict = verify.verify_bytes(data, "ok.zip")
    assert verdict.ok and verdict.aws_lambda_go


def test_verdict_ok_means_no_failure():
    check = verify.Check("x", "warn", "m", "l", "f")
    assert verify.Verdict(Path("a.zip"), (check,), None, None, None).ok
    failing = verify.Check("x", "fail", "m", "l", "f")
    assert not verify.Verdict(Path("a.zip"), (check, failing), None, None, None).ok


def test_exec_line_parsing():
    t = verify.program.exec_target
    assert t("exec ./app") == "./app"
    assert t('  exec "$LAMBDA_TASK_ROOT/bin/app" "$@"') == "/var/task/bin/app"
    assert t("exec ${LAMBDA_TASK_ROOT}/app") == "/var/task/app"
    assert t("exec -a name ./app --flag") == "./app"
    assert t("exec $HANDLER") is None
    assert t("exec") is None
    assert t("# exec ./app") is None
    assert t("execute ./app") is None


def test_link_resolution():
    r = verify.zipread.resolve_link
    assert r("bootstrap", "main") == ("main", False)
    assert r("bin/bootstrap", "../app") == ("app", False)
    assert r("bin/x", "/var/task/lib/y") == ("lib/y", False)
    assert r("bin/x", "./y/../z") == ("bin/z", False)
    assert r("bin/x", "../../y")[1] and r("x", "/etc/passwd")[1] and r("x", "C:/evil")[1]


def test_semver():
    assert verify.program.semver("v1.18.0") == (1, 18, 0, 1)
    assert verify.program.semver("v1.18.0-rc1") == (1, 18, 0, 0)
    assert verify.program.semver("v1.17.1-0.20200101000000-abcdefabcdef") == (1, 17, 1, 0)
    assert verify.program.semver("v2.0.0+incompatible") == (2, 0, 0, 1)
    assert verify.program.semver("(devel)") is None and verify.program.semver("") is None


@pytest.mark.parametrize("version,status", [("v1.17.1", "fail"), ("v1.18.0-rc1", "fail"),
                                             ("v1.18.0", "pass"), ("v1.18.1-0.2020", "pass"),
                                             ("", "warn"), ("(devel)", "warn")])
def test_aws_lambda_go_threshold(version, status):
    assert verify.program.aws_lambda_go_check(version, "bootstrap").status == status


# --------------------------------------------------------------------------------------------------
# collect_targets


def _manifest(dist: Path, functions: dict) -> Path:
    dist.mkdir(parents=True, exist_ok=True)
    path = dist / "manifest.json"
    path.write_text(json.dumps({"schema": 1, "functions": functions}))
    return path


def test_targets_from_the_manifest(tmp_path):
    dist = tmp_path / "dist"
    _manifest(dist, {
        "worker": {"zip": "worker.zip", "arch": "arm64", "runtime": "provided.al2"},
        "api": {"zip": "api.zip", "arch": "amd64", "runtime": "provided.al2023"},
    })
    (dist / "api.zip").write_bytes(b"x")
    (dist / "worker.zip").write_bytes(b"x")
    targets = verify.collect_targets([], cwd=tmp_path)
    assert targets == (
        verify.Target(dist / "api.zip", "amd64", "provided.al2023", "api"),
        verify.Target(dist / "worker.zip", "arm64", "provided.al2", "worker"),
    )
    # naming the manifest itself, or its directory, gives the same arch and runtime
    assert verify.collect_targets([Path("dist/manifest.json")], cwd=tmp_path) == targets
    assert [(t.path, t.arch) for t in verify.collect_targets([Path("dist")], cwd=tmp_path)] == [
        (dist / "api.zip", "amd64"), (dist / "worker.zip", "arm64")]


def test_no_manifest_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        verify.collect_targets([], cwd=tmp_path)
    assert "dist/manifest.json not found" in info.value.message and "gbl build" in info.value.hint


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "cannot read it as JSON"),
    ('{"functions": []}', 'no "functions" object'),
    ('{"functions": {"api": {"arch": "amd64"}}}', "has no \"zip\""),
    ('{"functions": {"api": {"zip": "api.zip", "arch": "x86"}}}', "has arch 'x86'"),
    ('{"functions": {"api": {"zip": "api.zip", "runtime": "go1.x"}}}', "has runtime 'go1.x'"),
    ('{"functions": {}}', "lists no functions"),
])
def test_bad_manifests(tmp_path, content, fragment):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "manifest.json").write_text(content)
    (tmp_path / "dist" / "api.zip").write_bytes(b"x")
    with pytest.raises(UsageError) as info:
        verify.collect_targets([], cwd=tmp_path)
    assert fragment in info.value.message and "manifest.json" in info.value.where


def test_manifest_naming_a_missing_zip(tmp_path):
    _manifest(tmp_path / "dist", {"api": {"zip": "api.zip", "arch": "amd64"}})
    with pytest.raises(UsageError) as info:
        verify.collect_targets([], cwd=tmp_path)
    assert "api.zip is listed in the manifest but missing" in info.value.message


def test_paths_and_directories(tmp_path):
    d = tmp_path / "zips"
    d.mkdir()
    for name in ("b.zip", "a.ZIP", "notes.txt"):
        (d / name).write_bytes(b"x")
    (d / "sub").mkdir()
    (d / "sub" / "c.zip").write_bytes(b"x")
    targets = verify.collect_targets([Path("zips"), d / "b.zip", Path("zips/sub/c.zip")], cwd=tmp_path)
    assert [t.path.name for t in targets] == ["a.ZIP", "b.zip", "c.zip"]  # sorted, deduplicated
    assert all(t.arch is None and t.runtime == "provided.al2023" for t in targets)


def test_bad_paths_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file or directory"):
        verify.collect_targets([Path("missing.zip")], cwd=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no .zip files"):
        verify.collect_targets([Path("empty")], cwd=tmp_path)


# --------------------------------------------------------------------------------------------------
# docs/verify.md lists every check


def test_every_check_id_is_documented():
    source = "".join(p.read_text() for p in sorted((ROOT / "gobuild_lambda" / "verify").glob("*.py")))
    emitted = set(re.findall(r'(?:Check\(|\bok\()\s*"([a-z0-9-]+)"', source))
    assert len(emitted) >= 20
    doc = (ROOT / "docs" / "verify.md").read_text()
    documented = set(re.findall(r"^### `([a-z0-9-]+)`", doc, re.M))
    assert emitted == documented, (emitted - documented, documented - emitted)


# --------------------------------------------------------------------------------------------------
# hostile bytes: verify_bytes never raises and finishes quickly

_FUZZ = settings(max_examples=120, deadline=1000, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])


def _never_raises(data: bytes, **kw) -> verify.Verdict:
    verdict = verify.verify_bytes(data, "fuzz.zip", **kw)  # hypothesis' deadline catches a hang
    assert verdict.checks and all(c.status in ("pass", "warn", "fail") for c in verdict.checks)
    return verdict


@_FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _never_raises(data)
    # with an end-of-central-directory record, so parsing goes deeper
    _never_raises(data + b"PK\x05\x06" + data[-18:].rjust(18, b"\0"))


@pytest.fixture(scope="module")
def seeds(bins) -> list[bytes]:
    small_elf = bins.get("glibc235")
    return [
        make_zip([E("bootstrap", small_elf)]),
        make_zip([E("bootstrap", b"#!/bin/sh\nexec ./app\n"), E("app", small_elf, method=zipfile.ZIP_STORED)]),
        make_zip([E("bootstrap", b"app", mode=LINK), E("app", small_elf), E("conf/x.json", b"{}", mode=FILE)]),
    ]


@_FUZZ
@given(data=st.data())
def test_mutated_zips(seeds, data):
    buf = bytearray(data.draw(st.sampled_from(seeds)))
    n = len(buf)
    near_ends = st.one_of(st.integers(0, 120), st.integers(max(0, n - 300), n - 1))  # headers
    for _ in range(data.draw(st.integers(1, 10))):
        pos = data.draw(st.one_of(near_ends, st.integers(0, n - 1)))
        buf[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, n))
        buf = buf[:cut] + buf[cut + data.draw(st.integers(0, 64)):]
    _never_raises(bytes(buf), arch=data.draw(st.sampled_from([None, "amd64", "arm64"])))


@_FUZZ
@given(data=st.data())
def test_valid_zips_with_hostile_contents(seeds, bins, data):
    """Well-formed zips around hostile bootstrap bytes: the ELF/script/Go readers get fuzzed."""
    base = bytearray(bins.get("glibc235"))
    for _ in range(data.draw(st.integers(0, 8))):
        base[data.draw(st.integers(0, 0x3ff))] = data.draw(st.integers(0, 255))
    content = data.draw(st.sampled_from([
        bytes(base),
        bytes(base[:data.draw(st.integers(0, len(base)))]),
        b"#!" + data.draw(st.binary(max_size=200)),
        b"\x7fELF" + data.draw(st.binary(max_size=400)),
        data.draw(st.binary(max_size=400)),
    ]))
    mode = data.draw(st.sampled_from([0o100755, 0o100644, 0o120777, 0o040755, 0]))
    system = data.draw(st.sampled_from([3, 0, 19, 11]))
    names = data.draw(st.lists(st.sampled_from(["app", "bin/app", "../x", "bootstrap", "/abs"]),
                               max_size=3))
    entries = [E("bootstrap", content, mode=mode, system=system),
               *(E(n, bytes(base[:64]), mode=0o100755) for n in names)]
    _never_raises(make_zip(entries), runtime=data.draw(st.sampled_from(["provided.al2", "provided.al2023"])))
