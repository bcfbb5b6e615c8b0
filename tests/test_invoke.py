"""gbl invoke on the handler fixtures, through the real emulator (and qemu for arm64): exit codes,
messages, events, environment, missing tools, and that signals leave no process or directory."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import gobuild_lambda
from conftest import FIXTURES, SAMPLE, copy_project, run_gbl
from gobuild_lambda import errors
from gobuild_lambda.emulator import TEMP_PREFIX, descendants
from gobuild_lambda.invoker import RIE_INSTALL, examples, find_emulator, host_arch

OTHER_ARCH = "arm64" if host_arch() == "amd64" else "amd64"


@pytest.fixture(scope="module")
def handlers(tmp_path_factory) -> Path:
    return copy_project(FIXTURES / "handlers", tmp_path_factory.mktemp("inv") / "handlers")


@pytest.fixture(scope="module")
def events_project(tmp_path_factory) -> Path:
    return copy_project(FIXTURES / "events", tmp_path_factory.mktemp("inv") / "events")


def gbl(project: Path, *args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return run_gbl("invoke", "-C", str(project), *args, env=env, **kw)


# ------------------------------------------------------------------------------ outcomes
def test_response_on_stdout_logs_on_stderr(handlers):
    proc = gbl(handlers, "logs")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '"done"\n'
    assert "log line to stderr" in proc.stderr and "log line to stdout" in proc.stderr
    assert "REPORT RequestId:" in proc.stderr


def test_returned_error_exits_7(handlers):
    proc = gbl(handlers, "fails")
    assert proc.returncode == errors.EXIT_FUNCTION_ERROR, proc.stderr
    assert json.loads(proc.stdout) == {"errorMessage": "boom: deliberate failure", "errorType": "errorString"}
    assert "error: function fails returned an error: errorString: boom: deliberate failure" in proc.stderr


def test_panic_exits_7_as_a_crash(handlers):
    proc = gbl(handlers, "panics", "--json")
    assert proc.returncode == errors.EXIT_FUNCTION_ERROR, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "crash" and doc["function_error"]["message"] == "deliberate panic"  # issue 19: `error` is gbl's
    assert "error: function panics crashed: string: deliberate panic" in proc.stderr


@pytest.mark.parametrize("arch", ["amd64", OTHER_ARCH])
def test_timeout_exits_8_and_stops_the_function(handlers, arch, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = gbl(handlers, "sleeps", "--arch", arch, "--timeout", "1", "--data", '{"seconds": 60}', env=env)
    assert proc.returncode == errors.EXIT_TIMEOUT, proc.stderr
    assert "function sleeps ran past its 1 s timeout (Task timed out after 1.00 seconds)" in proc.stderr
    assert "--timeout" in proc.stderr  # the hint
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_library_returns_or_raises_with_the_result(handlers):
    result = gobuild_lambda.invoke(handlers, "ok", event=b'{"a": [1, 2]}')
    assert result.ok and json.loads(result.response) == {"ok": True, "input": {"a": [1, 2]}}
    with pytest.raises(errors.FunctionError) as info:
        gobuild_lambda.invoke(handlers, "fails")
    assert info.value.result.status == "error" and info.value.result.error_type == "errorString"
    result = gobuild_lambda.invoke(handlers, "fails", check=False)
    assert result.status == "error"


def test_function_environment(handlers):
    """The Lambda variables, --env additions, gbl.toml memory/timeout; no credentials leak in."""
    (handlers / "gbl.toml").write_text("[functions.envdump]\nmemory = 512\ntimeout = 7\n")
    try:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ["AWS_ACCESS_KEY_ID"] = "AKIASECRET"
        environ["AWS_SECRET_ACCESS_KEY"] = "secret"
        environ["GBL_TEST_FROM_SHELL"] = "not passed"
        result = gobuild_lambda.invoke(handlers, "envdump", env={"GBL_TEST_X": "1=2", "GBL_TEST_EMPTY": ""},
                                       environ=environ)
    finally:
        (handlers / "gbl.toml").unlink()
    assert json.loads(result.response) == {
        "AWS_LAMBDA_FUNCTION_NAME": "envdump", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "7",
        "GBL_TEST_X": "1=2", "GBL_TEST_EMPTY": "",
    }
    proc = gbl(handlers, "envdump", "--env", "AWS_REGION=eu-west-1", "--timeout", "5",
               env={**os.environ, "AWS_SECRET_ACCESS_KEY": "secret"})
    doc = json.loads(proc.stdout)
    assert doc["AWS_REGION"] == "eu-west-1" and doc["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "5"
    assert "secret" not in proc.stdout


# -------------------------------------------------------------------------------- events
def test_event_sources(handlers, tmp_path):
    f = tmp_path / "ev.json"
    f.write_text('{"from": "file"}')
    assert json.loads(gbl(handlers, "ok", "--event", str(f)).stdout)["input"] == {"from": "file"}
    proc = gbl(handlers, "ok", "--event", "-", input='{"from": "stdin"}')
    assert json.loads(proc.stdout)["input"] == {"from": "stdin"}
    assert json.loads(gbl(handlers, "ok", "--data", '{"from": "data"}').stdout)["input"] == {"from": "data"}
    assert json.loads(gbl(handlers, "ok").stdout)["input"] == {}


@pytest.mark.parametrize("args, message", [
    (["ok", "--data", "{not json"], "--data: the event is not valid JSON"),
    (["ok", "--event", "/nonexistent/ev.json"], "cannot read the event file"),
    (["ok", "--data", "{}", "--example", "sqs"], "--data and --example both give the event"),
    (["ok", "--example", "kafka"], "unknown example event 'kafka'"),
    (["ok", "--env", "NOEQUALS"], "--env expects KEY=VALUE"),
    (["ok", "--timeout", "901"], "--timeout must be 1 to 900"),
    ([], "give one function NAME, or --all"),
    (["nope"], "nope"),
])
def test_bad_input_exits_2(handlers, args, message):
    proc = gbl(handlers, *args)
    assert proc.returncode == errors.EXIT_USAGE, proc.stderr
    assert message in proc.stderr


def test_list_examples():
    proc = run_gbl("invoke", "--list-examples")
    assert proc.returncode == 0
    kinds = [line.split()[0] for line in proc.stdout.splitlines()]
    assert kinds == sorted(["apigw-http", "apigw-rest", "sqs", "s3-put", "eventbridge-schedule"])
    assert [e.kind for e in examples()] == kinds


@pytest.mark.parametrize("kind", ["apigw-http", "apigw-rest", "sqs", "s3-put", "eventbridge-schedule"])
def test_examples_decode_with_aws_lambda_go_events(events_project, kind):
    """Each handler decodes its example with aws-lambda-go's events type, unknown fields refused."""
    proc = gbl(events_project, kind, "--example", kind)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == kind
    expected = {
        "apigw-http": {"method": "POST", "path": "/hello", "query": "gbl", "cookies": 1},
        "apigw-rest": {"method": "POST", "path": "/hello", "query": "gbl"},
        "sqs": {"records": 1, "source_arn": f"arn:aws:sqs:us-east-1:123456789012:{kind}-queue"},
        "s3-put": {"event": "ObjectCreated:Put", "bucket": "example-bucket", "key": "uploads/hello.txt"},
        "eventbridge-schedule": {"source": "aws.events", "detail_type": "Scheduled Event"},
    }[kind]
    assert expected.items() <= doc.items()


