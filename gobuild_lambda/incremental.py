"""What a build remembers to do less next time: the recipe, the state file, the calls file.

* The **recipe** of a zip is everything that decides its bytes (packager version, deflate level,
  timestamp, the binary's identity, each included file, arch, runtime) as a structured value with a
  hash, so two zips with equal recipes are byte-identical.
* **.gbl/zips.json** (state) maps each zip gbl wrote to its recipe, sha256 and the file's
  (size, mtime_ns, inode, ctime_ns) right after it was put in place.  A zip is reused only when the
  recipe, the manifest's sha256 and that stat all still agree: a zip changed in place, even at the
  same size, is written again.  One stat per function, so a no-op build stays cheap.
* **.gbl/calls.json** records which functions the last build compiled with ``go build``, so the next
  build can start the same calls while ``go list`` plans.  It is data: it names functions (package
  and directory, checked to be the project's own ``cmd/`` packages); the ``go build`` arguments and
  environment are derived again from gbl.toml by gbl, never read from the file.

Both files hold host facts (paths, inodes) and stay out of the manifest, so manifests of shard
builds merge and builds compare.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from .builders import calls as build_calls
from . import config as config_mod
from . import planner as plan_mod
from .config import Settings
from .manifest import ManifestEntry
from .package import DEFLATE_LEVEL, PACKAGER_VERSION

STATE_FILE = Path(".gbl") / "zips.json"
CALLS_FILE = Path(".gbl") / "calls.json"
# An import path element gbl will name on a `go build` command line it derived from calls.json.
_IMPORT_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~+/-]*$")


@dataclass(frozen=True)
class IncludedFile:
    name: str  # the path inside the zip
    executable: bool
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a zip's bytes.  ``key`` is its hash, what the state file records."""

    packager: str
    deflate_level: int
    mtime: int | None
    binary: str  # builders.runner.binary_identity: the Go build ID and size
    includes: tuple[IncludedFile, ...]
    arch: str
    runtime: str

    @property
    def key(self) -> str:
        doc = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def recipe(binary_identity: str, includes: Sequence[tuple[str, Path, bool]], mtime: int | None,
           arch: str, runtime: str) -> Recipe:
    """The recipe of a zip of a binary (identified by ``binary_identity``) and ``includes``."""
    files = []
    for name, src, executable in includes:
        st = os.stat(src)
        files.append(IncludedFile(name, bool(executable), st.st_size, st.st_mtime_ns))
    return Recipe(PACKAGER_VERSION, DEFLATE_LEVEL, mtime, binary_identity, tuple(files), arch, runtime)


# ------------------------------------------------------------------------------------- state
def file_key(path: Path) -> list[int] | None:
    """What changes when a file is rewritten or edited in place, even at the same size."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def read_state(project_dir: Path) -> dict:
    try:
        data = json.loads((Path(project_dir) / STATE_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def can_reuse(state: Mapping, dest: Path, prev: ManifestEntry | None, recipe_key: str) -> bool:
    """Is ``dest`` (the zip on disk) exactly the zip ``recipe_key`` would give, as gbl left it?"""
    if prev is None:
        return False
    known = state.get(str(dest))
    if not isinstance(known, dict):
        return False
    if known.get("recipe") != recipe_key or known.get("sha256") != prev.sha256 or known.get("size") != prev.size:
        return False
    on_disk = file_key(dest)
    return on_disk is not None and known.get("file") == on_disk


def next_state(state: Mapping, out: Path, results) -> dict:
    """The state after a commit: fresh zips are recorded with their file key, reused ones kept."""
    new = dict(state)
    for r in results:
        key = str(out / f"{r.function.name}.zip")
        if r.ok and r.recipe and r.rezipped:
            new[key] = {"recipe": r.recipe, "size": r.size, "sha256": r.sha256, "file": file_key(r.zip_path)}
        elif not (r.ok and r.recipe):
            new.pop(key, None)
    return new


def render_state(state: Mapping) -> bytes:
    return json.dumps(state, indent=1, sort_keys=True).encode()


# ------------------------------------------------------------------------------------- calls
def render_calls(the_plan: plan_mod.Plan, selection: dict) -> bytes:
    local = sorted((f for f in the_plan.functions if f.builder == "local" and not f.cgo_files),
                   key=lambda f: f.package)
    doc = {"selection": selection,
           "functions": [{"package": f.package, "rel_dir": f.rel_dir} for f in local]}
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def speculative_calls(root: Path, selection: dict) -> tuple[build_calls.GoBuildCall, ...]:
    """The ``go build`` calls the last build ran, if it was the same selection: derived again from
    gbl.toml for the functions calls.json names.  () when anything is off (no speculation)."""
    try:
        data = json.loads((root / CALLS_FILE).read_text(encoding="utf-8"))
        if data.get("selection") != selection:
            return ()
        recorded = [(f["package"], f["rel_dir"]) for f in data["functions"]]
        cfg = config_mod.load(root).with_overrides(
            Settings(arch=selection.get("arch"), builder=selection.get("builder"), image=selection.get("image")))
        jobs = selection.get("jobs")
        if not isinstance(jobs, int) or jobs < 1:
            return ()
    except Exception:  # noqa: BLE001 - a bad file or gbl.toml: plan normally, it reports errors
        return ()
    functions = []
    for package, rel_dir in recorded:
        if not _own_package(root, package, rel_dir):
            return ()
        fc = cfg.function(rel_dir) or cfg.function(PurePosixPath(rel_dir).name)
        settings = (fc.settings if fc else Settings()).over(cfg.defaults)
        if settings.builder != "local":
            return ()
        functions.append(plan_mod._function({"ImportPath": package}, rel_dir, PurePosixPath(rel_dir).name, settings))
    return build_calls.plan_calls(functions, root, jobs=jobs)


def _own_package(root: Path, package, rel_dir) -> bool:
    """A main package of this project under cmd/, as gbl itself would name it."""
    if not isinstance(package, str) or not isinstance(rel_dir, str):
        return False
    parts = PurePosixPath(rel_dir).parts
    return (bool(_IMPORT_PATH.match(package)) and package.endswith("/" + rel_dir)
            and len(parts) >= 2 and parts[0] == plan_mod.CMD_DIR and ".." not in parts
            and "\\" not in rel_dir and not PurePosixPath(rel_dir).is_absolute()
            and (root / rel_dir).is_dir())


__all__ = ["STATE_FILE", "CALLS_FILE", "Recipe", "recipe", "file_key", "read_state", "can_reuse",
           "next_state", "render_state", "render_calls", "speculative_calls"]
