"""Would Lambda unpack this zip, find ``bootstrap`` and run it?  Checks on any zip, from its bytes.

Nothing is extracted to disk and no member is inflated past its declared size: the central
directory is parsed here (APPNOTE.TXT) rather than by ``zipfile``, so that a hostile zip (a bomb,
overlapping entries, lying headers, ``../`` names, links out of the archive) becomes a failed
``Check`` with the entry's name, never an exception or a hang.  The checks, their ids, what Lambda
would do and the fix for each are listed in ``docs/verify.md``; keep the two in step.

``verify_zip``/``verify_bytes`` never raise on bad input; ``collect_targets`` raises ``UsageError``
for what the user named wrongly (a missing path, a directory without zips, a bad manifest).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import deflate

from . import elf
from .config import ARCHES, DEFAULT_RUNTIME, RUNTIMES
from .errors import UsageError
from .manifest import MANIFEST as MANIFEST_FILE
from .package import BOOTSTRAP  # the name the provided runtimes exec: /var/task/bootstrap
from .planner import BASE_TAGS

PASS = "pass"
WARN = "warn"
FAIL = "fail"

# --- Lambda -------------------------------------------------------------------------------------
# Where Lambda unpacks the zip (the LAMBDA_TASK_ROOT environment variable; also the working
# directory bootstrap starts in).
LAMBDA_TASK_ROOT = "/var/task"
# Lambda quotas (docs: "Lambda quotas", deployment package size): 50 MB zipped for a direct
# upload, 250 MB unzipped; the unzipped limit in bytes is the one Lambda's error message quotes.
ZIPPED_UPLOAD_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 262_144_000
# glibc of each runtime's OS: Amazon Linux 2 ships glibc 2.26, Amazon Linux 2023 glibc 2.34.
RUNTIME_GLIBC = {"provided.al2": (2, 26), "provided.al2023": (2, 34)}
# Go programs for Lambda are built for this GOOS.
LAMBDA_GOOS = "linux"
# Lambda's names for the architectures (the Architectures parameter) per GOARCH.
LAMBDA_ARCH_NAMES = {"amd64": "x86_64", "arm64": "arm64"}
ARCH_MACHINES = {"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
# The glibc dynamic loader each psABI fixes (x86-64 psABI, AArch64 ELF ABI): the PT_INTERP of a
# glibc program, present on both provided runtimes.
GLIBC_LOADERS = {"amd64": "/lib64/ld-linux-x86-64.so.2", "arm64": "/lib/ld-linux-aarch64.so.1"}
MUSL_LOADER_PREFIX = "/lib/ld-musl-"
# Interpreters a #! bootstrap may name: the shells both runtimes have (usr-merged, so /usr/bin
# too), and env, which looks its argument up on PATH.
SCRIPT_SHELLS = ("/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash")
SCRIPT_ENV = "/usr/bin/env"
# A layer's files are under /opt.
LAYER_ROOT = "/opt"
# aws-lambda-go speaks the Runtime API of the provided runtimes from v1.18.0 on; before that,
# lambda.Start only serves the go1.x runtime's RPC on $_LAMBDA_SERVER_PORT.
AWS_LAMBDA_GO = "github.com/aws/aws-lambda-go"
AWS_LAMBDA_GO_MIN = (1, 18, 0)
# Linux's limit on a symbolic link's target (PATH_MAX) and on how many links a path may cross.
SYMLINK_MAX_TARGET = 4096
SYMLINK_MAX_HOPS = 40

_LAMBDA_UNZIP_ERROR = (
    "InvalidParameterValueException: Could not unzip uploaded file. Please check your file, "
    "then try to upload again."
)
_NO_BOOTSTRAP = (
    "Runtime.InvalidEntrypoint: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
)
_PERMISSION_DENIED = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: permission denied"
_EXEC_FORMAT = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: exec format error"
_NO_SUCH_FILE = "Runtime.InvalidEntrypoint: fork/exec /var/task/bootstrap: no such file or directory"
_REPACKAGE = "build with `gbl build`, or repackage with `gbl zip BINARY`"

# --- zip format (PKWARE APPNOTE.TXT) -------------------------------------------------------------
EOCD_SIG = b"PK\x05\x06"
EOCD_FORMAT = "<4sHHHHIIH"  # end of central directory record, 22 bytes
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
ZIP64_LOCATOR_FORMAT = "<4sIQI"  # 20 bytes, just before the EOCD
ZIP64_EOCD_SIG = b"PK\x06\x06"
ZIP64_EOCD_FORMAT = "<4sQHHIIQQQQ"  # 56 bytes
CENTRAL_SIG = b"PK\x01\x02"
CENTRAL_FORMAT = "<4sBBHHHHHIIIHHHHHII"  # 46 bytes
LOCAL_SIG = b"PK\x03\x04"
LOCAL_FORMAT = "<4sHHHHHIIIHH"  # 30 bytes
ZIP64_EXTRA_ID = 0x0001
MAX_COMMENT = 0xFFFF
FLAG_ENCRYPTED = 0x1
FLAG_DATA_DESCRIPTOR = 0x8
FLAG_UTF8 = 0x800
METHOD_STORED = 0
METHOD_DEFLATED = 8
METHOD_NAMES = {0: "stored", 1: "shrunk", 6: "imploded", 8: "deflate", 9: "Deflate64",
                12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd", 99: "AES-encrypted"}
# "version made by" high byte: the system whose file attributes external_attr holds.
SYSTEM_NAMES = {0: "MS-DOS/Windows (FAT)", 3: "Unix", 10: "Windows NTFS", 11: "MVS",
                14: "VFAT", 19: "macOS"}
UNIX_SYSTEMS = (3, 19)  # both store a Unix st_mode in the high 16 bits of external_attr
WINDOWS_SYSTEMS = (0, 10, 14)
# Zip bombs: no honest member expands more than this (deflate's own limit is about 1032:1, reached
# only by long runs of one byte); small members are exempt, their ratio says nothing.
BOMB_RATIO = 1000
BOMB_MIN_SIZE = 1024 * 1024
_INFLATE_CHUNK = 1 << 20
# Members up to this size are inflated in one call to libdeflate (about 4x zlib's speed; verify
# inflates every bootstrap it checks); bigger ones stream through zlib in bounded memory.
_ONE_SHOT_LIMIT = 64 * 1024 * 1024
_MMAP_THRESHOLD = 64 * 1024 * 1024  # read smaller files whole, map bigger ones
_MAX_LISTED = 3  # entries a message names before "and N more"
_MAX_SCRIPT_SCAN = 64 * 1024  # bytes of a #! script searched for exec lines


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


@dataclass(frozen=True)
class Target:
    """A zip to verify and what it must run on."""

    path: Path
    arch: str | None  # None: either of amd64 / arm64
    runtime: str
    function: str | None = None  # the function's name, when a manifest said so


def _ok(check_id: str, message: str) -> Check:
    return Check(check_id, PASS, message, "", "")


# --------------------------------------------------------------------------------------------------
# public API


def verify_zip(path: Path, *, arch: str | None = None, runtime: str = DEFAULT_RUNTIME) -> Verdict:
    """Check the zip at ``path``.  Only a path that does not exist raises (UsageError)."""
    path = Path(path)
    _check_args(arch, runtime)
    if path.is_dir():
        return _unreadable(path, f"{path.name} is a directory, not a zip")
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return _unreadable(path, f"{path.name} is not a regular file")
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
        return _unreadable(path, f"cannot read {path.name}: {exc.strerror or exc}")
    return _verify(data, path, arch, runtime)


def verify_bytes(data: bytes, name: str, *, arch: str | None = None,
                 runtime: str = DEFAULT_RUNTIME) -> Verdict:
    """Check a zip held in memory; ``name`` is what the verdict's path says."""
    _check_args(arch, runtime)
    return _verify(bytes(data), Path(name), arch, runtime)


