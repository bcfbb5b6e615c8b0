"""``gbl invoke``: build a function (when its zip is missing or stale), run it once in the emulator.

(The module is ``invoker``, not ``invoke``, so that ``gobuild_lambda.invoke`` stays the function:
importing a submodule named like it would replace the package attribute.)

The library API::

    result = gobuild_lambda.invoke("path/to/module", "api", event=b'{"a": 1}')   # -> InvokeResult
    results = gobuild_lambda.invoke_all("path/to/module")                           # every function
    gobuild_lambda.render_example("apigw-http", function="api")                    # -> bytes

``invoke`` raises FunctionError (the handler returned an error or crashed) or InvokeTimeout, each
carrying ``.result``; ``check=False`` returns the result instead.  Tools are looked up here
(``find_emulator``, ``find_wrapper``) and the running is ``emulator.Emulator``'s, which
``gbl watch`` reuses.  Nothing here reads ``os.environ``: the caller passes ``environ``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .config import InvokeConfig
from .emulator import Emulator, Invocation, is_executable, sweep_stale_dirs
from .errors import FunctionError, InvokeTimeout, ToolMissing, UsageError
from .lambda_facts import TIMEOUT_S
from .planner import Function, Plan

# The one version of the emulator the Go module proxy serves (checked 2026-11-30).
RIE_MODULE = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d"
RIE_INSTALL = f"go install {RIE_MODULE}@{RIE_VERSION}"
RIE_BINARY = "aws-lambda-rie"
# Running a function of the other arch: the user-mode emulator and the Debian package holding it.
QEMU = {"arm64": ("qemu-aarch64-static", "qemu_aarch64"), "amd64": ("qemu-x86_64-static", "qemu_x86_64")}
QEMU_PACKAGE = "qemu-user-static"
DEFAULT_REGION = "us-east-1"
EXAMPLE_ACCOUNT = "123456789012"
EVENTS_DIR = "events"
JSON_VERSION = 1


@dataclass(frozen=True)
class InvokeResult:
    function: str
    arch: str
    status: str  # ok | error | crash | timeout
    response: bytes  # the response body (the error document on error / crash)
    duration_s: float
    request_id: str
    error_type: str = ""
    error_message: str = ""
    timeout_s: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict:
        try:
            response = json.loads(self.response) if self.response else None
        except ValueError:
            response = self.response.decode("utf-8", errors="replace")
        return {
            "function": self.function, "arch": self.arch, "status": self.status,
            "response": response, "duration_ms": round(self.duration_s * 1000, 1),
            "response_bytes": len(self.response), "request_id": self.request_id,
            "error": {"type": self.error_type, "message": self.error_message} if not self.ok else None,
        }


# ----------------------------------------------------------------------------------- tools
def host_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _which(name: str, environ: Mapping[str, str]) -> Path | None:
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    return Path(found) if found else None


def _go_bin_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Where the hinted `go install` puts binaries: $GOBIN, else $GOPATH/bin, else ~/go/bin."""
    if environ.get("GOBIN"):
        return [Path(environ["GOBIN"])]
    gopath = environ.get("GOPATH", "")
    if gopath:
        return [Path(p) / "bin" for p in gopath.split(os.pathsep) if p]
    home = environ.get("HOME") or environ.get("USERPROFILE")
    return [Path(home) / "go" / "bin"] if home else []


def find_emulator(config: InvokeConfig, environ: Mapping[str, str], config_path: Path | None = None) -> Path:
    """GBL_RIE, then ``[invoke] emulator``, then PATH, then where `go install` puts it."""
    for value, where in ((environ.get("GBL_RIE", ""), "GBL_RIE"),
                         (config.emulator or "", f"{config_path or 'gbl.toml'}: [invoke] emulator")):
        if value:
            path = Path(value).expanduser()
            if not is_executable(path):
                raise ToolMissing(f"the Lambda Runtime Interface Emulator is not at {value} (set by {where})",
                                  where=where, hint=f"install it with `{RIE_INSTALL}` and point {where} at it")
            return path
    found = _which(RIE_BINARY, environ)
    if found:
        return found
    for d in _go_bin_dirs(environ):
        if is_executable(d / RIE_BINARY):
            return d / RIE_BINARY
    raise ToolMissing(
        f"{RIE_BINARY} (the AWS Lambda Runtime Interface Emulator) is not installed: gbl invoke runs functions in it",
        hint=f"{RIE_INSTALL}   (or set GBL_RIE, or `emulator` under [invoke] in gbl.toml, to its path)",
    )


