"""Which functions a project has, and the settings each is built with.

A function is a package named ``main`` under ``cmd/`` (any depth), as Go sees it for ``GOOS=linux``
and the function's own ``GOARCH``.  Go decides (``go list``); gbl only walks the tree to find the
directories Go silently leaves out of ``./cmd/...`` so that ``--verbose`` can say why.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from . import config as config_mod
from . import gotool
from .config import Config, Include, Settings
from .errors import ConfigError, PlanError, UsageError

CMD_DIR = "cmd"
# Tags gbl always builds with: aws-lambda-go drops its net/rpc (go1.x) code path with this tag.
BASE_TAGS = ("lambda.norpc",)
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

    @property
    def build_key(self) -> tuple:
        """Functions with equal keys can share one ``go build`` invocation."""
        return (self.arch, self.tags, self.ldflags, self.env, self.builder, self.image)


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
            self.config, mine, self.skipped,
        )

    def select(self, names) -> "Plan":
        if not names:
            return self
        wanted = [self.function(n) for n in dict.fromkeys(names)]
        return Plan(
            self.project_dir, self.module_path, self.go_directive, self.toolchain,
            self.config, tuple(wanted), self.skipped,
        )


def plan(
    project_dir: Path,
    *,
    go: gotool.GoTool,
    overrides: Settings | None = None,
    config: Config | None = None,
) -> Plan:
    """Discover the functions of the Go module at ``project_dir``."""
    project_dir = Path(project_dir).resolve()
    if not project_dir.is_dir():
        raise PlanError("no such directory", where=str(project_dir), hint="check the -C argument")
    cfg = config if config is not None else config_mod.load(project_dir)
    if overrides is not None:
        cfg = cfg.with_overrides(overrides)
    info = gotool.module_info(go, project_dir)
    module_root = Path(info.get("Dir") or project_dir).resolve()
    if module_root != project_dir:
        raise PlanError(
            f"this directory is inside the Go module rooted at {module_root}, not its root",
            where=str(project_dir),
            hint=f"run gbl with -C {module_root}",
        )
    cmd_root = project_dir / CMD_DIR
    candidates = _candidate_dirs(cmd_root, project_dir)
    if not candidates:
        return Plan(project_dir, info["Path"], info.get("GoVersion", ""), _toolchain(project_dir),
                    cfg, (), ())

    arches = _arches_in_use(cfg)
    base = {"GOOS": "linux", "CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": _goflags(go)}
    with ThreadPoolExecutor(max_workers=len(arches)) as pool:
        procs = {
            arch: gotool.list_packages(go, project_dir, [f"./{CMD_DIR}/..."], {**base, "GOARCH": arch})
            for arch in arches
        }
        listed = dict(zip(procs, pool.map(lambda p: gotool.collect_list(p, project_dir), procs.values())))
    by_arch = {
        arch: {_rel(project_dir, Path(p["Dir"])): p for p in pkgs if p.get("Dir")}
        for arch, pkgs in listed.items()
    }

    functions: list[Function] = []
    skipped: list[Skipped] = []
    used_keys: set[str] = set()
    for rel_dir, go_files in candidates:
        default_name = PurePosixPath(rel_dir).name
        fc = cfg.function(rel_dir) or cfg.function(default_name)
        settings = (fc.settings if fc else Settings()).over(cfg.defaults)
        pkg = by_arch[settings.arch].get(rel_dir)
        reason = _not_a_function(pkg, go_files, settings.arch)
        if reason:
            skipped.append(Skipped(rel_dir, reason))
            continue
        if fc is not None:
            used_keys.add(fc.key)
        functions.append(_function(pkg, rel_dir, fc.name if fc and fc.name else default_name, settings))

    _find_cgo_functions(go, project_dir, cfg, base, functions, skipped, used_keys)
    _check_unused_tables(cfg, used_keys, functions, skipped)
    _check_clashes(functions, cfg, project_dir)
    functions.sort(key=lambda f: f.name)
    return Plan(
        project_dir=project_dir,
        module_path=info["Path"],
        go_directive=info.get("GoVersion", ""),
        toolchain=_toolchain(project_dir),
        config=cfg,
        functions=tuple(functions),
        skipped=tuple(skipped),
    )


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


def _find_cgo_functions(go, project_dir, cfg, base, functions, skipped, used_keys) -> None:
    """Main packages that exist only with cgo become functions that fail with a clear reason.

    Under CGO_ENABLED=0 Go silently drops files that import "C"; a function made of them would
    otherwise vanish from the plan without a word.
    """
    excluded = [s for s in skipped if "excluded by build constraints" in s.reason]
    if not excluded:
        return
    by_arch: dict[str, list[Skipped]] = {}
    for s in excluded:
        by_arch.setdefault(s.reason.rsplit("/", 1)[1], []).append(s)
    for arch, items in by_arch.items():
        proc = gotool.list_packages(
            go, project_dir, [f"./{s.rel_dir}" for s in items], {**base, "GOARCH": arch, "CGO_ENABLED": "1"}
        )
        for pkg in gotool.collect_list(proc, project_dir):
            if pkg.get("Name") != "main" or not pkg.get("CgoFiles") or not pkg.get("Dir"):
                continue
            rel_dir = _rel(project_dir, Path(pkg["Dir"]))
            default_name = PurePosixPath(rel_dir).name
            fc = cfg.function(rel_dir) or cfg.function(default_name)
            settings = (fc.settings if fc else Settings()).over(cfg.defaults)
            fn = _function(pkg, rel_dir, fc.name if fc and fc.name else default_name, settings)
            functions.append(replace(fn, cgo_files=tuple(pkg["CgoFiles"])))
            skipped[:] = [s for s in skipped if s.rel_dir != rel_dir]
            if fc is not None:
                used_keys.add(fc.key)


def _arches_in_use(cfg: Config) -> list[str]:
    arches = {cfg.defaults.arch}
    arches.update(fc.settings.arch for fc in cfg.functions if fc.settings.arch)
    return sorted(arches)


def _candidate_dirs(cmd_root: Path, project_dir: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every directory under cmd/ as Go would consider it: (rel dir, its .go file names).

    Directories Go ignores (testdata, vendor, names starting with '.' or '_') are pruned, as are
    nested modules (a go.mod below cmd/ starts another module).  Leaf directories with no Go files
    are kept so --verbose can mention them.
    """
    out = []
    if not cmd_root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(cmd_root):
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith((".", "_")) and d not in ("testdata", "vendor")
            and not (Path(dirpath) / d / "go.mod").exists()
        )
        go_files = tuple(sorted(f for f in filenames if f.endswith(".go")))
        if go_files or not dirnames:
            out.append((_rel(project_dir, Path(dirpath)), go_files))
    return out


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
            f"[functions.{fc.key}] names no function under {CMD_DIR}/",
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
                f"two functions are named {fn.name!r}: {other.rel_dir} ({other.package}) "
                f"and {fn.rel_dir} ({fn.package})",
                where=where,
                hint=f'give one a different name in gbl.toml, e.g.\n  [functions."{fn.rel_dir}"]\n'
                f'  name = "{PurePosixPath(fn.rel_dir).parent.name}-{fn.name}"',
            )
        seen[fn.name.lower()] = fn
