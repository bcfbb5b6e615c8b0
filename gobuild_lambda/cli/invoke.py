"""``gbl invoke`` and ``gbl watch``: the commands that run functions locally."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .. import errors
from .common import (
    ArchOpt, JsonOpt, ProjectOpt, app, arch_opt, check_arch, emit, err_console, fail_with, out_console,
    size_text,
)


# -------------------------------------------------------------------------------------- invoke
@app.command("invoke")
def invoke_cmd(
    name: Optional[str] = typer.Argument(None, help="The function to run (see `gbl plan`)."),
    project: Path = ProjectOpt,
    event: Optional[str] = typer.Option(None, "--event", "-e", metavar="FILE", help="A JSON event file (relative to -C DIR), or - for stdin."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="The JSON event itself."),
    example: Optional[str] = typer.Option(None, "--example", help="A built-in example event (see --list-examples)."),
    list_examples: bool = typer.Option(False, "--list-examples", help="List the built-in example events and exit."),
    all_: bool = typer.Option(False, "--all", help="Invoke every function once (a smoke test) and print a table."),
    arch: Optional[str] = arch_opt("Build and run the function for this arch, whatever gbl.toml says"),
    env: Optional[List[str]] = typer.Option(None, "--env", help="KEY=VALUE for the function's environment (repeatable)."),
    timeout: Optional[int] = typer.Option(None, "--timeout", metavar="S", help="Seconds before the run is stopped, 1 to 900 (default: the function's gbl.toml timeout, 3)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run a function once in the Lambda Runtime Interface Emulator: response on stdout, logs on stderr."""
    from .. import invoker

    if list_examples:
        if as_json:
            emit("invoke", {"ok": True, "examples": [
                {"kind": ex.kind, "description": ex.description} for ex in invoker.examples()]})
            return
        for ex in invoker.examples():
            typer.echo(f"{ex.kind:<22} {ex.description}")
        return
    if all_ == bool(name):
        raise errors.UsageError("give one function NAME, or --all", hint="`gbl plan` lists the functions")
    chosen = [o for o, v in (("--event", event), ("--data", data), ("--example", example)) if v is not None]
    if len(chosen) > 1:
        raise errors.UsageError(f"{' and '.join(chosen)} both give the event: choose one")
    environ = dict(os.environ)
    payload = _invoke_event(event, data, example, name or "function", invoker.default_region(environ))
    err = sys.stderr

    def on_log(line: str) -> None:
        err.write(line + "\n")
        err.flush()

    kw = dict(event=payload, arch=check_arch(arch), env=invoker.parse_env_pairs(env or ()),
              timeout=timeout, environ=environ, on_log=on_log)
    if all_:
        results = invoker.invoke_all(project, **kw)
        failed = [r for r in results if not r.ok]
        body = {"ok": not failed, "functions": [r.to_json() for r in results]}
        if not (as_json and failed):
            _print_invoke_table(results, as_json)
        if failed:
            cls = errors.FunctionError if any(r.status != "timeout" for r in failed) else errors.InvokeTimeout
            raise fail_with(cls(f"{len(failed)} of {len(results)} function(s) failed: "
                                 + ", ".join(f"{r.function} ({r.status})" for r in failed)), body)
        return
    result = invoker.invoke(project, name, check=False, **kw)
    # the function's own error document is `function_error`: `error` is gbl's, as in every command
    body = {"ok": result.status == "ok", **result.to_json()}
    body["function_error"] = body.pop("error")
    if not as_json:
        out = sys.stdout.buffer
        out.write(result.response if result.response.endswith(b"\n") else result.response + b"\n")
        out.flush()
    try:
        invoker.raise_for(result)
    except errors.GblError as exc:
        raise fail_with(exc, body) from None
    if as_json:
        emit("invoke", body)


def _invoke_event(event, data, example, function: str, region: str) -> bytes:
    from .. import invoker

    if example is not None:
        return invoker.render_example(example, function=function, region=region)
    if data is not None:
        return invoker.check_event(data.encode("utf-8"), "--data")
    if event == "-":
        return invoker.check_event(sys.stdin.buffer.read(), "--event - (stdin)")
    if event is not None:
        try:
            raw = Path(event).read_bytes()
        except OSError as exc:
            raise errors.UsageError(f"cannot read the event file: {exc.strerror or exc}", where=event,
                                    hint="pass a JSON file, --event - for stdin, or --data JSON") from None
        return invoker.check_event(raw, event)
    return b"{}"


def _print_invoke_table(results, as_json: bool) -> None:
    if as_json:
        emit("invoke", {"ok": all(r.ok for r in results), "functions": [r.to_json() for r in results]})
        return
    from rich.table import Table

    table = Table(title_justify="left")
    for col in ("function", "arch", "status", "duration", "response"):
        table.add_column(col, justify="right" if col in ("duration", "response") else "left")
    for r in results:
        status = "ok" if r.ok else f"[red]{r.status}[/]"
        table.add_row(r.function, r.arch, status, f"{r.duration_s * 1000:.0f} ms", size_text(len(r.response)))
    out_console().print(table)
    err = err_console()
    from rich.markup import escape

    for r in results:
        if not r.ok:
            err.print(f"[red]error:[/] function {r.function}: {escape(r.error_type)}: {escape(r.error_message)}")


# --------------------------------------------------------------------------------------- watch
@app.command("watch")
def watch_cmd(
    names: Optional[List[str]] = typer.Argument(None, help="Functions to serve (default: all)."),
    project: Path = ProjectOpt,
    port: int = typer.Option(9000, "--port", help="The 127.0.0.1 port to serve on (0: any free port)."),
    arch: Optional[str] = ArchOpt,
    env: Optional[List[str]] = typer.Option(None, "--env", help="KEY=VALUE for the functions' environment (repeatable)."),
    concurrency: int = typer.Option(4, "--concurrency", help="Instances per function at most; past it a call gets 429."),
) -> None:
    """Build, serve the Lambda Invoke API and function URLs on 127.0.0.1, rebuild on save."""
    import threading

    from .. import invoker, watcher

    lock = threading.Lock()
    err = sys.stderr

    def say(text: str) -> None:
        with lock:
            err.write(text + "\n")
            err.flush()

    def on_event(ev) -> None:
        if ev.kind == "request":
            r = ev.request
            say(f"{r.method} {r.path} -> {r.function} {r.status} ({r.duration_s * 1000:.0f} ms)"
                + (f" {r.note}" if r.note else ""))
        elif ev.kind == "serving":
            say(f"serving on {ev.detail}: POST {ev.detail}/2015-03-31/functions/NAME/invocations, "
                f"any method on {ev.detail}/lambda-url/NAME/PATH; watching for changes (Ctrl-C stops)")
        elif ev.kind == "building":
            say(f"building ({ev.detail})…")
        elif ev.kind == "built" and ev.function:
            say(f"{ev.function}: {ev.detail}")
        elif ev.kind == "failed":
            say(f"error: function {ev.function} failed to build; the previous version keeps serving:\n{ev.detail}")
        elif ev.kind == "error":
            say(f"error: {ev.detail}")
        elif ev.kind == "done":
            say(f"build done in {ev.detail}")
        elif ev.kind == "progress":
            say(ev.detail)

    watcher.watch(project, names or (), port=port, arch=check_arch(arch), env=invoker.parse_env_pairs(env or ()),
                  environ=dict(os.environ), concurrency=concurrency, on_event=on_event,
                  on_log=lambda fn, line: say(f"{fn} | {line}"))
