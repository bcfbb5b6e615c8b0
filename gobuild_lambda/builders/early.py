"""The head start of Docker builds: last build's ``go build`` runs, asked for again while ``go list`` plans.

The local runner starts last time's ``go build`` before the plan is known (pipeline's speculative
start); this is the same for the warm build container.  Each Docker build records its runs
(:func:`record`, ``.gbl/docker/calls.json``); the next build of the same selection asks the warm
container for them again in a thread (:class:`EarlyDocker`): on a ``unix://`` daemon with one plain
Engine API call per container and a request file per run (:func:`_begin_raw`), before the Docker
SDK (~0.2 s to import) is even loaded.  The Docker runner claims each one its plan asks for exactly
and waits for the others (:func:`reap`) before anything else starts; the pipeline stops them all if
the build fails first.  A warm no-op then costs the plan, not the plan and then a ``go build``.

A record is trusted only when the container it names is this project's running warm container and
each run in it is signed with that container's secret (warm.TOKEN_ENV), which only gbl and whoever
can use the daemon (root-equivalent) can read.
"""

from __future__ import annotations

import hmac
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


def _signed(selection: Mapping, spec: ExecSpec) -> bytes:
    return json.dumps({"selection": selection, "exec": spec.to_json()}, sort_keys=True,
                      separators=(",", ":")).encode()


def record(project_dir: Path, selection: Mapping, specs: Sequence[ExecSpec], tokens: Mapping[str, str]) -> None:
    """Remember this build's runs for the next build of the same selection, each signed with its
    container's secret (``tokens``: container ID -> secret)."""
    execs = [{**s.to_json(), "mac": warm.sign(tokens[s.container], _signed(selection, s))}
             for s in specs if tokens.get(s.container)]
    data = json.dumps({"selection": selection, "execs": execs}, indent=1, sort_keys=True).encode()
    path = project_dir / CALLS_FILE
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)


def _record(project_dir: Path, selection: Mapping) -> list[tuple[ExecSpec, str]]:
    """The last build's runs and their signatures, if it was the same selection and they are all
    ``go build``."""
    try:
        data = json.loads((project_dir / CALLS_FILE).read_text(encoding="utf-8"))
        if data.get("selection") != selection:
            return []
        specs = [(ExecSpec.from_json(d), str(d["mac"])) for d in data["execs"]]
    except Exception:  # noqa: BLE001 - missing or unreadable: no head start
        return []
    return specs if all(spec.args[:1] == ("build",) for spec, _ in specs) else []


def _trusted(attrs: Mapping, project_dir: Path, selection: Mapping, spec: ExecSpec, mac: str) -> str | None:
    """The container's secret when ``spec`` may run in it (see the module's docstring), else None."""
    token = warm.token_of(attrs) if _ours(attrs, project_dir) else None
    if token and hmac.compare_digest(mac, warm.sign(token, _signed(selection, spec))):
        return token
    return None


def _ours(attrs: Mapping, project_dir: Path) -> bool:
    """This project's running warm container (whose secret then checks each run's signature)."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ((attrs.get("State") or {}).get("Running") is True and labels.get(warm.LABEL_WARM) == "1"
            and labels.get(warm.LABEL_PROJECT) == str(project_dir))


def _identities(spec: ExecSpec) -> dict:
    """Its binaries' identities before it runs again (Path -> build ID or None)."""
    return {Path(b): binary_identity(Path(b)) for b in spec.binaries}


@dataclass(frozen=True)
class _Begun:
    """A run the head start asked for before the SDK was imported."""

    spec: ExecSpec
    run_id: str
    before: dict
    container: Mapping  # the container's inspect document


def _begin_raw(socket_path: str, project_dir: Path, selection: Mapping) -> list[_Begun]:
    """Ask for the recorded runs again: one plain HTTP call per container over the Unix socket (to
    read its labels and secret), then a signed request file per run; [] when anything is off."""
    record = _record(project_dir, selection)
    begun: list[_Begun] = []
    try:
        api = _UnixAPI(socket_path)
        seen: dict[str, Mapping] = {}
        tokens = []
        for spec, mac in record:
            if spec.container not in seen:
                seen[spec.container] = api.get(f"/containers/{spec.container}/json")
            token = _trusted(seen[spec.container], project_dir, selection, spec, mac)
            if token is None:
                return []
            tokens.append(token)
        for (spec, _), token in zip(record, tokens):
            before = _identities(spec)
            run_id = uuid.uuid4().hex
            warm.request(project_dir / warm.EXEC_DIR, run_id, token, spec.args, spec.environment, spec.workdir)
            begun.append(_Begun(spec, run_id, before, seen[spec.container]))
    except Exception:  # noqa: BLE001 - no answer, or a refusal: what began is adopted and waited for
        pass
    return begun


class _UnixAPI:
    """GET from the Docker Engine API over its Unix socket: the head start's one call per container,
    with a plain socket (importing http.client alone costs it ~30 ms while gbl starts)."""

    def __init__(self, path: str):
        self.path = path

    def get(self, url: str) -> dict:
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(self.path)
            sock.sendall(f"GET {url} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip().lower() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("transfer-encoding") == "chunked":
            body = _dechunk(body)
        if status >= 300:
            raise DockerError(f"GET {url}: HTTP {status}")
        return json.loads(body)


def _dechunk(data: bytes) -> bytes:
    """The body of an HTTP/1.1 chunked transfer."""
    out, pos = [], 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2:end + 2 + size])
        pos = end + 2 + size + 2


def _socket_path(env: Mapping[str, str]) -> str | None:
    host = daemon.endpoint(env).host or daemon.default_host()
    return host[len("unix://"):] if host.startswith("unix://") else None


def start_early(client, project_dir: Path, selection: Mapping,
                begun: Sequence[_Begun] | None = None) -> list[Early]:
    """Ask for the last build's runs again if it was the same selection and its container still
    runs (or adopt those ``begun`` over the socket already); [] when anything is off (the build
    then runs as usual).  Call with the project locked."""
    exec_dir = project_dir / warm.EXEC_DIR
    if begun is not None:
        return [Early(b.spec, warm.Exec(client, client.containers.prepare_model(dict(b.container)),
                                        exec_dir, b.spec.args, {}, b.spec.workdir, begun=b.run_id),
                      b.before) for b in begun]
    record = _record(project_dir, selection)
    started: list[Early] = []
    try:
        containers = {}
        for spec, mac in record:
            if spec.container not in containers:
                containers[spec.container] = client.containers.get(spec.container)
            if _trusted(containers[spec.container].attrs, project_dir, selection, spec, mac) is None:
                return []
        for spec, _ in record:
            before = _identities(spec)
            run = warm.Exec(client, containers[spec.container], exec_dir, spec.args,
                            dict(spec.environment), spec.workdir)
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
            for b in begun or ():  # withdrawn, unless the helper took it already (then it just runs)
                try:
                    (project_dir / warm.EXEC_DIR / f"{b.run_id}.req").unlink()
                except OSError:
                    pass
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
