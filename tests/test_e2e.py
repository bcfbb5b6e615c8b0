"""End to end: every sample_project function, built by gbl, run through `gbl invoke` in the real
AWS Lambda Runtime Interface Emulator, on both arches: amd64 natively, arm64 under
qemu-aarch64-static (on an x86-64 host; the other way round on arm64).  .ci/setup installs both;
a missing one fails these tests (exit 5), it never skips them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SAMPLE, copy_project, run_gbl

EVENTS = SAMPLE / "events"


@pytest.fixture(scope="module", params=["amd64", "arm64"])
def arch_project(request, tmp_path_factory) -> tuple[str, Path]:
    """A private sample_project copy per arch (so --arch rebuilds never touch another test's zips)."""
    arch = request.param
    return arch, copy_project(SAMPLE, tmp_path_factory.mktemp(f"e2e-{arch}") / "sample_project")


def invoke(arch_project, *args: str):
    arch, project = arch_project
    proc = run_gbl("invoke", "-C", str(project), "--arch", arch, "--json", *args)
    doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc, doc


def test_api_gateway_http_api(arch_project):
    proc, doc = invoke(arch_project, "api", "--event", str(EVENTS / "api.json"))
    assert proc.returncode == 0, proc.stderr
    assert doc["version"] == 1 and doc["status"] == "ok" and doc["arch"] == arch_project[0]
    resp = doc["response"]
    assert resp["statusCode"] == 200
    assert resp["headers"]["content-type"].startswith("application/json")
    assert json.loads(resp["body"]) == {"message": "hello, gbl", "path": "/hello"}


def test_nightly_report_scheduled_event(arch_project):
    event = json.loads((EVENTS / "nightly-report.json").read_text())
    proc, doc = invoke(arch_project, "nightly-report", "--event", str(EVENTS / "nightly-report.json"))
    assert proc.returncode == 0, proc.stderr
    assert doc["response"] == {"job": "nightly-report", "source": event["source"],
                               "detail_type": event["detail-type"], "greeting": f"hello, {event['source']}"}


def test_echo(arch_project):
    proc, doc = invoke(arch_project, "echo", "--data", json.dumps({"text": "héllo"}))
    assert proc.returncode == 0, proc.stderr
    assert doc["response"] == {"echo": "héllo", "length": 5, "upper": "HÉLLO"}
    assert doc["arch"] == arch_project[0]


def test_handler_error_is_reported(arch_project):
    proc, doc = invoke(arch_project, "echo", "--data", '{"text": ""}')
    assert proc.returncode == 7, proc.stderr
    assert doc["status"] == "error"
    assert doc["response"]["errorMessage"] == "text must not be empty"
    assert "function echo returned an error: errorString: text must not be empty" in proc.stderr


def test_every_function_with_an_example_event(arch_project):
    """`--all` with the apigw-http example: api answers it; echo rejects it (no text); and the
    scheduled job decodes any JSON object.  The table names every function with its arch."""
    arch, project = arch_project
    proc = run_gbl("invoke", "--all", "-C", str(project), "--arch", arch, "--example", "apigw-http", "--json")
    assert proc.returncode == 7, proc.stderr
    doc = json.loads(proc.stdout)
    by_name = {f["function"]: f for f in doc["functions"]}
    assert sorted(by_name) == ["api", "echo", "nightly-report"]
    assert {f["arch"] for f in doc["functions"]} == {arch}
    assert by_name["api"]["status"] == "ok"
    assert json.loads(by_name["api"]["response"]["body"]) == {"message": "hello, gbl", "path": "/hello"}
    assert by_name["echo"]["status"] == "error"
    assert by_name["nightly-report"]["status"] == "ok"
