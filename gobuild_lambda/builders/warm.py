"""The warm build container: one per project, image and settings, kept running between builds.

Creating and removing a container per ``go build`` costs the daemon seconds (on the vfs storage
driver it copies the whole image each time), and even an ``exec`` in a running one takes it
50-100 ms to start the process.  So:

* ``ensure`` finds this project's running container for an image and settings (labels
  ``gbl.warm=1`` and ``gbl.key``, a hash of the image's ID and the whole container spec), or
  creates one; under a lock, so there are never two for one key.  One of the project's warm
  containers for the same image with another key (settings or the image changed), and any
  stopped one, is removed: nothing is leaked;
* its main process is :data:`HELPER_SOURCE`, a small Go program run by the image's own ``go``: it
  runs each ``go build`` gbl asks for with a request file (:func:`request`), signed with the
  container's secret (:data:`TOKEN_ENV`), and refuses anything else; it
  exits by itself once no build has run for ``[docker] idle_timeout`` seconds (nothing on the
  host stays alive), and wraps each ``go build`` so that it can be killed (``gbl-warm kill ID``:
  Ctrl-C and SIGTERM stop the build, not the container) and leaves its output and exit code in
  ``.gbl/docker/exec/`` on the host, which gbl polls: no API call waits while Go compiles;
* ``stop`` (``gbl docker stop``) removes a project's warm containers, or every one.

The security settings are the short-lived container's (read-only root and source, uid:gid, no
capabilities, no network unless asked); the spec is :func:`container_spec`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Mapping, Sequence

from ..errors import DockerError

# Labels on every container gbl starts: `docker ps -a --filter label=gbl.managed=1` finds them.
LABEL_MANAGED = "gbl.managed"
LABEL_PROJECT = "gbl.project"
LABEL_IMAGE = "gbl.image"
CONTAINER_SRC = "/src"  # the project, mounted read-only

CONTAINER_WARM = "/gbl/warm"  # the helper's source, read-only
CONTAINER_EXEC = "/gbl/exec"  # gbl's requests; each build's output and exit code, read by gbl on the host
HELPER = "/tmp/gbl-warm"  # the helper's binary, copied there by its idle process
EXEC_DIR = Path(".gbl") / "docker" / "exec"  # on the host, under the project
LABEL_WARM = "gbl.warm"
LABEL_KEY = "gbl.key"
LABEL_IDLE = "gbl.idle-timeout"
DEFAULT_IDLE_TIMEOUT_S = 900
READY = b"gbl-warm ready"
_READY_TIMEOUT_S = 900  # the helper compiles once per build cache: minutes on a slow machine
_CHECK_EVERY_S = 1.0  # how often a waiting build asks the daemon whether its container still runs
# A random secret in each warm container's environment (readable only through the daemon): the
# helper runs a request only when it is signed with it.
TOKEN_ENV = "GBL_WARM_TOKEN"
# A request the helper has not taken after this long never will be: its container is replaced.
_UNCLAIMED_S = 10.0

HELPER_SOURCE = """// gbl-warm: the main process of gbl's warm build container, and the wrapper of each `go build`
// gbl runs in it (docs/docker.md).  Written by gbl; standard library only.
//
//	gbl-warm idle SECONDS     copy itself to /tmp/gbl-warm, say "gbl-warm ready", start each
//	                          request gbl leaves in /gbl/exec (ID.req, signed with the container's
//	                          GBL_WARM_TOKEN) as `gbl-warm run ID -- go ARGS...`, and exit once no
//	                          build runs and none has started or ended for SECONDS
//	gbl-warm run ID -- CMD... run CMD in its own process group (its pid in /tmp/gbl-runs/ID), its
//	                          output to /gbl/exec/ID.out and .err, then its exit code to ID.code
//	gbl-warm kill ID          kill run ID's process group (now, or as soon as it starts)
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	results     = "/gbl/exec"
	runs        = "/tmp/gbl-runs"
	activity    = runs + "/.activity"
	self        = "/tmp/gbl-warm"
	tokenEnv    = "GBL_WARM_TOKEN"
	requestPoll = time.Second           // while inotify reports requests
	fastPoll    = 20 * time.Millisecond // once a request was found without it
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gbl-warm idle SECONDS | run ID -- CMD... | kill ID")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "idle":
		idle(os.Args[2])
	case "run":
		os.Exit(report(os.Args[2], os.Args[4:]))
	case "kill":
		kill(os.Args[2])
	default:
		os.Exit(2)
	}
}

