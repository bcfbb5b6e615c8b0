"""Every process gbl starts dies with it: process groups, parent-death signals, watchdogs.

* ``spawn`` starts a child in its own process group (its own session on POSIX), so stopping it
  stops what it started too (``go build``'s compilers and linker); on Linux the child also gets
  ``PR_SET_PDEATHSIG``, so a SIGKILLed gbl still takes it down.
* Every spawned child is in one registry of this Python process: ``interrupt_all`` (the CLI's
  SIGINT / SIGTERM handler) signals them all at once, and an ``atexit`` hook stops what is left.
  The registry is process-wide on purpose: signals and child processes are process-wide.
* ``wait_output`` waits for a child and says, every ``REPORT_EVERY_S``, what it is waiting for;
  on any exception (Ctrl-C included) it stops the child before re-raising.
* ``workers_can_start`` says whether the packaging pool may use processes: with the ``spawn`` or
  ``forkserver`` start method (Windows, macOS, Python 3.14 on Linux) each worker re-imports the
  caller's ``__main__``, which would run a script without an ``if __name__ == "__main__"`` guard
  again in every worker; such a caller gets threads.
* ``worker_init`` is the initializer of the packaging pool's worker processes: a parent-death
  signal where it is safe, and a watchdog thread (portable) that ends the worker when its parent
  is gone.

Stopping is SIGINT to the whole group (``go`` then removes its work directory), and SIGKILL to
the group after ``STOP_GRACE_S``.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from typing import Callable, Sequence

STOP_GRACE_S = 3.0  # SIGINT, then SIGKILL this much later
REPORT_EVERY_S = 5.0  # a wait says what it waits for at least this often
WATCHDOG_POLL_S = 0.25  # how often a packaging worker checks that its parent lives
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Stopped(KeyboardInterrupt):
    """gbl is stopping (SIGINT / SIGTERM): no new process is started (unwinds like Ctrl-C)."""


# ----------------------------------------------------------------------------- parent death
_prctl_box: list = []


def _prctl():
    """libc's ``prctl`` (Linux), resolved once in the parent so a forked child only calls it."""
    if not _prctl_box:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).prctl
                fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):
                fn = None
        _prctl_box.append(fn)
    return _prctl_box[0]


