"""dist/manifest.json: what was built, with what, and the zip's hashes.

The manifest holds no timestamps or absolute paths, so it is as reproducible as the zips.  It is
written atomically; an entry exists only while its zip does and passed verify.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping

from .errors import OutputError, UsageError
from .fsutil import write_atomic

MANIFEST = "manifest.json"
SCHEMA = 1


def read(out_dir: Path) -> dict[str, dict]:
    """The functions recorded in ``out_dir``'s manifest; {} when there is none or it is unreadable.

    An unreadable manifest is not trusted for anything: every function is then re-zipped.
    """
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    functions = data.get("functions") if isinstance(data, dict) else None
    if not isinstance(functions, dict):
        return {}
    return {k: v for k, v in functions.items() if isinstance(v, dict)}


def render(functions: Mapping[str, Mapping]) -> bytes:
    doc = {"schema": SCHEMA, "functions": {k: functions[k] for k in sorted(functions)}}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write(out_dir: Path, functions: Mapping[str, Mapping]) -> Path:
    path = Path(out_dir) / MANIFEST
    write_atomic(path, render(functions))
    return path


def merge(dirs: Iterable[Path]) -> dict[str, dict]:
    """Combine shard manifests; the same function with different contents is a conflict."""
    merged: dict[str, dict] = {}
    origin: dict[str, Path] = {}
    for d in dirs:
        path = Path(d) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            functions = data["functions"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"not a gbl manifest: {exc}", where=str(path),
                hint="pass the output directories of `gbl build` (each holds manifest.json)",
            ) from exc
        for name, entry in functions.items():
            if name in merged and merged[name] != entry:
                raise UsageError(
                    f"function {name!r} differs between {origin[name]} and {path}",
                    hint="shards must come from the same commit and settings; rebuild them",
                )
            merged[name] = entry
            origin[name] = path
    return merged


__all__ = ["MANIFEST", "read", "write", "render", "merge", "OutputError"]
