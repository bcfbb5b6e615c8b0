"""The ``gbl`` command: parse, call the library, render.  The only module that prints or exits.

Results go to stdout (a table, or JSON with ``--json``); progress, warnings and errors go to
stderr.  ``main()`` is the one place where ``GblError`` subclasses become messages and exit codes
(docs/exit-codes.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import errors
from .lambda_facts import ARCH_ALIASES, ARCH_SPELLINGS, DEFAULT_RUNTIME, RUNTIMES

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _chdir(value: Optional[Path]) -> Path:
    """``-C DIR``: change to DIR first, as ``go -C`` does, so every relative path on the command
    line (``--out``, ``--event``, templates, zips, BINARY, ``--include``) is relative to DIR.
    ``main()`` changes back when the command ends."""
    if value is None or str(value) in ("", "."):
        return Path.cwd()
    try:
        os.chdir(value)
    except OSError as exc:
        raise errors.UsageError(
            f"-C {value}: cannot change to that directory: {exc.strerror or exc}", where=str(value),
            hint="pass an existing directory (the project: it holds go.mod, go.work, gbl.toml or template.yaml)",
        ) from None
    return Path.cwd()


ProjectOpt = typer.Option(Path("."), "-C", "--project", callback=_chdir, is_eager=True, metavar="DIR",
                          help="Change to DIR first, as go -C does: the project directory (holding go.mod, "
                          "go.work or template.yaml, else the nearest module or workspace above), and what "
                          "relative paths on the command line are relative to.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
_ARCHES = "amd64 (= x86_64) or arm64"


def _arch_opt(what: str):
    """``--arch``: Go's spelling (amd64, arm64) or Lambda's (x86_64, arm64); ``what`` says what it
    does for that command."""
    return typer.Option(None, "--arch", metavar="ARCH", help=f"{what}: {_ARCHES}.")


ArchOpt = _arch_opt("Build every function for this arch, whatever gbl.toml says")


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"gbl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print gbl's version and exit."),
    project: Path = typer.Option(Path("."), "-C", "--project", callback=_chdir, metavar="DIR",
                                 help="Change to DIR before running the command, as go -C does "
                                 "(`gbl -C DIR build` is `gbl build -C DIR`)."),
) -> None:
    """Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips."""


def _stderr():
    from .cliout import stderr_console

    return stderr_console()


def _stdout(table: bool = False):
    from .cliout import stdout_console

    return stdout_console(table=table)


def _emit(command: str, body: dict) -> None:
    """Print a command's --json document (one object, with version and command)."""
    from .cliout import document, print_json

    print_json(document(command, body))


def _fail_with(exc: errors.GblError, body: dict) -> errors.GblError:
    """``exc``, carrying what the command knew: with --json, main() prints it with the error."""
    exc.json_body = body
    return exc


def _check_arch(arch: Optional[str]) -> Optional[str]:
    """``--arch`` as GOARCH: Go's spelling or Lambda's (lambda_facts.ARCH_ALIASES, as gbl.toml)."""
    if arch is None:
        return None
    if arch not in ARCH_ALIASES:
        raise errors.UsageError(f"--arch must be {ARCH_SPELLINGS}, got {arch!r}",
                                hint="Go says amd64 where Lambda says x86_64; arm64 is Graviton")
    return ARCH_ALIASES[arch]


