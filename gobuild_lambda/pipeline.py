"""The build pipeline, in order: plan → refuse → build → package → verify → commit → state.

``build()`` reads as those stages: plan (planner.py), refuse what cannot work (old aws-lambda-go,
taken output directories), build with a Runner (builders/) while packaging.py zips and verifies
each binary as it appears, commit the zips and the manifest (manifest.py), and remember what was
built (incremental.py).

This is the library API the CLI and the tests call.  It reads no global state: the environment is
passed in (``env``; the CLI passes ``os.environ``), progress goes to an ``on_event`` callback, and
failures are raised as ``GblError`` subclasses that carry the full report.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import builders, fsutil, gotool, incremental, manifest, package, packaging
from . import planner as plan_mod
from .config import CONFIG_FILE, Config, Settings
from .errors import BuildFailed, ConfigError, OutputError, UsageError, VerifyFailed
from .lambda_facts import ARCH_ALIASES, ARCH_SPELLINGS, AWS_LAMBDA_GO, AWS_LAMBDA_GO_MIN_VERSION, DEFAULT_OUT_DIR
from .packaging import FunctionResult  # noqa: F401 - pipeline.FunctionResult, gbl.FunctionResult
from .planner import Function, Plan

LOCK_FILE = Path(".gbl") / "lock"
# What gbl remembers between runs (to skip re-zipping, to start `go build` early): incremental.py.
STATE_FILE, CALLS_FILE = incremental.STATE_FILE, incremental.CALLS_FILE
# How long a second `gbl build` waits for the first to finish before giving up.
LOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Event:
    """Progress, for the CLI to render.

    kind: plan | lock-wait | build | built | failed | packaged | reused | waiting (a `go` or
    container runs long: what, and for how long; every few seconds), and from Docker builds pull |
    cleanup | download | cache.  ``plan`` carries the number of functions in ``count``; per
    function, ``built`` (compiled or found up to date) or ``failed`` ends compiling, and
    ``packaged`` (zipped and verified), ``reused`` (its zip was already right) or ``failed``
    ends packaging.
    """

    kind: str
    function: str | None = None
    detail: str = ""
    count: int | None = None


@dataclass(frozen=True)
class BuildReport:
    plan: Plan
    out_dir: Path
    manifest_path: Path
    results: tuple[FunctionResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[FunctionResult, ...]:
        return tuple(r for r in self.results if not r.ok)


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    return dict(os.environ if env is None else env)


def _overrides(arch: str | None, builder: str | None, image: str | None) -> Settings:
    """What the caller asked for over gbl.toml; ``arch`` in Go's or Lambda's spelling (as ``--arch``)."""
    if arch is not None and arch not in ARCH_ALIASES:
        raise UsageError(f"arch must be {ARCH_SPELLINGS}, got {arch!r}",
                         hint="Go says amd64 where Lambda says x86_64; arm64 is Graviton")
    return Settings(arch=ARCH_ALIASES[arch] if arch else None, builder=builder, image=image or None)


def make_plan(
    project_dir: Path | str = ".",
    *,
    arch: str | None = None,
    builder: str | None = None,
    image: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Plan:
    """Discover the project's functions and their settings (``gbl plan``)."""
    go = gotool.find(_env(env))
    overrides = _overrides(arch, builder, image)
    return plan_mod.plan(Path(project_dir), go=go, overrides=overrides)


def init(project_dir: Path | str = ".", *, force: bool = False, env: Mapping[str, str] | None = None):
    """Write gbl.toml, a Makefile and a CI workflow (``gbl init``); returns the WrittenFiles.

    A gbl.toml that cannot be used (syntax error, unknown key, a table for a missing function)
    stops a plain init with its error; with ``force`` the project is planned without it, and the
    old file is moved to gbl.toml.bak rather than overwritten.
    """
    from .scaffold import init_project

    try:
        return init_project(make_plan(project_dir, env=env), force=force)
    except ConfigError as exc:
        if not force:
            hint = "; or " if exc.hint else ""
            raise ConfigError(
                exc.message, where=exc.where,
                hint=f"{exc.hint or ''}{hint}run `gbl init --force` to write a new {CONFIG_FILE} "
                     f"(the old one is kept as {CONFIG_FILE}.bak)",
            ) from exc
    plan = plan_mod.plan(Path(project_dir), go=gotool.find(_env(env)), config=Config(path=None))
    return init_project(plan, force=True, keep_config=True)


