"""Local builds: ``go build`` for every function, grouped so Go does the parallel work.

Functions with identical build settings (arch, tags, ldflags, env) share one ``go build -o DIR/
pkg...`` call, so Go compiles shared packages once and links in parallel, and a no-op build costs
one ``go`` process, not one per function.  Binaries live in a stable directory under
``.gbl/build/`` so Go's own build-ID check skips relinking what did not change; gbl notices a
relink by the output file's (size, mtime) changing.  When a group fails, each of its functions is
built alone so every failure is attributed to the function that has it, and the others still finish.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import children
from .gotool import GoTool, describe_command
from .planner import Function, Plan

BUILD_DIR = Path(".gbl") / "build"
# The flags every build uses: see README "What gbl runs".
COMMON_FLAGS = ("-trimpath", "-buildvcs=false")
_VERSION_ELEM = re.compile(r"^v[0-9]+$")
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


@dataclass(frozen=True)
class GoBuildCall:
    """One ``go build`` invocation: what runs, where, with which environment overrides."""

    functions: tuple[Function, ...]
    out_dir: Path
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]

    def binary(self, fn: Function) -> Path:
        return self.out_dir / exe_name(fn.package)


def describe_call(call: GoBuildCall, limit: int = 8) -> str:
    """``go build`` of api, worker (linux/arm64): what a progress line says is running."""
    names = [f.name for f in call.functions]
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"`go build` of {shown} (linux/{call.functions[0].arch})"


def exe_name(import_path: str) -> str:
    """The file name ``go build -o DIR/`` gives a main package (cmd/go's DefaultExecName)."""
    # String operations, not PurePosixPath: this runs for every function on every build.
    parent, _, last = import_path.rstrip("/").rpartition("/")
    if _VERSION_ELEM.match(last) and parent:
        return parent.rpartition("/")[2]
    return last


def build_env(fn: Function, user_goflags: str = "") -> dict[str, str]:
    """The overrides a function's build runs with (on top of the caller's environment)."""
    env = dict(fn.env)
    env.update({"GOOS": "linux", "GOARCH": fn.arch, "CGO_ENABLED": "0", "GOWORK": "off"})
    return env


def build_flags(fn: Function, jobs: int | None = None) -> tuple[str, ...]:
    flags = ["build", *COMMON_FLAGS, "-tags", ",".join(fn.tags), "-ldflags", fn.ldflags]
    if jobs:
        flags += ["-p", str(jobs)]
    return tuple(flags)


def group_key_dir(fn: Function) -> str:
    digest = hashlib.sha256(repr(fn.build_key).encode()).hexdigest()[:10]
    return f"linux-{fn.arch}-{digest}"


def plan_calls(
    functions: Iterable[Function], project_dir: Path, *, jobs: int | None = None,
    build_root: Path | None = None,
) -> tuple[GoBuildCall, ...]:
    """Group functions into ``go build`` calls: equal settings and no two equal output names."""
    root = build_root or (project_dir / BUILD_DIR)
    groups: dict[tuple, list[list[Function]]] = {}
    names: dict[int, set[str]] = {}  # id(subgroup) -> its output names: linear, not quadratic
    for fn in sorted(functions, key=lambda f: f.package):
        subgroups = groups.setdefault(fn.build_key, [])
        exe = exe_name(fn.package)
        for sub in subgroups:
            if exe not in names[id(sub)]:
                sub.append(fn)
                names[id(sub)].add(exe)
                break
        else:
            subgroups.append([fn])
            names[id(subgroups[-1])] = {exe}
    calls = []
    for subgroups in groups.values():
        for i, sub in enumerate(subgroups):
            first = sub[0]
            out_dir = root / (group_key_dir(first) + (f"-{i}" if i else ""))
            args = (*build_flags(first, jobs), "-o", str(out_dir) + os.sep, *(f.package for f in sub))
            calls.append(GoBuildCall(tuple(sub), out_dir, args, tuple(sorted(build_env(first).items()))))
    return tuple(calls)


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


def run_call(
    go: GoTool, call: GoBuildCall, project_dir: Path
) -> tuple[list[Built], list[BuildFailure]]:
    """Run one call; on failure, build its functions one by one to attribute errors."""
    return finish_call(go, start_call(go, call.args, call.env, call.out_dir, project_dir), call, project_dir)


class Running:
    """A started ``go build``: its process and what its outputs looked like before it started."""

    def __init__(self, proc: subprocess.Popen, args: tuple[str, ...], env: tuple[tuple[str, str], ...],
                 out_dir: Path, before: dict[Path, str | None]):
        self.proc, self.args, self.env, self.out_dir, self.before = proc, args, env, out_dir, before

    def matches(self, call: GoBuildCall) -> bool:
        """Is this exactly the process ``call`` would start?"""
        return (self.args, self.env, self.out_dir) == (call.args, call.env, call.out_dir)

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
    return Running(proc, tuple(args), tuple(env), out_dir, before)


def finish_call(
    go: GoTool, running: Running, call: GoBuildCall, project_dir: Path,
    on_linked: Callable[[Built], None] | None = None,
) -> tuple[list[Built], list[BuildFailure]]:
    """Wait for ``running`` (started for ``call``); report each binary Go writes as it lands.

    While Go links, ``on_linked`` hears of every output whose build ID changed and that held still
    for one poll, so packaging overlaps the links still to come.  That report is provisional: the
    caller compares it with the final ``Built`` (``binary_identity``) and repackages on a mismatch.
    """
    before = {fn: running.before[call.binary(fn)] if call.binary(fn) in running.before
              else binary_identity(call.binary(fn)) for fn in call.functions}
    seen: dict[Function, tuple] = {}  # the output's (size, mtime, inode) at the last poll
    checked: dict[Function, tuple] = {}  # the key whose build ID was last read
    reported: set[Function] = set()

    def look() -> None:
        for fn in call.functions:
            path = call.binary(fn)
            key = _stat_key(path)
            if fn in reported or key is None:
                continue
            if seen.get(fn) != key:
                seen[fn] = key  # new or still changing: look again at the next poll
                continue
            if checked.get(fn) == key:
                continue
            checked[fn] = key
            if binary_identity(path) != before[fn]:
                reported.add(fn)
                on_linked(Built(fn, path, True))

    out, err = go.wait(
        running.proc, describe=describe_call(call), poll=LINK_POLL_S if on_linked else None,
        on_poll=look if on_linked else None,
    )
    if running.proc.returncode == 0:
        return _built(call, before), []
    if len(call.functions) == 1:
        return [], [BuildFailure(call.functions[0], _clean(err or out))]
    built: list[Built] = []
    failed: list[BuildFailure] = []
    for fn in call.functions:
        single = GoBuildCall(
            (fn,), call.out_dir,
            (*call.args[: call.args.index("-o") + 2], fn.package), call.env,
        )
        b, f = run_call(go, single, project_dir)
        built += [Built(x.function, x.binary, before[fn] != binary_identity(x.binary)) for x in b]
        failed += f
    return built, failed


def _stat_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _built(call: GoBuildCall, before: dict) -> list[Built]:
    out = []
    for fn in call.functions:
        binary = call.binary(fn)
        out.append(Built(fn, binary, before[fn] != binary_identity(binary)))
    return out


def dispatch(built, failed, on_built=None, on_failed=None) -> None:
    """Tell the caller of every binary built and every failure (local and Docker builders)."""
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


def _clean(output: str) -> str:
    return output.strip()


def build_local(
    go: GoTool,
    plan: Plan,
    functions: Sequence[Function],
    *,
    jobs: int,
    on_built: Callable[[Built], None] | None = None,
    on_failed: Callable[[BuildFailure], None] | None = None,
    on_linked: Callable[[Built], None] | None = None,
    started: Sequence[Running] = (),
) -> tuple[tuple[Built, ...], tuple[BuildFailure, ...]]:
    """Build ``functions`` with the local toolchain; every call runs, failures are collected.

    ``started`` are processes begun earlier (a speculative start from the last build's calls): a
    call one of them matches exactly is finished rather than run again; the rest are waited for
    (they may write the same directories) before anything else starts.  ``on_linked`` hears of
    binaries while Go is still linking others (see ``finish_call``).
    """
    calls = plan_calls(functions, plan.project_dir, jobs=jobs)
    spare = list(started)
    claimed: dict[GoBuildCall, Running] = {}
    for call in calls:
        match = next((r for r in spare if r.matches(call)), None)
        if match is not None:
            spare.remove(match)
            claimed[call] = match
    for r in spare:
        r.wait()
    built: list[Built] = []
    failed: list[BuildFailure] = []

    def one(call: GoBuildCall):
        running = claimed.get(call) or start_call(
            go, call.args, call.env, call.out_dir, plan.project_dir,
            binaries=[call.binary(f) for f in call.functions],
        )
        b, f = finish_call(go, running, call, plan.project_dir, on_linked=on_linked)
        dispatch(b, f, on_built, on_failed)
        return b, f

    if len(calls) == 1:  # the common case: no thread
        results = [one(calls[0])]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(calls)))) as pool:
            results = list(pool.map(one, calls))
    for b, f in results:
        built += b
        failed += f
    return tuple(built), tuple(failed)