# ---------------------------------------------------------------------------------------- plan
@app.command("plan")
def plan_cmd(
    project: Path = ProjectOpt,
    arch: Optional[str] = _arch_opt("Show every function as built for this arch, whatever gbl.toml says"),
    as_json: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list directories that are not functions, and why."),
) -> None:
    """Show the functions found and the settings each will be built with."""
    from .builders.docker import default_image
    from .pipeline import make_plan

    plan = make_plan(project, arch=_check_arch(arch))
    warnings = [*plan.warnings, *_template_warnings(plan.project_dir)]
    if as_json:
        doc = {
            "ok": True,
            "module": plan.module_path,
            "modules": [{"dir": d, "path": m} for d, m in plan.modules],
            "go": plan.go_directive,
            "functions": [
                {**_function_json(f), "image": f.image or (default_image(plan) or "" if f.builder == "docker" else "")}
                for f in plan.functions
            ],
            "skipped": [{"dir": s.rel_dir, "reason": s.reason} for s in plan.skipped],
            "warnings": warnings,
        }
        _emit("plan", doc)
        return
    from .cliout import add_columns
    from .cliout import table as new_table

    title = plan.module_path if len(plan.modules) <= 1 else f"{len(plan.modules)} modules"
    table = new_table(_escape(f"{title}: {len(plan.functions)} function(s)"))
    add_columns(table, ("function", "package dir", "arch", "runtime", "builder", "tags", "ldflags"),
                first_width=max((len(f.name) for f in plan.functions), default=0))
    for f in plan.functions:
        builder = f.builder if f.builder == "local" else f"docker ({f.image or default_image(plan) or '?'})"
        table.add_row(_escape(f.name), _escape(f.rel_dir), f.arch, f.runtime, _escape(builder),
                      _escape(",".join(f.tags)), _escape(f.ldflags))
    _stdout(table=True).print(table)
    err = _stderr()
    if verbose:
        for s in plan.skipped:
            err.print(f"skipped {s.rel_dir}: {s.reason}", markup=False)  # a path may hold "[/x]"
    for w in warnings:
        err.print("[yellow]warning:[/] " + _escape(w))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _template_warnings(project_dir: Path) -> list[str]:
    try:
        from .migrate import find_go1x_templates
    except ImportError:  # pragma: no cover - migrate is optional at import time
        return []
    return [
        f"{p} still uses the retired go1.x runtime; run `gbl migrate {p}`"
        for p in find_go1x_templates(project_dir)
    ]


def _function_json(f) -> dict:
    return {
        "name": f.name,
        "package": f.package,
        "dir": f.rel_dir,
        "arch": f.arch,
        "runtime": f.runtime,
        "builder": f.builder,
        "image": f.image,
        "tags": list(f.tags),
        "ldflags": f.ldflags,
        "env": dict(f.env),
        "include": [{"path": i.pattern, "executable": i.executable} for i in f.include],
        "module_dir": f.module_dir,
        "template": f.template or None,
    }


# --------------------------------------------------------------------------------------- build
@app.command("build")
def build_cmd(
    names: Optional[List[str]] = typer.Argument(None, help="Functions to build (default: all)."),
    project: Path = ProjectOpt,
    arch: Optional[str] = ArchOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR", help="Output directory for the zips and manifest.json, relative to -C DIR (default: DIR/dist)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, metavar="N", help="Parallel go build / packaging jobs, at least 1 (default: CPU count)."),
    docker: bool = typer.Option(False, "--docker", help="Build inside a golang Docker image (default image: golang:<go.mod's Go version>)."),
    image: Optional[str] = typer.Option(None, "--image", metavar="IMG", help="The golang Docker image to build in, e.g. golang:1.26; implies --docker."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: build only shard K of N (stable per function name)."),
    as_json: bool = JsonOpt,
) -> None:
    """Plan, build, package and verify: DIR/dist/<name>.zip and DIR/dist/manifest.json."""
    import time

    from .cliout import BuildProgress
    from .pipeline import build

    shard_kn = _parse_shard(shard) if shard else None
    arch = _check_arch(arch)  # refused before the progress display starts

    err = _stderr()
    # stderr: a progress display on a terminal, plain lines (at least every 10 s) in a CI log
    started = time.monotonic()
    if docker or image:
        _prefetch("docker")  # the SDK's import (requests, urllib3) overlaps `go list`
    try:
        with BuildProgress(err, live=err.is_terminal) as on_event:
            report = build(
                project, names=names or (), arch=arch, out_dir=out, jobs=jobs,
                builder="docker" if docker or image else None, image=image, shard=shard_kn, on_event=on_event,
            )
    except (errors.BuildFailed, errors.VerifyFailed) as exc:
        if exc.report is not None:
            _print_report(exc.report, as_json, time.monotonic() - started, exc)
        raise
    _print_report(report, as_json, time.monotonic() - started)


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise errors.UsageError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    return k, n


def _print_report(report, as_json: bool, wall_s: float | None = None, exc=None) -> None:
    """The build's result: a table and a summary line, or its --json document (on failure, the
    document rides on ``exc`` for main() to print with the error)."""
    from .cliout import print_report, report_json

    if as_json:
        body = report_json(report, wall_s)
        if exc is not None:
            _fail_with(exc, body)
        else:
            _emit("build", body)
        return
    print_report(report, wall_s)


