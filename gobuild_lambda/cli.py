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

ProjectOpt = typer.Option(Path("."), "-C", "--project", help="The Go module root (holds go.mod).")
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
    warnings = _template_warnings(plan.project_dir)
    if as_json:
        doc = {
            "module": plan.module_path,
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

    table = Table(title=f"{plan.module_path}: {len(plan.functions)} function(s)", title_justify="left")
    for col in ("function", "package dir", "arch", "runtime", "builder", "tags", "ldflags"):
        table.add_column(col)
    for f in plan.functions:
        builder = f.builder if f.builder == "local" else f"docker ({f.image or default_image(plan) or '?'})"
        table.add_row(f.name, f.rel_dir, f.arch, f.runtime, builder, ",".join(f.tags), f.ldflags)
    _stdout().print(table)
    err = _stderr()
    if verbose:
        for s in plan.skipped:
            err.print(f"skipped {s.rel_dir}: {s.reason}")
    for w in warnings:
        err.print(f"[yellow]warning:[/] {w}")


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
        elif ev.kind in ("lock-wait", "pull", "download", "cleanup") and not as_json:
            err.print(text)  # a CI log still shows waits, pulls and module downloads
        elif ev.kind == "waiting":
            err.print(ev.detail, markup=False)  # a hanging `go` is never silent, even with --json

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
        err.print(f"[red]error:[/] function {r.function.name} ({r.function.rel_dir}):")
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
    from . import verify
    from .pipeline import zip_binary

    packaged = zip_binary(binary, output, include=include or (), include_executable=include_executable or ())
    verdict = verify.verify_zip(packaged.path, arch=_check_arch(arch))
    if as_json:
        typer.echo(json.dumps({
            "zip": str(packaged.path), "size": packaged.size, "sha256": packaged.sha256,
            "code_sha256": packaged.code_sha256, "verify": _verdict_json(verdict),
        }, indent=2))
    else:
        out = _stdout()
        out.print(f"wrote {packaged.path} ({_size(packaged.size)}, sha256 {packaged.sha256[:12]}, CodeSha256 {packaged.code_sha256})")
        if not verdict.ok or any(c.status == "warn" for c in verdict.checks):
            _print_verdict(out, verdict, only_problems=True)
    if not verdict.ok:
        raise errors.VerifyFailed(f"{packaged.path} would not run on Lambda", verdicts=[verdict])


# ------------------------------------------------------------------------------------- migrate
@app.command("migrate")
def migrate_cmd(
    templates: Optional[List[Path]] = typer.Argument(
        None, help="SAM / CloudFormation templates, YAML or JSON (default: every template in DIR that still uses go1.x)."),
    project: Path = ProjectOpt,
    write: bool = typer.Option(False, "--write", help="Rewrite the templates in place (atomically) instead of printing a diff."),
    check: bool = typer.Option(False, "--check", help="Exit 9 when a template still uses go1.x (for CI)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="provided.al2023 or provided.al2 (default: each function's runtime in gbl.toml)."),
    arch: Optional[str] = ArchOpt,
) -> None:
    """Move go1.x functions in SAM / CloudFormation templates to gbl's zips on provided.al2023."""
    from rich.markup import escape

    from .migrate import find_go1x_templates, migrate_files
    from .pipeline import make_plan

    if runtime is not None and runtime not in ("provided.al2023", "provided.al2"):
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    plan = make_plan(project, arch=_check_arch(arch))
    err = _stderr()
    paths = list(templates or ())
    if not paths:
        paths = [_cwd_relative(p) for p in find_go1x_templates(plan.project_dir)]
        if not paths:
            err.print(f"no template in {escape(str(plan.project_dir))} uses go1.x")
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