def build(
    project_dir: Path | str = ".",
    *,
    names: Sequence[str] = (),
    arch: str | None = None,
    out_dir: Path | str | None = None,
    jobs: int | None = None,
    builder: str | None = None,
    image: str | None = None,
    shard: tuple[int, int] | None = None,
    env: Mapping[str, str] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> BuildReport:
    """Plan, build, package and verify; write ``<out>/<name>.zip`` and ``<out>/manifest.json``.

    Raises BuildFailed (some function did not compile or package) or VerifyFailed (some zip would
    not run on Lambda); both carry the report.  A failed function's old zip and manifest entry are
    removed, so nothing stale looks current.
    """
    environ = _env(env)
    emit = on_event or (lambda e: None)
    # A `go` that runs long says so (which command, which functions, for how long): a "waiting" event.
    go = gotool.find(environ).reporting(lambda text: emit(Event("waiting", detail=text)))
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    overrides = _overrides(arch, builder, image)
    selection = {"names": sorted(names), "shard": list(shard) if shard else None, "arch": overrides.arch,
                 "builder": builder, "image": image or None, "jobs": jobs}
    with ExitStack() as stack:
        # The directory the plan will choose (so a build from inside the project gets the head start).
        root = Path(project_dir).resolve()
        root = plan_mod.find_root(root, gowork_off=plan_mod.gowork_off(go)) if root.is_dir() else root
        started: list[builders.local.Running] = []
        locked = (root / CALLS_FILE).is_file()
        if locked:
            # Built here before: lock now and start last time's `go build` while `go list` plans.
            stack.enter_context(_lock(root, emit))
            started = _start_speculative(go, root, selection)
            stack.push(_Reaper(started))
        docker = _connect_early(root, overrides, environ, selection if locked else None)
        if docker is not None:
            stack.push(lambda exc_type, exc, tb: docker.close(stop=exc_type is not None))
        full = plan_mod.plan(root, go=go, overrides=overrides)
        the_plan = _select(full, names, shard)
        _refuse_old_lambda_go(the_plan)
        emit(Event("plan", detail=f"{len(the_plan.functions)} function(s)", count=len(the_plan.functions)))
        out = fsutil.output_dir(out_dir if out_dir is not None else the_plan.project_dir / DEFAULT_OUT_DIR)
        mtime = _source_date_epoch(environ)

        if not locked:
            stack.enter_context(_lock(the_plan.project_dir, emit))
        _ensure_writable(out)
        stack.enter_context(_out_lock(out, emit))
        previous = manifest.check_owner(out, the_plan.module_path)
        _check_destinations(out, the_plan)
        fsutil.sweep_temporaries(out)
        results = _run(go, the_plan, out, jobs, mtime, emit, environ, previous, _HeadStart(tuple(started), docker, selection))
        gone = set()
        if not names and shard is None:
            # A function that no longer exists leaves no zip that still looks deployable.
            gone = set(previous.entries) - {f.name for f in full.functions}
        manifest_path = _commit(out, previous, results, gone, the_plan.module_path)
        _write_state(the_plan.project_dir, out, results)
        _write_calls(the_plan, jobs, selection)

    report = BuildReport(the_plan, out, manifest_path, tuple(results))
    _raise_for_failures(report)
    return report


def _select(full: Plan, names: Sequence[str], shard: tuple[int, int] | None) -> Plan:
    """The functions this build is about: all, those named, or one shard of them."""
    if not full.functions:
        raise plan_mod.no_functions_error(full)
    the_plan = full.select(names)
    if shard is not None:
        the_plan = the_plan.shard(*shard)
    return the_plan


def _raise_for_failures(report: BuildReport) -> None:
    """BuildFailed when a function did not compile or package, else VerifyFailed when a zip failed verify."""
    results = report.results
    broken = [r for r in results if not r.ok and r.verdict is None]
    if broken:
        names_ = ", ".join(r.function.name for r in broken)
        raise BuildFailed(f"{len(broken)} function(s) failed to build: {names_}", report=report)
    rejected = [r for r in results if not r.ok]
    if rejected:
        raise VerifyFailed(
            f"{len(rejected)} zip(s) failed verify: " + ", ".join(r.function.name for r in rejected),
            verdicts=[r.verdict for r in rejected], report=report,
        )


def _refuse_old_lambda_go(the_plan: Plan) -> None:
    """Functions on aws-lambda-go < v1.18.0 hang at init on the provided runtimes: refuse them
    before any ``go build`` runs (compiling them first only to fail verify wastes minutes)."""
    old = [f for f in the_plan.functions if f.old_lambda_go]
    if not old:
        return
    by_mod: dict[str, list[Function]] = {}
    for f in old:
        by_mod.setdefault(f.module_dir, []).append(f)
    lines = [
        f"{Path(m, 'go.mod').as_posix()} requires {AWS_LAMBDA_GO} {fs[0].old_lambda_go} "
        f"(functions: {', '.join(f.name for f in fs)})" for m, fs in sorted(by_mod.items())
    ]
    err = BuildFailed(
        f"aws-lambda-go older than {AWS_LAMBDA_GO_MIN_VERSION} hangs at init on provided.al2023 / provided.al2; "
        "nothing was built:\n  " + "\n  ".join(lines),
        hint="in each module directory named above run "
        f"`go get {AWS_LAMBDA_GO}@latest && go mod tidy`, then `gbl build` again",
    )
    err.where = str(the_plan.project_dir / old[0].module_dir / "go.mod")
    raise err


def _commit(out: Path, previous: manifest.Manifest, results, gone: set[str], module: str) -> Path:
    """Move new zips into place and write the manifest so that a kill at any instant leaves
    every manifest entry naming a complete zip with the recorded sha256:

    1. the manifest without the entries about to change (their zips may now be replaced);
    2. remove the zips of failed and deleted functions; rename the staged zips into place;
    3. the manifest with the new entries.
    """
    changing = {r.function.name for r in results if not r.ok or r.rezipped} | gone
    entries = {k: v for k, v in previous.entries.items() if k not in changing}
    if changing & set(previous.entries):
        manifest.write(out, manifest.Manifest(module, entries))
    for name in sorted(gone):
        _remove_zip(out, name)
    for r in results:
        if not r.ok:
            _remove_zip(out, r.function.name)
        elif r.rezipped:
            try:
                os.replace(packaging.staging_path(out, r.function.name), r.zip_path)
            except OSError as exc:  # e.g. the zip is open in another program (Windows)
                fsutil.sweep_temporaries(out)  # no staged zip stays behind; the manifest lists none of them
                raise fsutil.output_error(exc, r.zip_path) from exc
    for r in results:
        if r.ok:
            entries[r.function.name] = _entry(r, out)
    # Drop entries whose zip vanished (deleted by hand): the manifest never lists a ghost.
    entries = {k: v for k, v in entries.items() if v.path(out).is_file()}
    path = out / manifest.MANIFEST
    _write_if_changed(path, manifest.render(manifest.Manifest(module, entries)))
    return path


def _check_destinations(out: Path, the_plan: Plan) -> None:
    """Before building: every function's zip name fits a file name and its place is free for a file."""
    for fn in the_plan.functions:
        name = f"{fn.name}.zip"
        if len(name.encode("utf-8")) > 255:
            raise ConfigError(
                f"function {fn.name[:40]!r}... has a {len(fn.name)}-character name: its zip name "
                f"{name[:40]}... would not fit a file name (255 bytes)",
                where=f"{the_plan.project_dir / CONFIG_FILE} [functions.{fn.name[:40]}...] name",
                hint=f"set a shorter `name` for {fn.rel_dir} in {CONFIG_FILE} (Lambda allows 64 characters)",
            )
        dest = out / name
        if dest.is_dir() and not dest.is_symlink():
            raise OutputError(
                f"{dest} is a directory, where gbl writes the zip of function {fn.name!r}",
                where=str(dest), hint="move or remove that directory, or build into another --out DIR",
            )


def _source_date_epoch(env: Mapping[str, str]) -> int | None:
    value = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"SOURCE_DATE_EPOCH must be an integer (seconds since 1970), got {value!r}",
            hint="unset it, or set it to e.g. $(git log -1 --format=%ct)",
        ) from None


