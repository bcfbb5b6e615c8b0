"""The build pipeline, in order: plan → build → package → verify → manifest.

This is the library API the CLI and the tests call.  It reads no global state: the environment is
passed in (``env``; the CLI passes ``os.environ``), progress goes to an ``on_event`` callback, and
failures are raised as ``GblError`` subclasses that carry the full report.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Executor, Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import builder as build_mod  # the old names, re-exported from builders/
from . import builders, gotool, manifest, package
from . import planner as plan_mod
from .config import CONFIG_FILE, Config, Settings
from .errors import BuildFailed, ConfigError, OutputError, UsageError, VerifyFailed
from .planner import Function, Plan

LOCK_FILE = Path(".gbl") / "lock"
# What gbl remembers between runs to skip re-zipping: zip path -> recipe, size. Internal; the
# manifest stays free of host facts (mtimes) so shard manifests merge and builds compare.
STATE_FILE = Path(".gbl") / "zips.json"
# The last build's `go build` calls, so the next build can start them while `go list` plans: a
# speculative start that is used only when the new plan asks for exactly the same calls.
CALLS_FILE = Path(".gbl") / "calls.json"
# How long a second `gbl build` waits for the first to finish before giving up.
LOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Event:
    """Progress, for the CLI to render.

    kind: plan | lock-wait | build | built | failed | packaged | waiting (a `go` or container
    runs long: what, and for how long; every few seconds), and from Docker builds pull |
    cleanup | download | cache.
    """

    kind: str
    function: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class FunctionResult:
    function: Function
    ok: bool
    zip_path: Path | None = None
    size: int = 0
    sha256: str = ""
    code_sha256: str = ""
    relinked: bool = False
    rezipped: bool = False
    error: str = ""  # Go's message, or what failed verify
    verdict: object | None = None  # verify.Verdict of a freshly written zip
    go_version: str = ""
    aws_lambda_go: str = ""
    recipe: str = ""  # fingerprint of what decided the zip's bytes (see package.recipe)


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
    overrides = Settings(arch=arch, builder=builder, image=image or None)
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
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    overrides = Settings(arch=arch, builder=builder, image=image or None)
    selection = {"names": sorted(names), "shard": list(shard) if shard else None, "arch": arch,
                 "builder": builder, "image": image or None, "jobs": jobs}
    with ExitStack() as stack:
        root = Path(project_dir).resolve()
        started: list[build_mod.Running] = []
        locked = (root / CALLS_FILE).is_file()
        if locked:
            # Built here before: lock now and start last time's `go build` while `go list` plans.
            stack.enter_context(_lock(root, emit))
            started = _start_speculative(go, root, selection)
            stack.push(_Reaper(started))
        full = plan_mod.plan(Path(project_dir), go=go, overrides=overrides)
        if not full.functions:
            raise UsageError(
                f"no functions found: no main package under {plan_mod.CMD_DIR}/",
                where=str(full.project_dir),
                hint="put each function in its own directory, e.g. cmd/api/main.go; `gbl plan -v` says what was skipped",
            )
        the_plan = full.select(names)
        if shard is not None:
            the_plan = the_plan.shard(*shard)
        emit(Event("plan", detail=f"{len(the_plan.functions)} function(s)"))
        out = Path(out_dir) if out_dir is not None else the_plan.project_dir / "dist"
        if not out.is_absolute():
            out = (Path.cwd() / out).resolve()
        mtime = _source_date_epoch(environ)

        if not locked:
            stack.enter_context(_lock(the_plan.project_dir, emit))
        _ensure_writable(out)
        package.sweep_temporaries(out)
        previous = manifest.read(out)
        results = _run(go, the_plan, out, jobs, mtime, emit, environ, previous, started)
        gone = set()
        if not names and shard is None:
            # A function that no longer exists leaves no zip that still looks deployable.
            gone = set(previous) - {f.name for f in full.functions}
        manifest_path = _commit(out, previous, results, gone)
        _write_state(the_plan.project_dir, out, results)
        _write_calls(the_plan, jobs, selection)

    report = BuildReport(the_plan, out, manifest_path, tuple(results))
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
    return report


def _commit(out: Path, previous: Mapping[str, dict], results, gone: set[str]) -> Path:
    """Move new zips into place and write the manifest so that a kill at any instant leaves
    every manifest entry naming a complete zip with the recorded sha256:

    1. the manifest without the entries about to change (their zips may now be replaced);
    2. remove the zips of failed and deleted functions; rename the staged zips into place;
    3. the manifest with the new entries.
    """
    changing = {r.function.name for r in results if not r.ok or r.rezipped} | gone
    entries = {k: v for k, v in previous.items() if k not in changing}
    if changing & set(previous):
        manifest.write(out, entries)
    for name in sorted(gone):
        _remove_zip(out, name, previous)
    for r in results:
        if not r.ok:
            _remove_zip(out, r.function.name, previous)
        elif r.rezipped:
            os.replace(_staging_path(out, r.function.name), r.zip_path)
    for r in results:
        if r.ok:
            entries[r.function.name] = _entry(r, out)
    # Drop entries whose zip vanished (deleted by hand): the manifest never lists a ghost.
    entries = {k: v for k, v in entries.items() if (out / v.get("zip", "")).is_file()}
    path = out / manifest.MANIFEST
    _write_if_changed(path, manifest.render(entries))
    return path


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
        raise OutputError(
            f"the output directory is not writable: {exc.strerror or exc}",
            where=str(out),
            hint="fix its permissions, or choose another with --out DIR",
        ) from exc


class _lock:
    """An exclusive lock on the project's .gbl/ so two builds never interleave their writes."""

    def __init__(self, project_dir: Path, emit: Callable[[Event], None]):
        from filelock import FileLock

        path = project_dir / LOCK_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create {path.parent}: {exc.strerror or exc}", where=str(project_dir),
                hint="gbl keeps its build directory there; make the project writable",
            ) from exc
        self._path = path
        self._lock = FileLock(str(path))
        self._emit = emit

    def __enter__(self):
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            self._emit(Event("lock-wait", detail=f"another gbl is building here; waiting for {self._path}"))
            try:
                self._lock.acquire(timeout=LOCK_TIMEOUT_S)
            except Timeout:
                raise OutputError(
                    f"another gbl build held the lock for more than {LOCK_TIMEOUT_S} s",
                    where=str(self._path),
                    hint="wait for it to finish, or stop it; the lock frees itself when it exits",
                ) from None
        return self

    def __exit__(self, *exc):
        self._lock.release()


