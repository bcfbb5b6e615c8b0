"""gbl.toml: reading and validating it into frozen dataclasses.

Every error names the file, the key (or the line for a syntax error) and what is allowed.  This
module knows nothing about Go: matching ``[functions.X]`` tables to real packages is plan.py's job.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import ConfigError
# Lambda's architectures (as GOARCH values), the OS-only runtimes, the memory / timeout ranges.
from .lambda_facts import (  # noqa: F401 - config.ARCHES etc. stay importable
    ARCH_ALIASES, ARCH_SPELLINGS, ARCHES, DEFAULT_ARCH, DEFAULT_RUNTIME, MEMORY_MB, NORPC_TAG, RUNTIMES,
    TIMEOUT_S,
)

CONFIG_FILE = "gbl.toml"
BUILDERS = ("local", "docker")
DEFAULT_BUILDER = "local"
# The `go list` patterns planned when gbl.toml has no `[discover] packages`.
DEFAULT_PACKAGES = ("./cmd/...",)


@dataclass(frozen=True)
class Include:
    """An extra file (or glob, relative to the module root) to put in the zip beside bootstrap."""

    pattern: str
    executable: bool = False


@dataclass(frozen=True)
class Settings:
    """Build settings for one function; ``None`` means "not set here" until merged."""

    arch: str | None = None
    runtime: str | None = None
    tags: tuple[str, ...] | None = None
    ldflags: str | None = None
    env: tuple[tuple[str, str], ...] | None = None
    include: tuple[Include, ...] | None = None
    builder: str | None = None
    image: str | None = None
    memory: int | None = None
    timeout: int | None = None

    def over(self, base: "Settings") -> "Settings":
        """These settings layered over ``base`` (ours win where set)."""
        values = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(base, name)
            for name in self.__dataclass_fields__
        }
        return Settings(**values)


BUILT_IN = Settings(
    arch=DEFAULT_ARCH,
    runtime=DEFAULT_RUNTIME,
    tags=(),
    ldflags="",
    env=(),
    include=(),
    builder=DEFAULT_BUILDER,
    image="",
    memory=128,
    timeout=3,
)


@dataclass(frozen=True)
class FunctionConfig:
    key: str  # the table name: a default function name, or a package dir like "cmd/a/worker"
    name: str | None
    settings: Settings
    function_name: str | None = None  # gbl deploy: the Lambda function's name (no prefix added)


@dataclass(frozen=True)
class DockerConfig:
    network: str | None = None  # e.g. "none" once the module cache is filled
    netrc: bool = False  # mount ~/.netrc read-only
    ssh_agent: bool = False  # forward SSH_AUTH_SOCK
    cache_dir: str | None = None  # host dir for GOMODCACHE/GOCACHE; default ~/.cache/gbl/docker
    idle_timeout: int | None = None  # seconds the warm build container outlives its last build


@dataclass(frozen=True)
class InvokeConfig:
    emulator: str | None = None  # path to aws-lambda-rie
    qemu_aarch64: str | None = None
    qemu_x86_64: str | None = None


@dataclass(frozen=True)
class DiscoverConfig:
    """``[discover]``: where gbl looks for functions (see planner.py and README)."""

    templates: tuple[str, ...] | None = None  # None: template.yaml|yml|json in the project dir
    packages: tuple[str, ...] = DEFAULT_PACKAGES  # `go list` patterns, relative to each module
    exclude: tuple[str, ...] = ()  # patterns removed from `packages`' matches
    modules: tuple[str, ...] = ()  # more module directories (globs) relative to the project


@dataclass(frozen=True)
class DeployConfig:
    """[deploy]: how gbl diff / deploy name functions and where large zips go."""

    prefix: str = ""  # Lambda name = prefix + gbl's name, e.g. "prod-"
    s3_bucket: str | None = None  # zips over the direct-upload limit go through this bucket
    s3_prefix: str = ""  # key prefix in s3_bucket, e.g. "lambda/"


@dataclass(frozen=True)
class Config:
    path: Path | None  # None when the project has no gbl.toml
    defaults: Settings = BUILT_IN
    functions: tuple[FunctionConfig, ...] = ()
    docker: DockerConfig = field(default_factory=DockerConfig)
    invoke: InvokeConfig = field(default_factory=InvokeConfig)
    discover: DiscoverConfig = field(default_factory=DiscoverConfig)
    # [defaults] as written (unset keys None): a template's Architectures / Runtime yield only to
    # what gbl.toml or a flag really sets, never to the built-in defaults.
    file_defaults: Settings = field(default_factory=Settings)
    deploy: DeployConfig = field(default_factory=DeployConfig)

    def function(self, key: str) -> FunctionConfig | None:
        for fc in self.functions:
            if fc.key == key:
                return fc
        return None

    def with_overrides(self, overrides: Settings) -> "Config":
        """CLI flags (e.g. --arch) win over the file, for every function."""
        return replace(
            self,
            defaults=overrides.over(self.defaults),
            file_defaults=overrides.over(self.file_defaults),
            functions=tuple(
                replace(fc, settings=overrides.over(fc.settings)) for fc in self.functions
            ),
        )


_SETTING_KEYS = {
    "arch": ARCH_SPELLINGS,
    "runtime": f"one of {', '.join(RUNTIMES)}",
    "tags": f'a list of build tags, e.g. ["prod"] ({NORPC_TAG} is always added)',
    "ldflags": 'a string added after "-s -w", e.g. "-X main.version=1.2.3"',
    "env": 'a table of extra build environment, e.g. { GOAMD64 = "v3" }',
    "include": 'a list of globs relative to the module root, or tables { path = "...", executable = true }',
    "builder": f"one of {', '.join(BUILDERS)}",
    "image": 'a Docker image for builder = "docker", e.g. "golang:1.23"',
    "memory": f"the memory size in MB gbl invoke reports to the function ({MEMORY_MB[0]} to {MEMORY_MB[1]})",
    "timeout": f"the timeout in seconds for gbl invoke ({TIMEOUT_S[0]} to {TIMEOUT_S[1]})",
}
_FUNCTION_KEYS = {
    "name": "the function's name (the zip is <name>.zip)",
    "function_name": "the deployed Lambda function's name or ARN for gbl deploy ([deploy] prefix is not added)",
    **_SETTING_KEYS,
}
_DOCKER_KEYS = {
    "network": 'a Docker network mode for build containers, e.g. "none"',
    "netrc": "true to mount ~/.netrc read-only into build containers",
    "ssh_agent": "true to forward the SSH agent socket into build containers",
    "cache_dir": "a host directory for the containers' Go module and build caches",
    "idle_timeout": "seconds the warm build container stays after its last build (10 to 86400, default 900)",
}
_INVOKE_KEYS = {
    "emulator": "the path of aws-lambda-rie",
    "qemu_aarch64": "the path of qemu-aarch64-static",
    "qemu_x86_64": "the path of qemu-x86_64-static",
}
_DISCOVER_KEYS = {
    "templates": 'a list of SAM / CloudFormation template files relative to the project, e.g. ["template.yaml"]',
    "packages": 'a list of `go list` patterns relative to each module, e.g. ["./functions/...", "."]',
    "exclude": 'a list of `go list` patterns to leave out, e.g. ["./cmd/tools/..."]',
    "modules": 'a list of module directories (globs) relative to the project, e.g. ["functions/*"]',
}
_DEPLOY_KEYS = {
    "prefix": 'a prefix for every Lambda function name, e.g. "prod-" (letters, digits, "-", "_")',
    "s3_bucket": "an S3 bucket (in the functions' region) for zips over the direct-upload limit",
    "s3_prefix": 'a key prefix inside s3_bucket, e.g. "lambda/"',
}
_TOP_KEYS = ("defaults", "functions", "docker", "invoke", "discover", "deploy")
# Build environment gbl decides itself; a user setting it in `env` would break the contract.
_RESERVED_ENV = ("GOOS", "GOARCH", "CGO_ENABLED")


def load(project_dir: Path) -> Config:
    """Read ``gbl.toml`` in ``project_dir``; a project without one gets the defaults."""
    path = Path(project_dir) / CONFIG_FILE
    if not path.is_file():
        return Config(path=None)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read it: {exc}", where=str(path)) from exc
    return parse(raw, path)


def parse(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"TOML syntax error: {exc}",
            where=str(path),
            hint="fix the syntax at that line (https://toml.io); run `gbl plan` to check",
        ) from exc
    return _from_dict(data, path)


def _from_dict(data: Mapping[str, Any], path: Path) -> Config:
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(path, key, _TOP_KEYS)
    defaults = _settings(_table(data, "defaults", path), "defaults", path, allow_name=False)
    functions_raw = _table(data, "functions", path)
    functions = []
    for key, table in functions_raw.items():
        where = f"functions.{_quote(key)}"
        if not isinstance(table, dict):
            raise _wrong_type(path, where, "a table of settings", table)
        name = table.get("name")
        if name is not None and (not isinstance(name, str) or not _valid_name(name)):
            raise ConfigError(
                f"`{where}.name` must be a non-empty string of letters, digits, '.', '-' or '_', got {name!r}",
                where=str(path),
            )
        settings = _settings(table, where, path, allow_name=True)
        function_name = table.get("function_name")
        if function_name is not None and not _valid_lambda_name(function_name):
            raise ConfigError(
                f"`{where}.function_name` must be a Lambda function name (1-64 letters, digits, "
                f"'-' or '_') or a function ARN, got {function_name!r}",
                where=str(path),
            )
        functions.append(FunctionConfig(key=key, name=name, settings=settings, function_name=function_name))
    docker = _simple(
        _table(data, "docker", path), "docker", path, _DOCKER_KEYS,
        {"network": str, "netrc": bool, "ssh_agent": bool, "cache_dir": str, "idle_timeout": int},
    )
    idle = docker.get("idle_timeout")
    if idle is not None and (isinstance(idle, bool) or not 10 <= idle <= 86400):
        raise ConfigError(
            f"`docker.idle_timeout` must be {_DOCKER_KEYS['idle_timeout']}, got {idle!r}",
            where=str(path), hint="e.g. `idle_timeout = 900` (15 minutes)",
        )
    invoke = _simple(
        _table(data, "invoke", path), "invoke", path, _INVOKE_KEYS,
        {"emulator": str, "qemu_aarch64": str, "qemu_x86_64": str},
    )
    deploy = _deploy(_table(data, "deploy", path), path)
    return Config(
        path=path,
        deploy=deploy,
        defaults=defaults.over(BUILT_IN),
        functions=tuple(functions),
        docker=DockerConfig(**docker),
        invoke=InvokeConfig(**invoke),
        discover=_discover(_table(data, "discover", path), path),
        file_defaults=defaults,
    )


def _discover(table: dict, path: Path) -> DiscoverConfig:
    values: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        full = f"discover.{key}"
        if key not in _DISCOVER_KEYS:
            raise _unknown(path, full, _DISCOVER_KEYS, prefix="discover")
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _wrong_type(path, full, _DISCOVER_KEYS[key], value)
        for item in value:
            if not _relative_inside(item):
                raise ConfigError(
                    f"`{full}` entry {item!r} must be a relative path inside the project",
                    where=str(path),
                    hint=f"{_DISCOVER_KEYS[key]}",
                )
            if key in ("packages", "exclude") and not (item == "." or item.startswith("./")):
                raise ConfigError(
                    f"`{full}` entry {item!r} is not a relative `go list` pattern",
                    where=str(path),
                    hint=f'write it as "./{item}" (or "." for the module root directory)',
                )
        if key == "packages" and not value:
            raise ConfigError(
                "`discover.packages` is empty, so no function would ever be found",
                where=str(path), hint='remove the key to use the default ["./cmd/..."], or list patterns',
            )
        values[key] = tuple(value)
    return DiscoverConfig(**values)


def _relative_inside(item: str) -> bool:
    parts = item.replace("\\", "/").split("/")
    return not item.startswith(("/", "\\")) and ":" not in item and ".." not in parts


def _deploy(table: dict, path: Path) -> DeployConfig:
    values = _simple(table, "deploy", path, _DEPLOY_KEYS, {"prefix": str, "s3_bucket": str, "s3_prefix": str})
    prefix = values.get("prefix", "")
    if prefix and not _valid_lambda_name(prefix):
        raise ConfigError(f"`deploy.prefix` must be {_DEPLOY_KEYS['prefix']}, got {prefix!r}", where=str(path))
    bucket = values.get("s3_bucket")
    if bucket is not None and (not bucket or "/" in bucket or bucket.startswith("s3:")):
        raise ConfigError(
            f"`deploy.s3_bucket` must be a bucket name (no s3://, no '/'), got {bucket!r}",
            where=str(path), hint='put a key prefix in `deploy.s3_prefix`, e.g. "lambda/"',
        )
    if values.get("s3_prefix", "").startswith("/"):
        raise ConfigError(f"`deploy.s3_prefix` must not start with '/', got {values['s3_prefix']!r}",
                          where=str(path))
    return DeployConfig(**values)


def _valid_lambda_name(name) -> bool:
    if not isinstance(name, str) or not name:
        return False
    if name.startswith("arn:"):  # arn:aws:lambda:REGION:ACCOUNT:function:NAME
        parts = name.split(":")
        return len(parts) == 7 and parts[2] == "lambda" and parts[5] == "function" and _valid_lambda_name(parts[6])
    return len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)


def _valid_name(name: str) -> bool:
    # Lambda function names allow letters, digits, '-' and '_'; Go dirs may add '.'.
    return bool(name) and all(c.isalnum() or c in "._-" for c in name) and name not in (".", "..")


def _quote(key: str) -> str:
    return key if all(c.isalnum() or c in "_-" for c in key) else f'"{key}"'


def _table(data: Mapping[str, Any], key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _wrong_type(path, key, "a table", value)
    return value


def _simple(table: dict, where: str, path: Path, allowed: dict, types: dict) -> dict:
    out = {}
    for key, value in table.items():
        if key not in allowed:
            raise _unknown(path, f"{where}.{key}", allowed, prefix=where)
        if not isinstance(value, types[key]):
            raise _wrong_type(path, f"{where}.{key}", allowed[key], value)
        out[key] = value
    return out


def _settings(table: dict, where: str, path: Path, *, allow_name: bool) -> Settings:
    allowed = _FUNCTION_KEYS if allow_name else _SETTING_KEYS
    values: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{where}.{key}"
        if key not in allowed:
            raise _unknown(path, full, allowed, prefix=where)
        if key in ("name", "function_name"):
            continue
        if key in ("arch", "runtime", "builder"):
            # arch: Go's spelling or Lambda's (x86_64), as --arch takes it; kept as GOARCH
            choices = {"arch": ARCH_ALIASES, "runtime": RUNTIMES, "builder": BUILDERS}[key]
            if not isinstance(value, str) or value not in choices:
                raise ConfigError(
                    f"`{full}` must be {_SETTING_KEYS[key]}, got {value!r}", where=str(path)
                )
            values[key] = ARCH_ALIASES[value] if key == "arch" else value
        elif key in ("ldflags", "image"):
            if not isinstance(value, str):
                raise _wrong_type(path, full, _SETTING_KEYS[key], value)
            values[key] = value
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
                raise _wrong_type(path, full, _SETTING_KEYS[key], value)
            bad = [t for t in value if any(c in t for c in ", \t")]
            if bad:
                raise ConfigError(
                    f"`{full}` has a tag with a comma or space: {bad[0]!r}; give one tag per list item",
                    where=str(path),
                )
            values[key] = tuple(value)
        elif key == "env":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise _wrong_type(path, full, _SETTING_KEYS[key], value)
            reserved = sorted(set(value) & set(_RESERVED_ENV))
            if reserved:
                raise ConfigError(
                    f"`{full}` sets {', '.join(reserved)}, which gbl sets itself "
                    "(GOOS=linux, GOARCH from `arch`, CGO_ENABLED=0)",
                    where=str(path),
                    hint="use `arch` for the architecture; remove the others",
                )
            values[key] = tuple(sorted(value.items()))
        elif key == "include":
            values[key] = _includes(value, full, path)
        elif key in ("memory", "timeout"):
            lo, hi = MEMORY_MB if key == "memory" else TIMEOUT_S
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise _wrong_type(path, full, _SETTING_KEYS[key], value)
            values[key] = value
    return Settings(**values)


def _includes(value: Any, full: str, path: Path) -> tuple[Include, ...]:
    if not isinstance(value, list):
        raise _wrong_type(path, full, _SETTING_KEYS["include"], value)
    out = []
    for item in value:
        if isinstance(item, str) and item:
            out.append(Include(item))
        elif isinstance(item, dict) and isinstance(item.get("path"), str) and set(item) <= {
            "path", "executable"
        } and isinstance(item.get("executable", False), bool):
            out.append(Include(item["path"], item.get("executable", False)))
        else:
            raise _wrong_type(path, full, _SETTING_KEYS["include"], item)
        pattern = out[-1].pattern
        if pattern.startswith(("/", "\\")) or ".." in Path(pattern).parts or ":" in pattern:
            raise ConfigError(
                f"`{full}` entry {pattern!r} must be a relative path inside the module",
                where=str(path),
            )
    return tuple(out)


def _unknown(path: Path, key: str, allowed, prefix: str | None = None) -> ConfigError:
    names = ", ".join(sorted(allowed))
    return ConfigError(
        f"unknown key `{key}`",
        where=str(path),
        hint=f"allowed {'in [' + prefix + ']' if prefix else 'at the top level'}: {names}",
    )


def _wrong_type(path: Path, key: str, expected: str, got: Any) -> ConfigError:
    return ConfigError(
        f"`{key}` must be {expected}, got {type(got).__name__} {got!r}", where=str(path)
    )
