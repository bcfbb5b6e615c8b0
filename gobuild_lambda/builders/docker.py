"""The Docker runner: the very same ``go build`` as the local runner, inside a golang image.

The only modules that talk to Docker (this one, ``warm`` and ``daemon``) use the ``docker``
Python SDK (never the docker CLI).  Each ``go build`` call of :func:`calls.plan_calls` runs by
``exec`` in the project's warm build container (``warm.py``: one per project, image and settings,
stopping by itself when idle):

* the module root is mounted read-only at ``/src``; only the build directory (``.gbl/build``, at
  ``/src/.gbl/build``) and the two caches are writable;
* the Go module cache and build cache are host directories (``[docker] cache_dir``, default
  ``~/.cache/gbl/docker``) mounted at ``/gbl/cache/{mod,build}``, so a warm build downloads and
  recompiles nothing;
* the container runs as the host user's uid:gid with a tmpfs ``HOME`` (``/gbl/home``) and a
  read-only root filesystem, so nothing gbl writes is owned by root;
* ``GOPROXY``, ``GOPRIVATE`` and friends pass from the host (:data:`PASS_THROUGH`); ``~/.netrc``
  and the SSH agent socket are mounted only when asked for, read-only, and never copied;
* every container carries gbl's labels; Ctrl-C or SIGTERM kills the builds running in it (their
  process groups, inside the container), and the container stays warm;
* the host's module download cache is mounted read-only as the first ``GOPROXY`` entry.

Grouping and arguments are calls.py's, the thread pool, relink detection and error attribution
runner.py's (a failed group is rebuilt one function at a time); only the ``-o`` directory
differs between the host's and the container's command line.  With ``-trimpath`` and the same Go release, the binaries (and so the
zips) are byte-identical.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Mapping, Sequence

from ..errors import DockerError, OutputError
from ..planner import Function, Plan
from . import early as early_mod
from . import warm
from .cachecount import CacheCount
from .calls import BUILD_DIR, GoBuildCall, describe_call
from .runner import LINK_POLL_S, binary_identity
from .warm import CONTAINER_EXEC, CONTAINER_WARM, DEFAULT_IDLE_TIMEOUT_S, EXEC_DIR, LABEL_IDLE, LABEL_KEY, LABEL_WARM

# Where things are inside the build container (always POSIX paths, whatever the host OS).
from .warm import CONTAINER_SRC  # noqa: E402 - the project, mounted read-only
CONTAINER_BUILD = f"{CONTAINER_SRC}/{BUILD_DIR.as_posix()}"
CONTAINER_HOME = "/gbl/home"  # a tmpfs: nothing in it outlives the container
CONTAINER_GOMODCACHE = "/gbl/cache/mod"
CONTAINER_GOCACHE = "/gbl/cache/build"
CONTAINER_NETRC = f"{CONTAINER_HOME}/.netrc"
CONTAINER_KNOWN_HOSTS = f"{CONTAINER_HOME}/.ssh/known_hosts"
CONTAINER_GITCONFIG = f"{CONTAINER_HOME}/.gitconfig"
CONTAINER_SSH_AUTH_SOCK = "/gbl/ssh-agent.sock"
CONTAINER_HOST_DOWNLOAD = "/gbl/host-modcache"  # the host's module cache downloads, read-only
DEFAULT_GOPROXY = "https://proxy.golang.org,direct"  # Go's own default
# Subdirectories of the host cache directory.
CACHE_GOMODCACHE = "gomodcache"
CACHE_GOCACHE = "gocache"
# Go settings copied from the host (its environment, else its `go env -w` file) into containers.
PASS_THROUGH = (
    "GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "GOFLAGS",
    "GOAMD64", "GOARM64", "GOEXPERIMENT", "GOAUTH", "GOVCS",
)
# Labels on every container gbl starts: `docker ps -a --filter label=gbl.managed=1` finds them.
from .warm import LABEL_IMAGE, LABEL_MANAGED, LABEL_PROJECT  # noqa: E402 - defined with the warm container
LABEL_RUN = "gbl.run"
# Docker Desktop for Mac exposes the host's SSH agent to containers at this fixed path.
_DOCKER_DESKTOP_MAC_SSH = "/run/host-services/ssh-auth.sock"
_TOOLCHAIN = re.compile(r"^go(\d+(?:\.\d+)*(?:(?:rc|beta)\d+)?)")
_DOWNLOADING = "go: downloading "
_PULL_HINT = (
    "pull it (`docker pull {image}`), build or load it under that name (`docker build -t {image} .`,"
    " `docker load`), or choose another with --image or `image = \"...\"` in gbl.toml"
)

EventSink = Callable[[str, str], None]


# ------------------------------------------------------------------------------------ the image
def default_image(plan: Plan) -> str | None:
    """The official golang image matching go.mod: its ``toolchain`` line, else its ``go`` line.

    ``toolchain go1.23.4`` gives ``golang:1.23.4``; ``go 1.23`` gives ``golang:1.23``.  None when
    go.mod has neither.
    """
    m = _TOOLCHAIN.match(plan.toolchain or "")
    if m:
        return f"golang:{m.group(1)}"
    if plan.go_directive:
        return f"golang:{plan.go_directive}"
    return None


def image_for(fn: Function, plan: Plan) -> str:
    """The image ``fn`` is built in: its ``image`` setting, else :func:`default_image`."""
    image = fn.image or default_image(plan)
    if not image:
        raise DockerError(
            f"function {fn.name}: no image to build in: go.mod has no `go` or `toolchain` line",
            where=str(plan.project_dir / "go.mod"),
            hint='choose one with --image or `image = "golang:1.23"` in gbl.toml',
        )
    return image


# ---------------------------------------------------------------------------------- the settings
@dataclass(frozen=True)
class DockerSettings:
    """Everything about the build containers that comes from gbl.toml and the host, resolved."""

    cache_dir: Path  # holds gomodcache/ and gocache/
    network: str | None  # Docker network mode; None = the daemon's default
    user: str | None  # "uid:gid"; None where the host has no uids (Windows)
    go_env: tuple[tuple[str, str], ...]  # PASS_THROUGH values from the host
    netrc: Path | None = None  # host file mounted read-only at CONTAINER_NETRC
    ssh_auth_sock: str | None = None  # host socket mounted at CONTAINER_SSH_AUTH_SOCK
    known_hosts: Path | None = None  # host file mounted read-only at CONTAINER_KNOWN_HOSTS
    gitconfig: Path | None = None  # host ~/.gitconfig (its url.*.insteadOf rules), read-only
    passwd: Path | None = None  # generated /etc/passwd naming the uid (ssh refuses unknown uids)
    host_download: Path | None = None  # the host's <GOMODCACHE>/cache/download: the first GOPROXY
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT_S  # the warm container stops after this many idle s

    @property
    def gomodcache(self) -> Path:
        return self.cache_dir / CACHE_GOMODCACHE

    @property
    def gocache(self) -> Path:
        return self.cache_dir / CACHE_GOCACHE


def resolve_settings(plan: Plan, env: Mapping[str, str], *, platform: str = sys.platform) -> DockerSettings:
    """Read ``[docker]`` of gbl.toml and the host environment ``env``; check what they name."""
    cfg = plan.config.docker
    where = str(plan.config.path) if plan.config.path else None
    base = plan.config.path.parent if plan.config.path else plan.project_dir
    if cfg.cache_dir:
        cache_dir = _expand(cfg.cache_dir, env)
        if not cache_dir.is_absolute():
            cache_dir = base / cache_dir
    else:
        cache_dir = default_cache_dir(env, platform=platform)
    uid, gid = _host_ids()
    user = f"{uid}:{gid}" if uid is not None else None

    netrc = None
    if cfg.netrc:
        netrc = _netrc_path(env, platform)
        if not netrc.is_file():
            raise DockerError(
                f"[docker] netrc = true, but there is no {netrc}",
                where=where,
                hint="create it with the credentials for your private module host "
                "(machine HOST login USER password TOKEN), set NETRC to its path, "
                "or remove `netrc = true`",
            )
    sock = known_hosts = gitconfig = passwd = None
    if cfg.ssh_agent:
        host_sock = env.get("SSH_AUTH_SOCK", "")
        if not host_sock:
            raise DockerError(
                "[docker] ssh_agent = true, but SSH_AUTH_SOCK is not set: no SSH agent to forward",
                where=where,
                hint="start one and add your key (`eval \"$(ssh-agent)\"; ssh-add`), "
                "or remove `ssh_agent = true`",
            )
        if platform == "darwin":
            sock = _DOCKER_DESKTOP_MAC_SSH  # a macOS socket cannot be bind-mounted into the VM
        else:
            if not Path(host_sock).exists():
                raise DockerError(
                    f"[docker] ssh_agent = true, but SSH_AUTH_SOCK names no socket: {host_sock}",
                    where=where,
                    hint="restart your SSH agent (`eval \"$(ssh-agent)\"; ssh-add`) in this shell",
                )
            sock = host_sock
        home = _home(env)
        known_hosts = home / ".ssh" / "known_hosts" if (home / ".ssh" / "known_hosts").is_file() else None
        gitconfig = home / ".gitconfig" if (home / ".gitconfig").is_file() else None
        if uid is not None:
            passwd = plan.project_dir / ".gbl" / "docker" / "passwd"
    download = host_download(env, platform=platform)
    return DockerSettings(
        host_download=download if download.is_dir() else None,
        idle_timeout=cfg.idle_timeout if cfg.idle_timeout is not None else DEFAULT_IDLE_TIMEOUT_S,
        cache_dir=cache_dir,
        network=cfg.network or None,
        user=user,
        go_env=tuple(sorted(go_env(env, platform=platform).items())),
        netrc=netrc,
        ssh_auth_sock=sock,
        known_hosts=known_hosts,
        gitconfig=gitconfig,
        passwd=passwd,
    )


def default_cache_dir(env: Mapping[str, str], *, platform: str = sys.platform) -> Path:
    """``$XDG_CACHE_HOME/gbl/docker``, else ``%LOCALAPPDATA%\\gbl\\docker`` on Windows, else
    ``~/.cache/gbl/docker``."""
    if env.get("XDG_CACHE_HOME") and Path(env["XDG_CACHE_HOME"]).is_absolute():
        return Path(env["XDG_CACHE_HOME"]) / "gbl" / "docker"
    if platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "gbl" / "docker"
    return _home(env) / ".cache" / "gbl" / "docker"


def host_download(env: Mapping[str, str], *, platform: str = sys.platform) -> Path:
    """The host ``go``'s module download cache: ``$GOMODCACHE/cache/download`` (GOMODCACHE from
    the environment, else the ``go env -w`` file, else ``$GOPATH/pkg/mod``, GOPATH ``~/go``)."""
    values = go_env(env, platform=platform, keys=("GOMODCACHE", "GOPATH"))
    modcache = values.get("GOMODCACHE", "")
    if not modcache:
        gopath = values.get("GOPATH", "").split(os.pathsep)[0]
        try:
            modcache = str(Path(gopath) / "pkg" / "mod") if gopath else str(_home(env) / "go" / "pkg" / "mod")
        except DockerError:
            modcache = ""
    return Path(modcache) / "cache" / "download" if modcache else Path()


def go_env(env: Mapping[str, str], *, platform: str = sys.platform,
           keys: Sequence[str] = PASS_THROUGH) -> dict[str, str]:
    """The :data:`PASS_THROUGH` settings as the host's ``go`` sees them: ``env`` first, then the
    user's ``go env -w`` file (``$GOENV``, else ``<config dir>/go/env``)."""
    values: dict[str, str] = {}
    path = _goenv_file(env, platform)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        for line in text.splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key in keys:
                values[key] = value
    for key in keys:
        if key in env:
            values[key] = env[key]
    return values


