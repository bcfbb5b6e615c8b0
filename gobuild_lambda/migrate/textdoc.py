"""gbl migrate: move go1.x functions in SAM and CloudFormation templates to the provided runtimes.

The position-keeping document model (YAML and JSON) gbl migrate edits.

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
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path
from typing import Sequence

from ..errors import GblError, UsageError


# ---------------------------------------------------------------------------- the node model
class Node:
    """A YAML or JSON value with its exact span in the text."""

    __slots__ = ("kind", "start", "end", "tag", "style", "value", "pairs", "items", "flow", "shared", "uses",
                 "merge")

    def __init__(self, kind, start, end, *, tag=None, style=None, value=None, flow=False, shared=False,
                 uses=1, merge=False):
        self.kind = kind  # "map" | "seq" | "scalar"
        self.start = start
        self.end = end
        self.tag = tag  # an explicit local tag as written ("!Ref"), else None
        self.style = style  # scalar: None (plain / JSON non-string), "'", '"', "|", ">"
        self.value = value  # scalar: the decoded text
        self.pairs: list[tuple[Node, Node]] = []
        self.items: list[Node] = []
        self.flow = flow
        self.shared = shared  # reached through a YAML alias too: editing it would edit both
        self.uses = uses  # how many places of the document it stands in (aliases, merges): 1 unless shared
        self.merge = merge  # a YAML merge key ("<<")

    def own_get(self, key: str) -> tuple["Node", "Node"] | None:
        """The pair written in this mapping itself (not one a ``<<`` merge key brings in)."""
        if self.kind != "map":
            return None
        found = None
        for k, v in self.pairs:
            if k.kind == "scalar" and not k.merge and k.value == key:
                found = (k, v)
        return found

    def get(self, key: str, _depth: int = 0) -> tuple["Node", "Node"] | None:
        """The pair for ``key`` as YAML reads it: this mapping's own key, else the first mapping a
        merge key (``<<: *base`` or ``<<: [*a, *b]``) brings in that has it."""
        found = self.own_get(key)
        if found is not None or self.kind != "map" or _depth > 20:
            return found
        for k, v in self.pairs:
            if not k.merge:
                continue
            for source in (v.items if v.kind == "seq" else [v]):
                if source.kind == "map":
                    found = source.get(key, _depth + 1)
                    if found is not None:
                        return found
        return None

    def child(self, key: str) -> "Node | None":
        pair = self.get(key)
        return pair[1] if pair else None

    @property
    def text(self) -> str | None:
        """The scalar's text when it is a literal (not tagged, not a collection)."""
        if self.kind == "scalar" and self.tag is None:
            return self.value
        return None


def literal(node: Node | None) -> str | None:
    return node.text if node is not None else None


def describe(node: Node, doc: "Doc") -> str:
    """How a computed value reads in the template, shortened: ``!Sub "${Dir}/api"``."""
    snippet = " ".join(doc.text[node.start:node.end].split())
    return snippet if len(snippet) <= 60 else snippet[:57] + "..."


# ------------------------------------------------------------------------------------ parsing
_BREAK = re.compile(r"\r\n|\r|\n")


class Doc:
    def __init__(self, text: str, fmt: str, root: Node | None):
        self.text = text
        self.fmt = fmt  # "yaml" | "json"
        self.root = root
        self.nl = "\r\n" if "\r\n" in text else "\n"
        self._line_starts = [0] + [m.end() for m in _BREAK.finditer(text)]
        self.seq_offset = _seq_offset(root, self) if fmt == "yaml" else 2

    @classmethod
    def parse(cls, text: str, path: Path) -> "Doc":
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
                return cls(text, "json", JsonParser(text).parse(len(text) - len(body)))
        return cls(text, "yaml", parse_yaml(text, path))

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


def parse_yaml(text: str, path: Path) -> Node | None:
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
    uses = _count_uses(node)
    return _from_ruamel(node, uses, set(), {})


def _children(node) -> list:
    if not isinstance(node.value, list):
        return []
    out = []
    for item in node.value:
        out.extend(item if isinstance(item, tuple) else (item,))
    return out


_USES_CAP = 1 << 20  # "billion laughs": a count, never an expansion


