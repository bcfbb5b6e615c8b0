"""Packaging while Go builds: each function's zip is written (and verified) in a worker as soon as
its binary is known, into a staging path the commit step later renames into place.

A ``Packager`` is told about binaries as the builders report them:

* ``consider(built, provisional=False)``: Go's final word on a function.  A zip whose recipe
  (incremental.py) matches the one on disk is reused; else the zip is written in the pool;
* ``consider(built, provisional=True)``: a binary already on disk (or just linked) while Go still
  runs: its zip is started early, and kept only if the final word agrees (same recipe);
* ``failed(function, message)``: the function did not build; any zip started for it is dropped.

``finish()`` waits for the zips and returns one ``FunctionResult`` per function.  Used as a
context manager, it stops the pool on the way out, and on an error also removes every staged zip
(nothing of this run is committed: the previous zips and manifest stay exactly as they were).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import fsutil, incremental, manifest
from .builders.runner import Built, binary_identity
from .errors import OutputError
from .planner import Function

# (kind, function name, detail): the pipeline turns it into an Event.
Emit = Callable[[str, "str | None", str], None]


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
    recipe: str = ""  # the key of what decided the zip's bytes (incremental.Recipe)
    new: bool = False  # no zip of this function was in the output directory's manifest before

    @property
    def status(self) -> str:
        """failed | built (first zip) | relinked (new binary, new zip) | rezipped (same binary,
        new zip: includes or SOURCE_DATE_EPOCH changed) | up to date (the zip was reused)."""
        if not self.ok:
            return "failed"
        if not self.rezipped:
            return "up to date"
        if self.new:
            return "built"
        return "relinked" if self.relinked else "rezipped"


def staging_path(out: Path, name: str) -> Path:
    # A complete zip waits here until the commit step renames it into place (see pipeline.build()).
    return out / fsutil.temp_name(f"{name}.zip", "staged")


class Packager:
    """The zips of one build: reused, being written (pending), or failed."""

    def __init__(self, out: Path, *, jobs: int, count: int, mtime: int | None, state: Mapping,
                 previous: manifest.Manifest, includes: Mapping[str, Sequence], work: Callable, emit: Emit):
        self.out, self.jobs, self.count, self.mtime = out, jobs, count, mtime
        self.state, self.previous, self.includes = state, previous, includes
        self.work = work  # package_and_verify(binary, dest, includes, mtime, arch, runtime), picklable
        self.emit = emit
        self.results: dict[str, FunctionResult] = {}
        # name -> (future, Built, recipe): a zip being written to its staging path.  A zip started
        # from a binary Go had not finished with is provisional until the final Built agrees.
        self.pending: dict[str, tuple[Future, Built, str]] = {}
        self.final: set[str] = set()
        self._pools: list[Executor] = []
        self._pool_lock = threading.Lock()

    def __enter__(self) -> "Packager":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._shutdown()
        if exc_type is not None:
            # Nothing is committed: the previous zips and manifest stay exactly as they were.
            fsutil.sweep_temporaries(self.out)
        return False

    def _pool(self) -> Executor:
        with self._pool_lock:  # created on first use: a no-op build starts no worker process
            if not self._pools:
                self._pools.append(packaging_pool(self.jobs, self.count))
            return self._pools[0]

    def _shutdown(self) -> None:
        for p in self._pools:
            p.shutdown(wait=True, cancel_futures=True)

    def drop(self, name: str) -> None:
        entry = self.pending.pop(name, None)
        if entry is not None:
            entry[0].cancel()
            try:
                entry[0].result()
            except BaseException:  # noqa: BLE001 - its zip is discarded either way
                pass
            staging_path(self.out, name).unlink(missing_ok=True)

    def failed(self, fn: Function, message: str) -> None:
        self.drop(fn.name)
        self.results[fn.name] = FunctionResult(fn, ok=False, error=message)
        self.emit("failed", fn.name, message)

    def consider(self, b: Built, provisional: bool = False) -> None:
        fn = b.function
        if not provisional:
            self.emit("built", fn.name, "relinked" if b.relinked else "up to date")
        try:
            includes = self.includes[fn.name]
            recipe = incremental.recipe(binary_identity(b.binary) or "", includes, self.mtime,
                                        fn.arch, fn.runtime).key
        except Exception as exc:  # noqa: BLE001 - reported per function, others go on
            if not provisional:
                self.failed(fn, str(exc))
            return
        dest = self.out / f"{fn.name}.zip"
        prev = self.previous.get(fn.name)
        if incremental.can_reuse(self.state, dest, prev, recipe):
            if not provisional:
                self.drop(fn.name)
                self.final.add(fn.name)
                self.results[fn.name] = _reused(fn, dest, prev, b.relinked, recipe)
                self.emit("reused", fn.name, "zip up to date")
            return
        entry = self.pending.get(fn.name)
        if entry is not None and entry[2] == recipe:
            if not provisional:  # the zip already on its way is of exactly this binary
                self.pending[fn.name] = (entry[0], b, recipe)
                self.final.add(fn.name)
            return
        self.drop(fn.name)  # a zip of an older binary: wait for it, then write the right one
        staged = staging_path(self.out, fn.name)
        future = self._pool().submit(self.work, b.binary, staged, includes, self.mtime, fn.arch, fn.runtime)
        self.pending[fn.name] = (future, b, recipe)
        if not provisional:
            self.final.add(fn.name)

    def finish(self, order: Sequence[str]) -> list[FunctionResult]:
        """Wait for every zip; the results of the functions in ``order`` that have one.  Raises the
        first OutputError (disk full, permissions): then no zip of this run is trusted."""
        for name in [n for n in self.pending if n not in self.final]:
            self.drop(name)  # never confirmed by a final Built (cannot happen; never trust it)
        output_errors: list[OutputError] = []
        for name, (future, b, recipe) in list(self.pending.items()):
            fn = b.function
            try:
                packaged, verdict = future.result()
            except OutputError as exc:
                output_errors.append(exc)
                continue
            except Exception as exc:  # noqa: BLE001
                self.failed(fn, str(exc))
                continue
            self.results[name] = _fresh(fn, packaged, verdict, b.relinked, recipe, self.out / f"{name}.zip",
                                        new=self.previous.get(name) is None)
            if verdict.ok:
                self.emit("packaged", name, f"{packaged.size} bytes")
            else:
                packaged.path.unlink()
                self.emit("failed", name, "failed verify")
        if output_errors:
            raise output_errors[0]
        return [self.results[n] for n in order if n in self.results]


def packaging_pool(jobs: int, count: int) -> Executor:
    # libdeflate holds the GIL while it compresses, so parallel packaging needs processes.  The
    # platform's default start method; where that is "spawn" / "forkserver" (Windows, macOS) a
    # worker re-imports the caller's __main__, so a script with no __main__ guard (or stdin) gets
    # threads instead of running again in every worker (children.workers_can_start).
    from . import children

    if jobs > 1 and count > 1 and children.workers_can_start():
        from concurrent.futures import ProcessPoolExecutor

        import multiprocessing

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

    return ThreadPoolExecutor(max_workers=max(1, min(jobs, count)))


def _fresh(fn, packaged, verdict, relinked, recipe, final: Path, new: bool = False) -> FunctionResult:
    problems = [c for c in verdict.checks if c.status == "fail"]
    return FunctionResult(
        fn, ok=verdict.ok, zip_path=final if verdict.ok else None, size=packaged.size,
        sha256=packaged.sha256, code_sha256=packaged.code_sha256, relinked=relinked,
        rezipped=True, verdict=verdict, error="; ".join(f"{c.id}: {c.message}" for c in problems),
        go_version=verdict.go_version or "", aws_lambda_go=verdict.aws_lambda_go or "",
        recipe=recipe, new=new,
    )


def _reused(fn, dest, prev: manifest.ManifestEntry, relinked, recipe) -> FunctionResult:
    return FunctionResult(
        fn, ok=True, zip_path=dest, size=prev.size, sha256=prev.sha256,
        code_sha256=prev.code_sha256, relinked=relinked, rezipped=False,
        go_version=prev.go_version, aws_lambda_go=prev.aws_lambda_go or "",
        recipe=recipe,
    )


__all__ = ["FunctionResult", "Packager", "packaging_pool", "staging_path"]