def _goenv_file(env: Mapping[str, str], platform: str) -> Path | None:
    if "GOENV" in env:
        return None if env["GOENV"] in ("", "off") else Path(env["GOENV"])
    try:
        home = _home(env)
    except DockerError:
        return None
    if platform == "win32":
        base = Path(env["APPDATA"]) if env.get("APPDATA") else None
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    return base / "go" / "env" if base is not None else None


def _netrc_path(env: Mapping[str, str], platform: str) -> Path:
    if env.get("NETRC"):
        return Path(env["NETRC"])
    home = _home(env)
    if platform == "win32" and not (home / ".netrc").exists():
        return home / "_netrc"
    return home / ".netrc"


from .daemon import _home  # noqa: E402,F401 - where the daemon code finds ~/.docker too


def _expand(value: str, env: Mapping[str, str]) -> Path:
    if value == "~" or value.startswith(("~/", "~\\")):
        return _home(env) / value[2:] if len(value) > 1 else _home(env)
    return Path(value)


def _host_ids() -> tuple[int | None, int | None]:
    getuid = getattr(os, "getuid", None)
    getgid = getattr(os, "getgid", None)
    if getuid is None or getgid is None:
        return None, None
    return getuid(), getgid()


# ------------------------------------------------------------------------------ the container
def container_args(args: Sequence[str], build_root: Path) -> tuple[str, ...]:
    """A call's ``go`` arguments as run inside the container: only the ``-o`` directory (under
    ``build_root`` on the host) is translated to its place under :data:`CONTAINER_BUILD`."""
    args = list(args)
    i = args.index("-o")
    rel = Path(args[i + 1].rstrip("/\\")).relative_to(build_root)
    args[i + 1] = str(PurePosixPath(CONTAINER_BUILD, *rel.parts)) + "/"
    return tuple(args)


