"""Finding the files gbl migrate looks at in a project."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import GblError
from .sam import _Migration
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
    """Templates in the project that still run a function on go1.x (for ``gbl plan``'s warning).

    Never raises: a template that cannot be read is skipped, one that does not parse is judged by
    a text search for ``Runtime: go1.x``.
    """
    out = []
    for path in find_templates(project_dir):
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

