"""Running one unpacked function under the AWS Lambda Runtime Interface Emulator (RIE).

``Emulator`` is the reusable piece: ``gbl invoke`` starts one per call, ``gbl watch`` may keep one
warm per function.  It owns every process it starts and its task directory:

- the emulator runs in its own process group (``start_new_session``); the emulator starts the
  function's ``bootstrap`` (or qemu running it) in *another* group of its own, so ``close()``
  freezes the emulator, finds its descendants in /proc, and SIGKILLs their groups and its own;
- on Linux the emulator gets ``PR_SET_PDEATHSIG`` = SIGTERM, so if gbl is SIGKILLed the kernel
  tells the emulator; and the runtime is started through a tiny launcher (``_LAUNCHER``: prctl
  PR_SET_PDEATHSIG = SIGKILL, then exec the bootstrap or qemu) so it dies with the emulator,
  however the emulator ends (a Go program writing its log to gbl's closed pipe dies of SIGPIPE
  before it can kill its runtime).  The death signal fires when the *thread* that started the
  process exits: start emulators from a long-lived thread (the main thread, or a worker that lives
  as long as the emulator), never from a per-request thread.

Facts about the emulator (aws-lambda-rie, github.com/aws/aws-lambda-runtime-interface-emulator),
learned by running it:

- it passes its whole environment on to the function, so the environment it gets *is* the
  function's environment; ``AWS_LAMBDA_FUNCTION_TIMEOUT`` (whole seconds) is its timeout;
- the function's stdout and stderr, with ``START`` / ``END`` / ``REPORT`` lines, come out on the
  emulator's stdout; its own log (``[INFO] (rapid) …``) on stderr;
- a returned error answers 200 with ``{"errorMessage", "errorType"}`` (no X-Amz-Function-Error
  header); a crash (panic, exit) answers 502 with the error document when the runtime sent one; a
  timeout answers 200 with ``Task timed out after N.00 seconds``.  After a crash or a timeout the
  runtime is gone: start a new Emulator for the next call (``Invocation.reusable``).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Mapping, Sequence

from . import children
from .errors import GblError, ToolMissing, UsageError

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
TEMP_PREFIX = "gbl-invoke-"
# How long the emulator may take to listen, and how long past the function's own timeout gbl waits
# for the emulator to answer (init, and qemu's slower start) before it stops the run itself.
START_TIMEOUT_S = 30.0
GRACE_S = 30.0
# Run by the emulator as the runtime's first program: die with the emulator, then become the
# bootstrap (or qemu).  PR_SET_PDEATHSIG survives execve.
_LAUNCHER = ("import ctypes,os,sys;ctypes.CDLL(None).prctl(1,9,0,0,0);"
             "os.execv(sys.argv[1],sys.argv[1:])")
_TIMED_OUT = re.compile(rb"^Task timed out after [0-9.]+ seconds$")


@dataclass(frozen=True)
class Invocation:
    """One call's outcome.  status: ok | error (returned an error) | crash | timeout."""

    status: str
    payload: bytes  # the response body (the error document for error / crash)
    duration_s: float
    request_id: str
    http_status: int = 200
    error_type: str = ""
    error_message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def reusable(self) -> bool:
        """False when the runtime is gone (crash, timeout): the emulator must be restarted."""
        return self.status in ("ok", "error")


class EmulatorFailed(GblError):
    """The emulator itself failed (did not start, died, answered something unexpected)."""


def unpack(zip_path: Path, parent: Path | None = None) -> Path:
    """Unpack a Lambda zip into a new private directory (as Lambda does into /var/task).

    Entries are data: a name that is absolute or climbs out of the directory is refused.  Unix
    modes from the zip are kept (bootstrap 0755).  The caller removes the directory (Emulator
    does, with ``owns_dir=True``).
    """
    task = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=parent))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                    raise UsageError(f"zip entry {info.filename!r} points outside the task directory",
                                     where=str(zip_path), hint="rebuild the zip with `gbl build`")
                dest = task.joinpath(*name.parts)
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                mode = (info.external_attr >> 16) & 0o777
                dest.chmod(mode if mode else 0o644)
    except BaseException:
        shutil.rmtree(task, ignore_errors=True)
        raise
    return task