func touch() {
	now := time.Now()
	if os.Chtimes(activity, now, now) != nil {
		os.WriteFile(activity, nil, 0o600)
	}
}

func idle(arg string) {
	secs, err := strconv.Atoi(arg)
	if err != nil || secs <= 0 {
		fmt.Fprintln(os.Stderr, "gbl-warm: bad idle timeout", arg)
		os.Exit(2)
	}
	timeout := time.Duration(secs) * time.Second
	must(os.MkdirAll(runs, 0o700))
	touch()
	exe, err := os.Executable()
	must(err)
	must(copyFile(exe, self+".new"))
	must(os.Rename(self+".new", self))
	token := os.Getenv(tokenEnv)
	os.Unsetenv(tokenEnv) // the builds never see it
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("gbl-warm ready")
	// A request is picked up as soon as inotify reports it (where a bind mount passes no file
	// events, at the next poll): far sooner than the daemon's exec, which it replaces.
	wake := make(chan struct{}, 1)
	go watch(wake)
	tick := time.NewTicker(requestPoll)
	every := min(timeout, 5*time.Second)
	checked := time.Now()
	fast := false
	for {
		byEvent := false
		select {
		case <-stop:
			os.Exit(0)
		case <-wake:
			byEvent = true
		case <-tick.C:
		}
		started := serve(token)
		if started > 0 && !byEvent && !fast {
			// Found by the poll, not by inotify: this mount passes no file events (some Docker
			// Desktop file sharing), so poll often from now on.
			fast = true
			tick.Reset(fastPoll)
		}
		if started > 0 || time.Since(checked) < every {
			continue
		}
		checked = time.Now()
		st, err := os.Stat(activity)
		if live() == 0 && (err != nil || time.Since(st.ModTime()) >= timeout) && serve(token) == 0 {
			fmt.Println("gbl-warm: idle, exiting")
			os.Exit(0)
		}
	}
}

// watch signals wake whenever a file lands in the results directory.
func watch(wake chan<- struct{}) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		return
	}
	if _, err := syscall.InotifyAddWatch(fd, results, syscall.IN_MOVED_TO|syscall.IN_CLOSE_WRITE); err != nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// request is what gbl writes to /gbl/exec/ID.req: its HMAC-SHA256 (hex, keyed by the
