"""``gbl clean``: remove what gbl wrote for a project, and nothing else.

* the output directory's zips that its ``manifest.json`` names, that manifest, and gbl's own
  temporaries (a killed run's); the directory itself only when nothing else is left in it.  A file
  gbl did not write (a README someone keeps in ``dist/``) is kept and reported;
* ``.gbl/``, gbl's private state (build directory, recipes, caches, lock);
* the project's warm build containers (docs/docker.md), when a Docker daemon answers; none
  answering is not an error: there is then nothing of gbl's running there.

Both locks a build takes are taken first, so a running build finishes before anything goes.  An
output directory holding another Go module's zips (a shared ``--out``) is refused, as a build
refuses it.  (Not ``clean.py``: a submodule of that name would shadow ``gobuild_lambda.clean``.)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from . import fsutil, manifest
from .errors import DockerError, OutputError
from .lambda_facts import DEFAULT_OUT_DIR

STATE_DIR = ".gbl"
LOCK_TIMEOUT_S = 600  # as long as a build waits for another


@dataclass(frozen=True)
class CleanReport:
    project_dir: Path
    out_dir: Path
    removed: tuple[Path, ...]  # files and directories removed, in the order they went
    kept: tuple[Path, ...]  # what the output directory holds that gbl did not write
    containers: int | None  # warm build containers removed; None when no Docker daemon answered


def clean(project_dir: Path | str = ".", *, out_dir: Path | str | None = None, containers: bool = True,
          env: Mapping[str, str] | None = None) -> CleanReport:
    """Remove the project's zips, manifest, ``.gbl/`` and warm build containers (``gbl clean``)."""
    from .planner import find_root

    root = find_root(Path(project_dir).resolve(), gowork_off=False)
    out = fsutil.output_dir(out_dir if out_dir is not None else root / DEFAULT_OUT_DIR)
    removed: list[Path] = []
    state = root / STATE_DIR
    had_state = state.exists() or state.is_symlink()  # taking the lock below creates it
    with fsutil.DirLock(state / "lock", what="the project's build lock", timeout=LOCK_TIMEOUT_S), \
            fsutil.DirLock(fsutil.out_lock_path(out), what=f"the lock on {out}", timeout=LOCK_TIMEOUT_S):
        kept = _clean_out(out, _module_of(root), removed)
        _remove_state(state, removed if had_state else [])
    try:  # the lock this run held, then .gbl/ itself
        (state / "lock").unlink()
        state.rmdir()
    except OSError:  # a build that started meanwhile owns them now
        pass
    stopped = _stop_containers(root, env) if containers else None
    return CleanReport(root, out, tuple(removed), tuple(kept), stopped)


def _module_of(root: Path) -> str | None:
    """The module path go.mod declares at ``root`` (None without one): whose zips are whose."""
    try:
        text = (root / "go.mod").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        words = line.split("//", 1)[0].split()
        if len(words) == 2 and words[0] == "module":
            return words[1].strip('"`')
    return None


def _clean_out(out: Path, module: str | None, removed: list[Path]) -> list[Path]:
    if out.is_symlink() or not out.is_dir():
        return []
    path = out / manifest.MANIFEST
    try:
        current = manifest.load(path, partial=True)
    except FileNotFoundError:
        current = manifest.Manifest()
    except (OSError, ValueError) as exc:
        raise OutputError(
            f"cannot read it as gbl's manifest ({exc}), so gbl cannot tell its zips from yours",
            where=str(path), hint="delete the output directory yourself if nothing in it is wanted",
        ) from exc
    if module is not None and current.module is not None and current.module != module:
        raise OutputError(
            f"this output directory holds the zips of the Go module {current.module}, not of {module}",
            where=str(path), hint="run gbl clean in that project, or name this project's own --out",
        )
    zips = {e.zip for e in current.entries.values()}
    # the zips first, the manifest last: a clean cut short still has a manifest naming what is left
    for name in [*sorted(set(os.listdir(out)) - {manifest.MANIFEST}), manifest.MANIFEST]:
        target = out / name
        ours = name in zips or name == manifest.MANIFEST or fsutil.is_gbl_temporary(name)
        if ours and target.is_file() and not target.is_symlink():  # gbl writes regular files only
            _unlink(target)
            removed.append(target)
    kept = [out / n for n in sorted(os.listdir(out))]
    if not kept:
        try:
            out.rmdir()
            removed.append(out)
        except OSError:
            pass
    return kept


def _remove_state(state: Path, removed: list[Path]) -> None:
    """Everything in ``.gbl/`` but the lock file this run holds (removed once released)."""
    if state.is_symlink():
        _unlink(state)
        removed.append(state)
        return
    if not state.is_dir():
        return
    for child in sorted(state.iterdir()):
        if child.name == "lock":
            continue
        if child.is_dir() and not child.is_symlink():
            try:
                shutil.rmtree(child)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _cannot_remove(exc, Path(exc.filename or child)) from exc
        else:
            _unlink(child)
    removed.append(state)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _cannot_remove(exc, path) from exc


def _cannot_remove(exc: OSError, path: Path) -> OutputError:
    return OutputError(
        f"cannot remove {path}: {exc.strerror or exc}", where=str(path),
        hint="close any program that has it open (on Windows an open file cannot be removed) or fix "
             "the permissions of its directory, then run gbl clean again",
    )


def _stop_containers(root: Path, env: Mapping[str, str] | None) -> int | None:
    from .builders.docker import stop_warm

    try:
        return stop_warm(dict(os.environ if env is None else env), root)
    except DockerError:
        return None