def _ensure_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".gbl-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        in_the_way = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
        if in_the_way is not None:  # --out names a file (or a path through one): say so
            what = "names a file" if in_the_way == out else f"goes through {in_the_way}, which is a file"
            raise OutputError(
                f"the output directory {what}, not a directory", where=str(out),
                hint="gbl writes <name>.zip and manifest.json into a directory: pass --out a directory "
                "(default: DIR/dist), or move that file away",
            ) from exc
        raise OutputError(
            f"the output directory is not writable: {exc.strerror or exc}",
            where=str(out),
            hint="fix its permissions, or choose another with --out DIR",
        ) from exc


def _lock(project_dir: Path, emit: Callable[[Event], None]) -> fsutil.DirLock:
    """An exclusive lock on the project's .gbl/ so two builds never interleave their writes."""
    return fsutil.DirLock(project_dir / LOCK_FILE, what="the project's build lock", timeout=LOCK_TIMEOUT_S,
                          on_wait=lambda text: emit(Event("lock-wait", detail=text)))


def _out_lock(out: Path, emit: Callable[[Event], None]) -> fsutil.DirLock:
    """An exclusive lock on the output directory: two projects (or two checkouts) writing one
    --out take turns, and the second then finds the first's manifest (see manifest.check_owner)."""
    return fsutil.DirLock(fsutil.out_lock_path(out), what=f"the lock on {out}", timeout=LOCK_TIMEOUT_S,
                          on_wait=lambda text: emit(Event("lock-wait", detail=text)))


