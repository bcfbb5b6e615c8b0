"""Where a project's Go code lives: deployment templates, workspaces, modules and go.mod facts.

The planner asks this module *where* to look; Go (``go list``) still decides what is a function.

* SAM / CloudFormation templates: every function resource whose code is Go (``Runtime: go1.x``;
  a ``provided.*`` runtime with ``Metadata: BuildMethod: go1.x``; or a local ``CodeUri`` directory
  holding a ``main`` package) names its package directory, and its ``Architectures`` (the
  function's, else ``Globals``) and ``provided.*`` runtime.  Other resources are kept with the
  reason they are not Go functions, for ``gbl plan -v``.  Templates are data: intrinsic functions
  (``!Ref``, ``!Sub``...) are never evaluated, and a code directory outside the project is refused.
  A function ``gbl migrate`` moved to its zip (``CodeUri: dist/<name>.zip``) keeps its source
  directory in ``Metadata: {gbl: {source: <dir>}}`` (relative to the template), which is read
  here in place of the zip path, so a migrated template still declares its functions.
* ``go.work``: the ``use`` directories of a workspace.
* ``go.mod``: the nearest module root above a directory, and the aws-lambda-go requirement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, UsageError
from .lambda_facts import AWS_LAMBDA_GO as LAMBDA_GO
from .lambda_facts import GO1X, GOARCH_OF_LAMBDA, lambda_go_requirement, lambda_go_too_old

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
SAM_FUNCTION = "AWS::Serverless::Function"
CFN_FUNCTION = "AWS::Lambda::Function"
LAMBDA_GO_FIX = f"go get {LAMBDA_GO}@latest && go mod tidy"
# Metadata: {gbl: {source: <dir>}}: where gbl migrate recorded a zipped function's source directory
GBL_METADATA, GBL_SOURCE = "gbl", "source"


@dataclass(frozen=True)
class TemplateFunction:
    """A function resource of a template, Go or not."""

    template: Path  # absolute path of the template
    resource: str  # logical id
    code_dir: Path | None  # absolute package directory (Go functions only)
    arch: str | None  # GOARCH from Architectures (function, else Globals); None: not said
    runtime: str | None  # a provided.* runtime the template names; None: not said
    reason: str = ""  # why it is not a Go function gbl builds ("" when it is)


class _Tagged:
    """A value computed by an intrinsic function (``!Ref X``): never evaluated."""

    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}" if self.value not in (None, "") else self.tag


def find_templates(project_dir: Path, configured: tuple[str, ...] | None, config_path) -> tuple[Path, ...]:
    """``[discover] templates`` (each must exist), else template.yaml|yml|json in the project dir."""
    if configured is None:
        return tuple(project_dir / n for n in TEMPLATE_NAMES if (project_dir / n).is_file())
    out = []
    for rel in configured:
        path = project_dir / rel
        if not path.is_file():
            raise ConfigError(
                f"`discover.templates` names {rel!r}, which is not a file",
                where=str(config_path), hint=f"list template files relative to {project_dir}",
            )
        out.append(path)
    return tuple(out)


def read_template(path: Path, project_dir: Path) -> tuple[TemplateFunction, ...]:
    """The function resources of one template (YAML with CloudFormation tags, or JSON)."""
    data = _load_cached(path, project_dir)
    resources = data.get("Resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        return ()
    glob = data.get("Globals")
    glob_fn = glob.get("Function") if isinstance(glob, dict) else None
    glob_fn = glob_fn if isinstance(glob_fn, dict) else {}
    out = []
    for name, res in resources.items():
        if not isinstance(res, dict) or res.get("Type") not in (SAM_FUNCTION, CFN_FUNCTION):
            continue
        sam = res["Type"] == SAM_FUNCTION
        props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
        inherited = glob_fn if sam else {}
        out.append(_function(path, project_dir, str(name), props, inherited, res.get("Metadata"), sam))
    return tuple(out)


def _function(path, project_dir, name, props, inherited, metadata, sam) -> TemplateFunction:
    def prop(key):
        return props[key] if key in props else inherited.get(key)

    runtime, code = prop("Runtime"), prop("CodeUri" if sam else "Code")
    method = metadata.get("BuildMethod") if isinstance(metadata, dict) else None
    source = recorded_source(metadata)
    arch, arch_reason = _arch(prop("Architectures"))

    def skip(reason: str) -> TemplateFunction:
        return TemplateFunction(path, name, None, None, None, reason)

    if props.get("PackageType") == "Image":
        return skip("PackageType Image: a container image, not a zip")
    if isinstance(runtime, _Tagged):
        return skip(f"Runtime is computed ({runtime!r}); gbl cannot tell whether it is Go")
    if runtime is not None and not isinstance(runtime, str):
        return skip(f"Runtime is not a string: {runtime!r}")
    declared_go = runtime == GO1X or (
        isinstance(runtime, str) and runtime.startswith("provided") and method == GO1X
    )
    if runtime is not None and runtime != GO1X and not runtime.startswith("provided"):
        return skip(f"runtime {runtime}, not Go")
    if code is None:
        return skip("no CodeUri" if sam else "no Code")
    if isinstance(code, dict) or isinstance(code, _Tagged):
        if isinstance(code, dict) and ("S3Bucket" in code or "Bucket" in code):
            return skip("code in S3, not in this repository")
        if isinstance(code, dict) and "ZipFile" in code:
            return skip("inline code (ZipFile), not Go")
        return skip(f"code location is computed or not a path ({code!r})")
    if not isinstance(code, str):
        return skip(f"code location is not a path: {code!r}")
    if code.startswith("s3://"):
        return skip("code in S3, not in this repository")
    code_dir = (path.parent / code).resolve()
    if code.endswith(".zip") or code_dir.is_file():
        if source is None:
            return skip(f"code is a built file ({code}), not a source directory")
        # gbl's own zip: the source directory gbl migrate recorded is the function's package
        declared_go, code, label = True, source, f"Metadata {GBL_METADATA}.{GBL_SOURCE} {source}"
        code_dir = (path.parent / source).resolve()
    else:
        label = f"CodeUri {code}" if sam else f"Code {code}"
    root = project_dir.resolve()
    if code_dir != root and root not in code_dir.parents:
        return skip(f"{label} is outside the project directory {root}")
    if not code_dir.is_dir():
        reason = f"{label} is not a directory"
        return skip(reason + (" (a Go function: fix the path)" if declared_go else ""))
    if not declared_go and not _has_main_package(code_dir):
        return skip(f"runtime {runtime or 'not set'} and {code} holds no Go main package")
    if arch_reason:
        return skip(arch_reason)
    provided = runtime if isinstance(runtime, str) and runtime.startswith("provided") else None
    return TemplateFunction(path, name, code_dir, arch, provided)


def recorded_source(metadata) -> str | None:
    """``Metadata: {gbl: {source: <dir>}}`` (written by gbl migrate), else None."""
    gbl = metadata.get(GBL_METADATA) if isinstance(metadata, dict) else None
    source = gbl.get(GBL_SOURCE) if isinstance(gbl, dict) else None
    return source if isinstance(source, str) and source.strip() else None


def _arch(value) -> tuple[str | None, str]:
    if value is None:
        return None, ""
    # Lambda's spelling only (lambda_facts): CloudFormation refuses Architectures: [amd64]
    if isinstance(value, list) and len(value) == 1 and value[0] in GOARCH_OF_LAMBDA:
        return GOARCH_OF_LAMBDA[value[0]], ""
    return None, f"Architectures {value!r} is not [x86_64] or [arm64]"


_PACKAGE = re.compile(r"^\s*package\s+(\w+)", re.MULTILINE)


def _has_main_package(directory: Path) -> bool:
    for f in sorted(directory.glob("*.go")):
        if f.name.endswith("_test.go"):
            continue
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        m = _PACKAGE.search(_strip_comments(text))
        if m and m.group(1) == "main":
            return True
    return False


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.DOTALL)


# What a YAML template parsed to, keyed by the template's sha256, so a no-op `gbl build` of a SAM
# repository neither imports nor runs a YAML parser (~0.2 s, a third of a no-op).  Data, not a
# command: every value is checked again by _function exactly as if it came from the template.
TEMPLATE_CACHE = Path(".gbl") / "templates.json"
_TAG = "\u0000tag"  # marks an encoded _Tagged value (no YAML key can hold a NUL)


def _load_cached(path: Path, project_dir: Path):
    import hashlib

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the template: {exc.strerror or exc}", where=str(path)) from exc
    if path.suffix.lower() == ".json" or raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _load(path)  # JSON parses fast with the standard library
    key, digest = path.resolve().as_posix(), hashlib.sha256(raw).hexdigest()
    cache_file = project_dir / TEMPLATE_CACHE
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        entry = cache.get(key) if isinstance(cache, dict) else None
        if isinstance(entry, dict) and entry.get("sha256") == digest:
            return _decode(entry.get("data"))
    except (OSError, ValueError):
        cache = {}
    data = _load(path)
    try:
        cache = cache if isinstance(cache, dict) else {}
        cache[key] = {"sha256": digest, "data": _encode(data)}
        from .fsutil import write_atomic

        cache_file.parent.mkdir(exist_ok=True)  # gbl's own state directory (the build's too)
        write_atomic(cache_file, json.dumps(cache, sort_keys=True).encode())
    except (OSError, ValueError, TypeError):
        pass  # a cache that cannot be written costs the next run a parse, nothing else
    return data


def _encode(value):
    if isinstance(value, _Tagged):
        return {_TAG: value.tag, "value": _encode(value.value)}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # dates and the like: never a value gbl reads


def _decode(value):
    if isinstance(value, dict):
        if _TAG in value:
            return _Tagged(str(value[_TAG]), _decode(value.get("value")))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _load(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the template: {exc}", where=str(path)) from exc
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise UsageError(
                    f"not valid JSON: {exc.msg} (line {exc.lineno})", where=str(path),
                    hint="fix the template (try `sam validate` or `cfn-lint`)",
                ) from exc
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)

    def tagged(loader, suffix, node):
        if hasattr(node, "value") and isinstance(node.value, str):
            return _Tagged(f"!{suffix}", node.value)
        return _Tagged(f"!{suffix}", None)

    yaml.constructor.add_multi_constructor("!", tagged)
    try:
        return yaml.load(text)
    except YAMLError as exc:
        raise UsageError(
            f"not valid YAML: {str(exc).splitlines()[0] if str(exc) else exc!r}", where=str(path),
            hint="fix the template (try `sam validate` or `cfn-lint`)",
        ) from exc


# ------------------------------------------------- other deployment files (Serverless, Terraform)
SERVERLESS_NAMES = ("serverless.yml", "serverless.yaml")
_SKIP_DIRS = ("dist", "node_modules", "vendor", "testdata", "cdk.out")  # and every hidden dir


def deployment_files(project_dir: Path) -> tuple[Path, ...]:
    """serverless.yml|yaml and *.tf files in the project (not in hidden or build directories),
    sorted: the files whose declared architectures the planner reads through gbl migrate's
    parsers.  Only names are looked at here, so a project without such files imports nothing."""
    import os

    found = []
    for dirpath, dirnames, filenames in os.walk(project_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        found += [Path(dirpath) / n for n in filenames
                  if n.lower() in SERVERLESS_NAMES or n.lower().endswith(".tf")]
    return tuple(sorted(found))


# ------------------------------------------------------------------------- modules, workspaces
def module_root(directory: Path, stop: Path) -> Path | None:
    """The nearest directory at or above ``directory`` (not above ``stop``) holding go.mod."""
    d = directory
    while True:
        if (d / "go.mod").is_file():
            return d
        if d == stop or d.parent == d:
            return None
        d = d.parent


def workspace_modules(go_work: Path) -> tuple[Path, ...]:
    """The ``use`` directories of a go.work file, resolved, in file order."""
    try:
        text = go_work.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read go.work: {exc}", where=str(go_work)) from exc
    dirs, block = [], False
    for raw in text.splitlines():
        words = raw.split("//", 1)[0].split()
        if not words:
            continue
        if block:
            if words == [")"]:
                block = False
            else:
                dirs.append(words[0])
            continue
        if words[0] == "use":
            if words[1:] == ["("]:
                block = True
            elif len(words) >= 2:
                dirs.append(words[1])
    out = []
    for d in dirs:
        d = d.strip('"`')
        path = (go_work.parent / d).resolve()
        if not (path / "go.mod").is_file():
            raise UsageError(
                f"go.work uses {d}, which holds no go.mod", where=str(go_work),
                hint=f"fix the `use` line, or run `go work use {d}` after creating the module",
            )
        out.append(path)
    return tuple(dict.fromkeys(out))


def workspace_above(module_dir: Path) -> Path | None:
    """The nearest go.work strictly above ``module_dir`` that ``use``s it, else None."""
    for d in module_dir.parents:
        work = d / "go.work"
        if work.is_file():
            try:
                return work if module_dir.resolve() in workspace_modules(work) else None
            except UsageError:
                return None
    return None


def old_lambda_go(go_mod: Path) -> str:
    """The aws-lambda-go version go.mod requires (or a ``replace`` swaps in) when it is older than
    v1.18.0, else ""."""
    try:
        text = go_mod.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    found = lambda_go_requirement(text)
    return found[0] if found and lambda_go_too_old(found[0]) else ""
