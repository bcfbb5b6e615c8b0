"""What verify says: a ``Check`` per finding, a ``Verdict`` per zip, the Lambda facts the checks
compare against, and the message texts several checks share.

Every check id, what Lambda would do and the fix for it are listed in ``docs/verify.md``; keep the
two in step (``tests/test_verify.py`` compares them).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import elf
from ..lambda_facts import (  # noqa: F401 - the facts the checks compare against, named as verify names them
    AWS_LAMBDA_GO, AWS_LAMBDA_GO_MIN, GOOS as LAMBDA_GOOS, LAMBDA_ARCH as LAMBDA_ARCH_NAMES, RUNTIME_GLIBC,
    TASK_ROOT as LAMBDA_TASK_ROOT, UNZIPPED_LIMIT, ZIPPED_UPLOAD_LIMIT,
)

PASS = "pass"
WARN = "warn"
FAIL = "fail"

# --- Lambda and Linux ----------------------------------------------------------------------------
# Lambda's own values (task root, quotas, runtimes' glibc, GOOS, arch names, aws-lambda-go's
# minimum) are imported from lambda_facts.py above; what only verify needs stays here.
ARCH_MACHINES = {"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
# The glibc dynamic loader each psABI fixes (x86-64 psABI, AArch64 ELF ABI): the PT_INTERP of a
# glibc program, present on both provided runtimes.
GLIBC_LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "arm64": "/lib/ld-linux-aarch64.so.1"}
MUSL_LOADER_PREFIX = "/lib/ld-musl-"
# Interpreters a #! bootstrap may name: the shells both runtimes have (usr-merged, so /usr/bin
# too), and env, which looks its argument up on PATH.
SCRIPT_SHELLS = ("/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash")
SCRIPT_ENV = "/usr/bin/env"
# `env -S` (split the one argument the kernel passes into words) came with GNU coreutils 8.30
# (coreutils NEWS, 2018); Amazon Linux 2 ships coreutils 8.22, Amazon Linux 2023 8.32.
ENV_SPLIT_RUNTIMES = ("provided.al2023",)
# A layer's files are under /opt.
LAYER_ROOT = "/opt"
# Linux's limit on a symbolic link's target (PATH_MAX) and on how many links a path may cross.
SYMLINK_MAX_TARGET = 4096
SYMLINK_MAX_HOPS = 40
# Linux's binfmt_script (fs/binfmt_script.c): the #! line is read from the first BINPRM_BUF_SIZE
# bytes of the file, and exec_binprm (fs/exec.c) allows a chain of at most 5 #! scripts (each
# naming the next as its interpreter) before the program that runs them: more is ELOOP.
BINPRM_BUF_SIZE = 256
MAX_SCRIPT_CHAIN = 5

# --- what Lambda says ---------------------------------------------------------------------------
LAMBDA_UNZIP_ERROR = (
    "InvalidParameterValueException: Could not unzip uploaded file. Please check your file, "
    "then try to upload again."
)
NO_BOOTSTRAP = (
    "Runtime.InvalidEntrypoint: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
)
PERMISSION_DENIED = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: permission denied"
EXEC_FORMAT = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: exec format error"
NO_SUCH_FILE = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: no such file or directory"
TOO_MANY_LINKS = (
    "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: too many levels of symbolic links"
)
REPACKAGE = "build with `gbl build`, or repackage with `gbl zip BINARY`"
MAX_LISTED = 3  # entries a message names before "and N more"


@dataclass(frozen=True)
class Check:
    id: str  # stable id, e.g. "bootstrap-at-root" (docs/verify.md)
    status: str  # "pass" | "warn" | "fail"
    message: str  # what was found, naming the zip entry or the file
    lambda_error: str  # what Lambda would do ("" on pass)
    fix: str  # how to fix it ("" on pass)


@dataclass(frozen=True)
class Verdict:
    path: Path
    checks: tuple[Check, ...]
    arch: str | None  # what the bootstrap turned out to be: amd64 | arm64 | None
    go_version: str | None
    aws_lambda_go: str | None  # version of github.com/aws/aws-lambda-go in the binary, if any

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == WARN)


def ok(check_id: str, message: str) -> Check:
    return Check(check_id, PASS, message, "", "")


def unreadable_verdict(path: Path, message: str, fix: str = "name the zip `gbl build` wrote "
                                                              "(dist/NAME.zip)") -> Verdict:
    """The verdict of a file that is not a zip gbl can read: only ``zip-readable``, failed."""
    return Verdict(path, (Check("zip-readable", FAIL, message, LAMBDA_UNZIP_ERROR, fix),),
                   None, None, None)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, from its ``st_mode``."""
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), f"of type {stat.S_IFMT(mode):o}")


def q(name: str) -> str:
    """A name quoted for a message: 'as is' when printable, else Python's escapes."""
    return f"'{name}'" if name.isprintable() and "'" not in name else repr(name)


def listing(names: Sequence[str]) -> str:
    shown = ", ".join(q(n) for n in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def more(items: Sequence[object]) -> str:
    """`` and N more`` when ``items`` has more than a message lists, else ""."""
    return f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""


def mode_str(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"