def _container_gowork(project: Path, overrides: Mapping[str, str]) -> Mapping[str, str]:
    """The user's go.work (a host path under the project) as the container sees it."""
    work = overrides.get("GOWORK", "off")
    if work == "off":
        return overrides
    rel = Path(work).relative_to(project)
    return {**overrides, "GOWORK": str(PurePosixPath(CONTAINER_SRC, *rel.parts))}


def container_environment(settings: DockerSettings, overrides: Mapping[str, str]) -> dict[str, str]:
    """The container's environment: host pass-through, then the call's own, then gbl's paths."""
    environment = dict(settings.go_env)
    environment.update(overrides)
    environment.update({
        "HOME": CONTAINER_HOME,
        "GOMODCACHE": CONTAINER_GOMODCACHE,
        "GOCACHE": CONTAINER_GOCACHE,
        "GOTOOLCHAIN": "local",  # the image's Go builds, or the build fails: never a download
    })
    if settings.netrc is not None:
        environment["NETRC"] = CONTAINER_NETRC
    if settings.ssh_auth_sock is not None:
        environment["SSH_AUTH_SOCK"] = CONTAINER_SSH_AUTH_SOCK
    environment.setdefault("GOPROXY", DEFAULT_GOPROXY)  # Go's default, set: the exec must override the helper's
    if settings.host_download is not None:
        # The host's downloads first: an offline container builds whatever the host already has.
        # A module missing there falls through (a file:// proxy answers "not found") to the rest.
        environment["GOPROXY"] = f"file://{CONTAINER_HOST_DOWNLOAD}," + (environment["GOPROXY"] or DEFAULT_GOPROXY)
    return environment


