"""The one place gbl runs the ``go`` command.

The environment of every ``go`` process is an explicit dict: the caller's base environment (the
CLI passes ``os.environ``) plus overrides.  ``os.environ`` itself is never read or changed here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .errors import PlanError, ToolMissing

GO_INSTALL_HINT = "install Go from https://go.dev/dl/ and make sure `go` is on PATH"


@dataclass(frozen=True)
class GoTool:
    """A ``go`` executable and the base environment it runs with."""

    exe: str
    base_env: tuple[tuple[str, str], ...]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.base_env)

    def environ(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(self.base_env)
        if overrides:
            env.update(overrides)
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        overrides: Mapping[str, str] | None = None,
        check: bool = False,
    ) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(
                [self.exe, *args],
                cwd=cwd,
                env=self.environ(overrides),
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError as exc:  # vanished between find() and now
            raise ToolMissing(f"`{self.exe}` cannot be run: {exc}", hint=GO_INSTALL_HINT) from exc
        if check and proc.returncode != 0:
            raise _go_failure(proc, args, cwd)
        return proc

    def popen(
        self, args: Sequence[str], *, cwd: Path, overrides: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        return subprocess.Popen(
            [self.exe, *args],
            cwd=cwd,
            env=self.environ(overrides),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )

    def version(self, cwd: Path) -> str:
        """``go1.23.4``-style version of this toolchain (as selected for ``cwd``)."""
        proc = self.run(["env", "GOVERSION"], cwd=cwd, check=True)
        return proc.stdout.strip()


def find(env: Mapping[str, str], exe: str | None = None) -> GoTool:
    """Locate ``go`` on the PATH of ``env`` (or use ``exe``); a clear error when missing."""
    name = exe or env.get("GBL_GO") or "go"
    path = shutil.which(name, path=env.get("PATH", ""))
    if path is None:
        raise ToolMissing(
            f"the Go toolchain (`{name}`) was not found on PATH",
            hint=GO_INSTALL_HINT,
        )
    return GoTool(exe=path, base_env=tuple(sorted(env.items())))


_REQUIRES_GO = re.compile(r"requires go >= ?([0-9.]+\S*)|go\.mod requires go >= ([0-9.]+\S*)")


def _go_failure(proc: subprocess.CompletedProcess, args: Sequence[str], cwd: Path) -> Exception:
    err = (proc.stderr or proc.stdout).strip()
    m = _REQUIRES_GO.search(err)
    if m:
        need = m.group(1) or m.group(2)
        return ToolMissing(
            f"the module needs Go >= {need}, but `go` is older: {err.splitlines()[0]}",
            where=str(cwd / "go.mod"),
            hint=f"install Go {need} or newer, or allow GOTOOLCHAIN=auto to fetch it",
        )
    return PlanError(f"`go {' '.join(args)}` failed:\n{err}", where=str(cwd))


def module_info(go: GoTool, project_dir: Path) -> dict:
    """``go list -m -json`` of the main module; errors say what is wrong with go.mod."""
    proc = go.run(["list", "-m", "-json"], cwd=project_dir, overrides={"GOWORK": "off"})
    if proc.returncode != 0:
        err = proc.stderr.strip()
        m = _REQUIRES_GO.search(err)
        if m:
            raise _go_failure(proc, ["list", "-m"], project_dir)
        if "go.mod file not found" in err or "cannot find main module" in err:
            raise PlanError(
                "not a Go module: no go.mod here or in any parent directory",
                where=str(project_dir),
                hint="run gbl in the directory that holds go.mod (or pass -C DIR), "
                "or create one with `go mod init <module path>`",
            )
        raise PlanError(
            f"go.mod cannot be read: {err}",
            where=str(project_dir / "go.mod"),
            hint="fix go.mod (try `go mod tidy`) and run again",
        )
    info = json.loads(proc.stdout)
    if not info.get("GoMod"):
        # Outside any module, `go list -m` answers for a pseudo-module "command-line-arguments".
        raise PlanError(
            "not a Go module: no go.mod here or in any parent directory",
            where=str(project_dir),
            hint="run gbl in the directory that holds go.mod (or pass -C DIR), "
            "or create one with `go mod init <module path>`",
        )
    return info


def list_packages(
    go: GoTool, project_dir: Path, patterns: Sequence[str], overrides: Mapping[str, str]
) -> subprocess.Popen:
    """Start ``go list -e -find -json`` for ``patterns``; collect with :func:`collect_list`.

    ``-find`` reads each package's own files (name, build constraints, cgo) without loading its
    imports: all the plan needs, in a fraction of the time.  A broken import is Go's to report,
    and ``go build`` does, naming the function.
    """
    fields = "ImportPath,Name,Dir,Error,GoFiles,CgoFiles,IgnoredGoFiles,TestGoFiles,XTestGoFiles"
    return go.popen(["list", "-e", "-find", f"-json={fields}", *patterns], cwd=project_dir, overrides=overrides)


def collect_list(proc: subprocess.Popen, project_dir: Path) -> list[dict]:
    out, err = proc.communicate()
    if proc.returncode != 0 and not out.strip():
        m = _REQUIRES_GO.search(err)
        if m:
            raise _go_failure(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), ["list"], project_dir)
        raise PlanError(f"`go list` failed:\n{err.strip()}", where=str(project_dir))
    decoder = json.JSONDecoder()
    items, pos, text = [], 0, out
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        items.append(obj)
    return items
