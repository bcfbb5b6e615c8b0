"""The architecture each Go function's deployment file declares, per format.

This is what the build honours (``Architectures`` in a SAM / CloudFormation template,
``architecture`` in serverless.yml, ``architectures`` in Terraform), and what ``gbl migrate
--check`` compares with the zips.  CDK code is not read for it (gbl does not evaluate programs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import GblError
from ..lambda_facts import GOARCH_OF_LAMBDA as GOARCH  # x86_64 -> amd64, arm64 -> arm64
from .model import LAMBDA_ARCH, FunctionTarget


@dataclass(frozen=True)
class DeclaredArch:
    """One Go function's declared architecture, and where it is declared."""

    function: str  # the gbl function name
    arch: str  # GOARCH: amd64 | arm64
    path: Path
    line: int  # 1-based: the Architectures / architecture line, or the function's when defaulted
    format: str  # sam | serverless | terraform

    @property
    def lambda_arch(self) -> str:
        return LAMBDA_ARCH[self.arch]

    @property
    def where(self) -> str:
        return f"{self.path.as_posix()}:{self.line}"


def declared_in_text(text: str, path: Path | str, names: Iterable[str]) -> tuple[DeclaredArch, ...]:
    """The Go functions of one file that name a gbl function in ``names``.

    A Go function is one on ``go1.x`` or a ``provided.*`` runtime, matched as ``gbl migrate``
    matches (the old binary name in its handler, or its zip's file name / code directory; for
    Terraform also ``function_name``).  A function with no declaration gets Lambda's default,
    x86_64 (amd64).  An arch Lambda does not have is left out.  Raises :class:`UsageError` for
    a file that does not parse."""
    from .discovery import file_format
    from .sam import _Migration
    from .serverless import ServerlessMigration, is_serverless
    from .terraform import TerraformMigration, parse_terraform
    from .textdoc import Doc

    path = Path(path)
    targets = {n: FunctionTarget(n, "amd64", f"dist/{n}.zip") for n in names}
    fmt = file_format(path) or ("terraform" if path.suffix == ".tf" else "sam")
    if fmt == "cdk":
        return ()
    if fmt == "terraform":
        found = TerraformMigration(parse_terraform(text, path), targets, None, path).declared()
    else:
        doc = Doc.parse(text, path)
        if is_serverless(doc, path):
            fmt = "serverless"
            run = ServerlessMigration(doc, targets, None, path)
            run.run()
        else:
            fmt = "sam"
            run = _Migration(doc, targets, None, path)
            run.run()
        found = run.declared()
    return tuple(DeclaredArch(name, GOARCH[arch], path, line, fmt) for name, arch, line in found if arch in GOARCH)


def declared_architectures(
    project_dir: Path | str, names: Iterable[str], *, paths: Iterable[Path] | None = None,
) -> tuple[DeclaredArch, ...]:
    """Every declared architecture of a Go function in the project's deployment files (the files
    ``gbl migrate`` finds: SAM / CloudFormation templates, serverless.yml, *.tf), sorted by file
    and line.  Files that cannot be read or parsed are skipped (``gbl migrate`` reports them).

    The planner can honour these: a function with one declared arch that gbl.toml does not set
    is built for it; two files declaring different arches for one function is a conflict to
    report with both ``where``s.  ``paths`` (files of the project) reads only those."""
    from .discovery import file_format, find_files

    names = tuple(names)
    out: list[DeclaredArch] = []
    for path in (find_files(Path(project_dir)) if paths is None else tuple(paths)):
        if file_format(path) in (None, "cdk"):
            continue
        try:
            text = path.read_bytes().decode("utf-8")
            out.extend(declared_in_text(text, path, names))
        except (OSError, UnicodeDecodeError, GblError, ValueError, RecursionError):
            continue
    return tuple(out)
