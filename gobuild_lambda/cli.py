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

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ProjectOpt = typer.Option(Path("."), "-C", "--project",
                          help="The project directory: holds go.mod, go.work or template.yaml "
                          "(else the nearest module or workspace above, as go finds it).")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
ArchOpt = typer.Option(None, "--arch", help="Build every function for this arch: amd64 or arm64.")


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"gbl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print gbl's version and exit."),
) -> None:
    """Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips."""


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout():
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # piped: never squeeze tables into 80 columns
        console.width = 200
    return console


def _check_arch(arch: Optional[str]) -> Optional[str]:
    if arch is not None and arch not in ("amd64", "arm64"):
        raise errors.UsageError(f"--arch must be amd64 or arm64, got {arch!r}")
    return arch


# ---------------------------------------------------------------------------------------- plan
@app.command("plan")
def plan_cmd(
    project: Path = ProjectOpt,
    arch: Optional[str] = ArchOpt,
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
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    title = plan.module_path if len(plan.modules) <= 1 else f"{len(plan.modules)} modules"
    table = Table(title=_escape(f"{title}: {len(plan.functions)} function(s)"), title_justify="left")
    for col in ("function", "package dir", "arch", "runtime", "builder", "tags", "ldflags"):
        table.add_column(col)
    for f in plan.functions:
        builder = f.builder if f.builder == "local" else f"docker ({f.image or default_image(plan) or '?'})"
        table.add_row(f.name, f.rel_dir, f.arch, f.runtime, builder, ",".join(f.tags), f.ldflags)
    _stdout().print(table)
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
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: DIR/dist)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Parallel go build / packaging jobs (default: CPU count)."),
    docker: bool = typer.Option(False, "--docker", help="Build inside a golang Docker image."),
    image: Optional[str] = typer.Option(None, "--image", help="The Docker image for --docker."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: build only shard K of N (stable per function name)."),
    as_json: bool = JsonOpt,
) -> None:
    """Plan, build, package and verify: DIR/dist/<name>.zip and DIR/dist/manifest.json."""
    from .pipeline import build

    shard_kn = _parse_shard(shard) if shard else None

    err = _stderr()
    status = err.status("planning…") if err.is_terminal and not as_json else None

    def on_event(ev) -> None:
        text = {
            "plan": f"planned {ev.detail}",
            "lock-wait": f"[yellow]{ev.detail}[/]",
            "build": ev.detail,
            "built": f"built {ev.function} ({ev.detail})",
            "failed": f"[red]failed[/] {ev.function}",
            "packaged": f"packaged {ev.function} ({ev.detail})",
        }.get(ev.kind, f"{ev.kind} {ev.detail}")
        if status is not None:
            status.update(text)
        elif ev.kind in ("lock-wait", "pull", "download", "cleanup", "container") and not as_json:
            err.print(text)  # a CI log still shows waits, pulls and module downloads
        elif ev.kind == "waiting":
            err.print(ev.detail, markup=False)  # a hanging `go` is never silent, even with --json

    if docker:
        _prefetch("docker")  # the SDK's import (requests, urllib3) overlaps `go list`
    if status is not None:
        status.start()
    try:
        report = build(
            project, names=names or (), arch=_check_arch(arch), out_dir=out, jobs=jobs,
            builder="docker" if docker else None, image=image, shard=shard_kn, on_event=on_event,
        )
    except (errors.BuildFailed, errors.VerifyFailed) as exc:
        if status is not None:
            status.stop()
        if exc.report is not None:
            _print_report(exc.report, as_json)
        raise
    finally:
        if status is not None:
            status.stop()
    _print_report(report, as_json)


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise errors.UsageError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    return k, n


