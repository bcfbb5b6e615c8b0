"""Which Docker daemon gbl talks to, and a clear error when none answers (docs/docker.md).

The daemon the ``docker`` CLI would use: ``DOCKER_HOST``, else the current docker context, else
the default socket.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import DockerError

_API_TIMEOUT_S = 300  # per API call; a build is waited for on the host (warm.wait), never by one


def _home(env: Mapping[str, str]) -> Path:
    import os

    for key in ("HOME", "USERPROFILE"):
        if env.get(key):
            return Path(env[key])
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError, AttributeError):
        raise DockerError(
            "cannot tell the home directory: HOME is not set",
            hint="set HOME, or set [docker] cache_dir in gbl.toml",
        ) from None


@dataclass(frozen=True)
class Endpoint:
    """Where the daemon is expected, and why there (for the error message)."""

    host: str | None  # None = the SDK's default socket
    source: str  # "DOCKER_HOST" | "docker context NAME" | "the default socket"

    def describe(self) -> str:
        return f"{self.host or default_host()} ({self.source})"


def endpoint(env: Mapping[str, str]) -> Endpoint:
    """The daemon the ``docker`` CLI would use: DOCKER_HOST, else the current docker context."""
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "from DOCKER_HOST")
    name = env.get("DOCKER_CONTEXT") or _current_context(env)
    if name and name != "default":
        host = _context_host(env, name)
        if host:
            return Endpoint(host, f"docker context {name!r}")
    return Endpoint(None, "the default socket")


def _docker_config_dir(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    try:
        return _home(env) / ".docker"
    except DockerError:
        return None


def _current_context(env: Mapping[str, str]) -> str | None:
    import json

    cfg = _docker_config_dir(env)
    try:
        data = json.loads((cfg / "config.json").read_text(encoding="utf-8")) if cfg else {}
    except (OSError, ValueError):
        return None
    return data.get("currentContext") if isinstance(data, dict) else None


def _context_host(env: Mapping[str, str], name: str) -> str | None:
    import hashlib
    import json

    cfg = _docker_config_dir(env)
    if cfg is None:
        return None
    meta = cfg / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        return data["Endpoints"]["docker"]["Host"] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_host() -> str:
    return "npipe:////./pipe/docker_engine" if sys.platform == "win32" else "unix:///var/run/docker.sock"


def connect(env: Mapping[str, str]):
    """A ``docker.DockerClient`` for the daemon the docker CLI would use; DockerError if none answers."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DockerError(
            f"the docker Python SDK is not installed: {exc}",
            hint="reinstall gbl (`pip install gobuild-lambda`), which depends on docker>=7",
        ) from exc
    ep = endpoint(env)
    host = ep.host or default_host()
    if host.startswith("unix://") and not Path(host[len("unix://"):]).exists():
        raise _unreachable(ep, f"no socket at {host[len('unix://'):]}")
    # Never empty: the SDK reads os.environ when given an empty mapping.
    environment = {k: v for k, v in env.items() if k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")}
    environment["DOCKER_HOST"] = host
    try:
        client = docker.from_env(environment=environment, timeout=_API_TIMEOUT_S)
        client.ping()
    except DockerException as exc:
        raise _unreachable(ep, _reason(exc)) from None
    except Exception as exc:  # noqa: BLE001 - requests/urllib3/socket errors of every kind
        raise _unreachable(ep, _reason(exc)) from None
    return client


def rootless(client) -> bool:
    """Is the daemon rootless Docker (container root is the invoking user)?  One ``info`` call."""
    try:
        options = client.info().get("SecurityOptions") or []
    except Exception:  # noqa: BLE001 - an old or odd daemon: assume a rootful one
        return False
    return any("name=rootless" in str(o) for o in options)


def _reason(exc: BaseException) -> str:
    """The useful part of an SDK / requests error: "[Errno 111] Connection refused", say."""
    text = str(exc)
    m = re.search(r"\[Errno (-?\d+)\] ([^'\"()]+)", text) or re.search(r"\w*Error\((\d+), '([^']+)'\)", text)
    if m:
        return f"{m.group(2).strip()} (errno {m.group(1)})"
    return text.removeprefix("Error while fetching server API version: ")


def _unreachable(ep: Endpoint, reason: str) -> DockerError:
    low = reason.lower()
    if "permission denied" in low:
        hint = (
            "your user may not use the Docker socket: add it to the `docker` group "
            "(`sudo usermod -aG docker $USER`, then log in again), or use rootless Docker "
            "(and DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock)"
        )
    elif "no socket" in low or "no such file" in low or "connection refused" in low:
        hint = (
            "is the Docker daemon running? Start it (`sudo systemctl start docker`, or open "
            "Docker Desktop / colima), or point DOCKER_HOST at it; `docker info` must work. "
            "Or build without --docker (`builder = \"local\"`)"
        )
    elif "invalid" in low or "protocol" in low or "address" in low:
        hint = "DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://HOST:2376"
    else:
        hint = "check that `docker info` works with the same DOCKER_HOST / docker context"
    return DockerError(f"cannot reach the Docker daemon at {ep.describe()}: {reason}", hint=hint)
