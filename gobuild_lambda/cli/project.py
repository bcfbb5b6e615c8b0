"""``gbl migrate`` and ``gbl init``: the commands that write a project's files (templates,
gbl.toml, the Makefile, the workflow)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .. import errors
from ..lambda_facts import RUNTIMES
from .common import JsonOpt, ProjectOpt, app, arch_opt, check_arch, emit, err_console, fail_with


# ------------------------------------------------------------------------------------- migrate
@app.command("migrate")
def migrate_cmd(
    templates: Optional[List[Path]] = typer.Argument(
        None, help="SAM / CloudFormation templates (YAML or JSON), serverless.yml, *.tf files or CDK sources (default: every such file in DIR that still uses go1.x, and CDK sources with a GoFunction)."),
    project: Path = ProjectOpt,
    write: bool = typer.Option(False, "--write", help="Rewrite the templates in place (atomically) instead of printing a diff."),
    check: bool = typer.Option(False, "--check", help="Exit 9 when a file still uses go1.x or declares another arch than its zip's (for CI)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", metavar="RUNTIME", help="The runtime written into the files: provided.al2023 or provided.al2 (default: each function's runtime in gbl.toml)."),
    arch: Optional[str] = arch_opt("The architecture written into the files for every function (default: each function's arch in gbl.toml)"),
    as_json: bool = JsonOpt,
) -> None:
    """Move go1.x functions (SAM / CloudFormation, Serverless, Terraform) to gbl's zips on provided.al2023; report CDK uses."""
    from rich.markup import escape

    from ..migrate import migrate_files
    from ..pipeline import make_plan

    if runtime is not None and runtime not in RUNTIMES:
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    arch = check_arch(arch)
    plan = make_plan(project, arch=arch)
    err = err_console()
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
            raise fail_with(exc, body) from None
    elif write:
        try:
            report.check_go1x(written=True)  # a --write that leaves a function on go1.x fails (exit 9)
        except errors.GblError as exc:
            raise fail_with(exc, body) from None
    if as_json:
        emit("migrate", body)


def _files_to_migrate(plan, *, check: bool) -> list[Path]:
    """``gbl migrate`` with no file: the files still on go1.x (and CDK sources with a GoFunction),
    the templates that declare the plan's functions (they move to their zips too), and for
    ``--check`` every file declaring an architecture for one of them (compared with its zip)."""
    from ..migrate import declared_architectures, find_migratable

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


# ---------------------------------------------------------------------------------------- init
@app.command("init")
def init_cmd(
    project: Path = ProjectOpt,
    force: bool = typer.Option(False, "--force", help="Replace gbl.toml, Makefile and the workflow if they exist (an invalid gbl.toml is kept as gbl.toml.bak)."),
    as_json: bool = JsonOpt,
) -> None:
    """Write gbl.toml (every setting shown), a Makefile that calls gbl, and a GitHub Actions workflow."""
    from ..pipeline import init

    written_files = list(init(project, force=force))
    if as_json:
        emit("init", {"ok": True, "files": [
            {"path": str(w.path), "what": w.what, "replaced": w.replaced,
             "kept_as": str(w.kept_as) if w.kept_as is not None else None}
            for w in written_files]})
        return
    for written in written_files:
        typer.echo(str(written))
