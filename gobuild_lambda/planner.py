"""Which functions a project has, and the settings each is built with.

A function is a package named ``main``, as Go sees it for ``GOOS=linux`` and the function's own
``GOARCH``, in the directories the ``[discover] packages`` patterns name (default ``./cmd/...``) in
each planned module, or declared by a SAM / CloudFormation template (discover.py reads those).
The modules: the project directory's, ``[discover] modules``, the modules of template-declared
functions, or every module of the project directory's ``go.work``.  Go decides (``go list``, one
run per module and arch); gbl only walks the tree to find the directories Go silently leaves out
of a pattern so that ``--verbose`` can say why.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from . import config as config_mod
from . import discover, gotool
from .config import Config, Include, Settings
from .errors import ConfigError, PlanError, UsageError
from .lambda_facts import CGO_ENABLED, GOOS, LAMBDA_ARCH, NORPC_TAG

CMD_DIR = "cmd"
# Tags gbl always builds with: aws-lambda-go drops its net/rpc (go1.x) code path with this tag.
BASE_TAGS = (NORPC_TAG,)
# Linker flags gbl always sets: strip the symbol table and DWARF (smaller zips, same behaviour).
BASE_LDFLAGS = "-s -w"


@dataclass(frozen=True)
class Function:
    """One Lambda function: a Go main package and everything that decides its build and zip."""

    name: str  # the zip is <name>.zip; defaults to the package dir's last element
    package: str  # import path, e.g. example.com/sample/cmd/api
    rel_dir: str  # package dir relative to the module root, forward slashes: cmd/api
    arch: str  # GOARCH: amd64 | arm64
    runtime: str  # provided.al2023 | provided.al2
    tags: tuple[str, ...]  # every tag, lambda.norpc first
    ldflags: str  # the full -ldflags value
    env: tuple[tuple[str, str], ...]  # extra build environment
    include: tuple[Include, ...]
    builder: str  # local | docker
    image: str  # docker image ("" = derived from go.mod)
    memory: int
    timeout: int
    # Files that `import "C"`: Go drops them under CGO_ENABLED=0, so the function cannot be built.
    cgo_files: tuple[str, ...] = ()
    module_dir: str = "."  # the module root relative to the project dir, forward slashes
    gowork: str = ""  # the user's go.work (absolute) when the build uses it; "" = GOWORK=off
    old_lambda_go: str = ""  # the aws-lambda-go version (< v1.18.0) its go.mod requires
    template: str = ""  # "template.yaml:Resource" when a deployment template declares it

    @property
    def build_key(self) -> tuple:
        """Functions with equal keys can share one ``go build`` invocation."""
        return (self.arch, self.tags, self.ldflags, self.env, self.builder, self.image,
                self.module_dir, self.gowork)


def shard_of(name: str, count: int) -> int:
    """The 1-based shard of function ``name`` among ``count`` shards (sha256 of the name)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % count + 1


@dataclass(frozen=True)
class Skipped:
    rel_dir: str
    reason: str


@dataclass(frozen=True)
class Plan:
    project_dir: Path
    module_path: str
    go_directive: str  # the go.mod `go` line ("" when absent)
    toolchain: str  # the go.mod `toolchain` line ("" when absent)
    config: Config
    functions: tuple[Function, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...] = ()  # for `gbl plan`: template disagreements, old aws-lambda-go
    modules: tuple[tuple[str, str], ...] = ()  # (dir relative to the project, module path)

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        known = ", ".join(f.name for f in self.functions) or "none"
        raise PlanError(
            f"no function named {name!r}",
            where=str(self.project_dir),
            hint=f"functions found: {known} (see `gbl plan`)",
        )

    def shard(self, index: int, count: int) -> "Plan":
        """The functions of shard ``index`` (1-based) of ``count``, stable as functions come and go.

        A function's shard depends only on its name's hash, so adding a function never moves
        another one to a different CI job.
        """
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard must be K/N with 1 <= K <= N, got {index}/{count}")
        mine = tuple(f for f in self.functions if shard_of(f.name, count) == index)
        return Plan(
            self.project_dir, self.module_path, self.go_directive, self.toolchain,
            self.config, mine, self.skipped, self.warnings, self.modules,
        )

    def select(self, names) -> "Plan":
        if not names:
            return self
        wanted = [self.function(n) for n in dict.fromkeys(names)]
        return Plan(
            self.project_dir, self.module_path, self.go_directive, self.toolchain,
            self.config, tuple(wanted), self.skipped, self.warnings, self.modules,
        )


