"""The deterministic zip writer: the one place a zip's bytes are decided.

Python's ``zipfile`` fills header fields from the host (``create_system`` 0 on Windows, local-time
mtimes, ``st_mode``) and compresses with whatever zlib the interpreter links (zlib and zlib-ng give
different bytes).  So gbl writes the zip format itself, every field chosen here:

* entries sorted by name, forward slashes, ``bootstrap`` first-class: mode ``0o100755``;
  other files ``0o100644`` unless declared executable;
* ``version made by`` = Unix / 2.0, so Lambda (and ``unzip``) honour the modes;
* one fixed timestamp (1980-01-01 00:00, or ``SOURCE_DATE_EPOCH`` when given), no extra fields,
  no comments, no data descriptors;
* raw DEFLATE from libdeflate (the pinned ``deflate`` package), the same on every OS; an entry is
  stored uncompressed when deflate would not make it smaller.

The same input bytes therefore give the same zip bytes on Linux, macOS and Windows, whatever the
host's umask, file modes, mtimes, time zone, user or path.  Writes are atomic: a temporary file in
the destination directory, then ``os.replace``.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

import deflate

from .config import Include
from .errors import ConfigError, UsageError
# write_atomic and the temporary-file sweep live in fsutil; re-exported for existing callers.
from .fsutil import sweep_temporaries, write_atomic  # noqa: F401

from .lambda_facts import BOOTSTRAP  # noqa: E402 - the executable name Lambda's OS-only runtimes run
MODE_EXECUTABLE = 0o100755  # regular file, rwxr-xr-x
MODE_REGULAR = 0o100644  # regular file, rw-r--r--
# libdeflate level 7.  On Go binaries it compresses twice as fast as level 9 for zips 0.3% larger,
# still 0.5% smaller than `zip -9`'s (zlib level 9); packaging is nearly all compression, so this
# halves it (docs/performance.md).  Level 6 is faster again but within 0.2% of zip -9's size.
DEFLATE_LEVEL = 7
# The earliest time a zip (MS-DOS) timestamp can hold: 1980-01-01 00:00:00.
ZIP_EPOCH = 315532800
# Bumped whenever a change here changes output bytes, so recipes (and skipped re-zips) notice.
PACKAGER_VERSION = "2"  # 2: deflate level 9 -> 7

_VERSION_MADE_BY = (3 << 8) | 20  # high byte 3 = Unix; low byte 20 = spec 2.0
_VERSION_NEEDED = 20  # 2.0: deflate
_FLAG_UTF8 = 0x800  # the name is UTF-8 (only set for non-ASCII names)
_METHOD_STORED, _METHOD_DEFLATED = 0, 8


@dataclass(frozen=True)
class ZipEntry:
    name: str  # the path inside the zip, forward slashes
    data: bytes
    mode: int


@dataclass(frozen=True)
class Packaged:
    path: Path
    size: int
    sha256: str  # hex
    code_sha256: str  # base64(sha256(zip bytes)): what Lambda reports as CodeSha256

    @classmethod
    def of_file(cls, path: Path) -> "Packaged":
        data = Path(path).read_bytes()
        return cls.of_bytes(Path(path), data)

    @classmethod
    def of_bytes(cls, path: Path, data: bytes) -> "Packaged":
        digest = hashlib.sha256(data).digest()
        return cls(path, len(data), digest.hex(), base64.b64encode(digest).decode("ascii"))


def dos_datetime(epoch: int | None) -> tuple[int, int]:
    """(time, date) in MS-DOS format for ``epoch`` seconds, in UTC, clamped to 1980..2107."""
    seconds = ZIP_EPOCH if epoch is None else min(max(int(epoch), ZIP_EPOCH), 4354819198)
    t = time.gmtime(seconds)
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


@dataclass(frozen=True)
class Fresh:
    """A zip just written, with what writing it learnt: each entry's CRC-32 and uncompressed
    bytes by name (for ``verify.verify_fresh``, which then need not inflate them again)."""

    packaged: Packaged
    data: bytes
    known: dict  # name -> (crc32, bytes)


def zip_bytes(entries: Sequence[ZipEntry], *, mtime: int | None = None) -> bytes:
    """The zip archive of ``entries`` (sorted here) as bytes; deterministic by construction."""
    return _zip(entries, mtime)[0]


def _zip(entries: Sequence[ZipEntry], mtime: int | None) -> tuple[bytes, dict]:
    known: dict[str, tuple[int, bytes]] = {}
    dos_time, dos_date = dos_datetime(mtime)
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        dup = sorted(n for n in names if names.count(n) > 1)[0]
        raise UsageError(f"two zip entries would be named {dup!r}")
    out = bytearray()
    central = bytearray()
    for entry in sorted(entries, key=lambda e: e.name):
        _check_entry_name(entry.name)
        name = entry.name.encode("utf-8")
        flags = 0 if entry.name.isascii() else _FLAG_UTF8
        crc = deflate.crc32(entry.data)  # libdeflate's CRC-32: the standard one, several times faster
        known[entry.name] = (crc, entry.data)
        packed = deflate.deflate_compress(entry.data, DEFLATE_LEVEL) if entry.data else b""
        method = _METHOD_DEFLATED
        if len(packed) >= len(entry.data):
            packed, method = entry.data, _METHOD_STORED
        if len(entry.data) >= 0xFFFFFFFF or len(out) >= 0xFFFFFFFF:
            raise UsageError(f"{entry.name} is too large for a Lambda zip (4 GiB)")
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, _VERSION_NEEDED, flags, method, dos_time, dos_date,
            crc, len(packed), len(entry.data), len(name), 0,
        )
        out += name
        out += packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, _VERSION_MADE_BY, _VERSION_NEEDED, flags, method,
            dos_time, dos_date, crc, len(packed), len(entry.data), len(name), 0, 0, 0, 0,
            (entry.mode & 0xFFFF) << 16, offset,
        )
        central += name
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0
    )
    return bytes(out), known


def _check_entry_name(name: str) -> None:
    p = PurePosixPath(name)
    if not name or "\\" in name or p.is_absolute() or ".." in p.parts or name.endswith("/"):
        raise UsageError(f"invalid zip entry name {name!r}: it must be a relative file path")


def resolve_includes(
    includes: Sequence[Include], module_root: Path, *, function: str
) -> tuple[tuple[str, Path, bool], ...]:
    """(zip name, source file, executable) for each include glob, sorted, relative to the module.

    Glob rules as Python's ``glob`` (``**`` any depth, ``*`` never matches a leading dot), except
    that ``**`` never descends into a symbolic link, so a link loop cannot make it run away.  A
    matched file must be inside the module once every link is followed: a link to a host file
    (``/etc/passwd``, ``/proc/self/environ``) or a link loop is a ConfigError, never packed.
    """
    root = Path(module_root)
    real_root = os.path.realpath(root)
    found: dict[str, tuple[Path, bool]] = {}
    for inc in includes:
        where = f"{root / 'gbl.toml'}: include of function {function!r}"
        files = sorted({m for m in _glob(root, _pattern_parts(inc.pattern)) if (root / m).is_file()})
        if not files:
            raise ConfigError(
                f"function {function!r}: include pattern {inc.pattern!r} matches no file",
                where=where,
                hint="patterns are relative to the module root; fix or remove it",
            )
        for m in files:
            _check_inside(root, real_root, m, inc.pattern, function, where)
            name = PurePosixPath(m).as_posix()
            if name == BOOTSTRAP:
                raise ConfigError(
                    f"function {function!r}: include {inc.pattern!r} would replace bootstrap",
                    where=where,
                    hint="rename that file; the zip's bootstrap is always the built binary",
                )
            found[name] = (root / m, inc.executable or found.get(name, (None, False))[1])
    return tuple((name, src, ex) for name, (src, ex) in sorted(found.items()))


def _pattern_parts(pattern: str) -> list[str]:
    if os.sep == "\\":
        pattern = pattern.replace("\\", "/")
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    return parts + ["*"] if parts and parts[-1] == "**" else parts


def _glob(root: Path, parts: Sequence[str], rel: tuple[str, ...] = ()):
    """Relative paths (forward slashes) under ``root`` matching ``parts``; see resolve_includes."""
    import fnmatch

    if not parts:
        yield "/".join(rel)
        return
    here = root.joinpath(*rel)
    first, rest = parts[0], parts[1:]
    if first == "**":
        yield from _glob(root, rest, rel)  # zero directories
        for entry in _scandir(here):
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                yield from _glob(root, parts, rel + (entry.name,))
    elif glob.has_magic(first):
        for entry in _scandir(here):
            if entry.name.startswith(".") and not first.startswith("."):
                continue
            if fnmatch.fnmatchcase(entry.name, first) and (not rest or entry.is_dir()):
                yield from _glob(root, rest, rel + (entry.name,))
    elif first == ".." or os.path.lexists(here / first):
        yield from _glob(root, rest, rel + (first,))


def _scandir(path: Path):
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _check_inside(root: Path, real_root: str, rel: str, pattern: str, function: str, where: str) -> None:
    """Refuse a matched file that is (or is reached through) a link out of the module or a loop."""
    path = root
    for part in PurePosixPath(rel).parts:
        parent, path = path, path / part
        if not path.is_symlink() and part != "..":
            continue
        target = os.path.realpath(path)
        inside = os.path.commonpath([real_root, target]) == real_root if target != real_root else True
        loop = os.path.realpath(parent).startswith(target + os.sep) or os.path.realpath(parent) == target
        if not inside or loop:
            why = (f"a symbolic link to {target}, outside the module" if not inside
                   else "a symbolic link back to a directory that contains it (a loop)")
            raise ConfigError(
                f"function {function!r}: include pattern {pattern!r} matched {rel}, where {path.relative_to(root).as_posix()} is {why}",
                where=where,
                hint="gbl packs only files inside the module: copy the file into the module (or make "
                     "the link point inside it), or narrow the pattern",
            )


def package_binary(
    binary: Path,
    dest: Path,
    *,
    includes: Sequence[tuple[str, Path, bool]] = (),
    mtime: int | None = None,
) -> Packaged:
    """Zip ``binary`` as ``bootstrap`` (mode 0755, whatever its own mode) plus ``includes``."""
    return package_fresh(binary, dest, includes=includes, mtime=mtime).packaged


def package_fresh(
    binary: Path,
    dest: Path,
    *,
    includes: Sequence[tuple[str, Path, bool]] = (),
    mtime: int | None = None,
) -> Fresh:
    """:func:`package_binary`, also returning the zip's bytes and what writing it learnt."""
    try:
        entries = [ZipEntry(BOOTSTRAP, Path(binary).read_bytes(), MODE_EXECUTABLE)]
        for name, src, executable in includes:
            entries.append(
                ZipEntry(name, Path(src).read_bytes(), MODE_EXECUTABLE if executable else MODE_REGULAR)
            )
    except OSError as exc:
        raise UsageError(
            f"cannot read {exc.filename}: {exc.strerror}", hint="check the path and permissions"
        ) from exc
    data, known = _zip(entries, mtime)
    write_atomic(dest, data)
    return Fresh(Packaged.of_bytes(Path(dest), data), data, known)


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
