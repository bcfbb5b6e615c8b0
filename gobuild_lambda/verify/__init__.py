"""Would Lambda unpack this zip, find ``bootstrap`` and run it?  Checks on any zip, from its bytes.

Nothing is extracted to disk and no member is inflated past its declared size, so that a hostile
zip (a bomb, overlapping entries, lying headers, ``../`` names, links out of the archive) becomes a
failed ``Check`` with the entry's name, never an exception or a hang.  The checks, their ids, what
Lambda would do and the fix for each are listed in ``docs/verify.md``; keep the two in step.

The rooms: ``model`` (Check, Verdict, the Lambda facts and shared message texts), ``targets``
(which zips, from paths or a manifest), ``zipread`` (the zip's directory and members, read once
into a frozen ``Archive`` with its findings), ``zipchecks`` (checks on the zip itself),
``program`` (bootstrap: ELF, Go build information, #! scripts and what they exec).

``verify_zip``/``verify_bytes`` never raise on bad input; ``collect_targets`` raises ``UsageError``
for what the user named wrongly (a missing path, a directory without zips, a bad manifest).
"""

from __future__ import annotations

import mmap
import os
import stat
from pathlib import Path

from ..lambda_facts import DEFAULT_RUNTIME
from ..errors import UsageError
from .model import FAIL, PASS, WARN, Check, Verdict, file_kind, ok, unreadable_verdict
from .program import Want, bootstrap_checks, merge_facts
from .targets import DIST_DIR, Target, check_args, collect_targets
from .zipchecks import zip_checks
from .zipread import Unreadable, read_archive

__all__ = ["PASS", "WARN", "FAIL", "Check", "Verdict", "Target", "DIST_DIR", "verify_zip",
           "verify_bytes", "verify_fresh", "collect_targets"]

_MMAP_THRESHOLD = 64 * 1024 * 1024  # read smaller files whole, map bigger ones


def verify_zip(path: Path, *, arch: str | None = None, runtime: str = DEFAULT_RUNTIME) -> Verdict:
    """Check the zip at ``path``.  Only a path that does not exist raises (UsageError).

    A FIFO or a device is a failed ``zip-readable``: it is never opened in a way that waits for a
    writer, nor read (``/dev/zero`` would never end).
    """
    path = Path(path)
    check_args(arch, runtime)
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            return unreadable_verdict(path, f"{path.name} is a directory, not a zip")
        if not stat.S_ISREG(st.st_mode):
            return _not_regular(path, st.st_mode)
        # O_NONBLOCK: should a FIFO replace the file after the stat, opening it does not wait.
        with open(path, "rb", opener=_open_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return _not_regular(path, st.st_mode)
            if st.st_size > _MMAP_THRESHOLD:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    return _verify(mapped, path, arch, runtime)
            data = f.read()
    except FileNotFoundError as exc:
        raise UsageError(
            "no such file", where=str(path),
            hint="name a zip gbl built (dist/NAME.zip), or run `gbl build` first",
        ) from exc
    except OSError as exc:
        return unreadable_verdict(path, f"cannot read {path.name}: {exc.strerror or exc}")
    return _verify(data, path, arch, runtime)


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _not_regular(path: Path, mode: int) -> Verdict:
    return unreadable_verdict(path, f"{path.name} is {file_kind(mode)}, not a regular file: gbl "
                                    "reads a zip from a file", "name the zip file itself")


def verify_bytes(data: bytes, name: str, *, arch: str | None = None,
                 runtime: str = DEFAULT_RUNTIME) -> Verdict:
    """Check a zip held in memory; ``name`` is what the verdict's path says."""
    check_args(arch, runtime)
    return _verify(bytes(data), Path(name), arch, runtime)


def verify_fresh(data: bytes, path: Path, known, *, arch: str | None = None,
                 runtime: str = DEFAULT_RUNTIME) -> Verdict:
    """The verdict of a zip gbl has just written (``data``, its bytes, at ``path``), from what
    packaging knows: ``known`` maps each entry's name to (the CRC-32 it computed, the bytes it
    compressed).  The same checks, ids, messages and facts as :func:`verify_zip` of that file;
    only the entries' data is not inflated again (every header is still read from ``data``).
    ``gbl verify`` and every zip gbl did not just write take :func:`verify_zip`'s full re-read.
    """
    check_args(arch, runtime)
    return _verify(data, Path(path), arch, runtime, known)


def _verify(data, path: Path, arch: str | None, runtime: str, known=None) -> Verdict:
    try:
        z = read_archive(data, known)
    except Unreadable as exc:
        return unreadable_verdict(path, f"{path.name}: {exc.message}", exc.fix)
    n = len(z.entries)
    checks = [ok("zip-readable", f"{path.name}: a zip of {n} entr{'y' if n == 1 else 'ies'}")]
    checks.extend(zip_checks(z))
    program, facts = bootstrap_checks(z, Want(arch, runtime))
    checks.extend(program)
    f = merge_facts(facts)
    return Verdict(path, tuple(checks), f.arch, f.go_version, f.aws_lambda_go)
