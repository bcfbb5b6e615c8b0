"""gbl build --docker against a real Docker daemon (started by .ci/run; these tests never skip).

No registry is reachable here, so the session builds its own "official" golang image: a root
filesystem holding this machine's Go toolchain, imported and tagged ``golang:<go version>``.  The
containers run with ``network = "none"``: their module cache is filled on the host first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

import gobuild_lambda
from gobuild_lambda import errors, verify
from gobuild_lambda.builders import calls as builder
from gobuild_lambda.builders import docker as docker_build

from conftest import SAMPLE, copy_project, run_gbl

GO = shutil.which("go") or "go"
GOROOT = Path(subprocess.run([GO, "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
GO_VERSION = subprocess.run([GO, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
IMAGE = f"golang:{GO_VERSION.removeprefix('go')}"  # e.g. golang:1.26.8, like the official tag
TEST_UID = TEST_GID = 4321  # a user that exists nowhere: only its numbers matter
# Parts of GOROOT `go build` never reads (tests, docs, the tools' own sources, tools other than
# the compiler, assembler, linker, cgo and preprofile): with the vfs storage driver every
# container copies the whole image, so smaller is faster.
_GOROOT_SKIP = {"test", "doc", "api", "misc"}
_TOOLS_SKIP = {"vet", "fix", "cover", "gofmt"}


# -------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def docker_client(tmp_path_factory):
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(
            f"no Docker daemon answers ({exc}); the Docker tests need one: run `bash .ci/dockerd.sh` "
            "(CI's .ci/run does) or start Docker",
            pytrace=False,
        )
    yield client
    # Every warm build container this session's tests started: their projects live in its temp
    # dirs (the ownership test's in a gbl-owner-* one).
    base = str(tmp_path_factory.getbasetemp())
    for c in client.containers.list(all=True, filters={"label": f"{docker_build.LABEL_MANAGED}=1"}):
        project = c.labels.get(docker_build.LABEL_PROJECT, "")
        if project.startswith(base + os.sep) or Path(project).parent.name.startswith("gbl-owner-"):
            try:
                c.remove(force=True)
            except docker.errors.APIError:  # already being removed (another session's teardown)
                pass
    client.close()


@pytest.fixture(scope="session")
def golang_image(docker_client) -> str:
    """``golang:<local go version>``: this machine's GOROOT as an image (imported once, reused)."""
    from docker.errors import ImageNotFound

    try:
        docker_client.images.get(IMAGE)
        return IMAGE
    except ImageNotFound:
        pass

    def keep(info: tarfile.TarInfo):
        rel = info.name.split("/")[3:]  # usr/local/go/<rel...>
        if rel and rel[0] in _GOROOT_SKIP or rel[:2] == ["src", "cmd"] or "testdata" in rel:
            return None
        if rel and rel[0] in ("bin", "pkg") and rel[-1] in _TOOLS_SKIP:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    def add(tar, name, data=None, mode=0o755):
        info = tarfile.TarInfo(name)
        info.mode = mode
        if data is None:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rootfs.tar"
        with tarfile.open(path, "w") as tar:
            for d in ("etc", "usr", "usr/local", "go"):
                add(tar, d)
            add(tar, "tmp", mode=0o1777)
            add(tar, "etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n", 0o644)
            add(tar, "etc/group", b"root:x:0:\n", 0o644)
            tar.add(GOROOT, arcname="usr/local/go", filter=keep)
        version = GO_VERSION.removeprefix("go")
        docker_client.api.import_image(
            src=str(path), repository="golang", tag=version,
            changes=[
                "ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"ENV GOLANG_VERSION={version}", "ENV GOTOOLCHAIN=local", "ENV GOPATH=/go",
                "WORKDIR /go",
            ],
        )
    docker_client.images.get(IMAGE)
    return IMAGE


def _host_go_env(key: str) -> str:
    return subprocess.run([GO, "env", key], capture_output=True, text=True, check=True).stdout.strip()


def fill_module_cache(project: Path, gomodcache: Path) -> None:
    """``go mod download`` into the cache the containers mount, from the host's own cache first."""
    proxy = f"file://{_host_go_env('GOMODCACHE')}/cache/download,{_host_go_env('GOPROXY')}"
    env = {**os.environ, "GOMODCACHE": str(gomodcache), "GOPROXY": proxy, "GOFLAGS": "-mod=mod"}
    subprocess.run([GO, "mod", "download"], cwd=project, env=env, check=True, capture_output=True)


@pytest.fixture(scope="session")
def docker_cache(tmp_path_factory) -> Path:
    """The session's [docker] cache_dir: a module cache filled on the host, an empty build cache."""
    cache = tmp_path_factory.mktemp("gbl-docker-cache")
    fill_module_cache(SAMPLE, cache / docker_build.CACHE_GOMODCACHE)
    return cache


def docker_project(dest: Path, cache_dir: Path, extra: str = "", src: Path = SAMPLE) -> Path:
    """A copy of ``src`` whose gbl.toml sends builds to ``cache_dir`` with no network."""
    root = copy_project(src, dest)
    toml = root / "gbl.toml"
    text = toml.read_text() if toml.exists() else ""
    toml.write_text(text + f'\n[docker]\nnetwork = "none"\ncache_dir = "{cache_dir.as_posix()}"\n{extra}')
    return root


@pytest.fixture(scope="session")
def sample_docker_build(tmp_path_factory, golang_image, docker_cache):
    """sample_project built once with builder="docker" (a cold build cache): (report, events)."""
    root = docker_project(tmp_path_factory.mktemp("docker") / "sample_project", docker_cache)
    events = []
    report = gobuild_lambda.build(root, builder="docker", image=golang_image, on_event=events.append)
    return report, events


