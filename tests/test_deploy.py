"""gbl diff / gbl deploy against a real HTTP implementation of the Lambda API: moto's server,
started here on 127.0.0.1 (no AWS account anywhere).  Its recorder (MOTO_ENABLE_RECORDING) lists
every request gbl sent, so the tests check what was called, not only what came back.

moto computes CodeSha256 like Lambda (base64 of the zip's SHA-256).  One moto difference: its
UpdateFunctionCode ignores the request's Architectures (Lambda applies them), so the arch test
checks the request gbl sent, not moto's state after it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

import gobuild_lambda
from conftest import run_gbl

REGION = "us-east-1"
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


# ------------------------------------------------------------------------------- moto server
class Moto:
    def __init__(self, tmp: Path, extra_env: dict | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MOTO_ENABLE_RECORDING": "True",
               "MOTO_RECORDER_FILEPATH": str(tmp / "recording.jsonl"), **(extra_env or {})}
        self.log = open(tmp / "moto.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {(tmp / 'moto.log').read_text()}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("moto server did not answer")

    def post(self, path: str) -> bytes:
        return urllib.request.urlopen(urllib.request.Request(f"{self.url}{path}", method="POST", data=b"")).read()

    def reset(self) -> None:
        self.post("/moto-api/reset")
        self.post("/moto-api/recorder/reset-recording")

    def recording(self) -> list[dict]:
        text = urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording").read().decode()
        # moto appends each entry and its newline in two writes, so concurrent requests can leave
        # two entries on one line: read a stream of JSON objects rather than lines.
        decoder, entries, i = json.JSONDecoder(), [], 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                return entries
            entry, i = decoder.raw_decode(text, i)
            entries.append(entry)

    def changes(self) -> list[dict]:
        """Every recorded request that could change something (anything but GET/HEAD)."""
        return [r for r in self.recording() if r["method"] not in ("GET", "HEAD")]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def body(entry: dict) -> dict:
    raw = base64.b64decode(entry["body"]) if entry.get("body_encoded") else (entry.get("body") or "")
    if isinstance(raw, bytes):
        raw = raw.decode()
    return json.loads(raw) if raw else {}


def updates(entries: list[dict]) -> dict[str, dict]:
    """UpdateFunctionCode requests (PUT /2015-03-31/functions/NAME/code) by function name."""
    out = {}
    for e in entries:
        path = e["url"].split("?")[0]
        if e["method"] == "PUT" and path.endswith("/code") and "/functions/" in path:
            out[path.split("/functions/")[1].rsplit("/", 1)[0]] = body(e)
    return out


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = Moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture()
def aws(moto, monkeypatch, tmp_path):
    """A clean moto, the env gbl runs with (dummy credentials, the local endpoint), and clients."""
    moto.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION=REGION, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    kw = dict(endpoint_url=moto.url, region_name=REGION, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    lam, iam, s3 = (boto3.client(s, **kw) for s in ("lambda", "iam", "s3"))
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    moto.post("/moto-api/recorder/reset-recording")
    return AwsEnv(moto, env, lam, s3, role)


class AwsEnv:
    def __init__(self, moto: Moto, env: dict, lam, s3, role: str):
        self.moto, self.env, self.lam, self.s3, self.role = moto, env, lam, s3, role

    def create(self, name: str, zip_bytes: bytes, arch: str = "x86_64", **kw) -> None:
        spec = dict(FunctionName=name, Runtime="provided.al2023", Role=self.role, Handler="bootstrap",
                    Code={"ZipFile": zip_bytes}, Architectures=[arch])
        spec.update(kw)
        self.lam.create_function(**spec)

    def sha(self, name: str) -> str:
        return self.lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]

    def gbl(self, *args: str, project: Path):
        return run_gbl(*args, "-C", str(project), env=self.env, timeout=600)


def old_zip(tag: str = "old") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("bootstrap", (1980, 1, 1, 0, 0, 0)), f"an older build: {tag}")
    return buf.getvalue()


def code_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# ---------------------------------------------------------------------------- sample project
@pytest.fixture(scope="module")
def built_sample(tmp_path_factory):
    """sample_project built once (api amd64, echo arm64, nightly-report amd64)."""
    from conftest import SAMPLE, copy_project

    root = copy_project(SAMPLE, tmp_path_factory.mktemp("deploy") / "sample_project")
    report = gobuild_lambda.build(root)
    assert report.ok
    return root


@pytest.fixture()
def sample(built_sample, tmp_path):
    """A private copy of the built sample (dist included) that a test may reconfigure."""
    dest = tmp_path / "sample_project"
    shutil.copytree(built_sample, dest, ignore=shutil.ignore_patterns(".gbl"))
    return dest


def zip_of(project: Path, name: str) -> bytes:
    return (project / "dist" / f"{name}.zip").read_bytes()


def zip_of_dir(out: Path, name: str) -> bytes:
    return (out / f"{name}.zip").read_bytes()


def manifest_of(project: Path) -> dict:
    return json.loads((project / "dist" / "manifest.json").read_text())["functions"]


# ------------------------------------------------------------------------------------- diff
def test_diff_reports_changed_unchanged_missing_and_arch(aws, sample):
    aws.create("api", zip_of(sample, "api"))                      # what was built: unchanged
    aws.create("echo", zip_of(sample, "echo"), arch="x86_64")     # same code, wrong arch: changed
    aws.moto.post("/moto-api/recorder/reset-recording")            # nightly-report: missing
    r = aws.gbl("diff", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["differs"] is True
    by = {f["function"]: f for f in doc["functions"]}
    assert {n: f["status"] for n, f in by.items()} == {"api": "unchanged", "echo": "changed", "nightly-report": "missing"}
    assert by["api"]["deployed_code_sha256"] == manifest_of(sample)["api"]["code_sha256"]
    assert (by["echo"]["arch"], by["echo"]["deployed_arch"], by["echo"]["arch_differs"]) == ("arm64", "x86_64", True)
    assert by["nightly-report"]["lambda_name"] == "nightly-report"
    assert aws.moto.changes() == []  # diff only reads

    r = aws.gbl("diff", "--exit-code", project=sample)
    assert r.returncode == 1, r.stderr  # like git diff --exit-code
    assert "changed" in r.stdout and "missing" in r.stdout and "deployed x86_64" in r.stdout


def test_diff_exit_code_zero_when_all_unchanged(aws, sample):
    for name, arch in (("api", "x86_64"), ("echo", "arm64"), ("nightly-report", "x86_64")):
        aws.create(name, zip_of(sample, name), arch=arch)
    r = aws.gbl("diff", "--exit-code", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    assert {f["status"] for f in json.loads(r.stdout)["functions"]} == {"unchanged"}
    # From a directory inside the project, as `gbl build` there does: the project's dist/.
    r = run_gbl("diff", "--exit-code", "--json", cwd=sample / "cmd", env=aws.env)
    assert r.returncode == 0 and json.loads(r.stdout)["out_dir"] == str((sample / "dist").resolve()), r.stderr


# ----------------------------------------------------------------------------------- deploy
def test_deploy_updates_exactly_the_changed_functions(aws, sample):
    aws.create("api", zip_of(sample, "api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    aws.create("nightly-report", old_zip("nightly"))
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["dry_run"] is False
    assert {f["function"]: f["action"] for f in doc["functions"]} == {
        "api": "unchanged", "echo": "updated", "nightly-report": "updated"}
    sent = updates(aws.moto.recording())
    assert set(sent) == {"echo", "nightly-report"}
    assert sent["echo"]["Architectures"] == ["arm64"]
    assert sent["nightly-report"]["Architectures"] == ["x86_64"]
    assert base64.b64decode(sent["echo"]["ZipFile"]) == zip_of(sample, "echo")
    m = manifest_of(sample)
    assert {n: aws.sha(n) for n in m} == {n: e["code_sha256"] for n, e in m.items()}

    # nothing changed since: a second deploy sends no change at all
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    assert {f["action"] for f in json.loads(r.stdout)["functions"]} == {"unchanged"}
    assert aws.moto.changes() == []


def test_deploy_sends_the_architecture_that_differs(aws, sample):
    aws.create("api", zip_of(sample, "api"))
    aws.create("echo", zip_of(sample, "echo"), arch="x86_64")  # same code, deployed for the wrong arch
    aws.create("nightly-report", zip_of(sample, "nightly-report"))
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", project=sample)
    assert r.returncode == 0, r.stderr
    sent = updates(aws.moto.recording())
    assert set(sent) == {"echo"} and sent["echo"]["Architectures"] == ["arm64"]


def test_dry_run_changes_nothing(aws, sample):
    aws.create("api", old_zip("api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    aws.create("nightly-report", zip_of(sample, "nightly-report"))
    before = {n: aws.sha(n) for n in ("api", "echo", "nightly-report")}
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", "--dry-run", "--publish", "--alias", "live", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] is True
    assert {f["function"]: f["action"] for f in doc["functions"]} == {
        "api": "would-update", "echo": "would-update", "nightly-report": "unchanged"}
    assert aws.moto.changes() == []
    assert {n: aws.sha(n) for n in before} == before
    r = aws.gbl("deploy", "--no-build", "--dry-run", project=sample)
    assert "dry run" in r.stdout and "would-update" in r.stdout


def test_prefix_and_function_name_map_names(aws, sample):
    toml = sample / "gbl.toml"
    toml.write_text(toml.read_text() + '\n[deploy]\nprefix = "prod-"\n\n[functions.nightly-report]\nfunction_name = "reports-nightly"\n')
    aws.create("prod-api", old_zip("api"))
    aws.create("prod-echo", zip_of(sample, "echo"), arch="arm64")
    aws.create("reports-nightly", old_zip("n"))
    aws.create("api", old_zip("unprefixed"))  # must not be touched
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {f["function"]: f["lambda_name"] for f in doc["functions"]} == {
        "api": "prod-api", "echo": "prod-echo", "nightly-report": "reports-nightly"}
    assert set(updates(aws.moto.recording())) == {"prod-api", "reports-nightly"}
    assert aws.sha("api") == code_sha(old_zip("unprefixed"))


def test_publish_and_alias(aws, sample):
    aws.create("api", old_zip("api"))
    aws.create("echo", zip_of(sample, "echo"), arch="arm64")
    aws.create("nightly-report", zip_of(sample, "nightly-report"))
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", "--alias", "live", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    by = {f["function"]: f for f in json.loads(r.stdout)["functions"]}
    assert by["api"]["action"] == "updated" and by["api"]["alias"] == "live"
    version = by["api"]["published_version"]
    assert version and version != "$LATEST"
    alias = aws.lam.get_alias(FunctionName="api", Name="live")
    assert alias["FunctionVersion"] == version
    published = aws.lam.get_function(FunctionName="api", Qualifier=version)["Configuration"]
    assert published["CodeSha256"] == manifest_of(sample)["api"]["code_sha256"]
    changes = [(e["method"], e["url"].split("/2015-03-31/")[-1]) for e in aws.moto.changes()]
    assert ("POST", "functions/api/versions") in changes
    assert all("echo" not in u and "nightly" not in u for _, u in changes)  # unchanged: nothing sent

    # a later change moves the existing alias to the new version
    aws.lam.update_function_code(FunctionName="api", ZipFile=old_zip("rollback"))
    r = aws.gbl("deploy", "api", "--no-build", "--alias", "live", "--json", project=sample)
    assert r.returncode == 0, r.stderr
    new_version = json.loads(r.stdout)["functions"][0]["published_version"]
    assert new_version != version
    assert aws.lam.get_alias(FunctionName="api", Name="live")["FunctionVersion"] == new_version


def test_missing_function_exit_code_while_others_deploy(aws, sample):
    aws.create("api", old_zip("api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", project=sample)
    assert r.returncode == 13, r.stderr
    assert "nightly-report" in r.stderr and "create it with your infrastructure code" in r.stderr
    assert set(updates(aws.moto.recording())) == {"api", "echo"}
    assert aws.sha("api") == manifest_of(sample)["api"]["code_sha256"]


# ------------------------------------------------------------------------------- S3 upload
def test_zip_over_the_direct_upload_limit_goes_through_s3(aws, sample):
    toml = sample / "gbl.toml"
    toml.write_text(toml.read_text() + '\n[deploy]\ns3_bucket = "artifacts"\ns3_prefix = "lambda/"\n')
    aws.s3.create_bucket(Bucket="artifacts")
    aws.create("api", old_zip("api"))
    aws.create("echo", zip_of(sample, "echo"), arch="arm64")
    aws.create("nightly-report", zip_of(sample, "nightly-report"))
    aws.moto.post("/moto-api/recorder/reset-recording")
    from gobuild_lambda.deployment import deploy

    limit = len(zip_of(sample, "api")) - 1  # the api zip is "too big" for a direct upload
    report = deploy(sample, build=False, direct_upload_limit=limit)
    (api,) = [f for f in report.functions if f.target.function == "api"]
    key = f"lambda/api/{manifest_of(sample)['api']['sha256']}.zip"
    assert api.action == "updated" and api.upload == f"s3://artifacts/{key}"
    sent = updates(aws.moto.recording())
    assert sent["api"]["S3Bucket"] == "artifacts" and sent["api"]["S3Key"] == key
    assert "ZipFile" not in sent["api"]
    assert aws.s3.get_object(Bucket="artifacts", Key=key)["Body"].read() == zip_of(sample, "api")
    assert aws.sha("api") == manifest_of(sample)["api"]["code_sha256"]


def test_zip_over_the_limit_without_a_bucket_fails_with_what_to_do(aws, sample):
    from gobuild_lambda.deployment import deploy
    from gobuild_lambda.errors import DeployFailed

    aws.create("api", old_zip("api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    aws.create("nightly-report", zip_of(sample, "nightly-report"))
    with pytest.raises(DeployFailed) as info:
        deploy(sample, build=False, direct_upload_limit=1)
    assert info.value.exit_code == 12
    failed = info.value.report.by_action("failed")
    assert {f.target.function for f in failed} == {"api", "echo"}
    assert "direct-upload limit" in failed[0].error and "[deploy] s3_bucket" in failed[0].hint
    assert updates(aws.moto.recording()) == {}


def test_failed_upload_names_the_function_and_bucket(aws, sample):
    toml = sample / "gbl.toml"
    toml.write_text(toml.read_text() + '\n[deploy]\ns3_bucket = "no-such-bucket"\n')
    aws.create("api", old_zip("api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    aws.create("nightly-report", old_zip("n"))
    from gobuild_lambda.deployment import deploy
    from gobuild_lambda.errors import DeployFailed

    size = len(zip_of(sample, "api"))
    with pytest.raises(DeployFailed) as info:
        deploy(sample, build=False, direct_upload_limit=size - 1)  # api goes through S3; the others direct
    actions = {f.target.function: f.action for f in info.value.report.functions}
    (api,) = info.value.report.by_action("failed")
    assert api.target.function == "api", actions
    assert "no-such-bucket" in api.error or "s3_bucket does not exist" in api.error
    assert "[deploy] s3_bucket" in api.hint


# ------------------------------------------------------------------------------------ errors
def test_image_package_and_go1x_functions_are_refused(aws, sample):
    aws.lam.create_function(FunctionName="api", Role=aws.role, PackageType="Image",
                            Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest"})
    aws.create("echo", old_zip("echo"), arch="arm64", Runtime="go1.x", Handler="main")
    aws.create("nightly-report", old_zip("n"))
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--no-build", project=sample)
    assert r.returncode == 12, r.stderr
    assert "api" in r.stderr and "Image-package function" in r.stderr
    assert "runs go1.x" in r.stderr and "gbl migrate" in r.stderr
    assert set(updates(aws.moto.recording())) == {"nightly-report"}  # the others still deploy
    r = aws.gbl("diff", "--json", project=sample)
    assert r.returncode == 12
    assert {f["function"]: f["status"] for f in json.loads(r.stdout)["functions"]}["api"] == "error"


def test_no_credentials(aws, sample, tmp_path):
    env = {k: v for k, v in aws.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    for cmd in (["diff"], ["deploy", "--no-build"]):
        r = run_gbl(*cmd, "-C", str(sample), env=env)
        assert r.returncode == 11, r.stderr
        assert "no AWS credentials found" in r.stderr and "AWS_PROFILE" in r.stderr
    assert aws.moto.changes() == []


def test_no_region(aws, sample):
    env = {k: v for k, v in aws.env.items() if k != "AWS_REGION"}
    r = run_gbl("diff", "-C", str(sample), env=env)
    assert r.returncode == 11 and "AWS_REGION" in r.stderr, r.stderr


def test_access_denied_and_bad_credentials(tmp_path, sample):
    """A moto that enforces IAM once the first 6 requests are done: the setup (5) and gbl's
    GetFunction.  gbl's S3 upload as a user without S3 permissions is then denied; an unknown
    access key is rejected.  (moto's server cannot check signatures of Lambda's REST requests
    made with IAM users' keys, so the denial is S3's.)"""
    server = Moto(tmp_path, {"INITIAL_NO_AUTH_ACTION_COUNT": "6"})
    try:
        kw = dict(endpoint_url=server.url, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        iam, lam, s3 = (boto3.client(s, **kw) for s in ("iam", "lambda", "s3"))
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        lam.create_function(FunctionName="api", Runtime="provided.al2023", Role=role, Handler="bootstrap",
                            Code={"ZipFile": old_zip()})
        s3.create_bucket(Bucket="artifacts")
        iam.create_user(UserName="ci")
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        toml = sample / "gbl.toml"
        toml.write_text(toml.read_text() + '\n[deploy]\ns3_bucket = "artifacts"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=server.url, AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
                   AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        from gobuild_lambda.deployment import deploy
        from gobuild_lambda.errors import AwsAccessError

        with pytest.MonkeyPatch.context() as mp:
            for k in [k for k in os.environ if k.startswith("AWS_")]:
                mp.delenv(k)
            for k, v in env.items():
                mp.setenv(k, v)
            with pytest.raises(AwsAccessError) as info:
                deploy(sample, names=["api"], build=False, direct_upload_limit=1)
        assert info.value.exit_code == 11
        (api,) = info.value.report.by_action("failed")
        assert api.kind == "access"
        assert "function api (api): PutObject: access denied" in api.error
        assert "s3:PutObject" in api.hint
        assert updates(server.recording()) == {}  # the upload failed: no UpdateFunctionCode

        r = run_gbl("diff", "api", "-C", str(sample), env={
            **env, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": "x"})
        assert r.returncode == 11, r.stderr
        assert "rejected the credentials" in r.stderr and "refresh your credentials" in r.stderr
    finally:
        server.stop()


def test_missing_boto3_names_the_extra(sample):
    code = ("import sys; sys.modules['boto3'] = None; from gobuild_lambda import cli; "
            f"cli.main(['diff', '-C', {str(sample)!r}])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 5, r.stderr
    assert 'pip install "gobuild-lambda[deploy]"' in r.stderr


def test_no_manifest(aws, tmp_path):
    r = run_gbl("diff", "-C", str(tmp_path), env=aws.env)
    assert r.returncode == 2 and "run `gbl build` first" in r.stderr, r.stderr


def test_diff_and_deploy_name_the_output_directory_they_used_under_dash_C(aws, sample, tmp_path):
    """`-C DIR --out rel` reads DIR/rel, and every message and document names that path, not `rel`."""
    (sample / "dist").rename(sample / "rel")
    for name, arch in (("api", "x86_64"), ("echo", "arm64"), ("nightly-report", "x86_64")):
        aws.create(name, zip_of_dir(sample / "rel", name), arch=arch)
    aws.moto.post("/moto-api/recorder/reset-recording")
    used, env = (sample / "rel").resolve(), {**aws.env, "COLUMNS": "400"}
    run = lambda *args: run_gbl(*args, "-C", sample.name, "--out", "rel", cwd=tmp_path, env=env)  # noqa: E731

    r = run("diff", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["out_dir"] == str(used), r.stderr
    r = run("diff")
    assert r.returncode == 0 and f"{used} vs Lambda" in r.stdout, r.stdout
    r = run("deploy", "--no-build", "--dry-run", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["out_dir"] == str(used), r.stderr
    r = run("deploy", "--no-build", "--dry-run")
    assert r.returncode == 0 and f"{used} -> Lambda (dry run" in r.stdout, r.stdout
    (sample / "rel" / "manifest.json").unlink()
    for cmd in (["diff"], ["deploy", "--no-build"]):
        r = run(*cmd)
        assert r.returncode == 2 and f"no functions in {used / 'manifest.json'} " in r.stderr, r.stderr
    assert aws.moto.changes() == [] and not (tmp_path / "rel").exists()


@pytest.mark.parametrize("toml, key", [
    ('[deploy]\nprefix = "prod/"\n', "deploy.prefix"),
    ('[deploy]\nbucket = "x"\n', "deploy.bucket"),
    ('[deploy]\ns3_bucket = "s3://x/y"\n', "deploy.s3_bucket"),
    ('[functions.api]\nfunction_name = "has space"\n', "functions.api.function_name"),
])
def test_bad_deploy_config_names_file_and_key(aws, sample, toml, key):
    (sample / "gbl.toml").write_text(toml)
    r = run_gbl("diff", "-C", str(sample), env=aws.env)
    assert r.returncode == 2, r.stderr
    assert "gbl.toml" in r.stderr and key in r.stderr


# ------------------------------------------------------------------------------ build first
def test_deploy_builds_when_the_manifest_is_missing(aws, tmp_path):
    from conftest import SAMPLE, copy_project

    project = copy_project(SAMPLE, tmp_path / "fresh")
    for name, arch in (("api", "x86_64"), ("echo", "arm64"), ("nightly-report", "x86_64")):
        aws.create(name, old_zip(name), arch=arch)
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", "--json", project=project)
    assert r.returncode == 0, r.stderr
    assert (project / "dist" / "manifest.json").is_file()
    assert set(updates(aws.moto.recording())) == {"api", "echo", "nightly-report"}
    aws.moto.post("/moto-api/recorder/reset-recording")
    r = aws.gbl("deploy", project=project)  # builds again (a no-op) and sends nothing
    assert r.returncode == 0, r.stderr
    assert aws.moto.changes() == []


def test_every_exit_code_is_documented():
    from conftest import ROOT
    from gobuild_lambda import errors

    doc = (ROOT / "docs" / "exit-codes.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in dir(errors):
        if name.startswith("EXIT_"):
            code = getattr(errors, name)
            assert f"| {code} |" in doc, name
            assert f"| {code} |" in readme or f"| {code} / " in readme or f"/ {code} |" in readme, name


def test_bad_alias_and_unknown_name_are_usage_errors(aws, sample):
    r = aws.gbl("deploy", "--no-build", "--alias", "12", project=sample)
    assert r.returncode == 2 and "not a valid alias name" in r.stderr, r.stderr
    r = aws.gbl("diff", "nope", project=sample)
    assert r.returncode == 2 and "no function named 'nope'" in r.stderr and "known: api" in r.stderr, r.stderr
    assert aws.moto.changes() == []


# ------------------------------------------------------------------------ --json documents
def test_diff_and_deploy_json_match_their_schemas_on_success_and_failure(aws, sample):
    from json_helpers import checked

    aws.create("api", zip_of(sample, "api"))
    aws.create("echo", old_zip("echo"), arch="arm64")
    doc = checked(aws.gbl("diff", "--json", project=sample), "diff", ok=True)
    assert doc["differs"] is True  # a difference is not a failure
    env = {k: v for k, v in aws.env.items() if k != "AWS_REGION"}
    doc = checked(run_gbl("diff", "-C", str(sample), "--json", env=env), "diff", ok=False)
    assert doc["exit_code"] == 11 and doc["error"]["type"] == "AwsAccessError"

    doc = checked(aws.gbl("deploy", "--no-build", "--dry-run", "--json", project=sample), "deploy", ok=False)
    assert doc["exit_code"] == 13 and doc["dry_run"] is True  # nightly-report does not exist
    assert {f["function"]: f["action"] for f in doc["functions"]}["nightly-report"] == "missing"
    aws.create("nightly-report", old_zip("nightly"))
    doc = checked(aws.gbl("deploy", "--no-build", "--json", project=sample), "deploy", ok=True)
    assert {f["action"] for f in doc["functions"]} == {"unchanged", "updated"}

    (sample / "cmd" / "api" / "broken.go").write_text("package main\n\nfunc broken( {\n")
    doc = checked(aws.gbl("deploy", "--json", project=sample), "deploy", ok=False)
    assert doc["exit_code"] == 3 and doc["build"]["counts"]["failed"] == 1