def _report_json(report) -> dict:
    from .cliout import report_json

    return report_json(report)


def _size(n: int) -> str:
    from .cliout import size_text

    return size_text(n)


# -------------------------------------------------------------------------------------- verify
@app.command("verify")
def verify_cmd(
    paths: Optional[List[Path]] = typer.Argument(None, help="Zips, directories or manifest.json files, relative to -C DIR (default: dist/manifest.json)."),
    project: Path = ProjectOpt,
    arch: Optional[str] = _arch_opt("Check that every zip's bootstrap is for this arch (default: the manifest's arch, else any Lambda arch)"),
    runtime: Optional[str] = typer.Option(None, "--runtime", metavar="RUNTIME", help="Check the zips for this runtime: provided.al2023 (default) or provided.al2."),
    as_json: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every check of every zip, not only the failing ones."),
) -> None:
    """Check zips (any tool's) for everything Lambda would fail on at invoke time."""
    from . import verify

    if runtime is not None and runtime not in RUNTIMES:
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    targets = verify.collect_targets(paths or (), cwd=project)
    verdicts = [
        verify.verify_zip(
            t.path, arch=_check_arch(arch) or t.arch, runtime=runtime or t.runtime or DEFAULT_RUNTIME
        )
        for t in targets
    ]
    from .cliout import display_path, verify_json

    failed = [v for v in verdicts if not v.ok]
    if not as_json:
        out = _stdout()
        for v in verdicts:
            _print_verdict(out, v, compact=not verbose)
        out.print(f"{len(verdicts)} zip(s) checked: {len(verdicts) - len(failed)} ok, {len(failed)} failed"
                  + ("" if verbose or not verdicts else " (-v shows every check)"), markup=False)
    if failed:
        exc = errors.VerifyFailed(
            f"{len(failed)} of {len(verdicts)} zip(s) would not run on Lambda: "
            + ", ".join(display_path(v.path) for v in failed),
            verdicts=failed,
        )
        raise _fail_with(exc, verify_json(verdicts))
    if as_json:
        _emit("verify", verify_json(verdicts))


def _print_verdict(console, verdict, only_problems: bool = False, compact: bool = False) -> None:
    from .cliout import print_verdict

    print_verdict(console, verdict, only_problems=only_problems, compact=compact)


def _verdict_json(v) -> dict:
    from .cliout import verdict_json

    return verdict_json(v)


# ----------------------------------------------------------------------------------------- zip
@app.command("zip")
def zip_cmd(
    binary: Path = typer.Argument(..., help="A Linux binary built for Lambda (any file mode), relative to -C DIR."),
    project: Path = ProjectOpt,
    out: Optional[Path] = typer.Option(None, "-o", "--out", metavar="ZIP", help="The zip to write, relative to -C DIR (default: BINARY.zip)."),
    output: Optional[Path] = typer.Option(None, "--output", hidden=True, help="The old spelling of --out."),
    include: Optional[List[Path]] = typer.Option(None, "--include", metavar="FILE", help="An extra file for the zip (mode 0644), one per --include (repeatable)."),
    include_executable: Optional[List[Path]] = typer.Option(None, "--include-executable", metavar="FILE", help="An extra executable file (mode 0755) (repeatable)."),
    arch: Optional[str] = _arch_opt("Check that the binary is built for this arch (default: any Lambda arch)"),
    as_json: bool = JsonOpt,
) -> None:
    """Package an existing binary as bootstrap with gbl's deterministic packager, then verify it."""
    from .pipeline import zip_and_verify

    if out is not None and output is not None:
        raise errors.UsageError("--out and --output name the zip twice: give one",
                                hint="--output is the old spelling of -o/--out")
    # the zip is put in place only when it passes verify; a failing one is removed
    packaged, verdict = zip_and_verify(binary, out or output, arch=_check_arch(arch), include=include or (),
                                       include_executable=include_executable or (), cwd=project)
    body = {
        "ok": verdict.ok, "zip": str(packaged.path), "size": packaged.size, "sha256": packaged.sha256,
        "code_sha256": packaged.code_sha256, "written": verdict.ok, "verify": _verdict_json(verdict),
    }
    if as_json and verdict.ok:
        _emit("zip", body)
    elif not as_json:
        console = _stdout()
        if verdict.ok:
            console.print(f"wrote {packaged.path} ({_size(packaged.size)}, sha256 {packaged.sha256[:12]}, CodeSha256 {packaged.code_sha256})")
        else:
            console.print(f"did not write {packaged.path}: the zip failed verify (nothing was left on disk)")
        if not verdict.ok or any(c.status == "warn" for c in verdict.checks):
            _print_verdict(console, verdict, only_problems=True)
    if not verdict.ok:
        raise _fail_with(errors.VerifyFailed(
            f"{packaged.path} would not run on Lambda; it was not written", verdicts=[verdict],
            hint="pass a Linux binary built for Lambda (GOOS=linux, CGO_ENABLED=0)"), body)


