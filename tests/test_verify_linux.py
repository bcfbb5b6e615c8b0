"""verify against what Linux really does, and verify under hostile inputs (issue 16).

Each layout below is unpacked into a directory that a private mount namespace shows at
/var/task (``unshare --mount``; needs root, as the docker tests do), and ``/var/task/bootstrap``
is exec'd there for real, by an unprivileged user, as Lambda runs it.  The test pins both what
Linux did and that ``gbl verify`` says the same of the same layout zipped: it passes what runs,
and fails what does not, with the error Lambda would report.

Also: verify's work on many dangling links is linear (counted in calls, not timed), and a FIFO
or a device is refused with a clear message instead of hanging or reading forever.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gobuild_lambda import verify
from gobuild_lambda.errors import UsageError
from verify_helpers import DIR, LINK, E, make_zip

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534  # Lambda runs bootstrap as a user that does not own the files
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"  # PATH on the provided runtimes

RAN = "ran"  # bootstrap ran and printed "ran"
EACCES, ELOOP = "EACCES", "ELOOP"

_EXEC = r"""
import errno, json, subprocess, sys
subprocess.run(["mount", "--bind", sys.argv[1], "/var"], check=True)  # this namespace only
try:
    p = subprocess.run(["/var/task/bootstrap"], cwd="/var/task", capture_output=True, text=True,
                       user=int(sys.argv[2]), group=int(sys.argv[2]), extra_groups=[], timeout=60,
                       env={"PATH": sys.argv[3], "LAMBDA_TASK_ROOT": "/var/task", "LANG": "C"})
    out = "ran" if p.returncode == 0 and p.stdout.strip() == "ran" else f"exit {p.returncode}: {p.stderr.strip()}"
except OSError as exc:
    out = errno.errorcode[exc.errno]
print(json.dumps(out))
"""


def unpack(entries: list[E], var: Path) -> None:
    """Lay the entries out as Lambda unpacks them, under ``var``/task (owned by root)."""
    task = var / "task"
    task.mkdir(parents=True)
    for e in entries:
        path = task / e.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(e.mode):
            os.symlink(e.data.decode(), path)
        elif stat.S_ISDIR(e.mode):
            path.mkdir(exist_ok=True)
            path.chmod(stat.S_IMODE(e.mode))
        else:
            path.write_bytes(e.data)
            path.chmod(stat.S_IMODE(e.mode))
    for d in [var, task, *(p for p in task.rglob("*") if p.is_dir() and not p.is_symlink())]:
        d.chmod(d.stat().st_mode | 0o755)


def linux_runs(entries: list[E], tmp_path: Path) -> str:
    """What Linux does with /var/task/bootstrap of this layout: RAN, an errno name, or an exit."""
    var = tmp_path / "var"
    unpack(entries, var)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c",
                           _EXEC, str(var), str(NOBODY), LAMBDA_PATH], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@dataclass(frozen=True)
class Layout:
    name: str
    entries: tuple[E, ...]
    linux: str  # what Linux does: RAN, EACCES, ELOOP, or the start of "exit N: stderr"
    check: str = "script-interpreter"  # the check that says so
    lambda_error: str = ""  # fragment of that check's lambda_error when it fails


SH_RAN = b"#!/bin/sh\necho ran\n"


def chain(n: int) -> tuple[E, ...]:
    """bootstrap and n-1 more #! scripts, each the interpreter of the one before; the last is sh."""
    names = ["bootstrap"] + [f"i{k}" for k in range(n - 1, 0, -1)]
    out = [E(name, f"#!/var/task/{nxt}\n".encode()) for name, nxt in zip(names, names[1:])]
    return (*out, E(names[-1], SH_RAN))


