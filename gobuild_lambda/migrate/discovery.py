"""Finding the files gbl migrate looks at in a project."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import GblError
from .cdk import cdk_language
from .sam import _Migration
from .serverless import SERVERLESS_NAMES
from .textdoc import Doc

# File names `gbl plan` looks at for templates that still use go1.x.
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
TEMPLATE_SUFFIXES = (".template", ".template.yaml", ".template.yml", ".template.json")
TEMPLATE_DIRS = ("cloudformation", "cfn")  # any .yaml/.yml/.json inside these
SKIP_DIRS = ("dist", "node_modules", "vendor", "testdata", "cdk.out")  # and every hidden dir (.git, .gbl, .aws-sam)


def find_templates(project_dir: Path) -> tuple[Path, ...]:
    """Files in the project that look like SAM / CloudFormation templates, sorted."""
    root = Path(project_dir)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        in_template_dir = Path(dirpath).name in TEMPLATE_DIRS
        for name in sorted(filenames):
            lower = name.lower()
            if (
                lower in TEMPLATE_NAMES
                or lower.endswith(TEMPLATE_SUFFIXES)
                or (in_template_dir and lower.endswith((".yaml", ".yml", ".json")))
            ):
                found.append(Path(dirpath) / name)
    return tuple(sorted(found, key=lambda p: p.relative_to(root).as_posix()))


_GO1X_TEXT = re.compile(r"""Runtime["']?\s*:\s*["']?go1\.x\b""")


def find_go1x_templates(project_dir: Path) -> tuple[Path, ...]:
    """Files in the project that still run a function on go1.x (for ``gbl plan``'s warning):
    SAM / CloudFormation templates, serverless.yml, *.tf and CDK sources.

    Never raises: a file that cannot be read is skipped, one that does not parse is judged by
    a text search (``Runtime: go1.x`` in a template).
    """
    return find_migratable(project_dir, go1x_only=True)


def _go1x_templates(paths) -> tuple[Path, ...]:
    out = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"go1.x" not in data:  # the cheap pre-filter: most templates stop here
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        try:
            uses = bool(_Migration(Doc.parse(text, path), {}, None, path).run().go1x)
        except (GblError, ValueError, RecursionError):
            uses = bool(_GO1X_TEXT.search(text))
        if uses:
            out.append(path)
    return tuple(out)



def _walk(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath) / name


def file_format(path: Path) -> str | None:
    """What gbl migrate reads a file as, by its name: sam | serverless | terraform | cdk | None."""
    lower = path.name.lower()
    if lower in SERVERLESS_NAMES:
        return "serverless"
    if lower.endswith(".tf"):
        return "terraform"
    if (lower in TEMPLATE_NAMES or lower.endswith(TEMPLATE_SUFFIXES)
            or (path.parent.name in TEMPLATE_DIRS and lower.endswith((".yaml", ".yml", ".json")))):
        return "sam"
    if cdk_language(path) is not None:
        return "cdk"
    return None


def find_files(project_dir: Path) -> tuple[Path, ...]:
    """Every file gbl migrate can read in the project (SAM / CloudFormation templates,
    serverless.yml, *.tf, CDK sources), sorted."""
    root = Path(project_dir)
    found = [p for p in _walk(root) if file_format(p) is not None]
    return tuple(sorted(found, key=lambda p: p.relative_to(root).as_posix()))


_MARKERS = {"sam": (b"go1.x",), "serverless": (b"go1.x",), "terraform": (b"go1.x",),
            "cdk": (b"GO_1_X", b"GoFunction")}


def find_migratable(project_dir: Path, *, go1x_only: bool = False) -> tuple[Path, ...]:
    """The files ``gbl migrate`` with no argument looks at: those that still run a function on
    go1.x (SAM, Serverless, Terraform, CDK), and CDK sources with a GoFunction (reported).

    Never raises: a file that cannot be read is skipped, one that does not parse is judged by a
    text search."""
    from .formats import migrate_text

    out = []
    for path in find_files(project_dir):
        fmt = file_format(path)
        if fmt == "sam":
            out.extend(_go1x_templates([path]))
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        markers = _MARKERS[fmt][:1] if go1x_only else _MARKERS[fmt]
        if not any(m in data for m in markers):
            continue
        try:
            result = migrate_text(data.decode("utf-8"), {}, path=path)
        except (GblError, ValueError, RecursionError, UnicodeDecodeError):
            out.append(path)
            continue
        if result.go1x_before or (not go1x_only and result.problems and fmt == "cdk"):
            out.append(path)
    return tuple(out)