// container's token), a newline, then this as JSON.
type request struct {
	ID   string   `json:"id"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// serve starts every request waiting in the results directory; how many it started.
func serve(token string) int {
	names, err := os.ReadDir(results)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range names {
		id, ok := strings.CutSuffix(e.Name(), ".req")
		if !ok || !validID(id) {
			continue
		}
		// Claimed by renaming it: gbl withdraws a request by removing it, and only one of the two wins.
		path := filepath.Join(results, e.Name())
		taken := path + ".taken"
		if os.Rename(path, taken) != nil {
			continue
		}
		data, err := os.ReadFile(taken)
		os.Remove(taken)
		if err != nil {
			continue
		}
		if why := start(token, id, data); why != "" {
			// Refused: nothing runs, and gbl (waiting for ID.code) hears why.
			base := filepath.Join(results, id)
			os.WriteFile(base+".err", []byte("gbl-warm: request refused: "+why+"\\n"), 0o644)
			os.WriteFile(base+".code.tmp", []byte("126"), 0o644)
			os.Rename(base+".code.tmp", base+".code")
			continue
		}
		n++
	}
	return n
}

// start checks a request and runs `go ARGS` for it under `gbl-warm run`; why it refused, or "".
func start(token, id string, data []byte) string {
	mac, body, ok := strings.Cut(string(data), "\\n")
	if !ok || token == "" {
		return "unsigned"
	}
	h := hmac.New(sha256.New, []byte(token))
	h.Write([]byte(body))
	if !hmac.Equal([]byte(mac), []byte(hex.EncodeToString(h.Sum(nil)))) {
		return "bad signature"
	}
	var req request
	if json.Unmarshal([]byte(body), &req) != nil || req.ID != id || len(req.Args) == 0 || req.Args[0] != "build" {
		return "not a go build"
	}
	cmd := exec.Command(self, append([]string{"run", id, "--", "go"}, req.Args...)...)
	cmd.Env = append(os.Environ(), req.Env...)
	cmd.Dir = req.Dir
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	touch()
	go cmd.Wait()
	return ""
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func live() int {
	n := 0
	names, _ := os.ReadDir(runs)
	for _, e := range names {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".kill") {
			continue
		}
		if pid := readPid(e.Name()); pid > 0 && syscall.Kill(pid, 0) == nil {
			n++
		}
	}
	return n
}

func readPid(id string) int {
	b, err := os.ReadFile(filepath.Join(runs, id))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// report runs argv and leaves its output and exit code in the results directory, which gbl reads on
// the host: no API call waits while a build runs, however long it stays silent.
func report(id string, argv []string) int {
	if len(argv) == 0 || strings.ContainsAny(id, "/.") {
		return 2
	}
	base := filepath.Join(results, id)
	stdout, err1 := os.Create(base + ".out")
	stderr, err2 := os.Create(base + ".err")
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "gbl-warm:", err1, err2)
		return 125
	}
	code := run(id, argv, stdout, stderr)
	stdout.Close()
	stderr.Close()
	must(os.WriteFile(base+".code.tmp", []byte(strconv.Itoa(code)), 0o644))
	must(os.Rename(base+".code.tmp", base+".code"))
	return code
}

func run(id string, argv []string, stdout, stderr io.Writer) int {
	touch()
	defer touch()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "gbl-warm:", err)
		return 127
	}
	pidfile := filepath.Join(runs, id)
	os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	defer os.Remove(pidfile)
	defer os.Remove(pidfile + ".kill")
	if _, err := os.Stat(pidfile + ".kill"); err == nil { // killed before it started
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	if err != nil {
		return 127
	}
	return 0
}

func kill(id string) {
	if strings.ContainsAny(id, "/.") {
		os.Exit(2)
	}
	os.WriteFile(filepath.Join(runs, id+".kill"), nil, 0o600)
	if pid := readPid(id); pid > 0 {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gbl-warm:", err)
		os.Exit(1)
	}
}
"""


def helper_file(cache_dir: Path) -> Path:
    """Where the helper's source is written on the host (mounted read-only at CONTAINER_WARM)."""
    return cache_dir / "warm" / "main.go"


def write_helper(cache_dir: Path) -> None:
    path = helper_file(cache_dir)
    data = HELPER_SOURCE.encode()
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    from ..fsutil import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def idle_command(timeout: int) -> list[str]:
    """The container's command: ``go run`` of the helper (with gbl's own flags, so the standard
    packages it compiles are the ones the builds reuse from the build cache)."""
    return ["run", "-trimpath", f"{CONTAINER_WARM}/main.go", "idle", str(int(timeout))]


def container_key(image_id: str, spec: Mapping) -> str:
    """What makes a warm container reusable: the image's ID and everything in its spec."""
    blob = json.dumps([image_id, {k: v for k, v in spec.items() if k != "labels"}, HELPER_SOURCE],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _explain(exc: BaseException) -> str:
    return str(getattr(exc, "explanation", None) or exc)


def find(client, labels: Sequence[str]) -> list:
    return client.containers.list(all=True, filters={"label": [f"{LABEL_WARM}=1", *labels]})


def ensure(client, spec: dict, key: str, lock_path: Path, emit: Callable[[str, str], None],
           waiting: Callable[[str], None]):
    """This key's running, ready warm container: found, or created and started now."""
    from ..fsutil import DirLock

    labels = spec["labels"]
    with DirLock(lock_path, what="the warm build container", timeout=600,
                 on_wait=lambda text: emit("lock-wait", text)):
        keep = None
        for c in find(client, [f"{LABEL_MANAGED}=1", f"{LABEL_PROJECT}={labels[LABEL_PROJECT]}"]):
            same = c.labels.get(LABEL_KEY) == key and c.status == "running"
            if same and keep is None:
                keep = c
            elif c.labels.get(LABEL_IMAGE) == labels[LABEL_IMAGE] or c.status != "running":
                remove(c)
                emit("cleanup", f"removed the build container {c.short_id} "
                                f"({'its settings or image changed' if c.status == 'running' else c.status})")
        if keep is not None:
            try:
                _wait_ready(keep, waiting)
                return keep
            except DockerError:
                remove(keep)
        return _create(client, spec, emit, waiting)


def _create(client, spec: dict, emit, waiting):
    from docker.errors import APIError, DockerException

    image = spec["image"]
    # Not part of the key (container_key): a new secret for every container.
    spec = {**spec, "environment": {**spec.get("environment", {}), TOKEN_ENV: secrets.token_hex(32)}}
    try:
        container = client.containers.create(**spec)
    except APIError as exc:
        raise DockerError(
            f"cannot create a build container from {image}: {_explain(exc)}",
            hint="check [docker] network and cache_dir in gbl.toml, and that the image is a "
            "golang image with `go` on its PATH",
        ) from None
    except DockerException as exc:
        raise DockerError(f"the Docker daemon failed while creating a container: {exc}") from None
    try:
        container.start()
        emit("container", f"started the build container {container.short_id} from {image} "
                          f"(it stops after {spec['labels'][LABEL_IDLE]} s unused)")
        _wait_ready(container, waiting)
    except APIError as exc:
        remove(container)
        raise DockerError(
            f"cannot start the build container from {image}: {_explain(exc)}",
            hint="the image must have `go` on its PATH (the official golang images do)",
        ) from None
    except BaseException:
        remove(container)
        raise
    return container


def _wait_ready(container, waiting: Callable[[str], None]) -> None:
    """Until the helper says it is ready (it compiles itself once per build cache)."""
    from ..children import REPORT_EVERY_S

    from docker.errors import DockerException

    start = time.monotonic()
    next_report = start + REPORT_EVERY_S
    while True:
        try:
            logs = container.logs(stdout=True, stderr=True)
            if READY in logs:
                return
            container.reload()
        except DockerException as exc:  # being removed, or gone: the caller starts another
            raise DockerError(f"the build container {container.short_id} went away: {_explain(exc)}") from None
        now = time.monotonic()
        if container.status != "running" or now - start > _READY_TIMEOUT_S:
            text = logs.decode("utf-8", "replace").strip()
            raise DockerError(
                f"the build container {container.short_id} did not start its helper "
                f"({container.status}): {text or 'no output'}",
                hint="the image needs a working `go` (an official golang image); "
                     "`docker logs` shows the container's output",
            )
        if now >= next_report:
            waiting(f"waiting for the build container {container.short_id} to start: "
                    f"{int(now - start)} s")
            next_report = now + REPORT_EVERY_S
        time.sleep(0.1)


def remove(container) -> None:
    try:
        container.remove(force=True)
    except Exception:  # noqa: BLE001 - gone already, removal in progress, daemon gone
        pass


def token_of(attrs: Mapping) -> str | None:
    """The warm container's secret, from its inspect document (None: not one of gbl's)."""
    for item in (attrs.get("Config") or {}).get("Env") or []:
        key, _, value = item.partition("=")
        if key == TOKEN_ENV:
            return value
    return None


def sign(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def request(exec_dir: Path, run_id: str, token: str, args: Sequence[str],
            environment: Iterable[tuple[str, str]], workdir: str) -> None:
    """Ask the container's helper to run ``go args`` as run ``run_id``: a signed request file it
    picks up at once (inotify; the daemon's exec takes 50-100 ms to start a process)."""
    body = json.dumps({"id": run_id, "args": list(args), "env": [f"{k}={v}" for k, v in environment],
                       "dir": workdir}, sort_keys=True, separators=(",", ":")).encode()
    from ..fsutil import temp_name

    path = exec_dir / f"{run_id}.req"
    tmp = exec_dir / temp_name(path.name, "req")  # gbl's own temporary name; the helper reads *.req only
    tmp.write_bytes(sign(token, body).encode() + b"\n" + body)  # no fsync: it lives for milliseconds
    os.replace(tmp, path)


def sweep(exec_dir: Path, keep: set[str]) -> None:
    """Remove what runs other than ``keep`` left in ``exec_dir`` (a killed gbl, a refused request).
    Call with the project locked, before this build asks for anything else."""
    try:
        entries = list(os.scandir(exec_dir))
    except OSError:
        return
    for entry in entries:
        if entry.name.lstrip(".").split(".")[0] not in keep:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


class Unclaimed(DockerError):
    """The helper never took the request (its container stopped, or no longer sees the directory):
    nothing ran, and the container is replaced."""


class Exec:
    """One ``go build`` running in a warm container, through the helper."""

    def __init__(self, client, container, exec_dir: Path, args: Sequence[str],
                 environment: Mapping[str, str], workdir: str, *, begun: str | None = None):
        """Ask ``container``'s helper to run ``go args``; or, with ``begun`` (a run ID), adopt the
        request the head start made before the Docker SDK was imported (early.py)."""
        self.client, self.container = client, container
        self.id = begun or uuid.uuid4().hex
        self.ended = False  # waited for, and its files removed
        self.withdrawn = False  # killed before the helper took the request: it never runs
        self.base = exec_dir / self.id
        if begun:
            return
        token = token_of(container.attrs)
        if token is None:
            container.reload()
            token = token_of(container.attrs)
        if token is None:
            raise DockerError(f"the build container {container.short_id} has no {TOKEN_ENV}: "
                              "it was not started by this version of gbl",
                              hint="run `gbl docker stop` and build again")
        request(exec_dir, self.id, token, args, environment.items(), workdir)

    def poll(self) -> int | None:
        """The exit code once the build ended, else None."""
        if self.withdrawn:
            return 130
        try:
            return int(Path(f"{self.base}.code").read_text())
        except (OSError, ValueError):
            return None

    def gone(self) -> bool:
        """The container stopped without the build leaving an exit code (killed, idle, removed)."""
        try:
            self.container.reload()
            running = self.container.status == "running"
        except Exception:  # noqa: BLE001 - the container or daemon is gone
            return True
        return not running and self.poll() is None

    def unclaimed(self) -> bool:
        """The helper never picked the request up."""
        return Path(f"{self.base}.req").exists()

    def output(self) -> tuple[str, str]:
        out = []
        for ext in ("out", "err"):
            try:
                out.append(Path(f"{self.base}.{ext}").read_text(encoding="utf-8", errors="replace"))
            except OSError:
                out.append("")
        return out[0], out[1]

    def withdraw(self) -> bool:
        """Take the request back if the helper has not taken it yet (then it never runs)."""
        try:
            Path(f"{self.base}.req").unlink()
        except OSError:
            return False
        self.withdrawn = True
        return True

    def kill(self) -> None:
        """Kill the build's process group inside the container (the container stays)."""
        if self.withdraw():
            return
        try:
            self.client.api.exec_start(self.client.api.exec_create(
                self.container.id, [HELPER, "kill", self.id], stdout=False, stderr=False)["Id"])
        except Exception:  # noqa: BLE001 - the container is gone: so is the build
            pass

    def cleanup(self) -> None:
        self.ended = True
        for ext in ("out", "err", "code", "req", "req.taken"):
            try:
                Path(f"{self.base}.{ext}").unlink()
            except OSError:
                pass


def wait(run: Exec, *, describe: str, cancelled: Callable[[], bool], on_poll, waiting, poll: float):
    """(exit code, stdout, stderr) of ``run``; reports a long wait like a slow local ``go``."""
    from ..children import REPORT_EVERY_S

    start = time.monotonic()
    next_report = start + REPORT_EVERY_S
    next_check = start + _CHECK_EVERY_S
    while True:
        code = run.poll()
        if code is not None:
            out, err = run.output()
            return code, out, err
        now = time.monotonic()
        if now >= next_check:
            if now - start >= _UNCLAIMED_S and run.unclaimed() and run.withdraw():
                # Its helper does not see the directory any more (e.g. `.gbl/` was deleted and
                # made again: the container still has the old one mounted).
                run.cleanup()
                raise Unclaimed(f"the build container {run.container.short_id} did not take the "
                                f"request for {describe} in {_UNCLAIMED_S} s")
            if run.gone():
                out, err = run.output()
                if cancelled():
                    return 130, out, err
                if run.unclaimed():
                    run.cleanup()
                    raise Unclaimed(f"the build container {run.container.short_id} stopped before it "
                                    f"took the request for {describe}")
                raise DockerError(
                    f"the build container {run.container.short_id} ended while running {describe}",
                    hint="run the build again; `gbl docker stop` removes the warm container",
                )
            next_check = now + _CHECK_EVERY_S
        if now >= next_report:
            waiting(f"waiting for {describe}: running for {int(now - start)} s")
            next_report = now + REPORT_EVERY_S
        if on_poll is not None:
            on_poll()
        time.sleep(poll)


def stop(env: Mapping[str, str], project_dir: Path | None = None) -> int:
    """Remove the warm containers of ``project_dir`` (every project's when None): how many."""
    from .daemon import connect

    client = connect(env)
    try:
        labels = [f"{LABEL_MANAGED}=1"]
        if project_dir is not None:
            labels.append(f"{LABEL_PROJECT}={project_dir}")
        found = find(client, labels)
        for c in found:
            remove(c)
        return len(found)
    finally:
        client.close()


def container_workdir(module_dir: str) -> str:
    return str(PurePosixPath(CONTAINER_SRC, module_dir))
