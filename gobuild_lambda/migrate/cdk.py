"""CDK apps (Go, TypeScript / JavaScript, Python): every use of the Go 1.x runtime, reported.

gbl does not edit program code: each use is reported with file:line and the replacement to make.
What is found, outside comments:

* ``Runtime.GO_1_X`` (TypeScript, JavaScript, Python) and ``Runtime_GO_1_X()`` (Go): a function on
  go1.x.  It counts as go1.x for ``--check``.
* ``GoFunction`` (``@aws-cdk/aws-lambda-go-alpha``, ``aws_cdk.aws_lambda_go_alpha``,
  ``awscdklambdagoalpha``) with no ``runtime`` / ``Runtime`` in the lines of its call: it builds
  with its own default (``provided.al2`` today); a note suggests building with gbl instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from .model import FunctionTarget, MigrationResult, Problem

CDK_SUFFIXES = {".ts": "ts", ".mts": "ts", ".js": "ts", ".mjs": "ts", ".py": "py", ".go": "go"}
_GO1X = {
    "ts": re.compile(r"\bRuntime\.GO_1_X\b"),
    "py": re.compile(r"\bRuntime\.GO_1_X\b"),
    "go": re.compile(r"\bRuntime_GO_1_X\s*\(\s*\)"),
}
_REPLACEMENT = {
    "ts": ("Runtime.PROVIDED_AL2023", "handler: 'bootstrap'", "Code.fromAsset('{zip}')",
           "architecture: Architecture.ARM_64"),
    "py": ("Runtime.PROVIDED_AL2023", 'handler="bootstrap"', 'Code.from_asset("{zip}")',
           "architecture=Architecture.ARM_64"),
    "go": ("awslambda.Runtime_PROVIDED_AL2023()", 'Handler: jsii.String("bootstrap")',
           'awslambda.Code_FromAsset(jsii.String("{zip}"), nil)', "Architecture: awslambda.Architecture_ARM_64()"),
}
_GO_FUNCTION = re.compile(r"\b(?:New)?GoFunction\s*\(")
_COMMENT = {"ts": re.compile(r"//[^\n]*|/\*.*?\*/", re.S), "go": re.compile(r"//[^\n]*|/\*.*?\*/", re.S),
            "py": re.compile(r"#[^\n]*")}


def cdk_language(path: Path) -> str | None:
    if path.name.endswith(".d.ts"):
        return None
    return CDK_SUFFIXES.get(path.suffix.lower())


def _blank_comments(text: str, lang: str) -> str:
    """The text with comments replaced by spaces (offsets and lines stay the same)."""
    return _COMMENT[lang].sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def report_cdk(
    text: str,
    functions: Mapping[str, FunctionTarget],
    *,
    path: Path | str = "stack.ts",
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Report every Go 1.x use in one CDK source file; the text is returned unchanged."""
    path = Path(path)
    lang = cdk_language(path) or "ts"
    code = _blank_comments(text, lang)
    runtime_name, handler, asset, arm = _REPLACEMENT[lang]
    if runtime == "provided.al2":
        runtime_name = runtime_name.replace("AL2023", "AL2")
    names = sorted(functions)
    zips = ", ".join(f"{n}: {functions[n].zip_path}" for n in names) or "gbl found no functions under cmd/"
    arm_names = [n for n in names if functions[n].arch == "arm64"]
    arch_note = f"; for {', '.join(arm_names)} also {arm}" if arm_names else ""
    problems, go1x = [], []
    for m in _GO1X[lang].finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        go1x.append(f"line {line}")
        problems.append(Problem(
            path, None, f"{m.group()}: the retired go1.x runtime (gbl does not edit CDK code)",
            f"replace it with {runtime_name}, set {handler} and code {asset.format(zip='<zip>')} with the zip "
            f"gbl builds ({zips}){arch_note}; build with `gbl build` before `cdk deploy`", line))
    for m in _GO_FUNCTION.finditer(code):
        call = code[m.start():m.start() + 1500]
        end = _call_end(call)
        if re.search(r"\b[Rr]untime\b", call[:end]):
            continue
        line = code.count("\n", 0, m.start()) + 1
        problems.append(Problem(
            path, None, "GoFunction with its default runtime: the CDK builds this function itself",
            f"to deploy gbl's zip instead, use a plain Function with {runtime_name}, {handler} and "
            f"{asset.format(zip='<zip>')} ({zips}){arch_note}", line))
    problems.sort(key=lambda p: p.line or 0)
    return MigrationResult(path=path, original=text, migrated=text, changes=(), problems=tuple(problems),
                           go1x_before=tuple(go1x), go1x_after=tuple(go1x),
                           label=label if label is not None else path.as_posix())


def _call_end(call: str) -> int:
    """Where the bracketed call starting in ``call`` closes (or its end)."""
    depth = 0
    for i, c in enumerate(call):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return i
    return len(call)