def _print_report(report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_report_json(report), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{report.out_dir}", title_justify="left")
    for col in ("function", "arch", "size", "sha256", "status"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for r in report.results:
        if r.ok:
            state = "relinked" if r.relinked else ("re-zipped" if r.rezipped else "up to date")
            table.add_row(r.function.name, r.function.arch, _size(r.size), r.sha256[:12], state)
        else:
            table.add_row(r.function.name, r.function.arch, "-", "-", "[red]FAILED[/]")
    _stdout().print(table)
    err = _stderr()
    for r in report.failed:
        err.print(f"[red]error:[/] function {r.function.name} ({_escape(r.function.rel_dir)}):")
        if r.verdict is not None:
            _print_verdict(err, r.verdict, only_problems=True)
        else:
            err.print(r.error, markup=False)


def _report_json(report) -> dict:
    return {
        "ok": report.ok,
        "out_dir": str(report.out_dir),
        "manifest": str(report.manifest_path),
        "functions": [
            {
                "name": r.function.name,
                "arch": r.function.arch,
                "ok": r.ok,
                "zip": str(r.zip_path) if r.zip_path else None,
                "size": r.size,
                "sha256": r.sha256,
                "code_sha256": r.code_sha256,
                "relinked": r.relinked,
                "rezipped": r.rezipped,
                "error": r.error or None,
            }
            for r in report.results
        ],
    }


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return str(n)  # pragma: no cover


# -------------------------------------------------------------------------------------- verify
@app.command("verify")
def verify_cmd(
    paths: Optional[List[Path]] = typer.Argument(None, help="Zips or directories (default: dist/manifest.json)."),
    arch: Optional[str] = ArchOpt,
    runtime: Optional[str] = typer.Option(None, "--runtime", help="provided.al2023 (default) or provided.al2."),
    as_json: bool = JsonOpt,
) -> None:
    """Check zips (any tool's) for everything Lambda would fail on at invoke time."""
    from . import verify

    if runtime is not None and runtime not in ("provided.al2023", "provided.al2"):
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    targets = verify.collect_targets(paths or (), cwd=Path.cwd())
    verdicts = [
        verify.verify_zip(
            t.path, arch=_check_arch(arch) or t.arch, runtime=runtime or t.runtime or "provided.al2023"
        )
        for t in targets
    ]
    if as_json:
        typer.echo(json.dumps([_verdict_json(v) for v in verdicts], indent=2))
    else:
        out = _stdout()
        for v in verdicts:
            _print_verdict(out, v)
    failed = [v for v in verdicts if not v.ok]
    if failed:
        raise errors.VerifyFailed(
            f"{len(failed)} of {len(verdicts)} zip(s) would not run on Lambda: "
            + ", ".join(str(v.path) for v in failed),
            verdicts=failed,
        )


_MARK = {"pass": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def _print_verdict(console, verdict, only_problems: bool = False) -> None:
    from rich.markup import escape

    if not only_problems:
        state = "[green]ok[/]" if verdict.ok else "[red]FAILED[/]"
        console.print(f"{escape(str(verdict.path))}: {state}")
    for c in verdict.checks:
        if only_problems and c.status == "pass":
            continue
        line = f"  {_MARK.get(c.status, c.status)} {c.id}: {escape(c.message)}"
        if c.status != "pass":
            if c.lambda_error:
                line += f"\n         Lambda: {escape(c.lambda_error)}"
            if c.fix:
                line += f"\n         fix: {escape(c.fix)}"
        console.print(line)


def _verdict_json(v) -> dict:
    return {
        "path": str(v.path),
        "ok": v.ok,
        "arch": v.arch,
        "go_version": v.go_version,
        "aws_lambda_go": v.aws_lambda_go,
        "checks": [
            {"id": c.id, "status": c.status, "message": c.message, "lambda_error": c.lambda_error, "fix": c.fix}
            for c in v.checks
        ],
    }


# ----------------------------------------------------------------------------------------- zip
@app.command("zip")
def zip_cmd(
    binary: Path = typer.Argument(..., help="A Linux binary built for Lambda (any file mode)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="The zip to write (default: BINARY.zip)."),
    include: Optional[List[Path]] = typer.Option(None, "--include", help="An extra file for the zip (mode 0644)."),
    include_executable: Optional[List[Path]] = typer.Option(None, "--include-executable", help="An extra executable file (mode 0755)."),
    arch: Optional[str] = ArchOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Package an existing binary as bootstrap with gbl's deterministic packager, then verify it."""
    from .pipeline import zip_and_verify

    # the zip is put in place only when it passes verify; a failing one is removed
    packaged, verdict = zip_and_verify(binary, output, arch=_check_arch(arch), include=include or (),
                                       include_executable=include_executable or ())
    if as_json:
        typer.echo(json.dumps({
            "zip": str(packaged.path), "size": packaged.size, "sha256": packaged.sha256,
            "code_sha256": packaged.code_sha256, "written": verdict.ok, "verify": _verdict_json(verdict),
        }, indent=2))
    else:
        out = _stdout()
        if verdict.ok:
            out.print(f"wrote {packaged.path} ({_size(packaged.size)}, sha256 {packaged.sha256[:12]}, CodeSha256 {packaged.code_sha256})")
        else:
            out.print(f"did not write {packaged.path}: the zip failed verify (nothing was left on disk)")
        if not verdict.ok or any(c.status == "warn" for c in verdict.checks):
            _print_verdict(out, verdict, only_problems=True)
    if not verdict.ok:
        raise errors.VerifyFailed(f"{packaged.path} would not run on Lambda; it was not written", verdicts=[verdict],
                                  hint="pass a Linux binary built for Lambda (GOOS=linux, CGO_ENABLED=0)")


# ------------------------------------------------------------------------------------- migrate
@app.command("migrate")
def migrate_cmd(
    templates: Optional[List[Path]] = typer.Argument(
        None, help="SAM / CloudFormation templates (YAML or JSON), serverless.yml, *.tf files or CDK sources (default: every such file in DIR that still uses go1.x, and CDK sources with a GoFunction)."),
    project: Path = ProjectOpt,
    write: bool = typer.Option(False, "--write", help="Rewrite the templates in place (atomically) instead of printing a diff."),
    check: bool = typer.Option(False, "--check", help="Exit 9 when a file still uses go1.x or declares another arch than its zip's (for CI)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="provided.al2023 or provided.al2 (default: each function's runtime in gbl.toml)."),
    arch: Optional[str] = ArchOpt,
) -> None:
    """Move go1.x functions (SAM / CloudFormation, Serverless, Terraform) to gbl's zips on provided.al2023; report CDK uses."""
    from rich.markup import escape

    from .migrate import find_migratable, migrate_files
    from .pipeline import make_plan

    if runtime is not None and runtime not in ("provided.al2023", "provided.al2"):
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    plan = make_plan(project, arch=_check_arch(arch))
    err = _stderr()
    paths = list(templates or ())
    if not paths:
        paths = [_cwd_relative(p) for p in find_migratable(plan.project_dir)]
        if not paths:
            err.print(f"no template, serverless.yml, Terraform or CDK file in {escape(str(plan.project_dir))} uses go1.x")
    report = migrate_files(paths, plan, runtime=runtime, arch=arch, write=write)
    for r in report.results:
        if not write:
            typer.echo(r.diff(), nl=False)
        if r.changed:
            verb = "migrated" if write else "would migrate"
            err.print(f"{verb} {escape(r.label)}: {len(r.changes)} change(s)")
        else:
            err.print(f"{escape(r.label)}: nothing to change")
    for p in report.all_problems:
        err.print(f"[yellow]warning:[/] {escape(str(p))}")
    if check:
        report.check(written=write)


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
) -> None:
    """Write gbl.toml (every setting shown), a Makefile that calls gbl, and a GitHub Actions workflow."""
    from .pipeline import init

    for written in init(project, force=force):
        typer.echo(str(written))


# -------------------------------------------------------------------------------------- invoke
@app.command("invoke")
def invoke_cmd(
    name: Optional[str] = typer.Argument(None, help="The function to run (see `gbl plan`)."),
    project: Path = ProjectOpt,
    event: Optional[str] = typer.Option(None, "--event", "-e", help="A JSON event file, or - for stdin."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="The JSON event itself."),
    example: Optional[str] = typer.Option(None, "--example", help="A built-in example event (see --list-examples)."),
    list_examples: bool = typer.Option(False, "--list-examples", help="List the built-in example events and exit."),
    all_: bool = typer.Option(False, "--all", help="Invoke every function once (a smoke test) and print a table."),
    arch: Optional[str] = ArchOpt,
    env: Optional[List[str]] = typer.Option(None, "--env", help="KEY=VALUE for the function's environment (repeatable)."),
    timeout: Optional[int] = typer.Option(None, "--timeout", help="Seconds before the run is stopped (default: the function's gbl.toml timeout, 3)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run a function once in the Lambda Runtime Interface Emulator: response on stdout, logs on stderr."""
    from . import invoker

    if list_examples:
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
        _print_invoke_table(results, as_json)
        failed = [r for r in results if not r.ok]
        if failed:
            cls = errors.FunctionError if any(r.status != "timeout" for r in failed) else errors.InvokeTimeout
            raise cls(f"{len(failed)} of {len(results)} function(s) failed: "
                      + ", ".join(f"{r.function} ({r.status})" for r in failed))
        return
    result = invoker.invoke(project, name, check=False, **kw)
    if as_json:
        typer.echo(json.dumps({"version": invoker.JSON_VERSION, **result.to_json()}, indent=2))
    else:
        out = sys.stdout.buffer
        out.write(result.response if result.response.endswith(b"\n") else result.response + b"\n")
        out.flush()
    invoker.raise_for(result)


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
        typer.echo(json.dumps({"version": 1, "ok": all(r.ok for r in results),
                               "functions": [r.to_json() for r in results]}, indent=2))
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


# ------------------------------------------------------------------------------------ manifest
manifest_app = typer.Typer(help="Work with dist/manifest.json files.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")


@manifest_app.command("merge")
def manifest_merge_cmd(
    dirs: List[Path] = typer.Argument(..., help="Output directories of shard builds."),
    out: Path = typer.Option(..., "--out", "-o", help="Where the merged manifest.json and zips go."),
) -> None:
    """Combine shard builds' manifests (and zips) into one; conflicts are errors."""
    from .pipeline import merge_manifests

    path = merge_manifests(dirs, out)
    _stdout().print(f"wrote {path}")


# ------------------------------------------------------------------------------ diff / deploy
OutOpt = typer.Option(None, "--out", "-o", help="The build's output directory (default: DIR/dist).")


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
    _print_diff(report, as_json)
    errs = report.errors
    if errs:
        cls = errors.AwsAccessError if any(e.kind == "access" for e in errs) else errors.DeployFailed
        raise cls(f"{len(errs)} function(s) cannot be compared: " + ", ".join(e.target.function for e in errs),
                  hint=errs[0].hint)
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


def _print_diff(report, as_json: bool) -> None:
    from .deployment import OUTPUT_VERSION

    if as_json:
        typer.echo(json.dumps({
            "version": OUTPUT_VERSION, "out_dir": str(report.out_dir), "differs": report.differs,
            "functions": [_diff_json(d) for d in report.functions],
        }, indent=2))
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
    from .deployment import deploy

    try:
        report = deploy(project, names=names or (), out_dir=out, build=not no_build, dry_run=dry_run,
                        publish=publish, alias=alias)
    except (errors.BuildFailed, errors.VerifyFailed) as exc:
        if exc.report is not None:
            _print_report(exc.report, as_json)
        raise
    except (errors.AwsAccessError, errors.DeployFailed, errors.FunctionMissing) as exc:
        if getattr(exc, "report", None) is not None:
            _print_deploy(exc.report, as_json)
        raise
    _print_deploy(report, as_json)


def _print_deploy(report, as_json: bool) -> None:
    from .deployment import OUTPUT_VERSION

    if as_json:
        typer.echo(json.dumps({
            "version": OUTPUT_VERSION, "out_dir": str(report.out_dir), "dry_run": report.dry_run,
            "functions": [
                {**_diff_json(f.diff), "action": f.action, "upload": f.upload or None,
                 "published_version": f.version, "alias": f.alias,
                 "error": f.error or None, "hint": f.hint or None}
                for f in report.functions
            ],
        }, indent=2))
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

    Typer runs in standalone mode, so its own parser errors (unknown option, missing argument)
    print the usage and exit 2 (= EXIT_USAGE) without gbl touching click, which typer >= 0.26
    vendors.  gbl's errors propagate out of the app and are mapped here.
    """
    try:
        _install_signal_handlers()
        app(args=argv, prog_name="gbl", standalone_mode=True)
    except SystemExit as exc:
        if exc.code == errors.EXIT_INTERRUPTED:  # typer's standalone mode: Ctrl-C exits 130
            _interrupted()
        raise
    except KeyboardInterrupt:
        _interrupted()
    except errors.GblError as exc:
        _print_error(exc)
        sys.exit(exc.exit_code)
    sys.exit(errors.EXIT_OK)


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


def _print_error(exc: errors.GblError) -> None:
    from rich.markup import escape

    err = _stderr()
    where = f"{escape(exc.where)}: " if exc.where else ""
    err.print(f"[red]error:[/] {where}{escape(exc.message)}")
    if exc.hint:
        err.print(f"[cyan]hint:[/] {escape(exc.hint)}")


if __name__ == "__main__":  # pragma: no cover
    main()