LAYOUTS = [
    Layout("interpreter-is-a-folder", (E("bootstrap", b"#!/var/task/bin\necho ran\n"),
                                       E("bin/", mode=DIR), E("bin/app", SH_RAN)),
           EACCES, lambda_error="permission denied"),
    Layout("interpreter-is-an-implicit-folder", (E("bootstrap", b"#!/var/task/bin\necho ran\n"),
                                                 E("bin/app", SH_RAN)),
           EACCES, lambda_error="permission denied"),
    Layout("interpreter-not-executable-by-others", (E("bootstrap", b"#!/var/task/i1\n"),
                                                    E("i1", SH_RAN, mode=0o100744)),
           EACCES, lambda_error="permission denied"),
    Layout("script-names-itself", (E("bootstrap", b"#!/var/task/bootstrap\necho ran\n"),),
           ELOOP, lambda_error="too many levels of symbolic links"),
    Layout("two-scripts-name-each-other", (E("bootstrap", b"#!/var/task/a\n"), E("a", b"#!/var/task/bootstrap\n")),
           ELOOP, lambda_error="too many levels of symbolic links"),
    Layout("five-scripts-deep", chain(5), RAN),
    Layout("six-scripts-deep", chain(6), ELOOP, lambda_error="too many levels of symbolic links"),
    Layout("interpreter-in-zip-runs-sh", (E("bootstrap", b"#!/var/task/bin/run\n"),
                                          E("bin/run", SH_RAN)), RAN),
    Layout("interpreter-path-through-task-root-parent", (E("bootstrap", b"#!/var/task/../task/bin/run\n"),
                                                         E("bin/run", SH_RAN)), RAN),
    Layout("exec-through-task-root-parent", (E("bootstrap", b"#!/bin/sh\nexec /var/task/../task/app\n"),
                                             E("app", SH_RAN)), RAN, check="script-exec-target"),
    Layout("nul-ends-the-interpreter", (E("bootstrap", b"#!/bin/sh\0junk\necho ran\n"),), RAN),
    Layout("link-through-task-root-parent", (E("bootstrap", b"/var/task/../task/app", mode=LINK),
                                             E("app", SH_RAN)), RAN, check="bootstrap-at-root"),
    Layout("relative-link-through-task-root-parent", (E("bootstrap", b"../task/app", mode=LINK),
                                                      E("app", SH_RAN)), RAN, check="bootstrap-at-root"),
    Layout("env-with-an-argument", (E("bootstrap", b"#!/usr/bin/env sh -e\necho ran\n"),),
           "exit 127", lambda_error="'sh -e': No such file or directory"),
    Layout("env-split-string", (E("bootstrap", b"#!/usr/bin/env -S sh -e\necho ran\n"),), RAN),
    Layout("env-one-program", (E("bootstrap", b"#!/usr/bin/env sh\necho ran\n"),), RAN),
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=[x.name for x in LAYOUTS])
def test_verify_agrees_with_linux(layout: Layout, tmp_path):
    got = linux_runs(list(layout.entries), tmp_path)
    assert got.startswith(layout.linux), (layout.name, got)
    verdict = verify.verify_bytes(make_zip(list(layout.entries)), f"{layout.name}.zip",
                                  runtime="provided.al2023")
    checks = [c for c in verdict.checks if c.id == layout.check]
    assert checks, verdict.checks
    if layout.linux == RAN:
        assert verdict.ok, [c for c in verdict.checks if c.status == "fail"]
        assert all(c.status == "pass" for c in checks), checks
    else:
        assert not verdict.ok
        failed = [c for c in checks if c.status == "fail" and layout.lambda_error in c.lambda_error]
        assert failed, checks
        assert all(c.message and c.fix for c in failed)


def test_env_split_string_needs_al2023():
    """`env -S` came with GNU coreutils 8.30: provided.al2 (coreutils 8.22) has no -S, its env
    stops with "invalid option"; provided.al2023 (8.32) splits the line.  (Only al2023's side
    runs here, in test_verify_agrees_with_linux: this host's env is newer than 8.30.)"""
    data = make_zip([E("bootstrap", b"#!/usr/bin/env -S sh -e\necho ran\n")])
    al2 = verify.verify_bytes(data, "s.zip", runtime="provided.al2")
    (check,) = [c for c in al2.checks if c.id == "script-interpreter"]
    assert check.status == "fail" and "invalid option -- 'S'" in check.lambda_error
    assert "provided.al2023" in check.fix
    al2023 = verify.verify_bytes(data, "s.zip", runtime="provided.al2023")
    assert al2023.ok
    python = make_zip([E("bootstrap", b"#!/usr/bin/env -S python3 -u\nprint('ran')\n")])
    (check,) = [c for c in verify.verify_bytes(python, "p.zip").checks if c.id == "script-interpreter"]
    assert check.status == "warn" and "'python3'" in check.message


