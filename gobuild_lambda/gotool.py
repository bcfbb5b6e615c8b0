"""The one place gbl runs the ``go`` command.

The environment of every ``go`` process is an explicit dict: the caller's base environment (the
CLI passes ``os.environ``) plus overrides.  ``os.environ`` itself is never read or changed here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

from . import children
from .errors import PlanError, ToolMissing

GO_INSTALL_HINT = "install Go from https://go.dev/dl/ and make sure `go` is on PATH"


@dataclass(frozen=True)
class GoTool:
    """A ``go`` executable and the base environment it runs with."""

    exe: str
    base_env: tuple[tuple[str, str], ...]
    # Told, every few seconds, what a slow `go` is doing ("waiting for `go build` of api: ...").
    on_wait: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def reporting(self, on_wait: Callable[[str], None] | None) -> "GoTool":
        """This tool, telling ``on_wait`` what it waits for while a ``go`` runs long."""
        return replace(self, on_wait=on_wait)

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
        proc = self.popen(args, cwd=cwd, overrides=overrides)
        out, err = self.wait(proc)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if check and done.returncode != 0:
            raise _go_failure(done, args, cwd, self)
        return done

    def popen(
        self, args: Sequence[str], *, cwd: Path, overrides: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        """Start ``go args`` in its own process group; it dies with gbl (see children.py)."""
        try:
            return children.spawn(
                [self.exe, *args],
                cwd=cwd,
                env=self.environ(overrides),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError as exc:  # vanished between find() and now
            raise ToolMissing(f"`{self.exe}` cannot be run: {exc}", hint=GO_INSTALL_HINT) from exc

    def wait(
        self, proc: subprocess.Popen, *, describe: str | None = None, poll: float | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> tuple[str, str]:
        """Wait for a ``go`` started by :meth:`popen`; say what is waited for while it runs long."""
        return children.wait_output(
            proc, describe=describe or describe_command(proc.args), report=self.on_wait,
            poll=poll, on_poll=on_poll,
        )

    def version(self, cwd: Path) -> str:
        """``go1.23.4``-style version of this toolchain (as selected for ``cwd``)."""
        proc = self.run(["env", "GOVERSION"], cwd=cwd, check=True)
        return proc.stdout.strip()


def describe_command(argv: Sequence[str], limit: int = 120) -> str:
    """``go list -m -json`` for messages: the command without its path, shortened."""
    text = " ".join(["go", *list(argv)[1:]])
    return f"`{text if len(text) <= limit else text[: limit - 3] + '...'}`"


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


def _go_failure(proc: subprocess.CompletedProcess, args: Sequence[str], cwd: Path,
                go: GoTool | None = None) -> Exception:
    err = (proc.stderr or proc.stdout or "").strip()
    m = _REQUIRES_GO.search(err)
    if m:
        need = m.group(1) or m.group(2)
        return ToolMissing(
            f"the module needs Go >= {need}, but `go` is older: {err.splitlines()[0]}",
            where=str(cwd / "go.mod"),
            hint=f"install Go {need} or newer, or allow GOTOOLCHAIN=auto to fetch it",
        )
    if _GOFLAGS_ERROR in err:
        return _goflags_error(err, go)
    if not err:
        return _silent_failure(proc, args, cwd, go)
    return PlanError(f"`go {' '.join(args)}` failed:\n{err}", where=str(cwd))


# What cmd/go prints (then exits 1) when GOFLAGS holds something it does not accept.
_GOFLAGS_ERROR = "parsing $GOFLAGS:"


def _goflags_error(err: str, go: GoTool | None) -> PlanError:
    line = next((x for x in err.splitlines() if _GOFLAGS_ERROR in x), err.splitlines()[0])
    value = go.env.get("GOFLAGS") if go is not None else None
    shown = f"GOFLAGS={value!r}" if value is not None else "GOFLAGS (set with `go env -w`)"
    return PlanError(
        f"Go rejected {shown}: {line.strip()}",
        where="environment variable GOFLAGS" if value is not None else "`go env GOFLAGS`",
        hint="fix or unset GOFLAGS (`unset GOFLAGS` in this shell or CI step, or `go env -u GOFLAGS` "
        "if it was set with `go env -w`); gbl passes it to every go command. go.mod is not the problem",
    )


def _silent_failure(proc, args: Sequence[str], cwd: Path, go: GoTool | None) -> ToolMissing:
    exe = go.exe if go is not None else "go"
    return ToolMissing(
        f"`go {' '.join(args)}` failed (exit code {proc.returncode}) without printing a word",
        where=exe,
        hint=f"run `{exe} {' '.join(args)}` in {cwd} yourself; if it says nothing either, this Go "
        "installation (or the program GBL_GO names) is broken: reinstall Go from https://go.dev/dl/",
    )


def _not_json(what: str, text: str, exc: ValueError, go: GoTool | None) -> ToolMissing:
    exe = go.exe if go is not None else "go"
    head = text.strip().splitlines()[0][:200] if text.strip() else text[:200]
    return ToolMissing(
        f"`{what}` printed something that is not JSON ({exc.msg} at character {exc.pos}): {head!r}",
        where=exe,
        hint="gbl needs the Go toolchain itself: check that `go` on PATH (or GBL_GO) is not a "
        "wrapper that prints its own text on stdout, and that `go list -json` works",
    )


def module_info(go: GoTool, project_dir: Path) -> dict:
    """``go list -m -json`` of the main module; errors say what is wrong with go.mod."""
    proc = go.run(["list", "-m", "-json"], cwd=project_dir, overrides={"GOWORK": "off"})
    if proc.returncode != 0:
        err = proc.stderr.strip()
        m = _REQUIRES_GO.search(err)
        if m or _GOFLAGS_ERROR in err or not (err or proc.stdout.strip()):
            raise _go_failure(proc, ["list", "-m", "-json"], project_dir, go)
        if "go.mod file not found" in err or "cannot find main module" in err:
            raise PlanError(
                "not a Go module: no go.mod here or in any parent directory",
                where=str(project_dir),
                hint="run gbl in the directory that holds go.mod (or pass -C DIR), "
                "or create one with `go mod init <module path>`",
            )
        raise PlanError(
            f"go.mod cannot be read: {err or proc.stdout.strip()}",
            where=str(project_dir / "go.mod"),
            hint="fix go.mod (try `go mod tidy`) and run again",
        )
    try:
        info = json.loads(proc.stdout)
        if not isinstance(info, dict):
            raise json.JSONDecodeError("not a JSON object", proc.stdout, 0)
    except ValueError as exc:
        raise _not_json("go list -m -json", proc.stdout, exc, go) from None
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
    proc = go.popen(["list", "-e", "-find", f"-json={fields}", *patterns], cwd=project_dir, overrides=overrides)
    proc.gbl_go = go  # collect_list waits through the same tool (its progress reports)
    return proc


def collect_list(proc: subprocess.Popen, project_dir: Path) -> list[dict]:
    go: GoTool | None = getattr(proc, "gbl_go", None)
    if go is not None:
        out, err = go.wait(proc)
    else:
        out, err = children.wait_output(proc, describe=describe_command(proc.args))
    if proc.returncode != 0 and not out.strip():
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if _REQUIRES_GO.search(err) or _GOFLAGS_ERROR in err or not err.strip():
            raise _go_failure(done, ["list", *list(proc.args)[2:]], project_dir, go)
        raise PlanError(f"`go list` failed:\n{err.strip()}", where=str(project_dir))
    decoder = json.JSONDecoder()
    items, pos, text = [], 0, out
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except ValueError as exc:
            raise _not_json("go list -json", text[pos:], exc, go) from None
        if not isinstance(obj, dict):
            raise _not_json("go list -json", text[pos:], json.JSONDecodeError("not a JSON object", text, pos), go)
        items.append(obj)
    return items
