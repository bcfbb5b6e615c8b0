"""Minimal splices into a :class:`~.textdoc.Doc`: replace one scalar, insert one key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .model import Change, Problem
from .textdoc import Doc, Edit, Node, editable, scalar_start, yaml_key, yaml_scalar


@dataclass(frozen=True)
class _Shared:
    """An edit of a node that stands in several places of the document."""

    kind: str  # "replace" | "insert"
    resource: str
    key: str
    node: Node  # the scalar to replace, or the mapping to insert into
    new: str | list[str]
    owner: Node | None  # replace: the mapping the value was read through
    override: str | list[str] | None  # replace: the value an own key in ``owner`` would take


class SharedEdits:
    """Deciding the edits of shared nodes (a mixin of :class:`Editor`)."""

    def resolve_shared(self) -> dict[str, tuple[Node, str, str]]:
        """Edit each shared node once when every place it stands in asked for the same edit;
        else give each asker its own key (when the value was merged in) or fail it.  Returns
        the failed resources: resource -> (node, message, hint)."""
        groups: dict[tuple, list[_Shared]] = {}
        for request in self.pending:
            groups.setdefault((request.kind, id(request.node), request.key), []).append(request)
        failed: dict[str, tuple[Node, str, str]] = {}
        for requests in groups.values():
            first = requests[0]
            askers = {r.resource for r in requests}
            values = {repr(r.new) for r in requests}
            if len(values) == 1 and len(askers) == first.node.uses:
                self._apply_shared(requests)
                continue
            for r in requests:
                merged_in = r.owner is not None and r.owner.own_get(r.key) is None
                if r.kind == "replace" and merged_in and not r.owner.shared:
                    self._insert_now(r.resource, r.owner, r.key, r.override)
                    continue
                others = first.node.uses - len(askers)
                failed[r.resource] = (
                    r.node,
                    f"its {r.key} is a YAML anchor (line {self.doc.line(first.node.start)}) that an "
                    f"alias or merge key also uses in {others} other place(s) gbl does not migrate "
                    f"the same way; editing it would change them too, so this function was left on go1.x",
                    f"give this function its own `{r.key}` (or its own copy of the anchored mapping), "
                    "then run gbl migrate again",
                )
        return failed

    def _apply_shared(self, requests: list["_Shared"]) -> None:
        first = requests[0]
        before = len(self.changes)
        if first.kind == "replace":
            node = first.node
            rendered = json.dumps(first.new, ensure_ascii=False) if self.doc.fmt == "json" \
                else yaml_scalar(first.new, node)
            self._add(scalar_start(self.doc.text, node), node.end, rendered)
            line = self.doc.line(node.start)
            for r in sorted({r.resource for r in requests}):
                self.changes.append(Change(r, first.key, node.value, first.new, line))
            return
        self._insert_now(first.resource, first.node, first.key, first.new)
        if len(self.changes) > before:
            added = self.changes[-1]
            for r in sorted({r.resource for r in requests} - {first.resource}):
                self.changes.append(Change(r, added.key, None, added.new, added.line))


class Editor(SharedEdits):
    """Collects the edits, changes and problems of one migration of one document.

    ``order`` is the key order inserted keys follow (a new key goes after the closest existing
    key before it in ``order``)."""

    order: tuple[str, ...] = ()
    map_step = 2  # how far a nested block mapping is indented past its key

    def __init__(self, doc: Doc, path: Path):
        self.doc = doc
        self.path = path
        self.edits: list[Edit] = []
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        self.pending: list[_Shared] = []  # edits of shared (anchored) nodes, decided at the end

    def problem(self, resource: str | None, node: Node | None, message: str, hint: str) -> None:
        line = self.doc.line(node.start) if node is not None else None
        self.problems.append(Problem(self.path, resource, message, hint, line))

    def _add(self, start: int, end: int, text: str) -> None:
        self.edits.append(Edit(start, end, text, len(self.edits)))

    def _replace(self, resource: str, key: str, node: Node, new: str, *, owner: Node | None = None,
                 override: str | list[str] | None = None) -> bool:
        """Swap a scalar's characters.  A shared node (an anchor that aliases or merge keys
        repeat) is only noted here and decided by :meth:`resolve_shared`; ``owner`` is the mapping
        the value is read through, where an own ``key: override`` can go instead."""
        if editable(node, shared_ok=True) and node.shared:
            self.pending.append(_Shared("replace", resource, key, node, new, owner,
                                        new if override is None else override))
            return True
        if not editable(node):
            self.problem(resource, node, f"{key} is written in a form gbl cannot rewrite safely "
                         "(a YAML alias or a block scalar)", f"set {key} to {new} by hand")
            return False
        if self.doc.fmt == "json":
            rendered = json.dumps(new, ensure_ascii=False)
        else:
            rendered = yaml_scalar(new, node)
        self._add(scalar_start(self.doc.text, node), node.end, rendered)
        self.changes.append(Change(resource, key, node.value, new, self.doc.line(node.start)))
        return True

    def _insert(self, resource: str, mapping: Node, key: str, value: str | list[str]) -> None:
        if mapping.shared:
            self.pending.append(_Shared("insert", resource, key, mapping, value, None, None))
            return
        self._insert_now(resource, mapping, key, value)

    def _insert_now(self, resource: str, mapping: Node, key: str, value: str | list[str]) -> None:
        anchor = self._anchor(mapping, key)
        shown = value if isinstance(value, str) else (
            _flow_plain(value) if isinstance(value, dict) else f"[{', '.join(value)}]")
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

    def _anchor(self, mapping: Node, key: str) -> tuple[Node, Node] | None:
        """The existing pair the new key goes after: the closest one before it in self.order."""
        position = self.order.index(key)
        for previous in reversed(self.order[:position]):
            pair = mapping.own_get(previous)
            if pair is not None and _written_here(pair):
                return pair
        return None

    def _content_end(self, node: Node) -> int | None:
        """Where a block value's last character is (None for block scalars)."""
        if node.kind == "scalar":
            return None if node.style in ("|", ">") else node.end
        if node.flow:
            return node.end
        if node.kind == "map":
            return self._content_end(node.pairs[-1][1]) if node.pairs else None
        return self._content_end(node.items[-1]) if node.items else None

    def _insert_block(self, mapping: Node, anchor, key: str, value) -> bool:
        text, nl = self.doc.text, self.doc.nl
        candidates = ([anchor] if anchor else []) + [p for p in reversed(mapping.pairs) if _written_here(p)]
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

    def _block_lines(self, indent: str, key: str, value, like_key: Node) -> str:
        nl = self.doc.nl
        rendered_key = yaml_key(key, like_key)
        if isinstance(value, str):
            return f"{indent}{rendered_key}: {yaml_scalar(value, None)}{nl}"
        if isinstance(value, dict):  # "key:\n  sub: value", nested dicts one step further in
            inner = indent + " " * self.map_step
            items = "".join(self._block_lines(inner, k, v, None) for k, v in value.items())
            return f"{indent}{rendered_key}:{nl}{items}"
        dash = indent + " " * self.doc.seq_offset
        items = "".join(f"{dash}- {yaml_scalar(v, None)}{nl}" for v in value)
        return f"{indent}{rendered_key}:{nl}{items}"

    def _insert_flow(self, mapping: Node, anchor, key: str, value) -> bool:
        text = self.doc.text
        json_style = self.doc.fmt == "json" or (
            mapping.pairs and mapping.pairs[0][0].style == '"'
        )
        if json_style:
            k = json.dumps(key)
            v = json.dumps(value, ensure_ascii=False)
        else:
            k = key
            v = yaml_scalar(value, None) if isinstance(value, str) else (
                flow_yaml(value) if isinstance(value, dict)
                else "[" + ", ".join(yaml_scalar(x, None) for x in value) + "]"
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



def flow_yaml(value) -> str:
    """A str or a (nested) dict of them as a YAML flow value: {a: {b: c}}."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow_yaml(v)}" for k, v in value.items()) + "}"
    return yaml_scalar(value, None)


def _flow_plain(value) -> str:
    """How a change shows an added mapping: {a: {b: c}} (unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow_plain(v)}" for k, v in value.items()) + "}"
    return str(value)