def _read_state(project_dir: Path) -> dict:
    try:
        data = json.loads((project_dir / STATE_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_state(project_dir: Path, out: Path, results) -> None:
    state = _read_state(project_dir)
    for r in results:
        key = str(out / f"{r.function.name}.zip")
        if r.ok and r.recipe:
            state[key] = {"recipe": r.recipe, "size": r.size, "sha256": r.sha256}
        else:
            state.pop(key, None)
    _write_if_changed(project_dir / STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode())


def _run(go, the_plan: Plan, out: Path, jobs: int, mtime, emit, environ, previous,
         started: Sequence[build_mod.Running] = ()) -> list[FunctionResult]:
    state = _read_state(the_plan.project_dir)
    results: dict[str, FunctionResult] = {}
    # name -> (future, Built, recipe): a zip being written to its staging path.  A zip started
    # from a binary Go had not finished with is provisional until the final Built agrees.
    pending: dict[str, tuple[Future, build_mod.Built, str]] = {}
    final: set[str] = set()
    buildable = [f for f in the_plan.functions if not f.cgo_files]
    local = [f for f in buildable if f.builder == "local"]
    containerised = [f for f in buildable if f.builder == "docker"]
    pool_box: list[Executor] = []
    pool_lock = threading.Lock()

    def pool() -> Executor:
        with pool_lock:  # created on first use: a no-op build starts no worker process
            if not pool_box:
                pool_box.append(_packaging_pool(jobs, len(the_plan.functions)))
            return pool_box[0]

    def drop(name: str) -> None:
        entry = pending.pop(name, None)
        if entry is not None:
            entry[0].cancel()
            try:
                entry[0].result()
            except BaseException:  # noqa: BLE001 - its zip is discarded either way
                pass
            _staging_path(out, name).unlink(missing_ok=True)

    def failed(fn: Function, message: str) -> None:
        drop(fn.name)
        results[fn.name] = FunctionResult(fn, ok=False, error=message)
        emit(Event("failed", fn.name, message))

    def consider(b: build_mod.Built, provisional: bool) -> None:
        fn = b.function
        if not provisional:
            emit(Event("built", fn.name, "relinked" if b.relinked else "up to date"))
        try:
            includes = package.resolve_includes(fn.include, the_plan.project_dir, function=fn.name)
            recipe = package.recipe(build_mod.binary_identity(b.binary) or "", includes, mtime) + fn.arch + fn.runtime
        except Exception as exc:  # noqa: BLE001 - reported per function, others go on
            if not provisional:
                failed(fn, str(exc))
            return
        dest = out / f"{fn.name}.zip"
        prev = previous.get(fn.name, {})
        known = state.get(str(dest), {})
        if known.get("recipe") == recipe and known.get("sha256") == prev.get("sha256") and _zip_matches(dest, prev):
            if not provisional:
                drop(fn.name)
                final.add(fn.name)
                results[fn.name] = _reused(fn, dest, prev, b.relinked, recipe)
            return
        entry = pending.get(fn.name)
        if entry is not None and entry[2] == recipe:
            if not provisional:  # the zip already on its way is of exactly this binary
                pending[fn.name] = (entry[0], b, recipe)
                final.add(fn.name)
            return
        drop(fn.name)  # a zip of an older binary: wait for it, then write the right one
        staged = _staging_path(out, fn.name)
        future = pool().submit(package_and_verify, b.binary, staged, includes, mtime, fn.arch, fn.runtime)
        pending[fn.name] = (future, b, recipe)
        if not provisional:
            final.add(fn.name)

    try:
        for fn in the_plan.functions:
            if fn.cgo_files:
                failed(fn, build_mod.cgo_failure(fn).output)
        for runner, fns in _runners(go, the_plan, local, containerised, environ, started, emit):
            if runner.links_while_running:
                # A binary already on disk whose zip is missing or stale is zipped now, while Go
                # checks it; Go's verdict (the final Built) confirms or replaces that zip.
                for call in build_mod.plan_calls(fns, the_plan.project_dir, jobs=jobs):
                    for fn in call.functions:
                        if call.binary(fn).is_file():
                            consider(build_mod.Built(fn, call.binary(fn), False), provisional=True)
                emit(Event("build", detail=f"go build ({len(fns)} function(s))"))
            builders.build(
                runner, the_plan, fns, jobs=jobs, on_built=lambda b: consider(b, False),
                on_failed=lambda f: failed(f.function, f.output), on_linked=lambda b: consider(b, True),
            )
        for name in [n for n in pending if n not in final]:
            drop(name)  # never confirmed by a final Built (cannot happen; never trust it)
        output_errors: list[OutputError] = []
        for name, (future, b, recipe) in list(pending.items()):
            fn = b.function
            try:
                packaged, verdict = future.result()
            except OutputError as exc:  # disk full, permissions: no zip of this run is trusted
                output_errors.append(exc)
                continue
            except Exception as exc:  # noqa: BLE001
                failed(fn, str(exc))
                continue
            results[name] = _fresh(fn, packaged, verdict, b.relinked, recipe, out / f"{name}.zip")
            if verdict.ok:
                emit(Event("packaged", name, f"{packaged.size} bytes"))
            else:
                packaged.path.unlink()
                emit(Event("failed", name, "failed verify"))
        if output_errors:
            raise output_errors[0]
    except BaseException:
        # Nothing is committed: the previous zips and manifest stay exactly as they were.
        for p in pool_box:
            p.shutdown(wait=True, cancel_futures=True)
        package.sweep_temporaries(out)
        raise
    finally:
        for p in pool_box:
            p.shutdown(wait=True, cancel_futures=True)
    return [results[f.name] for f in the_plan.functions if f.name in results]


def _runners(go, the_plan: Plan, local, containerised, environ, started, emit):
    """(runner, its functions) for each kind of builder in use: one signature for all."""
    if local:
        yield build_mod.LocalRunner(go, the_plan.project_dir, started), local
    if containerised:
        from .builders.docker import DockerRunner

        yield DockerRunner(the_plan, environ, lambda kind, detail: emit(Event(kind, detail=detail))), containerised


def _packaging_pool(jobs: int, count: int) -> Executor:
    # libdeflate holds the GIL while it compresses, so parallel packaging needs processes.  The
    # platform's default start method: "spawn" would re-import the caller's __main__ in every
    # worker, which breaks library callers whose script has no __main__ guard (or is stdin).
    if jobs > 1 and count > 1:
        from concurrent.futures import ProcessPoolExecutor

        import multiprocessing

        from . import children

        # Workers never outlive gbl, even a SIGKILLed one: a watchdog everywhere, and on Linux
        # PR_SET_PDEATHSIG when they are forked by the main thread (which lives as long as gbl;
        # Linux signals a child when the *thread* that forked it ends).
        forked_here = (multiprocessing.get_start_method() == "fork"
                       and threading.current_thread() is threading.main_thread())
        pool = ProcessPoolExecutor(max_workers=min(jobs, count), initializer=children.worker_init,
                                   initargs=(os.getpid(), forked_here))
        if forked_here:
            pool.submit(os.getpid)  # forks every worker now, from this thread
        return pool
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1)


def _start_speculative(go, root: Path, selection: dict) -> list[build_mod.Running]:
    """Start the last build's ``go build`` calls again, if it was the same selection."""
    try:
        data = json.loads((root / CALLS_FILE).read_text(encoding="utf-8"))
        if data.get("selection") != selection:
            return []
        calls = [(tuple(c["args"]), tuple((k, v) for k, v in c["env"]), Path(c["out_dir"]),
                  [Path(c["out_dir"]) / b for b in c["binaries"]]) for c in data["calls"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    build_dir = (root / build_mod.BUILD_DIR).resolve()
    if any(build_dir not in out_dir.resolve().parents for _, _, out_dir, _ in calls):
        return []  # only ever gbl's own build directory
    return [build_mod.start_call(go, args, env, out_dir, root, binaries=bins) for args, env, out_dir, bins in calls]


class _Reaper:
    """Exit handler for speculative processes: wait for them (stop them if the build failed)."""

    def __init__(self, started: Sequence[build_mod.Running]):
        self.started = started

    def __call__(self, exc_type, exc, tb) -> bool:
        for r in self.started:
            if r.proc.poll() is None and exc_type is not None:
                r.stop()
            r.wait()
        return False


def _write_calls(the_plan: Plan, jobs: int, selection: dict) -> None:
    local = [f for f in the_plan.functions if f.builder == "local" and not f.cgo_files]
    calls = build_mod.plan_calls(local, the_plan.project_dir, jobs=jobs)
    doc = {"selection": selection, "calls": [
        {"args": list(c.args), "env": [list(kv) for kv in c.env], "out_dir": str(c.out_dir),
         "binaries": sorted(c.binary(f).name for f in c.functions)} for c in calls]}
    _write_if_changed(the_plan.project_dir / CALLS_FILE, json.dumps(doc, indent=1, sort_keys=True).encode())


def _write_if_changed(path: Path, data: bytes) -> None:
    # A no-op build rewrites nothing (no fsync, no mtime change).
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    package.write_atomic(path, data)


def package_and_verify(binary, dest, includes, mtime, arch, runtime):
    """Zip one function and verify the result (runs in a worker process)."""
    from . import verify

    packaged = package.package_binary(binary, dest, includes=includes, mtime=mtime)
    verdict = verify.verify_zip(dest, arch=arch, runtime=runtime)
    return packaged, verdict


def _zip_matches(dest: Path, prev: Mapping) -> bool:
    try:
        return dest.stat().st_size == prev.get("size")
    except OSError:
        return False


def _remove_zip(out: Path, name: str, previous: Mapping) -> None:
    for path in {out / f"{name}.zip", out / str(previous.get(name, {}).get("zip", f"{name}.zip"))}:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(
                f"cannot remove the stale zip {path}: {exc.strerror}", where=str(path),
                hint="delete it by hand: it does not match the current sources",
            ) from exc


def _staging_path(out: Path, name: str) -> Path:
    # A complete zip waits here until the commit step renames it into place (see build()).
    return out / f".{name}.zip.{os.getpid()}.staged.tmp"


def _fresh(fn, packaged, verdict, relinked, recipe, final: Path) -> FunctionResult:
    problems = [c for c in verdict.checks if c.status == "fail"]
    return FunctionResult(
        fn, ok=verdict.ok, zip_path=final if verdict.ok else None, size=packaged.size,
        sha256=packaged.sha256, code_sha256=packaged.code_sha256, relinked=relinked,
        rezipped=True, verdict=verdict, error="; ".join(f"{c.id}: {c.message}" for c in problems),
        go_version=verdict.go_version or "", aws_lambda_go=verdict.aws_lambda_go or "",
        recipe=recipe,
    )


def _reused(fn, dest, prev, relinked, recipe) -> FunctionResult:
    return FunctionResult(
        fn, ok=True, zip_path=dest, size=prev["size"], sha256=prev["sha256"],
        code_sha256=prev["code_sha256"], relinked=relinked, rezipped=False,
        go_version=prev.get("go_version", ""), aws_lambda_go=prev.get("aws_lambda_go") or "",
        recipe=recipe,
    )


def _entry(r: FunctionResult, out: Path) -> dict:
    fn = r.function
    return {
        "package": fn.package,
        "dir": fn.rel_dir,
        "arch": fn.arch,
        "runtime": fn.runtime,
        "zip": r.zip_path.name,
        "size": r.size,
        "sha256": r.sha256,
        "code_sha256": r.code_sha256,
        "go_version": r.go_version,
        "aws_lambda_go": r.aws_lambda_go or None,
        "builder": fn.builder,
        "flags": {
            "GOOS": "linux",
            "GOARCH": fn.arch,
            "CGO_ENABLED": "0",
            "tags": list(fn.tags),
            "ldflags": fn.ldflags,
            "trimpath": True,
            "buildvcs": False,
            "env": dict(fn.env),
        },
        "include": [i.pattern for i in fn.include],
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


def merge_manifests(dirs: Sequence[Path | str], out_dir: Path | str) -> Path:
    """``gbl manifest merge``: one manifest (and every zip) from the outputs of shard builds.

    A function built by two shards with different results is a conflict; every zip is checked
    against its manifest sha256 before it is copied.
    """
    import hashlib

    out = Path(out_dir)
    merged = manifest.merge([Path(d) for d in dirs])
    _ensure_writable(out)
    for name, entry in merged.items():
        src = next((Path(d) / entry["zip"] for d in dirs if (Path(d) / entry["zip"]).is_file()), None)
        if src is None:
            raise UsageError(f"function {name!r}: {entry['zip']} is in a manifest but in none of the directories")
        if hashlib.sha256(src.read_bytes()).hexdigest() != entry.get("sha256"):
            raise UsageError(
                f"function {name!r}: {src} does not match its manifest sha256",
                hint="the shard output was changed after it was built; rebuild it",
            )
        dest = out / entry["zip"]
        if src.resolve() != dest.resolve():
            package.write_atomic(dest, src.read_bytes())
    return manifest.write(out, merged)
