"""Minimal splices into a :class:`~.textdoc.Doc`: replace one scalar, insert one key."""

from __future__ import annotations

import json
from pathlib import Path

from .model import Change, Problem
from .textdoc import Doc, Edit, Node, editable, yaml_key, yaml_scalar


class Editor:
    """Collects the edits, changes and problems of one migration of one document.

    ``order`` is the key order inserted keys follow (a new key goes after the closest existing
    key before it in ``order``)."""

    order: tuple[str, ...] = ()

    def __init__(self, doc: Doc, path: Path):
        self.doc = doc
        self.path = path
        self.edits: list[Edit] = []
        self.changes: list[Change] = []
        self.problems: list[Problem] = []

    def problem(self, resource: str | None, node: Node | None, message: str, hint: str) -> None:
        line = self.doc.line(node.start) if node is not None else None
        self.problems.append(Problem(self.path, resource, message, hint, line))

    def _add(self, start: int, end: int, text: str) -> None:
        self.edits.append(Edit(start, end, text, len(self.edits)))

    def _replace(self, resource: str, key: str, node: Node, new: str) -> bool:
        if not editable(node):
            self.problem(resource, node, f"{key} is written in a form gbl cannot rewrite safely "
                         "(a YAML alias or a block scalar)", f"set {key} to {new} by hand")
            return False
        if self.doc.fmt == "json":
            rendered = json.dumps(new, ensure_ascii=False)
        else:
            rendered = yaml_scalar(new, node)
        self._add(node.start, node.end, rendered)
        self.changes.append(Change(resource, key, node.value, new, self.doc.line(node.start)))
        return True

    def _insert(self, resource: str, mapping: Node, key: str, value: str | list[str]) -> None:
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

    def _anchor(self, mapping: Node, key: str) -> tuple[Node, Node] | None:
        """The existing pair the new key goes after: the closest one before it in self.order."""
        position = self.order.index(key)
        for previous in reversed(self.order[:position]):
            pair = mapping.get(previous)
            if pair is not None:
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

    def _block_lines(self, indent: str, key: str, value, like_key: Node) -> str:
        nl = self.doc.nl
        rendered_key = yaml_key(key, like_key)
        if isinstance(value, str):
            return f"{indent}{rendered_key}: {yaml_scalar(value, None)}{nl}"
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
                "[" + ", ".join(yaml_scalar(x, None) for x in value) + "]"
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