def gbl_containers(client, project: Path | None = None) -> list:
    labels = [f"{docker_build.LABEL_MANAGED}=1"]
    if project is not None:
        labels.append(f"{docker_build.LABEL_PROJECT}={project}")
    return client.containers.list(all=True, filters={"label": labels})


def building(container) -> list[str]:
    """The command lines of the `go build`s (and their compilers) running in ``container``."""
    top = container.top()
    cmd = top["Titles"].index("CMD")
    return [p[cmd] for p in top["Processes"] or []
            if " build " in p[cmd] or "/compile " in p[cmd] or "/link " in p[cmd]]


def _exec_running(container) -> bool:
    """A `go build` runs by exec (not the helper compiling itself as the container starts)."""
    return any(cmd.startswith("/tmp/gbl-warm run ") for cmd in building(container))


def assert_only_warm(client, project: Path, count: int = 1) -> list:
    """What a build leaves: its project's warm container(s), running, with no build in them."""
    found = gbl_containers(client, project)
    assert len(found) == count, found
    for c in found:
        assert c.status == "running" and c.labels[docker_build.LABEL_WARM] == "1"
        assert building(c) == []
    return found


def zip_hashes(dist: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dist.glob("*.zip"))}


def preload_for_child() -> None:
    """Import (by using them once) the modules a forked child of another uid will need."""
    import docker  # noqa: F401
    import docker.errors  # noqa: F401
    import docker.types  # noqa: F401
    import docker.utils  # noqa: F401
    import filelock  # noqa: F401

    import gobuild_lambda.pipeline  # noqa: F401
    import gobuild_lambda.verify  # noqa: F401

    for host in ("tcp://127.0.0.1:1", "unix:///nonexistent/gbl/docker.sock"):
        with pytest.raises(errors.DockerError):
            docker_build.connect({"DOCKER_HOST": host})