@dataclass
class _Unit:
    """One module to list: its directory, the patterns to list in it, its template functions."""

    dir: Path
    patterns: bool = False  # list [discover] packages here
    templates: dict = field(default_factory=dict)  # code dir -> discover.TemplateFunction
    info: dict = field(default_factory=dict)  # `go list -m -json`


def plan(
    project_dir: Path,
    *,
    go: gotool.GoTool,
    overrides: Settings | None = None,
    config: Config | None = None,
) -> Plan:
    """Discover the functions of the project at ``project_dir`` (see README: where gbl looks)."""
    project_dir = Path(project_dir).resolve()
    if not project_dir.is_dir():
        raise PlanError("no such directory", where=str(project_dir), hint="check the -C argument")
    project_dir = find_root(project_dir, gowork_off=gowork_off(go))
    cfg = config if config is not None else config_mod.load(project_dir)
    if overrides is not None:
        cfg = cfg.with_overrides(overrides)
    gowork, units, tfuncs = _units(go, project_dir, cfg)
    # The project's module (its own go.mod), else the first module by path: the plan's identity,
    # which owns the output directory, must not depend on which functions or arches were asked for.
    first = units.get(project_dir) or min(units.values(), key=lambda u: str(u.info.get("Path", "")))
    module_path, go_line = first.info["Path"], first.info.get("GoVersion", "")
    arches = sorted(set(_arches_in_use(cfg)) | {t.arch for t in tfuncs if t.arch})
    base = {"GOOS": GOOS, "CGO_ENABLED": CGO_ENABLED, "GOWORK": str(gowork) if gowork else "off",
            "GOFLAGS": _goflags(go)}
    candidates, skipped, jobs = _candidates(project_dir, cfg, units, arches)
    skipped += [Skipped(_rel(project_dir, t.template) + f":{t.resource}", t.reason) for t in tfuncs if t.reason]
    declared = _declared_elsewhere(project_dir, cfg, candidates)
    extra = sorted({d.arch for ds in declared.values() for d in ds} - set(arches))
    if extra:  # a declared arch nothing else uses: list the packages for it too
        per_unit = {id(u): (u, p) for u, _, p in jobs}
        jobs += [(u, arch, p) for u, p in per_unit.values() for arch in extra]
    if not candidates:
        return Plan(project_dir, module_path, go_line, _toolchain(first.dir), cfg, (), tuple(skipped),
                    (), _modules(project_dir, units))
    by_arch = _list_all(go, jobs, base)

    functions: list[Function] = []
    used_keys: set[str] = set()
    warnings: list[str] = []
    lambda_go = {u.dir: discover.old_lambda_go(u.dir / "go.mod") for u in units.values()}
    for d, (unit, go_files, tf) in sorted(candidates.items(), key=lambda kv: _rel(project_dir, kv[0])):
        rel_dir = _rel(project_dir, d)
        fc, settings = _settings_for(cfg, rel_dir, _default_name(project_dir, d), tf, warnings,
                                     declared.get(_candidate_name(cfg, rel_dir, d)), project_dir)
        pkg = by_arch[(unit.dir, settings.arch)].get(d)
        reason = _bad_path(pkg, go_files, unit.dir, d) or _not_a_function(pkg, go_files, settings.arch)
        if reason:
            skipped.append(Skipped(rel_dir, reason))
            continue
        if fc is not None:
            used_keys.add(fc.key)
        name = fc.name if fc and fc.name else _default_name(project_dir, d)
        functions.append(replace(
            _function(pkg, rel_dir, name, settings), module_dir=_rel(project_dir, unit.dir),
            gowork=str(gowork or ""), old_lambda_go=lambda_go[unit.dir],
            template=f"{_rel(project_dir, tf.template)}:{tf.resource}" if tf else "",
        ))

    _find_cgo_functions(go, project_dir, cfg, base, functions, skipped, used_keys, candidates, lambda_go, gowork,
                        declared)
    _check_unused_tables(cfg, used_keys, functions, skipped)
    _check_clashes(functions, cfg, project_dir)
    functions.sort(key=lambda f: f.name)
    for fn in functions:
        if fn.old_lambda_go:
            warnings.append(_lambda_go_message(project_dir, fn))
    return Plan(
        project_dir=project_dir,
        module_path=module_path,
        go_directive=go_line,
        toolchain=_toolchain(first.dir),
        config=cfg,
        functions=tuple(functions),
        skipped=tuple(skipped),
        warnings=tuple(dict.fromkeys(warnings)),
        modules=_modules(project_dir, units),
    )