def _write_state(project_dir: Path, out: Path, results) -> None:
    state = incremental.read_state(project_dir)
    _write_if_changed(project_dir / STATE_FILE, incremental.render_state(incremental.next_state(state, out, results)))


def _run(go, the_plan: Plan, out: Path, jobs: int, mtime, emit, environ, previous,
         head: _HeadStart) -> list[FunctionResult]:
    """Build every function and package (and verify) its zip while Go builds the others."""
    # Every include glob is resolved before anything runs: a bad one is a ConfigError (exit 2)
    # that leaves the previous zips and manifest exactly as they were.
    resolved = {fn.name: package.resolve_includes(fn.include, the_plan.project_dir, function=fn.name)
                for fn in the_plan.functions if not fn.cgo_files}
    packager = packaging.Packager(
        out, jobs=jobs, count=len(the_plan.functions), mtime=mtime,
        state=incremental.read_state(the_plan.project_dir), previous=previous, includes=resolved,
        work=package_and_verify, emit=lambda kind, name, detail: emit(Event(kind, name, detail)))
    with packager:
        for fn in the_plan.functions:
            if fn.cgo_files:
                packager.failed(fn, builders.runner.cgo_failure(fn).output)
        buildable = [f for f in the_plan.functions if not f.cgo_files]
        for runner, fns in _runners(go, the_plan, buildable, environ, head, emit):
            if runner.links_while_running:
                # A binary already on disk whose zip is missing or stale is zipped now, while Go
                # checks it; Go's verdict (the final Built) confirms or replaces that zip.
                for call in builders.calls.plan_calls(fns, the_plan.project_dir, jobs=jobs):
                    for fn in call.functions:
                        if call.binary(fn).is_file():
                            packager.consider(builders.Built(fn, call.binary(fn), False), provisional=True)
                emit(Event("build", detail=f"go build ({len(fns)} function(s))"))
            builders.build(
                runner, the_plan, fns, jobs=jobs, on_built=lambda b: packager.consider(b, False),
                on_failed=lambda f: packager.failed(f.function, f.output),
                on_linked=lambda b: packager.consider(b, True),
            )
        return packager.finish([f.name for f in the_plan.functions])


def _runners(go, the_plan: Plan, buildable, environ, head: _HeadStart, emit):
    """(runner, its functions) for each kind of builder in use: one signature for all."""
    local = [f for f in buildable if f.builder == "local"]
    containerised = [f for f in buildable if f.builder == "docker"]
    if local:
        yield builders.local.LocalRunner(go, the_plan.project_dir, head.local), local
    if containerised:
        from .builders.docker import DockerRunner

        # What the early connection found (DockerError if no daemon answered), else nothing yet.
        client, early, rootless = (None, [], None) if head.docker is None else head.docker.connection.result()
        yield DockerRunner(the_plan, environ, lambda kind, detail: emit(Event(kind, detail=detail)),
                           client=client, early=early, selection=head.selection, rootless=rootless), containerised


