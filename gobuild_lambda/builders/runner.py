"""One Runner protocol for builds, and what every runner shares.

A runner differs from another only in how it starts a ``go build`` call and waits for it (the
host's ``go``, or the same command in a container).  Everything else is here, once:

* the thread pool (one thread per call, at most ``jobs``), and stopping every runner's work when
  the caller is interrupted (Ctrl-C, SIGTERM: KeyboardInterrupt);
* relink detection: a binary whose identity (Go build ID and size) changed was relinked;
* failure attribution: a failed group is rebuilt one function at a time, so every error is
  attributed to the function that has it, and the others still finish.
"""

from __future__ import annotations

import hashlib
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Mapping, Protocol, Sequence

from ..planner import Function, Plan
from .calls import GoBuildCall, plan_calls

# How often a running `go build` is checked for binaries it has finished linking.
LINK_POLL_S = 0.05


@dataclass(frozen=True)
class Built:
    function: Function
    binary: Path
    relinked: bool  # False when Go found the binary up to date


@dataclass(frozen=True)
class BuildFailure:
    function: Function
    output: str  # Go's own message


class Started(Protocol):
    """A started call: what its outputs' identities were before it started."""

    before: Mapping[Path, str | None]


class Runner(Protocol):
    """How one kind of builder starts a ``go build`` call and waits for it."""

    name: str  # "local" | "docker"
    links_while_running: bool  # can report binaries while Go still links others
    inline: bool  # may run a lone call in the caller's thread

    def open(self, calls: Sequence[GoBuildCall]) -> ContextManager[None]:
        """Set up for ``calls`` (a daemon connection, images...); tear down on exit."""

    def start(self, call: GoBuildCall) -> Started:
        """Start ``call`` (or claim an identical one started earlier)."""

    def wait(self, started: Started, call: GoBuildCall, on_poll: Callable[[], None] | None) -> tuple[int, str]:
        """Wait for it: (exit code, Go's output); ``on_poll`` runs every LINK_POLL_S meanwhile."""

    def stop(self) -> None:
        """Stop everything still running and start nothing more (the caller was interrupted)."""

    @property
    def stopped(self) -> bool: ...


def build(
    runner: Runner,
    plan: Plan,
    functions: Sequence[Function],
    *,
    jobs: int,
    on_built: Callable[[Built], None] | None = None,
    on_failed: Callable[[BuildFailure], None] | None = None,
    on_linked: Callable[[Built], None] | None = None,
) -> tuple[tuple[Built, ...], tuple[BuildFailure, ...]]:
    """Build ``functions`` with ``runner``; every call runs, failures are collected.

    ``on_built`` / ``on_failed`` hear of each result as its call ends; ``on_linked`` (runners
    that ``links_while_running``) hears of binaries while Go is still linking others: a
    provisional report the caller checks against the final ``Built``.
    """
    calls = plan_calls(functions, plan.project_dir, jobs=jobs)
    if not calls:
        return (), ()

    def one(call: GoBuildCall):
        b, f = run_call(runner, call, on_linked)
        if not runner.stopped:
            dispatch(b, f, on_built, on_failed)
        return b, f

    with runner.open(calls):
        if len(calls) == 1 and runner.inline:  # the common case: no thread
            try:
                results = [one(calls[0])]
            except BaseException:
                runner.stop()
                raise
        else:
            results = _in_threads(runner, calls, one, jobs)
    built = tuple(x for b, _ in results for x in b)
    failed = tuple(x for _, f in results for x in f)
    return built, failed


def _in_threads(runner: Runner, calls, one, jobs: int) -> list:
    # Work starts in worker threads only: Ctrl-C lands in this (main) thread, which then stops
    # the runner's work; a worker never holds a process or container the runner cannot see.
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(calls))), thread_name_prefix=f"gbl-{runner.name}")
    ok = False
    try:
        futures = [pool.submit(one, call) for call in calls]
        results = [fut.result() for fut in futures]
        ok = True
        return results
    finally:
        _shutdown(runner, pool, stop=not ok)


def _shutdown(runner: Runner, pool: ThreadPoolExecutor, stop: bool) -> None:
    interrupted = False
    while True:
        try:
            if stop:
                runner.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            break
        except KeyboardInterrupt:  # a second Ctrl-C: keep cleaning up, then re-raise
            interrupted = stop = True
    if interrupted:
        raise KeyboardInterrupt


