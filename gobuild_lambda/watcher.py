"""``gbl watch``: build, serve every function warm on 127.0.0.1, rebuild on save.

(The module is ``watcher``, not ``watch``, so that ``gobuild_lambda.watch`` stays the function.)

The library API::

    gobuild_lambda.watch("path/to/module", port=9000, on_event=print, stop=threading.Event())

- **Build** through the normal pipeline (``pipeline.build``); every verified zip is *copied* into
  gbl's private directory before it is served, because a later failed build removes
  ``dist/<name>.zip`` while the previous version must keep serving.
- **Serve** (devserver.py) from a ``Pool``: per function, warm emulators (invoker.emulator_for)
  started on first call and reused; a call that finds every instance busy starts another, up to
  ``concurrency`` (default 4) per function; past it a synchronous call is refused at once with
  429 TooManyRequestsException (Lambda's answer at a concurrency limit, which SDKs retry) and an
  Event call waits for a free instance.  An instance whose call crashed or timed out is closed
  (``Invocation.reusable``).  Every emulator is started by one long-lived thread (``_Starter``):
  the parent-death signal of a process fires when the *thread* that started it exits.
- **Watch** the project (``watchfiles``, imported here only) for ``*.go``, ``go.mod``,
  ``go.sum``, ``go.work(.sum)`` and ``gbl.toml``, ignoring ``dist/``, ``.gbl/``, ``vendor/``,
  VCS folders and ``testdata/``; a burst of saves is one rebuild (watchfiles' debounce); the
  incremental build relinks only what changed, and only a function whose zip bytes or settings
  changed is swapped: new calls go to the new version, idle old instances are closed, busy ones
  when their call ends.  A failed build is reported per function (Go's message) and the previous
  version keeps serving.
- **Stop** (``stop`` set, Ctrl-C, SIGTERM): the server, every emulator with its runtime (qemu,
  bootstrap), and the private directory are gone when ``watch`` returns or raises.

Nothing here prints: progress and requests go to ``on_event(WatchEvent)``, function logs to
``on_log(function, line)``.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from . import devserver
from .emulator import TEMP_PREFIX, Emulator, Invocation, sweep_stale_dirs
from .errors import BuildFailed, GblError, UsageError, VerifyFailed
from .planner import Function

DEFAULT_PORT = 9000
DEFAULT_CONCURRENCY = 4
DEBOUNCE_MS = 600  # watchfiles groups the changes of a burst of saves this long at most...
QUIET_MS = 150  # ...yielding them once no file has changed for this long (a busy machine stalls)
WATCHED_NAMES = {"go.mod", "go.sum", "go.work", "go.work.sum", "gbl.toml"}
IGNORED_DIRS = {"dist", ".gbl", "vendor", "testdata", ".git", ".hg", ".svn", ".jj", "node_modules"}
LOG_TAIL_LINES = 200


@dataclass(frozen=True)
class WatchEvent:
    """Progress for the CLI.  kind: serving (detail: the URL) | building (detail: why) |
    built (function, detail: "swapped" or "unchanged") | failed (function, detail: Go's message
    or the verify failure) | error (detail: a GblError's text: gbl.toml, a tool) | request
    (request: devserver.Request) | progress (detail: a long-running go, a lock wait) | done (detail: how long the build took) | stopping."""

    kind: str
    function: str = ""
    detail: str = ""
    request: devserver.Request | None = None


@dataclass(frozen=True)
class Served:
    """One function's version being served: its settings and the private copy of its zip."""

    fn: Function
    zip_path: Path
    sha256: str


# ----------------------------------------------------------------------------------- pool
class _Starter(threading.Thread):
    """The one thread that starts every emulator; it lives as long as the pool."""

    def __init__(self) -> None:
        super().__init__(name="gbl-emulator-starter", daemon=True)
        self._jobs: queue.Queue = queue.Queue()
        self._stopping = False
        self._lock = threading.Lock()

    def run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fut, fn = job
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)
        while not self._jobs.empty():  # asked for while stopping: nobody waits forever
            job = self._jobs.get()
            if job is not None:
                job[0].set_exception(devserver.NotReady("gbl watch is stopping"))

    def call(self, fn: Callable[[], Emulator]) -> Emulator:
        fut: Future = Future()
        with self._lock:
            if self._stopping:
                raise devserver.NotReady("gbl watch is stopping")
            self._jobs.put((fut, fn))
        return fut.result()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._jobs.put(None)
        self.join(timeout=30)


