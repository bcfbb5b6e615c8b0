"""The head start of Docker builds: last build's execs, started again while ``go list`` plans.

The local runner starts last time's ``go build`` before the plan is known (pipeline's speculative
start); this is the same for the warm build container.  Each Docker build records its execs
(:func:`record`, ``.gbl/docker/calls.json``); the next build of the same selection connects to the
daemon in a thread (:class:`EarlyDocker`: importing the SDK alone takes ~0.2 s) and starts them
again (:func:`start_early`).  The Docker runner claims each one its plan asks for exactly and waits
for the others (:func:`reap`) before anything else starts; the pipeline stops them all if the build
fails first.  A warm no-op then costs the plan, not the plan and then a ``go build``.

A record is trusted only when the container it names is this project's running warm container:
its ID is random and known only to gbl's record and to whoever can use the daemon.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import DockerError
from ..fsutil import write_atomic
from . import daemon, warm
from .runner import binary_identity

CALLS_FILE = Path(".gbl") / "docker" / "calls.json"


@dataclass(frozen=True)
class ExecSpec:
    """One ``go build`` exactly as gbl execs it in a warm container."""

    container: str  # the container's ID
    args: tuple[str, ...]  # go's arguments
    environment: tuple[tuple[str, str], ...]
    workdir: str
    binaries: tuple[str, ...]  # its outputs, on the host

    def to_json(self) -> dict:
        return {"container": self.container, "args": list(self.args), "environment": dict(self.environment),
                "workdir": self.workdir, "binaries": list(self.binaries)}

    @classmethod
    def from_json(cls, d: Mapping) -> "ExecSpec":
        return cls(str(d["container"]), tuple(map(str, d["args"])),
                   tuple(sorted((str(k), str(v)) for k, v in dict(d["environment"]).items())),
                   str(d["workdir"]), tuple(map(str, d["binaries"])))


@dataclass
class Early:
    """An exec started before the plan: claimed by the identical call, else waited for."""

    spec: ExecSpec
    run: warm.Exec
    before: dict  # its binaries' identities before it started (Path -> build ID or None)


def record(project_dir: Path, selection: Mapping, specs: Sequence[ExecSpec]) -> None:
    """Remember this build's execs for the next build of the same selection."""
    data = json.dumps({"selection": selection, "execs": [s.to_json() for s in specs]},
                      indent=1, sort_keys=True).encode()
    path = project_dir / CALLS_FILE
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)


def _record(project_dir: Path, selection: Mapping) -> list[ExecSpec]:
    """The last build's execs, if it was the same selection and they are all `go build`."""
    try:
        data = json.loads((project_dir / CALLS_FILE).read_text(encoding="utf-8"))
        if data.get("selection") != selection:
            return []
        specs = [ExecSpec.from_json(d) for d in data["execs"]]
    except Exception:  # noqa: BLE001 - missing or unreadable: no head start
        return []
    return specs if all(spec.args[:1] == ("build",) for spec in specs) else []


def _ours(attrs: Mapping, project_dir: Path) -> bool:
    """Only this project's running warm container: its ID, unguessable and known only to whoever
    can use the daemon, is what makes the record trustworthy."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ((attrs.get("State") or {}).get("Running") is True and labels.get(warm.LABEL_WARM) == "1"
            and labels.get(warm.LABEL_PROJECT) == str(project_dir))


@dataclass(frozen=True)
class _Begun:
    """An exec the head start began over the daemon's socket, before the SDK was imported."""

    spec: ExecSpec
    run_id: str
    exec_id: str
    before: dict
    container: Mapping  # the container's inspect document


def _begin_raw(socket_path: str, project_dir: Path, selection: Mapping) -> list[_Begun]:
    """Start the recorded execs with three plain HTTP calls each over the Unix socket (importing the
    Docker SDK takes longer than the no-op `go build` itself); [] when anything is off."""
    specs = _record(project_dir, selection)
    begun: list[_Begun] = []
    try:
        api = _UnixAPI(socket_path)
        seen: dict[str, Mapping] = {}
        for spec in specs:
            if spec.container not in seen:
                seen[spec.container] = api.call("GET", f"/containers/{spec.container}/json")
                if not _ours(seen[spec.container], project_dir):
                    return []
        for spec in specs:
            before = {Path(b): binary_identity(Path(b)) for b in spec.binaries}
            run_id = uuid.uuid4().hex
            exec_id = api.call("POST", f"/containers/{spec.container}/exec", {
                "Cmd": warm.command(run_id, spec.args), "Env": [f"{k}={v}" for k, v in spec.environment],
                "WorkingDir": spec.workdir, "AttachStdout": False, "AttachStderr": False})["Id"]
            api.call("POST", f"/exec/{exec_id}/start", {"Detach": True})
            begun.append(_Begun(spec, run_id, exec_id, before, seen[spec.container]))
    except Exception:  # noqa: BLE001 - no answer, or a refusal: what began is adopted and waited for
        pass
    return begun


