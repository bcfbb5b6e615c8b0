"""A small HCL (Terraform) reader that keeps byte positions, for edits that change only the bytes
that must change.

Why not a kept parser: python-hcl2 (the maintained Python HCL parser) returns plain dicts and
lists with no source positions, so an edit made through it means re-emitting the whole file
(losing comments, alignment and layout).  gbl needs far less than a full HCL grammar: the blocks
(``resource "type" "name" { ... }``), their top-level attributes (``name = expression``) and the
span of each expression.  So this is a tokenizer that knows what can hide braces, newlines or
``=``: quoted strings with ``${ }`` / ``%{ }`` templates (which nest strings), heredocs
(``<<EOF`` / ``<<-EOF``), and comments (``#``, ``//``, ``/* */``); and on top of it a reader of
blocks and attributes.  An expression ends at a newline outside brackets, as in HCL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_OPEN = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | heredoc | number | punct | newline | comment
    start: int
    end: int
    text: str


@dataclass
class Attr:
    name: str
    start: int  # the name's first character
    value_start: int
    value_end: int
    tokens: list[Token]  # the value's tokens (no comments, no newlines)

    def string(self) -> str | None:
        """The value when it is one quoted string without templates or escapes."""
        if len(self.tokens) == 1 and self.tokens[0].kind == "string":
            inner = self.tokens[0].text[1:-1]
            if "${" not in inner and "%{" not in inner and "\\" not in inner:
                return inner
        return None

    def strings(self) -> list[str] | None:
        """The value when it is a list of plain strings: ``["arm64"]``."""
        toks = self.tokens
        if len(toks) < 2 or toks[0].text != "[" or toks[-1].text != "]":
            return None
        out = []
        for i, t in enumerate(toks[1:-1]):
            if i % 2 == 1:
                if t.text != ",":
                    return None
                continue
            one = Attr("", 0, 0, 0, [t]).string()
            if one is None:
                return None
            out.append(one)
        return out


@dataclass
class Block:
    type: str
    labels: list[str]
    start: int  # the type's first character
    body_start: int  # just after "{"
    end: int  # just after "}"
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: list["Block"] = field(default_factory=list)


def tokenize(text: str, path: Path | str = "main.tf") -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\ufeff":
            i += 1
        elif c in "\r\n":
            j = i + 2 if text.startswith("\r\n", i) else i + 1
            out.append(Token("newline", i, j, text[i:j]))
            i = j
        elif c == "#" or text.startswith("//", i):
            j = _line_end(text, i)
            out.append(Token("comment", i, j, text[i:j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise _error(text, i, path, "a /* comment is never closed")
            out.append(Token("comment", i, j + 2, text[i:j + 2]))
            i = j + 2
        elif c == '"':
            j = _string_end(text, i, path)
            out.append(Token("string", i, j, text[i:j]))
            i = j
        elif text.startswith("<<", i) and _HEREDOC.match(text, i):
            j = _heredoc_end(text, i, path)
            out.append(Token("heredoc", i, j, text[i:j]))
            i = j
        elif _IDENT.match(text, i):
            j = _IDENT.match(text, i).end()
            out.append(Token("ident", i, j, text[i:j]))
            i = j
        elif c.isdigit():
            j = _NUMBER.match(text, i).end()
            out.append(Token("number", i, j, text[i:j]))
            i = j
        else:
            two = text[i:i + 2]
            j = i + 2 if two in ("==", "!=", "<=", ">=", "&&", "||", "=>", "...") else i + 1
            out.append(Token("punct", i, j, text[i:j]))
            i = j
    return out


def _line_end(text: str, i: int) -> int:
    m = re.compile(r"\r?\n").search(text, i)
    return m.start() if m else len(text)


def _error(text: str, i: int, path, what: str) -> UsageError:
    line = text.count("\n", 0, i) + 1
    return UsageError(f"not valid HCL: {what} (line {line})", where=str(path),
                      hint="fix the syntax (`terraform validate` shows it)")


def _string_end(text: str, i: int, path) -> int:
    """The end of the quoted string at ``i`` (templates may nest strings)."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
        elif c == '"':
            return j + 1
        elif c in "\r\n":
            break
        elif text.startswith(("${", "%{"), j) and not text.startswith(("$${", "%%{"), j - 1):
            j = _template_end(text, j + 2, path)
        else:
            j += 1
    raise _error(text, i, path, "a quoted string is never closed")


def _template_end(text: str, j: int, path) -> int:
    """Just past the "}" closing a ${ / %{ template whose expression starts at ``j``."""
    depth = 1
    while j < len(text):
        c = text[j]
        if c == '"':
            j = _string_end(text, j, path)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise _error(text, j, path, "a ${ template is never closed")


def _heredoc_end(text: str, i: int, path) -> int:
    m = _HEREDOC.match(text, i)
    marker = m.group(2)
    pos = m.end()
    for line in re.finditer(r"[^\r\n]*(?:\r?\n|$)", text[pos:]):
        if line.group().strip() == marker:
            return pos + line.start() + len(line.group().rstrip("\r\n"))
        if not line.group():
            break
    raise _error(text, i, path, f"the heredoc <<{marker} is never closed")


def parse(text: str, path: Path | str = "main.tf") -> list[Block]:
    """The top-level blocks of a Terraform file, with their attributes and nested blocks."""
    tokens = [t for t in tokenize(text, path) if t.kind != "comment"]
    blocks, pos = _body(tokens, 0, text, path, top=True)
    return blocks.blocks


def _body(tokens: list[Token], i: int, text: str, path, top: bool = False) -> tuple[Block, int]:
    body = Block("", [], 0, 0, 0)
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind == "newline":
            i += 1
            continue
        if t.text == "}" and not top:
            return body, i
        if t.kind != "ident":
            raise _error(text, t.start, path, f"unexpected {t.text!r}")
        if i + 1 < n and tokens[i + 1].text == "=":
            i, attr = _attribute(tokens, i, text, path)
            body.attrs[attr.name] = attr
            continue
        labels, j = [], i + 1
        while j < n and tokens[j].kind in ("string", "ident"):
            labels.append(tokens[j].text[1:-1] if tokens[j].kind == "string" else tokens[j].text)
            j += 1
        if j >= n or tokens[j].text != "{":
            raise _error(text, t.start, path, f"{t.text} is neither an attribute nor a block")
        inner, k = _body(tokens, j + 1, text, path)
        if k >= n:
            raise _error(text, t.start, path, f"the block {t.text} is never closed")
        inner.type, inner.labels, inner.start = t.text, labels, t.start
        inner.body_start, inner.end = tokens[j].end, tokens[k].end
        body.blocks.append(inner)
        i = k + 1
    if not top:
        raise _error(text, len(text), path, "a block is never closed")
    return body, i


def _attribute(tokens: list[Token], i: int, text: str, path) -> tuple[int, Attr]:
    name = tokens[i]
    j = i + 2
    stack: list[str] = []
    value: list[Token] = []
    while j < len(tokens):
        t = tokens[j]
        if t.kind == "newline" and not stack:
            break
        if t.text == "}" and not stack:
            break  # a one-line block: { a = 1 }
        if t.kind == "punct" and t.text in _OPEN:
            stack.append(_OPEN[t.text])
        elif t.kind == "punct" and t.text in ")]}":
            if not stack or stack.pop() != t.text:
                raise _error(text, t.start, path, f"unbalanced {t.text!r}")
        if t.kind != "newline":
            value.append(t)
        j += 1
    if not value:
        raise _error(text, name.start, path, f"{name.text} = has no value")
    return j, Attr(name.text, name.start, value[0].start, value[-1].end, value)
