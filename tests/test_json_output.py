"""`--json` on every command that reports: one object, valid for its schema in docs/schemas/,
on success and on failure (the error and exit code in the same object).  diff and deploy, which
need moto's server, are checked in test_deploy.py."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, SAMPLE, copy_project, run_gbl
from json_helpers import SCHEMAS, checked, schema


def test_every_schema_is_a_valid_draft_2020_12_schema_and_documented():
    docs = (SCHEMAS.parent / "json.md").read_text(encoding="utf-8")
    files = sorted(SCHEMAS.glob("*.schema.json"))
    assert {f.name for f in files} == {
        f"{c}.schema.json" for c in
        ("plan", "build", "verify", "zip", "migrate", "init", "manifest-merge", "invoke", "diff", "deploy", "clean")}
    for f in files:
        jsonschema.Draft202012Validator.check_schema(json.loads(f.read_text(encoding="utf-8")))
        assert f"schemas/{f.name}" in docs, f.name


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = copy_project(SAMPLE, tmp_path_factory.mktemp("json") / "sample_project")
    proc = run_gbl("build", "-C", str(root), "--json")
    doc = checked(proc, "build", ok=True)
    assert {f["name"]: f["status"] for f in doc["functions"]} == {
        "api": "built", "echo": "built", "nightly-report": "built"}  # first build: built, not relinked
    assert doc["counts"] == {"built": 3, "reused": 0, "failed": 0}
    assert doc["total_size"] == sum(f["size"] for f in doc["functions"]) > 0
    return root


def test_plan(built, tmp_path):
    doc = checked(run_gbl("plan", "-C", str(built), "--json"), "plan", ok=True)
    assert sorted(f["name"] for f in doc["functions"]) == ["api", "echo", "nightly-report"]
    doc = checked(run_gbl("plan", "-C", str(tmp_path), "--json"), "plan", ok=False)
    assert doc["exit_code"] == 2 and doc["error"]["hint"]


def test_build_again_reuses_and_failure_carries_the_report(built, tmp_path):
    doc = checked(run_gbl("build", "-C", str(built), "--json"), "build", ok=True)
    assert doc["counts"] == {"built": 0, "reused": 3, "failed": 0}
    assert {f["status"] for f in doc["functions"]} == {"up to date"}

    broken = copy_project(FIXTURES / "syntax_error", tmp_path / "syntax_error")
    doc = checked(run_gbl("build", "-C", str(broken), "--json"), "build", ok=False)
    assert doc["exit_code"] == 3 and doc["error"]["type"] == "BuildFailed"
    assert doc["counts"]["failed"] >= 1 and any(f["status"] == "failed" and f["error"] for f in doc["functions"])


def _mode_644(src: Path, dest: Path) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zout.writestr(info, data)
    return dest


def test_verify(built, tmp_path):
    doc = checked(run_gbl("verify", str(built / "dist"), "--json"), "verify", ok=True)
    assert doc["counts"] == {"ok": 3, "failed": 0} and len(doc["zips"]) == 3
    bad = _mode_644(built / "dist" / "api.zip", tmp_path / "bad.zip")
    doc = checked(run_gbl("verify", str(bad), str(built / "dist" / "echo.zip"), "--json"), "verify", ok=False)
    assert doc["exit_code"] == 4 and doc["counts"] == {"ok": 1, "failed": 1}
    (failing,) = [z for z in doc["zips"] if not z["ok"]]
    assert any(c["id"] == "bootstrap-executable" and c["status"] == "fail" for c in failing["checks"])


def test_zip(built, tmp_path):
    with zipfile.ZipFile(built / "dist" / "api.zip") as z:
        (tmp_path / "bootstrap").write_bytes(z.read("bootstrap"))
    doc = checked(run_gbl("zip", str(tmp_path / "bootstrap"), "-o", str(tmp_path / "fn.zip"), "--json"), "zip", ok=True)
    assert doc["written"] and Path(doc["zip"]).is_file()
    (tmp_path / "app.exe").write_bytes(b"MZ" + bytes(254))  # a Windows binary: never runs on Lambda
    doc = checked(run_gbl("zip", str(tmp_path / "app.exe"), "--json"), "zip", ok=False)
    assert doc["exit_code"] == 4 and doc["written"] is False and not Path(doc["zip"]).exists()


def test_migrate(tmp_path):
    root = shutil.copytree(FIXTURES / "sam_init", tmp_path / "sam_init")
    doc = checked(run_gbl("migrate", "-C", str(root), "--json"), "migrate", ok=True)
    (f,) = doc["files"]
    assert f["changed"] and f["changes"] and f["diff"].startswith("---") and doc["written"] is False
    doc = checked(run_gbl("migrate", "-C", str(root), "--check", "--json"), "migrate", ok=False)
    assert doc["exit_code"] == 9 and doc["files"]


def test_init(tmp_path):
    root = copy_project(SAMPLE, tmp_path / "sample_project")
    doc = checked(run_gbl("init", "-C", str(root), "--json"), "init", ok=False)  # gbl.toml exists
    assert doc["exit_code"] == 2 and "gbl.toml" in doc["error"]["message"]
    for name in ("gbl.toml", "Makefile", ".github"):
        if (root / name).is_dir():
            shutil.rmtree(root / name)
        elif (root / name).exists():
            (root / name).unlink()
    doc = checked(run_gbl("init", "-C", str(root), "--json"), "init", ok=True)
    assert {Path(f["path"]).name for f in doc["files"]} >= {"gbl.toml", "Makefile"}
    assert all(Path(f["path"]).is_file() for f in doc["files"])


def test_manifest_merge(built, tmp_path):
    doc = checked(run_gbl("manifest", "merge", str(built / "dist"), "--out", str(tmp_path / "all"), "--json"),
                  "manifest merge", ok=True)
    assert doc["functions"] == ["api", "echo", "nightly-report"]
    doc = checked(run_gbl("manifest", "merge", str(tmp_path / "missing"), "--out", str(tmp_path / "m"), "--json"),
                  "manifest merge", ok=False)
    assert doc["exit_code"] != 1  # an explained error, not a crash


def test_invoke(built):
    doc = checked(run_gbl("invoke", "api", "-C", str(built), "--example", "apigw-http", "--json"), "invoke", ok=True)
    assert doc["status"] == "ok" and doc["response"]["statusCode"] == 200 and doc["function_error"] is None
    doc = checked(run_gbl("invoke", "echo", "-C", str(built), "--arch", "amd64", "--data", '{"text": ""}', "--json"),
                  "invoke", ok=False)
    assert doc["exit_code"] == 7 and doc["status"] == "error"
    assert doc["function_error"]["message"] == "text must not be empty"
    doc = checked(run_gbl("invoke", "--all", "-C", str(built), "--arch", "amd64", "--data", '{"text": "x"}',
                          "--json"), "invoke", ok=True)
    assert len(doc["functions"]) == 3
    doc = checked(run_gbl("invoke", "nosuch", "-C", str(built), "--json"), "invoke", ok=False)
    assert doc["exit_code"] == 2


def test_schemas_refuse_what_is_not_a_document():
    with pytest.raises(jsonschema.ValidationError):  # the schemas can fail: a bare array is refused
        jsonschema.validate([], schema("verify"))
    with pytest.raises(jsonschema.ValidationError):  # an error without its exit code
        jsonschema.validate({"version": 1, "command": "plan", "ok": False,
                             "error": {"type": "X", "message": "m", "where": None, "hint": None}}, schema("plan"))


def test_schema_files_are_what_generate_py_writes():
    import runpy

    gen = runpy.run_path(str(SCHEMAS / "generate.py"))
    for command in gen["COMMANDS"]:
        stored = json.loads((SCHEMAS / gen["file_name"](command)).read_text(encoding="utf-8"))
        assert stored == gen["schema"](command), f"run python docs/schemas/generate.py ({command})"


@pytest.mark.parametrize("args, command, fragment", [
    (["build", "--bogus"], "build", "No such option: --bogus"),  # the argument parser's errors
    (["build", "-j", "0"], "build", "'--jobs'"),
    (["manifest", "merge"], "manifest merge", "Missing argument"),
    (["invoke", "--timeout", "soon"], "invoke", "'--timeout'"),
    (["build", "--arch", "sparc"], "build", "--arch must be amd64 or arm64"),  # gbl's own check
    (["plan", "--arch", "sparc"], "plan", "--arch must be amd64 or arm64"),
])
def test_usage_errors_are_documents_too(tmp_path, args, command, fragment):
    """A command line gbl cannot use is exit 2 with usage on stderr, and with --json the one
    failure document on stdout; without --json stdout stays empty."""
    doc = checked(run_gbl(*args, "-C", str(tmp_path), "--json"), command, ok=False)
    assert doc["exit_code"] == 2 and doc["error"]["type"] == "UsageError"
    assert fragment in doc["error"]["message"]
    plain = run_gbl(*args, "-C", str(tmp_path))
    assert plain.returncode == 2 and plain.stdout == "" and fragment in plain.stderr
    assert "Traceback" not in plain.stderr + doc["error"]["message"]


def test_usage_error_of_a_command_without_json_prints_no_document(tmp_path):
    for args in (["watch", "--json"], ["docker", "stop", "--json"], ["nosuchcommand", "--json"]):
        proc = run_gbl(*args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == "" and "Error:" in proc.stderr, args


def test_invoke_list_examples(tmp_path):
    """The example events as one document: each kind --example takes and what the listing says."""
    text = run_gbl("invoke", "--list-examples", cwd=tmp_path)
    doc = checked(run_gbl("invoke", "--list-examples", "--json", cwd=tmp_path), "invoke", ok=True)
    assert [f"{e['kind']:<22} {e['description']}" for e in doc["examples"]] == text.stdout.splitlines()
    assert {"apigw-http", "sqs"} <= {e["kind"] for e in doc["examples"]} and all(e["description"] for e in doc["examples"])
