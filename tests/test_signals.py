"""Signals and faults: every process gbl starts dies with it, a hanging `go` is never silent,
and a `gbl build` killed at any moment leaves a consistent dist/ (issue 16).

Real processes, real signals.  Every process of a test carries a unique marker in its environment
(``GBL_TEST_MARK``), inherited by `go`, its compilers and gbl's packaging workers; "nothing left"
means no process on the machine carries the marker.  `go` is the real toolchain, or a wrapper
(``GBL_GO``) that hangs in one subcommand and runs the real `go` for the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLE, copy_project, run_gbl

REAL_GO = shutil.which("go")
# A bound on how long the processes of a stopped gbl may take to disappear (not a speed check:
# gbl gives `go` 3 s to stop after SIGINT, then SIGKILLs its process group).
GONE_WITHIN_S = 60


# ----------------------------------------------------------------------------------- helpers
def marked(mark: str) -> list[tuple[int, str]]:
    """Every live process whose environment carries GBL_TEST_MARK=mark: (pid, cmdline)."""
    needle = f"GBL_TEST_MARK={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                env = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in env.split(b"\0") and state != b"Z":
            found.append((int(entry), cmd))
    return found


def assert_none_left(mark: str) -> None:
    deadline = time.monotonic() + GONE_WITHIN_S
    left = marked(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = marked(mark)
    assert not left, f"processes of the stopped gbl still running: {left}"


def wait_for(pred, what: str, limit: float = 300):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"never happened: {what}")


def fake_go(tmp: Path, hang_on: str) -> Path:
    """A `go` that hangs (records its pid, then sleeps) in subcommand ``hang_on``; the real go
    (exec'd, same pid) otherwise."""
    path = tmp / "fakego" / "go"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        f"if sys.argv[1:2] == [{hang_on!r}]:\n"
        f"    with open({str(tmp / 'hung.pid')!r}, 'a') as fh:\n"
        "        fh.write(f'{os.getpid()}\\n')\n"
        "    time.sleep(3600)\n"
        "    sys.exit(1)\n"
        f"os.execv({REAL_GO!r}, [{REAL_GO!r}, *sys.argv[1:]])\n"
    )
    path.chmod(0o755)
    return path


