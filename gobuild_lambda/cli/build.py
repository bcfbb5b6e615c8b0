"""``gbl plan``, ``build``, ``verify``, ``zip``, ``manifest merge``, ``clean`` and ``docker stop``: the
commands that find, build, package and check zips."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer

from .. import errors
from ..lambda_facts import DEFAULT_RUNTIME, RUNTIMES
from .common import (
    ArchOpt, JsonOpt, ProjectOpt, app, arch_opt, check_arch, emit, err_console, escape, fail_with,
    out_console, print_build_report, size_text,
)


# ---------------------------------------------------------------------------------------- plan
@app.command("plan")
def plan_cmd(
    project: Path = ProjectOpt,
    arch: Optional[str] = arch_opt("Show every function as built for this arch, whatever gbl.toml says"),
    as_json: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list directories that are not functions, and why."),
) -> None:
    """Show the functions found and the settings each will be built with."""
    from ..builders.docker import default_image
    from ..pipeline import make_plan

    plan = make_plan(project, arch=check_arch(arch))
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
        emit("plan", doc)
        return
    from ..cliout import add_columns
    from ..cliout import table as new_table

    title = plan.module_path if len(plan.modules) <= 1 else f"{len(plan.modules)} modules"
    table = new_table(escape(f"{title}: {len(plan.functions)} function(s)"))
    add_columns(table, ("function", "package dir", "arch", "runtime", "builder", "tags", "ldflags"),
                first_width=max((len(f.name) for f in plan.functions), default=0))
    for f in plan.functions:
        builder = f.builder if f.builder == "local" else f"docker ({f.image or default_image(plan) or '?'})"
        table.add_row(escape(f.name), escape(f.rel_dir), f.arch, f.runtime, escape(builder),
                      escape(",".join(f.tags)), escape(f.ldflags))
    out_console(table=True).print(table)
    err = err_console()
    if verbose:
        for s in plan.skipped:
            err.print(f"skipped {s.rel_dir}: {s.reason}", markup=False)  # a path may hold "[/x]"
    for w in warnings:
        err.print("[yellow]warning:[/] " + escape(w))


def _template_warnings(project_dir: Path) -> list[str]:
    try:
        from ..migrate import find_go1x_templates
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

    from ..cliout import BuildProgress
    from ..pipeline import build

    shard_kn = _parse_shard(shard) if shard else None
    arch = check_arch(arch)  # refused before the progress display starts

    err = err_console()
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
            print_build_report(exc.report, as_json, time.monotonic() - started, exc)
        raise
    print_build_report(report, as_json, time.monotonic() - started)


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise errors.UsageError(f"--shard must look like K/N (e.g. 2/4), got {text!r}") from None
    return k, n


# -------------------------------------------------------------------------------------- verify
@app.command("verify")
def verify_cmd(
    paths: Optional[List[Path]] = typer.Argument(None, help="Zips, directories or manifest.json files, relative to -C DIR (default: dist/manifest.json)."),
    project: Path = ProjectOpt,
    arch: Optional[str] = arch_opt("Check that every zip's bootstrap is for this arch (default: the manifest's arch, else any Lambda arch)"),
    runtime: Optional[str] = typer.Option(None, "--runtime", metavar="RUNTIME", help="Check the zips for this runtime: provided.al2023 (default) or provided.al2."),
    as_json: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every check of every zip, not only the failing ones."),
) -> None:
    """Check zips (any tool's) for everything Lambda would fail on at invoke time."""
    from .. import verify

    if runtime is not None and runtime not in RUNTIMES:
        raise errors.UsageError(f"--runtime must be provided.al2023 or provided.al2, got {runtime!r}")
    targets = verify.collect_targets(paths or (), cwd=project)
    verdicts = [
        verify.verify_zip(
            t.path, arch=check_arch(arch) or t.arch, runtime=runtime or t.runtime or DEFAULT_RUNTIME
        )
        for t in targets
    ]
    from ..cliout import display_path, verify_json

    failed = [v for v in verdicts if not v.ok]
    if not as_json:
        out = out_console()
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
        raise fail_with(exc, verify_json(verdicts))
    if as_json:
        emit("verify", verify_json(verdicts))


def _print_verdict(console, verdict, only_problems: bool = False, compact: bool = False) -> None:
    from ..cliout import print_verdict

    print_verdict(console, verdict, only_problems=only_problems, compact=compact)


def _verdict_json(v) -> dict:
    from ..cliout import verdict_json

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
    arch: Optional[str] = arch_opt("Check that the binary is built for this arch (default: any Lambda arch)"),
    as_json: bool = JsonOpt,
) -> None:
    """Package an existing binary as bootstrap with gbl's deterministic packager, then verify it."""
    from ..pipeline import zip_and_verify

    if out is not None and output is not None:
        raise errors.UsageError("--out and --output name the zip twice: give one",
                                hint="--output is the old spelling of -o/--out")
    # the zip is put in place only when it passes verify; a failing one is removed
    packaged, verdict = zip_and_verify(binary, out or output, arch=check_arch(arch), include=include or (),
                                       include_executable=include_executable or (), cwd=project)
    body = {
        "ok": verdict.ok, "zip": str(packaged.path), "size": packaged.size, "sha256": packaged.sha256,
        "code_sha256": packaged.code_sha256, "written": verdict.ok, "verify": _verdict_json(verdict),
    }
    if as_json and verdict.ok:
        emit("zip", body)
    elif not as_json:
        console = out_console()
        if verdict.ok:
            console.print(f"wrote {packaged.path} ({size_text(packaged.size)}, sha256 {packaged.sha256[:12]}, CodeSha256 {packaged.code_sha256})")
        else:
            console.print(f"did not write {packaged.path}: the zip failed verify (nothing was left on disk)")
        if not verdict.ok or any(c.status == "warn" for c in verdict.checks):
            _print_verdict(console, verdict, only_problems=True)
    if not verdict.ok:
        raise fail_with(errors.VerifyFailed(
            f"{packaged.path} would not run on Lambda; it was not written", verdicts=[verdict],
            hint="pass a Linux binary built for Lambda (GOOS=linux, CGO_ENABLED=0)"), body)