def collect_targets(paths: Sequence[Path], *, cwd: Path) -> tuple[Target, ...]:
    """The zips to verify: those named, every ``*.zip`` in a named directory, or the manifest's.

    With no paths, ``dist/manifest.json`` under ``cwd`` lists them (with each function's arch and
    runtime).  A named directory holding a gbl manifest takes arch and runtime from it too.
    """
    cwd = Path(cwd)
    if not paths:
        manifest = cwd / DIST_DIR / MANIFEST_FILE
        if not manifest.is_file():
            raise UsageError(
                f"nothing to verify: {DIST_DIR}/{MANIFEST_FILE} not found", where=str(cwd),
                hint="run `gbl build` first, or name zips or a directory: `gbl verify dist/api.zip`",
            )
        return _dedupe(_manifest_targets(manifest, strict=True))
    out: list[Target] = []
    for raw in paths:
        p = Path(raw)
        if not p.is_absolute():
            p = cwd / p
        if p.is_dir():
            zips = sorted((c for c in p.iterdir() if c.suffix.lower() == ".zip" and c.is_file()),
                          key=lambda c: c.name)
            if not zips:
                raise UsageError(
                    "no .zip files in this directory", where=str(p),
                    hint="name the zips themselves, or run `gbl build` to make some",
                )
            known = {}
            if (p / MANIFEST_FILE).is_file():
                known = {t.path.resolve(): t for t in _manifest_targets(p / MANIFEST_FILE, strict=False)}
            for z in zips:
                out.append(known.get(z.resolve(), Target(z, None, DEFAULT_RUNTIME)))
        elif p.is_file():
            if p.suffix.lower() == ".json":
                out.extend(_manifest_targets(p, strict=True))
            else:
                out.append(Target(p, None, DEFAULT_RUNTIME))
        else:
            raise UsageError(
                "no such file or directory", where=str(p),
                hint="name zips, a directory of zips, or nothing (to verify dist/manifest.json)",
            )
    return _dedupe(out)


# Where `gbl build` writes the zips and manifest.json (zips named relative to the manifest).
DIST_DIR = "dist"


def _manifest_targets(manifest: Path, *, strict: bool) -> list[Target]:
    hint = "run `gbl build` again to rewrite it, or name the zips to verify"

    def bad(message: str) -> UsageError:
        return UsageError(f"bad manifest: {message}", where=str(manifest), hint=hint)

    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if not strict:
            return []
        raise bad(f"cannot read it as JSON ({exc})") from exc
    functions = data.get("functions") if isinstance(data, dict) else None
    if not isinstance(functions, dict):
        if not strict:
            return []
        raise bad('no "functions" object')
    out = []
    for name in sorted(functions):
        entry = functions[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("zip"), str) or not entry["zip"]:
            if not strict:
                continue
            raise bad(f'function {_q(name)} has no "zip" file name')
        arch, runtime = entry.get("arch"), entry.get("runtime", DEFAULT_RUNTIME)
        problem = ""
        if arch is not None and arch not in ARCHES:
            problem = f"function {_q(name)} has arch {_q(arch)}; expected one of {', '.join(ARCHES)}"
        elif runtime not in RUNTIMES:
            problem = f"function {_q(name)} has runtime {_q(runtime)}; expected one of {', '.join(RUNTIMES)}"
        if problem:
            if not strict:
                continue
            raise bad(problem)
        zip_path = manifest.parent / entry["zip"]
        if not zip_path.is_file():
            if not strict:
                continue
            raise UsageError(
                f"function {_q(name)}: {entry['zip']} is listed in the manifest but missing",
                where=str(manifest), hint="run `gbl build` again",
            )
        out.append(Target(zip_path, arch, runtime, name))
    if strict and not out:
        raise bad("it lists no functions")
    return out


def _dedupe(targets: Iterable[Target]) -> tuple[Target, ...]:
    seen: set[Path] = set()
    out = []
    for t in targets:
        key = t.path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(t)
    return tuple(out)


def _check_args(arch: str | None, runtime: str) -> None:
    if arch is not None and arch not in ARCHES:
        raise UsageError(f"unknown architecture {_q(arch)}", hint=f"use one of {', '.join(ARCHES)}")
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {_q(runtime)}", hint=f"use one of {', '.join(RUNTIMES)}")


def _unreadable(path: Path, message: str) -> Verdict:
    check = Check("zip-readable", FAIL, message, _LAMBDA_UNZIP_ERROR,
                  "name the zip `gbl build` wrote (dist/NAME.zip)")
    return Verdict(path, (check,), None, None, None)


# --------------------------------------------------------------------------------------------------
# the zip's directory


class _Unreadable(Exception):
    """Not a zip at all, or its central directory cannot be found: the one zip-readable failure."""

    def __init__(self, message: str, fix: str = _REPACKAGE):
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class _Entry:
    index: int
    raw_name: bytes
    name: str  # as stored (decoded)
    key: str  # normalised: "/"-separated parts without "", "." or a trailing "/"
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    header_offset: int  # of the local header, already shifted past any prepended bytes
    create_system: int
    external_attr: int

    @property
    def unix_mode(self) -> int | None:
        return self.external_attr >> 16 if self.create_system in UNIX_SYSTEMS else None

    @property
    def is_dir(self) -> bool:
        mode = self.unix_mode
        return self.name.endswith(("/", "\\")) or (mode is not None and stat.S_ISDIR(mode))

    @property
    def is_symlink(self) -> bool:
        mode = self.unix_mode
        return mode is not None and stat.S_ISLNK(mode)


def _norm(name: str) -> str:
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & FLAG_UTF8:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")  # what Info-ZIP on Linux and most tools write, flag or not
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _unpack(fmt: str, data, offset: int, what: str) -> tuple:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise _Unreadable(f"truncated: the {what} at offset {offset} runs past the end of the file "
                          f"({len(data)} bytes)")
    return struct.unpack_from(fmt, data, offset)


