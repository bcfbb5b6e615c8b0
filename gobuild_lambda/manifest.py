"""dist/manifest.json: what was built, with what, and the zip's hashes.

This module is the only reader and writer of the file.  The manifest holds no timestamps or absolute
paths, so it is as reproducible as the zips.  It is written atomically; an entry exists only while
its zip does and passed verify.

A manifest found on disk is data, not instructions: a function name or ``zip`` field that is not a
plain ``<name>.zip`` file name in the output directory (``../x``, an absolute path, a hidden file)
makes that entry untrusted, so gbl never reads, replaces or deletes anything through it.

``module`` records which Go module the directory belongs to: one output directory holds the zips
of one project, and a build of another module into it is refused (see ``check_owner``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import OutputError, UsageError
from .fsutil import write_atomic

MANIFEST = "manifest.json"
SCHEMA = 1


def valid_function_name(name: Any) -> bool:
    """A function name gbl.toml allows (letters, digits, ``.``, ``_``, ``-``): so ``<name>.zip`` is
    a plain file name in the output directory, never a path out of it."""
    return (isinstance(name, str) and bool(name) and name not in (".", "..")
            and all(c.isalnum() or c in "._-" for c in name)
            and len(f"{name}.zip".encode("utf-8")) <= 255)


@dataclass(frozen=True)
class ManifestEntry:
    """One function's record.  ``zip`` is always ``<name>.zip``, a file in the output directory."""

    name: str
    package: str
    dir: str
    arch: str
    runtime: str
    zip: str
    size: int
    sha256: str
    code_sha256: str
    go_version: str
    aws_lambda_go: str | None
    builder: str
    flags: Mapping[str, Any]
    include: tuple[str, ...] = ()

    def path(self, out_dir: Path) -> Path:
        return Path(out_dir) / self.zip

    def to_json(self) -> dict:
        return {
            "package": self.package, "dir": self.dir, "arch": self.arch, "runtime": self.runtime,
            "zip": self.zip, "size": self.size, "sha256": self.sha256, "code_sha256": self.code_sha256,
            "go_version": self.go_version, "aws_lambda_go": self.aws_lambda_go or None,
            "builder": self.builder, "flags": json.loads(json.dumps(self.flags)),
            "include": list(self.include),
        }

    @classmethod
    def from_json(cls, name: Any, data: Any, *, partial: bool = False) -> "ManifestEntry":
        """Parse one entry; ValueError (naming the field) when it is not one gbl would write.

        ``partial``: only what locates the zip and what it runs on must be there (the name, ``zip``,
        and ``arch`` / ``runtime`` when given); the other fields default to empty (size 0, no
        hashes).  For readers that only look at the zip (verify), never for reuse or deploy.
        """
        if not valid_function_name(name):
            raise ValueError(f"{name!r} is not a function name gbl writes (letters, digits, . _ -)")
        if not isinstance(data, dict):
            raise ValueError(f"function {name!r}: the entry is not a JSON object")
        if not isinstance(data.get("zip"), str) or not data["zip"]:
            raise ValueError(f'function {name!r} has no "zip" file name')
        if data["zip"] != f"{name}.zip":
            raise ValueError(f"function {name!r}: \"zip\" is {data.get('zip')!r}, not {name + '.zip'!r} "
                             "(a file in the output directory)")
        if partial:
            return cls._located(name, data)
        try:
            size = data["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError(f"function {name!r}: \"size\" is not a byte count")
            text = {k: data.get(k, "") for k in ("package", "dir", "arch", "runtime", "sha256",
                                                  "code_sha256", "go_version", "builder")}
            if not all(isinstance(v, str) for v in text.values()):
                raise ValueError(f"function {name!r}: a text field is not a string")
            flags = data.get("flags", {})
            include = data.get("include", [])
            if not isinstance(flags, dict) or not isinstance(include, list):
                raise ValueError(f"function {name!r}: \"flags\" or \"include\" has the wrong type")
        except KeyError as exc:
            raise ValueError(f"function {name!r}: {exc.args[0]!r} is missing") from None
        return cls(name=name, zip=data["zip"], size=size, flags=flags, include=tuple(map(str, include)),
                   aws_lambda_go=data.get("aws_lambda_go") or None, **text)

    @classmethod
    def _located(cls, name: str, data: dict) -> "ManifestEntry":
        where = {k: data.get(k) for k in ("arch", "runtime")}
        if not all(v is None or isinstance(v, str) for v in where.values()):
            raise ValueError(f"function {name!r}: \"arch\" or \"runtime\" is not a string")
        return cls(name=name, package="", dir="", arch=where["arch"] or "", runtime=where["runtime"] or "",
                   zip=data["zip"], size=0, sha256="", code_sha256="", go_version="", aws_lambda_go=None,
                   builder="", flags={})