class _Instance:
    def __init__(self, served: Served) -> None:
        self.served = served
        self.emu: Emulator | None = None
        self.tail: list[str] = []


class Pool:
    """Warm emulators per function (see the module docstring).  Thread-safe."""

    def __init__(self, tools, *, workdir: Path, region: str, extra_env: Mapping[str, str] = (),
                 concurrency: int = DEFAULT_CONCURRENCY,
                 on_log: Callable[[str, str], None] = lambda fn, line: None) -> None:
        self.tools = tools
        self.workdir = workdir
        self.region = region
        self.extra_env = dict(extra_env)
        self.concurrency = concurrency
        self.on_log = on_log
        self._cv = threading.Condition()
        self._served: dict[str, Served] = {}
        self._known: set[str] = set()  # planned, maybe without a working build yet
        self._idle: dict[str, list[_Instance]] = {}
        self._busy: dict[str, int] = {}
        self._live: set[_Instance] = set()
        self._closed = False
        self._generation = 0
        self._starter = _Starter()
        self._starter.start()

    # -------------------------------------------------------------- versions
    def names(self) -> list[str]:
        with self._cv:
            return sorted(self._known)

    def served(self, name: str) -> Served | None:
        with self._cv:
            return self._served.get(name)

    def set_known(self, names: Iterable[str]) -> None:
        with self._cv:
            self._known = set(names)
            for gone in set(self._served) - self._known:
                del self._served[gone]
            self._drop_idle(lambda inst: inst.served.fn.name not in self._known)

    def set_tools(self, tools) -> None:
        """The emulator and wrappers for instances started from now on (a new arch appeared)."""
        with self._cv:
            self.tools = tools

    def update(self, fn: Function, zip_path: Path, sha256: str) -> bool:
        """Serve this verified zip for ``fn`` from now on; False when it is what already serves."""
        with self._cv:
            old = self._served.get(fn.name)
            if old is not None and old.sha256 == sha256 and old.fn == fn:
                return False
            self._generation += 1
            copy = self.workdir / f"{fn.name}.{self._generation}.zip"
        shutil.copyfile(zip_path, copy)
        with self._cv:
            self._served[fn.name] = Served(fn, copy, sha256)
            self._known.add(fn.name)
            self._drop_idle(lambda inst: inst.served.fn.name == fn.name)
            self._cv.notify_all()
        if old is not None:
            old.zip_path.unlink(missing_ok=True)  # emulators unpacked it when they started
        return True

    def _drop_idle(self, which: Callable[[_Instance], bool]) -> None:
        """Close idle instances ``which`` selects (called with the lock held; closing is quick)."""
        for name, idle in self._idle.items():
            for inst in [i for i in idle if which(i)]:
                idle.remove(inst)
                self._close(inst)

    def _close(self, inst: _Instance) -> None:
        self._live.discard(inst)
        if inst.emu is not None:
            inst.emu.close()

    # -------------------------------------------------------------- calls
    def invoke(self, name: str, payload: bytes, wait: bool) -> devserver.Call:
        inst = self._acquire(name, wait)
        inv: Invocation | None = None
        try:
            if inst.emu is None:
                inst.emu = self._starter.call(lambda: self._start(inst))
            inst.tail.clear()
            timeout = inst.served.fn.timeout
            inv = inst.emu.invoke(payload, timeout_s=timeout)
        except GblError as exc:  # the emulator did not start or stopped answering
            inv = None
            raise devserver.NotReady(f"function {name}: {exc.message}") from exc
        except OSError as exc:  # its zip copy replaced by a newer build while it was starting
            inv = None
            raise devserver.NotReady(f"function {name}: {exc}; call again") from exc
        finally:
            self._release(name, inst, inv is not None and inv.reusable)
        return devserver.Call(inv.status, inv.payload, inv.request_id, inv.error_type, inv.error_message,
                              "\n".join(inst.tail) + "\n")

    def _start(self, inst: _Instance) -> Emulator:
        from .invoker import emulator_for

        fn = inst.served.fn
        tail = inst.tail

        def log(line: str) -> None:
            tail.append(line)
            del tail[:-LOG_TAIL_LINES]
            self.on_log(fn.name, line)

        emu = emulator_for(fn, inst.served.zip_path, self.tools, timeout=fn.timeout, region=self.region,
                           extra_env=self.extra_env, on_log=log)
        emu.env["AWS_LAMBDA_LOG_STREAM_NAME"] = "gbl-watch"
        try:
            emu.start()
        except BaseException:
            emu.close()
            raise
        return emu

    def _acquire(self, name: str, wait: bool) -> _Instance:
        with self._cv:
            while True:
                if self._closed:
                    raise devserver.NotReady("gbl watch is stopping")
                served = self._served.get(name)
                if served is None:
                    if name in self._known:
                        raise devserver.NotReady(f"function {name} has no working build yet: fix the error "
                                                 "gbl watch printed, save, and call again")
                    raise devserver.NotFound(name)
                idle = self._idle.setdefault(name, [])
                if idle:
                    inst = idle.pop()
                    break
                if self._busy.get(name, 0) < self.concurrency:
                    inst = _Instance(served)
                    self._live.add(inst)
                    break
                if not wait:
                    raise devserver.Busy(name)
                self._cv.wait()
            self._busy[name] = self._busy.get(name, 0) + 1
            return inst

    def _release(self, name: str, inst: _Instance, reusable: bool) -> None:
        with self._cv:
            self._busy[name] -= 1
            keep = (reusable and not self._closed and inst.emu is not None
                    and self._served.get(name) is inst.served)
            if keep:
                self._idle.setdefault(name, []).append(inst)
            self._cv.notify_all()
        if not keep:
            self._close(inst)

    def close(self) -> None:
        """Close every emulator, idle or busy, and stop the starter thread."""
        with self._cv:
            self._closed = True
            live = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._cv.notify_all()
        for inst in live:
            if inst.emu is not None:
                inst.emu.close()
        self._starter.stop()
        for inst in live:  # one being started while we closed
            if inst.emu is not None:
                inst.emu.close()