def _read_directory(data) -> tuple[list[_Entry], int]:
    """Every central directory entry, and where the central directory starts."""
    if len(data) == 0:
        raise _Unreadable("the file is empty (0 bytes)")
    eocd = _find_eocd(data)
    if eocd is None:
        kind = elf.identify(bytes(data[:4096]))
        if bytes(data[:4]) == LOCAL_SIG:
            raise _Unreadable("truncated: it starts like a zip but its end (the central directory) "
                              "is missing; the upload or copy was cut short")
        raise _Unreadable(f"not a zip: the file is {kind.description}",
                          "zip the binary (named bootstrap) with `gbl zip BINARY`, or `gbl build`")
    (_sig, disk, cd_disk, _disk_entries, total, cd_size, cd_offset, _clen) = struct.unpack_from(
        EOCD_FORMAT, data, eocd)
    cd_end = eocd
    locator = eocd - struct.calcsize(ZIP64_LOCATOR_FORMAT)
    if locator >= 0 and bytes(data[locator:locator + 4]) == ZIP64_LOCATOR_SIG:
        _s, _d, z64_offset, _disks = struct.unpack_from(ZIP64_LOCATOR_FORMAT, data, locator)
        z64 = locator - struct.calcsize(ZIP64_EOCD_FORMAT)
        if z64 < 0 or bytes(data[z64:z64 + 4]) != ZIP64_EOCD_SIG:
            raise _Unreadable("corrupt: its ZIP64 end record is missing or misplaced")
        (_s, _rs, _vm, _vn, disk, cd_disk, _de, total, cd_size, cd_offset) = struct.unpack_from(
            ZIP64_EOCD_FORMAT, data, z64)
        cd_end = z64
    if disk != 0 or cd_disk != 0:
        raise _Unreadable("a split (multi-part) zip: Lambda needs a single-file zip")
    # Bytes prepended to the archive (a self-extractor stub) shift every offset by `concat`.
    concat = cd_end - cd_size - cd_offset
    if concat < 0:
        raise _Unreadable(f"truncated or corrupt: the central directory ({cd_size} bytes at offset "
                          f"{cd_offset}) does not fit before its end record at {cd_end}")
    cd_start = cd_offset + concat
    if total > cd_size // struct.calcsize(CENTRAL_FORMAT) and total > 0:
        raise _Unreadable(f"corrupt: the central directory claims {total} entries in {cd_size} bytes")
    entries = []
    pos = cd_start
    for index in range(total):
        fields = _unpack(CENTRAL_FORMAT, data, pos, "central directory entry")
        (sig, _cver, system, _xver, flags, method, _time, _date, crc, csize, usize, nlen, elen,
         clen, _disk, _iattr, eattr, offset) = fields
        if sig != CENTRAL_SIG:
            raise _Unreadable(f"corrupt: central directory entry {index + 1} of {total} is not where "
                              "the directory says (bad signature)")
        name_at = pos + struct.calcsize(CENTRAL_FORMAT)
        if name_at + nlen + elen + clen > cd_end:
            raise _Unreadable(f"corrupt: central directory entry {index + 1} runs past the directory")
        raw = bytes(data[name_at:name_at + nlen])
        extra = bytes(data[name_at + nlen:name_at + nlen + elen])
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        name = _decode_name(raw, flags)
        entries.append(_Entry(index, raw, name, _norm(name), flags, method, crc, csize, usize,
                              offset + concat, system, eattr))
        pos = name_at + nlen + elen + clen
    return entries, cd_start


def _find_eocd(data) -> int | None:
    size = struct.calcsize(EOCD_FORMAT)
    floor = max(0, len(data) - size - MAX_COMMENT)
    pos = data.rfind(EOCD_SIG, floor)
    while pos >= 0:
        if pos + size <= len(data):
            (comment_len,) = struct.unpack_from("<H", data, pos + size - 2)
            if pos + size + comment_len <= len(data):
                return pos
        pos = data.rfind(EOCD_SIG, floor, pos) if pos > floor else -1
    return None


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + size]
        if tag == ZIP64_EXTRA_ID:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            it = iter(values)
            if usize == 0xFFFFFFFF:
                usize = next(it, usize)
            if csize == 0xFFFFFFFF:
                csize = next(it, csize)
            if offset == 0xFFFFFFFF:
                offset = next(it, offset)
            break
        pos += 4 + size
    return usize, csize, offset


# --------------------------------------------------------------------------------------------------
# reading members


@dataclass(frozen=True)
class _Member:
    """Where an entry's data is, or why it cannot be read."""

    entry: _Entry
    data_start: int  # -1 when the local header is unusable
    problem: str  # "" when the headers agree


def _locate(data, entry: _Entry, limit: int) -> _Member:
    e = entry
    off = e.header_offset
    size = struct.calcsize(LOCAL_FORMAT)
    if off < 0 or off + size > limit:
        return _Member(e, -1, f"{_q(e.name)}: its local header (offset {off}) lies outside the archive")
    (sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, elen) = struct.unpack_from(
        LOCAL_FORMAT, data, off)
    if sig != LOCAL_SIG:
        return _Member(e, -1, f"{_q(e.name)}: no local header at offset {off} (bad signature)")
    name = bytes(data[off + size:off + size + nlen])
    if name != e.raw_name:
        return _Member(e, -1, f"{_q(e.name)}: its local header names it "
                              f"{_q(name.decode('utf-8', 'replace'))}")
    start = off + size + nlen + elen
    if method != e.method:
        return _Member(e, start, f"{_q(e.name)}: compression method {method} in its local header, "
                                 f"{e.method} in the central directory")
    if not flags & FLAG_DATA_DESCRIPTOR:
        extra = bytes(data[off + size + nlen:start])
        usize, csize, _ = _zip64_sizes(extra, usize, csize, 0)
        if (crc, csize, usize) != (e.crc, e.csize, e.usize):
            return _Member(e, start, f"{_q(e.name)}: its local header declares {csize} bytes "
                                     f"compressed / {usize} unzipped (CRC {crc:08x}), the central "
                                     f"directory {e.csize} / {e.usize} (CRC {e.crc:08x})")
    if start + e.csize > limit:
        return _Member(e, -1, f"{_q(e.name)}: its {e.csize} bytes of data run past the end of the "
                              "archive (truncated?)")
    return _Member(e, start, "")


def _inflate_whole(data, start: int, end: int, usize: int) -> bytes | None:
    """The member inflated by libdeflate in one call, or None to take the streaming path.

    Only a member that inflates to exactly ``usize`` bytes comes back; anything else (corrupt,
    truncated, longer or shorter than declared) returns None, and the streaming path, which reads
    no further than the declared size, says precisely what is wrong.
    """
    if usize > _ONE_SHOT_LIMIT:
        return None
    try:
        # One byte of headroom: libdeflate stops rather than write past the buffer.
        out = deflate.deflate_decompress(bytes(data[start:end]), usize + 1)
    except deflate.DeflateError:
        return None
    return out if len(out) == usize else None


def _read_member(data, m: _Member, *, keep: bool, cap: int | None = None) -> tuple[bytes | None, str]:
    """Inflate ``m``, never past its declared size; (content if ``keep``, problem or "")."""
    e = m.entry
    usize = e.usize if cap is None else min(e.usize, cap)
    start, end = m.data_start, m.data_start + e.csize
    pieces: list[bytes] = []
    crc = produced = 0
    if e.method == METHOD_STORED:
        if e.csize != e.usize:
            return None, f"{_q(e.name)}: stored (not compressed) but {e.csize} bytes zipped and " \
                         f"{e.usize} declared unzipped"
        for pos in range(start, start + usize, _INFLATE_CHUNK):
            chunk = bytes(data[pos:min(pos + _INFLATE_CHUNK, start + usize)])
            crc = deflate.crc32(chunk, crc)
            if keep:
                pieces.append(chunk)
        produced = usize
    elif (whole := _inflate_whole(data, start, end, usize)) is not None:
        produced, crc = len(whole), deflate.crc32(whole)
        if keep:
            pieces.append(whole)
    else:  # METHOD_DEFLATED (the caller has sent other methods to zip-compression), streamed
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            pos = start
            while pos < end and not d.eof and produced <= usize:
                pending = bytes(data[pos:min(pos + _INFLATE_CHUNK, end)])
                pos += len(pending)
                while pending and not d.eof and produced <= usize:
                    out = d.decompress(pending, usize - produced + 1)
                    produced += len(out)
                    crc = zlib.crc32(out, crc)
                    if keep:
                        pieces.append(out)
                    pending = d.unconsumed_tail
            while not d.eof and produced <= usize:  # output zlib held back at the size limit
                out = d.decompress(b"", usize - produced + 1)
                if not out:
                    break
                produced += len(out)
                crc = zlib.crc32(out, crc)
                if keep:
                    pieces.append(out)
        except zlib.error as exc:
            return None, f"{_q(e.name)}: corrupt deflate data ({exc})"
        if produced > usize:
            if cap is not None and e.usize > cap:
                return None, f"{_q(e.name)}: larger than gbl reads ({cap} bytes)"
            return None, f"{_q(e.name)}: inflates to more than its declared {e.usize} bytes"
        if not d.eof:
            return None, f"{_q(e.name)}: its compressed data ends early (truncated)"
    if cap is not None and e.usize > cap:
        return None, f"{_q(e.name)}: larger than gbl reads ({cap} bytes)"
    if produced != e.usize:
        return None, f"{_q(e.name)}: inflates to {produced} bytes, not the declared {e.usize}"
    if crc != e.crc:
        return None, f"{_q(e.name)}: CRC mismatch (the data is corrupt)"
    return (b"".join(pieces) if keep else None), ""