# ------------------------------------------------------------------------------------- migrate
@app.command("migrate")
def migrate_cmd(
    templates: Optional[List[Path]] = typer.Argument(
        None, help="SAM / CloudFormation templates (YAML or JSON), serverless.yml, *.tf files or CDK sources (default: every such file in DIR that still uses go1.x, and CDK sources with a GoFunction)."),
    project: Path = ProjectOpt,
    write: bool = typer.Option(False, "--write", help="Rewrite the templates in place (atomically) instead of printing a diff."),
    check: bool = typer.Option(False, "--check", help="Exit 9 when a file still uses go1.x or declares another arch than its zip's (for CI)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", metavar="RUNTIME", help="The runtime written into the files: provided.al2023 or provided.al2 (default: each function's runtime in gbl.toml)."),
    arch: Optional[str] = _arch_opt("The architecture written into the files for every function (default: each function's arch in gbl.toml)"),
    as_json: bool = JsonOpt,
) -> None:
    """Move go1.x functions (SAM / CloudFormation, Serverless, Terraform) to gbl's zips on provided.al2023; report CDK uses."""
    from rich.markup import escape

    from .migrate import migrate_files
    from .pipeline import make_plan

    if runtime is not None and runtime not in RUNTIMES:
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    arch = _check_arch(arch)
    plan = make_plan(project, arch=arch)
    err = _stderr()
    paths = list(templates or ())
    if not paths:
        paths = [_cwd_relative(p) for p in _files_to_migrate(plan, check=check)]
        if not paths:
            err.print(f"no template, serverless.yml, Terraform or CDK file in {escape(str(plan.project_dir))} uses go1.x")
    report = migrate_files(paths, plan, runtime=runtime, arch=arch, write=write)
    for r in report.results:
        if not write and not as_json:
            _echo_data(r.diff())
        left = ", ".join("Globals.Function" if x == "Globals" else x for x in r.go1x_after)
        if r.changed and write and left:  # never "migrated" while a Go function stays on go1.x
            err.print(f"wrote {escape(r.label)}: {len(r.changes)} change(s), but still on go1.x: {escape(left)}")
        elif r.changed:
            verb = "migrated" if write else "would migrate"
            err.print(f"{verb} {escape(r.label)}: {len(r.changes)} change(s)"
                      + (f"; would stay on go1.x: {escape(left)}" if left else ""))
        else:
            err.print(f"{escape(r.label)}: nothing to change")
        for c in r.changes:
            if c.removed:
                err.print(f"  {escape(str(c))}")
    for p in report.all_problems:
        err.print(f"[yellow]warning:[/] {escape(str(p))}")
    body = _migrate_json(report, write) if as_json else {}
    if check:
        try:
            report.check(written=write)
        except errors.GblError as exc:
            raise _fail_with(exc, body) from None
    elif write:
        try:
            report.check_go1x(written=True)  # a --write that leaves a function on go1.x fails (exit 9)
        except errors.GblError as exc:
            raise _fail_with(exc, body) from None
    if as_json:
        _emit("migrate", body)


def _files_to_migrate(plan, *, check: bool) -> list[Path]:
    """``gbl migrate`` with no file: the files still on go1.x (and CDK sources with a GoFunction),
    the templates that declare the plan's functions (they move to their zips too), and for
    ``--check`` every file declaring an architecture for one of them (compared with its zip)."""
    from .migrate import declared_architectures, find_migratable

    found = set(find_migratable(plan.project_dir))
    root = Path(plan.project_dir)
    found.update(root / fn.template.rpartition(":")[0] for fn in plan.functions if fn.template)
    if check:
        found.update(d.path for d in declared_architectures(root, [fn.name for fn in plan.functions]))
    return sorted(found, key=lambda p: Path(os.path.relpath(p, root)).as_posix())