def sweep_stale_dirs(parent: Path | None = None) -> None:
    """Remove task directories left by a gbl that was SIGKILLed (its pid no longer runs)."""
    base = Path(parent or tempfile.gettempdir())
    try:
        entries = list(base.glob(f"{TEMP_PREFIX}*"))
    except OSError:
        return
    for d in entries:
        pid = d.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)) and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launcher() -> list[str]:
    if not sys.platform.startswith("linux"):
        return []
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER]


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        kids[ppid].append(int(entry.name))
    return kids


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


class Emulator:
    """aws-lambda-rie serving one unpacked function on free 127.0.0.1 ports.

    ``with Emulator(rie=..., env=..., zip_path=zip) as emu: emu.invoke(b'{}', timeout_s=3)``.
    ``zip_path``: the zip is unpacked into a private temporary directory when the emulator starts,
    removed by ``close()``; or ``task_dir``: an already unpacked function, left in place (unless
    ``owns_dir``).  ``wrapper`` runs the bootstrap through another program
    (``[qemu-aarch64-static]``).  ``env`` is the function's whole environment (``function_env`` in
    invoker.py builds Lambda's); ``LAMBDA_TASK_ROOT`` is set to the task directory, which is also
    the working directory.  ``on_log`` gets every line the function (and the emulator's START /
    END / REPORT lines) writes, as it comes, from a reader thread.  One call at a time per
    Emulator (the RIE serves one invocation at a time); ``close()`` kills everything.
    """

    def __init__(self, task_dir: Path | None = None, *, rie: Path, env: Mapping[str, str],
                 wrapper: Sequence[str] = (), on_log: Callable[[str], None] | None = None,
                 owns_dir: bool = False, zip_path: Path | None = None):
        if (task_dir is None) == (zip_path is None):
            raise ValueError("give task_dir or zip_path")
        self.zip_path = Path(zip_path) if zip_path is not None else None
        self.task_dir = Path(task_dir) if task_dir is not None else None
        self.rie = Path(rie)
        self.env = dict(env)
        self.wrapper = tuple(str(w) for w in wrapper)
        self.on_log = on_log or (lambda line: None)
        self.owns_dir = owns_dir
        self.address = ""
        self.emulator_log: collections.deque[str] = collections.deque(maxlen=200)
        self._proc: subprocess.Popen | None = None
        self._threads: list[threading.Thread] = []
        self._reports: set[str] = set()
        self._seen = threading.Condition()

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> "Emulator":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if self._proc is not None:
            return
        if self.task_dir is None:
            self.task_dir = unpack(self.zip_path)
            self.owns_dir = True
        self.env["LAMBDA_TASK_ROOT"] = str(self.task_dir)
        for attempt in range(3):  # a free port can be taken between probing and binding
            self.address = f"127.0.0.1:{_free_port()}"
            argv = [str(self.rie), "--runtime-interface-emulator-address", self.address,
                    "--runtime-api-address", f"127.0.0.1:{_free_port()}",
                    *_launcher(), *self.wrapper, str(self.task_dir / "bootstrap")]
            self._spawn(argv)
            if self._wait_listening():
                return
            self._stop_processes()
            if "address already in use" not in "\n".join(self.emulator_log):
                break
        raise EmulatorFailed(
            f"the emulator did not start: {self._log_tail() or 'no output'}",
            where=str(self.rie),
            hint="check that it is aws-lambda-rie (run it with --help); reinstall it with the pinned "
                 "`go install` in README.md",
        )

    def _spawn(self, argv: list[str]) -> None:
        # Its own process group, SIGTERMed by Linux when gbl dies (even by SIGKILL); refused
        # once gbl is stopping.
        self._proc = children.spawn(
            argv, death_signal=signal.SIGTERM, cwd=self.task_dir, env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._threads = [
            threading.Thread(target=self._pump, args=(self._proc.stdout, self._function_line), daemon=True),
            threading.Thread(target=self._pump, args=(self._proc.stderr, self.emulator_log.append), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _wait_listening(self) -> bool:
        host, port = self.address.rsplit(":", 1)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                socket.create_connection((host, int(port)), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    @staticmethod
    def _pump(stream, sink: Callable[[str], None]) -> None:
        for raw in iter(stream.readline, b""):
            sink(raw.decode("utf-8", errors="replace").rstrip("\n"))
        stream.close()

    def _function_line(self, line: str) -> None:
        if line.startswith("REPORT RequestId: "):
            with self._seen:
                self._reports.add(line.split()[2])
                self._seen.notify_all()
        self.on_log(line)

    def close(self) -> None:
        """Kill the emulator, its runtime (bootstrap / qemu) and their groups; remove the task dir."""
        blocked = _block_signals()
        try:
            self._stop_processes()
            if self.owns_dir and self.task_dir is not None:
                shutil.rmtree(self.task_dir, ignore_errors=True)
        finally:
            _unblock_signals(blocked)

    def _stop_processes(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGSTOP)  # frozen: it cannot start another runtime now
            except (ProcessLookupError, AttributeError):
                pass
        for pid in descendants(proc.pid):
            _kill_group(pid)
        _kill_group(proc.pid)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    def _log_tail(self, n: int = 5) -> str:
        return " | ".join(list(self.emulator_log)[-n:])

    # ------------------------------------------------------------------ calls
    def invoke(self, payload: bytes, *, timeout_s: float) -> Invocation:
        """POST one event; ``timeout_s`` is the function's timeout (the emulator enforces it)."""
        if self._proc is None:
            raise EmulatorFailed("the emulator is not running", hint="start it first (use `with Emulator(...)`)")
        request_id = str(uuid.uuid4())
        req = urllib.request.Request(
            f"http://{self.address}{INVOKE_PATH}", data=payload, method="POST",
            headers={"Content-Type": "application/json", "X-Amzn-RequestId": request_id},
        )
        start = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout_s + GRACE_S) as resp:
                code, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            code, body = exc.code, exc.read()
        except (TimeoutError, socket.timeout):
            return Invocation("timeout", b"", time.monotonic() - start, request_id, 0,
                              "Sandbox.Timedout", f"no answer within {timeout_s + GRACE_S:.0f} s")
        except (urllib.error.URLError, ConnectionError) as exc:
            raise EmulatorFailed(f"the emulator stopped answering: {exc}; its log: {self._log_tail()}",
                                 where=str(self.rie)) from exc
        duration = time.monotonic() - start
        if code == 200:
            with self._seen:  # let the function's last log lines arrive before returning
                self._seen.wait_for(lambda: request_id in self._reports, timeout=1.0)
        return classify(code, body, duration, request_id)


def classify(code: int, body: bytes, duration: float, request_id: str) -> Invocation:
    """Turn the emulator's answer into an Invocation (see the module docstring)."""
    if code == 200 and _TIMED_OUT.match(body.strip()):
        return Invocation("timeout", body, duration, request_id, code, "Sandbox.Timedout", body.decode().strip())
    doc = _error_document(body)
    if code == 200:
        if doc is not None:
            return Invocation("error", body, duration, request_id, code, doc[0], doc[1])
        return Invocation("ok", body, duration, request_id, code)
    if doc is None:
        doc = ("Runtime.ExitError", body.decode("utf-8", errors="replace").strip()
               or f"the runtime exited without an answer (HTTP {code} from the emulator)")
    return Invocation("crash", body, duration, request_id, code, doc[0], doc[1])


def _error_document(body: bytes) -> tuple[str, str] | None:
    """(errorType, errorMessage) when ``body`` is Lambda's error document, else None."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if (isinstance(doc, dict) and "errorMessage" in doc and "errorType" in doc
            and set(doc) <= {"errorMessage", "errorType", "stackTrace", "cause"}):
        return str(doc["errorType"]), str(doc["errorMessage"])
    return None


def _kill_group(pid: int) -> None:
    for kill in (getattr(os, "killpg", None), os.kill):
        if kill is None:
            continue
        try:
            kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _block_signals():
    if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
        return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    return None


def _unblock_signals(old) -> None:
    if old is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def is_executable(path: Path) -> bool:
    try:
        return path.is_file() and bool(path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    except OSError:
        return False


__all__ = ["Emulator", "Invocation", "EmulatorFailed", "unpack", "sweep_stale_dirs", "classify",
           "descendants", "ToolMissing"]