def find_wrapper(arch: str, config: InvokeConfig, environ: Mapping[str, str],
                 config_path: Path | None = None) -> tuple[str, ...]:
    """() for the host's arch; else the qemu user-mode emulator for ``arch``."""
    if arch == host_arch():
        return ()
    if arch not in QEMU:
        raise UsageError(f"cannot run a {arch} function on this {platform.machine()} host")
    binary, key = QEMU[arch]
    configured = getattr(config, key)
    if configured:
        path = Path(configured).expanduser()
        if not is_executable(path):
            raise ToolMissing(f"{binary} is not at {configured}", where=f"{config_path or 'gbl.toml'}: [invoke] {key}",
                              hint=f"install the Debian package {QEMU_PACKAGE} (`apt-get install {QEMU_PACKAGE}`) or fix the path")
        return (os.path.abspath(path),)
    found = _which(binary, environ)
    if found is None:
        raise ToolMissing(
            f"{binary} is not on PATH: it runs {arch} functions on this {host_arch()} host",
            hint=f"install the Debian package {QEMU_PACKAGE} (`apt-get install {QEMU_PACKAGE}`), "
                 f"or set `{key}` under [invoke] in gbl.toml; or invoke with --arch {host_arch()}",
        )
    return (os.path.abspath(found),)


def _require_linux() -> None:
    if not sys.platform.startswith("linux"):
        raise ToolMissing(
            f"gbl invoke runs the function's Linux bootstrap directly, which {sys.platform} cannot",
            hint="run gbl invoke on Linux (a VM, WSL2, or a Linux container with Go and the emulator)",
        )


# ----------------------------------------------------------------------------- environment
def function_env(fn: Function, *, timeout_s: int, region: str,
                 extra: Mapping[str, str] = ()) -> dict[str, str]:
    """The function's whole environment, as Lambda sets it (plus the emulator's timeout key);
    the Emulator adds ``LAMBDA_TASK_ROOT``.

    Nothing from the caller's environment leaks in (no AWS credentials) unless ``extra`` has it.
    """
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": "bootstrap",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "gbl-invoke",
    }
    env.update(extra)
    return env


def parse_env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``K=V`` strings (``--env``) into a dict; a pair without ``=`` or with an empty key is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env expects KEY=VALUE, got {pair!r}", hint="e.g. --env TABLE_NAME=orders")
        out[key] = value
    return out


def default_region(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


# ---------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Example:
    kind: str
    description: str


def _events_dir():
    from .scaffold import templates_dir

    return templates_dir() / EVENTS_DIR


def examples() -> list[Example]:
    """The built-in example events (templates/events/<kind>.json.j2), sorted by kind."""
    out = []
    for entry in _events_dir().iterdir():
        if entry.name.endswith(".json.j2"):
            first = entry.read_text(encoding="utf-8").split("\n", 1)[0].strip()
            desc = first[2:-2].strip() if first.startswith("{#") and first.endswith("#}") else ""
            out.append(Example(entry.name[: -len(".json.j2")], desc))
    return sorted(out, key=lambda e: e.kind)


def render_example(kind: str, *, function: str = "function", region: str = DEFAULT_REGION,
                   now: _dt.datetime | None = None) -> bytes:
    """One example event as JSON bytes, for ``function`` in ``region``."""
    import jinja2

    known = [e.kind for e in examples()]
    if kind not in known:
        raise UsageError(f"unknown example event {kind!r}", where="--example",
                         hint=f"choose one of {', '.join(known)} (`gbl invoke --list-examples`)")
    now = now or _dt.datetime.now(_dt.timezone.utc)
    text = (_events_dir() / f"{kind}.json.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    rendered = env.from_string(text).render(
        function=function, region=region, account=EXAMPLE_ACCOUNT, now=now,
        epoch_ms=int(now.timestamp() * 1000), request_id=str(uuid.uuid4()),
    )
    json.loads(rendered)  # a template that renders invalid JSON is a bug in gbl, not user input
    return rendered.strip().encode("utf-8") + b"\n"


def check_event(payload: bytes, where: str) -> bytes:
    """Lambda accepts only JSON payloads; say where a bad one came from."""
    try:
        json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the event is not valid JSON: {exc}", where=where,
                         hint="Lambda accepts JSON events only; check the file or quote --data '{\"key\": \"value\"}'") from None
    return payload


# ---------------------------------------------------------------------------------- invoke
def invoke(
    project_dir: Path | str = ".",
    name: str = "",
    *,
    event: bytes = b"{}",
    arch: str | None = None,
    env: Mapping[str, str] = (),
    timeout: int | None = None,
    environ: Mapping[str, str] | None = None,
    on_log: Callable[[str], None] | None = None,
    on_event=None,
    check: bool = True,
) -> InvokeResult:
    """Build ``name`` if needed, run it once with ``event``; raises FunctionError / InvokeTimeout."""
    results = _run(project_dir, [name], event=event, arch=arch, env=env, timeout=timeout,
                   environ=environ, on_log=on_log, on_event=on_event)
    result = results[0]
    if check:
        raise_for(result)
    return result