# --------------------------------------------------------------------------------------------------
# the checks


class _Zip:
    """A parsed zip and what the checks learn about it: built once per verify call."""

    def __init__(self, data, entries: list[_Entry], cd_start: int):
        self.data = data
        self.entries = entries
        self.by_key: dict[str, _Entry] = {}
        for e in entries:
            self.by_key[e.key] = e  # the last of duplicates, as most unzip tools leave it
        self.members = {e.index: _locate(data, e, cd_start) for e in entries}
        self.unreadable: dict[int, str] = {}  # entry index -> why its content cannot be read
        self.cache: dict[int, bytes] = {}

    def content(self, e: _Entry, cap: int = UNZIPPED_LIMIT) -> tuple[bytes | None, str]:
        """The entry's bytes, inflated at most to ``cap`` (no file Lambda runs is larger)."""
        if e.index in self.unreadable:
            return None, self.unreadable[e.index]
        if e.index in self.cache:
            return self.cache[e.index], ""
        got, problem = _read_member(self.data, self.members[e.index], keep=True, cap=cap)
        if got is not None:
            self.cache[e.index] = got
        return got, problem

    def resolve(self, e: _Entry) -> tuple[_Entry | None, str, list[str]]:
        """Follow symbolic links inside the zip: (final entry, problem, the chain of names)."""
        chain = [e.name]
        for _ in range(SYMLINK_MAX_HOPS):
            if not e.is_symlink:
                return e, "", chain
            target, problem = self.link_target(e)
            if problem:
                return None, problem, chain
            key, escapes = _resolve_link(e.key, target)
            chain.append(target)
            if escapes:
                return None, f"{_q(e.name)} is a link to {_q(target)}, outside the zip", chain
            nxt = self.by_key.get(key)
            if nxt is None:
                return None, f"{_q(e.name)} is a link to {_q(target)}, which is not in the zip", chain
            e = nxt
        return None, f"{_q(chain[0])}: too many levels of symbolic links", chain

    def link_target(self, e: _Entry) -> tuple[str, str]:
        if e.usize > SYMLINK_MAX_TARGET:
            return "", f"{_q(e.name)} is a link whose target is {e.usize} bytes long"
        got, problem = self.content(e, cap=SYMLINK_MAX_TARGET)
        if got is None:
            return "", problem or f"{_q(e.name)}: cannot read the link"
        return got.decode("utf-8", "replace"), ""


