"""Which zips to verify, and what each must run on: named zips, every ``*.zip`` in a named
directory, or the functions of a gbl manifest (with each function's arch and runtime).

The manifest is read by ``manifest.load`` (manifest.py is the only reader of manifest.json): an
entry naming a file outside the manifest's directory is not trusted, and never opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UsageError
from ..lambda_facts import ARCHES, DEFAULT_RUNTIME, RUNTIMES
from ..lambda_facts import DEFAULT_OUT_DIR as DIST_DIR  # zips named relative to the manifest
from .. import manifest as manifest_mod
from ..manifest import MANIFEST as MANIFEST_FILE
from .model import file_kind, q


@dataclass(frozen=True)
class Target:
    """A zip to verify and what it must run on."""

    path: Path
    arch: str | None  # None: either of amd64 / arm64
    runtime: str
    function: str | None = None  # the function's name, when a manifest said so


def check_args(arch: str | None, runtime: str) -> None:
    if arch is not None and arch not in ARCHES:
        raise UsageError(f"unknown architecture {q(arch)}", hint=f"use one of {', '.join(ARCHES)}")
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {q(runtime)}", hint=f"use one of {', '.join(RUNTIMES)}")


def collect_targets(paths: Sequence[Path], *, cwd: Path) -> tuple[Target, ...]:
    """The zips to verify: those named, every ``*.zip`` in a named directory, or the manifest's.

    With no paths, ``dist/manifest.json`` under ``cwd`` lists them (with each function's arch and
    runtime).  A named directory holding a gbl manifest takes arch and runtime from it too.
    """
    cwd = Path(cwd)
    if not paths:
        manifest = cwd / DIST_DIR / MANIFEST_FILE
        if not manifest.is_file():
            raise UsageError(
                f"nothing to verify: {DIST_DIR}/{MANIFEST_FILE} not found", where=str(cwd),
                hint="run `gbl build` first, or name zips or a directory: `gbl verify dist/api.zip`",
            )
        return _dedupe(_manifest_targets(manifest, strict=True))
    out: list[Target] = []
    for raw in paths:
        p = Path(raw)
        if not p.is_absolute():
            p = cwd / p
        if p.is_dir():
            out.extend(_directory_targets(p))
        elif p.is_file():
            if p.suffix.lower() == ".json":
                out.extend(_manifest_targets(p, strict=True))
            else:
                out.append(Target(p, None, DEFAULT_RUNTIME))
        elif p.exists():  # a FIFO, a device, a socket: never opened (it could block or not end)
            raise UsageError(
                f"not a regular file: {p.name} is {file_kind(p.stat().st_mode)}", where=str(p),
                hint="name the zip file itself (gbl verify reads zips from regular files), or a "
                     "directory of zips",
            )
        else:
            raise UsageError(
                "no such file or directory", where=str(p),
                hint="name zips, a directory of zips, or nothing (to verify dist/manifest.json)",
            )
    return _dedupe(out)


def _directory_targets(p: Path) -> list[Target]:
    zips = sorted((c for c in p.iterdir() if c.suffix.lower() == ".zip" and c.is_file()),
                  key=lambda c: c.name)
    if not zips:
        raise UsageError(
            "no .zip files in this directory", where=str(p),
            hint="name the zips themselves, or run `gbl build` to make some",
        )
    known = {}
    if (p / MANIFEST_FILE).is_file():
        known = {t.path.resolve(): t for t in _manifest_targets(p / MANIFEST_FILE, strict=False)}
    return [known.get(z.resolve(), Target(z, None, DEFAULT_RUNTIME)) for z in zips]


def _manifest_targets(manifest: Path, *, strict: bool) -> list[Target]:
    """The functions a manifest lists, read by manifest.py (the only reader of manifest.json):
    an entry whose name or ``zip`` is not a plain ``<name>.zip`` in the manifest's directory is
    not trusted, and nothing is read through it (``strict``: it is an error; else it is skipped)."""
    hint = "run `gbl build` again to rewrite it, or name the zips to verify"

    def bad(message: str) -> UsageError:
        return UsageError(f"bad manifest: {message}", where=str(manifest), hint=hint)

    try:
        listed = manifest_mod.load(manifest, partial=True)
    except OSError as exc:
        if not strict:
            return []
        raise bad(f"cannot read it as JSON ({exc})") from exc
    except ValueError as exc:
        if not strict:
            return []
        raise bad(str(exc)) from exc
    if strict and listed.untrusted:
        raise bad(f"{listed.untrusted[0]}; the entry was not trusted, so nothing was read through it")
    out = []
    for name in sorted(listed.entries):
        entry = listed.entries[name]
        arch, runtime = entry.arch or None, entry.runtime or DEFAULT_RUNTIME
        problem = ""
        if arch is not None and arch not in ARCHES:
            problem = f"function {q(name)} has arch {q(arch)}; expected one of {', '.join(ARCHES)}"
        elif runtime not in RUNTIMES:
            problem = f"function {q(name)} has runtime {q(runtime)}; expected one of {', '.join(RUNTIMES)}"
        if problem:
            if not strict:
                continue
            raise bad(problem)
        zip_path = entry.path(manifest.parent)  # <name>.zip beside the manifest (ManifestEntry checks it)
        if not zip_path.is_file():
            if not strict:
                continue
            raise UsageError(
                f"function {q(name)}: {entry.zip} is listed in the manifest but missing",
                where=str(manifest), hint="run `gbl build` again",
            )
        out.append(Target(zip_path, arch, runtime, name))
    if strict and not out:
        raise bad("it lists no functions")
    return out


def _dedupe(targets: Iterable[Target]) -> tuple[Target, ...]:
    seen: set[Path] = set()
    out = []
    for t in targets:
        key = t.path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(t)
    return tuple(out)
