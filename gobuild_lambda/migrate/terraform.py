"""Terraform (``*.tf``): go1.x Lambda functions to gbl's zips.

* ``resource "aws_lambda_function"`` with ``runtime = "go1.x"``: ``runtime`` becomes the provided
  runtime, ``handler`` becomes ``"bootstrap"``, ``filename`` becomes the gbl zip
  (``"${path.module}/dist/<fn>.zip"``), ``source_code_hash`` becomes
  ``filebase64sha256(<the same path>)``, and ``architectures`` is set when the function is built
  for arm64 (or the block disagrees with gbl.toml).
* ``data "archive_file"`` that zipped the old binary (``source_file``) and that nothing refers to
  any more once its function moved: removed, and said so.
* ``module`` blocks of ``terraform-aws-modules/lambda/aws`` with ``runtime = "go1.x"``: the same
  runtime, handler and architectures, plus ``create_package = false`` and
  ``local_existing_package`` = the gbl zip.

A function is matched to a gbl function by its ``handler`` (the old binary's name) or its
``function_name``.  Only the bytes of the changed values (and whole inserted lines, aligned on the
``=`` of their neighbours) change; everything else stays byte for byte.  See :mod:`.hcl` for how
the file is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .edits import migrate_twice
from .hcl import Attr, Block, parse, tokenize
from .model import BOOTSTRAP, GO1X, LAMBDA_ARCH, Change, FunctionTarget, MigrationResult, Problem
from .serverless import binary_name, zip_stem
from .textdoc import Edit

LAMBDA_RESOURCE = "aws_lambda_function"
LAMBDA_MODULE = "terraform-aws-modules/lambda/aws"
_ORDER = ("runtime", "handler", "filename", "source_code_hash", "architectures", "create_package",
          "local_existing_package", "archive_file")


@dataclass
class _Fn:
    id: str  # aws_lambda_function.api | module.report
    block: Block
    module: bool
    target: FunctionTarget | None = None


class _Doc:
    def __init__(self, text: str, path: Path):
        self.text = text
        self.blocks = parse(text, path)
        self.tokens = [t for t in tokenize(text, path) if t.kind not in ("comment", "newline")]
        self.nl = "\r\n" if "\r\n" in text else "\n"

    def line(self, index: int) -> int:
        return self.text.count("\n", 0, index) + 1

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def after_line(self, index: int) -> int:
        j = self.text.find("\n", index)
        return len(self.text) if j < 0 else j + 1


def lambda_blocks(doc: _Doc) -> list[_Fn]:
    out = []
    for b in doc.blocks:
        if b.type == "resource" and len(b.labels) == 2 and b.labels[0] == LAMBDA_RESOURCE:
            out.append(_Fn(f"{LAMBDA_RESOURCE}.{b.labels[1]}", b, False))
        elif b.type == "module" and len(b.labels) == 1 and "source" in b.attrs:
            source = b.attrs["source"].string() or ""
            if source.split("//")[0].removeprefix("registry.terraform.io/") == LAMBDA_MODULE:
                out.append(_Fn(f"module.{b.labels[0]}", b, True))
    return out


class TerraformMigration:
    def __init__(self, doc: _Doc, functions: Mapping[str, FunctionTarget], runtime: str | None, path: Path):
        self.doc = doc
        self.functions = functions
        self.runtime = runtime
        self.path = path
        self.edits: list[Edit] = []
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        self.go1x: list[str] = []

    def problem(self, resource: str | None, at: int | None, message: str, hint: str) -> None:
        self.problems.append(Problem(self.path, resource, message, hint, self.doc.line(at) if at is not None else None))

    def run(self) -> "TerraformMigration":
        replaced: list[tuple[int, int]] = []
        for fn in lambda_blocks(self.doc):
            runtime = fn.block.attrs.get("runtime")
            if runtime is None or runtime.string() != GO1X:
                continue
            self.go1x.append(fn.id)
            fn.target = self._examine(fn)
            if fn.target is not None:
                replaced += self._edit(fn, fn.target)
        self._unused_archives(replaced)
        return self

    def match(self, fn: _Fn) -> FunctionTarget | None:
        attrs = fn.block.attrs
        for key in ("handler", "function_name"):
            value = attrs[key].string() if key in attrs else None
            name = binary_name(value) if value and key == "handler" else value
            if name and name in self.functions:
                return self.functions[name]
        for key in ("filename", "local_existing_package"):
            if key in attrs:
                stem = zip_stem(_path_of(attrs[key]))
                if stem in self.functions:
                    return self.functions[stem]
        return None

    def _examine(self, fn: _Fn) -> FunctionTarget | None:
        attrs = fn.block.attrs
        target = self.match(fn)
        known = ", ".join(sorted(self.functions)) or "none: gbl found no functions under cmd/"
        if target is None:
            handler = attrs["handler"].string() if "handler" in attrs else None
            name = binary_name(handler) if handler else "<name>"
            self.problem(
                fn.id, attrs["handler"].start if "handler" in attrs else fn.block.start,
                f"neither its handler ({handler or 'not a literal'}) nor its function_name names a gbl "
                f"function (gbl builds: {known}); this function was left on go1.x",
                f"gbl names each function after its directory under cmd/: move its main package to cmd/{name}/, "
                f'or give the function that name in gbl.toml ([functions.<dir>] name = "{name}"), then run '
                "gbl migrate again",
            )
            return None
        for key in ("s3_bucket", "image_uri") if not fn.module else ("s3_existing_package",):
            if key in attrs:
                self.problem(fn.id, attrs[key].start, f"its code comes from {key}, which gbl does not build; "
                             "this function was left on go1.x",
                             f"replace {key} with the local zip gbl builds ({target.zip_path}) and run gbl "
                             f"migrate again, or upload dist/{target.name}.zip there and change runtime and "
                             "handler by hand")
                return None
        arch = attrs.get("architectures")
        if arch is not None and arch.strings() is None:
            self.problem(fn.id, arch.start, "its architectures is computed; gbl only rewrites a literal list, "
                         "so this function was left on go1.x",
                         f'write architectures = ["{LAMBDA_ARCH[target.arch]}"], then run gbl migrate again')
            return None
        return target

    def _edit(self, fn: _Fn, target: FunctionTarget) -> list[tuple[int, int]]:
        """The edits of one function; returns the spans of the values it replaced."""
        attrs = fn.block.attrs
        zip_expr = f'"${{path.module}}/{target.zip_path}"' if not Path(target.zip_path).is_absolute() \
            else f'"{target.zip_path}"'
        wanted = {"runtime": f'"{self.runtime or target.runtime}"', "handler": f'"{BOOTSTRAP}"'}
        if fn.module:
            wanted.update(create_package="false", local_existing_package=zip_expr)
        else:
            wanted.update(filename=zip_expr, source_code_hash=f"filebase64sha256({zip_expr})")
        arch = LAMBDA_ARCH[target.arch]
        current = (attrs["architectures"].strings() if "architectures" in attrs else None) or ["x86_64"]
        if current != [arch]:
            wanted["architectures"] = f'["{arch}"]'
        spans, late = [], []
        for key, value in wanted.items():
            if key in attrs:
                a = attrs[key]
                old = self.doc.text[a.value_start:a.value_end]
                if old != value:
                    self.edits.append(Edit(a.value_start, a.value_end, value, len(self.edits)))
                    self.changes.append(Change(fn.id, key, old, value, self.doc.line(a.start)))
                    spans.append((a.value_start, a.value_end))
            elif not self._insert(fn, key, value):
                late.append((key, value))
        if late:
            self._insert_group(fn, late)
        return spans

    def _insert(self, fn: _Fn, key: str, value: str) -> bool:
        """Insert ``key = value`` after the attribute it follows in _ORDER, aligned on that line's
        "=" as `terraform fmt` aligns a group.  False when the key is too long for the group's
        alignment (inserting it there would make fmt re-align its neighbours)."""
        attrs = fn.block.attrs
        before = [k for k in _ORDER[:_ORDER.index(key)] if k in attrs]
        if not before:
            return False
        text = self.doc.text
        after = max((attrs[k] for k in before), key=lambda a: a.value_end)
        eq = text.index("=", after.start) - after.start  # where its "=" is
        if len(key) >= eq:
            return False
        pos = self.doc.after_line(after.value_end)
        indent = text[self.doc.line_start(after.start):after.start]
        self._add_line(fn, pos, f"{indent}{key}{' ' * (eq - len(key))}= {value}{self.doc.nl}", key, value)
        return True

    def _insert_group(self, fn: _Fn, pairs: list[tuple[str, str]]) -> None:
        """Insert attributes as a group of their own (a blank line before it, aligned among
        themselves) after the block's last attribute."""
        attrs = fn.block.attrs
        text, nl = self.doc.text, self.doc.nl
        if attrs:
            last = max(attrs.values(), key=lambda a: a.value_end)
            pos = self.doc.after_line(last.value_end)
            indent = text[self.doc.line_start(last.start):last.start]
        else:
            pos, indent = self.doc.after_line(fn.block.body_start), "  "
        width = max(len(k) for k, _ in pairs)
        lines = "".join(f"{indent}{k}{' ' * (width - len(k))} = {v}{nl}" for k, v in pairs)
        self.edits.append(Edit(pos, pos, nl + lines, len(self.edits)))
        for k, v in pairs:
            self.changes.append(Change(fn.id, k, None, v, self.doc.line(max(pos - 1, 0))))

    def _add_line(self, fn: _Fn, pos: int, line: str, key: str, value: str) -> None:
        self.edits.append(Edit(pos, pos, line, len(self.edits)))
        self.changes.append(Change(fn.id, key, None, value, self.doc.line(max(pos - 1, 0))))

    def _unused_archives(self, replaced: list[tuple[int, int]]) -> None:
        """Remove each data "archive_file" that zipped the old binary once nothing refers to it."""
        refs: dict[str, list[int]] = {}
        toks = self.doc.tokens
        for i in range(len(toks) - 4):
            if toks[i].text == "data" and toks[i + 1].text == "." and toks[i + 2].text == "archive_file" \
                    and toks[i + 3].text == ".":
                refs.setdefault(toks[i + 4].text, []).append(toks[i].start)
        for b in self.doc.blocks:
            if b.type != "data" or len(b.labels) != 2 or b.labels[0] != "archive_file":
                continue
            uses = refs.get(b.labels[1], [])
            if not uses or "source_file" not in b.attrs:
                continue  # not ours to judge: unused before gbl, or zips a directory / content
            if all(any(s <= u < e for s, e in replaced) for u in uses):
                self._remove_block(b)

    def _remove_block(self, b: Block) -> None:
        text = self.doc.text
        start, end = self.doc.line_start(b.start), self.doc.after_line(b.end)
        # one blank line goes with it, so no double blank line is left behind
        if text[end:end + 1] == "\n" or text[end:end + 2] == "\r\n":
            end = self.doc.after_line(end)
        elif start >= 2 and text[start - 2:start] in ("\n\n",):
            start -= 1
        self.edits.append(Edit(start, end, "", len(self.edits)))
        name = f"data.archive_file.{b.labels[1]}"
        self.changes.append(Change(name, "archive_file", name, "removed (it zipped the old go1.x binary and "
                                   "nothing refers to it any more)", self.doc.line(b.start)))

    def declared(self) -> list[tuple[str, str, int]]:
        """(gbl function, Lambda arch, line) for every Go function (go1.x or provided.*)."""
        out = []
        for fn in lambda_blocks(self.doc):
            runtime = fn.block.attrs.get("runtime")
            value = runtime.string() if runtime else None
            if value != GO1X and not (value or "").startswith("provided"):
                continue
            target = self.match(fn)
            if target is None:
                continue
            arch = fn.block.attrs.get("architectures")
            listed = arch.strings() if arch else None
            out.append((target.name, listed[0] if listed else "x86_64",
                        self.doc.line(arch.start if arch else fn.block.start)))
        return out


def _path_of(attr: Attr) -> str | None:
    """A zip path an expression names: "dist/api.zip", "${path.module}/dist/api.zip"."""
    tok = attr.tokens[-1] if attr.tokens else None
    if tok is None or tok.kind != "string":
        return None
    inner = tok.text[1:-1]
    return inner.split("}/", 1)[-1] if inner.startswith("${path.") else inner


def migrate_terraform(
    text: str,
    functions: Mapping[str, FunctionTarget],
    *,
    path: Path | str = "main.tf",
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Migrate one .tf file's text (see the module's docstring)."""
    path = Path(path)
    return migrate_twice(text, path, label, lambda t: _Doc(t, path),
                         lambda doc: TerraformMigration(doc, functions, runtime, path).run(), _ORDER)


def parse_terraform(text: str, path: Path | str = "main.tf") -> _Doc:
    return _Doc(text, Path(path))
