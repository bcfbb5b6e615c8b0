"""gbl watch: the real CLI serving sample_project and the handler fixtures through the real emulator
(qemu for arm64), called with boto3's Lambda client and urllib; rebuilds on save; signals."""

from __future__ import annotations

import base64
from http.client import HTTPConnection
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import FIXTURES, SAMPLE, copy_project, run_gbl
from gobuild_lambda import errors
from gobuild_lambda.devserver import url_event, url_response
from gobuild_lambda.emulator import TEMP_PREFIX, descendants
from gobuild_lambda.watcher import _watch_loop, relevant

START_S = 300  # the first build and the server coming up (a cold Go cache builds everything)


class Watch:
    """`gbl watch --port 0` as a user runs it; its stderr read line by line."""

    def __init__(self, project: Path, tmp: Path, *args: str):
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gobuild_lambda", "watch", "-C", str(project), "--port", "0", *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(x.rstrip("\n")) for x in self.proc.stderr],
                         daemon=True).start()
        line = self.wait_for(r"^serving on (http://127\.0\.0\.1:\d+)", START_S)
        self.url = re.match(r"^serving on (http://127\.0\.0\.1:\d+)", line).group(1)

    def wait_for(self, pattern: str, timeout: float = 120) -> str:
        """The next line matching ``pattern`` (lines before it are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; gbl watch said:\n" + "\n".join(self.seen)) from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def client(self):
        return boto3.client("lambda", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test",
                            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=120))

    def invoke(self, name: str, payload: dict, **kw) -> tuple[dict, object]:
        out = self.client().invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kw)
        body = out["Payload"].read()
        return out, json.loads(body) if body else None

    def stop(self, sig=signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    base = tmp_path_factory.mktemp("watch-sample")
    w = Watch(copy_project(SAMPLE, base / "sample_project"), base)
    yield w
    assert w.stop() == errors.EXIT_INTERRUPTED


@pytest.fixture(scope="module")
def handlers(tmp_path_factory):
    base = tmp_path_factory.mktemp("watch-handlers")
    project = copy_project(FIXTURES / "handlers", base / "handlers")
    # sleeps may run long enough for a busy machine to see two calls overlap (see the 429 test)
    (project / "gbl.toml").write_text("[functions.sleeps]\ntimeout = 10\n")
    w = Watch(project, base, "--concurrency", "2",
              "--env", "GBL_TEST_W=1=2", "--env", "AWS_REGION=eu-west-1")
    yield w
    assert w.stop() == errors.EXIT_INTERRUPTED


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# ---------------------------------------------------------------------------- Invoke API
def test_boto3_invokes_functions_on_both_arches(sample):
    out, doc = sample.invoke("echo", {"text": "héllo"})  # arm64: under qemu on this host
    assert out["StatusCode"] == 200 and "FunctionError" not in out and out["ExecutedVersion"] == "$LATEST"
    assert doc == {"echo": "héllo", "length": 5, "upper": "HÉLLO"}
    out, doc = sample.invoke("arn:aws:lambda:us-east-1:123456789012:function:api", {"rawPath": "/x"})  # amd64
    assert out["StatusCode"] == 200 and json.loads(doc["body"])["path"] == "/x"
    sample.wait_for(r"^POST /2015-03-31/functions/.*api/invocations -> api 200 \(\d+ ms\)$")
    out, doc = sample.invoke("nightly-report", {})
    assert out["StatusCode"] == 200 and "FunctionError" not in out


def test_function_error_sets_function_error(sample):
    out, doc = sample.invoke("echo", {"text": ""})
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert doc == {"errorMessage": "text must not be empty", "errorType": "errorString"}
    out, doc = sample.invoke("echo", {"text": "again"})  # the instance is still good
    assert "FunctionError" not in out and doc["echo"] == "again"


def test_async_invoke_202_dry_run_204_and_log_tail(sample):
    out, _ = sample.invoke("echo", {"text": "from an event"}, InvocationType="Event")
    assert out["StatusCode"] == 202
    sample.wait_for(r"^POST /2015-03-31/functions/echo/invocations -> echo 202")
    sample.wait_for(r"^EVENT /2015-03-31/functions/echo/invocations -> echo 200")  # it ran
    out, _ = sample.invoke("echo", {}, InvocationType="DryRun")
    assert out["StatusCode"] == 204
    out, doc = sample.invoke("echo", {"text": "tail"}, LogType="Tail")
    log = base64.b64decode(out["LogResult"]).decode()
    assert "START RequestId:" in log and "REPORT RequestId:" in log and doc["echo"] == "tail"


def test_unknown_function_is_404_in_lambdas_error_shape(sample):
    with pytest.raises(ClientError) as info:
        sample.invoke("nope", {})
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    assert err["Error"]["Message"].startswith("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")
    with pytest.raises(ClientError) as info:
        sample.invoke("echo", {}, Qualifier="7")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    status, headers, body = http("POST", f"{sample.url}/2015-03-31/functions/echo/invocations", b"{not json")
    assert status == 400 and headers["x-amzn-ErrorType"] == "InvalidRequestContentException"


def test_handler_errors_crashes_and_timeouts(handlers):
    out, doc = handlers.invoke("fails", {})
    assert out["FunctionError"] == "Unhandled" and doc["errorMessage"] == "boom: deliberate failure"
    out, doc = handlers.invoke("panics", {})
    assert out["FunctionError"] == "Unhandled" and doc["errorMessage"] == "deliberate panic"
    out, doc = handlers.invoke("panics", {})  # a new instance replaces the crashed one
    assert out["FunctionError"] == "Unhandled" and doc["errorMessage"] == "deliberate panic"
    out, doc = handlers.invoke("sleeps", {"seconds": 30})  # the fixture's gbl.toml: timeout = 10
    assert out["FunctionError"] == "Unhandled" and doc["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 10.00 seconds" in doc["errorMessage"]
    out, doc = handlers.invoke("sleeps", {"seconds": 0})
    assert "FunctionError" not in out and doc == {"slept": 0}


def test_env_and_the_functions_environment(handlers):
    out, doc = handlers.invoke("envdump", {})
    assert doc == {"AWS_LAMBDA_FUNCTION_NAME": "envdump", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                   "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "3", "GBL_TEST_W": "1=2"}


def test_a_busy_function_gets_another_instance_up_to_the_limit(handlers):
    """--concurrency 2: two slow calls run at once (two emulators); a third is refused with 429."""
    results: list = []
    out, _ = handlers.invoke("sleeps", {"seconds": 0})
    handlers.wait_for(rf"^sleeps \| REPORT RequestId: {out['ResponseMetadata']['RequestId']}")  # earlier lines read

    def slow() -> None:
        # long enough that a loaded machine still sends the third call while both run
        results.append(handlers.invoke("sleeps", {"seconds": 8}))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
    handlers.wait_for(r"^sleeps \| START RequestId")
    handlers.wait_for(r"^sleeps \| START RequestId")  # both are running now
    with pytest.raises(ClientError) as info:
        handlers.invoke("sleeps", {"seconds": 0})
    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    for t in threads:
        t.join(timeout=120)
    assert [doc for _, doc in results] == [{"slept": 8}, {"slept": 8}]
    assert all("FunctionError" not in out for out, _ in results)


# ----------------------------------------------------------------------------- function URLs
def test_function_url_event_and_plain_json_answer(handlers):
    body = bytes(range(256))
    status, headers, data = http(
        "PUT", f"{handlers.url}/lambda-url/ok/items/42?x=1&x=2&y=z%20w", body,
        {"Content-Type": "application/octet-stream", "Cookie": "session=abc; theme=dark", "X-Custom": "v"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    event = json.loads(data)["input"]  # `ok` answers {"ok": true, "input": <event>}: a plain JSON value
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/42" and event["rawQueryString"] == "x=1&x=2&y=z%20w"
    assert event["queryStringParameters"] == {"x": "1,2", "y": "z w"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"] and event["headers"]["x-custom"] == "v"
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == body
    http_ctx = event["requestContext"]["http"]
    assert http_ctx["method"] == "PUT" and http_ctx["path"] == "/items/42" and http_ctx["sourceIp"] == "127.0.0.1"
    status, _, data = http("POST", f"{handlers.url}/lambda-url/ok", b'{"a": 1}', {"Content-Type": "application/json"})
    event = json.loads(data)["input"]
    assert status == 200 and event["rawPath"] == "/" and event["body"] == '{"a": 1}' and not event["isBase64Encoded"]
    conn = HTTPConnection(handlers.url.split("//")[1], timeout=120)  # a chunked body (curl -T -)
    conn.request("POST", "/lambda-url/ok/c", body=iter([b"ab", b"cd"]), headers={"Content-Type": "text/plain"},
                 encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["input"]["body"] == "abcd"
    conn.close()
    status, _, _ = http("GET", f"{handlers.url}/lambda-url/fails/x")
    assert status == 502
    status, _, data = http("GET", f"{handlers.url}/lambda-url/nope/x")
    assert status == 404 and b"nope" in data


def test_function_url_maps_the_api_functions_response(sample):
    """sample_project's api returns an APIGatewayV2HTTPResponse: statusCode, headers, body."""
    status, headers, data = http("GET", f"{sample.url}/lambda-url/api/hello?name=gbl", None, {"Cookie": "a=1"})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(data) == {"message": "hello, gbl", "path": "/hello"}
    sample.wait_for(r"^GET /lambda-url/api/hello -> api 200 \(\d+ ms\)$")