def _candidates(project_dir: Path, cfg: Config, units, arches):
    """Every directory to judge: abs dir -> (unit, its .go files, template function or None);
    the directories `exclude` removed; and the `go list` runs: (unit, arch, patterns)."""
    candidates: dict = {}
    skipped: list[Skipped] = []
    jobs = []
    for unit in units.values():
        patterns = []
        if unit.patterns:
            patterns += list(cfg.discover.packages)
            found, excluded = _pattern_dirs(unit.dir, cfg.discover.packages, cfg.discover.exclude)
            for d, files in found:
                candidates[d] = (unit, files, None)
            skipped += [Skipped(_rel(project_dir, d), "excluded by [discover] exclude") for d in excluded]
        for d, tf in unit.templates.items():  # a template's function wins over a pattern's match
            candidates[d] = (unit, _go_files(d), tf)
            patterns.append(_pattern(unit.dir, d))
        if patterns:
            jobs += [(unit, arch, list(dict.fromkeys(patterns))) for arch in arches]
    return candidates, skipped, jobs


def _units(go, project_dir: Path, cfg: Config):
    """(go.work in play or None, module dir -> _Unit, template functions) for the project."""
    templates = discover.find_templates(
        project_dir, cfg.discover.templates, cfg.path or project_dir / config_mod.CONFIG_FILE
    )
    tfuncs = [tf for t in templates for tf in discover.read_template(t, project_dir)]
    units: dict[Path, _Unit] = {}
    work = project_dir / "go.work"
    gowork = work if work.is_file() and not gowork_off(go) else None
    if gowork is not None:
        for m in discover.workspace_modules(gowork):
            units[m] = _Unit(m, patterns=True)
    elif (project_dir / "go.mod").is_file() or not (tfuncs or cfg.discover.modules):
        if (project_dir / "go.mod").is_file() and not gowork_off(go):
            # a module of a workspace above: `go build` here would build with that go.work
            gowork = discover.workspace_above(project_dir)
        info = gotool.module_info(go, project_dir)
        module_root = Path(info.get("Dir") or project_dir).resolve()
        if module_root != project_dir:
            raise PlanError(
                f"this directory is inside the Go module rooted at {module_root}, not its root",
                where=str(project_dir),
                hint=f"run gbl with -C {module_root}",
            )
        units[project_dir] = _Unit(project_dir, patterns=True, info=info)
    for pattern in cfg.discover.modules:
        dirs = sorted(p.resolve() for p in project_dir.glob(pattern) if (p / "go.mod").is_file())
        if not dirs:
            raise ConfigError(
                f"`discover.modules` entry {pattern!r} matches no directory holding a go.mod",
                where=str(cfg.path), hint=f"list module directories relative to {project_dir}",
            )
        for d in dirs:
            units.setdefault(d, _Unit(d)).patterns = True
    for tf in tfuncs:
        if tf.code_dir is None:
            continue
        root = discover.module_root(tf.code_dir, project_dir)
        if root is None:
            raise PlanError(
                f"function {tf.resource}: its code directory {_rel(project_dir, tf.code_dir)} is in no Go module",
                where=str(tf.template),
                hint=f"create one with `go mod init <module path>` in {_rel(project_dir, tf.code_dir)} "
                "(or in a directory above it, inside the project)",
            )
        units.setdefault(root, _Unit(root)).templates[tf.code_dir] = tf
    if not units:
        raise PlanError(
            "not a Go module: no go.mod, go.work or template-declared Go function here",
            where=str(project_dir), hint="run gbl in the directory that holds go.mod (or pass -C DIR)",
        )
    for unit in units.values():
        if not unit.info:
            unit.info = gotool.module_info(go, unit.dir)
    return gowork, units, tfuncs


def _modules(project_dir: Path, units) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((_rel(project_dir, u.dir), u.info["Path"]) for u in units.values()))


def gowork_off(go) -> bool:
    return go.env.get("GOWORK", "").strip() == "off"