def _count_uses(root) -> dict[int, int]:
    """For every composed node, in how many places of the document it stands: 1 for a node
    written once, more for an anchored node (and everything inside it) that aliases or merge
    keys repeat.  Computed over the node graph in topological order, so it never expands it."""
    order, state, stack = [], {}, [(root, False)]
    while stack:  # iterative depth-first search; post-order reversed is a topological order
        node, done = stack.pop()
        if done:
            state[id(node)] = 2
            order.append(node)
            continue
        if id(node) in state:
            continue
        state[id(node)] = 1
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)) if id(c) not in state)
    position = {id(node): i for i, node in enumerate(order)}
    uses = {id(root): 1}
    for node in reversed(order):
        n = uses.get(id(node), 0)
        for child in _children(node):
            if position[id(child)] < position[id(node)]:  # not a recursive alias back up
                uses[id(child)] = min(_USES_CAP, uses.get(id(child), 0) + n)
    return uses


def _from_ruamel(node, uses: dict[int, int], path: set[int], memo: dict[int, Node]) -> Node:
    """Our node for a composed ruamel node.  A node reached through aliases is converted once and
    reused (so "billion laughs" documents stay small) and is marked ``shared``."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    key = id(node)
    if key in memo:
        return memo[key]
    tag = node.tag if isinstance(node.tag, str) and node.tag.startswith("!") else None
    count = uses.get(key, 1)
    common = dict(tag=tag, shared=count > 1, uses=count)
    start, end = node.start_mark.index, node.end_mark.index
    if key in path:  # a recursive alias: an opaque, uneditable value
        return Node("scalar", start, end, value=None, tag=tag, shared=True)
    if isinstance(node, MappingNode):
        out = Node("map", start, end, flow=bool(node.flow_style), **common)
        path.add(key)
        out.pairs = [(_from_ruamel(k, uses, path, memo), _from_ruamel(v, uses, path, memo))
                     for k, v in node.value]
        path.discard(key)
    elif isinstance(node, SequenceNode):
        out = Node("seq", start, end, flow=bool(node.flow_style), **common)
        path.add(key)
        out.items = [_from_ruamel(v, uses, path, memo) for v in node.value]
        path.discard(key)
    else:
        out = Node("scalar", start, end, style=node.style, value=node.value, **common)
        out.merge = node.tag == "tag:yaml.org,2002:merge"
    if count > 1:
        memo[key] = out
    return out


def _seq_offset(root: Node | None, doc: Doc) -> int:
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


class JsonParser:
    """Spans for every JSON value; the text was already validated by ``json.loads``."""

    def __init__(self, text: str):
        self.text = text

    def parse(self, pos: int) -> Node:
        node, _ = self._value(self._ws(pos))
        return node

    def _ws(self, pos: int) -> int:
        return _JSON_WS.match(self.text, pos).end()

    def _value(self, pos: int) -> tuple[Node, int]:
        c = self.text[pos]
        if c == "{":
            node = Node("map", pos, pos, flow=True)
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
            node = Node("seq", pos, pos, flow=True)
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
                return Node("scalar", pos, pos + len(word), value=word), pos + len(word)
        m = _JSON_NUMBER.match(self.text, pos)
        if not m:  # pragma: no cover - json.loads accepted the text
            raise ValueError(f"unexpected JSON at offset {pos}")
        return Node("scalar", pos, m.end(), value=m.group()), m.end()

    def _string(self, pos: int) -> tuple[Node, int]:
        value, end = scanstring(self.text, pos + 1, True)
        return Node("scalar", pos, end, style='"', value=value), end


# ---------------------------------------------------------------------------------- rendering
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*")
_YAML_SPECIAL = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~)|[-+]?(?:\d[\d_]*)?\.?\d*(?:e[-+]?\d+)?|\.(?:inf|nan)"
)


def yaml_scalar(value: str, like: Node | None) -> str:
    style = like.style if like is not None else None
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(value, ensure_ascii=False)
    if _PLAIN_SAFE.fullmatch(value) and not _YAML_SPECIAL.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def yaml_key(key: str, like: Node | None) -> str:
    if like is not None and like.style in ("'", '"'):
        return yaml_scalar(key, like)
    return key


# ------------------------------------------------------------------------------------ editing
@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str
    order: int


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.order)):
        if e.start < pos:  # pragma: no cover - overlapping edits are a bug
            raise GblError("internal error: overlapping template edits", hint="please report this")
        out.append(text[pos:e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)



_ANCHOR = re.compile(r"&[^\s,\[\]{}]+\s+")


def scalar_start(text: str, node: Node) -> int:
    """Where a scalar's own characters start: after an anchor (``&rt go1.x``) written before it."""
    m = _ANCHOR.match(text, node.start)
    return m.end() if m else node.start


def editable(node: Node, *, shared_ok: bool = False) -> bool:
    """A literal scalar whose characters can be swapped for another's (``shared_ok``: even when
    an alias or merge key repeats it, which the caller decides about)."""
    return node.text is not None and node.style not in ("|", ">") and (shared_ok or not node.shared)