# --------------------------------------------------------------------------------------- clean
@app.command("clean")
def clean_cmd(
    project: Path = ProjectOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR", help="The output directory to clean, relative to -C DIR (default: DIR/dist)."),
    as_json: bool = JsonOpt,
) -> None:
    """Remove what gbl wrote: the zips and manifest.json in the output directory, .gbl/, and the
    project's warm build containers.  Files gbl did not write are kept."""
    from ..cleanup import clean

    report = clean(project, out_dir=out)
    if as_json:
        emit("clean", {"ok": True, "project_dir": str(report.project_dir), "out_dir": str(report.out_dir),
                       "removed": [str(p) for p in report.removed], "kept": [str(p) for p in report.kept],
                       "containers": report.containers})
        return
    console = out_console()
    zips = [p for p in report.removed if p.parent == report.out_dir and p.suffix == ".zip"]
    if report.out_dir in report.removed:
        console.print(f"removed {report.out_dir} ({len(zips)} zip(s) and its manifest)", markup=False)
    elif zips or report.out_dir / "manifest.json" in report.removed:
        console.print(f"removed {len(zips)} zip(s) and manifest.json from {report.out_dir}", markup=False)
    if report.kept:
        names = ", ".join(p.name for p in report.kept)
        console.print(f"kept what gbl did not write in {report.out_dir}: {names}", markup=False)
    state = report.project_dir / ".gbl"
    if state in report.removed:
        console.print(f"removed {state}", markup=False)
    if report.containers is None:
        console.print("no Docker daemon answered: no warm build container to stop", markup=False)
    elif report.containers:
        console.print(f"removed {report.containers} warm build container(s)", markup=False)
    if not report.removed and not report.containers:
        console.print(f"nothing of gbl's to clean in {report.project_dir}", markup=False)


# -------------------------------------------------------------------------------------- docker
docker_app = typer.Typer(no_args_is_help=True, help="Manage gbl's warm build containers.")
app.add_typer(docker_app, name="docker")


@docker_app.command("stop")
def docker_stop_cmd(
    project: Path = ProjectOpt,
    all_projects: bool = typer.Option(False, "--all", help="Stop every project's warm build containers."),
) -> None:
    """Stop and remove the project's warm build containers (a build running in one is killed)."""
    from ..builders.docker import stop_warm
    from ..planner import find_root

    root = None if all_projects else find_root(Path(project).resolve(), gowork_off=False)
    removed = stop_warm(dict(os.environ), root)
    typer.echo(f"removed {removed} warm build container(s)" + ("" if root is None else f" of {root}"))


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
    from ..pipeline import merge_manifests

    path = merge_manifests(dirs, out)
    if as_json:
        functions = sorted(json.loads(Path(path).read_text(encoding="utf-8")).get("functions", {}))
        emit("manifest merge", {"ok": True, "manifest": str(path), "out_dir": str(Path(path).parent),
                                 "functions": functions})
        return
    out_console().print(f"wrote {path}", markup=False)


def _prefetch(module: str) -> None:
    """Import ``module`` in a background thread: the main thread's import of it later waits for
    this one instead of starting over."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), daemon=True).start()
