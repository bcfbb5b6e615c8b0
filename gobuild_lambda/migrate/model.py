"""What gbl migrate returns: the functions it moves to, the changes, the problems, the report."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..config import DEFAULT_RUNTIME

GO1X = "go1.x"
BOOTSTRAP = "bootstrap"
GLOBALS = "Globals"
# Lambda's names for gbl's (GOARCH) architectures.
LAMBDA_ARCH = {"amd64": "x86_64", "arm64": "arm64"}


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class FunctionTarget:
    """A function gbl builds, as a template sees it."""

    name: str  # the gbl function name = the old go1.x Handler (binary name)
    arch: str  # GOARCH: amd64 | arm64
    zip_path: str  # the zip, relative to the template's directory, forward slashes
    runtime: str = DEFAULT_RUNTIME  # used unless migrate is given a runtime
    # The logical IDs of the template resources that declare this function (gbl plan found it
    # through them), and its package directory relative to the template (recorded in
    # ``Metadata: {gbl: {source: ...}}`` so that discovery still finds it once CodeUri is a zip).
    resources: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Change:
    """One edit: ``old`` is None when the key was added."""

    resource: str  # the logical ID, or "Globals"
    key: str  # Runtime | Handler | CodeUri | Code | Architectures | Metadata | gbl | BuildMethod
    old: str | None
    new: str  # "" when the key was removed
    line: int  # 1-based, in the original text
    why: str = ""  # for a removal: why the key no longer applies

    @property
    def removed(self) -> bool:
        return self.new == "" and self.old is not None

    def __str__(self) -> str:
        where = "Globals.Function" if self.resource == GLOBALS else self.resource
        if self.removed:
            return f"{where}: removed {self.key}: {self.old}" + (f" ({self.why})" if self.why else "")
        if self.old is None:
            return f"{where}: added {self.key}: {self.new}"
        return f"{where}: {self.key}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class Problem:
    """Something gbl left alone, and what to do about it."""

    path: Path
    resource: str | None  # the logical ID, "Globals", or None for the whole file
    message: str
    hint: str
    line: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.path.as_posix() + (f":{self.line}" if self.line else "")
        who = f"{self.resource}: " if self.resource else ""
        return f"{where}: {who}{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class MigrationResult:
    path: Path
    original: str
    migrated: str
    changes: tuple[Change, ...]
    problems: tuple[Problem, ...]
    go1x_before: tuple[str, ...] = ()  # resources (and "Globals") using go1.x in ``original``
    go1x_after: tuple[str, ...] = ()  # ... and in ``migrated``
    label: str = ""  # the name the diff shows; default: the path

    @property
    def changed(self) -> bool:
        return self.migrated != self.original

    def diff(self) -> str:
        """A unified diff from ``original`` to ``migrated`` ("" when nothing changes)."""
        if not self.changed:
            return ""
        name = self.label or self.path.as_posix()
        absolute = PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute()
        a, b = (name, name) if absolute else (f"a/{name}", f"b/{name}")
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True), self.migrated.splitlines(keepends=True), a, b
        )
        out = []
        for line in lines:
            if line.endswith("\n"):
                out.append(line)
            else:  # the file's last line has no newline
                out.append(line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass(frozen=True)
class MigrateReport:
    results: tuple[MigrationResult, ...]
    problems: tuple[Problem, ...]  # about the project rather than a template (go.mod)
    written: tuple[Path, ...] = ()

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        return tuple(p for r in self.results for p in r.problems) + self.problems

    def still_go1x(self, *, after: bool) -> tuple[tuple[Path, str], ...]:
        """(template, resource) pairs on go1.x: as the files were (``after=False``) or as they
        are after migration (``after=True``)."""
        return tuple(
            (r.path, res) for r in self.results for res in (r.go1x_after if after else r.go1x_before)
        )

    def check(self, *, written: bool) -> None:
        """``--check``: raise :class:`MigrateCheckFailed` when a template (as it is on disk)
        still uses go1.x, or when go.mod's aws-lambda-go cannot run on a provided runtime."""
        from ..errors import MigrateCheckFailed

        self.check_go1x(written=written)
        if self.problems:
            raise MigrateCheckFailed(self.problems[0].message, hint=self.problems[0].hint,
                                     where=str(self.problems[0].path))

    def check_go1x(self, *, written: bool) -> None:
        """Raise :class:`MigrateCheckFailed` naming every function (file, resource) still on
        go1.x: as the files were, or (``written``) as gbl migrate --write left them."""
        from ..errors import MigrateCheckFailed

        left = self.still_go1x(after=written)
        if left:
            by_file: dict[str, list[str]] = {}
            for path, resource in left:
                by_file.setdefault(path.as_posix(), []).append(
                    "Globals.Function" if resource == GLOBALS else resource)
            where = "; ".join(f"{f} ({', '.join(res)})" for f, res in by_file.items())
            raise MigrateCheckFailed(
                f"still on the retired go1.x runtime: {where}",
                hint="fix what gbl migrate reports for them, then run `gbl migrate --write` again"
                if written else "run `gbl migrate --write` on the template(s), and fix what it reports",
            )