def _problem_json(p) -> dict:
    return {"path": str(p.path), "resource": p.resource, "line": p.line, "message": p.message, "hint": p.hint}


def _migrate_json(report, write: bool) -> dict:
    return {
        "ok": True, "written": write,
        "files": [
            {"path": str(r.path), "label": r.label or str(r.path), "changed": r.changed,
             "changes": [{"resource": c.resource, "key": c.key, "old": c.old, "new": c.new, "line": c.line}
                         for c in r.changes],
             "problems": [_problem_json(p) for p in r.problems],
             "diff": r.diff()}
            for r in report.results
        ],
        "problems": [_problem_json(p) for p in report.problems],
    }


def _echo_data(text: str) -> None:
    """Data for a file or a program (a diff that `patch` applies): piped or redirected, the UTF-8
    bytes of the files it shows whatever the console's encoding (cp1252 on Windows); on a
    terminal, text (a character the terminal cannot show is replaced)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None or sys.stdout.isatty():
        typer.echo(text, nl=False)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8", "surrogateescape"))
    buffer.flush()


def _cwd_relative(path: Path) -> Path:
    try:
        return Path(os.path.relpath(path))
    except ValueError:  # another drive (Windows)
        return path


def _prefetch(module: str) -> None:
    """Import ``module`` in a background thread: the main thread's import of it later waits for
    this one instead of starting over."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), daemon=True).start()


# -------------------------------------------------------------------------------------- docker
docker_app = typer.Typer(no_args_is_help=True, help="Manage gbl's warm build containers.")
app.add_typer(docker_app, name="docker")


@docker_app.command("stop")
def docker_stop_cmd(
    project: Path = ProjectOpt,
    all_projects: bool = typer.Option(False, "--all", help="Stop every project's warm build containers."),
) -> None:
    """Stop and remove the project's warm build containers (a build running in one is killed)."""
    from .builders.docker import stop_warm
    from .planner import find_root

    root = None if all_projects else find_root(Path(project).resolve(), gowork_off=False)
    removed = stop_warm(dict(os.environ), root)
    typer.echo(f"removed {removed} warm build container(s)" + ("" if root is None else f" of {root}"))


