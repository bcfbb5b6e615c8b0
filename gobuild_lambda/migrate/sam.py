"""gbl migrate: move go1.x functions in SAM and CloudFormation templates to the provided runtimes.

For every function whose runtime is ``go1.x`` (on the resource, or inherited from SAM's
``Globals.Function``) and whose old ``Handler`` (the binary's name) names a gbl function:
``Runtime`` becomes the chosen provided runtime, ``Handler`` becomes ``bootstrap``, the code
(SAM ``CodeUri``, CloudFormation ``Code``) becomes the local path of ``dist/<name>.zip`` (which
``sam deploy`` / ``sam package`` / ``aws cloudformation package`` upload), and ``Architectures`` is
set when the function is built for arm64 (or when the template disagrees with gbl.toml).
A function gbl plan found *through* a resource (the template declares it: its code directory
holds the package) moves the same way whatever its runtime, matched by the resource; a Go
``Metadata: BuildMethod: go1.x`` is removed, and ``Metadata: {gbl: {source: <dir>}}`` records the
package directory (relative to the template) that discovery reads once the code is the zip.
Anything gbl cannot migrate safely (an unknown Handler, code in S3, inline code, a runtime or code
location computed by an intrinsic function) is left exactly as it was and reported as a
:class:`Problem` that says what to do.

The text model is in :mod:`.textdoc`, the splices in :mod:`.edits`.
This module knows nothing about Go: :func:`migrate_template` takes the function names gbl builds
(with their arch and zip path); :func:`~.files.migrate_files` derives them from a plan.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Mapping

from ..config import DEFAULT_RUNTIME, RUNTIMES
from ..errors import GblError, UsageError
import json

from .edits import Editor, flow_yaml
from .model import BOOTSTRAP, GLOBALS, GO1X, LAMBDA_ARCH, Change, FunctionTarget, MigrationResult
from .textdoc import Doc, Node, apply_edits, describe, editable, literal, yaml_scalar

SAM_FUNCTION = "AWS::Serverless::Function"
CFN_FUNCTION = "AWS::Lambda::Function"
_CODE_KEYS = {True: "CodeUri", False: "Code"}  # sam? -> the property holding the code
# where inserted keys go (a key goes after the closest one before it here that the mapping has)
_ORDER = ("CodeUri", "Code", "Handler", "Runtime", "Architectures", "Type", "Metadata", "BuildMethod", "gbl",
          "source")
GBL_METADATA, GBL_SOURCE = "gbl", "source"  # Metadata: {gbl: {source: <dir>}} (discover.py reads it)
_BUILD_METHOD_GONE = "the code is gbl's zip now: `sam build` does not build a zip CodeUri"


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
    doc = Doc.parse(text, path)
    first = _Migration(doc, functions, runtime, path).run()
    migrated = apply_edits(text, first.edits)
    after = first
    if migrated != text:
        try:
            doc2 = Doc.parse(migrated, path)
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



class _Fn:
    """A function resource and what migrate decided about it."""

    def __init__(self, logical_id: str, sam: bool, node: Node, props: Node | None):
        self.id = logical_id
        self.sam = sam
        self.node = node
        self.props = props
        self.target: FunctionTarget | None = None
        self.ok = False  # will be migrated
        self.wanted: dict[str, str] = {}
        self.declared = False  # gbl plan found it through this resource (not by its Handler)

    def own(self, key: str) -> tuple[Node, Node] | None:
        return self.props.get(key) if self.props is not None else None


class _SamEdits(Editor):
    """The SAM / CloudFormation edits of the functions to migrate (their own keys and Globals)."""

    order = _ORDER

    def __init__(self, doc: Doc, functions: Mapping[str, FunctionTarget], runtime: str | None, path: Path):
        super().__init__(doc, path)
        self.functions = functions
        self.runtime = runtime
        self.go1x: list[str] = []
        self.globals: Node | None = None
        self.params: Node | None = None

    def _inherited(self, fn: _Fn, key: str) -> tuple[Node, Node] | None:
        if fn.own(key) is None and fn.sam and self.globals is not None:
            return self.globals.get(key)
        return None

    def _effective(self, fn: _Fn, key: str) -> tuple[Node, Node] | None:
        return fn.own(key) or self._inherited(fn, key)


    # -- edits
    def _own_edits(self, fn: _Fn) -> None:
        code_key = _CODE_KEYS[fn.sam]
        for key in ("Runtime", "Handler", code_key):
            pair = fn.own(key)
            if pair is not None and pair[1].text != fn.wanted[key]:
                self._replace(fn.id, key, pair[1], fn.wanted[key], owner=fn.props)
        if fn.own(code_key) is None:
            # none, or inherited from Globals (a shared go1.x source dir): each zip is the function's own
            self._insert(fn.id, fn.props, code_key, fn.wanted[code_key])
        arch = fn.own("Architectures")
        if arch is not None:
            self._set_arch(fn.id, arch[1], fn.wanted["Architectures"], owner=fn.props)
        if fn.target is not None and fn.target.source and fn.declared:
            self._metadata_edits(fn, fn.target.source)

    def _metadata_edits(self, fn: _Fn, source: str) -> None:
        """A template-declared function keeps its source directory in ``Metadata: {gbl: {source:
        <dir>}}`` (discovery reads it once CodeUri is the zip); a Go ``BuildMethod: go1.x`` no
        longer applies to a zip and goes (its pair becomes the gbl one when there is no gbl yet)."""
        meta_pair = fn.node.own_get("Metadata")
        meta = meta_pair[1] if meta_pair else None
        wanted = {GBL_METADATA: {GBL_SOURCE: source}}
        if meta is None:
            self._insert(fn.id, fn.node, "Metadata", wanted)
            return
        if meta.kind != "map" or meta.tag is not None or meta.shared:
            self.problem(fn.id, meta, "its Metadata is not a plain mapping gbl can add to",
                         f"add `{GBL_METADATA}: {{{GBL_SOURCE}: {source}}}` to its Metadata by hand, so "
                         "gbl still finds the function's source once CodeUri is its zip")
            return
        method = meta.own_get("BuildMethod")
        method = method if method is not None and literal(method[1]) == GO1X else None
        gbl = meta.own_get(GBL_METADATA)
        have = gbl[1].child(GBL_SOURCE) if gbl is not None and gbl[1].kind == "map" else None
        if gbl is not None and literal(have) == source:
            if method is not None:
                self._delete_pair(fn.id, meta, method)
            return
        if gbl is not None:
            if have is not None and editable(have):
                self._replace(fn.id, GBL_SOURCE, have, source)
            else:
                self.problem(fn.id, gbl[1], f"its Metadata {GBL_METADATA} is not a mapping with a literal "
                             f"{GBL_SOURCE}", f"set `{GBL_METADATA}: {{{GBL_SOURCE}: {source}}}` by hand")
            if method is not None:
                self._delete_pair(fn.id, meta, method)
            return
        if method is None:
            self._insert(fn.id, meta, GBL_METADATA, wanted[GBL_METADATA])
            return
        # BuildMethod: go1.x becomes gbl: {source: <dir>} where it stands
        key, value = method
        if self.doc.fmt == "json":
            new = f'"{GBL_METADATA}": {{"{GBL_SOURCE}": {json.dumps(source, ensure_ascii=False)}}}'
        elif meta.flow:
            new = f"{GBL_METADATA}: {flow_yaml(wanted[GBL_METADATA])}"
        else:
            indent = " " * (self.doc.column(key.start) + self.map_step)
            new = f"{GBL_METADATA}:{self.doc.nl}{indent}{GBL_SOURCE}: {yaml_scalar(source, None)}"
        self._add(key.start, value.end, new)
        line = self.doc.line(key.start)
        self.changes.append(Change(fn.id, "BuildMethod", GO1X, "", line, _BUILD_METHOD_GONE))
        self.changes.append(Change(fn.id, GBL_METADATA, None, f"{{{GBL_SOURCE}: {source}}}", line))

    def _delete_pair(self, resource: str, mapping: Node, pair: tuple[Node, Node]) -> None:
        key, value = pair
        if mapping.flow or self.doc.fmt == "json" or len(mapping.pairs) < 2:
            self.problem(resource, key, f"its Metadata still says BuildMethod: {GO1X}, which no longer "
                         "applies", "remove that line by hand")
            return
        start = self.doc.line_start(key.start)
        self._add(start, self.doc.after_line(value.end), "")
        self.changes.append(Change(resource, "BuildMethod", GO1X, "", self.doc.line(key.start), _BUILD_METHOD_GONE))

    def _set_arch(self, resource: str, node: Node, wanted: str, *, owner: Node | None = None) -> None:
        item = node.items[0] if node.kind == "seq" and node.tag is None and len(node.items) == 1 else None
        if item is not None and item.text == wanted:
            return
        if item is not None and editable(item, shared_ok=True) and self._replace(
                resource, "Architectures", item, wanted, owner=owner, override=[wanted]):
            return
        self.problem(
            resource, node,
            f"Architectures is {describe(node, self.doc)}, which gbl cannot rewrite; gbl builds this "
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
                        via_globals = item is not None and editable(item, shared_ok=True)
                        if via_globals:
                            self._set_arch(GLOBALS, node, new, owner=self.globals)
                    elif editable(node, shared_ok=True):
                        via_globals = self._replace(GLOBALS, key, node, new, owner=self.globals)
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
                    self._replace(GLOBALS, "Runtime", gpair[1], self.runtime or DEFAULT_RUNTIME, owner=self.globals)



class _Migration(_SamEdits):
    """The SAM / CloudFormation rules: which functions are go1.x, and whether each can move."""

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
            rtype = literal(res.child("Type"))
            if rtype not in (SAM_FUNCTION, CFN_FUNCTION):
                continue
            props = res.child("Properties")
            fns.append(_Fn(key.text, rtype == SAM_FUNCTION, res, props if props is not None and props.kind == "map" else None))
        self.fns = fns
        for fn in fns:
            self._examine(fn)
        if self.globals is not None and literal(self.globals.child("Runtime")) == GO1X:
            self.go1x.append(GLOBALS)  # changed only once no unmigrated function inherits it
        self._edit(fns)
        return self

    def _edit(self, fns: list[_Fn]) -> None:
        """The edits of every function that migrates.  A function whose edit of a shared YAML
        anchor cannot be made leaves the migration whole (never half-migrated): it is reported,
        and the edits are planned again without it."""
        kept = len(self.problems)
        while True:
            del self.problems[kept:]
            self.edits, self.changes, self.pending = [], [], []
            migrating = [fn for fn in fns if fn.ok]
            for fn in migrating:
                self._own_edits(fn)
            self._inherited_edits(fns, migrating)
            failed = self.resolve_shared()
            if not failed:
                return
            del self.problems[kept:]
            for resource, (node, message, hint) in failed.items():
                if resource == GLOBALS:
                    message = message.replace("this function was", "the functions inheriting it were")
                self.problem(resource, node, message, hint)
            kept = len(self.problems)
            before = len(migrating)
            for fn in migrating:  # Globals' shared value: the functions inheriting it stay too
                inherits = fn.sam and any(fn.own(k) is None for k in ("Runtime", "Handler", "Architectures"))
                if fn.id in failed or (GLOBALS in failed and inherits):
                    fn.ok = False
            if sum(fn.ok for fn in fns) == before:  # pragma: no cover - nothing left to take out
                return

    def declared(self) -> list[tuple[str, str, int]]:
        """After :meth:`run`: (gbl function, Lambda arch, line) for each Go function (go1.x or a
        provided runtime), matched by its Handler or its code's name (dist/api.zip -> api)."""
        out = []
        for fn in getattr(self, "fns", []):
            runtime = literal(self._effective(fn, "Runtime")[1]) if self._effective(fn, "Runtime") else None
            if runtime != GO1X and not (runtime or "").startswith("provided"):
                continue
            handler = self._effective(fn, "Handler")
            code = self._effective(fn, _CODE_KEYS[fn.sam])
            target = self._match((handler[1].text if handler else None) or "", code[1] if code else None)
            if target is None:
                continue
            arch = self._effective(fn, "Architectures")
            item = arch[1].items[0] if arch and arch[1].kind == "seq" and len(arch[1].items) == 1 else None
            line = self.doc.line((arch[1] if arch else fn.node).start)
            out.append((target.name, item.text if item is not None and item.text else
                        ("x86_64" if arch is None else "?"), line))
        return out

    # -- is it go1.x, and can it be migrated?
    def _examine(self, fn: _Fn) -> None:
        declared = self._declared_target(fn)
        runtime = self._effective(fn, "Runtime")
        if declared is not None and (runtime is None or runtime[1].text != GO1X):
            # a Go function the plan found through this resource, on a provided runtime already
            # (or none): it moves to its zip too
            if runtime is None or literal(runtime[1]) is not None:
                self._examine_go(fn, declared)
            return
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
        self._examine_go(fn, declared)

    def _declared_target(self, fn: _Fn) -> FunctionTarget | None:
        for target in self.functions.values():
            if fn.id in target.resources:
                return target
        return None

    def _examine_go(self, fn: _Fn, declared: FunctionTarget | None) -> None:
        """Can this Go function (on go1.x, or declared by the template) move to its zip?"""
        if fn.props is None:
            self.problem(fn.id, fn.node, "has no Properties; this function was left on go1.x",
                         "give it Properties with Handler and CodeUri, then run gbl migrate again")
            return
        code_key = _CODE_KEYS[fn.sam]
        handler_pair = self._effective(fn, "Handler")
        code_pair = self._effective(fn, code_key)
        handler = handler_pair[1].text if handler_pair else None
        target = declared or self._match(handler, code_pair[1] if code_pair else None)
        fn.target = target
        fn.declared = declared is not None
        trouble = False
        if declared is not None:
            pass  # its Handler is irrelevant: the template's CodeUri named its package
        elif handler_pair is None or handler is None:
            trouble = True
            node = handler_pair[1] if handler_pair else fn.props
            shown = f"is computed ({describe(node, self.doc)})" if handler_pair else "is missing"
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
            if not trouble and pair is not None and pair[1].kind == "scalar" \
                    and not editable(pair[1], shared_ok=True):
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

    def _go1x_parameter(self, node: Node) -> str | None:
        return _go1x_parameter(self.params, node)

    def _match(self, handler: str | None, code: Node | None) -> FunctionTarget | None:
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
            f"its {code_key} is computed ({describe(node, self.doc)}); gbl only rewrites a literal "
            "path, so this function was left on go1.x",
            f"gbl builds it at {zip_path}: set `{code_key}: {zip_path}`, {again}",
        )
        return False


def _code_stem(node: Node) -> str | None:
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


def _go1x_parameter(params: Node | None, node: Node) -> str | None:
    """The template parameter a ``!Ref`` / ``{Ref: X}`` names when its default is go1.x."""
    name = None
    if node.kind == "scalar" and node.tag == "!Ref":
        name = node.value
    elif node.kind == "map" and len(node.pairs) == 1 and node.pairs[0][0].value == "Ref":
        name = node.pairs[0][1].text
    if not name or params is None:
        return None
    param = params.child(name)
    if param is not None and literal(param.child("Default")) == GO1X:
        return name
    return None
