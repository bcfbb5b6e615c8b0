"""gbl migrate: move go1.x functions in SAM and CloudFormation templates to the provided runtimes.

For every function whose runtime is ``go1.x`` (on the resource, or inherited from SAM's
``Globals.Function``) and whose old ``Handler`` (the binary's name) names a gbl function:
``Runtime`` becomes the chosen provided runtime, ``Handler`` becomes ``bootstrap``, the code
(SAM ``CodeUri``, CloudFormation ``Code``) becomes the local path of ``dist/<name>.zip`` (which
``sam deploy`` / ``sam package`` / ``aws cloudformation package`` upload), and ``Architectures`` is
set when the function is built for arm64 (or when the template disagrees with gbl.toml).
Anything gbl cannot migrate safely (an unknown Handler, code in S3, inline code, a runtime or code
location computed by an intrinsic function) is left exactly as it was and reported as a
:class:`Problem` that says what to do.

How the file is edited, and why
-------------------------------
A template is edited as *text*: the parser is only used to find where things are, and the output
is the original string with a handful of minimal splices (replace the characters of one scalar,
insert one ``Key: value`` line).  Every byte outside those splices is the input's byte, so
comments, key order, quoting, indentation, blank lines, line endings (LF or CRLF), a BOM, long
lines and the CloudFormation short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``...) survive
exactly, and a template that needs no change is returned unchanged.  A round-trip load-and-dump
(even ruamel.yaml's) re-emits the whole document, and re-flows indentation, sequence dashes,
quotes and long lines, so it cannot promise that.

* YAML: ``ruamel.yaml``'s composer (``YAML().compose``) gives the node graph *before* any
  construction, with the exact start and end character offsets of every node and the tag as
  written (so ``!Ref X`` is seen as the tag ``!Ref``, never evaluated, and needs no constructor).
  Replacements keep the scalar's quoting style; inserted lines take the indentation of their
  sibling keys and the file's own sequence-dash offset and line ending.
* JSON: a small recursive-descent parser (below) records the same start and end offsets for every
  value; strings are decoded with the standard library's ``json.decoder.scanstring`` and the whole
  text is validated by ``json.loads`` first, so errors read the same as Python's.  Inserted members
  follow the layout of their neighbours (same indentation, same ``": "`` spacing, on their own line
  when the object is laid out one member per line).

After editing, the result is parsed again and migrated a second time; the second pass must find
nothing to do, which is what makes ``gbl migrate`` idempotent.

This module knows nothing about Go: :func:`migrate_template` takes the function names gbl builds
(with their arch and zip path); :func:`migrate_files` derives them from a plan.
"""

from __future__ import annotations

import bisect
import difflib
import json
import os
import re
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from .config import ARCHES, DEFAULT_RUNTIME, RUNTIMES
from .package import write_atomic
from .errors import GblError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Plan

GO1X = "go1.x"
BOOTSTRAP = "bootstrap"
SAM_FUNCTION = "AWS::Serverless::Function"
CFN_FUNCTION = "AWS::Lambda::Function"
GLOBALS = "Globals"
# Lambda's names for gbl's (GOARCH) architectures.
LAMBDA_ARCH = {"amd64": "x86_64", "arm64": "arm64"}
LAMBDA_GO = "github.com/aws/aws-lambda-go"
# aws-lambda-go learned the Lambda Runtime API (what provided.* runtimes speak) in v1.18.0; older
# versions only serve go1.x's net/rpc protocol, so on provided.* the function hangs at init.
LAMBDA_GO_MIN = (1, 18, 0)
LAMBDA_GO_FIX = f"go get {LAMBDA_GO}@latest"

# File names `gbl plan` looks at for templates that still use go1.x.
TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
TEMPLATE_SUFFIXES = (".template", ".template.yaml", ".template.yml", ".template.json")
TEMPLATE_DIRS = ("cloudformation", "cfn")  # any .yaml/.yml/.json inside these
SKIP_DIRS = ("dist", "node_modules", "vendor", "testdata", "cdk.out")  # and every hidden dir (.git, .gbl, .aws-sam)
_CODE_KEYS = {True: "CodeUri", False: "Code"}  # sam? -> the property holding the code
_ORDER = ("CodeUri", "Code", "Handler", "Runtime", "Architectures")  # where inserted keys go


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class FunctionTarget:
    """A function gbl builds, as a template sees it."""

    name: str  # the gbl function name = the old go1.x Handler (binary name)
    arch: str  # GOARCH: amd64 | arm64
    zip_path: str  # the zip, relative to the template's directory, forward slashes
    runtime: str = DEFAULT_RUNTIME  # used unless migrate is given a runtime


@dataclass(frozen=True)
class Change:
    """One edit: ``old`` is None when the key was added."""

    resource: str  # the logical ID, or "Globals"
    key: str  # Runtime | Handler | CodeUri | Code | Architectures
    old: str | None
    new: str
    line: int  # 1-based, in the original text

    def __str__(self) -> str:
        where = "Globals.Function" if self.resource == GLOBALS else self.resource
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
        from .errors import MigrateCheckFailed

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
        if self.problems:
            raise MigrateCheckFailed(self.problems[0].message, hint=self.problems[0].hint,
                                     where=str(self.problems[0].path))