def find_root(start: Path, *, gowork_off: bool) -> Path:
    """The project directory for ``start``: ``start`` itself when it holds go.mod, go.work,
    gbl.toml or a template; else, as ``go`` does, the nearest directory above holding go.mod or
    (unless GOWORK=off) go.work; else ``start`` (whose plan then says what is missing)."""
    markers = ("go.mod", "go.work", config_mod.CONFIG_FILE, *discover.TEMPLATE_NAMES)
    if any((start / m).is_file() for m in markers):
        return start
    for d in start.parents:
        if (d / "go.mod").is_file() or (not gowork_off and (d / "go.work").is_file()):
            return d
    return start


def _list_all(go, jobs, base) -> dict:
    """Run every (module, arch) `go list` at once: (module dir, arch) -> abs dir -> package."""
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        procs = [
            (unit, arch, gotool.list_packages(go, unit.dir, patterns, {**base, "GOARCH": arch}))
            for unit, arch, patterns in jobs
        ]
        listed = list(pool.map(lambda j: gotool.collect_list(j[2], j[0].dir), procs))
    out: dict = {}
    for (unit, arch, _), pkgs in zip(procs, listed):
        out.setdefault((unit.dir, arch), {}).update(
            {Path(p["Dir"]).resolve(): p for p in pkgs if p.get("Dir")}
        )
    return out


# What each deployment format calls a function's architecture (for messages).
_ARCH_KEY = {"sam": "Architectures", "serverless": "architecture", "terraform": "architectures"}


def _declared_elsewhere(project_dir: Path, cfg: Config, candidates) -> dict:
    """Function name -> the architectures serverless.yml and *.tf files declare for it
    (migrate.DeclaredArch).  SAM / CloudFormation templates are discover.py's (their functions
    come with the candidates); these files are parsed only when the project has some, so a
    project without them never imports gbl migrate or ruamel."""
    files = discover.deployment_files(project_dir)
    if not files or not candidates:
        return {}
    from .migrate import declared_architectures

    names = {_candidate_name(cfg, _rel(project_dir, d), d) for d in candidates}
    out: dict = {}
    for d in declared_architectures(project_dir, sorted(names), paths=files):
        out.setdefault(d.function, []).append(d)
    return out


def _candidate_name(cfg: Config, rel_dir: str, d: Path) -> str:
    fc = cfg.function(rel_dir) or cfg.function(d.name)
    return fc.name if fc and fc.name else d.name


def _settings_for(cfg: Config, rel_dir: str, default_name: str, tf, warnings: list[str],
                  declared=None, project_dir: Path | None = None):
    """gbl.toml's table for the function and its settings: gbl.toml (or a flag) over what the
    deployment files declare (a template's Architectures / Runtime, serverless.yml's
    architecture, Terraform's architectures) over the built-in defaults.  gbl.toml disagreeing
    with a file is a warning; two files disagreeing, when gbl.toml does not choose, is a
    UsageError naming both."""
    fc = cfg.function(rel_dir) or cfg.function(default_name)
    mine = (fc.settings if fc else Settings()).over(cfg.file_defaults)
    said: list[tuple[str, str, str, str]] = []  # (key, value, where, label)
    if tf is not None:
        where = f"{tf.template.name} ({tf.resource})"
        said += [(k, v, where, label) for k, v, label in
                 (("arch", tf.arch, "Architectures"), ("runtime", tf.runtime, "Runtime")) if v]
    for d in declared or ():
        where = f"{_rel(project_dir, d.path) if project_dir else d.path.name}:{d.line}"
        said.append(("arch", d.arch, where, _ARCH_KEY.get(d.format, "architecture")))
    if not said:
        return fc, mine.over(cfg.defaults)
    if mine.arch is None:  # gbl.toml / --arch set it: it wins, with a warning per file below
        _check_declared_agree(default_name, [s for s in said if s[0] == "arch"])
    for key, theirs, where, label in said:
        ours = getattr(mine, key)
        if ours and theirs != ours:
            shown = LAMBDA_ARCH.get(theirs, theirs) if key == "arch" else theirs  # as the file writes it
            warnings.append(
                f"function {default_name}: {where} says {label} {shown}, gbl.toml or --{key} says "
                f"{ours}; building {ours} (make them agree, e.g. `gbl migrate`)"
            )
    values = {key: theirs for key, theirs, _, _ in reversed(said)}  # the first declaration of each
    return fc, mine.over(Settings(**values)).over(cfg.defaults)