def exec_environment(plan: Plan, settings: DockerSettings, overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment one ``go build`` call runs with in the warm container."""
    return container_environment(settings, _container_gowork(plan.project_dir, overrides))


def container_spec(plan: Plan, settings: DockerSettings, image: str, labels: Mapping[str, str]) -> dict:
    """Keyword arguments for ``client.containers.create`` of the warm build container (no Docker
    needed: a pure function).  Its main process is the idle helper (warm.py); each ``go build``
    runs in it by exec, with :func:`exec_environment` and the function's module as its directory.
    """
    from docker.types import LogConfig, Mount

    project = plan.project_dir
    mounts = [
        Mount(CONTAINER_SRC, str(project), type="bind", read_only=True),
        Mount(CONTAINER_BUILD, str(project / BUILD_DIR), type="bind", read_only=False),
        Mount(CONTAINER_GOMODCACHE, str(settings.gomodcache), type="bind", read_only=False),
        Mount(CONTAINER_GOCACHE, str(settings.gocache), type="bind", read_only=False),
        Mount(CONTAINER_WARM, str(warm.helper_file(settings.cache_dir).parent), type="bind", read_only=True),
        Mount(CONTAINER_EXEC, str(project / EXEC_DIR), type="bind", read_only=False),
    ]
    if settings.host_download is not None:
        mounts.append(Mount(CONTAINER_HOST_DOWNLOAD, str(settings.host_download), type="bind", read_only=True))
    if settings.netrc is not None:
        mounts.append(Mount(CONTAINER_NETRC, str(settings.netrc), type="bind", read_only=True))
    if settings.ssh_auth_sock is not None:
        mounts.append(Mount(CONTAINER_SSH_AUTH_SOCK, settings.ssh_auth_sock, type="bind", read_only=False))
    if settings.known_hosts is not None:
        mounts.append(Mount(CONTAINER_KNOWN_HOSTS, str(settings.known_hosts), type="bind", read_only=True))
    if settings.gitconfig is not None:
        mounts.append(Mount(CONTAINER_GITCONFIG, str(settings.gitconfig), type="bind", read_only=True))
    if settings.passwd is not None:
        mounts.append(Mount("/etc/passwd", str(settings.passwd), type="bind", read_only=True))
    # The helper's own environment: gbl's paths only. Each build's environment comes with its exec
    # (and sets every key named here), so the host's Go settings are not part of the container's
    # key: changing them does not need a new container.
    environment = {k: v for k, v in container_environment(settings, {}).items() if k not in PASS_THROUGH}
    environment.update({"GOFLAGS": "", "GOWORK": "off", "CGO_ENABLED": "0", "GOPROXY": "off"})
    spec = {
        "image": image,
        "entrypoint": ["go"],
        "command": warm.idle_command(settings.idle_timeout),
        "working_dir": "/tmp",  # outside any module: `go run` of the helper's one file
        "environment": environment,
        "labels": dict(labels),
        "init": True,  # reaps what a killed build leaves, forwards signals
        "mounts": mounts,
        "tmpfs": {"/tmp": "rw,exec,mode=1777", CONTAINER_HOME: "rw,exec,mode=1777"},
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "log_config": LogConfig(type="json-file"),
    }
    if settings.user is not None:
        spec["user"] = settings.user
    if settings.network:
        spec["network_mode"] = settings.network
    return spec


# ------------------------------------------------------------------------------------ the daemon
from .daemon import Endpoint, _reason, _unreachable, connect, endpoint, rootless  # noqa: E402,F401 - re-exported


def ensure_image(client, image: str, emit: EventSink) -> str:
    """The image's ID: it is present, or pulled now; DockerError naming it if neither."""
    from docker.errors import APIError, DockerException, ImageNotFound
    from docker.utils import parse_repository_tag

    try:
        return client.images.get(image).id
    except ImageNotFound:
        pass
    except APIError as exc:
        raise DockerError(f"cannot look up the image {image}: {_explain(exc)}") from None
    emit("pull", f"pulling {image}")
    repo, tag = parse_repository_tag(image)
    try:
        return client.images.pull(repo, tag=tag or "latest").id
    except (DockerException, OSError) as exc:
        raise DockerError(
            f"the image {image} is not present and cannot be pulled: {_explain(exc)}",
            hint=_PULL_HINT.format(image=image),
        ) from None
    except Exception as exc:  # noqa: BLE001 - requests errors when the daemon goes away
        raise DockerError(
            f"the image {image} is not present and cannot be pulled: {exc}",
            hint=_PULL_HINT.format(image=image),
        ) from None


def _explain(exc: BaseException) -> str:
    return str(getattr(exc, "explanation", None) or exc)


# ------------------------------------------------------------------------------------- the build
@dataclass(frozen=True)
class _Started:
    before: dict[Path, str | None]


class DockerRunner:
    """Runs each call by exec in the project's warm container; the same calls and results as the
    local runner.

    Events (``on_event(kind, detail)``): ``pull`` (an image is being pulled), ``cleanup`` (old
    containers of this project removed), ``container`` (a warm container was started), ``build``
    (a ``go build`` starts in one), ``download`` (Go fetched a module: ``"path version"``),
    ``waiting`` (a slow start or build, every few seconds) and ``cache`` (per build:
    ``"downloads=N new-build-cache-entries=M"``).  ``open`` raises DockerError when the daemon or
    an image cannot be used.  Every build it started has ended when ``open`` exits; the warm
    container stays, to stop by itself when idle (or with ``gbl docker stop``).
    """

    name = "docker"
    links_while_running = True  # the build directory is a bind mount: gbl sees each link land
    inline = False  # builds start from worker threads only (see runner._in_threads)

    def __init__(self, plan: Plan, env: Mapping[str, str], on_event: EventSink | None = None, *,
                 client=None, early: Sequence[early_mod.Early] = (), selection: Mapping | None = None,
                 rootless: bool | None = None):
        self.plan = plan
        self.env = env
        self.client = client  # a connection made already (and closed) by the caller, else our own
        self.rootless = rootless  # what the caller found out about that daemon, else asked here
        self.emit = on_event or (lambda kind, detail: None)
        self.images: dict[GoBuildCall, str] = {}
        self.session: _Session | None = None
        # The head start (early.start_early): execs the caller started while it planned, claimed
        # by the identical calls; and the selection under which this build's execs are recorded.
        self.early = list(early)
        self.selection = selection
        self._claimed: dict[GoBuildCall, early_mod.Early] = {}

    @property
    def stopped(self) -> bool:
        return self.session is not None and self.session.closed

    @contextmanager
    def open(self, calls: Sequence[GoBuildCall]) -> Iterator[None]:
        plan, emit = self.plan, self.emit
        self.images = {c: image_for(c.functions[0], plan) for c in calls}
        settings = resolve_settings(plan, self.env)
        client = self.client or connect(self.env)
        try:
            if settings.user is not None and (self.rootless if self.rootless is not None else _rootless(client)):
                # Rootless Docker maps container root to the invoking user (and the host uid to a
                # subordinate uid): running as 0:0 there is what leaves files owned by the user.
                settings = replace(settings, user="0:0")
            ids = {image: ensure_image(client, image, emit) for image in sorted(set(self.images.values()))}
            _prepare_host(plan, settings)
            counting = CacheCount(settings.gocache)  # in a thread, while the daemon answers
            _sweep(client, plan.project_dir, emit)
            self.session = _Session(client, plan, settings, emit, ids)
            with _sigterm_as_interrupt():
                try:
                    for image in sorted(set(self.images.values())):
                        self.session.container(image)
                    specs = self._claim(calls)
                    counting.join()
                    yield
                finally:
                    self.session.close()
            if self.selection is not None:
                early_mod.record(plan.project_dir, self.selection, specs, self.session.tokens())
            new_entries = counting.new_entries()
            emit("cache", f"downloads={self.session.downloads} new-build-cache-entries={new_entries}")
        finally:
            if client is not self.client:
                client.close()

    def _claim(self, calls: Sequence[GoBuildCall]) -> list[early_mod.ExecSpec]:
        """Each call's exec; a head-start exec identical to one is claimed by it, the others are
        waited for (they write the same directories) before anything else starts."""
        specs = []
        for call in calls:
            spec = self.session.spec(self.images[call], call)
            specs.append(spec)
            match = next((e for e in self.early if e.spec == spec), None)
            if match is not None:
                self.early.remove(match)
                self._claimed[call] = match
        early_mod.reap(self.early, stop=False)
        self.early = []
        warm.sweep(self.plan.project_dir / EXEC_DIR, keep={e.run.id for e in self._claimed.values()})
        return specs

    def start(self, call: GoBuildCall) -> _Started:
        call.out_dir.mkdir(parents=True, exist_ok=True)
        claimed = self._claimed.get(call)
        if claimed is not None:
            return _Started(claimed.before)
        return _Started({call.binary(fn): binary_identity(call.binary(fn)) for fn in call.functions})

    def wait(self, started: _Started, call: GoBuildCall, on_poll) -> tuple[int, str]:
        # A call of one function rebuilt to attribute a group's failure runs in the group's image.
        image = self.images.get(call) or next(
            (img for c, img in self.images.items() if call.functions[0] in c.functions), None
        ) or image_for(call.functions[0], self.plan)
        build_root = self.plan.project_dir / BUILD_DIR
        claimed = self._claimed.pop(call, None)
        proc = self.session.run(image, container_args(call.args, build_root), dict(call.env),
                                call.functions[0].module_dir, describe_call(call), on_poll,
                                early=claimed.run if claimed else None)
        return proc.returncode, proc.stderr or proc.stdout

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()


def stop_warm(env: Mapping[str, str], project_dir: Path | None = None) -> int:
    """``gbl docker stop``: remove the warm build containers of ``project_dir`` (None: every
    project's); how many.  A build running in one is killed with it."""
    return warm.stop(env, project_dir)


def _rootless(client) -> bool:
    return rootless(client)


def _prepare_host(plan: Plan, settings: DockerSettings) -> None:
    """Create every host directory the containers mount, as the host user (never as root)."""
    for path in (plan.project_dir / BUILD_DIR, plan.project_dir / EXEC_DIR, settings.gomodcache,
                 settings.gocache, warm.helper_file(settings.cache_dir).parent):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create {path}: {exc.strerror or exc}", where=str(path),
                hint="make it writable, or set [docker] cache_dir in gbl.toml to another directory",
            ) from exc
        if not os.access(path, os.W_OK):
            raise OutputError(
                f"{path} is not writable by this user, so the build container cannot write it",
                where=str(path),
                hint="fix its owner (e.g. `sudo chown -R $(id -u):$(id -g) "
                f"{path}`), or set [docker] cache_dir in gbl.toml to another directory",
            )
    warm.write_helper(settings.cache_dir)
    if settings.passwd is not None:
        # ssh refuses to run as a uid /etc/passwd does not name, and finds ~/.ssh through it.
        uid, gid = settings.user.split(":")
        lines = [] if uid == "0" else ["root:x:0:0:root:/root:/sbin/nologin"]
        lines.append(f"{'root' if uid == '0' else 'gbl'}:x:{uid}:{gid}:gbl:{CONTAINER_HOME}:/bin/sh")
        from ..package import write_atomic

        settings.passwd.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(settings.passwd, ("\n".join(lines) + "\n").encode())