def set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when the thread that forked it ends."""
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def _child_setup(prctl, sig: int, parent: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec: no locks, no imports
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return setup


# ---------------------------------------------------------------------------------- registry
class _Registry:
    def __init__(self) -> None:
        # Re-entrant: the signal handler (interrupt_all) runs in the main thread, possibly while
        # that thread is inside add or discard holding the lock.
        self._lock = threading.RLock()
        self._live: weakref.WeakSet[subprocess.Popen] = weakref.WeakSet()
        self._stopping = False

    def add(self, proc: subprocess.Popen) -> None:
        try:
            with self._lock:
                self._live.add(proc)
                stopping = self._stopping
        except BaseException:  # the signal handler ran in here (KeyboardInterrupt): stop it too
            stop(proc)
            raise
        if stopping:
            stop(proc)
            raise Stopped("gbl is stopping: no new process is started")

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(proc)

    def live(self) -> list[subprocess.Popen]:
        with self._lock:
            return [p for p in self._live if p.returncode is None]

    def check(self) -> None:
        if self._stopping:
            raise Stopped("gbl is stopping: no new process is started")

    def interrupt_all(self) -> None:
        """Signal every child's group (no waiting: safe in a signal handler); start nothing more."""
        with self._lock:
            self._stopping = True
            procs = list(self._live)
        for p in procs:
            _signal_group(p, signal.SIGINT)

    def stop_all(self) -> None:
        procs = self.live()
        for p in procs:
            _signal_group(p, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        for p in procs:
            while p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        for p in procs:
            _signal_group(p, getattr(signal, "SIGKILL", signal.SIGTERM))


_REGISTRY = _Registry()
atexit.register(_REGISTRY.stop_all)


def interrupt_all() -> None:
    """Send SIGINT to every child's process group and refuse new ones (the CLI's signal handler)."""
    _REGISTRY.interrupt_all()


def stop_all() -> None:
    """Stop every child still running (SIGINT, then SIGKILL after ``STOP_GRACE_S``)."""
    _REGISTRY.stop_all()


def live() -> list[subprocess.Popen]:
    return _REGISTRY.live()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif proc.returncode is None:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def stop(proc: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    """Stop ``proc`` and its process group: SIGINT, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGINT)
        deadline = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    # Whatever is left in the group (a compiler whose `go` already exited) goes too.
    _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
    if proc.poll() is None:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    _REGISTRY.discard(proc)


# ------------------------------------------------------------------------------------ spawning
def spawn(argv: Sequence[str], *, death_signal: int = signal.SIGINT, popen=subprocess.Popen, **kwargs):
    """Start ``argv`` in its own process group, dying with gbl; registered until waited for."""
    _REGISTRY.check()
    if os.name == "posix":
        kwargs["start_new_session"] = True
        prctl = _prctl()
        if prctl is not None:
            kwargs["preexec_fn"] = _child_setup(prctl, int(death_signal), os.getpid())
    else:  # Windows: its own group, so a console Ctrl-C goes to gbl, which stops it
        kwargs["creationflags"] = kwargs.get("creationflags", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    proc = popen(list(argv), **kwargs)
    _REGISTRY.add(proc)
    return proc


def wait_output(
    proc: subprocess.Popen,
    *,
    describe: str,
    report: Callable[[str], None] | None = None,
    poll: float | None = None,
    on_poll: Callable[[], None] | None = None,
    every: float = REPORT_EVERY_S,
) -> tuple[str, str]:
    """``proc.communicate()``, saying every ``every`` seconds what is waited for (``describe``).

    ``on_poll`` runs every ``poll`` seconds while the process runs.  On any exception (Ctrl-C,
    SIGTERM) the process group is stopped before the exception goes on.
    """
    start = time.monotonic()
    next_report = start + every
    try:
        while True:
            timeouts = [t for t in (poll, next_report - time.monotonic() if report else None) if t is not None]
            try:
                out, err = proc.communicate(timeout=max(0.0, min(timeouts)) if timeouts else None)
                break
            except subprocess.TimeoutExpired:
                pass
            if on_poll is not None:
                on_poll()
            now = time.monotonic()
            if report is not None and now >= next_report:
                report(f"waiting for {describe}: running for {int(now - start)} s")
                next_report = now + every
    except BaseException:
        stop(proc)
        raise
    _REGISTRY.discard(proc)
    return out, err


# ------------------------------------------------------------------------ packaging workers
def worker_init(parent: int, death_signal: bool) -> None:
    """Initializer of a packaging worker process: it never outlives gbl.

    ``death_signal``: arm PR_SET_PDEATHSIG (Linux) - only when the thread that forked this worker
    lives as long as gbl (Linux sends the signal when that *thread* ends).  The watchdog works
    everywhere: it exits as soon as this worker's parent changes (the parent died).
    """
    if death_signal and os.getppid() == parent:
        set_parent_death_signal(getattr(signal, "SIGKILL", signal.SIGTERM))
    ppid = os.getppid()
    if ppid != parent and death_signal:
        os._exit(1)
    threading.Thread(target=_watchdog, args=(ppid,), name="gbl-watchdog", daemon=True).start()


def _watchdog(ppid: int) -> None:
    while True:
        time.sleep(WATCHDOG_POLL_S)
        if os.getppid() != ppid:
            os._exit(1)


# ------------------------------------------------------------------- may workers be processes?
def workers_can_start() -> bool:
    """True when packaging worker processes can start without re-running the caller's code.

    ``fork`` copies the process: always safe.  ``spawn`` / ``forkserver`` re-import ``__main__``
    in each worker (as ``__mp_main__``), except a package's ``__main__`` (``python -m
    gobuild_lambda``, a ``gbl.exe`` launcher) or a main with no file (``-c``, a REPL, Jupyter).  A
    script is safe when all its top-level code is imports, definitions, assignments without calls
    and ``if __name__ == "__main__":`` blocks (the ``gbl`` console script is); anything else (a
    script that calls ``gobuild_lambda.build()`` at top level) would run again in every worker.
    """
    import multiprocessing

    if multiprocessing.get_start_method() == "fork":
        return True
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None) or ""
    if name == "__main__" or name.endswith(".__main__"):
        return True  # multiprocessing never re-imports these
    path = getattr(spec, "origin", None) if name else getattr(main, "__file__", None)
    if not path:
        return True
    try:
        with open(path, "rb") as fh:
            return main_is_guarded(fh.read())
    except (OSError, ValueError):  # '<stdin>', a zip launcher we cannot read: assume the worst
        return False


def main_is_guarded(source: bytes | str) -> bool:
    """Whether importing this module's source runs nothing but imports and definitions."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None and not any(
                isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)) for n in ast.walk(stmt.value)):
            continue
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            continue
        if isinstance(stmt, ast.If) and _is_main_test(stmt.test) and not stmt.orelse:
            continue
        return False
    return True


def _is_main_test(test) -> bool:
    import ast

    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1