def _check_declared_agree(name: str, said) -> None:
    first = said[0] if said else None
    lam = LAMBDA_ARCH  # GOARCH -> what the files write
    for other in said[1:]:
        if other[1] != first[1]:
            raise UsageError(
                f"function {name} is declared {first[3]} {lam.get(first[1], first[1])} here, but "
                f"{other[3]} {lam.get(other[1], other[1])} in {other[2]}; a function runs on one "
                "architecture",
                where=first[2],
                hint=f"make both declare the same architecture: gbl builds one zip per function, and "
                f"dist/{name}.zip runs on one of them only",
            )


def _lambda_go_message(project_dir: Path, fn: Function) -> str:
    go_mod = _rel(project_dir, project_dir / fn.module_dir / "go.mod")
    return (
        f"function {fn.name}: {go_mod} requires {discover.LAMBDA_GO} {fn.old_lambda_go}, which hangs "
        f"at init on the provided runtimes (v1.18.0 or newer is needed); fix: in "
        f"{fn.module_dir} run `{discover.LAMBDA_GO_FIX}`"
    )


def _default_name(project_dir: Path, d: Path) -> str:
    return d.name


def _pattern(module_dir: Path, d: Path) -> str:
    rel = _rel(module_dir, d)
    return "." if rel == "." else f"./{rel}"


def _go_files(d: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(p.name for p in d.iterdir() if p.name.endswith(".go") and p.is_file()))
    except OSError:
        return ()


def _goflags(go: gotool.GoTool) -> str:
    # The user's GOFLAGS pass through; -buildvcs=false keeps `go list` from calling git.
    user = go.env.get("GOFLAGS", "")
    return " ".join(x for x in (user, "-buildvcs=false") if x)


def _function(pkg: dict, rel_dir: str, name: str, s: Settings) -> Function:
    tags = BASE_TAGS + tuple(t for t in s.tags if t not in BASE_TAGS)
    ldflags = BASE_LDFLAGS + (f" {s.ldflags.strip()}" if s.ldflags and s.ldflags.strip() else "")
    return Function(
        name=name,
        package=pkg["ImportPath"],
        rel_dir=rel_dir,
        arch=s.arch,
        runtime=s.runtime,
        tags=tags,
        ldflags=ldflags,
        env=s.env,
        include=s.include,
        builder=s.builder,
        image=s.image,
        memory=s.memory,
        timeout=s.timeout,
    )


def _find_cgo_functions(go, project_dir, cfg, base, functions, skipped, used_keys, candidates,
                        lambda_go, gowork, declared) -> None:
    """Main packages that exist only with cgo become functions that fail with a clear reason.

    Under CGO_ENABLED=0 Go silently drops files that import "C"; a function made of them would
    otherwise vanish from the plan without a word.
    """
    excluded = [s for s in skipped if "excluded by build constraints" in s.reason]
    if not excluded:
        return
    groups: dict[tuple, list[Path]] = {}
    for s in excluded:
        d = (project_dir / s.rel_dir).resolve()
        unit = candidates[d][0]
        groups.setdefault((unit.dir, s.reason.rsplit("/", 1)[1]), []).append(d)
    for (mdir, arch), dirs in groups.items():
        proc = gotool.list_packages(
            go, mdir, [_pattern(mdir, d) for d in dirs], {**base, "GOARCH": arch, "CGO_ENABLED": "1"}
        )
        for pkg in gotool.collect_list(proc, mdir):
            if pkg.get("Name") != "main" or not pkg.get("CgoFiles") or not pkg.get("Dir"):
                continue
            d = Path(pkg["Dir"]).resolve()
            tf = candidates[d][2] if d in candidates else None
            rel_dir = _rel(project_dir, d)
            fc, settings = _settings_for(cfg, rel_dir, d.name, tf, [],
                                         declared.get(_candidate_name(cfg, rel_dir, d)), project_dir)
            fn = _function(pkg, rel_dir, fc.name if fc and fc.name else d.name, settings)
            functions.append(replace(
                fn, cgo_files=tuple(pkg["CgoFiles"]), module_dir=_rel(project_dir, mdir),
                gowork=str(gowork or ""), old_lambda_go=lambda_go[mdir],
                template=f"{_rel(project_dir, tf.template)}:{tf.resource}" if tf else "",
            ))
            skipped[:] = [s for s in skipped if s.rel_dir != rel_dir]
            if fc is not None:
                used_keys.add(fc.key)


