"""Serverless Framework (``serverless.yml``, v3 and v4): go1.x functions to gbl's zips.

For every function whose runtime is ``go1.x`` (its own ``runtime`` or ``provider.runtime``) and
whose ``handler`` (the old binary's path, ``bin/hello``) names a gbl function:

* ``runtime`` becomes the provided runtime (``provider.runtime`` is changed when every function
  inheriting it moves to the same runtime; otherwise each moved function gets its own);
* ``handler`` becomes ``bootstrap``;
* ``package: {artifact: <its zip>}`` is set on the function (the path relative to the file), so
  the framework deploys gbl's zip as it is instead of packaging the service;
* ``architecture`` is set on the function when gbl builds it for another arch than the function
  (or ``provider.architecture``) declares.

The file is edited as text with the same minimal splices as SAM templates (:mod:`.edits`):
``${...}`` variables, comments, key order and quoting stay as written.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Mapping

from .edits import Editor, migrate_twice
from .model import BOOTSTRAP, GO1X, LAMBDA_ARCH, Change, FunctionTarget, MigrationResult
from .textdoc import Doc, Node, describe, editable, literal

PROVIDER = "provider"
SERVERLESS_NAMES = ("serverless.yml", "serverless.yaml")
_ORDER = ("handler", "runtime", "architecture", "package")


def is_serverless(doc: Doc, path: Path) -> bool:
    """A Serverless Framework service: named serverless.yml, or a YAML mapping with ``service``
    and ``provider`` and no CloudFormation ``Resources``."""
    if path.name.lower() in SERVERLESS_NAMES:
        return True
    root = doc.root
    return (doc.fmt == "yaml" and root is not None and root.kind == "map" and root.get("Resources") is None
            and root.get("provider") is not None and root.get("service") is not None)


class _Fn:
    def __init__(self, name: str, key: Node, node: Node):
        self.id = name
        self.key = key
        self.node = node
        self.target: FunctionTarget | None = None
        self.ok = False
        self.wanted: dict[str, str] = {}

    def own(self, key: str) -> tuple[Node, Node] | None:
        return self.node.get(key)


def binary_name(handler: str) -> str:
    """go1.x's handler is the executable's path in the zip; its name is the last part."""
    return handler.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def zip_stem(location: str | None) -> str | None:
    """dist/api.zip -> api (a local path only)."""
    if not location or "://" in location or "${" in location:
        return None
    stem = PurePosixPath(location.replace("\\", "/").rstrip("/")).name
    stem = stem[:-4] if stem.endswith(".zip") else stem
    return stem if stem not in ("", ".", "..") else None


class ServerlessMigration(Editor):
    """The rules for one serverless.yml."""

    order = _ORDER

    def __init__(self, doc: Doc, functions: Mapping[str, FunctionTarget], runtime: str | None, path: Path):
        super().__init__(doc, path)
        self.functions = functions
        self.runtime = runtime
        self.go1x: list[str] = []
        self.provider: Node | None = None
        self.fns: list[_Fn] = []

    def run(self) -> "ServerlessMigration":
        root = self.doc.root
        fns_node = root.get("functions") if root is not None and root.kind == "map" else None
        if fns_node is None or fns_node[1].kind != "map":
            self.problem(None, None, "no functions section: not a Serverless Framework service with functions",
                         "pass the serverless.yml that defines the functions")
            return self
        provider = root.child(PROVIDER)
        self.provider = provider if provider is not None and provider.kind == "map" else None
        self.map_step = _map_step(fns_node[0], fns_node[1], self.doc)
        self.fns = [_Fn(k.text, k, v) for k, v in fns_node[1].pairs if k.text is not None and v.kind == "map"]
        for fn in self.fns:
            self._examine(fn)
        if self.provider is not None and literal(self.provider.child("runtime")) == GO1X:
            self.go1x.append(PROVIDER)
        self._provider_runtime()  # first: a runtime it gives a function goes before its package
        for fn in self.fns:
            if fn.ok:
                self._own_edits(fn)
        return self

    def effective(self, fn: _Fn, key: str) -> tuple[Node, Node] | None:
        return fn.own(key) or (self.provider.get(key) if self.provider is not None else None)

    def match(self, fn: _Fn) -> FunctionTarget | None:
        handler = literal(fn.node.child("handler"))
        target = self.functions.get(binary_name(handler)) if handler else None
        package = fn.node.child("package")
        if target is None and package is not None and package.kind == "map":
            stem = zip_stem(literal(package.child("artifact")))
            target = self.functions.get(stem) if stem else None
        return target

    def _examine(self, fn: _Fn) -> None:
        runtime = self.effective(fn, "runtime")
        if runtime is None or literal(runtime[1]) != GO1X:
            return
        self.go1x.append(fn.id)
        handler = fn.own("handler")
        fn.target = target = self.match(fn)
        known = ", ".join(sorted(self.functions)) or "none: gbl found no functions under cmd/"
        if handler is None or literal(handler[1]) is None:
            node = handler[1] if handler else fn.key
            shown = f"is computed ({describe(node, self.doc)})" if handler else "is missing"
            self.problem(fn.id, node, f"its handler {shown}; this function was left on go1.x",
                         f"a go1.x handler is the path of the function's binary (bin/<name>), and <name> is "
                         f"the gbl function (gbl builds: {known}): write it literally, then run gbl migrate again")
            return
        if target is None:
            name = binary_name(literal(handler[1]))
            self.problem(
                fn.id, handler[1],
                f'handler "{literal(handler[1])}" names no gbl function (gbl builds: {known}); '
                "this function was left on go1.x",
                f"gbl names each function after its directory under cmd/: move its main package to cmd/{name}/, "
                f'or give the function that name in gbl.toml ([functions.<dir>] name = "{name}"), then run '
                "gbl migrate again",
            )
            return
        if not self._package_ok(fn, target):
            return
        for key in ("runtime", "handler", "architecture"):
            pair = fn.own(key)
            if pair is not None and pair[1].kind == "scalar" and not editable(pair[1], shared_ok=True):
                self.problem(fn.id, pair[1], f"its {key} is written in a form gbl cannot rewrite safely "
                             "(a YAML alias or a block scalar); this function was left on go1.x",
                             f"write {key} as a plain value, then run gbl migrate again")
                return
        fn.ok = True
        fn.wanted = {"runtime": self.runtime or target.runtime, "handler": BOOTSTRAP,
                     "artifact": target.zip_path, "architecture": LAMBDA_ARCH[target.arch]}

    def _package_ok(self, fn: _Fn, target: FunctionTarget) -> bool:
        package = fn.own("package")
        if package is None:
            return True
        node = package[1]
        artifact = node.get("artifact") if node.kind == "map" else None
        value = literal(artifact[1]) if artifact else None
        if node.kind == "map" and (artifact is None or (value is not None and "://" not in value and "${" not in value)):
            return True
        self.problem(fn.id, node, f"its package is {describe(node, self.doc)}, which gbl does not rewrite; "
                     "this function was left on go1.x",
                     f"set `package: {{artifact: {target.zip_path}}}` on it (gbl builds that zip), "
                     "then run gbl migrate again")
        return False

    def _own_edits(self, fn: _Fn) -> None:
        for key in ("handler", "runtime"):
            pair = fn.own(key)
            if pair is not None and literal(pair[1]) != fn.wanted[key]:
                self._replace(fn.id, key, pair[1], fn.wanted[key], owner=fn.node)
        arch = self.effective(fn, "architecture")
        wanted = fn.wanted["architecture"]
        if (literal(arch[1]) if arch else "x86_64") != wanted:
            own = fn.own("architecture")
            if own is not None and editable(own[1], shared_ok=True):
                self._replace(fn.id, "architecture", own[1], wanted, owner=fn.node)
            else:
                self._insert(fn.id, fn.node, "architecture", wanted)
        package = fn.own("package")
        if package is None:
            self._insert(fn.id, fn.node, "package", {"artifact": fn.wanted["artifact"]})
            return
        artifact = package[1].get("artifact")
        if artifact is None:
            self._insert_artifact(fn, package[1])
        elif literal(artifact[1]) != fn.wanted["artifact"]:
            self._replace(fn.id, "package.artifact", artifact[1], fn.wanted["artifact"], owner=package[1])

    def _insert_artifact(self, fn: _Fn, package: Node) -> None:
        saved, self.order = self.order, ("artifact",)
        try:
            self._insert(fn.id, package, "artifact", fn.wanted["artifact"])
        finally:
            self.order = saved
        if self.changes and self.changes[-1].key == "artifact":
            c = self.changes[-1]
            self.changes[-1] = Change(c.resource, "package.artifact", None, c.new, c.line)

    def _provider_runtime(self) -> None:
        """provider.runtime: changed when every function inheriting it moves to one runtime;
        otherwise each moved heir gets its own runtime."""
        pair = self.provider.get("runtime") if self.provider is not None else None
        if pair is None or literal(pair[1]) != GO1X:
            return
        heirs = [fn for fn in self.fns if fn.own("runtime") is None]
        wanted = {fn.wanted["runtime"] for fn in heirs if fn.ok}
        if heirs and all(fn.ok for fn in heirs) and len(wanted) == 1 and editable(pair[1], shared_ok=True):
            self._replace(PROVIDER, "runtime", pair[1], wanted.pop(), owner=self.provider)
            return
        for fn in heirs:
            if fn.ok:
                self._insert(fn.id, fn.node, "runtime", fn.wanted["runtime"])
        if not heirs:  # nothing inherits it any more
            self._replace(PROVIDER, "runtime", pair[1], self.runtime or next(
                (fn.wanted["runtime"] for fn in self.fns if fn.ok), "provided.al2023"), owner=self.provider)

    def declared(self) -> list[tuple[str, str, int]]:
        """(gbl function, Lambda arch, line) for each Go function: on go1.x or a provided runtime,
        matched by its handler or its package.artifact."""
        out = []
        for fn in self.fns:
            runtime = self.effective(fn, "runtime")
            value = literal(runtime[1]) if runtime else None
            if value != GO1X and not (value or "").startswith("provided"):
                continue
            target = self.match(fn)
            if target is None:
                continue
            arch = self.effective(fn, "architecture")
            where = arch[1] if arch else fn.key
            out.append((target.name, literal(arch[1]) if arch else "x86_64", self.doc.line(where.start)))
        return out


def _map_step(key: Node, node: Node, doc: Doc) -> int:
    """How far this file indents a nested block mapping past its key (functions: -> hello:)."""
    if node.flow or not node.pairs:
        return 2
    step = doc.column(node.pairs[0][0].start) - doc.column(key.start)
    return step if step > 0 else 2


def migrate_serverless(
    text: str,
    functions: Mapping[str, FunctionTarget],
    *,
    path: Path | str = "serverless.yml",
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Migrate one serverless.yml's text (see the module's docstring)."""
    path = Path(path)

    def make(doc: Doc) -> ServerlessMigration:
        run = ServerlessMigration(doc, functions, runtime, path).run()
        for resource, (node, message, hint) in run.resolve_shared().items():
            run.problem(resource, node, message, hint)
        return run

    return migrate_twice(text, path, label, lambda t: Doc.parse(t, path), make, _ORDER + ("package.artifact",))