@dataclass(frozen=True)
class Manifest:
    """A whole manifest: the owning module (None: not recorded) and the entries by name."""

    module: str | None = None
    entries: Mapping[str, ManifestEntry] = field(default_factory=dict)
    untrusted: tuple[str, ...] = ()  # why entries were left out when it was read (for messages)

    def get(self, name: str) -> ManifestEntry | None:
        return self.entries.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.entries


def parse(text: str, *, partial: bool = False) -> Manifest:
    """Manifest from JSON text; entries gbl would never write are left out (``untrusted``).
    ValueError when the text is not a gbl manifest at all.  ``partial``: see ManifestEntry.from_json."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"cannot read it as JSON ({exc})") from exc
    functions = data.get("functions") if isinstance(data, dict) else None
    if not isinstance(functions, dict):
        raise ValueError('no "functions" object')
    module = data.get("module")
    entries: dict[str, ManifestEntry] = {}
    untrusted: list[str] = []
    for name, value in functions.items():
        try:
            entries[name] = ManifestEntry.from_json(name, value, partial=partial)
        except ValueError as exc:
            untrusted.append(str(exc))
    return Manifest(module if isinstance(module, str) and module else None, entries, tuple(untrusted))


def load(path: Path, *, partial: bool = False) -> Manifest:
    """The manifest file at ``path``: OSError when it cannot be read, ValueError (saying why) when
    it is not a gbl manifest.  Untrusted entries are left out and said in ``untrusted``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read it as JSON ({exc})") from exc
    return parse(text, partial=partial)


def read(out_dir: Path) -> Manifest:
    """The manifest in ``out_dir``; an empty one when there is none or it is unreadable.

    An unreadable manifest is not trusted for anything: every function is then re-zipped.
    """
    try:
        return parse((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()


def render(manifest: Manifest) -> bytes:
    entries = manifest.entries
    doc: dict[str, Any] = {"schema": SCHEMA, "functions": {k: entries[k].to_json() for k in sorted(entries)}}
    if manifest.module:
        doc["module"] = manifest.module
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write(out_dir: Path, manifest: Manifest) -> Path:
    path = Path(out_dir) / MANIFEST
    write_atomic(path, render(manifest))
    return path


def check_owner(out_dir: Path, module: str) -> Manifest:
    """The manifest of ``out_dir``, after checking that it belongs to ``module`` (or nobody).

    Call it holding the output directory's lock.  Raises OutputError naming both modules when
    another project's zips are there: one build would delete or replace the other's.
    """
    current = read(out_dir)
    if current.module is not None and current.module != module:
        raise OutputError(
            f"this output directory holds the zips of the Go module {current.module}, "
            f"not of {module}; building here would delete or replace them",
            where=str(Path(out_dir) / MANIFEST),
            hint="give each project its own output directory (--out DIR), or delete that directory "
                 "(or its manifest.json) if its zips are no longer wanted",
        )
    return current


def merge(dirs: Iterable[Path]) -> Manifest:
    """Combine shard manifests; the same function with different contents is a conflict."""
    merged: dict[str, ManifestEntry] = {}
    origin: dict[str, Path] = {}
    modules: dict[str, Path] = {}
    for d in dirs:
        path = Path(d) / MANIFEST
        try:
            shard = load(path)
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"not a gbl manifest: {exc}", where=str(path),
                hint="pass the output directories of `gbl build` (each holds manifest.json)",
            ) from exc
        if shard.untrusted:
            raise UsageError(
                f"bad manifest entry: {shard.untrusted[0]}", where=str(path),
                hint="gbl writes every zip as <name>.zip beside manifest.json; rebuild that shard",
            )
        if shard.module:
            modules.setdefault(shard.module, path)
        for name, entry in shard.entries.items():
            if name in merged and merged[name] != entry:
                raise UsageError(
                    f"function {name!r} differs between {origin[name]} and {path}",
                    hint="shards must come from the same commit and settings; rebuild them",
                )
            merged[name] = entry
            origin[name] = path
    if len(modules) > 1:
        (a, pa), (b, pb) = list(modules.items())[:2]
        raise UsageError(
            f"the shards are of different Go modules: {a} ({pa}) and {b} ({pb})",
            hint="merge only the shard outputs of one project",
        )
    return Manifest(next(iter(modules), None), merged)


__all__ = ["MANIFEST", "Manifest", "ManifestEntry", "read", "load", "parse", "write", "render", "merge",
           "check_owner", "valid_function_name", "OutputError"]
