"""File utilities: atomic writes, gbl's own temporary files, and directory locks.

Every temporary file gbl creates is named ``.gbl-tmp-<kind>-<pid>-...tmp`` (see ``temp_name``), so
the sweep after a killed run removes gbl's own leftovers and never a file someone else named
``.something.tmp``.  Temporary names are short whatever the destination's name is (a 240-character
function name still fits the 255-byte file-name limit with room to spare).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
from pathlib import Path

from .errors import OutputError

TEMP_PREFIX = ".gbl-tmp-"
# .gbl-tmp-<kind>-<pid>-<anything>.tmp: the only files sweep_temporaries removes.
_TEMP_RE = re.compile(r"^\.gbl-tmp-[a-z]+-[0-9]+-[^/\\]*\.tmp$")
_SHORT = 40  # characters of the destination's name kept in a temporary name, for humans


def output_dir(path: Path | str) -> Path:
    """An output directory as gbl uses it and names it in messages: a relative one is under the
    working directory (the CLI's -C DIR), absolute and resolved; an absolute one as given."""
    path = Path(path)
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def temp_name(dest_name: str, kind: str, *, unique: str = "") -> str:
    """A gbl-owned temporary file name for ``dest_name``: recognisable, and under 100 bytes."""
    short = re.sub(r"[^A-Za-z0-9._-]", "_", dest_name[:_SHORT])
    digest = hashlib.sha256(dest_name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    extra = f"-{unique}" if unique else ""
    return f"{TEMP_PREFIX}{kind}-{os.getpid()}{extra}-{digest}-{short}.tmp"


def is_gbl_temporary(name: str) -> bool:
    return bool(_TEMP_RE.match(name))


def write_atomic(dest: Path, data: bytes, *, keep_mode: bool = False) -> None:
    """Write ``data`` to ``dest`` through a temporary file in the same directory.

    A new file gets the usual 0o666-through-the-umask mode; with ``keep_mode`` a file that is
    replaced keeps its own mode (templates, gbl.toml: files the user owns).
    """
    dest = Path(dest)
    tmp = dest.with_name(temp_name(dest.name, "write", unique=str(threading.get_ident())))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        mode = None
        if keep_mode and dest.exists():
            mode = dest.stat().st_mode & 0o7777
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException as exc:  # also Ctrl-C: never leave the temporary file behind
        try:
            tmp.unlink()
        except OSError:
            pass
        if not isinstance(exc, OSError):
            raise
        raise output_error(exc, dest) from exc


def output_error(exc: OSError, dest: Path) -> OutputError:
    """An OSError writing ``dest`` as a three-part message with the right hint."""
    blocker = next((p for p in Path(dest).parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:  # e.g. --out naming a file: mkdir says "File exists"
        return OutputError(f"cannot write {dest}: {blocker} is a file, not a directory", where=str(dest),
                           hint=f"name a directory there (gbl writes files into it), or move {blocker} away")
    if exc.errno == errno.ENOSPC:
        hint = "free some space on that disk (or choose another --out DIR) and run gbl again"
    elif exc.errno == errno.ENAMETOOLONG:
        hint = "use a shorter name (a file name holds at most 255 bytes)"
    elif exc.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST) or Path(dest).is_dir():
        hint = f"{dest} is a directory where gbl writes a file: move it away"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        # On Windows a file another program holds open (an archiver, an antivirus scan) cannot be
        # replaced: os.replace fails with PermissionError (WinError 5 or 32).
        hint = ("close any program that has it open (on Windows an open file cannot be replaced), fix the "
                "permissions, or choose another output directory with --out DIR")
    else:
        hint = "check that the output directory is writable and the disk is not full"
    return OutputError(f"cannot write {dest}: {exc.strerror or exc}", where=str(dest), hint=hint)


def sweep_temporaries(directory: Path) -> None:
    """Remove temporary files a killed gbl left in ``directory``: only gbl's own (never a final
    zip, never another program's ``.*.tmp``)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if is_gbl_temporary(name):
            try:
                os.unlink(Path(directory) / name)
            except OSError:
                pass


class DirLock:
    """An exclusive, cross-process lock on a lock file; a clear OutputError when it cannot be
    taken (the lock path is a directory, a symlink loop, unwritable, or held too long).

    ``on_wait`` is called once, with a sentence, before waiting for another holder.
    """

    def __init__(self, path: Path, *, what: str, timeout: float, on_wait=None):
        self.path = Path(path)
        self.what = what
        self.timeout = timeout
        self.on_wait = on_wait or (lambda text: None)
        self._lock = None

    def __enter__(self):
        from filelock import FileLock, Timeout

        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create {path.parent}: {exc.strerror or exc}", where=str(path.parent),
                hint=f"gbl keeps {self.what} there; make that directory writable",
            ) from exc
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise self._not_a_file()
        self._lock = FileLock(str(path))
        try:
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                self.on_wait(f"another gbl holds {self.what}; waiting for {path}")
                self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise OutputError(
                f"another gbl held {self.what} for more than {self.timeout:g} s", where=str(path),
                hint="wait for it to finish, or stop it; the lock frees itself when it exits",
            ) from None
        except OSError as exc:
            if path.is_symlink() or (path.exists() and not path.is_file()):
                raise self._not_a_file() from exc
            raise OutputError(
                f"cannot take {self.what}: {exc.strerror or exc}", where=str(path),
                hint="make the directory writable, or remove the file if it is not gbl's lock",
            ) from exc
        return self

    def _not_a_file(self) -> OutputError:
        kind = "a symbolic link" if self.path.is_symlink() else "a directory" if self.path.is_dir() else "not a regular file"
        return OutputError(
            f"the lock file is {kind}, so gbl cannot take {self.what}", where=str(self.path),
            hint=f"remove {self.path} (gbl creates it again as an empty file)",
        )

    def __exit__(self, *exc):
        if self._lock is not None:
            self._lock.release()
        return False


def out_lock_path(out: Path) -> Path:
    """Where the lock on an output directory lives: outside it (so the directory holds only zips
    and manifest.json), in the system's temporary directory, named by the directory's real path."""
    import tempfile

    key = hashlib.sha256(os.fsencode(os.path.realpath(out))).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"gbl-out-{key}.lock"


__all__ = ["write_atomic", "temp_name", "is_gbl_temporary", "sweep_temporaries", "output_error",
           "DirLock", "out_lock_path", "TEMP_PREFIX"]