@dataclass(frozen=True)
class _HeadStart:
    """What build() starts while ``go list`` plans: last build's local ``go build`` calls (see
    _start_speculative) and, when Docker builds are likely, the daemon's connection (importing the
    Docker SDK alone takes ~0.2 s) and last build's runs in the warm container."""

    local: tuple[builders.local.Running, ...] = ()
    docker: EarlyDocker | None = None
    selection: dict | None = None


def _connect_early(root: Path, overrides: Settings, environ: Mapping[str, str], selection: dict | None):
    """An EarlyDocker when this build will likely use Docker (asked for, or gbl.toml names it):
    it connects in a thread, and with ``selection`` (the project is locked) asks for last build's
    runs again.  A wrong guess costs that thread only; an error waits for the plan to need Docker."""
    if overrides.builder is not None and overrides.builder != "docker":
        return None
    if overrides.builder is None:
        try:
            if "docker" not in (root / CONFIG_FILE).read_text(encoding="utf-8", errors="replace"):
                return None
        except OSError:
            return None
    from .builders.early import EarlyDocker

    return EarlyDocker(environ, root, selection)


def _start_speculative(go, root: Path, selection: dict) -> list[builders.local.Running]:
    """Start the last build's ``go build`` calls again, if it was the same selection (the calls
    are derived from gbl.toml again: see incremental.speculative_calls)."""
    from .discover import old_lambda_go

    if old_lambda_go(root / "go.mod") or any((d / "go.work").is_file() for d in (root, *root.parents)):
        return []  # refused by the plan (no `go build` may start), or maybe a workspace: plan first
    return [builders.local.start_call(go, c.args, c.env, c.out_dir, c.cwd or root, binaries=[c.binary(f) for f in c.functions])
            for c in incremental.speculative_calls(root, selection)]


class _Reaper:
    """Exit handler for speculative processes: wait for them (stop them if the build failed)."""

    def __init__(self, started: Sequence[builders.local.Running]):
        self.started = started

    def __call__(self, exc_type, exc, tb) -> bool:
        for r in self.started:
            if r.proc.poll() is None and exc_type is not None:
                r.stop()
            r.wait()
        return False


def _write_calls(the_plan: Plan, jobs: int, selection: dict) -> None:
    _write_if_changed(the_plan.project_dir / CALLS_FILE, incremental.render_calls(the_plan, selection))


def _write_if_changed(path: Path, data: bytes) -> None:
    # A no-op build rewrites nothing (no fsync, no mtime change).
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    fsutil.write_atomic(path, data)


def package_and_verify(binary, dest, includes, mtime, arch, runtime):
    """Zip one function and verify the result (runs in a worker process).

    The zip is verified from what writing it learnt (its bytes, each entry's CRC and content):
    the same verdict as ``verify_zip(dest)`` without reading the file back and inflating it.
    """
    from . import verify

    fresh = package.package_fresh(binary, dest, includes=includes, mtime=mtime)
    verdict = verify.verify_fresh(fresh.data, dest, fresh.known, arch=arch, runtime=runtime)
    return fresh.packaged, verdict


def _remove_zip(out: Path, name: str) -> None:
    # Only ever <out>/<name>.zip, for a name gbl itself validated: never a path a manifest names.
    if not manifest.valid_function_name(name):
        return
    path = out / f"{name}.zip"
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OutputError(
            f"cannot remove the stale zip {path}: {exc.strerror}", where=str(path),
            hint="delete it (or whatever is there) by hand: it does not match the current sources",
        ) from exc


def _entry(r: FunctionResult, out: Path) -> manifest.ManifestEntry:
    fn = r.function
    return manifest.ManifestEntry(
        name=fn.name, package=fn.package, dir=fn.rel_dir, arch=fn.arch, runtime=fn.runtime,
        zip=r.zip_path.name, size=r.size, sha256=r.sha256, code_sha256=r.code_sha256,
        go_version=r.go_version, aws_lambda_go=r.aws_lambda_go or None, builder=fn.builder,
        flags=_flags_record(fn), include=tuple(i.pattern for i in fn.include),
    )


def _flags_record(fn: Function) -> dict:
    """What the manifest says a function was built with: taken from the builder's own values."""
    env = builders.calls.build_env(fn)
    return {
        "GOOS": env["GOOS"], "GOARCH": env["GOARCH"], "CGO_ENABLED": env["CGO_ENABLED"],
        "tags": list(fn.tags), "ldflags": fn.ldflags,
        "trimpath": "-trimpath" in builders.calls.COMMON_FLAGS,
        "buildvcs": "-buildvcs=false" not in builders.calls.COMMON_FLAGS,
        "env": dict(fn.env),
    }