def _written_here(pair: tuple[Node, Node]) -> bool:
    """A pair whose value is written where its key is (not a merge key, not an alias of an anchor
    written earlier, whose span is the anchor's)."""
    key, value = pair
    return not key.merge and value.start >= key.end


def migrate_twice(text: str, path: Path, label: str | None, parse, make, order: tuple[str, ...] = ()):
    """Run a migration (``make(parse(text))`` returns an object with ``edits``, ``changes``,
    ``problems``, ``go1x``), apply its edits, and migrate the result again: the second pass must
    find nothing to do (idempotence), and tells what is still on go1.x afterwards."""
    from ..errors import GblError
    from .model import MigrationResult
    from .textdoc import apply_edits

    first = make(parse(text))
    migrated = apply_edits(text, first.edits)
    after = first
    if migrated != text:
        try:
            after = make(parse(migrated))
        except GblError as exc:  # pragma: no cover - a bug in the edits
            raise GblError(f"internal error: the migrated file does not parse: {exc}",
                           where=str(path), hint="please report this with the file") from exc
        if after.edits:  # pragma: no cover - a bug in the edits
            raise GblError("internal error: a second migration would change the file again",
                           where=str(path), hint="please report this with the file")
    rank = {k: i for i, k in enumerate(order)}
    return MigrationResult(
        path=path, original=text, migrated=migrated,
        changes=tuple(sorted(first.changes, key=lambda c: (c.line, rank.get(c.key, len(rank))))),
        problems=tuple(first.problems), go1x_before=tuple(first.go1x), go1x_after=tuple(after.go1x),
        label=label if label is not None else path.as_posix(),
    )