def gbl_env(mark: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GBL_TEST_MARK"] = mark
    env.update(extra)
    return env


def start_gbl(project: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gobuild_lambda", "build", "-C", str(project), *args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )


class Lines:
    """Read a pipe line by line as it is written (a thread), so a test sees progress live."""

    def __init__(self, pipe):
        self.q: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe):
        for line in pipe:
            self.q.put(line)
        self.q.put(None)

    def until(self, pred, limit: float = 300) -> str:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            if pred(line):
                return line
        pytest.fail(f"no such line; got: {''.join(self.seen)}")

    def rest(self) -> str:
        out = []
        while True:
            line = self.q.get(timeout=120)
            if line is None:
                return "".join(self.seen + out)
            out.append(line)


def descendants(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def snapshot(root: Path) -> dict[str, str]:
    """Every file outside dist/ and .gbl/: its content hash and mode."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("dist", ".gbl"):
            continue
        if path.is_file():
            result[rel.as_posix()] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {path.stat().st_mode:o}"
        else:
            result[rel.as_posix()] = f"dir {path.stat().st_mode:o}"
    return result


def assert_dist_consistent(dist: Path) -> dict:
    """Every manifest entry names a complete zip whose sha256 matches; no staged zip left over
    from a finished build counts."""
    if not (dist / "manifest.json").exists():
        return {}
    doc = json.loads((dist / "manifest.json").read_text())
    entries = doc.get("functions", doc) if isinstance(doc, dict) else {}
    assert isinstance(entries, dict)
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "zip" not in entry:
            continue
        zpath = dist / entry["zip"]
        assert zpath.is_file(), f"{name}: manifest names {zpath}, which does not exist"
        data = zpath.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{name}: sha256 mismatch"
        with zipfile.ZipFile(zpath) as zf:
            assert zf.testzip() is None, f"{name}: a damaged member"
            assert "bootstrap" in zf.namelist()
    return entries


# ------------------------------------------------------------------------ SIGINT / SIGTERM
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_gbl_alone_stops_go_build_and_its_compilers(tmp_path, sig):
    """SIGTERM / SIGINT to gbl's pid only (as `timeout` and CI runners send them), while the real
    `go build` compiles (an empty GOCACHE): gbl exits 130 and no `go`/compiler is left."""
    project = copy_project(SAMPLE, tmp_path / "p")
    mark = uuid.uuid4().hex
    env = gbl_env(mark, GOCACHE=str(tmp_path / "gocache"), GOFLAGS="-p=1")
    proc = start_gbl(project, env, "-j", "1")
    try:
        wait_for(lambda: [c for _, c in marked(mark) if "/compile " in c or "/link " in c],
                 "go build running its compiler")
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert_none_left(mark)
    assert not list((project / "dist").glob("*.zip")) if (project / "dist").exists() else True


def test_sigterm_while_go_hangs_stops_it(tmp_path):
    """A `go build` that never ends: SIGTERM to gbl stops it (its whole process group)."""
    project = copy_project(SAMPLE, tmp_path / "p")
    mark = uuid.uuid4().hex
    proc = start_gbl(project, gbl_env(mark, GBL_GO=str(fake_go(tmp_path, "build"))))
    try:
        wait_for(lambda: (tmp_path / "hung.pid").exists(), "the fake go build to start")
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert_none_left(mark)


# ----------------------------------------------------------------------------------- SIGKILL
def test_sigkill_takes_go_and_packaging_workers_along(tmp_path):
    """SIGKILL cannot be caught: gbl's children must die by themselves (PR_SET_PDEATHSIG for
    `go`; a parent-death signal and a watchdog for the packaging workers)."""
    project = copy_project(SAMPLE, tmp_path / "p")
    mark = uuid.uuid4().hex
    first = run_gbl("build", "-C", str(project), env=gbl_env(mark))
    assert first.returncode == 0, first.stderr
    for z in (project / "dist").glob("*.zip"):
        z.unlink()  # the binaries are on disk: packaging starts before `go build` is asked
    proc = start_gbl(project, gbl_env(mark, GBL_GO=str(fake_go(tmp_path, "build"))), "-j", "4")
    try:
        wait_for(lambda: (tmp_path / "hung.pid").exists(), "the fake go build to start")
        workers = wait_for(
            lambda: [p for p in descendants(proc.pid)
                     if "gobuild_lambda" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")],
            "packaging workers to start",
        )
        assert workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_none_left(mark)


# ------------------------------------------------------------------------ random kills, many
def test_killed_at_random_moments_leaves_nothing_running_and_dist_consistent(tmp_path):
    """SIGKILL and SIGTERM at random moments of `gbl build` (seeded), with work to do each round:
    then no process of it is left, every manifest entry names a complete zip whose sha256
    matches, nothing outside dist/ and .gbl/ changed, and the next build succeeds."""
    rng = random.Random(16)
    project = copy_project(SAMPLE, tmp_path / "p")
    before = snapshot(project)
    mark = uuid.uuid4().hex
    env = gbl_env(mark)
    t0 = time.monotonic()
    first = run_gbl("build", "-C", str(project), "--json", env=env)
    span = max(0.5, time.monotonic() - t0)  # how long a build takes here: where to aim the kills
    assert first.returncode == 0, first.stderr
    for _ in range(14):
        # Work for this round (only through gbl's own inputs: nothing a user keeps is touched):
        # zips to write again (a new SOURCE_DATE_EPOCH changes every zip's bytes), binaries to
        # link again (gbl's build directory removed), both, or a no-op build.
        what = rng.choice(["zips", "binaries", "both", "none"])
        if what in ("zips", "both"):
            env["SOURCE_DATE_EPOCH"] = str(rng.randrange(10**9, 2 * 10**9))
        if what in ("binaries", "both"):
            shutil.rmtree(project / ".gbl" / "build", ignore_errors=True)
        sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
        delay = rng.uniform(0, span * 1.2)
        proc = start_gbl(project, env, "--json")
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=300)
        assert "Traceback" not in err, err
        # -SIGTERM: the signal came while the interpreter itself was starting (no handler yet).
        allowed = (0, -signal.SIGKILL) if sig == signal.SIGKILL else (0, 130, -signal.SIGTERM)
        assert proc.returncode in allowed, (sig, proc.returncode, err)
        assert_none_left(mark)
        assert_dist_consistent(project / "dist")
        assert snapshot(project) == before
    last = run_gbl("build", "-C", str(project), "--json", env=env)
    assert last.returncode == 0, last.stderr
    entries = assert_dist_consistent(project / "dist")
    assert set(entries) == {f["name"] for f in json.loads(last.stdout)["functions"]}
    assert not [p for p in (project / "dist").iterdir() if p.name.endswith(".tmp")]
    assert snapshot(project) == before
    assert_none_left(mark)


def test_signal_while_a_child_is_being_registered_stops_it_without_deadlock():
    """The signal handler (interrupt_all) runs in the main thread, so it can land while that thread
    is inside the registry's add, holding its lock: it must neither deadlock (a killed-at-random
    `gbl build` once hung there for good) nor leave the new child running."""
    from gobuild_lambda import children

    registry = children._Registry()

    class Interrupting(set):
        def add(self, item):  # the handler, arriving mid-add
            registry.interrupt_all()
            raise KeyboardInterrupt

    registry._live = Interrupting()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    outcome = queue.Queue()

    def add():
        try:
            registry.add(proc)
            outcome.put("returned")
        except KeyboardInterrupt:
            outcome.put("interrupted")

    threading.Thread(target=add, daemon=True).start()
    try:
        assert outcome.get(timeout=30) == "interrupted"  # no deadlock
        assert proc.wait(timeout=30) is not None  # and the child was stopped
    finally:
        if proc.poll() is None:
            proc.kill()


# -------------------------------------------------------------------------- a hanging `go`
@pytest.mark.parametrize("hang_on, says", [("build", "`go build` of "), ("list", "`go list ")])
def test_hanging_go_is_reported_while_it_hangs(tmp_path, hang_on, says):
    """Not on a TTY, a `go` that hangs makes gbl say what it waits for, repeatedly, on stderr
    (read live from the pipe while `go` still hangs); then SIGINT ends it all with 130."""
    project = copy_project(SAMPLE, tmp_path / "p")
    mark = uuid.uuid4().hex
    proc = start_gbl(project, gbl_env(mark, GBL_GO=str(fake_go(tmp_path, hang_on))))
    lines = Lines(proc.stderr)
    try:
        waits = [lines.until(lambda line: "waiting for" in line)]
        assert says in waits[0] and "running for" in waits[0], waits[0]
        if hang_on == "build":  # two calls hang: each says which functions it builds
            wanted = ["api, nightly-report (linux/amd64)", "echo (linux/arm64)"]
            while not all(any(w in line for line in waits) for w in wanted):
                waits.append(lines.until(lambda line: "waiting for" in line))
        # ... and says it again while it still hangs
        waits.append(lines.until(lambda line: "waiting for" in line and line not in waits))
        assert says in waits[-1]
        assert proc.poll() is None and (tmp_path / "hung.pid").exists()  # still hanging
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
        rest = lines.rest()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert "interrupted" in rest and "Traceback" not in rest
    assert_none_left(mark)


# -------------------------------------------------------------------------- start-up SIGINT
def test_sigint_during_startup_exits_130_without_traceback(tmp_path):
    """Ctrl-C while the CLI is still importing: a clean 130 and a message, no traceback."""
    env = gbl_env(uuid.uuid4().hex)
    env["PYTHONPROFILEIMPORTTIME"] = "1"  # writes one line per import to stderr: a start signal
    env["GBL_GO"] = str(fake_go(tmp_path, "list"))  # should the signal come late: a `go` that hangs
    project = copy_project(SAMPLE, tmp_path / "p")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gobuild_lambda", "build", "-C", str(project)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = Lines(proc.stderr)
    lines.until(lambda line: "| typer" in line)  # the CLI is importing typer: mid start-up
    os.kill(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    text = lines.rest()
    assert proc.returncode == 130, text
    assert "interrupted" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("death_signal", [False, True], ids=["watchdog-only", "pdeathsig"])
def test_packaging_worker_exits_when_its_parent_is_killed(tmp_path, death_signal):
    """The worker initializer alone: with only the (portable) watchdog - the case of a pool that a
    non-main thread forked - and with PR_SET_PDEATHSIG, a SIGKILLed parent's worker ends."""
    mark = uuid.uuid4().hex
    script = (
        "import os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from gobuild_lambda import children\n"
        f"pool = ProcessPoolExecutor(1, initializer=children.worker_init, initargs=(os.getpid(), {death_signal}))\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "time.sleep(3600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env=gbl_env(mark), stdout=subprocess.PIPE, text=True)
    try:
        worker = int(proc.stdout.readline())
        assert worker in descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_none_left(mark)


def test_signal_inside_an_at_fork_hook_still_stops_without_traceback(tmp_path):
    """A signal handled while `subprocess` forks runs gbl's handler inside an at-fork hook (logging
    registers one), where Python cannot raise: it prints "Exception ignored in ..." with a
    traceback and goes on.  The run must still stop (the child just started is stopped, nothing
    new starts) and say nothing of it."""
    script = (
        "import os, signal\n"
        "from gobuild_lambda import children, cli\n"
        "cli._install_signal_handlers()\n"
        "def before():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    for _ in range(10000):  # the Python-level handler runs here, inside the hook\n"
        "        pass\n"
        "os.register_at_fork(before=before)\n"
        "try:\n"
        "    proc = children.spawn(['sleep', '60'])\n"
        "except children.Stopped:\n"
        "    print('stopped', children.live())\n"
        "else:\n"
        "    print('not stopped', proc.pid)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped []", done.stdout
    assert done.stderr == "", done.stderr