def _sweep(client, project_dir: Path, emit: EventSink) -> None:
    """Remove stopped containers a killed gbl (SIGKILL, power loss) left for this project.

    The project lock is held, so no other gbl is building here; running ones are left alone.
    """
    from docker.errors import DockerException

    try:
        stale = client.containers.list(
            all=True,
            filters={"label": [f"{LABEL_MANAGED}=1", f"{LABEL_PROJECT}={project_dir}"],
                     "status": ["created", "exited", "dead"]},
        )
        for c in stale:
            c.remove(force=True)
        if stale:
            emit("cleanup", f"removed {len(stale)} leftover container(s)")
    except DockerException:
        pass  # best effort: the build itself reports a daemon that does not answer


class _Cancelled(Exception):
    """A worker found the session closed (Ctrl-C): it starts nothing more."""


class _Session:
    """The warm containers of one DockerRunner.open and the builds running in them; ``close``
    kills every build still running (the containers stay warm)."""

    def __init__(self, client, plan: Plan, settings: DockerSettings, emit: EventSink,
                 image_ids: Mapping[str, str] | None = None):
        self.client = client
        self.image_ids = dict(image_ids or {})
        self.plan = plan
        self.settings = settings
        self.emit = emit
        self.downloads = 0
        self._lock = threading.Lock()
        self._containers: dict[str, object] = {}  # image -> its warm container
        self._live: dict[str, warm.Exec] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def labels(self, image: str, key: str) -> dict[str, str]:
        return {
            LABEL_MANAGED: "1",
            LABEL_PROJECT: str(self.plan.project_dir),
            LABEL_IMAGE: image,
            LABEL_WARM: "1",
            LABEL_KEY: key,
            LABEL_IDLE: str(self.settings.idle_timeout),
        }

    def container(self, image: str, *, renew: bool = False):
        """The warm container for ``image``: found or started (again, when ``renew``)."""
        with self._lock:
            if self._closed:
                raise _Cancelled()
            if image in self._containers and not renew:
                return self._containers[image]
        spec = container_spec(self.plan, self.settings, image, {})
        image_id = self.image_ids.get(image) or self.client.images.get(image).id
        key = warm.container_key(image_id, spec)
        spec["labels"] = self.labels(image, key)
        container = warm.ensure(self.client, spec, key, self.plan.project_dir / ".gbl" / "docker" / "warm.lock",
                                self.emit, lambda text: self.emit("waiting", text))
        with self._lock:
            self._containers[image] = container
        return container

    def close(self) -> None:
        """Start nothing more; kill every build still running (``go build`` and its compilers)."""
        with self._lock:
            self._closed = True
            live = list(self._live.values())
        for run in live:
            run.kill()

    def tokens(self) -> dict[str, str]:
        """Each warm container's secret (warm.TOKEN_ENV), by container ID."""
        with self._lock:
            containers = list(self._containers.values())
        return {c.id: token for c in containers if (token := warm.token_of(c.attrs))}

    def spec(self, image: str, call: GoBuildCall) -> early_mod.ExecSpec:
        """The exec that runs ``call`` (in the container open() found for ``image``)."""
        environment = exec_environment(self.plan, self.settings, dict(call.env))
        return early_mod.ExecSpec(self._containers[image].id,
                                  container_args(call.args, self.plan.project_dir / BUILD_DIR),
                                  tuple(sorted(environment.items())),
                                  warm.container_workdir(call.functions[0].module_dir),
                                  tuple(str(call.binary(fn)) for fn in call.functions))

    def _start(self, image: str, args, environment, workdir: str, *, renew: bool = False):
        """(exec, container): ``go build`` asked of the warm container for ``image``."""
        from docker.errors import APIError, DockerException

        exec_dir = self.plan.project_dir / EXEC_DIR
        for attempt in (1, 2):
            container = self.container(image, renew=renew or attempt == 2)
            try:
                return warm.Exec(self.client, container, exec_dir, args, environment, workdir), container
            except (APIError, DockerException) as exc:
                # Gone since it was found (it stopped when idle, or `gbl docker stop`): start anew.
                if attempt == 2:
                    raise DockerError(f"cannot run `go build` in the build container from {image}: "
                                      f"{_explain(exc)}",
                                      hint="run the build again; `gbl docker stop` removes the warm "
                                           "container") from None
        raise AssertionError("unreachable")

    def run(self, image: str, args: Sequence[str], overrides: Mapping[str, str], module_dir: str,
            describe: str, on_poll=None, early: warm.Exec | None = None) -> subprocess.CompletedProcess:
        """One ``go build`` in the warm container (or ``early``, the same one started before):
        (exit code, Go's output)."""
        environment = exec_environment(self.plan, self.settings, overrides)
        workdir = warm.container_workdir(module_dir)  # the function's module
        renew = False
        while True:
            if early is not None:
                run, container = early, early.container
            else:
                run, container = self._start(image, args, environment, workdir, renew=renew)
            with self._lock:
                self._live[run.id] = run
                closed = self._closed
            if closed:
                run.kill()
            try:
                self.emit("build", f"go {' '.join(args)} in {image} ({container.short_id})"
                                   + (", started while gbl planned" if early is not None else ""))
                code, stdout, stderr = warm.wait(run, describe=describe, cancelled=lambda: self._closed,
                                                 on_poll=on_poll, waiting=lambda text: self.emit("waiting", text),
                                                 poll=LINK_POLL_S)
                break
            except warm.Unclaimed as exc:
                # It stopped when idle just as the request came, or it no longer sees
                # .gbl/docker/exec: nothing ran; once more, in a new container.
                if renew:
                    raise
                warm.remove(container)
                self.emit("cleanup", f"removed the build container {container.short_id} ({exc})")
                early, renew = None, True
            finally:
                with self._lock:
                    self._live.pop(run.id, None)
                run.cleanup()
        if self._closed:
            raise _Cancelled()
        for line in stderr.splitlines():
            if line.startswith(_DOWNLOADING):
                with self._lock:
                    self.downloads += 1
                self.emit("download", line[len(_DOWNLOADING):].strip())
        return subprocess.CompletedProcess(["go", *args], code, stdout, stderr)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While containers run, SIGTERM unwinds like Ctrl-C so ``finally`` removes them.

    Only when called from the main thread and nobody (e.g. the CLI) handles SIGTERM already; the
    previous handler is restored afterwards.  The core never exits: KeyboardInterrupt propagates.
    """
    sigterm = getattr(signal, "SIGTERM", None)
    if (
        sigterm is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(sigterm) is not signal.SIG_DFL
    ):
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(sigterm, handler)
    try:
        yield
    finally:
        signal.signal(sigterm, previous)