def test_shebang_parsing_follows_binfmt_script():
    parse = verify.program.parse_shebang
    assert parse(b"#!/bin/sh\n") == ("/bin/sh", None, "")
    assert parse(b"#! \t/bin/sh  -e -x \t\nrest") == ("/bin/sh", "-e -x", "")  # one argument
    assert parse(b"#!/bin/sh\0junk\n") == ("/bin/sh", None, "")
    assert parse(b"#!/bin/sh -e\0junk\n") == ("/bin/sh", "-e", "")
    assert parse(b"#!\n")[2] and parse(b"#!   \n")[2]  # no interpreter: ENOEXEC
    assert parse(b"#!/" + b"x" * 300)[2]  # the interpreter runs past the buffer: ENOEXEC
    assert parse(b"#!/bin/sh " + b"x" * 300) == ("/bin/sh", "x" * (256 - 1 - 10), "")


def test_link_through_task_root_parent_resolves():
    r = verify.zipread.resolve_link
    assert r("bootstrap", "/var/task/../task/app") == ("app", False)
    assert r("bootstrap", "../task/bin/app") == ("bin/app", False)
    assert r("bin/x", "../../task/app") == ("app", False)
    assert r("x", "/var/task/../other/app")[1] and r("x", "../../../etc/passwd")[1]
    assert r("x", "/var/taskforce/app")[1]


# --------------------------------------------------------------------------------------------------
# many dangling links: linear work


class _WorkExceeded(Exception):
    pass


def _calls_to_verify(data: bytes, budget: int) -> int:
    """How many Python and C calls verify_bytes makes on ``data``; stops past ``budget``."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        count += 1
        if count > budget:
            raise _WorkExceeded

    sys.setprofile(profile)
    try:
        verify.verify_bytes(data, "links.zip")
    except _WorkExceeded:
        pass
    finally:
        sys.setprofile(None)
    return count


def test_dangling_links_take_linear_work():
    """Issue 16: 40,000 dangling links took 288 s (each link scanned every entry).  The calls
    verify makes grow with the number of links, not with its square: 8x the links, at most 10x
    the calls (a quadratic check makes 64x, and stops at the budget)."""
    def zip_of(n: int) -> bytes:
        return make_zip([E("bootstrap", SH_RAN),
                         *(E(f"links/{i}", f"../missing/{i}".encode(), mode=LINK) for i in range(n))])

    small = _calls_to_verify(zip_of(500), budget=10**7)
    assert small < 10**7
    big = _calls_to_verify(zip_of(4000), budget=10 * small)
    assert big <= 10 * small, (small, big)
    verdict = verify.verify_bytes(zip_of(4000), "links.zip")
    assert [c.status for c in verdict.checks if c.id == "zip-symlinks"] == ["warn"]


# --------------------------------------------------------------------------------------------------
# not a regular file: no hang, no endless read, a clear message

_LIBRARY = r"""
import json, sys
from gobuild_lambda import verify
v = verify.verify_zip(sys.argv[1])
print(json.dumps([[c.id, c.status, c.message] for c in v.checks]))
"""


def _run(args: list[str]) -> subprocess.CompletedProcess:
    # The timeout only guards against the hang being tested for; nothing here is timed.
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_not_a_regular_file(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "fn.zip"
        os.mkfifo(path)  # nobody ever writes to it: opening it for reading would block
        what = "a FIFO (named pipe)"
    else:
        path, what = Path("/dev/zero"), "a character device"
    (check,) = [tuple(c) for c in json.loads(_run([sys.executable, "-c", _LIBRARY, str(path)]).stdout)]
    assert check[:2] == ("zip-readable", "fail") and what in check[2] and "not a regular file" in check[2]
    cli = _run([sys.executable, "-m", "gobuild_lambda", "verify", str(path)])
    assert cli.returncode == 2, cli
    assert "not a regular file" in cli.stderr and what in cli.stderr and "no such file" not in cli.stderr
    with pytest.raises(UsageError) as info:
        verify.collect_targets([path], cwd=tmp_path)
    assert what in info.value.message and str(path) in info.value.where and info.value.hint