def test_url_response_mapping():
    structured = {"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2; Path=/"],
                  "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    answer = url_response(json.dumps(structured).encode())
    assert answer.status == 201 and answer.body == b"\x00\xff"
    assert ("Set-Cookie", "a=1") in answer.headers and ("Set-Cookie", "b=2; Path=/") in answer.headers
    assert ("x-a", "1") in answer.headers
    plain = url_response(b'["x", 1]')
    assert plain.status == 200 and plain.body == b'["x", 1]' and plain.headers == (("Content-Type", "application/json"),)
    assert url_response(b'{"statusCode": "teapot"}').status == 502
    event = url_event("GET", "/", "", [("Host", "h"), ("A", "1"), ("a", "2")], b"", function="f", region="eu-west-1")
    assert event["headers"]["a"] == "1,2" and "body" not in event and "cookies" not in event


# ------------------------------------------------------------------------------ rebuild on save
def test_saving_a_change_serves_the_new_build_and_a_compile_error_keeps_the_old(tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    w = Watch(project, tmp_path)
    try:
        url = f"{w.url}/lambda-url/api/x?name=you"
        assert json.loads(http("GET", url)[2])["message"] == "hello, you"
        greet = project / "internal" / "greet" / "greet.go"
        greet.write_text(greet.read_text().replace('"hello, "', '"howdy, "'))
        w.wait_for(r"^api: amd64, serving the new build$")
        assert json.loads(http("GET", url)[2])["message"] == "howdy, you"
        main = project / "cmd" / "api" / "main.go"
        good = main.read_text()
        main.write_text(good + "\nfunc broken( {\n")
        w.wait_for(r"^error: function api failed to build; the previous version keeps serving")
        w.wait_for(r"cmd/api/main\.go:\d+:\d+: syntax error")
        assert json.loads(http("GET", url)[2])["message"] == "howdy, you"
        out, doc = w.invoke("echo", {"text": "ok"})  # the others serve as before
        assert doc["echo"] == "ok"
        main.write_text(good)
        greet.write_text(greet.read_text().replace('"howdy, "', '"hola, "'))
        w.wait_for(r"^api: amd64, serving the new build$")
        assert json.loads(http("GET", url)[2])["message"] == "hola, you"
        toml = project / "gbl.toml"
        config = toml.read_text()
        toml.write_text(config + "\n[functions.api]\nmemry = 256\n")  # a typo: gbl.toml is refused
        w.wait_for(r"^error: .*gbl\.toml")
        assert json.loads(http("GET", url)[2])["message"] == "hola, you"
        toml.write_text(config)
        (project / "cmd" / "hello2").mkdir()  # a new function is served after the next build
        (project / "cmd" / "hello2" / "main.go").write_text(good)
        w.wait_for(r"^hello2: amd64, serving the new build$")
        assert json.loads(http("GET", f"{w.url}/lambda-url/hello2/p")[2])["path"] == "/p"
    finally:
        assert w.stop() == errors.EXIT_INTERRUPTED


# ---------------------------------------------------------------------------------- stopping
def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_no_process_and_no_directory(tmp_path, sig):
    w = Watch(copy_project(SAMPLE, tmp_path / "sample_project"), tmp_path)
    try:
        assert w.invoke("echo", {"text": "x"})[1]["echo"] == "x"  # arm64: qemu
        assert http("GET", f"{w.url}/lambda-url/api/")[0] == 200
        started = descendants(w.proc.pid)
        names = " ".join(_cmdline(p) for p in started)
        assert "aws-lambda-rie" in names and "qemu-aarch64" in names and "bootstrap" in names, names
        assert list(tmp_path.glob(f"{TEMP_PREFIX}*"))
    finally:
        code = w.stop(sig)
    assert code == errors.EXIT_INTERRUPTED
    assert [(p, _cmdline(p)) for p in started if _alive(p)] == []
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_sigkill_of_gbl_takes_the_emulators_down(tmp_path):
    """The emulators were started by one long-lived thread: their parent-death signal fires."""
    w = Watch(copy_project(SAMPLE, tmp_path / "sample_project"), tmp_path)
    try:
        assert w.invoke("echo", {"text": "x"})[1]["echo"] == "x"
        started = descendants(w.proc.pid)
        assert started
    finally:
        w.proc.kill()
        w.proc.wait()
    deadline = time.monotonic() + 30  # the kernel's signal and the emulator's clean-up are async
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert [(p, _cmdline(p)) for p in started if _alive(p)] == []


def test_port_in_use_and_unknown_name_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_gbl("watch", "-C", str(SAMPLE), "--port", str(port), timeout=300)
    assert proc.returncode == errors.EXIT_USAGE, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    proc = run_gbl("watch", "-C", str(SAMPLE), "nope", timeout=300)
    assert proc.returncode == errors.EXIT_USAGE and "nope" in proc.stderr


def test_what_a_change_rebuilds(tmp_path):
    root = tmp_path
    out = root / "dist"
    assert relevant(str(root / "cmd" / "api" / "main.go"), root, out)
    assert relevant(str(root / "go.mod"), root, out) and relevant(str(root / "gbl.toml"), root, out)
    assert relevant(str(root / "go.sum"), root, out)
    for ignored in ("dist/x.go", ".gbl/state.json", "vendor/a/b.go", ".git/HEAD", "README.md",
                    "cmd/api/.#main.go", "cmd/api/testdata/x.go"):
        assert not relevant(str(root / ignored), root, out), ignored
    assert not relevant("/elsewhere/x.go", root, out)


def test_a_burst_of_saves_is_one_rebuild(tmp_path):
    """Saving five files at once (an editor's "save all", gofmt on save) rebuilds once, naming
    them all; a later save rebuilds again; files gbl does not build from rebuild nothing."""
    root = tmp_path
    (root / "cmd" / "api").mkdir(parents=True)
    builds: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    loop = threading.Thread(target=_watch_loop, args=(root, builds.put, stop), daemon=True)
    loop.start()
    try:
        time.sleep(1.0)  # the watcher is up
        for i in range(5):
            (root / "cmd" / "api" / f"f{i}.go").write_text(f"package main // {i}\n")
        why = builds.get(timeout=30)
        assert why == ", ".join(f"cmd/api/f{i}.go" for i in range(5))
        (root / "README.md").write_text("not Go\n")
        (root / "dist").mkdir()
        (root / "dist" / "api.zip").write_bytes(b"PK")
        time.sleep(2.0)  # well past the debounce: nothing more came
        assert builds.empty(), builds.get_nowait()
        (root / "cmd" / "api" / "f0.go").write_text("package main // again\n")
        assert builds.get(timeout=30) == "cmd/api/f0.go"
        time.sleep(2.0)
        assert builds.empty(), builds.get_nowait()
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
