"""Build + package + verify with the real Go toolchain: sample_project, determinism, failures."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

import gobuild_lambda
from gobuild_lambda import errors

from conftest import SAMPLE, copy_project, run_gbl

ELF_MACHINE = {"amd64": 62, "arm64": 183}  # e_machine: EM_X86_64, EM_AARCH64


def zip_hashes(dist: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dist.glob("*.zip"))}


def test_sample_project_zips(sample_build):
    report = sample_build
    assert report.ok
    dist = report.out_dir
    assert sorted(p.name for p in dist.iterdir()) == ["api.zip", "echo.zip", "manifest.json", "nightly-report.zip"]
    arches = {"api": "amd64", "echo": "arm64", "nightly-report": "amd64"}
    for name, arch in arches.items():
        with zipfile.ZipFile(dist / f"{name}.zip") as zf:
            infos = zf.infolist()
            assert [i.filename for i in infos] == ["bootstrap"]
            info = infos[0]
            assert info.create_system == 3
            assert info.external_attr >> 16 == 0o100755
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.extra == b""
            head = zf.read("bootstrap")[:64]
        assert head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1  # 64-bit, little-endian
        assert int.from_bytes(head[18:20], "little") == ELF_MACHINE[arch]


def test_manifest_fields(sample_build):
    doc = json.loads((sample_build.out_dir / "manifest.json").read_text())
    assert doc["schema"] == 1
    assert sorted(doc["functions"]) == ["api", "echo", "nightly-report"]
    api = doc["functions"]["api"]
    data = (sample_build.out_dir / "api.zip").read_bytes()
    import base64

    digest = hashlib.sha256(data).digest()
    assert api["sha256"] == digest.hex()
    assert api["code_sha256"] == base64.b64encode(digest).decode()
    assert api["size"] == len(data)
    assert api["zip"] == "api.zip"
    assert api["package"] == "example.com/sample/cmd/api"
    assert api["arch"] == "amd64" and api["runtime"] == "provided.al2023"
    assert api["go_version"].startswith("go1.")
    assert api["aws_lambda_go"] == "v1.55.1"
    assert api["flags"]["tags"] == ["lambda.norpc"]
    assert api["flags"]["CGO_ENABLED"] == "0" and api["flags"]["trimpath"] is True
    assert doc["functions"]["echo"]["arch"] == "arm64"
    # the manifest holds no host facts
    text = (sample_build.out_dir / "manifest.json").read_text()
    assert str(sample_build.plan.project_dir) not in text


def _build_in(tmp: Path, umask: int, tz: str, mtime: int) -> dict[str, str]:
    root = copy_project(SAMPLE, tmp)
    for p in root.rglob("*"):
        os.utime(p, (mtime, mtime))
    env = {**os.environ, "TZ": tz}
    proc = run_gbl("build", "-C", str(root), env=env, preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    return zip_hashes(root / "dist")


def test_deterministic_across_dirs_umask_mtime_and_tz(tmp_path, sample_build):
    a = _build_in(tmp_path / "one" / "sample", 0o022, "UTC", 1_000_000_000)
    b = _build_in(tmp_path / "two" / "deeper" / "elsewhere", 0o077, "Asia/Kathmandu", 1_600_000_000)
    assert a == b
    assert a == zip_hashes(sample_build.out_dir)


def test_source_file_mode_0600_still_gives_0755(project):
    root = project("sample_project")
    for p in (root / "cmd").rglob("*.go"):
        os.chmod(p, 0o600)
    report = gobuild_lambda.build(root, names=["api"])
    with zipfile.ZipFile(report.out_dir / "api.zip") as zf:
        assert zf.getinfo("bootstrap").external_attr >> 16 == 0o100755


def test_noop_and_incremental_rebuilds(project):
    root = project("sample_project")
    first = gobuild_lambda.build(root)
    before = zip_hashes(first.out_dir)
    assert all(r.relinked and r.rezipped for r in first.results)

    again = gobuild_lambda.build(root)
    assert not any(r.relinked or r.rezipped for r in again.results)
    assert zip_hashes(again.out_dir) == before

    main = root / "cmd" / "api" / "main.go"
    main.write_text(main.read_text() + "\n// a change\nvar _ = 1\n")
    changed = gobuild_lambda.build(root)
    touched = {r.function.name for r in changed.results if r.relinked or r.rezipped}
    assert touched == {"api"}
    after = zip_hashes(changed.out_dir)
    assert after["echo.zip"] == before["echo.zip"]
    assert after["nightly-report.zip"] == before["nightly-report.zip"]


def test_build_subset_keeps_other_manifest_entries(project):
    root = project("sample_project")
    gobuild_lambda.build(root)
    report = gobuild_lambda.build(root, names=["api"])
    assert [r.function.name for r in report.results] == ["api"]
    doc = json.loads((root / "dist" / "manifest.json").read_text())
    assert sorted(doc["functions"]) == ["api", "echo", "nightly-report"]


def test_unknown_function_name(project):
    root = project("plan_cases")
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.build(root, names=["nosuch"])
    assert "alpha" in str(exc.value)


def test_includes_are_zipped(project):
    root = project("plan_cases")
    (root / "assets").mkdir()
    (root / "assets" / "greeting.txt").write_text("hi\n")
    (root / "gbl.toml").write_text('[functions.alpha]\ninclude = ["assets/*.txt"]\n')
    report = gobuild_lambda.build(root, names=["alpha"])
    with zipfile.ZipFile(report.out_dir / "alpha.zip") as zf:
        assert zf.namelist() == ["assets/greeting.txt", "bootstrap"]
        assert zf.getinfo("assets/greeting.txt").external_attr >> 16 == 0o100644


def test_compile_error_names_function_and_go_message_others_finish(project):
    root = project("syntax_error")
    dist = root / "dist"
    dist.mkdir()
    # a zip and manifest entry from an earlier, good build must not survive a failed one
    (dist / "broken.zip").write_bytes(b"stale")
    (dist / "manifest.json").write_text(json.dumps({"schema": 1, "functions": {
        "broken": {"zip": "broken.zip", "size": 5, "sha256": "0" * 64}}}))
    with pytest.raises(errors.BuildFailed) as exc:
        gobuild_lambda.build(root)
    report = exc.value.report
    assert exc.value.exit_code == errors.EXIT_BUILD_FAILED
    by_name = {r.function.name: r for r in report.results}
    assert by_name["good"].ok and (dist / "good.zip").is_file()
    assert not by_name["broken"].ok
    assert "main.go:" in by_name["broken"].error  # Go's own message, with the file and line
    assert not (dist / "broken.zip").exists()
    doc = json.loads((dist / "manifest.json").read_text())
    assert sorted(doc["functions"]) == ["good"]


def test_compile_error_cli(project):
    root = project("syntax_error")
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_BUILD_FAILED
    assert "function broken (cmd/broken)" in proc.stderr
    assert "syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (root / "dist" / "good.zip").is_file()
    assert not (root / "dist" / "broken.zip").exists()


def test_cgo_package_fails_clearly(project):
    root = project("needs_cgo")
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_BUILD_FAILED, proc.stderr
    assert "function cgofn (cmd/cgofn)" in proc.stderr
    assert 'main.go import "C"' in proc.stderr and "CGO_ENABLED=0" in proc.stderr
    assert not list((root / "dist").glob("*.zip"))


def test_no_functions_is_a_usage_error(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/empty\n\ngo 1.23\n")
    proc = run_gbl("build", "-C", str(tmp_path))
    assert proc.returncode == errors.EXIT_USAGE
    assert "no functions found" in proc.stderr


def test_unwritable_dist(project):
    if os.geteuid() == 0:
        # root ignores permission bits: make dist a file instead, which nobody can write into
        root = project("plan_cases")
        (root / "dist").write_text("not a directory")
    else:  # pragma: no cover - CI runs as root
        root = project("plan_cases")
        (root / "dist").mkdir()
        os.chmod(root / "dist", 0o500)
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_OUTPUT, proc.stderr
    assert "dist" in proc.stderr and "--out" in proc.stderr


def test_cli_build_json_and_summary(project):
    root = project("plan_cases")
    proc = run_gbl("build", "-C", str(root), "--json", "alpha", "beta")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["name"] for f in doc["functions"]] == ["alpha", "beta"]
    assert all(f["ok"] and len(f["sha256"]) == 64 for f in doc["functions"])
    proc = run_gbl("build", "-C", str(root), "alpha")
    assert proc.returncode == 0
    assert "alpha" in proc.stdout and "amd64" in proc.stdout and "up to date" in proc.stdout


def test_go_missing_at_build(tmp_path):
    proc = run_gbl("build", "-C", str(SAMPLE), env={**os.environ, "PATH": str(tmp_path)})
    assert proc.returncode == errors.EXIT_TOOL_MISSING
    assert "go.dev/dl" in proc.stderr


def test_python_dash_m_and_help():
    proc = run_gbl("--help")
    assert proc.returncode == 0
    for cmd in ("plan", "build", "verify", "zip"):
        assert cmd in proc.stdout
    proc = run_gbl("build", "--arch", "sparc", "-C", str(SAMPLE))
    assert proc.returncode == errors.EXIT_USAGE
    assert "--arch must be amd64 or arm64" in proc.stderr
    # the parser's own errors: usage, exit 2, no traceback
    for args, fragment in ((["zip"], "Missing argument"), (["build", "--bogus"], "No such option")):
        proc = run_gbl(*args)
        assert proc.returncode == errors.EXIT_USAGE, proc.stderr
        assert fragment in proc.stderr and "Traceback" not in proc.stderr


def test_version_has_one_source():
    """`gbl --version`, gobuild_lambda.__version__ and the installed distribution agree (the
    wheel's version is read from __init__.py), and the public API names resolve."""
    from importlib.metadata import version

    proc = run_gbl("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"gbl {gobuild_lambda.__version__}\n"
    assert version("gobuild-lambda") == gobuild_lambda.__version__
    for name in gobuild_lambda.__all__:
        assert getattr(gobuild_lambda, name) is not None


def test_removed_function_loses_its_zip(project):
    import shutil

    root = project("plan_cases")
    gobuild_lambda.build(root)
    assert (root / "dist" / "with-dash.zip").is_file()
    shutil.rmtree(root / "cmd" / "with-dash")
    gobuild_lambda.build(root, names=["alpha"])  # a partial build leaves other entries alone
    assert (root / "dist" / "with-dash.zip").is_file()
    gobuild_lambda.build(root)
    assert not (root / "dist" / "with-dash.zip").exists()
    doc = json.loads((root / "dist" / "manifest.json").read_text())
    assert "with-dash" not in doc["functions"]


def test_disk_full_is_an_output_error_and_commits_nothing(project, tmp_path):
    import subprocess

    if os.geteuid() != 0:
        pytest.fail("this test mounts a 1 MiB tmpfs and needs root (CI runs as root)")
    root = project("sample_project")
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full)], check=True)
    try:
        proc = run_gbl("build", "-C", str(root), "--out", str(full))
        assert proc.returncode == errors.EXIT_OUTPUT, proc.stdout + proc.stderr
        assert "No space left on device" in proc.stderr
        assert str(full) in proc.stderr
        assert "Traceback" not in proc.stderr
        # nothing half-written, nothing that looks like a result
        assert [p.name for p in full.iterdir() if p.suffix in (".zip", ".tmp")] == []
        assert not (full / "manifest.json").exists()
    finally:
        subprocess.run(["umount", str(full)], check=True)