def run_call(
    runner: Runner, call: GoBuildCall, on_linked: Callable[[Built], None] | None = None,
) -> tuple[list[Built], list[BuildFailure]]:
    """Run one call; on failure, build its functions one by one to attribute errors.

    While Go links, ``on_linked`` hears of every output whose build ID changed and that held still
    for one poll, so packaging overlaps the links still to come.
    """
    started = runner.start(call)
    before = {fn: started.before[call.binary(fn)] if call.binary(fn) in started.before
              else binary_identity(call.binary(fn)) for fn in call.functions}
    watch = _LinkWatch(call, before, on_linked) if on_linked and runner.links_while_running else None
    code, output = runner.wait(started, call, watch.look if watch else None)
    if code == 0:
        return [Built(fn, call.binary(fn), before[fn] != binary_identity(call.binary(fn)))
                for fn in call.functions], []
    if len(call.functions) == 1:
        return [], [BuildFailure(call.functions[0], (output or "").strip())]
    built: list[Built] = []
    failed: list[BuildFailure] = []
    for fn in call.functions:
        b, f = run_call(runner, call.single(fn))
        built += [Built(x.function, x.binary, before[fn] != binary_identity(x.binary)) for x in b]
        failed += f
    return built, failed


class _LinkWatch:
    """Reports each output whose build ID changed once it held still for one poll.

    Cheap enough to run every LINK_POLL_S for the whole build: the output directory's mtime
    changes whenever Go puts a binary in it (a rename, or a file created anew), so while it holds
    still and nothing is settling, a poll is one ``stat``.  Reports are provisional anyway: the
    final build IDs confirm them.
    """

    def __init__(self, call: GoBuildCall, before: Mapping[Function, str | None], on_linked):
        self.call, self.before, self.on_linked = call, before, on_linked
        self.dir = str(call.out_dir)
        self.todo = {fn: str(call.binary(fn)) for fn in call.functions}  # not reported yet
        self.seen: dict[Function, tuple] = {}  # the output's (size, mtime, inode) at the last poll
        self.checked: dict[Function, tuple] = {}  # the key whose build ID was last read
        self.dir_key: int | None = None
        self.settling = False  # an output changed at the last poll: look again

    def look(self) -> None:
        try:
            dir_key = os.stat(self.dir).st_mtime_ns
        except OSError:
            return
        if dir_key == self.dir_key and not self.settling:
            return
        self.dir_key, self.settling = dir_key, False
        for fn, path in list(self.todo.items()):
            key = _stat_key(path)
            if key is None:
                continue
            if self.seen.get(fn) != key:
                self.seen[fn] = key  # new or still changing: look again at the next poll
                self.settling = True
                continue
            if self.checked.get(fn) == key:
                continue
            self.checked[fn] = key
            if binary_identity(path) != self.before[fn]:
                del self.todo[fn]
                self.on_linked(Built(fn, Path(path), True))


def _stat_key(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def dispatch(built, failed, on_built=None, on_failed=None) -> None:
    """Tell the caller of every binary built and every failure."""
    for x in built:
        if on_built:
            on_built(x)
    for x in failed:
        if on_failed:
            on_failed(x)


def cgo_failure(fn: Function) -> BuildFailure:
    files = ", ".join(fn.cgo_files)
    return BuildFailure(
        fn,
        f"{fn.rel_dir} needs cgo: {files} import \"C\", and Lambda functions are built with "
        "CGO_ENABLED=0 (a static binary that runs on every provided runtime).\n"
        "fix: replace the C dependency with pure Go, or give the package a pure-Go variant "
        "(e.g. a file with `//go:build !cgo`).",
    )


# A Go ELF binary carries its build ID in a PT_NOTE near the start: namesz=4, type=4, "Go\0\0".
_GO_NOTE = b"Go\x00\x00"
_GO_NOTE_TYPE = 4
_HEAD_BYTES = 32 * 1024  # cmd/go's buildid reader also looks only at the first 32 KiB


def binary_identity(path: Path) -> str | None:
    """What identifies a binary's bytes without hashing them: its Go build ID (the last part is a
    hash of the linked output) and its size.  Go touches an up-to-date output's mtime on every
    build, so mtimes cannot tell a relink from a no-op.  None when the file does not exist.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    i = head.find(_GO_NOTE)
    while i >= 12:
        namesz, descsz, kind = struct.unpack_from("<III", head, i - 12)
        if namesz == 4 and kind == _GO_NOTE_TYPE and i + 4 + descsz <= len(head):
            return f"{head[i + 4 : i + 4 + descsz].decode('ascii', 'replace')}|{size}"
        i = head.find(_GO_NOTE, i + 1)
    # Not found (not ELF, or an unusual layout): fall back to the content hash.
    return f"sha256:{hashlib.sha256(Path(path).read_bytes()).hexdigest()}|{size}"