# ---------------------------------------------------------------------------------- files
def relevant(path: str, root: Path, out_dir: Path | None = None) -> bool:
    """Whether a change to ``path`` can change a function's build."""
    p = Path(path)
    try:
        rel = p.relative_to(root)
    except ValueError:
        return False
    if out_dir is not None and (p == out_dir or out_dir in p.parents):
        return False
    if any(part in IGNORED_DIRS for part in rel.parts[:-1]):
        return False
    name = p.name
    return (name.endswith(".go") and not name.startswith(".")) or name in WATCHED_NAMES


# ---------------------------------------------------------------------------------- watch
def watch(project_dir: Path | str = ".", names: Sequence[str] = (), *, port: int = DEFAULT_PORT,
          arch: str | None = None, env: Mapping[str, str] = (), environ: Mapping[str, str] | None = None,
          concurrency: int = DEFAULT_CONCURRENCY, on_event: Callable[[WatchEvent], None] | None = None,
          on_log: Callable[[str, str], None] | None = None, stop: threading.Event | None = None) -> None:
    """Build, serve and rebuild on save until ``stop`` is set (or Ctrl-C); see the module docstring.

    Raises UsageError (a bad name, the port in use), ToolMissing (emulator, qemu), or what the
    first build raises when it built nothing (gbl.toml, go.mod); a function that fails to
    compile is reported (``failed``), and the others serve."""
    from . import pipeline
    from .invoker import default_region, find_tools

    environ = dict(os.environ if environ is None else environ)
    emit = on_event or (lambda e: None)
    if not 1 <= concurrency <= 100:
        raise UsageError(f"--concurrency must be 1 to 100, got {concurrency}")
    plan = pipeline.make_plan(project_dir, arch=arch, env=environ)
    functions = [plan.function(n) for n in names] if names else list(plan.functions)
    tools = find_tools(plan, functions, environ)
    sweep_stale_dirs()
    workdir = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-watch-"))
    pool = Pool(tools, workdir=workdir, region=default_region(environ), extra_env=env,
                concurrency=concurrency, on_log=on_log or (lambda fn, line: None))
    server = None
    thread = None
    try:
        backend = devserver.Backend(invoke=pool.invoke, names=pool.names, region=pool.region,
                                    on_request=lambda r: emit(WatchEvent("request", r.function, request=r)))
        server = _bind(port, backend)
        build = _Builder(pipeline, plan.project_dir, names, arch, environ, pool, emit)
        build("start")
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="gbl-watch-server", daemon=True)
        thread.start()
        emit(WatchEvent("serving", detail=server.url))
        _watch_loop(plan.project_dir, build, stop)
    finally:
        emit(WatchEvent("stopping"))
        if thread is not None:
            server.shutdown()
        if server is not None:
            server.server_close()
        pool.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _bind(port: int, backend: devserver.Backend) -> devserver.Server:
    try:
        return devserver.Server(port, backend)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", where="--port",
                         hint="stop what uses it, or choose another port with --port N (0: any free port)") from None