# ---------------------------------------------------------------------------------------- init
@app.command("init")
def init_cmd(
    project: Path = ProjectOpt,
    force: bool = typer.Option(False, "--force", help="Replace gbl.toml, Makefile and the workflow if they exist (an invalid gbl.toml is kept as gbl.toml.bak)."),
    as_json: bool = JsonOpt,
) -> None:
    """Write gbl.toml (every setting shown), a Makefile that calls gbl, and a GitHub Actions workflow."""
    from .pipeline import init

    written_files = list(init(project, force=force))
    if as_json:
        _emit("init", {"ok": True, "files": [
            {"path": str(w.path), "what": w.what, "replaced": w.replaced,
             "kept_as": str(w.kept_as) if w.kept_as is not None else None}
            for w in written_files]})
        return
    for written in written_files:
        typer.echo(str(written))


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
    arch: Optional[str] = _arch_opt("Build and run the function for this arch, whatever gbl.toml says"),
    env: Optional[List[str]] = typer.Option(None, "--env", help="KEY=VALUE for the function's environment (repeatable)."),
    timeout: Optional[int] = typer.Option(None, "--timeout", metavar="S", help="Seconds before the run is stopped, 1 to 900 (default: the function's gbl.toml timeout, 3)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run a function once in the Lambda Runtime Interface Emulator: response on stdout, logs on stderr."""
    from . import invoker

    if list_examples:
        if as_json:
            _emit("invoke", {"ok": True, "examples": [
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

    kw = dict(event=payload, arch=_check_arch(arch), env=invoker.parse_env_pairs(env or ()),
              timeout=timeout, environ=environ, on_log=on_log)
    if all_:
        results = invoker.invoke_all(project, **kw)
        failed = [r for r in results if not r.ok]
        body = {"ok": not failed, "functions": [r.to_json() for r in results]}
        if not (as_json and failed):
            _print_invoke_table(results, as_json)
        if failed:
            cls = errors.FunctionError if any(r.status != "timeout" for r in failed) else errors.InvokeTimeout
            raise _fail_with(cls(f"{len(failed)} of {len(results)} function(s) failed: "
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
        raise _fail_with(exc, body) from None
    if as_json:
        _emit("invoke", body)


def _invoke_event(event, data, example, function: str, region: str) -> bytes:
    from . import invoker

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
        _emit("invoke", {"ok": all(r.ok for r in results), "functions": [r.to_json() for r in results]})
        return
    from rich.table import Table

    table = Table(title_justify="left")
    for col in ("function", "arch", "status", "duration", "response"):
        table.add_column(col, justify="right" if col in ("duration", "response") else "left")
    for r in results:
        status = "ok" if r.ok else f"[red]{r.status}[/]"
        table.add_row(r.function, r.arch, status, f"{r.duration_s * 1000:.0f} ms", _size(len(r.response)))
    _stdout().print(table)
    err = _stderr()
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

    from . import invoker, watcher

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

    watcher.watch(project, names or (), port=port, arch=_check_arch(arch), env=invoker.parse_env_pairs(env or ()),
                  environ=dict(os.environ), concurrency=concurrency, on_event=on_event,
                  on_log=lambda fn, line: say(f"{fn} | {line}"))


# ------------------------------------------------------------------------------------ manifest
manifest_app = typer.Typer(help="Work with dist/manifest.json files.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")


@manifest_app.command("merge")
def manifest_merge_cmd(
    dirs: List[Path] = typer.Argument(..., help="Output directories of shard builds, relative to -C DIR."),
    project: Path = ProjectOpt,
    out: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="Where the merged manifest.json and zips go, relative to -C DIR."),
    as_json: bool = JsonOpt,
) -> None:
    """Combine shard builds' manifests (and zips) into one; conflicts are errors."""
    from .pipeline import merge_manifests

    path = merge_manifests(dirs, out)
    if as_json:
        functions = sorted(json.loads(Path(path).read_text(encoding="utf-8")).get("functions", {}))
        _emit("manifest merge", {"ok": True, "manifest": str(path), "out_dir": str(Path(path).parent),
                                 "functions": functions})
        return
    _stdout().print(f"wrote {path}", markup=False)


# ------------------------------------------------------------------------------ diff / deploy
OutOpt = typer.Option(None, "--out", "-o", metavar="DIR", help="The build's output directory, relative to -C DIR (default: DIR/dist).")


@app.command("diff")
def diff_cmd(
    names: Optional[List[str]] = typer.Argument(None, help="Functions to compare (default: all in the manifest)."),
    project: Path = ProjectOpt,
    out: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when any function differs (changed or missing), like git diff."),
) -> None:
    """Compare dist/manifest.json with the deployed functions' CodeSha256 and architecture."""
    from .deployment import diff

    report = diff(project, names=names or (), out_dir=out)
    errs = report.errors
    if not (as_json and errs):
        _print_diff(report, as_json)
    if errs:
        cls = errors.AwsAccessError if any(e.kind == "access" for e in errs) else errors.DeployFailed
        raise _fail_with(cls(f"{len(errs)} function(s) cannot be compared: "
                             + ", ".join(e.target.function for e in errs), hint=errs[0].hint),
                         _diff_doc(report))
    if exit_code and report.differs:
        sys.exit(errors.EXIT_DIFFERS)


def _diff_json(d) -> dict:
    t = d.target
    return {
        "function": t.function, "lambda_name": t.lambda_name, "status": d.status,
        "arch": t.architecture, "deployed_arch": d.deployed_arch, "arch_differs": d.arch_differs,
        "code_sha256": t.code_sha256, "deployed_code_sha256": d.deployed_code_sha256,
        "size": t.size, "error": d.error or None, "hint": d.hint or None, "warnings": list(d.warnings),
    }


def _diff_doc(report) -> dict:
    return {"ok": not report.errors, "out_dir": str(report.out_dir), "differs": report.differs,
            "functions": [_diff_json(d) for d in report.functions]}


def _print_diff(report, as_json: bool) -> None:
    if as_json:
        _emit("diff", _diff_doc(report))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{report.out_dir} vs Lambda", title_justify="left")
    for col in ("function", "lambda name", "status", "arch", "CodeSha256 (built)", "CodeSha256 (deployed)"):
        table.add_column(col)
    colour = {"changed": "yellow", "unchanged": "green", "missing": "red", "error": "red"}
    for d in report.functions:
        arch = d.target.architecture + (f" (deployed {d.deployed_arch})" if d.arch_differs else "")
        table.add_row(escape(d.target.function), escape(d.target.lambda_name),
                      f"[{colour[d.status]}]{d.status}[/]", arch, d.target.code_sha256,
                      escape(d.deployed_code_sha256 or "-"))
    _stdout().print(table)
    _print_function_notes(report.functions)


def _print_function_notes(items) -> None:
    from rich.markup import escape

    err = _stderr()
    for item in items:
        for w in getattr(item, "warnings", ()) or getattr(getattr(item, "diff", None), "warnings", ()):
            err.print(f"[yellow]warning:[/] function {escape(item.target.function)}: {escape(w)}")
        if item.error:
            err.print(f"[red]error:[/] {escape(item.error)}")
            if item.hint:
                err.print(f"  [cyan]hint:[/] {escape(item.hint)}")


@app.command("deploy")
def deploy_cmd(
    names: Optional[List[str]] = typer.Argument(None, help="Functions to deploy (default: all)."),
    project: Path = ProjectOpt,
    out: Optional[Path] = OutOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be updated; change nothing in AWS."),
    publish: bool = typer.Option(False, "--publish", help="Publish a version of each updated function."),
    alias: Optional[str] = typer.Option(None, "--alias", help="Point this alias at each published version (implies --publish; created if missing)."),
    no_build: bool = typer.Option(False, "--no-build", help="Deploy the manifest as it is (e.g. after gbl manifest merge); do not run gbl build first."),
    as_json: bool = JsonOpt,
) -> None:
    """Build if needed, then UpdateFunctionCode for exactly the functions whose code changed."""
    from contextlib import nullcontext

    from .cliout import BuildProgress
    from .deployment import deploy

    err = _stderr()
    try:
        # the build before the deploy shows its progress as `gbl build` does
        with (nullcontext() if no_build else BuildProgress(err, live=err.is_terminal)) as on_event:
            report = deploy(project, names=names or (), out_dir=out, build=not no_build, dry_run=dry_run,
                            publish=publish, alias=alias, on_event=on_event)
    except (errors.BuildFailed, errors.VerifyFailed) as exc:
        if exc.report is not None:
            if as_json:  # the build's report, under "build", with the error
                from .cliout import report_json

                raise _fail_with(exc, {"build": report_json(exc.report)})
            _print_report(exc.report, as_json)
        raise
    except (errors.AwsAccessError, errors.DeployFailed, errors.FunctionMissing) as exc:
        if getattr(exc, "report", None) is not None:
            if as_json:
                raise _fail_with(exc, _deploy_doc(exc.report))
            _print_deploy(exc.report, as_json)
        raise
    _print_deploy(report, as_json)


def _deploy_doc(report) -> dict:
    return {
        "ok": not any(f.action in ("missing", "failed") for f in report.functions),
        "out_dir": str(report.out_dir), "dry_run": report.dry_run,
        "functions": [
            {**_diff_json(f.diff), "action": f.action, "upload": f.upload or None,
             "published_version": f.version, "alias": f.alias,
             "error": f.error or None, "hint": f.hint or None}
            for f in report.functions
        ],
    }


def _print_deploy(report, as_json: bool) -> None:
    if as_json:
        _emit("deploy", _deploy_doc(report))
        return
    from rich.markup import escape
    from rich.table import Table

    title = f"{report.out_dir} -> Lambda" + (" (dry run: nothing changed)" if report.dry_run else "")
    table = Table(title=title, title_justify="left")
    for col in ("function", "lambda name", "arch", "action", "upload", "version"):
        table.add_column(col)
    colour = {"updated": "green", "would-update": "yellow", "unchanged": "dim", "missing": "red", "failed": "red"}
    for f in report.functions:
        version = (f.version or "") + (f" ({f.alias})" if f.alias and f.version else "")
        table.add_row(escape(f.target.function), escape(f.target.lambda_name), f.target.architecture,
                      f"[{colour.get(f.action, 'white')}]{f.action}[/]", escape(f.upload or "-"), version or "-")
    _stdout().print(table)
    _print_function_notes(report.functions)


# ---------------------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> None:
    """Entry point: run the app and map every expected error to its exit code.

    The app runs outside typer's standalone mode, so the argument parser's own errors (an unknown
    option, a missing argument, ``-j 0``) reach this function too: shown as typer shows them
    (usage and message on stderr), plus, with ``--json`` on a command that takes it, the failure
    document on stdout; exit 2.  gbl's errors propagate out of the app and are mapped here.
    """
    _tolerant_streams()
    cwd = os.getcwd()  # -C DIR changes directory (as go -C does); back when the command ends
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _install_signal_handlers()
        code = app(args=args, prog_name="gbl", standalone_mode=False)
    except SystemExit as exc:
        if exc.code == errors.EXIT_INTERRUPTED:
            _interrupted()
        raise
    except KeyboardInterrupt:
        _interrupted()
    except typer.Abort:  # typer's own "abort" (an EOF at a prompt): as its standalone mode does
        typer.echo("Aborted!", err=True)
        sys.exit(errors.EXIT_INTERNAL)
    except typer.TyperException as exc:  # the argument parser's (click's) errors: usage, exit 2
        exc.show()
        _print_json_failure(args, _usage_error(exc))
        sys.exit(errors.EXIT_USAGE)
    except errors.GblError as exc:
        _print_error(exc)
        _print_json_failure(args, exc)
        sys.exit(exc.exit_code)
    finally:
        os.chdir(cwd)
    if code == errors.EXIT_INTERRUPTED:  # outside standalone mode typer returns Ctrl-C's 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else errors.EXIT_OK)


def _print_json_failure(args: List[str], exc: errors.GblError) -> None:
    """With --json on a command that takes it: one object on stdout, carrying the error (scripts
    never parse text)."""
    from .cliout import error_document, json_command, print_json

    command = json_command(args)
    if command is not None:
        print_json(error_document(command, exc, getattr(exc, "json_body", None)))


def _usage_error(exc) -> errors.UsageError:
    """The argument parser's error as gbl's: its message, and the hint it printed."""
    ctx = getattr(exc, "ctx", None)
    hint = None
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        hint = f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help."
    return errors.UsageError(exc.format_message(), hint=hint)


def _tolerant_streams() -> None:
    """A character stdout / stderr cannot encode (a Windows console or redirect in cp1252, a
    C locale) is replaced (``?``), never a UnicodeEncodeError: output is for people there."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # pragma: no cover - a closed or exotic stream
                pass


def _interrupted() -> None:
    """Say so, stop what is still running, and exit 130.

    ``os._exit``, not ``sys.exit``: a KeyboardInterrupt that landed inside an ``exec`` of a string
    (dataclasses do that while a module imports) makes CPython end the process by SIGINT (exit
    -2) whatever ``sys.exit`` says.  Every ``finally`` has run by now; only the children remain.
    """
    from . import children

    try:
        print("interrupted", file=sys.stderr)
        children.stop_all()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(errors.EXIT_INTERRUPTED)


def _install_signal_handlers() -> None:
    """SIGINT and SIGTERM (sent by Ctrl-C, `timeout`, a CI runner) first stop every process gbl
    started (their whole process groups: `go build` and its compilers), then unwind like Ctrl-C
    so `finally` blocks clean up; the exit code is 130."""
    import signal

    from . import children

    def _stop(signum, frame):
        children.interrupt_all()
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)
    sys.unraisablehook = _quiet_interrupts(sys.unraisablehook)


def _quiet_interrupts(previous):
    """An unraisable-exception hook that drops a KeyboardInterrupt and passes the rest on.

    Python runs the handler above wherever the main thread is, including places whose exceptions
    it cannot raise (an at-fork hook while ``subprocess`` forks, a ``__del__``): it prints
    "Exception ignored in ..." with a traceback and carries on.  Nothing is lost by dropping that
    one: ``children.interrupt_all`` has already signalled every child and refuses every new one
    (the next ``spawn`` raises ``children.Stopped``), so the run still ends as interrupted.
    """
    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        previous(unraisable)

    return hook


def _print_error(exc: errors.GblError) -> None:
    from rich.markup import escape

    err = _stderr()
    where = f"{escape(exc.where)}: " if exc.where else ""
    err.print(f"[red]error:[/] {where}{escape(exc.message)}")
    if exc.hint:
        err.print(f"[cyan]hint:[/] {escape(exc.hint)}")


if __name__ == "__main__":  # pragma: no cover
    main()