def _resolve_link(link_key: str, target: str) -> tuple[str, bool]:
    """The zip key a link points at, and whether it points outside the zip."""
    parts = link_key.split("/")[:-1]  # relative to the link's folder
    if target.startswith(LAMBDA_TASK_ROOT + "/"):
        target, parts = target[len(LAMBDA_TASK_ROOT) + 1:], []
    elif target.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", target):
        return "", True
    for p in target.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                return "", True
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts), False


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(_q(n) for n in names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _q(name: str) -> str:
    """A name quoted for a message: 'as is' when printable, else Python's escapes."""
    return f"'{name}'" if name.isprintable() and "'" not in name else repr(name)


def _mode_str(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _verify(data, path: Path, arch: str | None, runtime: str) -> Verdict:
    try:
        entries, cd_start = _read_directory(data)
    except _Unreadable as exc:
        return Verdict(path, (Check("zip-readable", FAIL, f"{path.name}: {exc.message}",
                                    _LAMBDA_UNZIP_ERROR, exc.fix),), None, None, None)
    z = _Zip(data, entries, cd_start)
    count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    checks = [_ok("zip-readable", f"{path.name}: a zip of {count}")]
    checks.append(_check_paths(z))
    checks.append(_check_duplicates(z))
    checks.append(_check_compression(z))
    checks.append(_check_bomb(z))
    checks.append(_check_integrity(z))
    checks.append(_check_symlinks(z))
    checks.extend(_check_sizes(z, len(data)))
    checks.append(_check_permissions(z))
    run = _Run(z, arch, runtime)
    checks.extend(run.bootstrap())
    return Verdict(path, tuple(checks), run.arch, run.go_version, run.aws_lambda_go)


def _check_paths(z: _Zip) -> Check:
    bad, odd = [], []
    for e in z.entries:
        name = e.name
        parts = re.split(r"[/\\]", name)
        if not name or "\0" in name:
            bad.append((name, "an empty or NUL-containing name"))
        elif name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            bad.append((name, "an absolute path"))
        elif ".." in parts:
            bad.append((name, "a '..' component"))
        elif "\\" in name:
            odd.append(name)
    if bad:
        first = "; ".join(f"{_q(n)} ({why})" for n, why in bad[:_MAX_LISTED])
        more = f" and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        return Check(
            "zip-paths", FAIL, f"entries that would unpack outside the function's directory: {first}{more}",
            "Lambda unpacks into /var/task: the upload is rejected or the entry lands elsewhere "
            f"({_LAMBDA_UNZIP_ERROR})",
            "zip only paths relative to the zip's root, with no '..': " + _REPACKAGE,
        )
    if odd:
        return Check(
            "zip-paths", WARN,
            f"{_listing(odd)} use{'s' if len(odd) == 1 else ''} '\\' as a folder separator (a zip made on Windows, e.g. by "
            "Compress-Archive)",
            "Lambda's unzip on Linux keeps '\\' as part of the file name: 'a\\b' is one file at the "
            "root, not b inside a",
            f"use '/' as the separator: {_REPACKAGE}",
        )
    return _ok("zip-paths", "every entry is a relative path inside the zip")


def _check_duplicates(z: _Zip) -> Check:
    counts: dict[str, list[str]] = {}
    for e in z.entries:
        counts.setdefault(e.key, []).append(e.name)
    dups = [names for names in counts.values() if len(names) > 1]
    if dups:
        desc = "; ".join(f"{_q(names[0])} appears {len(names)} times" for names in dups[:_MAX_LISTED])
        return Check(
            "zip-duplicates", FAIL, f"duplicate entries: {desc}",
            "which copy Lambda unpacks is not defined (unzip tools keep the first, the last, or stop)",
            f"rebuild the zip instead of appending to it (`zip -u` adds copies): {_REPACKAGE}",
        )
    return _ok("zip-duplicates", "no two entries share a name")


def _check_compression(z: _Zip) -> Check:
    bad = []
    for e in z.entries:
        if e.flags & FLAG_ENCRYPTED:
            bad.append(f"{_q(e.name)} is encrypted")
        elif e.method not in (METHOD_STORED, METHOD_DEFLATED):
            method = METHOD_NAMES.get(e.method, f"method {e.method}")
            bad.append(f"{_q(e.name)} uses compression method {e.method} ({method})")
        else:
            continue
        z.unreadable[e.index] = bad[-1]
    if bad:
        return Check(
            "zip-compression", FAIL, "; ".join(bad[:_MAX_LISTED])
            + (f" and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else "")
            + ": gbl reads only stored and deflate entries (what every unzip reads), so it cannot "
            "check inside",
            f"Lambda may fail to unpack it: {_LAMBDA_UNZIP_ERROR}",
            f"zip without a password, with deflate: {_REPACKAGE}",
        )
    return _ok("zip-compression", "every entry is stored or deflated, none encrypted")


def _check_bomb(z: _Zip) -> Check:
    bombs = []
    for e in z.entries:
        if e.usize >= BOMB_MIN_SIZE and e.usize > BOMB_RATIO * max(e.csize, 1):
            bombs.append(f"{_q(e.name)} claims to expand {e.csize} bytes into {e.usize}")
            z.unreadable.setdefault(e.index, f"{_q(e.name)}: not inflated (a zip bomb)")
    # Entries whose data overlap (the same bytes counted twice) are the other kind of bomb.
    located = sorted((m.entry.header_offset, m.data_start + m.entry.csize, m.entry.index)
                     for m in z.members.values() if m.data_start >= 0)
    for (_, end, i), (nxt_start, _, j) in zip(located, located[1:]):
        if nxt_start < end:
            e, nxt = z.entries[i], z.entries[j]
            bombs.append(f"{_q(e.name)} and {_q(nxt.name)} overlap in the archive")
            for x in (e, nxt):
                z.unreadable.setdefault(x.index, f"{_q(x.name)}: not inflated (overlapping entries)")
    if bombs:
        return Check(
            "zip-bomb", FAIL,
            f"a zip bomb: {'; '.join(bombs[:_MAX_LISTED])} (not inflated)",
            f"Lambda rejects it or runs out of space unpacking it ({_LAMBDA_UNZIP_ERROR})",
            f"zip the real files: {_REPACKAGE}",
        )
    return _ok("zip-bomb", f"no entry expands more than {BOMB_RATIO}:1 and no entries overlap")


def _check_integrity(z: _Zip) -> Check:
    problems = []
    total = sum(e.usize for e in z.entries)
    for e in z.entries:
        m = z.members[e.index]
        if m.problem:
            problems.append(m.problem)
            z.unreadable.setdefault(e.index, m.problem)
            continue
        if e.index in z.unreadable or total > UNZIPPED_LIMIT:
            continue  # reported elsewhere; an oversized zip is not inflated at all
        # Keep what the bootstrap checks will read: bootstrap, links, and executables (which a
        # bootstrap script may exec); the zip is under the size limit, so this is bounded.
        need = e.key == BOOTSTRAP or e.is_symlink or bool((e.unix_mode or 0) & 0o111)
        got, problem = _read_member(z.data, m, keep=need)
        if problem:
            problems.append(problem)
            z.unreadable[e.index] = problem
        elif got is not None:
            z.cache[e.index] = got
    if problems:
        return Check(
            "zip-integrity", FAIL,
            "corrupt or inconsistent entries: " + "; ".join(problems[:_MAX_LISTED])
            + (f" and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""),
            _LAMBDA_UNZIP_ERROR,
            f"make the zip again (a copy or upload may have been cut short): {_REPACKAGE}",
        )
    if total > UNZIPPED_LIMIT:
        return _ok("zip-integrity", "headers agree (data not inflated: the zip is over the size limit)")
    return _ok("zip-integrity", f"every entry's headers agree and its data inflates to its declared "
                                f"size and CRC ({total} bytes)")


def _check_symlinks(z: _Zip) -> Check:
    links = [e for e in z.entries if e.is_symlink]
    if not links:
        return _ok("zip-symlinks", "no symbolic links")
    escaping, dangling = [], []
    for e in links:
        target, problem = z.link_target(e)
        if problem:
            continue  # zip-integrity / zip-compression already say why it cannot be read
        key, escapes = _resolve_link(e.key, target)
        if escapes:
            escaping.append(f"{_q(e.name)} -> {_q(target)}")
        elif key not in z.by_key and not any(k.startswith(key + "/") for k in z.by_key):
            dangling.append(f"{_q(e.name)} -> {_q(target)}")
    if escaping:
        return Check(
            "zip-symlinks", FAIL, f"links pointing outside the zip: {', '.join(escaping[:_MAX_LISTED])}",
            "the link resolves outside /var/task on Lambda, to whatever is there (usually nothing)",
            "put the file itself in the zip, not a link to it",
        )
    if dangling:
        return Check(
            "zip-symlinks", WARN, f"links to files not in the zip: {', '.join(dangling[:_MAX_LISTED])}",
            "opening the link fails with 'no such file or directory' unless a layer provides it",
            "add the target to the zip, or remove the link",
        )
    return _ok("zip-symlinks", f"{len(links)} link(s), all to entries inside the zip")


def _check_sizes(z: _Zip, zipped: int) -> list[Check]:
    out = []
    mib = 1024 * 1024
    if zipped > ZIPPED_UPLOAD_LIMIT:
        out.append(Check(
            "size-zipped", WARN,
            f"the zip is {zipped / mib:.1f} MiB, over the {ZIPPED_UPLOAD_LIMIT // mib} MB limit for "
            "a direct upload",
            "RequestEntityTooLargeException on a direct upload (CreateFunction/UpdateFunctionCode "
            "with the zip inline)",
            "upload the zip to S3 and deploy from there (S3Bucket/S3Key), or make it smaller",
        ))
    else:
        out.append(_ok("size-zipped", f"{zipped} bytes zipped (direct-upload limit "
                                      f"{ZIPPED_UPLOAD_LIMIT} bytes)"))
    total = sum(e.usize for e in z.entries)
    if total > UNZIPPED_LIMIT:
        biggest = max(z.entries, key=lambda e: e.usize)
        out.append(Check(
            "size-unzipped", FAIL,
            f"the entries declare {total} bytes unzipped, over Lambda's {UNZIPPED_LIMIT}-byte limit "
            f"(largest: {_q(biggest.name)}, {biggest.usize} bytes)",
            f"InvalidParameterValueException: Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
            "ship less: the limit counts the function's layers too; larger code needs a container image",
        ))
    else:
        out.append(_ok("size-unzipped", f"{total} bytes unzipped (limit {UNZIPPED_LIMIT} bytes, "
                                        "layers included)"))
    return out


def _check_permissions(z: _Zip) -> Check:
    unreadable = []
    for e in z.entries:
        mode = e.unix_mode
        if mode is None or e.is_symlink or e.key == BOOTSTRAP:
            continue
        need = 0o005 if e.is_dir else 0o004
        if mode & need != need:
            unreadable.append(f"{_q(e.name)} ({_mode_str(mode)})")
    if unreadable:
        return Check(
            "zip-permissions", WARN,
            f"not readable by every user: {', '.join(unreadable[:_MAX_LISTED])}"
            + (f" and {len(unreadable) - _MAX_LISTED} more" if len(unreadable) > _MAX_LISTED else ""),
            "Lambda runs the function as a user that does not own the files: opening them fails "
            "with 'permission denied'",
            "give files mode 0644 (0755 if executable) and folders 0755 before zipping",
        )
    return _ok("zip-permissions", "every file is world-readable and every folder world-searchable")


# --------------------------------------------------------------------------------------------------
# bootstrap and what it runs


class _Run:
    """The checks on bootstrap (and on the program a bootstrap script execs)."""

    def __init__(self, z: _Zip, arch: str | None, runtime: str):
        self.z = z
        self.want = arch
        self.runtime = runtime
        self.arch: str | None = None
        self.go_version: str | None = None
        self.aws_lambda_go: str | None = None
        self._described = False  # arch/go facts come from the first program checked

    def bootstrap(self) -> list[Check]:
        z = self.z
        entry = z.by_key.get(BOOTSTRAP)
        if entry is None:
            return [self._missing()]
        if entry.is_dir or any(k.startswith(BOOTSTRAP + "/") for k in z.by_key):
            return [Check(
                "bootstrap-at-root", FAIL, "'bootstrap' at the root of the zip is a folder, not a file",
                _NO_BOOTSTRAP, f"put the executable itself at the root, named bootstrap: {_REPACKAGE}",
            )]
        final, problem, chain = z.resolve(entry)
        if final is None:
            return [Check("bootstrap-at-root", FAIL, problem, _NO_BOOTSTRAP,
                          "point the link at an executable in the zip, or put the executable "
                          f"itself at the root named bootstrap: {_REPACKAGE}")]
        if final.is_dir:
            return [Check("bootstrap-at-root", FAIL, f"bootstrap links to the folder {_q(final.name)}",
                          _NO_BOOTSTRAP, _REPACKAGE)]
        if final is entry:
            found = _ok("bootstrap-at-root", f"{_q(entry.name)} is at the root of the zip")
        else:
            found = _ok("bootstrap-at-root", f"bootstrap is a link: {' -> '.join(chain)} "
                                             "(as aws-lambda-go's build-lambda-zip writes)")
        label = "bootstrap" if final is entry else f"bootstrap (-> {_q(final.name)})"
        return [found, *self._program(final, label, depth=0)]

    def _missing(self) -> Check:
        z = self.z
        nested = [e.name for e in z.entries
                  if not e.is_dir and re.split(r"[/\\]", e.key)[-1] == BOOTSTRAP]
        if nested:
            folder = re.split(r"[/\\]", nested[0])[0]
            return Check(
                "bootstrap-at-root", FAIL,
                f"no bootstrap at the root of the zip; found {_listing(nested)} in a folder",
                _NO_BOOTSTRAP,
                f"zip it from inside that folder so that it lands at the root (`cd {folder}` first), "
                f"or: {_REPACKAGE}",
            )
        similar = [e.name for e in z.entries if not e.is_dir and e.key.lower() in (
            "bootstrap", "bootstrap.exe", "bootstrap.sh") and e.key != BOOTSTRAP]
        runnable = [e.name for e in z.entries if "/" not in e.key and not e.is_dir
                    and e.unix_mode is not None and e.unix_mode & 0o111]
        hint = ""
        if similar:
            hint = f"; found {_listing(similar)}: the name must be exactly 'bootstrap'"
        elif runnable:
            hint = f"; found the executable {_listing(runnable)}: the provided runtimes run only " \
                   "one named bootstrap (the go1.x runtime's handler name no longer applies)"
        return Check(
            "bootstrap-at-root", FAIL, f"no file named bootstrap at the root of the zip{hint}",
            _NO_BOOTSTRAP,
            "name the executable bootstrap and put it at the root: " + _REPACKAGE,
        )

    # -- one program: bootstrap itself, or what a bootstrap script execs -------------------------

    def _program(self, entry: _Entry, label: str, depth: int) -> list[Check]:
        out = [self._mode(entry, label, script=None)]
        content, problem = self.z.content(entry)
        if content is None:
            # zip-integrity / zip-compression / zip-bomb already failed for this entry.
            out.append(Check("bootstrap-format", FAIL, f"{label}: not checked, the zip entry "
                             f"cannot be read ({problem})",
                             _LAMBDA_UNZIP_ERROR, _REPACKAGE))
            return out
        kind = elf.identify(content)
        if kind.kind == "script":
            out[0] = self._mode(entry, label, script=True)
            out.append(_ok("bootstrap-format", f"{label} is {kind.description}"))
            out.extend(self._script(content, label, depth))
            return out
        out.extend(self._binary(content, kind, label))
        return out

    def _mode(self, entry: _Entry, label: str, script: bool | None) -> Check:
        mode = entry.unix_mode
        if mode is None:
            system = SYSTEM_NAMES.get(entry.create_system, f"system {entry.create_system}")
            windows = (", as Windows' Compress-Archive and Send to > Compressed folder make them"
                       if entry.create_system in WINDOWS_SYSTEMS else "")
            return Check(
                "bootstrap-executable", FAIL,
                f"{label}: the zip stores no Unix permissions for it (made by {system}{windows}), "
                "so it is unpacked without the execute bit",
                _PERMISSION_DENIED, _REPACKAGE,
            )
        perms = _mode_str(mode)
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            return Check("bootstrap-executable", FAIL,
                         f"{label}: not a regular file (mode {mode:06o})", _PERMISSION_DENIED,
                         _REPACKAGE)
        if not mode & 0o111:
            return Check(
                "bootstrap-executable", FAIL, f"{label}: mode {perms}, not executable",
                _PERMISSION_DENIED,
                f"`chmod 755` it before zipping, or {_REPACKAGE}",
            )
        need = 0o005 if script else 0o001
        if mode & need != need:
            what = "read and execute" if script else "execute"
            return Check(
                "bootstrap-executable", FAIL,
                f"{label}: mode {perms}: other users cannot {what} it, and Lambda runs the function "
                "as a user that does not own the file",
                _PERMISSION_DENIED, f"`chmod 755` it before zipping, or {_REPACKAGE}",
            )
        return _ok("bootstrap-executable", f"{label}: mode {perms}")

    def _binary(self, content: bytes, kind: elf.FileKind, label: str) -> list[Check]:
        arch_hint = self.want or (kind.goarch if kind.goarch in ARCHES else ARCHES[0])
        build_fix = (f"build for Lambda: GOOS={LAMBDA_GOOS} GOARCH={arch_hint} CGO_ENABLED=0 go build "
                     f"(`gbl build` does this)")
        out: list[Check] = []
        info = None
        if kind.kind == "elf":
            try:
                info = elf.parse_elf(content)
            except elf.ElfError as exc:
                out.append(Check("bootstrap-format", FAIL, f"{label}: a malformed ELF file ({exc.message})",
                                 _EXEC_FORMAT, build_fix))
        elif kind.kind in ("macho", "macho-fat"):
            out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}: built for macOS",
                             _EXEC_FORMAT, build_fix))
        elif kind.kind == "pe":
            out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}: built for "
                             "Windows", _EXEC_FORMAT, build_fix))
        elif kind.kind == "empty":
            out.append(Check("bootstrap-format", FAIL, f"{label} is empty (0 bytes)", _EXEC_FORMAT,
                             build_fix))
        else:
            fix = build_fix + ", or make it a #! script"
            if content.startswith(elf.UTF8_BOM):
                fix = "save the script as UTF-8 without a byte-order mark, so it starts with #!"
            out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}, not a "
                             "program Lambda can run", _EXEC_FORMAT, fix))
        if info is not None:
            out.extend(self._elf(info, label, build_fix))
        self._go(content, label, out, arch_hint)
        return out

    def _elf(self, info: elf.ElfInfo, label: str, build_fix: str) -> list[Check]:
        desc = info.describe()
        if info.bits != 64 or not info.little_endian:
            return [Check("bootstrap-format", FAIL,
                          f"{label} is {desc}: Lambda runs only 64-bit little-endian programs "
                          "(x86_64 or arm64)", _EXEC_FORMAT, build_fix)]
        if info.type not in (elf.ET_EXEC, elf.ET_DYN) or (info.type == elf.ET_DYN and info.entry == 0):
            return [Check("bootstrap-format", FAIL, f"{label} is {desc}, not a program",
                          _EXEC_FORMAT, build_fix)]
        out = [_ok("bootstrap-format", f"{label} is {desc}")]
        out.append(self._arch(info, label))
        out.append(self._linking(info, label))
        return out

    def _arch(self, info: elf.ElfInfo, label: str) -> Check:
        found = info.goarch
        if self.arch is None and found in ARCHES:
            self.arch = found
        wanted = (self.want,) if self.want else ARCHES
        if found in wanted:
            lam = LAMBDA_ARCH_NAMES[found]
            if self.want:
                return _ok("bootstrap-arch", f"{label} is {info.machine_name} ({found}), the "
                                             f"function's architecture ({lam})")
            return _ok("bootstrap-arch", f"{label} is {info.machine_name} ({found}): deploy it with "
                                         f"architecture {lam}")
        if found in ARCHES:  # the other Lambda architecture
            want = LAMBDA_ARCH_NAMES[self.want]
            return Check(
                "bootstrap-arch", FAIL,
                f"{label} is {info.machine_name} ({found}), but the function is "
                f"{want}{'' if want == self.want else f' ({self.want})'}",
                _EXEC_FORMAT,
                f"build with GOARCH={self.want} (`gbl build --arch {self.want}`), or deploy the "
                f"function with architecture {LAMBDA_ARCH_NAMES[found]}",
            )
        return Check(
            "bootstrap-arch", FAIL,
            f"{label} is {info.machine_name} ({found or 'not a Go architecture'}): Lambda runs only "
            "x86_64 (amd64) and arm64",
            _EXEC_FORMAT,
            f"build with GOOS={LAMBDA_GOOS} GOARCH={self.want or ' or GOARCH='.join(ARCHES)}: "
            "`gbl build`",
        )

    def _linking(self, info: elf.ElfInfo, label: str) -> Check:
        if not info.dynamic:
            return _ok("bootstrap-linking", f"{label} is statically linked (no program interpreter)")
        interp = info.interpreter or ""
        have = RUNTIME_GLIBC[self.runtime]
        have_str = ".".join(map(str, have))
        static_fix = "build with CGO_ENABLED=0 for a static binary (`gbl build` does)"
        if interp.startswith(MUSL_LOADER_PREFIX):
            return Check(
                "bootstrap-linking", FAIL,
                f"{label} is linked against musl ({interp}); {self.runtime} has only glibc",
                _NO_SUCH_FILE, static_fix + ", or link it with glibc",
            )
        needed = info.max_glibc
        need = elf.glibc_version_tuple(needed) if needed else None
        libs = ", ".join(info.needed) or "no libraries"
        if need is not None and need > have:
            other = ""
            newest = max(RUNTIME_GLIBC, key=RUNTIME_GLIBC.__getitem__)
            if self.runtime != newest and need <= RUNTIME_GLIBC[newest]:
                other = f", or deploy on {newest} (glibc {'.'.join(map(str, RUNTIME_GLIBC[newest]))})"
            return Check(
                "bootstrap-linking", FAIL,
                f"{label} is dynamically linked and needs {needed}; {self.runtime} has glibc "
                f"{have_str}",
                f"Runtime.ExitError: /var/task/bootstrap: /lib64/libc.so.6: version `{needed}' not "
                "found (required by /var/task/bootstrap)",
                f"{static_fix}; if it needs cgo, build it against glibc {have_str} or older (e.g. in "
                f"the runtime's build image: gbl's docker builder){other}",
            )
        expected = GLIBC_LOADERS.get(info.goarch or "")
        if interp == expected and not info.needed:
            return _ok("bootstrap-linking", f"{label} is a position-independent executable that "
                                            f"needs only the dynamic loader {interp}, no libraries")
        if expected and interp != expected:
            return Check(
                "bootstrap-linking", WARN,
                f"{label} is dynamically linked with the program interpreter {interp}, not the "
                f"standard {expected}",
                f"if {interp} does not exist on {self.runtime}: {_NO_SUCH_FILE}",
                static_fix + ", or link it with the standard loader",
            )
        return Check(
            "bootstrap-linking", WARN,
            f"{label} is dynamically linked (needs {libs}; {needed or 'no versioned glibc symbols'}, "
            f"{self.runtime} has glibc {have_str}): it runs only if every library it needs is there",
            "Runtime.ExitError (error while loading shared libraries) if a library is missing",
            f"{static_fix}, unless it needs cgo; then check its libraries exist on {self.runtime} "
            "or ship them in the zip or a layer",
        )

    def _go(self, content: bytes, label: str, out: list[Check], arch_hint: str) -> None:
        info = elf.read_buildinfo(content)
        if info is None:
            return
        if info.go_version == elf.UNKNOWN_GO_VERSION:
            out.append(Check(
                "go-buildinfo", WARN,
                f"{label} was built by a Go older than 1.18: gbl cannot read its build settings or "
                "module versions",
                "if it uses aws-lambda-go older than v1.18.0, every invoke times out",
                "rebuild it with a current Go: `gbl build`",
            ))
            if not self._described:
                self.go_version = info.go_version
            return
        aws = info.dep_version(AWS_LAMBDA_GO)
        if not self._described:
            self.go_version = info.go_version
            self.aws_lambda_go = aws
            self._described = True
        goos = info.setting("GOOS")
        if goos is not None:
            if goos != LAMBDA_GOOS:
                out.append(Check(
                    "go-goos", FAIL, f"{label} is a Go program built with GOOS={goos}",
                    _EXEC_FORMAT,
                    f"build with GOOS={LAMBDA_GOOS} GOARCH={arch_hint}: `gbl build`",
                ))
            else:
                out.append(_ok("go-goos", f"{label} was built with GOOS={goos} ({info.go_version})"))
        cgo = info.setting("CGO_ENABLED")
        if cgo == "1":
            out.append(Check(
                "go-cgo", WARN, f"{label} was built with CGO_ENABLED=1",
                "if a C library it links is missing on the runtime: Runtime.ExitError",
                "build with CGO_ENABLED=0 (`gbl build` does) unless the function needs cgo",
            ))
        elif cgo is not None:
            out.append(_ok("go-cgo", f"{label} was built with CGO_ENABLED={cgo}"))
        if aws is None:
            return
        missing = [t for t in BASE_TAGS if t not in info.tags]
        if missing:
            tags = ",".join(info.tags) or "no tags"
            out.append(Check(
                "go-tags", WARN,
                f"{label} uses aws-lambda-go but was built without -tags {','.join(missing)} "
                f"({tags}): it carries the retired go1.x runtime's RPC code",
                "nothing fails: the binary is larger than it needs to be",
                f"build with -tags {','.join(missing)} (`gbl build` adds it)",
            ))
        else:
            out.append(_ok("go-tags", f"{label} was built with -tags {','.join(info.tags)}"))
        out.append(self._aws_lambda_go(aws, label))

    def _aws_lambda_go(self, version: str, label: str) -> Check:
        parsed = _semver(version)
        minimum = "v" + ".".join(map(str, AWS_LAMBDA_GO_MIN))
        if parsed is None:
            what = "a local directory" if not version else f"version {_q(version)}"
            return Check(
                "go-aws-lambda-go", WARN,
                f"{label} uses {AWS_LAMBDA_GO} from {what}: gbl cannot tell whether it is "
                f"{minimum} or newer",
                f"if it is older than {minimum}: every invoke times out (it waits for the go1.x "
                "runtime's RPC calls)",
                f"make sure it is {minimum} or newer",
            )
        if parsed < AWS_LAMBDA_GO_MIN + (1,):  # a pre-release of the minimum is older than it
            return Check(
                "go-aws-lambda-go", FAIL,
                f"{label} uses {AWS_LAMBDA_GO} {version}, older than {minimum}: it only speaks the "
                "retired go1.x runtime's RPC protocol, not the Runtime API of the provided runtimes",
                "the function never asks the Runtime API for an event: init hangs and every invoke "
                "times out (Task timed out after N seconds)",
                f"go get {AWS_LAMBDA_GO}@latest && go mod tidy, then rebuild (`gbl build`)",
            )
        return _ok("go-aws-lambda-go", f"{label} uses {AWS_LAMBDA_GO} {version}")

    # -- #! scripts --------------------------------------------------------------------------------

    def _script(self, content: bytes, label: str, depth: int) -> list[Check]:
        out = []
        first = content.split(b"\n", 1)[0]
        if b"\r\n" in content[:_MAX_SCRIPT_SCAN] or first.endswith(b"\r"):
            out.append(Check(
                "script-line-endings", FAIL,
                f"{label} has Windows (CRLF) line endings: the kernel looks for the interpreter "
                f"{_q(first[2:].strip().decode('utf-8', 'replace'))} with a trailing carriage return",
                _NO_SUCH_FILE,
                "convert it to LF line endings (`dos2unix bootstrap`; in git: `bootstrap text eol=lf` "
                "in .gitattributes)",
            ))
            first = first.rstrip(b"\r")
        else:
            out.append(_ok("script-line-endings", f"{label} has LF line endings"))
        out.append(self._interpreter(first[2:].decode("utf-8", "replace"), label))
        if depth == 0:
            out.extend(self._exec_targets(content, label, depth))
        return out

    def _interpreter(self, line: str, label: str) -> Check:
        words = line.strip().split(None, 1)
        interp = words[0] if words else ""
        arg = words[1].strip() if len(words) > 1 else ""
        fix = "start it with #!/bin/sh or #!/bin/bash"
        if interp in SCRIPT_SHELLS:
            return _ok("script-interpreter", f"{label} runs with {interp}")
        if interp == SCRIPT_ENV:
            prog = [w for w in arg.split() if not w.startswith("-")][:1]
            if not prog:
                return Check("script-interpreter", FAIL, f"{label}: '#!/usr/bin/env' names no program",
                             "Runtime.ExitError: env prints its usage and exits", fix)
            name = prog[0]
            if name in ("sh", "bash"):
                return _ok("script-interpreter", f"{label} runs with {name} (via /usr/bin/env)")
            return Check(
                "script-interpreter", WARN,
                f"{label} runs {_q(name)} from PATH (#!/usr/bin/env {arg}); the provided runtimes "
                "have sh and bash, other interpreters only if a layer or the zip brings them",
                f"if {name} is not on PATH: Runtime.ExitError (env: '{name}': No such file or "
                "directory)",
                f"make sure a layer provides {name}, or {fix}",
            )
        if interp.startswith(LAMBDA_TASK_ROOT + "/"):
            key = _norm(interp[len(LAMBDA_TASK_ROOT) + 1:])
            if key in self.z.by_key:
                return _ok("script-interpreter", f"{label} runs with {interp}, which is in the zip")
            return Check("script-interpreter", FAIL,
                         f"{label} runs with {interp}, which is not in the zip", _NO_SUCH_FILE,
                         f"add {key} to the zip, or {fix}")
        if interp.startswith(LAYER_ROOT + "/"):
            return Check(
                "script-interpreter", WARN, f"{label} runs with {interp}, which a layer must provide",
                f"without that layer: {_NO_SUCH_FILE}", f"attach the layer, or {fix}",
            )
        if interp.startswith("/"):
            return Check(
                "script-interpreter", FAIL,
                f"{label} runs with {interp}, which gbl does not know on the provided runtimes "
                "(they have /bin/sh, /bin/bash and /usr/bin/env)",
                f"if {interp} is missing: {_NO_SUCH_FILE}", fix,
            )
        return Check("script-interpreter", FAIL,
                     f"{label}: the #! line names {_q(interp or 'nothing')}, not an absolute path",
                     _NO_SUCH_FILE, fix)

    def _exec_targets(self, content: bytes, label: str, depth: int) -> list[Check]:
        text = content[:_MAX_SCRIPT_SCAN].decode("utf-8", "replace")
        out: list[Check] = []
        seen = set()
        for line in text.splitlines():
            target = _exec_target(line)
            if target is None or target in seen:
                continue
            seen.add(target)
            if target.startswith(LAMBDA_TASK_ROOT + "/"):
                key = _norm(target[len(LAMBDA_TASK_ROOT) + 1:])
            elif target.startswith("/"):
                continue  # the runtime's own program or a layer's: not in the zip to check
            elif "/" in target:
                key = _norm(target)  # relative to the working directory, /var/task
            else:
                continue  # looked up on PATH
            entry = self.z.by_key.get(key)
            if entry is None:
                out.append(Check(
                    "script-exec-target", FAIL,
                    f"{label} runs `exec {target}`, but {_q(key)} is not in the zip",
                    f"Runtime.ExitError: bootstrap: exec: {target}: not found",
                    f"add {key} to the zip (gbl.toml: include = [{{ path = \"{key}\", "
                    "executable = true }]) or fix the exec line",
                ))
                continue
            final, problem, _chain = self.z.resolve(entry)
            if final is None or final.is_dir:
                out.append(Check("script-exec-target", FAIL,
                                 f"{label} runs `exec {target}`: {problem or 'it is a folder'}",
                                 f"Runtime.ExitError: bootstrap: exec: {target}: not found",
                                 "point the exec line at an executable file in the zip"))
                continue
            out.append(_ok("script-exec-target", f"{label} runs `exec {target}`, which is in the zip"))
            out.extend(self._program(final, f"{_q(final.name)} (run by bootstrap)", depth + 1))
        return out