def as_user(uid: int, gid: int, groups: list[int], func) -> tuple[int, str]:
    """Run ``func() -> (exit code, text)`` in a forked child with these real ids; (code, text).

    A fork, not a new interpreter: this machine's Python lives under a directory other users
    cannot read, so the child uses the modules the parent already imported.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code, text = 98, ""
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            code, text = func()
        except BaseException as exc:  # noqa: BLE001
            import traceback

            code, text = 99, "".join(traceback.format_exception(exc))
        finally:
            try:
                os.write(w, text.encode("utf-8", "replace"))
            finally:
                os._exit(code)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as fh:
        chunks.append(fh.read())
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


# ------------------------------------------------------------------ builds in a real container
@pytest.mark.docker
def test_docker_zips_verify_and_equal_local_zips(sample_docker_build, sample_build, docker_client):
    report, events = sample_docker_build
    assert report.ok
    assert {r.function.name for r in report.results} == {"api", "echo", "nightly-report"}
    for r in report.results:
        assert r.relinked and r.rezipped
        verdict = gobuild_lambda.verify_zip(r.zip_path, arch=r.function.arch)
        assert verdict.ok, verdict
    # The promise that lets laptops and CI mix: same Go release, same bytes.
    assert zip_hashes(report.out_dir) == zip_hashes(sample_build.out_dir)
    docker_manifest = json.loads(report.manifest_path.read_text())["functions"]
    local_manifest = json.loads(sample_build.manifest_path.read_text())["functions"]
    for name, entry in docker_manifest.items():
        assert entry["builder"] == "docker"
        assert entry["code_sha256"] == local_manifest[name]["code_sha256"]
        assert entry["go_version"] == GO_VERSION
    # The build ran in the project's warm container (both go build calls), still there, idle.
    started = [e.detail for e in events if e.kind == "build" and f" in {IMAGE} " in e.detail]
    assert len(started) == 2  # linux/amd64 (api, nightly-report) and linux/arm64 (echo)
    assert all("-trimpath -buildvcs=false -tags lambda.norpc" in d for d in started)
    warm = assert_only_warm(docker_client, report.plan.project_dir)
    assert len({d.rsplit("(", 1)[1] for d in started}) == 1 and warm[0].short_id in started[0]
    assert [e.kind for e in events].count("container") == 1


@pytest.mark.docker
def test_warm_docker_build_downloads_and_relinks_nothing(sample_docker_build, docker_client):
    report, first_events = sample_docker_build
    project = report.plan.project_dir
    first_cache = [e.detail for e in first_events if e.kind == "cache"]
    assert first_cache and "new-build-cache-entries=0" not in first_cache[0]  # it did compile
    events = []
    # GOPROXY=off reaches the containers: any module download would fail the build outright.
    env = {**os.environ, "GOPROXY": "off"}
    again = gobuild_lambda.build(project, builder="docker", image=IMAGE, env=env, on_event=events.append)
    assert again.ok
    assert [e for e in events if e.kind == "download"] == []
    assert [e.detail for e in events if e.kind == "cache"] == ["downloads=0 new-build-cache-entries=0"]
    assert sorted((e.function, e.detail) for e in events if e.kind == "built") == [
        ("api", "up to date"), ("echo", "up to date"), ("nightly-report", "up to date"),
    ]
    assert all(not r.relinked and not r.rezipped for r in again.results)
    assert zip_hashes(again.out_dir) == zip_hashes(report.out_dir)
    # The warm container was reused: none created, the same one still there.
    before = assert_only_warm(docker_client, project)
    assert [e for e in events if e.kind == "container"] == []
    execs = [e.detail for e in events if e.kind == "build" and f" in {IMAGE} " in e.detail]
    assert len(execs) == 2 and all(f"({before[0].short_id})" in d for d in execs)


@pytest.mark.docker
def test_failing_docker_build_attributes_error_and_removes_containers(tmp_path, sample_docker_build, docker_cache, docker_client):
    root = docker_project(tmp_path / "broken", docker_cache)
    main = root / "cmd" / "jobs" / "nightly-report" / "main.go"
    main.write_text(main.read_text() + "\nfunc broken() int { return \"not an int\" }\n")
    proc = run_gbl("build", "--docker", "--image", IMAGE, "-C", str(root), "--json")
    assert proc.returncode == errors.EXIT_BUILD_FAILED, proc.stderr
    doc = json.loads(proc.stdout)
    status = {f["name"]: f["ok"] for f in doc["functions"]}
    assert status == {"api": True, "echo": True, "nightly-report": False}
    err = next(f["error"] for f in doc["functions"] if f["name"] == "nightly-report")
    assert "cmd/jobs/nightly-report/main.go" in err and "not an int" in err
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in (root / "dist").glob("*.zip")) == ["api.zip", "echo.zip"]
    assert_only_warm(docker_client, root)


@pytest.mark.docker
def test_warm_docker_build_starts_last_builds_execs_while_it_plans(tmp_path, sample_docker_build, docker_cache, docker_client):
    """A warm no-op costs the plan, not the plan and then a `go build`: last build's execs start
    again while `go list` plans, and each is claimed by the identical call (else waited for)."""
    root = docker_project(tmp_path / "early", docker_cache)
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE).ok
    assert (root / ".gbl" / "docker" / "calls.json").is_file()
    exec_dir = root / ".gbl" / "docker" / "exec"

    def execs(events):
        return [e.detail for e in events if e.kind == "build" and f" in {IMAGE} " in e.detail]

    # A source changed since: the early exec relinks it, and the report and zip say so.
    main = root / "cmd" / "echo" / "main.go"
    main.write_text(main.read_text().replace("strings.ToUpper(", "strings.ToUpper(\"\" + "))
    events: list = []
    report = gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append)
    assert report.ok and len(execs(events)) == 2
    assert all(d.endswith(", started while gbl planned") for d in execs(events)), execs(events)
    assert {r.function.name: (r.relinked, r.rezipped) for r in report.results} == {
        "api": (False, False), "echo": (True, True), "nightly-report": (False, False)}
    assert verify.verify_zip(report.out_dir / "echo.zip").ok
    assert list(exec_dir.iterdir()) == []
    assert_only_warm(docker_client, root)
    # Another selection: nothing started early (it would build what was not asked for).
    events.clear()
    assert gobuild_lambda.build(root, names=["echo"], builder="docker", image=IMAGE, on_event=events.append).ok
    assert len(execs(events)) == 1 and "started while" not in execs(events)[0]
    # The same selection again, but the plan fails: the early execs are stopped, nothing is left.
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE).ok
    toml = root / "gbl.toml"
    toml.write_text(toml.read_text() + "\n[functions.nope]\nmemory = 128\n")
    with pytest.raises(errors.ConfigError):
        gobuild_lambda.build(root, builder="docker", image=IMAGE)
    assert list(exec_dir.iterdir()) == []
    assert_only_warm(docker_client, root)


@pytest.mark.docker
def test_warm_container_runs_only_requests_and_records_signed_with_its_secret(
        tmp_path, sample_docker_build, docker_cache, docker_client):
    """Writing into .gbl/ runs nothing in the warm container: a request file needs the container's
    secret (readable only through the daemon), and so does a head-start record."""
    from gobuild_lambda.builders import warm

    root = docker_project(tmp_path / "signed", docker_cache)
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE).ok
    (container,) = assert_only_warm(docker_client, root)
    exec_dir = root / ".gbl" / "docker" / "exec"
    token = warm.token_of(docker_client.containers.get(container.id).attrs)
    assert token and len(token) == 64

    def refused(run_id: str, data: bytes) -> str:
        (exec_dir / f"{run_id}.req").write_bytes(data)
        code = exec_dir / f"{run_id}.code"
        deadline = time.monotonic() + 30
        while not code.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert code.read_text() == "126" and not (exec_dir / f"{run_id}.req").exists()
        why = (exec_dir / f"{run_id}.err").read_text()
        for ext in ("code", "err"):
            (exec_dir / f"{run_id}.{ext}").unlink()
        return why

    def body(run_id, args):
        return json.dumps({"id": run_id, "args": args, "env": [], "dir": "/src"}).encode()

    forged = body("a" * 32, ["build", "./..."])
    assert "bad signature" in refused("a" * 32, warm.sign("0" * 64, forged).encode() + b"\n" + forged)
    assert "unsigned" in refused("b" * 32, forged)
    other = body("c" * 32, ["version"])
    assert "not a go build" in refused("c" * 32, warm.sign(token, other).encode() + b"\n" + other)
    # A request no inotify event announces (a hard link: as on Docker Desktop mounts that pass no
    # file events) is still found, by the helper's poll, and runs.
    polled = body("9" * 32, ["build", "-o", "/tmp/polled", "./cmd/echo"])
    outside = tmp_path / "polled.req"
    outside.write_bytes(warm.sign(token, polled).encode() + b"\n" + polled)
    os.link(outside, exec_dir / ("9" * 32 + ".req"))
    code = exec_dir / ("9" * 32 + ".code")
    deadline = time.monotonic() + 60
    while not code.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert code.read_text() == "0", (exec_dir / ("9" * 32 + ".err")).read_text()
    # What a killed gbl or a refused request leaves there is swept by the next build.
    for name in ("d" * 32 + ".out", "e" * 32 + ".code", "." + "f" * 32 + ".req.tmp"):
        (exec_dir / name).write_text("0")
    # A record whose environment was changed since gbl signed it starts nothing early.
    record = root / ".gbl" / "docker" / "calls.json"
    doc = json.loads(record.read_text())
    doc["execs"][0]["environment"]["GOFLAGS"] = "-toolexec=/bin/false"
    record.write_text(json.dumps(doc))
    events: list = []
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    builds = [e.detail for e in events if e.kind == "build" and f" in {IMAGE} " in e.detail]
    assert builds and not any("started while" in d for d in builds), builds
    assert list(exec_dir.iterdir()) == []
    # Signed again by that build: the next one starts early.
    events.clear()
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    assert all(e.detail.endswith(", started while gbl planned") for e in events
               if e.kind == "build" and f" in {IMAGE} " in e.detail)
    # .gbl/docker/exec deleted and made again while the container runs: it still has the old
    # directory mounted and never takes the request; gbl replaces it and the build runs.
    shutil.rmtree(exec_dir)
    events.clear()
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    assert any(e.kind == "cleanup" and "did not take the request" in e.detail for e in events), events
    (replaced,) = assert_only_warm(docker_client, root)
    assert replaced.id != container.id and list(exec_dir.iterdir()) == []


def _warm(events) -> list[str]:
    return [e.detail for e in events if e.kind == "container"]


@pytest.mark.docker
def test_warm_container_is_reused_replaced_when_stale_and_stops_when_idle(tmp_path, sample_docker_build, docker_cache, docker_client):
    root = docker_project(tmp_path / "warm", docker_cache)
    events: list = []
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    (first,) = assert_only_warm(docker_client, root)
    assert first.labels[docker_build.LABEL_PROJECT] == str(root) and first.labels[docker_build.LABEL_IMAGE] == IMAGE
    assert len(_warm(events)) == 1 and first.labels[docker_build.LABEL_IDLE] == "900"
    # A dead one (a crash, `docker kill`) is removed and replaced, never leaked.
    first.kill()
    events.clear()
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    (second,) = assert_only_warm(docker_client, root)
    assert second.id != first.id and len(_warm(events)) == 1
    assert any(e.kind == "cleanup" for e in events)
    # Other settings: another key; the old container is replaced, there are never two.
    toml = root / "gbl.toml"
    toml.write_text(toml.read_text() + "idle_timeout = 10\n")
    events.clear()
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE, on_event=events.append).ok
    (third,) = assert_only_warm(docker_client, root)
    assert third.id != second.id and third.labels[docker_build.LABEL_KEY] != second.labels[docker_build.LABEL_KEY]
    assert third.labels[docker_build.LABEL_IDLE] == "10"
    # Unused for 10 s, it exits by itself (nothing on the host keeps it alive).
    deadline = time.monotonic() + 120
    while third.status == "running":
        assert time.monotonic() < deadline, "the warm container did not stop when idle"
        time.sleep(1)
        third.reload()
    # The next build sweeps the stopped one and starts another; `gbl docker stop` removes it.
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE).ok
    (fourth,) = assert_only_warm(docker_client, root)
    assert fourth.id != third.id
    proc = run_gbl("docker", "stop", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"removed 1 warm build container(s) of {root}"
    assert gbl_containers(docker_client, root) == []


@pytest.mark.docker
def test_clean_removes_the_warm_container_with_the_zips(tmp_path, sample_docker_build, docker_cache, docker_client):
    """`gbl clean` ends the project's warm build container too (and only that project's)."""
    root = docker_project(tmp_path / "clean", docker_cache)
    assert gobuild_lambda.build(root, builder="docker", image=IMAGE).ok
    assert_only_warm(docker_client, root)
    others = {c.id for c in gbl_containers(docker_client)} - {c.id for c in gbl_containers(docker_client, root)}
    proc = run_gbl("clean", "-C", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["containers"] == 1 and str(root / "dist") in doc["removed"]
    assert gbl_containers(docker_client, root) == [] and not (root / "dist").exists()
    assert others <= {c.id for c in gbl_containers(docker_client)}


@pytest.mark.docker
def test_offline_container_builds_from_the_host_module_cache(tmp_path, sample_docker_build, docker_cache, docker_client):
    """The container's own module cache is empty and it has no network: the modules come from
    the host's module cache, offered read-only as the first GOPROXY entry."""
    report, _ = sample_docker_build
    cache = tmp_path / "cache"
    (cache / docker_build.CACHE_GOMODCACHE).mkdir(parents=True)
    (cache / docker_build.CACHE_GOCACHE).symlink_to(docker_cache / docker_build.CACHE_GOCACHE)  # links only
    host_modcache = docker_cache / docker_build.CACHE_GOMODCACHE  # the "host's" cache
    root = docker_project(tmp_path / "offline", cache)
    env = {**os.environ, "GOMODCACHE": str(host_modcache)}
    env.pop("GOPROXY", None)
    events: list = []
    done = gobuild_lambda.build(root, builder="docker", image=IMAGE, env=env, on_event=events.append)
    assert done.ok
    downloads = [e.detail for e in events if e.kind == "download"]
    assert any(d.startswith("github.com/aws/aws-lambda-go ") for d in downloads), downloads
    assert zip_hashes(done.out_dir) == zip_hashes(report.out_dir)
    (warm,) = assert_only_warm(docker_client, root)
    mounts = {m["Destination"]: m for m in warm.attrs["Mounts"]}
    assert mounts["/gbl/host-modcache"]["Source"] == str(host_modcache / "cache" / "download")
    assert mounts["/gbl/host-modcache"]["RW"] is False
    # No network: what Go downloaded into the empty container cache came from the host's.
    assert warm.attrs["HostConfig"]["NetworkMode"] == "none"
    assert (cache / docker_build.CACHE_GOMODCACHE / "github.com" / "aws").is_dir()


