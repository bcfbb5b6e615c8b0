"""Which ``go build`` runs, with which flags and environment: the one place.

Functions with identical build settings (arch, tags, ldflags, env) share one ``go build -o DIR/
pkg...`` call, so Go compiles shared packages once and links in parallel, and a no-op build costs
one ``go`` process, not one per function.  Binaries live in a stable directory under
``.gbl/build/`` so Go's own build-ID check skips relinking what did not change.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..lambda_facts import CGO_ENABLED, GOOS
from ..planner import Function

BUILD_DIR = Path(".gbl") / "build"
# The flags every build uses: see README "What gbl runs".
COMMON_FLAGS = ("-trimpath", "-buildvcs=false")
_VERSION_ELEM = re.compile(r"^v[0-9]+$")


@dataclass(frozen=True)
class GoBuildCall:
    """One ``go build`` invocation: what runs, where, with which environment overrides."""

    functions: tuple[Function, ...]
    out_dir: Path
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    cwd: Path | None = None  # the functions' module directory (None: the project dir)

    def binary(self, fn: Function) -> Path:
        return self.out_dir / exe_name(fn.package)

    def single(self, fn: Function) -> "GoBuildCall":
        """The same call for ``fn`` alone (to attribute a failed group's errors)."""
        return GoBuildCall((fn,), self.out_dir, (*self.args[: self.args.index("-o") + 2], fn.package), self.env,
                           self.cwd)


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
    # GOWORK: the user's own go.work when the plan found one in play, else off.
    env.update({"GOOS": GOOS, "GOARCH": fn.arch, "CGO_ENABLED": CGO_ENABLED, "GOWORK": fn.gowork or "off"})
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
            calls.append(GoBuildCall(tuple(sub), out_dir, args, tuple(sorted(build_env(first).items())),
                                     (project_dir / first.module_dir).resolve()))
    return tuple(calls)