_EXEC_LINE = re.compile(r"^\s*exec\s+(.*)$")


def _exec_target(line: str) -> str | None:
    """The program of a simple ``exec PROG ...`` line, with $LAMBDA_TASK_ROOT substituted."""
    m = _EXEC_LINE.match(line)
    if not m:
        return None
    rest = m.group(1).strip()
    while rest.startswith("-"):  # exec -c / exec -a NAME
        opt, _, rest = rest.partition(" ")
        rest = rest.strip()
        if opt == "-a":
            _, _, rest = rest.partition(" ")
            rest = rest.strip()
    if not rest:
        return None
    if rest[0] in "\"'":
        end = rest.find(rest[0], 1)
        if end < 0:
            return None
        word = rest[1:end]
    else:
        word = rest.split()[0]
    for var in ("${LAMBDA_TASK_ROOT}", "$LAMBDA_TASK_ROOT"):
        word = word.replace(var, LAMBDA_TASK_ROOT)
    if "$" in word or "`" in word or not word:
        return None  # decided at run time
    return word


_SEMVER = re.compile(r"v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\Z")


def _semver(version: str) -> tuple[int, int, int, int] | None:
    """``v1.18.0`` -> (1, 18, 0, 1); a pre-release (or pseudo-version) ``v1.18.0-...`` -> (1, 18, 0, 0)."""
    m = _SEMVER.match(version or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if m.group(4) else 1