def _arches_in_use(cfg: Config) -> list[str]:
    arches = {cfg.defaults.arch}
    arches.update(fc.settings.arch for fc in cfg.functions if fc.settings.arch)
    return sorted(arches)


_SKIP_DIR = ("testdata", "vendor")


def _pattern_dirs(module_dir: Path, patterns, exclude) -> tuple[list, list]:
    """Directories of ``module_dir`` the relative `go list` patterns name, as Go walks them:
    ([(abs dir, its .go file names)], [abs dirs removed by ``exclude``]).

    Directories Go ignores (testdata, vendor, names starting with '.' or '_') are pruned, as are
    nested modules.  Leaf directories with no Go files are kept so --verbose can mention them.
    """
    found: dict[Path, tuple[str, ...]] = {}
    for pattern in patterns:
        for d, files in _walk_pattern(module_dir, pattern):
            found.setdefault(d, files)
    drop = {d for d in found for x in exclude if _matches(module_dir, x, d)}
    return [(d, f) for d, f in sorted(found.items()) if d not in drop], sorted(drop)


def _walk_pattern(module_dir: Path, pattern: str):
    rel = pattern[2:] if pattern.startswith("./") else ("" if pattern == "." else pattern)
    if "..." not in rel:
        d = (module_dir / rel).resolve()
        if d.is_dir():
            yield d, _go_files(d)
        return
    prefix = rel.split("...", 1)[0]
    start = module_dir / prefix.rsplit("/", 1)[0] if "/" in prefix else module_dir
    if not start.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(start):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith((".", "_")) and d not in _SKIP_DIR and not (here / d / "go.mod").exists()
        )
        if not _matches(module_dir, pattern, here):
            continue
        go_files = tuple(sorted(f for f in filenames if f.endswith(".go")))
        if go_files or not dirnames:
            yield here.resolve(), go_files


def _matches(module_dir: Path, pattern: str, d: Path) -> bool:
    """Does the relative `go list` pattern name directory ``d`` (cmd/go's matchPattern)?"""
    rel = _rel(module_dir, d)
    pat = pattern[2:] if pattern.startswith("./") else ("." if pattern == "." else pattern)
    if pat in (".", "..."):
        return pat == "..." or rel == "."
    regex = re.escape(pat).replace(re.escape("..."), ".*")
    if pat.endswith("/..."):
        regex = regex[: -len("/.*")] + "(/.*)?"
    return re.fullmatch(regex, rel) is not None


def _rel(project_dir: Path, path: Path) -> str:
    return Path(os.path.relpath(path, project_dir)).as_posix()


def _not_a_function(pkg: dict | None, go_files: tuple[str, ...], arch: str) -> str | None:
    if pkg is None:
        if not go_files:
            return "no Go files"
        if all(f.endswith("_test.go") for f in go_files):
            return "only _test.go files"
        return f"every Go file is excluded by build constraints for linux/{arch}"
    if pkg.get("Error") and not pkg.get("GoFiles"):
        err = pkg["Error"].get("Err", "")
        if "build constraints exclude all Go files" in err:
            return f"every Go file is excluded by build constraints for linux/{arch}"
        if "no non-test Go files" in err:
            return "only _test.go files"
        if "no Go files" in err:
            return "no Go files"
    name = pkg.get("Name")
    if not pkg.get("GoFiles") and not pkg.get("CgoFiles"):
        if pkg.get("TestGoFiles") or pkg.get("XTestGoFiles"):
            return "only _test.go files"
        if pkg.get("IgnoredGoFiles"):
            return f"every Go file is excluded by build constraints for linux/{arch}"
        if not pkg.get("Error"):
            return "no Go files"
    if name and name != "main":
        return f"package {name}, not main"
    return None


# Characters Go allows in an import path element (golang.org/x/mod/module: importPathOK).
_PATH_OK = re.compile(r"[A-Za-z0-9._~+-]+")