def test_decoding_handlers_refuse_unknown_fields(events_project):
    proc = gbl(events_project, "sqs", "--data", '{"Records": [{"messageId": "1", "eventSource": "aws:sqs", "bogus": 1}]}')
    assert proc.returncode == errors.EXIT_FUNCTION_ERROR
    assert "bogus" in proc.stdout


# ----------------------------------------------------------------------------------- --all
def test_all_prints_a_table_and_fails_when_one_fails(handlers):
    proc = gbl(handlers, "--all", "--data", '{"seconds": 0}')
    assert proc.returncode == errors.EXIT_FUNCTION_ERROR, proc.stderr
    rows = {line.split()[1]: line for line in proc.stdout.splitlines() if line.startswith("│")}
    assert sorted(rows) == ["envdump", "fails", "logs", "ok", "panics", "sleeps"]
    assert " ok " in rows["ok"] and " error " in rows["fails"] and " crash " in rows["panics"]
    assert "2 of 6 function(s) failed: fails (error), panics (crash)" in proc.stderr
    doc = json.loads(gbl(handlers, "--all", "--json", "--data", '{"seconds": 0}').stdout)
    assert doc["version"] == 1 and not doc["ok"]
    assert {f["function"]: f["status"] for f in doc["functions"]}["sleeps"] == "ok"


