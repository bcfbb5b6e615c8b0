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
  each a call to gbl, so ``make build`` keeps working where hand-written rules used to be.
* ``.github/workflows/gbl.yml`` (at the git repository's root, which is where GitHub reads it):
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

from .config import BUILT_IN, CONFIG_FILE, DeployConfig, DockerConfig, InvokeConfig, Settings
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
_FIXED_TARGETS = ("all", "build", "verify", "clean")

# What each setting means, as gbl.toml shows it (config.py validates them).
_SETTING_HELP = {
    "arch": "amd64 (x86_64) or arm64 (Graviton)",
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
    workflow = env.get_template("gbl.yml.j2").render(**_workflow_context(plan, repo))
    targets = ", ".join(
        ["build"] + [t["target"] for t in make_context["functions"]] + ["verify", "invoke-<name>", "clean"]
    )
    return (
        _Rendered(project / CONFIG_FILE, toml, f"gbl settings for {count}, every setting shown"),
        _Rendered(project / MAKEFILE, make, f"make targets calling gbl: {targets}"),
        _Rendered(repo / WORKFLOW, workflow, "GitHub Actions: gbl build, gbl verify, dist/ uploaded as an artifact"),
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
    return env


# ---------------------------------------------------------------------------------- gbl.toml
def _toml_context(plan: "Plan") -> dict[str, Any]:
    cfg = plan.config
    defaults = cfg.defaults  # already layered over the built-ins
    default_lines = [
        _setting(name, getattr(defaults, name), active=getattr(defaults, name) != getattr(BUILT_IN, name))
        for name in _SETTING_HELP
    ]
    basenames = [PurePosixPath(f.rel_dir).name for f in plan.functions]
    functions = []
    for fn in sorted(plan.functions, key=lambda f: f.rel_dir):
        default_name = PurePosixPath(fn.rel_dir).name
        fc = cfg.function(fn.rel_dir) or cfg.function(default_name)
        own = fc.settings if fc is not None else Settings()
        key = fc.key if fc is not None else (default_name if basenames.count(default_name) == 1 else fn.rel_dir)
        lines = [_setting("name", fn.name, active=bool(fc is not None and fc.name), help_text="")]
        function_name = fc.function_name if fc is not None else None
        lines.append(_setting("function_name", function_name or f"{cfg.deploy.prefix}{fn.name}",
                              active=bool(function_name), help_text="the Lambda function gbl deploy updates"))
        for name in _SETTING_HELP:
            value = getattr(own, name)
            effective = value if value is not None else getattr(defaults, name)
            lines.append(_setting(name, effective, active=value is not None, help_text=""))
        functions.append({"key": _toml_key(key), "rel_dir": fn.rel_dir, "name": fn.name, "settings": lines})
    docker = _table_lines(cfg.docker, DockerConfig(), _DOCKER_HELP, _DOCKER_EXAMPLES)
    invoke = _table_lines(cfg.invoke, InvokeConfig(), _INVOKE_HELP, _INVOKE_EXAMPLES)
    deploy = _table_lines(cfg.deploy, DeployConfig(), _DEPLOY_HELP, _DEPLOY_EXAMPLES)
    return {
        "module": plan.module_path,
        "defaults": default_lines,
        "functions": functions,
        "docker": docker,
        "docker_active": any(s["active"] for s in docker),
        "invoke": invoke,
        "invoke_active": any(s["active"] for s in invoke),
        "deploy": deploy,
        "deploy_active": any(s["active"] for s in deploy),
    }


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


def _workflow_context(plan: "Plan", repo: Path) -> dict[str, Any]:
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
    return {
        "working_directory": "" if rel == "." else rel,
        "prefix": prefix,
        "runner": ARM64_RUNNER if arches == ["arm64"] else AMD64_RUNNER,
        "arches": arches,
        "functions": [{"name": f.name, "arch": f.arch} for f in sorted(plan.functions, key=lambda f: f.name)],
        "python_version": PYTHON_VERSION,
        "pip_requirement": f"{DIST_PACKAGE}=={__version__}",
        "templates": templates,
        "shards": workflow_shards(len(plan.functions)),
    }


def workflow_shards(count: int) -> int:
    """How many shard jobs the workflow splits ``count`` functions over (1: no matrix)."""
    if count <= SHARD_ABOVE:
        return 1
    return min(MAX_SHARDS, -(-count // FUNCTIONS_PER_SHARD))


# --------------------------------------------------------------------------------- writing
def _write_atomic(path: Path, text: str) -> None:
    write_atomic(Path(path), text.encode("utf-8"), keep_mode=True)