# --------------------------------------------------------------------------------- public API
def migrate_template(
    text: str,
    functions: Mapping[str, FunctionTarget],
    *,
    path: Path | str = "template.yaml",
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Migrate one template's text.  ``runtime`` (when given) wins over each target's runtime.

    Raises :class:`UsageError` when the text is not valid YAML or JSON; everything else gbl cannot
    migrate is returned in ``problems``.
    """
    path = Path(path)
    if runtime is not None and runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    doc = _Doc.parse(text, path)
    first = _Migration(doc, functions, runtime, path).run()
    migrated = _apply(text, first.edits)
    after = first
    if migrated != text:
        try:
            doc2 = _Doc.parse(migrated, path)
        except UsageError as exc:  # pragma: no cover - a bug in the edits
            raise GblError(f"internal error: the migrated template does not parse: {exc}",
                           where=str(path), hint="please report this with the template") from exc
        after = _Migration(doc2, functions, runtime, path).run()
        if after.edits:  # pragma: no cover - a bug in the edits
            raise GblError(
                "internal error: a second migration would change the template again",
                where=str(path), hint="please report this with the template",
            )
    return MigrationResult(
        path=path,
        original=text,
        migrated=migrated,
        changes=tuple(sorted(first.changes, key=lambda c: (c.line, _ORDER.index(c.key)))),
        problems=tuple(first.problems),
        go1x_before=tuple(first.go1x),
        go1x_after=tuple(after.go1x),
        label=label if label is not None else path.as_posix(),
    )


def targets_for(
    plan: "Plan", template_dir: Path, *, arch: str | None = None, dist_dir: Path | None = None
) -> dict[str, FunctionTarget]:
    """The plan's functions as seen from a template in ``template_dir``."""
    dist = Path(dist_dir) if dist_dir is not None else Path(plan.project_dir) / "dist"
    out = {}
    for fn in plan.functions:
        out[fn.name] = FunctionTarget(
            name=fn.name,
            arch=arch or fn.arch,
            zip_path=_relative_posix(dist / f"{fn.name}.zip", template_dir),
            runtime=fn.runtime,
        )
    return out


def migrate_files(
    paths: Iterable[Path | str],
    plan: "Plan",
    *,
    runtime: str | None = None,
    arch: str | None = None,
    dist_dir: Path | None = None,
    write: bool = False,
) -> MigrateReport:
    """Migrate each template against ``plan``; with ``write``, replace the changed files.

    Every template is read and migrated before any is written, so a template that does not parse
    stops the run with nothing written.  Each write is atomic (a temporary file in the same
    directory, then ``os.replace``) and keeps the file's permission bits.
    """
    if arch is not None and arch not in ARCHES:
        raise UsageError(f"--arch must be one of {', '.join(ARCHES)}, got {arch!r}")
    results = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        text = _read_template(path)
        functions = targets_for(plan, key.parent, arch=arch, dist_dir=dist_dir)
        results.append(
            migrate_template(text, functions, path=path, runtime=runtime, label=path.as_posix())
        )
    written = []
    if write:
        for r in results:
            if r.changed:
                _write_atomic(r.path, r.migrated)
                written.append(r.path)
    return MigrateReport(
        results=tuple(results),
        problems=check_go_mod(Path(plan.project_dir) / "go.mod"),
        written=tuple(written),
    )


def check_go_mod(go_mod: Path) -> tuple[Problem, ...]:
    """A Problem when go.mod requires aws-lambda-go older than v1.18.0 (missing file: none)."""
    try:
        text = Path(go_mod).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    found = lambda_go_requirement(text)
    if found is None:
        return ()
    version, line = found
    if not lambda_go_too_old(version):
        return ()
    return (
        Problem(
            path=Path(go_mod),
            resource=None,
            line=line,
            message=(
                f"requires {LAMBDA_GO} {version}: before v1.18.0 it only speaks the go1.x runtime's "
                "RPC protocol, so on provided.al2023 / provided.al2 the functions hang at init "
                "and time out"
            ),
            hint=(
                f"in {Path(go_mod).parent.as_posix()}, run `{LAMBDA_GO_FIX}` "
                "(or pin any version >= v1.18.0), then `go mod tidy` and `gbl build`"
            ),
        ),
    )


def lambda_go_requirement(go_mod_text: str) -> tuple[str, int] | None:
    """(version, 1-based line) of aws-lambda-go in go.mod: its require line, or the version a
    replace directive swaps in.  None when go.mod does not require it."""
    required: tuple[str, int] | None = None
    replaced: tuple[str, int] | None = None
    block = None
    for number, raw in enumerate(go_mod_text.splitlines(), 1):
        words = raw.split("//", 1)[0].split()
        if not words:
            continue
        if block is not None:
            if words == [")"]:
                block = None
                continue
            verb = block
        else:
            if words[0] not in ("require", "replace"):
                continue
            verb, words = words[0], words[1:]
            if words == ["("]:
                block = verb
                continue
        if verb == "require" and len(words) >= 2 and words[0] == LAMBDA_GO:
            required = (words[1], number)
        elif verb == "replace":
            replaced = _replacement(words, number) or replaced
    if required is None:
        return None
    return replaced or required


def _replacement(words: list[str], number: int) -> tuple[str, int] | None:
    # replace github.com/aws/aws-lambda-go [vX] => other/module vY   (a local path has no version)
    if not words or words[0] != LAMBDA_GO or "=>" not in words:
        return None
    right = words[words.index("=>") + 1:]
    if len(right) == 2 and right[1].startswith("v"):
        return (right[1], number)
    return None


def lambda_go_too_old(version: str) -> bool:
    """True for versions before v1.18.0 (pre-releases and pseudo-versions sort as Go sorts them)."""
    m = re.match(r"v(\d+)\.(\d+)\.(\d+)(-)?", version)
    if not m:
        return False
    key = (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if m.group(4) else 1)
    return key < (*LAMBDA_GO_MIN, 1)


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
            uses = bool(_Migration(_Doc.parse(text, path), {}, None, path).run().go1x)
        except (GblError, ValueError, RecursionError):
            uses = bool(_GO1X_TEXT.search(text))
        if uses:
            out.append(path)
    return tuple(out)


# ------------------------------------------------------------------------------ file helpers
def _read_template(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError("no such file", where=str(path), hint="check the TEMPLATE argument") from exc
    except OSError as exc:
        raise UsageError(f"cannot read it: {exc.strerror or exc}", where=str(path)) from exc
    try:
        return data.decode("utf-8")  # newline-exact: "\r\n" stays "\r\n", a BOM stays
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"not UTF-8 text (byte {exc.start})", where=str(path),
            hint="CloudFormation templates are UTF-8; convert it first",
        ) from exc


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(Path(path), text.encode("utf-8"), keep_mode=True)


def _relative_posix(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(target).resolve().as_posix()


# ---------------------------------------------------------------------------- the node model
class _Node:
    """A YAML or JSON value with its exact span in the text."""

    __slots__ = ("kind", "start", "end", "tag", "style", "value", "pairs", "items", "flow", "shared")

    def __init__(self, kind, start, end, *, tag=None, style=None, value=None, flow=False, shared=False):
        self.kind = kind  # "map" | "seq" | "scalar"
        self.start = start
        self.end = end
        self.tag = tag  # an explicit local tag as written ("!Ref"), else None
        self.style = style  # scalar: None (plain / JSON non-string), "'", '"', "|", ">"
        self.value = value  # scalar: the decoded text
        self.pairs: list[tuple[_Node, _Node]] = []
        self.items: list[_Node] = []
        self.flow = flow
        self.shared = shared  # reached through a YAML alias too: editing it would edit both

    def get(self, key: str) -> tuple["_Node", "_Node"] | None:
        if self.kind != "map":
            return None
        found = None
        for k, v in self.pairs:
            if k.kind == "scalar" and k.value == key:
                found = (k, v)
        return found

    def child(self, key: str) -> "_Node | None":
        pair = self.get(key)
        return pair[1] if pair else None

    @property
    def text(self) -> str | None:
        """The scalar's text when it is a literal (not tagged, not a collection)."""
        if self.kind == "scalar" and self.tag is None:
            return self.value
        return None


def _literal(node: _Node | None) -> str | None:
    return node.text if node is not None else None


def _describe(node: _Node, doc: "_Doc") -> str:
    """How a computed value reads in the template, shortened: ``!Sub "${Dir}/api"``."""
    snippet = " ".join(doc.text[node.start:node.end].split())
    return snippet if len(snippet) <= 60 else snippet[:57] + "..."


# ------------------------------------------------------------------------------------ parsing
_BREAK = re.compile(r"\r\n|\r|\n")


class _Doc:
    def __init__(self, text: str, fmt: str, root: _Node | None):
        self.text = text
        self.fmt = fmt  # "yaml" | "json"
        self.root = root
        self.nl = "\r\n" if "\r\n" in text else "\n"
        self._line_starts = [0] + [m.end() for m in _BREAK.finditer(text)]
        self.seq_offset = _seq_offset(root, self) if fmt == "yaml" else 2

    @classmethod
    def parse(cls, text: str, path: Path) -> "_Doc":
        body = text[1:] if text.startswith("\ufeff") else text
        stripped = body.lstrip()
        if path.suffix.lower() == ".json" or stripped.startswith("{"):
            try:
                json.loads(body)
            except json.JSONDecodeError as exc:
                if path.suffix.lower() == ".json":
                    raise UsageError(
                        f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                        where=str(path), hint="fix the JSON syntax (try `cfn-lint` or `python -m json.tool`)",
                    ) from exc
            else:
                return cls(text, "json", _JsonParser(text).parse(len(text) - len(body)))
        return cls(text, "yaml", _parse_yaml(text, path))

    def line(self, index: int) -> int:
        """1-based line of a character offset."""
        return bisect.bisect_right(self._line_starts, index)

    def line_start(self, index: int) -> int:
        return self._line_starts[self.line(index) - 1]

    def column(self, index: int) -> int:
        return index - self.line_start(index)

    def line_end(self, index: int) -> int:
        """Offset of the line break that ends the line holding ``index`` (len(text) at EOF)."""
        m = _BREAK.search(self.text, index)
        return m.start() if m else len(self.text)

    def after_line(self, index: int) -> int:
        """Offset of the start of the line after the one holding ``index``."""
        m = _BREAK.search(self.text, index)
        return m.end() if m else len(self.text)


def _parse_yaml(text: str, path: Path) -> _Node | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        node = YAML(typ="rt").compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        what = exc.problem or exc.context or "syntax error"
        raise UsageError(
            f"not valid YAML: {what}{at}", where=str(path),
            hint="fix the YAML syntax (try `cfn-lint` or `sam validate`)",
        ) from exc
    except YAMLError as exc:
        raise UsageError(f"not valid YAML: {exc}", where=str(path)) from exc
    if node is None:
        return None
    counts: dict[int, int] = {}
    _count_refs(node, counts)
    return _from_ruamel(node, {i for i, c in counts.items() if c > 1}, set(), {})


def _count_refs(node, counts: dict[int, int]) -> None:
    counts[id(node)] = counts.get(id(node), 0) + 1
    if counts[id(node)] > 1:
        return
    if isinstance(node.value, list):
        for item in node.value:
            if isinstance(item, tuple):
                _count_refs(item[0], counts)
                _count_refs(item[1], counts)
            else:
                _count_refs(item, counts)


def _from_ruamel(node, shared: set[int], path: set[int], memo: dict[int, _Node]) -> _Node:
    """Our node for a composed ruamel node.  A node reached through aliases is converted once and
    reused (so "billion laughs" documents stay small) and is marked ``shared``."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    key = id(node)
    if key in memo:
        return memo[key]
    tag = node.tag if isinstance(node.tag, str) and node.tag.startswith("!") else None
    common = dict(tag=tag, shared=key in shared)
    start, end = node.start_mark.index, node.end_mark.index
    if key in path:  # a recursive alias: an opaque, uneditable value
        return _Node("scalar", start, end, value=None, tag=tag, shared=True)
    if isinstance(node, MappingNode):
        out = _Node("map", start, end, flow=bool(node.flow_style), **common)
        path.add(key)
        out.pairs = [(_from_ruamel(k, shared, path, memo), _from_ruamel(v, shared, path, memo))
                     for k, v in node.value]
        path.discard(key)
    elif isinstance(node, SequenceNode):
        out = _Node("seq", start, end, flow=bool(node.flow_style), **common)
        path.add(key)
        out.items = [_from_ruamel(v, shared, path, memo) for v in node.value]
        path.discard(key)
    else:
        out = _Node("scalar", start, end, style=node.style, value=node.value, **common)
    if key in shared:
        memo[key] = out
    return out


def _seq_offset(root: _Node | None, doc: _Doc) -> int:
    """How far this file indents a block sequence's dashes past its key (SAM's own style: 2)."""
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.kind == "map":
            for k, v in node.pairs:
                if v.kind == "seq" and not v.flow and v.items and not node.flow:
                    if doc.line(v.start) != doc.line(k.start):
                        return max(0, doc.column(v.start) - doc.column(k.start))
                stack.append(v)
        elif node.kind == "seq":
            stack.extend(node.items)
    return 2


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|NaN|-?Infinity")
_JSON_WS = re.compile(r"[ \t\n\r]*")


class _JsonParser:
    """Spans for every JSON value; the text was already validated by ``json.loads``."""

    def __init__(self, text: str):
        self.text = text

    def parse(self, pos: int) -> _Node:
        node, _ = self._value(self._ws(pos))
        return node

    def _ws(self, pos: int) -> int:
        return _JSON_WS.match(self.text, pos).end()

    def _value(self, pos: int) -> tuple[_Node, int]:
        c = self.text[pos]
        if c == "{":
            node = _Node("map", pos, pos, flow=True)
            pos = self._ws(pos + 1)
            if self.text[pos] == "}":
                node.end = pos + 1
                return node, pos + 1
            while True:
                key, pos = self._string(pos)
                pos = self._ws(pos)
                pos = self._ws(pos + 1)  # the ':'
                value, pos = self._value(pos)
                node.pairs.append((key, value))
                pos = self._ws(pos)
                if self.text[pos] == ",":
                    pos = self._ws(pos + 1)
                    continue
                node.end = pos + 1  # the '}'
                return node, pos + 1
        if c == "[":
            node = _Node("seq", pos, pos, flow=True)
            pos = self._ws(pos + 1)
            if self.text[pos] == "]":
                node.end = pos + 1
                return node, pos + 1
            while True:
                item, pos = self._value(pos)
                node.items.append(item)
                pos = self._ws(pos)
                if self.text[pos] == ",":
                    pos = self._ws(pos + 1)
                    continue
                node.end = pos + 1
                return node, pos + 1
        if c == '"':
            return self._string(pos)
        for word in ("true", "false", "null"):
            if self.text.startswith(word, pos):
                return _Node("scalar", pos, pos + len(word), value=word), pos + len(word)
        m = _JSON_NUMBER.match(self.text, pos)
        if not m:  # pragma: no cover - json.loads accepted the text
            raise ValueError(f"unexpected JSON at offset {pos}")
        return _Node("scalar", pos, m.end(), value=m.group()), m.end()

    def _string(self, pos: int) -> tuple[_Node, int]:
        value, end = scanstring(self.text, pos + 1, True)
        return _Node("scalar", pos, end, style='"', value=value), end


# ---------------------------------------------------------------------------------- rendering
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*")
_YAML_SPECIAL = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~)|[-+]?(?:\d[\d_]*)?\.?\d*(?:e[-+]?\d+)?|\.(?:inf|nan)"
)


def _yaml_scalar(value: str, like: _Node | None) -> str:
    style = like.style if like is not None else None
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(value, ensure_ascii=False)
    if _PLAIN_SAFE.fullmatch(value) and not _YAML_SPECIAL.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _yaml_key(key: str, like: _Node | None) -> str:
    if like is not None and like.style in ("'", '"'):
        return _yaml_scalar(key, like)
    return key


# ------------------------------------------------------------------------------------ editing
@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    order: int


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.order)):
        if e.start < pos:  # pragma: no cover - overlapping edits are a bug
            raise GblError("internal error: overlapping template edits", hint="please report this")
        out.append(text[pos:e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


class _Fn:
    """A function resource and what migrate decided about it."""

    def __init__(self, logical_id: str, sam: bool, node: _Node, props: _Node | None):
        self.id = logical_id
        self.sam = sam
        self.node = node
        self.props = props
        self.target: FunctionTarget | None = None
        self.ok = False  # will be migrated
        self.wanted: dict[str, str] = {}

    def own(self, key: str) -> tuple[_Node, _Node] | None:
        return self.props.get(key) if self.props is not None else None


class _Migration:
    def __init__(self, doc: _Doc, functions: Mapping[str, FunctionTarget], runtime: str | None, path: Path):
        self.doc = doc
        self.functions = functions
        self.runtime = runtime
        self.path = path
        self.edits: list[_Edit] = []
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        self.go1x: list[str] = []
        self.globals: _Node | None = None
        self.params: _Node | None = None

    # -- reporting
    def problem(self, resource: str | None, node: _Node | None, message: str, hint: str) -> None:
        line = self.doc.line(node.start) if node is not None else None
        self.problems.append(Problem(self.path, resource, message, hint, line))

    # -- the run
    def run(self) -> "_Migration":
        root = self.doc.root
        resources = root.child("Resources") if root is not None and root.kind == "map" else None
        if resources is None or resources.kind != "map":
            self.problem(None, None, "no Resources section: not a CloudFormation or SAM template",
                         "pass the template that defines the functions (e.g. template.yaml)")
            return self
        globals_node = root.child(GLOBALS)
        fn_globals = globals_node.child("Function") if globals_node is not None else None
        self.globals = fn_globals if fn_globals is not None and fn_globals.kind == "map" else None
        params = root.child("Parameters")
        self.params = params if params is not None and params.kind == "map" else None

        fns: list[_Fn] = []
        for key, res in resources.pairs:
            if res.kind != "map" or key.text is None:
                continue
            rtype = _literal(res.child("Type"))
            if rtype not in (SAM_FUNCTION, CFN_FUNCTION):
                continue
            props = res.child("Properties")
            fns.append(_Fn(key.text, rtype == SAM_FUNCTION, res, props if props is not None and props.kind == "map" else None))
        for fn in fns:
            self._examine(fn)
        if self.globals is not None and _literal(self.globals.child("Runtime")) == GO1X:
            self.go1x.append(GLOBALS)  # changed only once no unmigrated function inherits it
        migrating = [fn for fn in fns if fn.ok]
        for fn in migrating:
            self._own_edits(fn)
        self._inherited_edits(fns, migrating)
        return self

    def _inherited(self, fn: _Fn, key: str) -> tuple[_Node, _Node] | None:
        if fn.own(key) is None and fn.sam and self.globals is not None:
            return self.globals.get(key)
        return None

    def _effective(self, fn: _Fn, key: str) -> tuple[_Node, _Node] | None:
        return fn.own(key) or self._inherited(fn, key)

    # -- is it go1.x, and can it be migrated?
    def _examine(self, fn: _Fn) -> None:
        runtime = self._effective(fn, "Runtime")
        if runtime is None:
            return
        rnode = runtime[1]
        if rnode.text != GO1X:
            param = self._go1x_parameter(rnode)
            if param is not None:
                self.go1x.append(fn.id)
                self.problem(
                    fn.id, rnode,
                    f"Runtime comes from the parameter {param}, whose Default is go1.x; gbl only "
                    "rewrites a literal runtime, so this function was left as it is",
                    f"write `Runtime: go1.x` in place of the reference (and drop {param} if nothing "
                    "else uses it), then run gbl migrate again",
                )
            return
        self.go1x.append(fn.id)
        if fn.props is None:
            self.problem(fn.id, fn.node, "has no Properties; this function was left on go1.x",
                         "give it Properties with Handler and CodeUri, then run gbl migrate again")
            return
        code_key = _CODE_KEYS[fn.sam]
        handler_pair = self._effective(fn, "Handler")
        code_pair = self._effective(fn, code_key)
        handler = handler_pair[1].text if handler_pair else None
        target = self._match(handler, code_pair[1] if code_pair else None)
        fn.target = target
        trouble = False
        if handler_pair is None or handler is None:
            trouble = True
            node = handler_pair[1] if handler_pair else fn.props
            shown = f"is computed ({_describe(node, self.doc)})" if handler_pair else "is missing"
            self.problem(
                fn.id, node, f"its Handler {shown}; this function was left on go1.x",
                "a go1.x Handler is the name of the function's binary, which is the gbl function's "
                f"name ({self._known()}): write it literally, then run gbl migrate again",
            )
        elif target is None:
            trouble = True
            name = _binary(handler)
            stem = _code_stem(code_pair[1]) if code_pair else None
            also = f', nor does its {code_key} ("{stem}")' if stem and stem != name else ""
            self.problem(
                fn.id, handler_pair[1],
                f'Handler "{handler}" names no gbl function{also} ({self._known()}); '
                "this function was left on go1.x",
                "a go1.x Handler is the name of the function's binary, and gbl names each function "
                f"after its directory under cmd/: move its main package to cmd/{stem or name}/, or give "
                f'the function that name in gbl.toml ([functions.<dir>] name = "{stem or name}"), '
                "then run gbl migrate again",
            )
        if not self._code_ok(fn, code_key, code_pair, target):
            trouble = True
        for key in ("Runtime", "Handler", code_key):
            pair = fn.own(key)
            if not trouble and pair is not None and pair[1].kind == "scalar" and not _editable(pair[1]):
                trouble = True
                self.problem(
                    fn.id, pair[1],
                    f"its {key} is written in a form gbl cannot rewrite safely (a YAML alias or a "
                    "block scalar); this function was left on go1.x",
                    f"write {key} as a plain value, then run gbl migrate again",
                )
        if trouble:
            return
        fn.ok = True
        fn.wanted = {
            "Runtime": self.runtime or target.runtime,
            "Handler": BOOTSTRAP,
            code_key: target.zip_path,
            "Architectures": LAMBDA_ARCH[target.arch],
        }

    def _known(self) -> str:
        names = ", ".join(sorted(self.functions))
        return f"gbl builds: {names}" if names else "gbl found no functions under cmd/"

    def _go1x_parameter(self, node: _Node) -> str | None:
        name = None
        if node.kind == "scalar" and node.tag == "!Ref":
            name = node.value
        elif node.kind == "map" and len(node.pairs) == 1 and node.pairs[0][0].value == "Ref":
            name = node.pairs[0][1].text
        if not name or self.params is None:
            return None
        param = self.params.child(name)
        if param is not None and _literal(param.child("Default")) == GO1X:
            return name
        return None

    def _match(self, handler: str | None, code: _Node | None) -> FunctionTarget | None:
        """The gbl function a go1.x function is: its Handler (the binary's name), or else the
        last part of its code path.  go1.x projects often named every binary ``main`` and told
        functions apart by directory or zip (``CodeUri: functions/api/``, ``bin/api.zip``)."""
        if not handler:
            return None
        target = self.functions.get(_binary(handler))
        stem = _code_stem(code) if code is not None else None
        if target is None and stem:
            target = self.functions.get(stem)
        return target

    def _code_ok(self, fn: _Fn, code_key: str, code_pair, target: FunctionTarget | None) -> bool:
        name = target.name if target else "<name>"
        zip_path = target.zip_path if target else "dist/<name>.zip"
        runtime = self.runtime or (target.runtime if target else DEFAULT_RUNTIME)
        again = "then run gbl migrate again"
        if fn.sam:
            inline = fn.own("InlineCode") or (None if fn.own("CodeUri") else self._inherited(fn, "InlineCode"))
            if inline is not None:
                self.problem(fn.id, inline[1], "its code is inline (InlineCode); a Go function's code is a zip, "
                             "so this function was left on go1.x",
                             f"replace InlineCode with `CodeUri: {zip_path}`, {again}")
                return False
        if code_pair is None:
            return True  # added by the migration
        key_node, node = code_pair
        s3_hint = (
            f"build it with `gbl build {name}`, then either replace {code_key} with the local path "
            f"{zip_path} (`sam deploy` / `aws cloudformation package` upload it) and run gbl migrate "
            f"again, or upload dist/{name}.zip to that S3 location yourself and set Runtime: "
            f"{runtime}, Handler: {BOOTSTRAP} by hand"
        )
        if node.kind == "scalar" and node.tag is None:
            if (node.value or "").startswith("s3://"):
                self.problem(fn.id, key_node, f"its code is stored in S3 ({node.value}), which gbl does not build; "
                             "this function was left on go1.x", s3_hint)
                return False
            return True
        if node.kind == "map" and node.tag is None:
            keys = {k.value for k, _ in node.pairs}
            if keys & {"S3Bucket", "S3Key", "Bucket", "Key"}:
                shown = "S3Bucket/S3Key" if not fn.sam else "Bucket/Key"
                self.problem(fn.id, key_node, f"its code is stored in S3 ({shown}), which gbl does not build; "
                             "this function was left on go1.x", s3_hint)
                return False
            if "ZipFile" in keys:
                self.problem(fn.id, key_node, "its code is inline (ZipFile); a Go function's code is a zip, "
                             "so this function was left on go1.x", f"replace Code with `Code: {zip_path}`, {again}")
                return False
            if "ImageUri" in keys:
                self.problem(fn.id, key_node, "its code is a container image (ImageUri), not a zip; "
                             "this function was left on go1.x",
                             f"a function gbl builds deploys as a zip: set `{code_key}: {zip_path}`, {again}")
                return False
        self.problem(
            fn.id, key_node,
            f"its {code_key} is computed ({_describe(node, self.doc)}); gbl only rewrites a literal "
            "path, so this function was left on go1.x",
            f"gbl builds it at {zip_path}: set `{code_key}: {zip_path}`, {again}",
        )
        return False

    # -- edits
    def _own_edits(self, fn: _Fn) -> None:
        code_key = _CODE_KEYS[fn.sam]
        for key in ("Runtime", "Handler", code_key):
            pair = fn.own(key)
            if pair is not None and pair[1].text != fn.wanted[key]:
                self._replace(fn.id, key, pair[1], fn.wanted[key])
        if fn.own(code_key) is None:
            # none, or inherited from Globals (a shared go1.x source dir): each zip is the function's own
            self._insert(fn.id, fn.props, code_key, fn.wanted[code_key])
        arch = fn.own("Architectures")
        if arch is not None:
            self._set_arch(fn.id, arch[1], fn.wanted["Architectures"])

    def _set_arch(self, resource: str, node: _Node, wanted: str) -> None:
        item = node.items[0] if node.kind == "seq" and node.tag is None and len(node.items) == 1 else None
        if item is not None and item.text == wanted:
            return
        if item is not None and _editable(item) and self._replace(resource, "Architectures", item, wanted):
            return
        self.problem(
            resource, node,
            f"Architectures is {_describe(node, self.doc)}, which gbl cannot rewrite; gbl builds this "
            f"function for {wanted}",
            f"make sure Architectures is [{wanted}] (arm64 in gbl.toml means arm64 here; amd64 means x86_64)",
        )

    def _current_arch(self, fn: _Fn) -> str | None:
        pair = self._effective(fn, "Architectures")
        if pair is None:
            return "x86_64"
        node = pair[1]
        if node.kind == "seq" and node.tag is None and len(node.items) == 1:
            return node.items[0].text
        return None

    def _inherited_edits(self, fns: list[_Fn], migrating: list[_Fn]) -> None:
        inserted_runtime: set[str] = set()
        for key in ("Handler", "Runtime", "Architectures"):
            gpair = self.globals.get(key) if self.globals is not None else None
            heirs = [fn for fn in fns if fn.sam and fn.own(key) is None] if gpair is not None else []
            heir_ids = {fn.id for fn in heirs}
            if key == "Architectures":
                needing = [fn for fn in migrating if fn.own(key) is None and fn.wanted[key] != self._current_arch(fn)]
            else:
                needing = [
                    fn for fn in migrating
                    if fn.own(key) is None and (gpair is None or gpair[1].text != fn.wanted[key])
                ]
            if not needing:
                continue
            # change it in Globals when every function inheriting it is migrated to the same value
            via_globals = False
            if any(fn.id in heir_ids for fn in needing):
                wanted = {fn.wanted[key] for fn in heirs if fn.ok}
                if all(fn.ok for fn in heirs) and len(wanted) == 1:
                    node, new = gpair[1], wanted.pop()
                    if key == "Architectures":
                        item = node.items[0] if node.kind == "seq" and node.tag is None and len(node.items) == 1 else None
                        via_globals = item is not None and _editable(item)
                        if via_globals:
                            self._set_arch(GLOBALS, node, new)
                    elif _editable(node):
                        via_globals = self._replace(GLOBALS, key, node, new)
            for fn in needing:
                if via_globals and fn.id in heir_ids:
                    continue
                value = fn.wanted[key]
                self._insert(fn.id, fn.props, key, [value] if key == "Architectures" else value)
                if key == "Runtime":
                    inserted_runtime.add(fn.id)
        # Globals' go1.x, once no function is left inheriting it, moves on too.
        if self.globals is not None:
            gpair = self.globals.get("Runtime")
            if gpair is not None and gpair[1].text == GO1X and not any(
                c.resource == GLOBALS and c.key == "Runtime" for c in self.changes
            ):
                left = [fn for fn in fns if fn.sam and fn.own("Runtime") is None and fn.id not in inserted_runtime]
                if not left:
                    self._replace(GLOBALS, "Runtime", gpair[1], self.runtime or DEFAULT_RUNTIME)

    # -- low-level edits
    def _add(self, start: int, end: int, text: str) -> None:
        self.edits.append(_Edit(start, end, text, len(self.edits)))

    def _replace(self, resource: str, key: str, node: _Node, new: str) -> bool:
        if not _editable(node):
            self.problem(resource, node, f"{key} is written in a form gbl cannot rewrite safely "
                         "(a YAML alias or a block scalar)", f"set {key} to {new} by hand")
            return False
        if self.doc.fmt == "json":
            rendered = json.dumps(new, ensure_ascii=False)
        else:
            rendered = _yaml_scalar(new, node)
        self._add(node.start, node.end, rendered)
        self.changes.append(Change(resource, key, node.value, new, self.doc.line(node.start)))
        return True

    def _insert(self, resource: str, mapping: _Node, key: str, value: str | list[str]) -> None:
        anchor = self._anchor(mapping, key)
        shown = value if isinstance(value, str) else f"[{', '.join(value)}]"
        if mapping.flow:
            ok = self._insert_flow(mapping, anchor, key, value)
        else:
            ok = self._insert_block(mapping, anchor, key, value)
        if not ok:
            self.problem(resource, mapping, f"gbl could not add {key} here (an unusual layout)",
                         f"add `{key}: {shown}` to its Properties by hand")
            return
        line = self.doc.line(anchor[1].start if anchor else mapping.start)
        self.changes.append(Change(resource, key, None, shown, line))

    def _anchor(self, mapping: _Node, key: str) -> tuple[_Node, _Node] | None:
        """The existing pair the new key goes after: the closest one before it in _ORDER."""
        position = _ORDER.index(key)
        for previous in reversed(_ORDER[:position]):
            pair = mapping.get(previous)
            if pair is not None:
                return pair
        return None

    def _content_end(self, node: _Node) -> int | None:
        """Where a block value's last character is (None for block scalars)."""
        if node.kind == "scalar":
            return None if node.style in ("|", ">") else node.end
        if node.flow:
            return node.end
        if node.kind == "map":
            return self._content_end(node.pairs[-1][1]) if node.pairs else None
        return self._content_end(node.items[-1]) if node.items else None

    def _insert_block(self, mapping: _Node, anchor, key: str, value) -> bool:
        text, nl = self.doc.text, self.doc.nl
        candidates = ([anchor] if anchor else []) + list(reversed(mapping.pairs))
        for k, v in candidates:
            end = self._content_end(v)
            if end is None:
                continue
            rest = text[end:self.doc.line_end(end)].strip()
            if rest and not rest.startswith("#"):
                continue
            indent = text[self.doc.line_start(k.start):k.start]
            if indent.strip():  # the key does not start its line ("- Key: v")
                continue
            pos = self.doc.after_line(end)
            lead = nl if pos == len(text) and not text.endswith(("\n", "\r")) else ""
            self._add(pos, pos, lead + self._block_lines(indent, key, value, k))
            return True
        if mapping.pairs:  # no usable pair to follow: go before the first key
            k = mapping.pairs[0][0]
            start = self.doc.line_start(k.start)
            indent = text[start:k.start]
            if not indent.strip():
                self._add(start, start, self._block_lines(indent, key, value, k))
                return True
        return False

    def _block_lines(self, indent: str, key: str, value, like_key: _Node) -> str:
        nl = self.doc.nl
        rendered_key = _yaml_key(key, like_key)
        if isinstance(value, str):
            return f"{indent}{rendered_key}: {_yaml_scalar(value, None)}{nl}"
        dash = indent + " " * self.doc.seq_offset
        items = "".join(f"{dash}- {_yaml_scalar(v, None)}{nl}" for v in value)
        return f"{indent}{rendered_key}:{nl}{items}"

    def _insert_flow(self, mapping: _Node, anchor, key: str, value) -> bool:
        text = self.doc.text
        json_style = self.doc.fmt == "json" or (
            mapping.pairs and mapping.pairs[0][0].style == '"'
        )
        if json_style:
            k = json.dumps(key)
            v = json.dumps(value, ensure_ascii=False)
        else:
            k = key
            v = _yaml_scalar(value, None) if isinstance(value, str) else (
                "[" + ", ".join(_yaml_scalar(x, None) for x in value) + "]"
            )
        if not mapping.pairs:
            self._add(mapping.start + 1, mapping.start + 1, f"{k}: {v}")
            return True
        ak, av = anchor if anchor else mapping.pairs[-1]
        colon = text[ak.end:av.start]  # ": " as the neighbours write it
        if ":" not in colon or "#" in colon:
            colon = ": "
        # the separator between two members as this object writes it: "," / ", " / ",\n    "
        i = next(n for n, pair in enumerate(mapping.pairs) if pair[0] is ak)
        j = i if i + 1 < len(mapping.pairs) else i - 1
        sep = text[mapping.pairs[j][1].end:mapping.pairs[j + 1][0].start] if j >= 0 else ""
        if sep.count(",") != 1 or "#" in sep or sep.strip() != ",":
            if self.doc.line(ak.start) != self.doc.line(mapping.start):
                indent = text[self.doc.line_start(ak.start):ak.start]
                if indent.strip():
                    indent = " " * self.doc.column(ak.start)
                sep = "," + self.doc.nl + indent
            else:
                sep = ", "
        self._add(av.end, av.end, f"{sep}{k}{colon}{v}")
        return True


def _editable(node: _Node) -> bool:
    """A literal scalar whose characters can be swapped for another's."""
    return node.text is not None and node.style not in ("|", ">") and not node.shared


def _code_stem(node: _Node) -> str | None:
    """The function name a local code path suggests: functions/api/ -> api, bin/api.zip -> api."""
    location = node.text
    if not location or location.startswith("s3://"):
        return None
    stem = PurePosixPath(location.replace("\\", "/").rstrip("/")).name
    stem = stem[:-4] if stem.endswith(".zip") else stem
    return stem if stem not in ("", ".", "..") else None


def _binary(handler: str) -> str:
    """go1.x's Handler is the executable's path inside the zip; its name is the last part."""
    return handler.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