# ---------------------------------------------------------------------------- missing tools
def _bare_env(tmp_path: Path, *tools: str) -> dict:
    """An environment whose PATH holds only ``go`` and ``tools`` (symlinked), and no GOPATH/bin rie."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    go = shutil.which("go")
    (bindir / "go").symlink_to(go)
    for tool in tools:
        (bindir / Path(tool).name).symlink_to(tool)
    out = subprocess.run([go, "env", "GOMODCACHE", "GOCACHE"], capture_output=True, text=True, check=True)
    modcache, gocache = out.stdout.split()
    env = {k: v for k, v in os.environ.items() if k not in ("GBL_RIE", "GOBIN")}
    env.update(PATH=str(bindir), GOPATH=str(tmp_path / "gopath"), GOMODCACHE=modcache, GOCACHE=gocache)
    return env


def test_emulator_missing_exits_5_with_the_pinned_install(handlers, tmp_path):
    env = _bare_env(tmp_path)
    proc = gbl(handlers, "ok", env=env)
    assert proc.returncode == errors.EXIT_TOOL_MISSING, proc.stderr
    assert "aws-lambda-rie (the AWS Lambda Runtime Interface Emulator) is not installed" in proc.stderr
    assert RIE_INSTALL in proc.stderr
    assert RIE_INSTALL == ("go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/"
                           "aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d")
    proc = gbl(handlers, "ok", env={**env, "GBL_RIE": str(tmp_path / "nowhere")})
    assert proc.returncode == errors.EXIT_TOOL_MISSING
    assert "not at" in proc.stderr and "GBL_RIE" in proc.stderr and RIE_INSTALL in proc.stderr


def test_emulator_found_through_gbl_rie_config_and_go_bin(handlers, tmp_path):
    rie = find_emulator(gobuild_lambda.plan(handlers).config.invoke, dict(os.environ))
    env = _bare_env(tmp_path)
    assert gbl(handlers, "ok", env={**env, "GBL_RIE": str(rie)}).returncode == 0
    (handlers / "gbl.toml").write_text(f'[invoke]\nemulator = "{rie}"\n')
    try:
        assert gbl(handlers, "ok", env=env).returncode == 0
    finally:
        (handlers / "gbl.toml").unlink()
    gobin = tmp_path / "gopath" / "bin"
    gobin.mkdir(parents=True)
    (gobin / "aws-lambda-rie").symlink_to(rie)  # where the hinted `go install` puts it
    assert gbl(handlers, "ok", env=env).returncode == 0


def test_qemu_missing_exits_5_naming_the_package(handlers, tmp_path):
    rie = find_emulator(gobuild_lambda.plan(handlers).config.invoke, dict(os.environ))
    env = _bare_env(tmp_path, str(rie))
    proc = gbl(handlers, "ok", "--arch", OTHER_ARCH, env=env)
    assert proc.returncode == errors.EXIT_TOOL_MISSING, proc.stderr
    assert "is not on PATH" in proc.stderr and "qemu-user-static" in proc.stderr
    (handlers / "gbl.toml").write_text('[invoke]\nqemu_aarch64 = "/nonexistent/qemu"\nqemu_x86_64 = "/nonexistent/qemu"\n')
    try:
        proc = gbl(handlers, "ok", "--arch", OTHER_ARCH)
    finally:
        (handlers / "gbl.toml").unlink()
    assert proc.returncode == errors.EXIT_TOOL_MISSING, proc.stderr
    assert "/nonexistent/qemu" in proc.stderr and "qemu-user-static" in proc.stderr


# --------------------------------------------------------------------------------- signals
def _state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _start_sleeping(handlers: Path, arch: str, tmp: Path, kill_signal) -> tuple[subprocess.Popen, list[int]]:
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gobuild_lambda", "invoke", "-C", str(handlers), "sleeps", "--arch", arch,
         "--timeout", "300", "--data", '{"seconds": 300}'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=300)
        except queue.Empty:
            proc.kill()
            raise AssertionError("gbl invoke never started the function: " + "".join(seen))
        seen.append(line)
        if line.startswith("START RequestId:"):
            break
    return proc, descendants(proc.pid)


@pytest.mark.parametrize("sig, arch", [(signal.SIGINT, "amd64"), (signal.SIGTERM, "amd64"),
                                       (signal.SIGINT, OTHER_ARCH), (signal.SIGTERM, OTHER_ARCH)])
def test_signal_during_invoke_leaves_nothing(handlers, tmp_path, sig, arch):
    proc, started = _start_sleeping(handlers, arch, tmp_path, sig)
    names = " ".join(_cmdline(p) for p in started)
    assert "aws-lambda-rie" in names and "bootstrap" in names, names
    if arch != host_arch():
        assert "qemu-" in names
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*"))  # the task directory exists while it runs
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == errors.EXIT_INTERRUPTED
    alive = [(p, _cmdline(p)) for p in started if _state(p) not in (None, "Z")]
    assert alive == []
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_sigkill_of_gbl_takes_the_emulator_and_function_down(handlers, tmp_path):
    """PR_SET_PDEATHSIG: the emulator is told when gbl dies, and it kills the function."""
    import time

    proc, started = _start_sleeping(handlers, "amd64", tmp_path, signal.SIGKILL)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30  # the kernel's signal and the emulator's clean-up are async
    while time.monotonic() < deadline and any(_state(p) not in (None, "Z") for p in started):
        time.sleep(0.1)
    assert [(p, _cmdline(p)) for p in started if _state(p) not in (None, "Z")] == []


# ---------------------------------------------------------------------------------- Makefile
def test_make_invoke_target_runs_the_function(tmp_path):
    from gobuild_lambda.scaffold import init_project

    project = copy_project(SAMPLE, tmp_path / "sample_project")
    init_project(gobuild_lambda.plan(project), force=True)
    gbl_cmd = f"{sys.executable} -m gobuild_lambda"
    proc = subprocess.run(["make", "--no-print-directory", "invoke-echo", f"GBL={gbl_cmd}",
                           "INVOKEFLAGS=--event events/echo.json"],
                          cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"echo": "hello", "length": 5, "upper": "HELLO"}


# ----------------------------------------------------------------------------- the Emulator
def test_emulator_serves_several_calls_and_cleans_up(handlers, tmp_path):
    """What `gbl watch` builds on: one warm emulator, several calls, logs per line, full clean-up."""
    from gobuild_lambda.invoker import emulator_for, find_tools

    plan = gobuild_lambda.plan(handlers)
    fn = plan.function("ok")
    zip_path = gobuild_lambda.build(handlers, names=["ok"]).results[0].zip_path
    lines: list[str] = []
    emu = emulator_for(fn, zip_path, find_tools(plan, [fn], dict(os.environ)), timeout=5, on_log=lines.append)
    with emu:
        assert emu.task_dir.is_dir() and (emu.task_dir / "bootstrap").stat().st_mode & 0o111
        first = emu.invoke(b'{"n": 1}', timeout_s=5)
        second = emu.invoke(b'{"n": 2}', timeout_s=5)
        started = descendants(emu._proc.pid)
    assert first.ok and first.reusable and json.loads(second.payload)["input"] == {"n": 2}
    assert sum(line.startswith("REPORT RequestId:") for line in lines) == 2
    assert not emu.task_dir.exists()
    assert [p for p in started if _state(p) not in (None, "Z")] == []


def test_unpack_refuses_entries_outside_the_directory(tmp_path):
    import zipfile

    from gobuild_lambda.emulator import unpack

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("bootstrap", b"x")
        zf.writestr("../escape", b"x")
    with pytest.raises(errors.UsageError, match="points outside the task directory"):
        unpack(bad, parent=tmp_path)
    assert not (tmp_path.parent / "escape").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.zip"]


def test_stale_task_dirs_of_dead_gbl_runs_are_swept(tmp_path):
    from gobuild_lambda.emulator import sweep_stale_dirs

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{TEMP_PREFIX}{dead.stdout.strip()}-abc"
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-abc"
    other = tmp_path / "gbl-something-else"
    for d in (stale, mine, other):
        (d / "sub").mkdir(parents=True)
    sweep_stale_dirs(tmp_path)
    assert not stale.exists() and mine.exists() and other.exists()
