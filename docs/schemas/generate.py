"""Writes docs/schemas/<command>.schema.json: the JSON Schema of each `gbl <command> --json`.

Run `python docs/schemas/generate.py` after changing a --json document (and docs/json.md); the
tests validate real output against the files it writes (tests/test_json_output.py).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRAFT = "https://json-schema.org/draft/2020-12/schema"

S, I, B, N = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}
S0, I0 = {"type": ["string", "null"]}, {"type": ["integer", "null"]}


def arr(items):
    return {"type": "array", "items": items}


def obj(props, required=None, extra=False):
    return {"type": "object", "properties": props, "required": list(required if required is not None else props),
            "additionalProperties": extra}


ARCH = {"enum": ["amd64", "arm64"]}
ERROR = obj({"type": S, "message": S, "where": S0, "hint": S0})
FUNCTION = obj({
    "name": S, "package": S, "dir": S, "arch": ARCH, "runtime": S, "builder": {"enum": ["local", "docker"]},
    "image": S0, "tags": arr(S), "ldflags": S, "env": {"type": "object", "additionalProperties": S},
    "include": arr(obj({"path": S, "executable": B})), "module_dir": S, "template": S0,
})
BUILD = {
    "ok": B, "out_dir": S, "manifest": S,
    "counts": obj({"built": I, "reused": I, "failed": I}),
    "total_size": I, "wall_s": {"type": ["number", "null"]},
    "functions": arr(obj({
        "name": S, "arch": ARCH, "ok": B,
        "status": {"enum": ["built", "relinked", "rezipped", "up to date", "failed"]},
        "zip": S0, "size": I, "sha256": S, "code_sha256": S, "relinked": B, "rezipped": B, "error": S0,
    })),
}
VERDICT = obj({
    "path": S, "ok": B, "arch": S0, "go_version": S0, "aws_lambda_go": S0,
    "checks": arr(obj({"id": S, "status": {"enum": ["pass", "warn", "fail"]}, "message": S,
                       "lambda_error": S0, "fix": S0})),
})
PROBLEM = obj({"path": S, "resource": S0, "line": I0, "message": S, "hint": S})
INVOCATION = {
    "function": S, "arch": ARCH, "status": {"enum": ["ok", "error", "crash", "timeout"]},
    "response": {}, "duration_ms": N, "response_bytes": I, "request_id": S0,
}
FN_ERROR = {"anyOf": [{"type": "null"}, obj({"type": S0, "message": S0})]}
DIFF = {
    "function": S, "lambda_name": S, "status": {"enum": ["changed", "unchanged", "missing", "error"]},
    "arch": S, "deployed_arch": S0, "arch_differs": B, "code_sha256": S, "deployed_code_sha256": S0,
    "size": I, "error": S0, "hint": S0, "warnings": arr(S),
}
DEPLOY_FN = {**DIFF, "action": {"enum": ["updated", "unchanged", "would-update", "missing", "failed"]},
             "upload": S0, "published_version": S0, "alias": S0}

# command -> (properties of its document, required on success, description)
COMMANDS = {
    "plan": ({"ok": B, "module": S0, "modules": arr(obj({"dir": S, "path": S})), "go": S0,
              "functions": arr(FUNCTION), "skipped": arr(obj({"dir": S, "reason": S})), "warnings": arr(S)},
             ["ok", "module", "modules", "functions", "skipped", "warnings"],
             "The functions found and the settings each will be built with."),
    "build": (BUILD, list(BUILD), "The build's result: one entry per function, counts, size, wall time."),
    "verify": ({"ok": B, "counts": obj({"ok": I, "failed": I}), "zips": arr(VERDICT)}, ["ok", "counts", "zips"],
               "One verdict per zip, every check."),
    "zip": ({"ok": B, "zip": S, "size": I, "sha256": S, "code_sha256": S, "written": B, "verify": VERDICT},
            ["ok", "zip", "size", "sha256", "code_sha256", "written", "verify"],
            "The zip written (or refused) and its verdict."),
    "migrate": ({"ok": B, "written": B, "files": arr(obj({
                    "path": S, "label": S, "changed": B,
                    "changes": arr(obj({"resource": S, "key": S, "old": S0, "new": S, "line": I})),
                    "problems": arr(PROBLEM), "diff": S})),
                 "problems": arr(PROBLEM)},
                ["ok", "written", "files", "problems"], "Per file: the changes, the problems and the diff."),
    "init": ({"ok": B, "files": arr(obj({"path": S, "what": S, "replaced": B, "kept_as": S0}))}, ["ok", "files"],
             "The files written."),
    "manifest merge": ({"ok": B, "manifest": S, "out_dir": S, "functions": arr(S)},
                       ["ok", "manifest", "out_dir", "functions"], "The merged manifest and its functions."),
    "invoke": ({"ok": B, **INVOCATION, "function_error": FN_ERROR,
                "functions": arr(obj({**INVOCATION, "error": FN_ERROR})),
                "examples": arr(obj({"kind": S, "description": S}))},
               ["ok"], "One invocation (NAME), with --all one entry per function, or with "
               "--list-examples the built-in example events."),
    "diff": ({"ok": B, "out_dir": S, "differs": B, "functions": arr(obj(DIFF))},
             ["ok", "out_dir", "differs", "functions"], "Each function: built against deployed."),
    "deploy": ({"ok": B, "out_dir": S, "dry_run": B, "functions": arr(obj(DEPLOY_FN)),
                "build": obj(BUILD)},
               ["ok", "out_dir", "dry_run", "functions"], "What was (or would be) updated, per function."),
    "clean": ({"ok": B, "project_dir": S, "out_dir": S, "removed": arr(S), "kept": arr(S), "containers": I0},
              ["ok", "project_dir", "out_dir", "removed", "kept", "containers"],
              "What was removed (files and directories), what the output directory kept (not gbl's), and how "
              "many warm build containers were removed (null: no Docker daemon answered)."),
}
ONE_OF = {"invoke": [["function", "arch", "status", "response", "function_error"], ["functions"], ["examples"]]}


def schema(command: str) -> dict:
    props, required, description = COMMANDS[command]
    success: dict = {"required": required}
    if command in ONE_OF:
        success["anyOf"] = [{"required": r} for r in ONE_OF[command]]
    return {
        "$schema": DRAFT,
        "$id": f"https://github.com/gobuild-lambda/gbl/docs/schemas/{file_name(command)}",
        "title": f"gbl {command} --json",
        "description": description + " On failure: ok false, error and exit_code (docs/json.md).",
        "type": "object",
        "properties": {"version": {"const": 1}, "command": {"const": command}, **props,
                       "error": ERROR, "exit_code": {"type": "integer", "minimum": 1}},
        "required": ["version", "command"],
        "additionalProperties": False,
        "if": {"required": ["error"]},
        "then": {"required": ["ok", "error", "exit_code"], "properties": {"ok": {"const": False}}},
        "else": success,
    }


def file_name(command: str) -> str:
    return command.replace(" ", "-") + ".schema.json"


def main() -> None:
    for command in COMMANDS:
        (HERE / file_name(command)).write_text(json.dumps(schema(command), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