def _bad_path(pkg: dict | None, go_files, module_dir: Path, d: Path) -> str | None:
    """Go leaves a directory whose path is not a valid import path out of `./...` without a word."""
    err = ((pkg or {}).get("Error") or {}).get("Err", "")
    if not go_files:
        return None
    rel = _rel(module_dir, d)
    bad = [e for e in ([] if rel == "." else rel.split("/")) if not _PATH_OK.fullmatch(e) or e.startswith(".")]
    if pkg is not None and "malformed import path" not in err and not bad:
        return None
    if not bad and "malformed import path" not in err:
        return None
    elem = bad[0] if bad else rel
    chars = "".join(dict.fromkeys(c for c in elem if not _PATH_OK.fullmatch(c)))
    return (
        f"malformed import path: Go does not allow {chars!r} in a package path, so it never builds "
        f"{rel!r}; fix: rename the directory using only letters, digits and - . _ ~ +"
    )


def _toolchain(project_dir: Path) -> str:
    try:
        for line in (project_dir / "go.mod").read_text(encoding="utf-8").splitlines():
            parts = line.split("//")[0].split()
            if len(parts) == 2 and parts[0] == "toolchain":
                return parts[1]
    except OSError:
        pass
    return ""


def _check_unused_tables(cfg: Config, used: set[str], functions, skipped) -> None:
    for fc in cfg.functions:
        if fc.key in used:
            continue
        names = ", ".join(sorted(f.name for f in functions)) or "none"
        hint = f"functions found: {names}"
        skip = next((s for s in skipped if s.rel_dir == fc.key or PurePosixPath(s.rel_dir).name == fc.key), None)
        if skip:
            hint = f"{skip.rel_dir} is not a function ({skip.reason}); {hint}"
        raise ConfigError(
            f"[functions.{fc.key}] names no function gbl found",
            where=str(cfg.path),
            hint=f"{hint}; a table key is a function's directory name (e.g. api) or its path (e.g. cmd/api)",
        )


def _check_clashes(functions: list[Function], cfg: Config, project_dir: Path) -> None:
    seen: dict[str, Function] = {}
    for fn in functions:
        other = seen.get(fn.name.lower())
        if other is not None:
            where = str(cfg.path or project_dir / config_mod.CONFIG_FILE)
            raise PlanError(
                f"two functions are named {fn.name!r}: {_described(other)} and {_described(fn)}",
                where=where,
                hint=f'give one a different name in gbl.toml, e.g.\n  [functions."{fn.rel_dir}"]\n'
                f'  name = "{PurePosixPath(fn.rel_dir).parent.name}-{fn.name}"',
            )
        seen[fn.name.lower()] = fn


def _described(fn: Function) -> str:
    declared = f", resource {fn.template}" if fn.template else ""
    return f"{fn.rel_dir} ({fn.package}{declared})"


def no_functions_error(plan: Plan, *, doing: str = "build") -> UsageError:
    """The error for a plan with no function: where gbl looked (the `go list` patterns in each
    module, the templates it read, or that there were none) and how to point it elsewhere.  The
    hint names `gbl plan -v` only when it has something to show (skipped directories)."""
    cfg = plan.config
    patterns = " ".join(cfg.discover.packages)
    modules = ", ".join(d if d not in ("", ".") else "." for d, _ in plan.modules) or "."
    try:
        templates = discover.find_templates(plan.project_dir, cfg.discover.templates,
                                            cfg.path or plan.project_dir / config_mod.CONFIG_FILE)
    except ConfigError:  # pragma: no cover - the plan already read them
        templates = ()
    read = ", ".join(t.name if t.parent == plan.project_dir else str(t) for t in templates)
    looked = (f"gbl looked for main packages matching `{patterns}` in module(s) {modules}"
              + (f" and for Go functions in {read}" if read else
                 f" and found no {' / '.join(discover.TEMPLATE_NAMES)}"))
    source = f"[discover] in {cfg.path}" if cfg.path else f"the defaults (no {config_mod.CONFIG_FILE})"
    hint = (f"put each function in its own directory (e.g. cmd/api/main.go), or say where they are with "
            f"`[discover] packages = [\"./functions/...\"]` or `templates = [\"infra/template.yaml\"]` in "
            f"{config_mod.CONFIG_FILE}, or run gbl with -C the directory that holds them")
    if plan.skipped:
        hint += f"; `gbl plan -v` says why {len(plan.skipped)} director{'y was' if len(plan.skipped) == 1 else 'ies were'} not a function"
    return UsageError(f"no functions found, nothing to {doing}: {looked} (settings: {source})",
                      where=str(plan.project_dir), hint=hint)