class _UnixAPI:
    """The Docker Engine API over a Unix socket, for the head start's few calls (stdlib only)."""

    def __init__(self, path: str):
        self.path = path

    def call(self, method: str, url: str, body: Mapping | None = None) -> dict:
        import http.client
        import socket

        conn = http.client.HTTPConnection("localhost", timeout=10)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(self.path)
        conn.sock = sock
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, url, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
        finally:
            conn.close()
        if resp.status >= 300:
            raise DockerError(f"{method} {url}: HTTP {resp.status}")
        return json.loads(text) if text.strip() else {}


def _socket_path(env: Mapping[str, str]) -> str | None:
    host = daemon.endpoint(env).host or daemon.default_host()
    return host[len("unix://"):] if host.startswith("unix://") else None


def start_early(client, project_dir: Path, selection: Mapping,
                begun: Sequence[_Begun] | None = None) -> list[Early]:
    """Start the last build's execs again if it was the same selection and its container still
    runs (or adopt those ``begun`` over the socket already); [] when anything is off (the build
    then runs as usual).  Call with the project locked."""
    if begun is not None:
        return [Early(b.spec, warm.Exec(client, client.containers.prepare_model(dict(b.container)),
                                        project_dir / warm.EXEC_DIR, b.spec.args, {}, b.spec.workdir,
                                        started=(b.run_id, b.exec_id)), b.before) for b in begun]
    specs = _record(project_dir, selection)
    started: list[Early] = []
    try:
        containers = {}
        for spec in specs:
            if spec.container not in containers:
                c = containers[spec.container] = client.containers.get(spec.container)
                if not _ours(c.attrs, project_dir):
                    return []
        for spec in specs:
            before = {Path(b): binary_identity(Path(b)) for b in spec.binaries}
            run = warm.Exec(client, containers[spec.container], project_dir / warm.EXEC_DIR,
                            spec.args, dict(spec.environment), spec.workdir)
            started.append(Early(spec, run, before))
    except Exception:  # noqa: BLE001 - gone, or the daemon refused: stop what started, build as usual
        reap(started, stop=True)
        return []
    return started


def reap(early: Sequence[Early], *, stop: bool) -> None:
    """Wait for every head-start exec nobody waited for (kill it first when ``stop``)."""
    for e in early:
        if e.run.ended:
            continue
        if stop:
            e.run.kill()
        try:
            warm.wait(e.run, describe="`go build` started early", cancelled=lambda: stop,
                      on_poll=None, waiting=lambda text: None, poll=0.05)
        except DockerError:
            pass  # its container went away: so did the build
        e.run.cleanup()


class EarlyDocker:
    """Connects to the daemon in a daemon thread (and, given a selection, starts last build's
    execs); ``connection`` is a Future of ``(client, [Early], rootless)``.  A build that never
    needs Docker never waits for it: ``close`` cancels what has not connected yet, stops or waits for the
    execs nobody claimed, and closes the connection."""

    def __init__(self, env: Mapping[str, str], project_dir: Path, selection: Mapping | None):
        self.connection: Future = Future()
        self._lock = threading.Lock()
        self._closed = False
        self._client = None
        self._early: list[Early] = []
        self._raw = False  # execs may be starting over the socket: close waits for the thread
        threading.Thread(target=self._connect, args=(env, project_dir, selection),
                         name="gbl-docker-connect", daemon=True).start()

    def _connect(self, env, project_dir: Path, selection) -> None:
        begun = None
        socket_path = _socket_path(env) if selection is not None else None
        if socket_path is not None:
            with self._lock:
                if self._closed:
                    self.connection.set_exception(DockerError("the build ended before Docker was needed"))
                    return
                self._raw = True
            begun = _begin_raw(socket_path, project_dir, selection)
        try:
            client = daemon.connect(env)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever needs the connection
            self.connection.set_exception(exc)
            return
        with self._lock:
            if self._closed and not begun:
                client.close()
                self.connection.set_exception(DockerError("the build ended before Docker was needed"))
                return
            self._client = client
            rootless = None
            try:
                self._early = start_early(client, project_dir, selection, begun) if selection is not None else []
                rootless = daemon.rootless(client)
            finally:
                self.connection.set_result((client, self._early, rootless))

    def close(self, *, stop: bool) -> None:
        with self._lock:
            self._closed = True
            raw = self._raw
        if raw:  # execs may have begun over the socket: the thread adopts them, then they are reaped
            futures.wait([self.connection])
        with self._lock:
            client, early = self._client, self._early
        if client is None:
            return  # not connected (yet): nothing started, and the thread closes what it opens
        try:
            reap(early, stop=stop)
        finally:
            client.close()
