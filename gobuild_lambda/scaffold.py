"""gbl init: write gbl.toml, a drop-in Makefile and a CI workflow for a project.

Every file comes from a jinja2 template in ``templates/`` (shipped inside the package as
``gobuild_lambda/templates``); this module only prepares the values they show.  Nothing is written
unless every file can be: an existing file stops the run (naming it and ``--force``) before the
first write, and each file is written atomically (a temporary file in its directory, then
``os.replace``).

* ``gbl.toml`` lists the functions the plan found, one ``[functions.X]`` table each, with every
  setting present: the ones the project already sets are active, all others are commented out and
  show the value in effect, so regenerating it (``--force``) keeps how functions are built.
* ``Makefile``: ``build``, one target per function, ``verify``, ``invoke-<name>`` and ``clean``,
  each a call to gbl, and ``help`` listing them, so ``make build`` keeps working where hand-written rules used to be.
* ``.github/workflows/gbl.yml`` (at the git repository's root, which is where GitHub reads it;
  a project in a subdirectory gets its own ``gbl-<path>.yml`` with ``paths`` filters, so every
  project of a monorepo can be initialised):
  Go and Python set up, the Go build and module caches and ``.gbl/`` cached, ``gbl build``,
  ``gbl verify``, ``gbl migrate --check`` when the project has SAM / CloudFormation templates, and
  ``dist/`` uploaded as an artifact.  When every function is arm64 it runs on an arm64 runner.
  Past ``SHARD_ABOVE`` functions the build is a ``--shard K/N`` matrix and a merge job
  (``gbl manifest merge``, then ``gbl verify``); docs/ci.md says why.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .config import BUILT_IN, CONFIG_FILE, DEFAULT_PACKAGES, DeployConfig, DockerConfig, InvokeConfig, Settings
from .fsutil import write_atomic
from .errors import OutputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Plan

MAKEFILE = "Makefile"
WORKFLOW = Path(".github") / "workflows" / "gbl.yml"
DIST_PACKAGE = "gobuild-lambda"  # what CI installs
PYTHON_VERSION = "3.12"  # what CI installs gbl with
ARM64_RUNNER = "ubuntu-24.04-arm"
AMD64_RUNNER = "ubuntu-latest"
# Past SHARD_ABOVE functions the workflow splits the build over a matrix of shard jobs, about
# FUNCTIONS_PER_SHARD functions each, at most MAX_SHARDS (docs/ci.md says why these numbers).
SHARD_ABOVE = 100
FUNCTIONS_PER_SHARD = 100
MAX_SHARDS = 8
_FIXED_TARGETS = ("all", "build", "verify", "clean", "help")

# What each setting means, as gbl.toml shows it (config.py validates them).
_SETTING_HELP = {
    "arch": "amd64 or arm64 (Graviton); Lambda's x86_64 means amd64",
    "runtime": "provided.al2023, or provided.al2",
    "tags": "extra build tags (lambda.norpc is always added)",
    "ldflags": 'added after "-s -w", e.g. "-X main.version=1.2.3"',
    "env": 'extra build environment, e.g. { GOAMD64 = "v3" }',
    "include": 'extra files for the zip, e.g. ["config/*.json"] or [{ path = "bin/tool", executable = true }]',
    "builder": 'local (the go on PATH), or docker (a pinned golang image)',
    "image": 'the image for builder = "docker"; "" = golang:<go.mod go version>',
    "memory": "MB that gbl invoke gives the function (128 to 10240)",
    "timeout": "seconds gbl invoke lets the function run (1 to 900)",
}
_DOCKER_HELP = {
    "network": 'a network mode for build containers, e.g. "none" once modules are cached',
    "netrc": "mount ~/.netrc read-only (private modules over HTTPS)",
    "ssh_agent": "forward the SSH agent (private modules over SSH)",
    "cache_dir": "host dir for the containers' Go caches (default ~/.cache/gbl/docker)",
    "idle_timeout": "seconds the warm build container stays after its last build (default 900)",
}
_DOCKER_EXAMPLES = {"network": "none", "netrc": False, "ssh_agent": False, "cache_dir": "~/.cache/gbl/docker",
                    "idle_timeout": 900}
_INVOKE_HELP = {
    "emulator": "the path of aws-lambda-rie (default: found on PATH)",
    "qemu_aarch64": "the path of qemu-aarch64-static, to invoke arm64 zips on x86_64",
    "qemu_x86_64": "the path of qemu-x86_64-static, to invoke amd64 zips on arm64",
}
_DEPLOY_HELP = {
    "prefix": 'Lambda name = prefix + function name, e.g. "prod-"',
    "s3_bucket": "a bucket in the functions' region, for zips over 50 MB",
    "s3_prefix": "a key prefix inside s3_bucket",
}
_DEPLOY_EXAMPLES = {"prefix": "prod-", "s3_bucket": "my-artifacts", "s3_prefix": "lambda/"}
_INVOKE_EXAMPLES = {
    "emulator": "/usr/local/bin/aws-lambda-rie",
    "qemu_aarch64": "/usr/bin/qemu-aarch64-static",
    "qemu_x86_64": "/usr/bin/qemu-x86_64-static",
}


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    what: str  # one line: what the file is for
    replaced: bool  # an existing file was overwritten (--force)
    kept_as: Path | None = None  # where a copy of the file it replaced is kept (.bak, .bak.1, ...)
    invalid: bool = False  # the replaced file was an invalid gbl.toml (kept unread)

    def __str__(self) -> str:
        text = f"{'replaced' if self.replaced else 'wrote'} {self.path}: {self.what}"
        if self.kept_as is not None:
            which = "the invalid one" if self.invalid else "the old one"
            text += f" ({which} it replaced is kept as {self.kept_as})"
        return text


@dataclass(frozen=True)
class _Rendered:
    path: Path
    text: str
    what: str


def init_project(plan: "Plan", *, force: bool = False, keep_config: bool = False) -> tuple[WrittenFile, ...]:
    """Write gbl.toml, Makefile and the CI workflow for ``plan``'s project.

    Raises :class:`UsageError` (before writing anything) when one of them exists and ``force`` is
    false; :class:`OutputError` when a file cannot be written.  With ``force`` every file that is
    replaced (a hand-written Makefile, a workflow, a gbl.toml with its comments) is first copied to
    ``<name>.bak`` (or ``<name>.bak.N``, never overwriting an older backup), so nothing the user
    wrote is lost; a file whose content would not change is left alone.  ``keep_config`` says the
    existing gbl.toml could not be used to plan (it is kept the same way, marked invalid).
    """
    files = render_files(plan)
    existing = [f.path for f in files if f.path.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise UsageError(
            f"{'it' if len(existing) == 1 else 'they'} already exist{'s' if len(existing) == 1 else ''}: "
            f"{names}; gbl init never overwrites a file",
            where=str(plan.project_dir),
            hint=f"move {'it' if len(existing) == 1 else 'them'} aside, or run `gbl init --force` to replace "
            f"{'it' if len(existing) == 1 else 'them'} (a new gbl.toml keeps the settings gbl.toml has now)",
        )
    for p in existing:
        if p.is_symlink() or not p.is_file():
            raise OutputError(
                f"gbl init replaces only regular files; this is {'a symbolic link' if p.is_symlink() else 'not a file'}",
                where=str(p), hint="move it aside by hand, then run `gbl init --force` again",
            )
    written = []
    for f in files:
        replaced = f.path.exists()
        kept_as = None
        if replaced and _same(f.path, f.text):
            written.append(WrittenFile(f.path, f.what, replaced))
            continue
        if replaced:
            kept_as = _back_up(f.path)
        _write_atomic(f.path, f.text)
        invalid = keep_config and f.path.name == CONFIG_FILE and kept_as is not None
        written.append(WrittenFile(f.path, f.what, replaced, kept_as, invalid))
    return tuple(written)


def _same(path: Path, text: str) -> bool:
    try:
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def _back_up(path: Path) -> Path:
    """Copy ``path`` (bytes and mode) to the first free ``<name>.bak``, ``<name>.bak.1``, ...;
    return that.  The copy is created exclusively, so an existing backup is never overwritten."""
    import shutil

    for n in range(1000):
        target = path.with_name(f"{path.name}.bak" + (f".{n}" if n else ""))
        try:
            with open(path, "rb") as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst)
            shutil.copymode(path, target)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot keep a copy of it as {target.name}: {exc.strerror or exc}",
                              where=str(path), hint="make the directory writable, or move the file aside by hand") from exc
        return target
    raise OutputError(f"too many {path.name}.bak* files", where=str(path.parent),
                      hint="remove old backups")


def render_files(plan: "Plan") -> tuple[_Rendered, ...]:
    """What init would write, without writing it."""
    env = _environment()
    project = Path(plan.project_dir)
    count = f"{len(plan.functions)} function{'s' if len(plan.functions) != 1 else ''}"
    toml = env.get_template("gbl.toml.j2").render(**_toml_context(plan))
    make_context = _make_context(plan)
    make = env.get_template("Makefile.j2").render(**make_context)
    repo = _repo_root(project)
    workflow_path = workflow_file(project, repo)
    workflow = env.get_template("gbl.yml.j2").render(**_workflow_context(plan, repo, workflow_path))
    targets = ", ".join(
        ["build"] + [t["target"] for t in make_context["functions"]] + ["verify", "invoke-<name>", "clean", "help"]
    )
    return (
        _Rendered(project / CONFIG_FILE, toml, f"gbl settings for {count}, every setting shown"),
        _Rendered(project / MAKEFILE, make, f"make targets calling gbl: {targets}"),
        _Rendered(repo / workflow_path, workflow, "GitHub Actions: gbl build, gbl verify, dist/ uploaded as an artifact"),
    )


# ------------------------------------------------------------------------------------ jinja2
def templates_dir():
    """The templates, from the installed package or else the source checkout."""
    from importlib.resources import files

    try:
        packaged = files("gobuild_lambda") / "templates"
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, OSError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parent.parent / "templates"


def _environment():
    import jinja2

    base = templates_dir()

    def load(name: str) -> str:
        return (base / name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # GitHub Actions expressions use jinja's own braces: the workflow writes them with gh("...").
    env.globals["gh"] = lambda expr: "${{ " + expr + " }}"
    # A Makefile recipe line `@echo '<text>'`: make's $ doubled, the shell's ' closed and escaped.
    env.filters["make_echo"] = lambda text: "@echo '" + str(text).replace("$", "$$").replace("'", "'\\''") + "'"
    return env


# ---------------------------------------------------------------------------------- gbl.toml
def _toml_context(plan: "Plan") -> dict[str, Any]:
    cfg = plan.config
    defaults = cfg.defaults  # already layered over the built-ins
    default_lines = [
        _setting(name, getattr(defaults, name), active=getattr(defaults, name) != getattr(BUILT_IN, name))
        for name in _SETTING_HELP
    ]
    def dir_name(rel_dir: str) -> str:  # "." (a main package at the project root): the project's name
        return PurePosixPath(rel_dir).name or Path(plan.project_dir).resolve().name

    basenames = [dir_name(f.rel_dir) for f in plan.functions]
    functions = []
    for fn in sorted(plan.functions, key=lambda f: f.rel_dir):
        default_name = dir_name(fn.rel_dir)
        fc = cfg.function(fn.rel_dir) or cfg.function(default_name)
        own = fc.settings if fc is not None else Settings()
        key = fc.key if fc is not None else (default_name if basenames.count(default_name) == 1 else fn.rel_dir)
        lines = [_setting("name", fn.name, active=bool(fc is not None and fc.name), help_text="")]
        function_name = fc.function_name if fc is not None else None
        lines.append(_setting("function_name", function_name or f"{cfg.deploy.prefix}{fn.name}",
                              active=bool(function_name), help_text="the Lambda function gbl deploy updates"))
        for name in _SETTING_HELP:
            value = getattr(own, name)
            # arch / runtime in effect may come from a deployment file (a template's Architectures)
            effective = value if value is not None else (
                getattr(fn, name) if name in ("arch", "runtime") else getattr(defaults, name))
            lines.append(_setting(name, effective, active=value is not None, help_text=""))
        functions.append({"key": _toml_key(key), "rel_dir": fn.rel_dir, "name": fn.name, "settings": lines})
    docker = _table_lines(cfg.docker, DockerConfig(), _DOCKER_HELP, _DOCKER_EXAMPLES)
    invoke = _table_lines(cfg.invoke, InvokeConfig(), _INVOKE_HELP, _INVOKE_EXAMPLES)
    deploy = _table_lines(cfg.deploy, DeployConfig(), _DEPLOY_HELP, _DEPLOY_EXAMPLES)
    shape, discover = _discover_context(plan)
    return {
        "module": plan.module_path,
        "what": f"{plan.module_path}'s ./cmd/* packages" if not shape else "this project's Go functions",
        "shape": shape,
        "discover": discover,
        "discover_active": any(d["active"] for d in discover),
        "defaults": default_lines,
        "functions": functions,
        "docker": docker,
        "docker_active": any(s["active"] for s in docker),
        "invoke": invoke,
        "invoke_active": any(s["active"] for s in invoke),
        "deploy": deploy,
        "deploy_active": any(s["active"] for s in deploy),
    }


_DISCOVER_HELP = {
    "templates": "SAM / CloudFormation templates declaring functions (default: template.yaml|yml|json)",
    "packages": "`go list` patterns, relative to each module",
    "exclude": "patterns left out",
    "modules": "more module directories (globs), e.g. [\"functions/*\"]",
}


def _discover_context(plan: "Plan") -> tuple[list[str], list[dict]]:
    """The project's shape as gbl found it (comment lines; none for a plain module with its
    functions under cmd/), and the [discover] lines that keep finding them: the ones gbl.toml
    sets, and the templates the functions were declared by."""
    project = Path(plan.project_dir)
    cfg = plan.config.discover
    from_templates = sorted({fn.template.rpartition(":")[0] for fn in plan.functions if fn.template})
    shape = []
    if (project / "go.work").is_file() and any(fn.gowork for fn in plan.functions):
        shape.append("a go.work workspace: gbl plans every module it uses and builds with it")
    if not (project / "go.mod").is_file() and not (project / "go.work").is_file():
        shape.append("no go.mod at the project root: each function's module is the nearest go.mod above it")
    modules = [d for d, _ in plan.modules]
    if len(modules) > 1:
        shape.append(f"{len(modules)} modules, each built in its own directory: {', '.join(modules)}")
    declared = [fn for fn in plan.functions if fn.template]
    if declared:
        shape.append(f"{len(declared)} function(s) declared by {', '.join(from_templates)}: "
                     + ", ".join(f"{fn.name} ({fn.rel_dir})" for fn in sorted(declared, key=lambda f: f.name)))
    if cfg.packages != DEFAULT_PACKAGES or cfg.exclude or cfg.modules:
        shape.append("packages found by the [discover] patterns below")
    templates = cfg.templates if cfg.templates is not None else tuple(from_templates)
    values = {
        "templates": (templates, cfg.templates is not None or bool(from_templates)),
        "packages": (cfg.packages, cfg.packages != DEFAULT_PACKAGES),
        "exclude": (cfg.exclude, bool(cfg.exclude)),
        "modules": (cfg.modules, bool(cfg.modules)),
    }
    lines = [_setting(name, list(value) if value else [], active=active, help_text=_DISCOVER_HELP[name])
             for name, (value, active) in values.items()]
    return shape, lines


def _table_lines(current, empty, helps: dict, examples: dict) -> list[dict]:
    out = []
    for name, help_text in helps.items():
        value = getattr(current, name)
        active = value != getattr(empty, name)
        out.append(_setting(name, value if active else examples[name], active=active, help_text=help_text))
    return out


def _setting(name: str, value: Any, *, active: bool, help_text: str | None = None) -> dict:
    assign = f"{name} = {_toml_value(name, value)}"
    help_text = _SETTING_HELP.get(name, "") if help_text is None else help_text
    line = assign if active else f"# {assign}"
    if help_text:
        line = f"{line:<34}# {help_text}" if len(line) < 34 else f"{line}  # {help_text}"
    return {"name": name, "active": active, "line": line}


def _toml_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if name == "env":
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_string(v)}" for k, v in value) + " }"
    if name == "include":
        items = []
        for inc in value:
            if inc.executable:
                items.append(f"{{ path = {_toml_string(inc.pattern)}, executable = true }}")
            else:
                items.append(_toml_string(inc.pattern))
        return "[" + ", ".join(items) + "]"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_string(str(v)) for v in value) + "]"
    raise TypeError(f"no TOML form for {name} = {value!r}")  # pragma: no cover


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string (same escapes), once non-ASCII is left as it is.
    return json.dumps(value, ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


# ---------------------------------------------------------------------------------- Makefile
def _make_context(plan: "Plan") -> dict[str, Any]:
    names = sorted(f.name for f in plan.functions)
    taken = set(_FIXED_TARGETS) | {f"invoke-{n}" for n in names}
    functions = []
    for fn in sorted(plan.functions, key=lambda f: f.name):
        target = fn.name if fn.name not in taken else f"build-{fn.name}"
        functions.append({"name": fn.name, "target": target, "rel_dir": fn.rel_dir, "arch": fn.arch})
    return {"functions": functions, "module": plan.module_path}


# ---------------------------------------------------------------------------------- workflow
def _repo_root(project: Path) -> Path:
    """The git work tree holding the project (GitHub reads workflows only there)."""
    for d in (project, *project.parents):
        if (d / ".git").exists():
            return d
    return project


def workflow_file(project: Path, repo: Path) -> Path:
    """The workflow's path in the repository: ``.github/workflows/gbl.yml`` for a project at the
    repository's root; one workflow per project below it (a monorepo's services/orders and
    services/billing each run ``gbl init``), named after its path: ``gbl-services-orders.yml``."""
    if Path(project) == Path(repo):
        return WORKFLOW
    rel = Path(os.path.relpath(project, repo)).as_posix()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", rel).strip("-.") or "project"
    return WORKFLOW.with_name(f"gbl-{slug}.yml")


def _workflow_context(plan: "Plan", repo: Path, workflow_path: Path = WORKFLOW) -> dict[str, Any]:
    from . import __version__
    from .migrate import find_templates

    project = Path(plan.project_dir)
    rel = Path(os.path.relpath(project, repo)).as_posix() if repo != project else "."
    prefix = "" if rel == "." else f"{rel}/"
    arches = sorted({f.arch for f in plan.functions}) or [plan.config.defaults.arch]
    templates = []
    for t in find_templates(project):
        try:
            text = t.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "AWS::Serverless::Function" in text or "AWS::Lambda::Function" in text:
            templates.append(t.relative_to(project).as_posix())
    # Go's version: the project's go.mod, else its go.work, else its first module's go.mod (the
    # `sam init` layout has no go.mod at the root); the cache key: every go.sum when there are
    # several modules
    go_file, go_sum = "go.mod", "go.sum"
    if not (project / "go.mod").is_file():
        if (project / "go.work").is_file():
            go_file = "go.work"
        elif plan.modules:
            go_file = f"{plan.modules[0][0]}/go.mod" if plan.modules[0][0] != "." else "go.mod"
        if (project / "go.work").is_file() or plan.modules:
            go_sum = "**/go.sum"
    return {
        "working_directory": "" if rel == "." else rel,
        "prefix": prefix,
        "go_version_file": prefix + go_file,
        "go_sum": prefix + go_sum,
        "runner": ARM64_RUNNER if arches == ["arm64"] else AMD64_RUNNER,
        "arches": arches,
        "functions": [{"name": f.name, "arch": f.arch} for f in sorted(plan.functions, key=lambda f: f.name)],
        "python_version": PYTHON_VERSION,
        "pip_requirement": f"{DIST_PACKAGE}=={__version__}",
        "templates": templates,
        "shards": workflow_shards(len(plan.functions)),
        # A project below the repository's root: its own workflow, run when its files (or the
        # workflow itself) change, so sibling projects' workflows do not all run on every push.
        "paths": [f"{rel}/**", workflow_path.as_posix()] if rel != "." else [],
        "title": "gbl" if rel == "." else f"gbl ({rel})",
        "artifact": "lambda-zips" if rel == "." else f"lambda-zips-{workflow_path.stem[len('gbl-'):]}",
    }


def workflow_shards(count: int) -> int:
    """How many shard jobs the workflow splits ``count`` functions over (1: no matrix)."""
    if count <= SHARD_ABOVE:
        return 1
    return min(MAX_SHARDS, -(-count // FUNCTIONS_PER_SHARD))


# --------------------------------------------------------------------------------- writing
def _write_atomic(path: Path, text: str) -> None:
    write_atomic(Path(path), text.encode("utf-8"), keep_mode=True)