def zip_binary(
    binary: Path | str,
    dest: Path | str | None = None,
    *,
    include: Sequence[Path | str] = (),
    include_executable: Sequence[Path | str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> package.Packaged:
    """Package an existing binary as ``bootstrap`` (``gbl zip``); its own file mode is ignored.

    Extra files keep the relative path they were given by (forward slashes), or their base name
    when given as an absolute path or one that leaves the working directory.
    """
    base = Path(cwd) if cwd else Path.cwd()
    binary = base / Path(binary)
    if not binary.is_file():
        raise UsageError(f"no such file: {binary}", hint="pass the path of a binary built for Linux")
    dest = base / Path(dest) if dest else binary.with_suffix(".zip") if binary.suffix else binary.parent / f"{binary.name}.zip"
    includes = []
    # Modes come from the caller, never from the host file: 0644, or 0755 when declared executable.
    for item, executable in [(i, False) for i in include] + [(i, True) for i in include_executable]:
        src = base / Path(item)
        if not src.is_file():
            raise UsageError(f"--include {item}: no such file")
        rel = Path(item)
        name = rel.as_posix() if not rel.is_absolute() and ".." not in rel.parts else src.name
        includes.append((name.replace("\\", "/"), src, executable))
    includes.sort()
    return package.package_binary(binary, dest, includes=includes, mtime=_source_date_epoch(_env(env)))


def zip_and_verify(binary: Path | str, dest: Path | str | None = None, *, arch: str | None = None,
                   **options) -> tuple[package.Packaged, object]:
    """``gbl zip``: :func:`zip_binary` into a gbl temporary file beside ``dest``, verify it, and put
    it in place only when it passes.  A zip that fails verify is removed (an older file at ``dest``
    stays as it was); the Packaged then describes the zip that was refused.
    Returns (Packaged with path ``dest``, verify.Verdict with path ``dest``)."""
    import dataclasses

    from . import verify

    base = Path(options.get("cwd") or Path.cwd())
    binary_path = base / Path(binary)
    final = base / Path(dest) if dest else (binary_path.with_suffix(".zip") if binary_path.suffix
                                            else binary_path.parent / f"{binary_path.name}.zip")
    staged = final.with_name(fsutil.temp_name(final.name, "zip"))
    try:
        packaged = zip_binary(binary, staged, **{**options, "cwd": base})
        verdict = verify.verify_zip(staged, arch=arch)
        if verdict.ok:
            try:
                os.replace(staged, final)
            except OSError as exc:
                raise fsutil.output_error(exc, final) from exc
    finally:
        try:
            staged.unlink(missing_ok=True)
        except OSError:  # its directory is not there (or not a directory): nothing was left
            pass
    return dataclasses.replace(packaged, path=final), dataclasses.replace(verdict, path=final)


def merge_manifests(dirs: Sequence[Path | str], out_dir: Path | str) -> Path:
    """``gbl manifest merge``: one manifest (and every zip) from the outputs of shard builds.

    A function built by two shards with different results is a conflict; every zip is checked
    against its manifest sha256 before it is copied.
    """
    import hashlib

    out = fsutil.output_dir(out_dir)
    merged = manifest.merge([Path(d) for d in dirs])
    _ensure_writable(out)
    with _out_lock(out, lambda e: None):
        if merged.module:
            manifest.check_owner(out, merged.module)
        for name, entry in merged.entries.items():
            # entry.zip is <name>.zip (ManifestEntry checks it): a plain file in each directory.
            src = next((entry.path(d) for d in dirs
                        if entry.path(d).is_file() and not entry.path(d).is_symlink()), None)
            if src is None:
                raise UsageError(f"function {name!r}: {entry.zip} is in a manifest but in none of the directories"
                                 " (as a regular file)")
            if hashlib.sha256(src.read_bytes()).hexdigest() != entry.sha256:
                raise UsageError(
                    f"function {name!r}: {src} does not match its manifest sha256",
                    hint="the shard output was changed after it was built; rebuild it",
                )
            dest = entry.path(out)
            if src.resolve() != dest.resolve():
                fsutil.write_atomic(dest, src.read_bytes())
        return manifest.write(out, merged)