def invoke_all(project_dir: Path | str = ".", *, event: bytes = b"{}", arch: str | None = None,
               env: Mapping[str, str] = (), timeout: int | None = None,
               environ: Mapping[str, str] | None = None, on_log=None, on_event=None) -> list[InvokeResult]:
    """Every function of the plan once with ``event`` (a smoke test); never raises for a result."""
    return _run(project_dir, [], event=event, arch=arch, env=env, timeout=timeout,
                environ=environ, on_log=on_log, on_event=on_event)


def raise_for(result: InvokeResult) -> None:
    if result.status == "timeout":
        exc = InvokeTimeout(f"function {result.function} ran past its {result.timeout_s} s timeout ({result.error_message})",
                            hint=f"raise it with --timeout S, or `timeout` for the function in gbl.toml (at most {TIMEOUT_S[1]})")
    elif result.status == "crash":
        exc = FunctionError(f"function {result.function} crashed: {result.error_type}: {result.error_message}",
                            hint="its log above shows why the process exited")
    elif result.status == "error":
        exc = FunctionError(f"function {result.function} returned an error: {result.error_type}: {result.error_message}")
    else:
        return
    exc.result = result
    raise exc


def _run(project_dir, names: list[str], *, event: bytes, arch, env, timeout, environ, on_log, on_event) -> list[InvokeResult]:
    from . import pipeline

    environ = dict(os.environ if environ is None else environ)
    _require_linux()
    if timeout is not None and not TIMEOUT_S[0] <= timeout <= TIMEOUT_S[1]:
        raise UsageError(f"--timeout must be {TIMEOUT_S[0]} to {TIMEOUT_S[1]} seconds (Lambda's range), got {timeout}")
    plan = pipeline.make_plan(project_dir, arch=arch, env=environ)
    functions = [plan.function(n) for n in names] if names else list(plan.functions)
    if not functions:
        from .planner import no_functions_error

        raise no_functions_error(plan, doing="invoke")
    tools = find_tools(plan, functions, environ)
    report = pipeline.build(plan.project_dir, names=[fn.name for fn in functions], arch=arch,
                            env=environ, on_event=on_event)  # raises BuildFailed / VerifyFailed
    zips = {r.function.name: r.zip_path for r in report.results}
    region = default_region(environ)
    sweep_stale_dirs()
    results = []
    for fn in functions:
        t = timeout or fn.timeout
        with emulator_for(fn, zips[fn.name], tools, timeout=t, region=region, extra_env=env, on_log=on_log) as emu:
            inv: Invocation = emu.invoke(event, timeout_s=t)
        results.append(_result(fn, inv, t))
    return results


@dataclass(frozen=True)
class Tools:
    """What runs functions here: the emulator, and per arch the wrapper (qemu, or nothing)."""

    rie: Path
    wrappers: Mapping[str, tuple[str, ...]]


def find_tools(plan: Plan, functions: Sequence[Function], environ: Mapping[str, str]) -> Tools:
    """Look up the emulator and every qemu ``functions`` need, before anything is built."""
    _require_linux()
    inv = plan.config.invoke
    return Tools(find_emulator(inv, environ, plan.config.path),
                 {fn.arch: find_wrapper(fn.arch, inv, environ, plan.config.path) for fn in functions})


def emulator_for(fn: Function, zip_path: Path, tools: Tools, *, timeout: int, region: str = DEFAULT_REGION,
                 extra_env: Mapping[str, str] = (), on_log=None) -> Emulator:
    """An Emulator (not yet started: use ``with``) for ``fn``'s verified zip with Lambda's
    environment; what ``gbl invoke`` runs, and what ``gbl watch`` keeps warm."""
    fenv = function_env(fn, timeout_s=timeout, region=region, extra=dict(extra_env))
    return Emulator(rie=tools.rie, env=fenv, wrapper=tools.wrappers.get(fn.arch, ()), on_log=on_log,
                    zip_path=zip_path)


def _result(fn: Function, inv: Invocation, timeout: int) -> InvokeResult:
    return InvokeResult(fn.name, fn.arch, inv.status, inv.payload, inv.duration_s, inv.request_id,
                        inv.error_type, inv.error_message, timeout)


__all__ = ["invoke", "invoke_all", "InvokeResult", "examples", "render_example", "find_emulator",
           "find_wrapper", "function_env", "find_tools", "emulator_for", "Tools", "parse_env_pairs", "check_event", "raise_for", "Plan",
           "RIE_INSTALL"]