def _watch_loop(root: Path, build: "_Builder", stop: threading.Event | None) -> None:
    import watchfiles

    out_dir = (root / "dist").resolve()
    for changes in watchfiles.watch(root, watch_filter=lambda _c, p: relevant(p, root, out_dir),
                                    debounce=DEBOUNCE_MS, step=QUIET_MS, stop_event=stop, raise_interrupt=True):
        files = sorted({os.path.relpath(p, root) for _c, p in changes})
        build(", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else ""))


class _Builder:
    """One (re)build through the pipeline; swaps what changed into the pool, reports the rest."""

    def __init__(self, pipeline, root: Path, names: Sequence[str], arch, environ, pool: Pool, emit) -> None:
        self.pipeline, self.root, self.names, self.arch = pipeline, root, list(names), arch
        self.environ, self.pool, self.emit = environ, pool, emit

    def __call__(self, why: str) -> None:
        from .invoker import find_tools

        self.emit(WatchEvent("building", detail=why))
        started = time.monotonic()
        try:
            report = self.pipeline.build(self.root, names=self.names, arch=self.arch, env=self.environ,
                                         on_event=self._progress)
        except (BuildFailed, VerifyFailed) as exc:
            report = exc.report
            if report is None:
                if why == "start":
                    raise
                self.emit(WatchEvent("error", detail=str(exc)))
                return
        except GblError as exc:  # gbl.toml, go.mod, a tool: the running versions keep serving
            if why == "start":  # nothing serves yet: the exit code says what is wrong
                raise
            self.emit(WatchEvent("error", detail=str(exc)))
            return
        self.pool.set_known(self.names or [r.function.name for r in report.results])
        arches = {r.function.arch for r in report.results if r.ok}
        if arches - set(self.pool.tools.wrappers):
            try:
                self.pool.set_tools(find_tools(report.plan, [r.function for r in report.results if r.ok],
                                               self.environ))
            except GblError as exc:
                self.emit(WatchEvent("error", detail=str(exc)))
                return
        for r in report.results:
            if not r.ok:
                self.emit(WatchEvent("failed", r.function.name, _failure_text(r)))
                continue
            swapped = self.pool.update(r.function, r.zip_path, r.sha256)
            if swapped or why == "start":
                self.emit(WatchEvent("built", r.function.name,
                                     f"{r.function.arch}, {'serving the new build' if why != 'start' else 'ready'}"))
        self.emit(WatchEvent("done", detail=f"{time.monotonic() - started:.1f} s"))


    def _progress(self, ev) -> None:
        if ev.kind in ("waiting", "lock-wait"):  # a long `go`, another gbl holding the lock
            self.emit(WatchEvent("progress", detail=ev.detail))


def _failure_text(r) -> str:
    if r.verdict is not None:
        fails = [c for c in getattr(r.verdict, "checks", ()) if c.status == "fail"]
        return "; ".join(f"{c.id}: {c.message}" for c in fails) or r.error
    return r.error.strip()


__all__ = ["watch", "Pool", "WatchEvent", "Served", "relevant", "DEFAULT_PORT", "DEFAULT_CONCURRENCY"]