# ------------------------------------------------------------------------------- ownership
def _all_files(*roots: Path):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            yield Path(dirpath)
            for name in filenames:
                yield Path(dirpath) / name


@pytest.mark.docker
def test_everything_gbl_writes_belongs_to_the_invoking_user(sample_docker_build, docker_client):
    """gbl runs as a non-root uid (4321 when the suite runs as root): containers use that uid."""
    report, _ = sample_docker_build
    if os.getuid() == 0:
        uid, gid = TEST_UID, TEST_GID
    else:
        uid, gid = os.getuid(), os.getgid()
    # A world-traversable directory the user owns (pytest's tmp root is private to root).
    base = Path(tempfile.mkdtemp(prefix="gbl-owner-"))
    try:
        os.chmod(base, 0o755)
        project = copy_project(SAMPLE, base / "sample_project")
        cache = base / "cache"
        session_cache = report.plan.config.docker.cache_dir
        # Warm caches (a copy of the session's) so the test links rather than recompiles.
        shutil.copytree(Path(session_cache), cache, symlinks=True)
        home = base / "home"
        home.mkdir()
        toml = project / "gbl.toml"
        toml.write_text(toml.read_text() + f'\n[docker]\nnetwork = "none"\ncache_dir = "{cache}"\n')
        if os.getuid() == 0:
            for path in _all_files(base):
                os.lchown(path, uid, gid)
        env = {
            "PATH": f"{Path(GO).parent}:/usr/bin:/bin", "HOME": str(home), "GOTOOLCHAIN": "local",
            "GOMODCACHE": str(cache / docker_build.CACHE_GOMODCACHE), "GOPROXY": "off",
        }
        for key in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            if key in os.environ:
                env[key] = os.environ[key]
        # Everything the child needs is imported here first (it cannot read this Python's files).
        preload_for_child()
        gobuild_lambda.verify_zip(report.results[0].zip_path, arch=report.results[0].function.arch)

        def build():
            try:
                done = gobuild_lambda.build(project, builder="docker", image=IMAGE, jobs=1, env=env)
            except errors.GblError as exc:
                return exc.exit_code, str(exc)
            return 0, json.dumps({"user": [os.getuid(), os.getgid()], "ok": done.ok})

        if os.getuid() == 0:
            sock = Path(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://"))
            groups = [sock.stat().st_gid] if sock.exists() else []
            code, text = as_user(uid, gid, groups, build)
        else:
            code, text = build()
        assert code == 0, text
        assert json.loads(text) == {"user": [uid, gid], "ok": True}

        written = list(_all_files(project / "dist", project / ".gbl", cache, home))
        binaries = [p for p in (project / ".gbl" / "build").rglob("*") if p.is_file()]
        assert sorted(p.name for p in binaries) == ["api", "echo", "nightly-report"]  # from the containers
        assert sorted(p.name for p in (project / "dist").glob("*.zip")) == ["api.zip", "echo.zip", "nightly-report.zip"]
        wrong = [(str(p), p.lstat().st_uid, p.lstat().st_gid) for p in written
                 if (p.lstat().st_uid, p.lstat().st_gid) != (uid, gid)]
        assert wrong == []
        assert zip_hashes(project / "dist") == zip_hashes(report.out_dir)
        assert_only_warm(docker_client, project)
    finally:
        _rmtree(base)


def _rmtree(path: Path) -> None:
    """Remove a tree that holds a Go module cache (read-only directories)."""
    for p in _all_files(path):
        if p.is_dir() and not p.is_symlink():
            try:
                p.chmod(0o755)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ private-module settings
@pytest.mark.docker
def test_netrc_and_ssh_agent_are_mounted_read_only_and_never_copied(tmp_path, sample_docker_build, docker_cache, docker_client):
    secret = "gbl-test-secret-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    netrc = home / ".netrc"
    netrc.write_text(f"machine private.example.com login gbl password {secret}\n")
    netrc.chmod(0o600)
    known_hosts = home / ".ssh" / "known_hosts"
    known_hosts.write_text("private.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJsYmdibGJsYmdibGJsYmdibGJsYmdibGJsYmdibGJs\n")
    (home / ".gitconfig").write_text('[url "git@private.example.com:"]\n\tinsteadOf = https://private.example.com/\n')
    agent_sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(agent_sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if agent_sock.exists():
                break
            time.sleep(0.05)
        root = docker_project(tmp_path / "private", docker_cache, "netrc = true\nssh_agent = true\n")
        env = {
            **os.environ, "HOME": str(home), "SSH_AUTH_SOCK": str(agent_sock),
            "GOMODCACHE": str(docker_cache / docker_build.CACHE_GOMODCACHE),
        }
        env.pop("NETRC", None)
        images_before = sorted(i.id for i in docker_client.images.list(all=True))
        seen: dict[str, dict] = {}
        stream = docker_client.events(
            decode=True, filters={"type": "container", "event": "create", "label": f"{docker_build.LABEL_PROJECT}={root}"},
        )

        def watch():
            try:
                for ev in stream:
                    try:
                        seen[ev["id"]] = docker_client.api.inspect_container(ev["id"])
                    except Exception as exc:  # noqa: BLE001 - removed already: fails below
                        seen[ev["id"]] = {"error": str(exc)}
            except Exception:  # noqa: BLE001 - the stream was closed
                pass

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            report = gobuild_lambda.build(root, builder="docker", image=IMAGE, env=env)
        finally:
            time.sleep(0.5)
            stream.close()
            watcher.join(timeout=10)
        assert report.ok
        assert len(seen) == 1, seen  # one warm container runs both go build calls
        for info in seen.values():
            assert "error" not in info, info
            mounts = {m["Destination"]: m for m in info["Mounts"]}
            assert mounts["/gbl/home/.netrc"]["Source"] == str(netrc)
            assert mounts["/gbl/home/.netrc"]["RW"] is False
            assert mounts["/gbl/home/.ssh/known_hosts"]["RW"] is False
            assert mounts["/gbl/home/.gitconfig"]["RW"] is False
            assert mounts["/gbl/ssh-agent.sock"]["Source"] == str(agent_sock)
            assert mounts["/etc/passwd"]["RW"] is False  # names the uid, for ssh
            assert mounts["/src"]["Source"] == str(root) and mounts["/src"]["RW"] is False
            assert mounts["/src/.gbl/build"]["RW"] is True
            assert info["HostConfig"]["ReadonlyRootfs"] is True
            assert info["HostConfig"]["NetworkMode"] == "none"
            assert info["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
            assert "NETRC=/gbl/home/.netrc" in info["Config"]["Env"]
            assert "SSH_AUTH_SOCK=/gbl/ssh-agent.sock" in info["Config"]["Env"]
            assert info["Config"]["Labels"][docker_build.LABEL_MANAGED] == "1"
        # Never copied: not into a zip, not into anything gbl wrote, not into an image.
        for path in _all_files(root / "dist", root / ".gbl"):
            if path.is_file():
                data = path.read_bytes()
                assert secret.encode() not in data, path
                if path.suffix == ".zip":
                    import zipfile

                    with zipfile.ZipFile(path) as zf:
                        assert zf.namelist() == ["bootstrap"]
                        assert secret.encode() not in zf.read("bootstrap")
        assert sorted(i.id for i in docker_client.images.list(all=True)) == images_before
        assert_only_warm(docker_client, root)
    finally:
        agent.terminate()
        agent.wait(timeout=10)


# ------------------------------------------------------------------------------- interrupts
@pytest.mark.docker
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_stops_the_build_in_the_warm_container(tmp_path, signum, golang_image, docker_cache, docker_client):
    # An empty build cache: the container compiles for a minute or more, so the signal lands
    # while `go build` runs (by exec, in the warm container).
    cache = tmp_path / "cold-cache"
    shutil.copytree(docker_cache / docker_build.CACHE_GOMODCACHE, cache / docker_build.CACHE_GOMODCACHE, symlinks=True)
    root = docker_project(tmp_path / "interrupted", cache)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gobuild_lambda", "build", "--docker", "--image", IMAGE, "-C", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # The default disposition, whatever the runner set: Ctrl-C must reach gbl.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 900  # the helper compiles itself first, from an empty cache
        while not any(_exec_running(c) for c in docker_client.containers.list(
            filters={"label": f"{docker_build.LABEL_PROJECT}={root}", "status": "running"}
        )):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no go build started in a build container"
            time.sleep(0.2)
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == errors.EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    # The go build and its compilers were killed inside the container; the container stays warm.
    deadline = time.monotonic() + 10
    while any(building(c) for c in gbl_containers(docker_client, root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert_only_warm(docker_client, root)
    assert list((root / ".gbl" / "docker" / "exec").iterdir()) == []
    dist = root / "dist"
    assert list(dist.glob("*.zip")) == [] and list(dist.glob(".*.tmp")) == []
    assert not (dist / "manifest.json").exists() or json.loads((dist / "manifest.json").read_text())["functions"] == {}


# ---------------------------------------------------------------------- daemon and image errors
@pytest.mark.parametrize(
    "docker_host, reason",
    [
        ("unix:///nonexistent/gbl/docker.sock", "no socket at /nonexistent/gbl/docker.sock"),
        ("tcp://127.0.0.1:1", "Connection refused"),
    ],
    ids=["no-socket", "refused"],
)
def test_daemon_unreachable_is_a_clear_error(tmp_path, docker_host, reason):
    root = copy_project(SAMPLE, tmp_path / "p")
    env = {**os.environ, "DOCKER_HOST": docker_host}
    proc = run_gbl("build", "--docker", "-C", str(root), env=env)
    assert proc.returncode == errors.EXIT_DOCKER == 6, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"cannot reach the Docker daemon at {docker_host} (from DOCKER_HOST)" in proc.stderr
    assert reason in proc.stderr
    assert "hint:" in proc.stderr and "docker info" in proc.stderr
    assert not list(root.glob("dist/*.zip"))


@pytest.mark.docker
def test_connect_uses_only_the_environment_it_is_given(monkeypatch, docker_client):
    # The core never reads os.environ (nor lets the SDK fall back to it).
    real = os.environ.get("DOCKER_HOST")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")  # would fail, were it read
    env = {"HOME": "/nonexistent", **({"DOCKER_HOST": real} if real else {})}
    client = docker_build.connect(env)
    try:
        assert client.ping()
    finally:
        client.close()


def test_daemon_permission_denied_is_a_clear_error(tmp_path):
    # A socket this user may not open (as root: run as another uid; else: mode 000).
    base = Path(tempfile.mkdtemp(prefix="gbl-sock-"))
    try:
        os.chmod(base, 0o755)
        path = base / "docker.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(1)
        os.chmod(path, 0o660 if os.getuid() == 0 else 0)
        env = {"DOCKER_HOST": f"unix://{path}", "HOME": str(base)}

        def connect():
            try:
                docker_build.connect(env)
            except errors.DockerError as exc:
                return exc.exit_code, str(exc)
            return 0, "connected"

        if os.getuid() == 0:
            preload_for_child()
            code, text = as_user(TEST_UID, TEST_GID, [], connect)
        else:
            code, text = connect()
        server.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert code == errors.EXIT_DOCKER, text
    assert f"cannot reach the Docker daemon at unix://{path} (from DOCKER_HOST)" in text
    assert "Permission denied" in text
    assert "docker` group" in text


@pytest.mark.docker
def test_missing_image_is_a_clear_error(tmp_path, docker_client):
    root = copy_project(SAMPLE, tmp_path / "p")
    image = "golang:0.0-gbl-missing"
    proc = run_gbl("build", "--docker", "--image", image, "-C", str(root))
    assert proc.returncode == errors.EXIT_DOCKER, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"the image {image} is not present and cannot be pulled" in proc.stderr
    assert f"docker pull {image}" in proc.stderr and "--image" in proc.stderr
    assert gbl_containers(docker_client, root) == []


# --------------------------------------------------------------- settings (no daemon needed)
def _plan(tmp_path, toml: str = "", gomod_extra: str = ""):
    root = copy_project(SAMPLE, tmp_path / "p")
    if toml:
        (root / "gbl.toml").write_text(toml)
    if gomod_extra:
        gomod = root / "go.mod"
        gomod.write_text(gomod.read_text() + gomod_extra)
    return gobuild_lambda.plan(root)


def test_default_image_follows_go_mod(tmp_path):
    plan = _plan(tmp_path)
    assert docker_build.default_image(plan) == "golang:1.26"
    from dataclasses import replace

    assert docker_build.default_image(replace(plan, toolchain="go1.26.8")) == "golang:1.26.8"
    assert docker_build.default_image(replace(plan, toolchain="go1.27rc1")) == "golang:1.27rc1"
    assert docker_build.default_image(replace(plan, go_directive="1.23.4", toolchain="")) == "golang:1.23.4"
    assert docker_build.default_image(replace(plan, go_directive="", toolchain="")) is None
    with pytest.raises(errors.DockerError) as exc:
        docker_build.image_for(plan.functions[0], replace(plan, go_directive="", toolchain=""))
    assert exc.value.exit_code == errors.EXIT_DOCKER and "--image" in exc.value.hint


def test_plan_shows_each_functions_builder(tmp_path):
    root = copy_project(SAMPLE, tmp_path / "p")
    (root / "gbl.toml").write_text(
        '[defaults]\nbuilder = "docker"\n[functions.echo]\narch = "arm64"\nimage = "golang:1.26.8"\n'
        '[functions.api]\nbuilder = "local"\n'
    )
    (root / "go.mod").write_text((root / "go.mod").read_text() + "\ntoolchain go1.26.8\n")
    proc = run_gbl("plan", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if line.count("│") > 3}
    assert "local" in rows["api"] and "docker" not in rows["api"]
    assert "docker (golang:1.26.8)" in rows["echo"]
    assert "docker (golang:1.26.8)" in rows["nightly-report"]  # from the toolchain line
    doc = json.loads(run_gbl("plan", "-C", str(root), "--json").stdout)
    assert {f["name"]: f["builder"] for f in doc["functions"]} == {
        "api": "local", "echo": "docker", "nightly-report": "docker",
    }


def test_container_spec_is_read_only_but_for_build_dir_and_caches(tmp_path):
    plan = _plan(tmp_path, '[docker]\nnetwork = "none"\ncache_dir = "~/cache"\n')
    goenv = tmp_path / "go-env"
    goenv.write_text("GOPRIVATE=example.com/private\nGOFLAGS=-mod=mod\nGOBIN=/nowhere\n")
    env = {"HOME": str(tmp_path / "h"), "GOENV": str(goenv), "GOPROXY": "https://proxy.example.com",
           "GOFLAGS": "-tags=x", "GOAMD64": "v3", "GONOSUMDB": "example.com", "AWS_SECRET_ACCESS_KEY": "no"}
    settings = docker_build.resolve_settings(plan, env, platform="linux")
    assert settings.cache_dir == tmp_path / "h" / "cache"
    assert settings.network == "none" and settings.netrc is None and settings.ssh_auth_sock is None
    call = builder.plan_calls([plan.function("api")], plan.project_dir, jobs=4)[0]
    args = docker_build.container_args(call.args, plan.project_dir / ".gbl" / "build")
    assert args[: args.index("-o")] == call.args[: call.args.index("-o")]
    assert args[args.index("-o") + 1] == f"/src/.gbl/build/{call.out_dir.name}/"
    spec = docker_build.container_spec(plan, settings, "golang:1.26", {"gbl.managed": "1"})
    mounts = {m["Target"]: m for m in spec["mounts"]}
    assert mounts["/src"]["Source"] == str(plan.project_dir) and mounts["/src"]["ReadOnly"] is True
    assert mounts["/src/.gbl/build"]["ReadOnly"] is False
    assert mounts["/gbl/cache/mod"]["Source"] == str(settings.cache_dir / "gomodcache")
    assert mounts["/gbl/cache/build"]["Source"] == str(settings.cache_dir / "gocache")
    assert spec["read_only"] is True and spec["network_mode"] == "none"
    assert spec["user"] == f"{os.getuid()}:{os.getgid()}"
    assert spec["cap_drop"] == ["ALL"] and spec["security_opt"] == ["no-new-privileges"]
    # The warm container's own process is the idle helper (read-only source), stopping after 900 s.
    assert spec["entrypoint"] == ["go"] and spec["command"] == ["run", "-trimpath", "/gbl/warm/main.go", "idle", "900"]
    assert mounts["/gbl/warm"]["ReadOnly"] is True and mounts["/gbl/exec"]["ReadOnly"] is False
    assert mounts["/gbl/exec"]["Source"] == str(plan.project_dir / ".gbl" / "docker" / "exec")
    assert "/gbl/host-modcache" not in mounts  # this HOME has no Go module cache
    # Each go build runs by exec with the call's environment.
    e = docker_build.exec_environment(plan, settings, dict(call.env))
    assert spec["environment"]["GOFLAGS"] == "" and spec["environment"]["CGO_ENABLED"] == "0"
    # The host's Go settings come with each exec, not in the container's own environment (its key).
    assert "GOPRIVATE" not in spec["environment"] and spec["environment"]["GOPROXY"] == "off"
    assert set(spec["environment"]) <= set(e)  # each exec sets every key the container has
    assert e["GOPROXY"] == "https://proxy.example.com" and e["GOPRIVATE"] == "example.com/private"
    assert e["GOFLAGS"] == "-tags=x"  # the environment wins over the go env file, as for `go`
    assert e["GOAMD64"] == "v3" and e["GONOSUMDB"] == "example.com"
    assert "GOBIN" not in e and "AWS_SECRET_ACCESS_KEY" not in e
    assert (e["GOOS"], e["GOARCH"], e["CGO_ENABLED"], e["GOTOOLCHAIN"]) == ("linux", "amd64", "0", "local")
    assert e["HOME"] == "/gbl/home" and e["GOCACHE"] == "/gbl/cache/build"


def test_host_module_cache_is_the_first_goproxy_read_only(tmp_path):
    plan = _plan(tmp_path, '[docker]\nidle_timeout = 60\n')
    download = tmp_path / "gopath" / "pkg" / "mod" / "cache" / "download"
    download.mkdir(parents=True)
    for env, proxy in [
        ({"HOME": str(tmp_path / "h"), "GOPATH": str(tmp_path / "gopath")}, "https://proxy.golang.org,direct"),
        ({"HOME": str(tmp_path / "h"), "GOMODCACHE": str(tmp_path / "gopath" / "pkg" / "mod"), "GOPROXY": "off"}, "off"),
    ]:
        settings = docker_build.resolve_settings(plan, env, platform="linux")
        assert settings.host_download == download and settings.idle_timeout == 60
        spec = docker_build.container_spec(plan, settings, "golang:1.26", {})
        mounts = {m["Target"]: m for m in spec["mounts"]}
        assert mounts["/gbl/host-modcache"]["Source"] == str(download)
        assert mounts["/gbl/host-modcache"]["ReadOnly"] is True
        assert spec["command"][-1] == "60"
        e = docker_build.exec_environment(plan, settings, {"GOWORK": "off"})
        assert e["GOPROXY"] == f"file:///gbl/host-modcache,{proxy}"


def test_private_module_settings_must_name_something(tmp_path):
    plan = _plan(tmp_path, "[docker]\nnetrc = true\nssh_agent = true\n")
    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(errors.DockerError) as exc:
        docker_build.resolve_settings(plan, {"HOME": str(home)}, platform="linux")
    assert "netrc = true" in exc.value.message and str(home / ".netrc") in exc.value.message
    (home / ".netrc").write_text("machine x login y password z\n")
    with pytest.raises(errors.DockerError) as exc:
        docker_build.resolve_settings(plan, {"HOME": str(home)}, platform="linux")
    assert "SSH_AUTH_SOCK is not set" in exc.value.message and "ssh-add" in exc.value.hint
    sock = tmp_path / "agent.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock))
    try:
        settings = docker_build.resolve_settings(plan, {"HOME": str(home), "SSH_AUTH_SOCK": str(sock)}, platform="linux")
    finally:
        s.close()
    assert settings.netrc == home / ".netrc" and settings.ssh_auth_sock == str(sock)
    assert settings.known_hosts is None and settings.gitconfig is None  # none on the host
    spec = docker_build.container_spec(plan, settings, "golang:1.26", {})
    mounts = {m["Target"]: m for m in spec["mounts"]}
    assert mounts["/gbl/home/.netrc"]["ReadOnly"] is True
    assert mounts["/gbl/ssh-agent.sock"]["Source"] == str(sock)
    assert spec["environment"]["NETRC"] == "/gbl/home/.netrc"
    assert spec["environment"]["SSH_AUTH_SOCK"] == "/gbl/ssh-agent.sock"
    # Docker Desktop for Mac forwards the agent at a fixed path instead.
    mac = docker_build.resolve_settings(plan, {"HOME": str(home), "SSH_AUTH_SOCK": "/private/tmp/x"}, platform="darwin")
    assert mac.ssh_auth_sock == "/run/host-services/ssh-auth.sock"


def test_docker_endpoint_follows_docker_host_then_context(tmp_path):
    assert docker_build.endpoint({"DOCKER_HOST": "tcp://h:2375"}).describe() == "tcp://h:2375 (from DOCKER_HOST)"
    cfg = tmp_path / ".docker"
    meta = cfg / "contexts" / "meta" / hashlib.sha256(b"colima").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": "colima", "Endpoints": {"docker": {"Host": "unix:///u/.colima/docker.sock"}}}))
    (cfg / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    ep = docker_build.endpoint({"HOME": str(tmp_path)})
    assert ep.host == "unix:///u/.colima/docker.sock" and "colima" in ep.source
    assert docker_build.endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "default"}).host is None


def test_rootless_daemon_builds_as_container_root():
    class Daemon:
        def __init__(self, options):
            self.options = options

        def info(self):
            return {"SecurityOptions": self.options}

    # Rootless Docker: container root is the invoking user, so gbl runs containers as 0:0 there.
    assert docker_build._rootless(Daemon(["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"]))
    assert not docker_build._rootless(Daemon(["name=seccomp,profile=default"]))
