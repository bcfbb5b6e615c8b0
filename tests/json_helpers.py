"""Validate a `gbl … --json` document against its schema in docs/schemas/ (docs/json.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def schema(command: str) -> dict:
    return json.loads((SCHEMAS / (command.replace(" ", "-") + ".schema.json")).read_text(encoding="utf-8"))


def checked(proc, command: str, *, ok: bool) -> dict:
    """stdout is exactly one JSON object, valid for ``command``'s schema; on failure it carries
    the error and the process's exit code."""
    doc = json.loads(proc.stdout)  # one object and nothing else: json.loads refuses trailing data
    assert isinstance(doc, dict), doc
    jsonschema.validate(doc, schema(command), cls=jsonschema.Draft202012Validator)
    assert doc["version"] == 1 and doc["command"] == command
    if ok:
        assert proc.returncode == 0, proc.stderr
        assert "error" not in doc and doc["ok"] is True
    else:
        assert proc.returncode != 0
        assert doc["ok"] is False and doc["exit_code"] == proc.returncode, (doc, proc.stderr)
        assert doc["error"]["message"] and doc["error"]["message"] in proc.stderr
    return doc
