"""gbl migrate over files: read, migrate against a plan, write back (atomically)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..config import ARCHES, RUNTIMES
from ..errors import OutputError, UsageError
from ..package import write_atomic
from .gomod import check_go_mod
from .model import FunctionTarget, MigrateReport, MigrationResult, Problem
from .sam import migrate_template

if TYPE_CHECKING:  # pragma: no cover
    from ..planner import Plan


def targets_for(
    plan: "Plan", template_dir: Path, *, arch: str | None = None, dist_dir: Path | None = None,
    template: Path | None = None,
) -> dict[str, FunctionTarget]:
    """The plan's functions as seen from a template in ``template_dir``.  Given the ``template``
    file itself, the functions the plan found through its resources carry those resources and
    their package directory relative to the template (migrate moves them by resource)."""
    project = Path(plan.project_dir)
    dist = Path(dist_dir) if dist_dir is not None else project / "dist"
    here = Path(template).resolve() if template is not None else None
    out = {}
    for fn in plan.functions:
        resources, source = (), ""
        if here is not None and fn.template:
            file, _, resource = fn.template.rpartition(":")
            if (project / file).resolve() == here:
                resources = (resource,)
                source = _relative_posix(project / fn.rel_dir, template_dir)
        out[fn.name] = FunctionTarget(
            name=fn.name,
            arch=arch or fn.arch,
            zip_path=_relative_posix(dist / f"{fn.name}.zip", template_dir),
            runtime=fn.runtime,
            resources=resources,
            source=source,
        )
    return out


def migrate_files(
    paths: Iterable[Path | str],
    plan: "Plan",
    *,
    runtime: str | None = None,
    arch: str | None = None,
    dist_dir: Path | None = None,
    write: bool = False,
) -> MigrateReport:
    """Migrate each template against ``plan``; with ``write``, replace the changed files.

    Every template is read and migrated before any is written, so a template that does not parse
    stops the run with nothing written.  Each write is atomic (a temporary file in the same
    directory, then ``os.replace``) and keeps the file's permission bits.
    """
    if arch is not None and arch not in ARCHES:
        raise UsageError(f"--arch must be one of {', '.join(ARCHES)}, got {arch!r}")
    results = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        text = _read_template(path)
        functions = targets_for(plan, key.parent, arch=arch, dist_dir=dist_dir, template=key)
        results.append(migrate_text(text, functions, path=path, runtime=runtime, label=path.as_posix()))
    written = []
    if write:
        changed = [r for r in results if r.changed]
        for r in changed:  # every file is checked before any is written
            _check_writable(r.path)
        for r in changed:
            _write_atomic(r.path, r.migrated)
            written.append(r.path)
    dist = Path(dist_dir) if dist_dir is not None else Path(plan.project_dir) / "dist"
    return MigrateReport(
        results=tuple(results),
        problems=check_go_mod(Path(plan.project_dir) / "go.mod") + _zip_arch_problems(results, plan, dist, write),
        written=tuple(written),
    )


def migrate_text(
    text: str,
    functions,
    *,
    path: Path | str,
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Migrate one file's text by its kind: a SAM / CloudFormation template, a serverless.yml,
    a Terraform file, or a CDK source (reported, never edited)."""
    from .cdk import cdk_language, report_cdk
    from .serverless import is_serverless, migrate_serverless
    from .terraform import migrate_terraform
    from .textdoc import Doc

    path = Path(path)
    if runtime is not None and runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    kwargs = dict(path=path, runtime=runtime, label=label)
    if path.suffix.lower() == ".tf":
        return migrate_terraform(text, functions, **kwargs)
    if cdk_language(path) is not None:
        return report_cdk(text, functions, **kwargs)
    if path.suffix.lower() in (".yml", ".yaml") and is_serverless(Doc.parse(text, path), path):
        return migrate_serverless(text, functions, **kwargs)
    return migrate_template(text, functions, **kwargs)


def _zip_arch_problems(results, plan: "Plan", dist: Path, written: bool) -> tuple[Problem, ...]:
    """A Problem for each Go function whose file declares another arch than its built zip has
    (dist/manifest.json's arch for it).  Files as they are on disk: migrated when written."""
    from .. import manifest
    from .declared import declared_in_text

    built = manifest.read(dist)
    names = {fn.name for fn in plan.functions}
    out = []
    for r in results:
        text = r.migrated if written else r.original
        for d in declared_in_text(text, r.path, names):
            entry = built.get(d.function)
            zip_arch = entry.arch if entry else None
            if zip_arch in ("amd64", "arm64") and zip_arch != d.arch:
                out.append(Problem(
                    r.path, d.function, f"declares {d.lambda_arch} for {d.function}, but {dist.name}/"
                    f"{d.function}.zip is built for {zip_arch}", f"rebuild with `gbl build {d.function}` "
                    f"(gbl.toml: [functions.{d.function}] arch = \"{d.arch}\"), or declare the zip's arch",
                    d.line))
    return tuple(out)



# ------------------------------------------------------------------------------ file helpers
def _read_template(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError("no such file", where=str(path), hint="check the TEMPLATE argument") from exc
    except OSError as exc:
        raise UsageError(f"cannot read it: {exc.strerror or exc}", where=str(path)) from exc
    try:
        return data.decode("utf-8")  # newline-exact: "\r\n" stays "\r\n", a BOM stays
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"not UTF-8 text (byte {exc.start})", where=str(path),
            hint="CloudFormation templates are UTF-8; convert it first",
        ) from exc


def _check_writable(path: Path) -> None:
    """Refuse a file its owner made read-only: os.replace would swap it silently (even as root)."""
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        raise OutputError(f"cannot write it: {exc.strerror or exc}", where=str(path)) from exc
    if not mode & stat.S_IWUSR:
        shown = f" (the link's target {real})" if real != Path(path).absolute() else ""
        raise OutputError(
            f"it is read-only (mode {stat.S_IMODE(mode):04o}){shown}; gbl migrate --write does not "
            "replace a file its owner made read-only, and nothing was written",
            where=str(path),
            hint=f"make it writable (chmod u+w {real}) and run gbl migrate --write again, "
            "or apply the diff `gbl migrate` prints yourself",
        )


def _write_atomic(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its mode.  A symbolic link is written through: the
    file it points to is replaced and the link stays a link."""
    write_atomic(Path(os.path.realpath(path)), text.encode("utf-8"), keep_mode=True)


def _relative_posix(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(target).resolve().as_posix()

