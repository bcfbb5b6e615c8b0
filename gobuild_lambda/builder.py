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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Sequence

from .gotool import GoTool
from .planner import Function, Plan

BUILD_DIR = Path(".gbl") / "build"
# The flags every build uses: see README "What gbl runs".
COMMON_FLAGS = ("-trimpath", "-buildvcs=false")
_VERSION_ELEM = re.compile(r"^v[0-9]+$")


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


def exe_name(import_path: str) -> str:
    """The file name ``go build -o DIR/`` gives a main package (cmd/go's DefaultExecName)."""
    p = PurePosixPath(import_path)
    if _VERSION_ELEM.match(p.name) and str(p.parent) not in (".", ""):
        return p.parent.name
    return p.name


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
    for fn in sorted(functions, key=lambda f: f.package):
        subgroups = groups.setdefault(fn.build_key, [])
        for sub in subgroups:
            if all(exe_name(o.package) != exe_name(fn.package) for o in sub):
                sub.append(fn)
                break
        else:
            subgroups.append([fn])
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
    call.out_dir.mkdir(parents=True, exist_ok=True)
    before = {fn: binary_identity(call.binary(fn)) for fn in call.functions}
    proc = go.run(call.args, cwd=project_dir, overrides=dict(call.env))
    if proc.returncode == 0:
        return _built(call, before), []
    if len(call.functions) == 1:
        return [], [BuildFailure(call.functions[0], _clean(proc.stderr or proc.stdout))]
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


def _built(call: GoBuildCall, before: dict) -> list[Built]:
    out = []
    for fn in call.functions:
        binary = call.binary(fn)
        out.append(Built(fn, binary, before[fn] != binary_identity(binary)))
    return out


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
) -> tuple[tuple[Built, ...], tuple[BuildFailure, ...]]:
    """Build ``functions`` with the local toolchain; every call runs, failures are collected."""
    calls = plan_calls(functions, plan.project_dir, jobs=jobs)
    built: list[Built] = []
    failed: list[BuildFailure] = []

    def one(call: GoBuildCall):
        b, f = run_call(go, call, plan.project_dir)
        for x in b:
            if on_built:
                on_built(x)
        for x in f:
            if on_failed:
                on_failed(x)
        return b, f

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(calls)))) as pool:
        for b, f in pool.map(one, calls):
            built += b
            failed += f
    return tuple(built), tuple(failed)
