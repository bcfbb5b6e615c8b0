"""The local runner: ``go build`` on the host, through gotool (the one place that runs ``go``).

It also runs speculative starts: the pipeline may start last build's calls while ``go list``
plans (:func:`start_call`); a call one of them matches exactly is claimed rather than run again,
and the rest are waited for (they may write the same directories) before anything else starts.
"""

from __future__ import annotations

import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .. import children
from ..gotool import GoTool, describe_command
from .calls import GoBuildCall, describe_call
from .runner import LINK_POLL_S, binary_identity


class Running:
    """A started ``go build``: its process and what its outputs looked like before it started."""

    def __init__(self, proc: subprocess.Popen, args: tuple[str, ...], env: tuple[tuple[str, str], ...],
                 out_dir: Path, before: dict[Path, str | None]):
        self.proc, self.args, self.env, self.out_dir, self.before = proc, args, env, out_dir, before
        self.cwd: Path | None = None  # where it runs (the module directory)

    def matches(self, call: GoBuildCall) -> bool:
        """Is this exactly the process ``call`` would start?"""
        return (self.args, self.env, self.out_dir, self.cwd) == (call.args, call.env, call.out_dir, call.cwd)

    def wait(self) -> None:
        children.wait_output(self.proc, describe=describe_command(self.proc.args))

    def stop(self) -> None:
        """Stop it and everything it started (its process group)."""
        children.stop(self.proc)


def start_call(
    go: GoTool, args: Sequence[str], env: Sequence[tuple[str, str]], out_dir: Path, project_dir: Path,
    binaries: Iterable[Path] | None = None,
) -> Running:
    """Start ``go build`` (``args``) without waiting; ``binaries`` default to every file in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = list(binaries) if binaries is not None else [p for p in out_dir.iterdir() if p.is_file()]
    before = {p: binary_identity(p) for p in paths}
    proc = go.popen(tuple(args), cwd=project_dir, overrides=dict(env))
    running = Running(proc, tuple(args), tuple(env), out_dir, before)
    running.cwd = Path(project_dir).resolve()
    return running


class LocalRunner:
    """Starts each call with the host's ``go``; reports binaries as Go links them."""

    name = "local"
    links_while_running = True
    inline = True

    def __init__(self, go: GoTool, project_dir: Path, started: Sequence[Running] = ()):
        self.go = go
        self.project_dir = project_dir
        self._spare = list(started)
        self._claimed: dict[GoBuildCall, Running] = {}
        self._live: set[Running] = set()
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    @contextmanager
    def open(self, calls: Sequence[GoBuildCall]) -> Iterator[None]:
        for call in calls:
            match = next((r for r in self._spare if r.matches(call)), None)
            if match is not None:
                self._spare.remove(match)
                self._claimed[call] = match
        for r in self._spare:
            r.wait()
        self._spare = []
        yield

    def start(self, call: GoBuildCall) -> Running:
        with self._lock:
            if self._stopped:
                raise children.Stopped("the build was interrupted: no new `go build` is started")
            running = self._claimed.pop(call, None)
        if running is None:
            running = start_call(self.go, call.args, call.env, call.out_dir, call.cwd or self.project_dir,
                                 binaries=[call.binary(f) for f in call.functions])
        with self._lock:
            self._live.add(running)
        if self._stopped:
            running.stop()
        return running

    def wait(self, running: Running, call: GoBuildCall, on_poll: Callable[[], None] | None) -> tuple[int, str]:
        try:
            out, err = self.go.wait(running.proc, describe=describe_call(call),
                                    poll=LINK_POLL_S if on_poll else None, on_poll=on_poll)
        finally:
            with self._lock:
                self._live.discard(running)
        return running.proc.returncode, err or out

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            live = list(self._live) + list(self._claimed.values())
        for r in live:
            r.stop()
