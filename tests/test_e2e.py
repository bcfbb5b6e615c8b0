"""End to end: the zips gbl built run as Lambda runs them, speaking the Runtime API.

The bootstrap comes out of the verified zip (mode 0755, in a private directory) and is driven by
``runtime_api.py`` (see its docstring for why not the AWS emulator on this machine).  amd64 runs
natively; the arm64 function runs under qemu-aarch64-static, installed by .ci/setup.
"""

from __future__ import annotations

import json
import platform
import shutil
import zipfile
from pathlib import Path


from conftest import SAMPLE
from runtime_api import invoke

EVENTS = SAMPLE / "events"
HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
QEMU = {"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}


def unpack_bootstrap(zip_path: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        data = zf.read("bootstrap")
    out = dest / "bootstrap"
    out.write_bytes(data)
    out.chmod(0o755)
    return out


def run(sample_build, name: str, event, tmp_path: Path, **kw):
    entry = json.loads((sample_build.out_dir / "manifest.json").read_text())["functions"][name]
    bootstrap = unpack_bootstrap(sample_build.out_dir / entry["zip"], tmp_path / name)
    wrapper = None
    if entry["arch"] != HOST_ARCH:
        qemu = shutil.which(QEMU[entry["arch"]])
        assert qemu, f"{QEMU[entry['arch']]} is required (Debian package qemu-user-static)"
        wrapper = [qemu]
    return invoke(bootstrap, event, wrapper=wrapper, **kw)


def test_api_gateway_http_api(sample_build, tmp_path):
    event = json.loads((EVENTS / "api.json").read_text())
    out = run(sample_build, "api", event, tmp_path)
    assert out.status == "response", out.stderr
    resp = out.json()
    assert resp["statusCode"] == 200
    assert resp["headers"]["content-type"].startswith("application/json")
    body = json.loads(resp["body"])
    assert body == {"message": "hello, gbl", "path": "/hello"}


def test_nightly_report_scheduled_event(sample_build, tmp_path):
    event = json.loads((EVENTS / "nightly-report.json").read_text())
    out = run(sample_build, "nightly-report", event, tmp_path)
    assert out.status == "response", out.stderr
    body = out.json()
    assert body["job"] == "nightly-report"
    assert body["source"] == event["source"]
    assert body["detail_type"] == event["detail-type"]


def test_echo_arm64_under_qemu(sample_build, tmp_path):
    out = run(sample_build, "echo", {"text": "héllo"}, tmp_path)
    assert out.status == "response", out.stderr
    assert out.json() == {"echo": "héllo", "length": 5, "upper": "HÉLLO"}


def test_handler_error_is_reported(sample_build, tmp_path):
    out = run(sample_build, "echo", {"text": ""}, tmp_path)
    assert out.status == "error"
    assert out.json()["errorMessage"] == "text must not be empty"
