"""``gbl diff`` and ``gbl deploy``: the built functions against the deployed ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .. import errors
from .common import JsonOpt, ProjectOpt, app, emit, err_console, fail_with, out_console, print_build_report


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
    from ..deployment import diff

    report = diff(project, names=names or (), out_dir=out)
    errs = report.errors
    if not (as_json and errs):
        _print_diff(report, as_json)
    if errs:
        cls = errors.AwsAccessError if any(e.kind == "access" for e in errs) else errors.DeployFailed
        raise fail_with(cls(f"{len(errs)} function(s) cannot be compared: "
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
        emit("diff", _diff_doc(report))
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
    out_console().print(table)
    _print_function_notes(report.functions)


def _print_function_notes(items) -> None:
    from rich.markup import escape

    err = err_console()
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

    from ..cliout import BuildProgress
    from ..deployment import deploy

    err = err_console()
    try:
        # the build before the deploy shows its progress as `gbl build` does
        with (nullcontext() if no_build else BuildProgress(err, live=err.is_terminal)) as on_event:
            report = deploy(project, names=names or (), out_dir=out, build=not no_build, dry_run=dry_run,
                            publish=publish, alias=alias, on_event=on_event)
    except (errors.BuildFailed, errors.VerifyFailed) as exc:
        if exc.report is not None:
            if as_json:  # the build's report, under "build", with the error
                from ..cliout import report_json

                raise fail_with(exc, {"build": report_json(exc.report)})
            print_build_report(exc.report, as_json)
        raise
    except (errors.AwsAccessError, errors.DeployFailed, errors.FunctionMissing) as exc:
        if getattr(exc, "report", None) is not None:
            if as_json:
                raise fail_with(exc, _deploy_doc(exc.report))
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
        emit("deploy", _deploy_doc(report))
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
    out_console().print(table)
    _print_function_notes(report.functions)
