"""Small real Go modules for the safety tests (issue 16): no dependencies, so they build fast."""

from __future__ import annotations

import json
from pathlib import Path

MAIN = 'package main\n\nimport "os"\n\nfunc main() { os.Exit(0) }\n'


def tiny_module(root: Path, module: str = "example.com/tiny", functions=("alpha", "beta"),
                gbl_toml: str = "") -> Path:
    """A Go module at ``root`` with one main package per name under cmd/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {module}\n\ngo 1.22\n")
    for name in functions:
        d = root / "cmd" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "main.go").write_text(MAIN)
    if gbl_toml:
        (root / "gbl.toml").write_text(gbl_toml)
    return root


def manifest_of(dist: Path) -> dict:
    return json.loads((dist / "manifest.json").read_text())


def tree(root: Path, skip=("dist", ".gbl")) -> dict[str, bytes | str]:
    """Every file and link under root (outside ``skip``): content or link target."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts and rel.parts[0] in skip:
            continue
        if p.is_symlink():
            out[rel.as_posix()] = "-> " + str(p.readlink())
        elif p.is_file():
            out[rel.as_posix()] = p.read_bytes()
    return out
