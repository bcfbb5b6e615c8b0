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


def start_early(client, project_dir: Path, selection: Mapping) -> list[Early]:
    """Start the last build's execs again if it was the same selection and its container still
    runs; [] when anything is off (the build then runs as usual).  Call with the project locked."""
    try:
        data = json.loads((project_dir / CALLS_FILE).read_text(encoding="utf-8"))
        if data.get("selection") != selection:
            return []
        specs = [ExecSpec.from_json(d) for d in data["execs"]]
    except Exception:  # noqa: BLE001 - missing or unreadable: no head start
        return []
    if any(spec.args[:1] != ("build",) for spec in specs):
        return []
    started: list[Early] = []
    try:
        containers = {}
        for spec in specs:
            if spec.container not in containers:
                # Only this project's running warm container: its ID, unguessable and known only
                # to whoever can use the daemon, is what makes the record trustworthy.
                c = containers[spec.container] = client.containers.get(spec.container)
                if (c.status != "running" or c.labels.get(warm.LABEL_WARM) != "1"
                        or c.labels.get(warm.LABEL_PROJECT) != str(project_dir)):
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
        threading.Thread(target=self._connect, args=(env, project_dir, selection),
                         name="gbl-docker-connect", daemon=True).start()

    def _connect(self, env, project_dir: Path, selection) -> None:
        try:
            client = daemon.connect(env)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever needs the connection
            self.connection.set_exception(exc)
            return
        with self._lock:
            if self._closed:
                client.close()
                self.connection.set_exception(DockerError("the build ended before Docker was needed"))
                return
            self._client = client
            rootless = None
            try:
                self._early = start_early(client, project_dir, selection) if selection is not None else []
                rootless = daemon.rootless(client)
            finally:
                self.connection.set_result((client, self._early, rootless))

    def close(self, *, stop: bool) -> None:
        with self._lock:
            self._closed = True
            client, early = self._client, self._early
        if client is None:
            return  # not connected (yet): nothing started, and the thread closes what it opens
        try:
            reap(early, stop=stop)
        finally:
            client.close()
