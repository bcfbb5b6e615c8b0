"""Read a zip's directory and members from its bytes, and say what is wrong with them, as values.

The central directory is parsed here (PKWARE APPNOTE.TXT) rather than by ``zipfile``, so that a
hostile zip (a bomb, overlapping entries, lying headers, ``../`` names) becomes a finding with the
entry's name, never an exception or a hang, and no member is inflated past its declared size.

``read_archive`` does all the reading in one pass, in one place, and returns a frozen ``Archive``
whose ``findings`` say which entries cannot be read and why (an unsupported method, a bomb, a
header that disagrees, data that does not inflate), with the content the program checks need.
The checks (``zipchecks``, ``program``) only look at those values: none depends on another
having run first.
"""

from __future__ import annotations

import bisect
import re
import stat
import struct
import zlib
from dataclasses import dataclass, field
from typing import Mapping

import deflate

from .. import elf
from ..lambda_facts import BOOTSTRAP  # the name the provided runtimes exec: /var/task/bootstrap
from .model import LAMBDA_TASK_ROOT, REPACKAGE, SYMLINK_MAX_HOPS, SYMLINK_MAX_TARGET, UNZIPPED_LIMIT, q

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


class Unreadable(Exception):
    """Not a zip at all, or its central directory cannot be found: the one zip-readable failure."""

    def __init__(self, message: str, fix: str = REPACKAGE):
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class Entry:
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


@dataclass(frozen=True)
class Member:
    """Where an entry's data is, or why it cannot be read."""

    entry: Entry
    data_start: int  # -1 when the local header is unusable
    problem: str  # "" when the headers agree


@dataclass(frozen=True)
class Findings:
    """What reading every entry found, for the zip checks to report."""

    unsupported: tuple[str, ...]  # encrypted entries or methods gbl does not inflate
    bombs: tuple[str, ...]  # entries expanding past BOMB_RATIO, entries whose data overlap
    problems: tuple[str, ...]  # local headers that disagree, data that does not inflate as declared
    inflated: bool  # False: the zip declares more than UNZIPPED_LIMIT, nothing was inflated
    unreadable: Mapping[int, str]  # entry index -> why its content cannot be read
    contents: Mapping[int, bytes]  # what the program checks read: bootstrap, links, executables


@dataclass(frozen=True)
class Archive:
    """A parsed zip and what reading it found: built once per verify call, never changed."""

    data: object = field(repr=False)  # bytes or an mmap
    size: int
    entries: tuple[Entry, ...]
    by_key: Mapping[str, Entry]  # the last of duplicates, as most unzip tools leave it
    members: Mapping[int, Member]
    sorted_keys: tuple[str, ...] = field(repr=False)  # every key, sorted
    findings: Findings

    @property
    def total_size(self) -> int:
        return sum(e.usize for e in self.entries)

    def has_inside(self, key: str) -> bool:
        """Whether some entry lies inside the folder ``key``: a binary search of the sorted keys,
        not a scan (a zip of n links to check would otherwise be n^2 work)."""
        prefix = key + "/" if key else ""
        i = bisect.bisect_left(self.sorted_keys, prefix)
        return i < len(self.sorted_keys) and self.sorted_keys[i].startswith(prefix)

    def exists(self, key: str) -> bool:
        """An entry named ``key``, or a folder some entry lies in (the zip's root always is)."""
        return key == "" or key in self.by_key or self.has_inside(key)

    def content(self, e: Entry, cap: int = UNZIPPED_LIMIT) -> tuple[bytes | None, str]:
        """The entry's bytes, inflated at most to ``cap`` (no file Lambda runs is larger)."""
        f = self.findings
        if e.index in f.unreadable:
            return None, f.unreadable[e.index]
        if e.index in f.contents:
            return f.contents[e.index], ""
        return read_member(self.data, self.members[e.index], keep=True, cap=cap)

    def link_target(self, e: Entry) -> tuple[str, str]:
        if e.usize > SYMLINK_MAX_TARGET:
            return "", f"{q(e.name)} is a link whose target is {e.usize} bytes long"
        got, problem = self.content(e, cap=SYMLINK_MAX_TARGET)
        if got is None:
            return "", problem or f"{q(e.name)}: cannot read the link"
        return got.decode("utf-8", "replace"), ""

    def resolve(self, e: Entry) -> tuple[Entry | None, str, list[str]]:
        """Follow symbolic links inside the zip: (final entry, problem, the chain of names)."""
        chain = [e.name]
        for _ in range(SYMLINK_MAX_HOPS):
            if not e.is_symlink:
                return e, "", chain
            target, problem = self.link_target(e)
            if problem:
                return None, problem, chain
            key, escapes = resolve_link(e.key, target)
            chain.append(target)
            if escapes:
                return None, f"{q(e.name)} is a link to {q(target)}, outside the zip", chain
            nxt = self.by_key.get(key)
            if nxt is None:
                return None, f"{q(e.name)} is a link to {q(target)}, which is not in the zip", chain
            e = nxt
        return None, f"{q(chain[0])}: too many levels of symbolic links", chain


def read_archive(data, known: Mapping[str, tuple[int, bytes]] | None = None) -> Archive:
    """Parse ``data`` and read every entry; raises ``Unreadable`` when it is not a zip at all.

    ``known``: what the writer of a zip gbl just made knows of each entry, by name: (the CRC-32
    it computed, the bytes it compressed).  An entry whose directory record and local header
    agree with those (same CRC, same size) is taken as those bytes rather than inflated again;
    everything else is read as for any zip.
    """
    entries, cd_start = read_directory(data)
    by_key: dict[str, Entry] = {}
    for e in entries:
        by_key[e.key] = e
    members = {e.index: locate(data, e, cd_start) for e in entries}
    findings = _read_entries(data, entries, members, known or {})
    return Archive(data, len(data), tuple(entries), by_key, members,
                   tuple(sorted(by_key)), findings)


def _read_entries(data, entries: list[Entry], members: Mapping[int, Member],
                  known: Mapping[str, tuple[int, bytes]]) -> Findings:
    """Every finding about the entries, in one order: why an entry is unreadable is the first of
    an unsupported method, a bomb, a disagreeing header, data that does not inflate."""
    unreadable: dict[int, str] = {}
    unsupported = []
    for e in entries:
        if e.flags & FLAG_ENCRYPTED:
            unsupported.append(f"{q(e.name)} is encrypted")
        elif e.method not in (METHOD_STORED, METHOD_DEFLATED):
            method = METHOD_NAMES.get(e.method, f"method {e.method}")
            unsupported.append(f"{q(e.name)} uses compression method {e.method} ({method})")
        else:
            continue
        unreadable[e.index] = unsupported[-1]
    bombs = _bombs(entries, members, unreadable)
    problems = []
    total = sum(e.usize for e in entries)
    contents: dict[int, bytes] = {}
    for e in entries:
        m = members[e.index]
        if m.problem:
            problems.append(m.problem)
            unreadable.setdefault(e.index, m.problem)
            continue
        if e.index in unreadable or total > UNZIPPED_LIMIT:
            continue  # reported elsewhere; an oversized zip is not inflated at all
        # Keep what the program checks will read: bootstrap, links, and executables (which a
        # bootstrap script may exec); the zip is under the size limit, so this is bounded.
        need = e.key == BOOTSTRAP or e.is_symlink or bool((e.unix_mode or 0) & 0o111)
        crc, content = known.get(e.name, (None, None))
        if content is not None and crc == e.crc and len(content) == e.usize:
            got, problem = (content if need else None), ""  # what gbl itself just compressed
        else:
            got, problem = read_member(data, m, keep=need)
        if problem:
            problems.append(problem)
            unreadable[e.index] = problem
        elif got is not None:
            contents[e.index] = got
    return Findings(tuple(unsupported), tuple(bombs), tuple(problems), total <= UNZIPPED_LIMIT,
                    unreadable, contents)


def _bombs(entries: list[Entry], members: Mapping[int, Member], unreadable: dict[int, str]) -> list[str]:
    bombs = []
    for e in entries:
        if e.usize >= BOMB_MIN_SIZE and e.usize > BOMB_RATIO * max(e.csize, 1):
            bombs.append(f"{q(e.name)} claims to expand {e.csize} bytes into {e.usize}")
            unreadable.setdefault(e.index, f"{q(e.name)}: not inflated (a zip bomb)")
    # Entries whose data overlap (the same bytes counted twice) are the other kind of bomb.
    located = sorted((m.entry.header_offset, m.data_start + m.entry.csize, m.entry.index)
                     for m in members.values() if m.data_start >= 0)
    for (_, end, i), (nxt_start, _, j) in zip(located, located[1:]):
        if nxt_start < end:
            e, nxt = entries[i], entries[j]
            bombs.append(f"{q(e.name)} and {q(nxt.name)} overlap in the archive")
            for x in (e, nxt):
                unreadable.setdefault(x.index, f"{q(x.name)}: not inflated (overlapping entries)")
    return bombs


def resolve_link(link_key: str, target: str) -> tuple[str, bool]:
    """The zip key a link points at, and whether it points outside the zip.

    Resolved as Linux resolves it with the zip unpacked at /var/task: ``..`` in an absolute
    target, or in one relative to the link's folder, may climb out of /var/task and come back
    (``/var/task/../task/app`` is ``app``); a path that passes anywhere outside /var/task other
    than its parents (/ and /var) is outside the zip.  Each component is taken as written:
    links inside the zip met on the way are not followed.
    """
    root = [p for p in LAMBDA_TASK_ROOT.split("/") if p]  # ["var", "task"]
    if target.startswith("/"):
        parts: list[str] = []
    elif target.startswith("\\") or re.match(r"[A-Za-z]:", target):
        return "", True
    else:
        parts = root + link_key.split("/")[:-1]  # relative to the link's folder
    for p in target.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:  # the parent of / is /
                parts.pop()
        else:
            parts.append(p)
        if parts[:len(root)] != root and parts != root[:len(parts)]:
            return "", True
    if parts[:len(root)] != root:
        return "", True
    return "/".join(parts[len(root):]), False


# --------------------------------------------------------------------------------------------------
# the directory


def norm(name: str) -> str:
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
        raise Unreadable(f"truncated: the {what} at offset {offset} runs past the end of the file "
                         f"({len(data)} bytes)")
    return struct.unpack_from(fmt, data, offset)


def read_directory(data) -> tuple[list[Entry], int]:
    """Every central directory entry, and where the central directory starts."""
    if len(data) == 0:
        raise Unreadable("the file is empty (0 bytes)")
    eocd = _find_eocd(data)
    if eocd is None:
        kind = elf.identify(bytes(data[:4096]))
        if bytes(data[:4]) == LOCAL_SIG:
            raise Unreadable("truncated: it starts like a zip but its end (the central directory) "
                             "is missing; the upload or copy was cut short")
        raise Unreadable(f"not a zip: the file is {kind.description}",
                         "zip the binary (named bootstrap) with `gbl zip BINARY`, or `gbl build`")
    (_sig, disk, cd_disk, _disk_entries, total, cd_size, cd_offset, _clen) = struct.unpack_from(
        EOCD_FORMAT, data, eocd)
    cd_end = eocd
    locator = eocd - struct.calcsize(ZIP64_LOCATOR_FORMAT)
    if locator >= 0 and bytes(data[locator:locator + 4]) == ZIP64_LOCATOR_SIG:
        _s, _d, z64_offset, _disks = struct.unpack_from(ZIP64_LOCATOR_FORMAT, data, locator)
        z64 = locator - struct.calcsize(ZIP64_EOCD_FORMAT)
        if z64 < 0 or bytes(data[z64:z64 + 4]) != ZIP64_EOCD_SIG:
            raise Unreadable("corrupt: its ZIP64 end record is missing or misplaced")
        (_s, _rs, _vm, _vn, disk, cd_disk, _de, total, cd_size, cd_offset) = struct.unpack_from(
            ZIP64_EOCD_FORMAT, data, z64)
        cd_end = z64
    if disk != 0 or cd_disk != 0:
        raise Unreadable("a split (multi-part) zip: Lambda needs a single-file zip")
    # Bytes prepended to the archive (a self-extractor stub) shift every offset by `concat`.
    concat = cd_end - cd_size - cd_offset
    if concat < 0:
        raise Unreadable(f"truncated or corrupt: the central directory ({cd_size} bytes at offset "
                         f"{cd_offset}) does not fit before its end record at {cd_end}")
    cd_start = cd_offset + concat
    if total > cd_size // struct.calcsize(CENTRAL_FORMAT) and total > 0:
        raise Unreadable(f"corrupt: the central directory claims {total} entries in {cd_size} bytes")
    return _read_entries_of_directory(data, total, cd_start, cd_end, concat), cd_start


def _read_entries_of_directory(data, total: int, cd_start: int, cd_end: int, concat: int) -> list[Entry]:
    entries = []
    pos = cd_start
    for index in range(total):
        fields = _unpack(CENTRAL_FORMAT, data, pos, "central directory entry")
        (sig, _cver, system, _xver, flags, method, _time, _date, crc, csize, usize, nlen, elen,
         clen, _disk, _iattr, eattr, offset) = fields
        if sig != CENTRAL_SIG:
            raise Unreadable(f"corrupt: central directory entry {index + 1} of {total} is not where "
                             "the directory says (bad signature)")
        name_at = pos + struct.calcsize(CENTRAL_FORMAT)
        if name_at + nlen + elen + clen > cd_end:
            raise Unreadable(f"corrupt: central directory entry {index + 1} runs past the directory")
        raw = bytes(data[name_at:name_at + nlen])
        extra = bytes(data[name_at + nlen:name_at + nlen + elen])
        usize, csize, offset = _zip64_sizes(extra, usize, csize, offset)
        name = _decode_name(raw, flags)
        entries.append(Entry(index, raw, name, norm(name), flags, method, crc, csize, usize,
                             offset + concat, system, eattr))
        pos = name_at + nlen + elen + clen
    return entries


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
# members


def locate(data, entry: Entry, limit: int) -> Member:
    e = entry
    off = e.header_offset
    size = struct.calcsize(LOCAL_FORMAT)
    if off < 0 or off + size > limit:
        return Member(e, -1, f"{q(e.name)}: its local header (offset {off}) lies outside the archive")
    (sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, elen) = struct.unpack_from(
        LOCAL_FORMAT, data, off)
    if sig != LOCAL_SIG:
        return Member(e, -1, f"{q(e.name)}: no local header at offset {off} (bad signature)")
    name = bytes(data[off + size:off + size + nlen])
    if name != e.raw_name:
        return Member(e, -1, f"{q(e.name)}: its local header names it "
                             f"{q(name.decode('utf-8', 'replace'))}")
    start = off + size + nlen + elen
    if method != e.method:
        return Member(e, start, f"{q(e.name)}: compression method {method} in its local header, "
                                f"{e.method} in the central directory")
    if not flags & FLAG_DATA_DESCRIPTOR:
        extra = bytes(data[off + size + nlen:start])
        usize, csize, _ = _zip64_sizes(extra, usize, csize, 0)
        if (crc, csize, usize) != (e.crc, e.csize, e.usize):
            return Member(e, start, f"{q(e.name)}: its local header declares {csize} bytes "
                                    f"compressed / {usize} unzipped (CRC {crc:08x}), the central "
                                    f"directory {e.csize} / {e.usize} (CRC {e.crc:08x})")
    if start + e.csize > limit:
        return Member(e, -1, f"{q(e.name)}: its {e.csize} bytes of data run past the end of the "
                             "archive (truncated?)")
    return Member(e, start, "")


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


def _stream_inflate(data, start: int, end: int, usize: int, keep: bool,
                    pieces: list[bytes]) -> tuple[int, int, bool]:
    """Inflate through zlib in bounded chunks, stopping one byte past ``usize``: (bytes produced,
    CRC, whether the deflate stream ended); raises zlib.error on corrupt data."""
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    crc = produced = 0
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
    return produced, crc, d.eof


def read_member(data, m: Member, *, keep: bool, cap: int | None = None) -> tuple[bytes | None, str]:
    """Inflate ``m``, never past its declared size; (content if ``keep``, problem or "")."""
    e = m.entry
    usize = e.usize if cap is None else min(e.usize, cap)
    start, end = m.data_start, m.data_start + e.csize
    pieces: list[bytes] = []
    crc = produced = 0
    if e.method == METHOD_STORED:
        if e.csize != e.usize:
            return None, f"{q(e.name)}: stored (not compressed) but {e.csize} bytes zipped and " \
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
    else:  # METHOD_DEFLATED (other methods are findings, never read), streamed
        try:
            produced, crc, ended = _stream_inflate(data, start, end, usize, keep, pieces)
        except zlib.error as exc:
            return None, f"{q(e.name)}: corrupt deflate data ({exc})"
        if produced > usize:
            if cap is not None and e.usize > cap:
                return None, f"{q(e.name)}: larger than gbl reads ({cap} bytes)"
            return None, f"{q(e.name)}: inflates to more than its declared {e.usize} bytes"
        if not ended:
            return None, f"{q(e.name)}: its compressed data ends early (truncated)"
    if cap is not None and e.usize > cap:
        return None, f"{q(e.name)}: larger than gbl reads ({cap} bytes)"
    if produced != e.usize:
        return None, f"{q(e.name)}: inflates to {produced} bytes, not the declared {e.usize}"
    if crc != e.crc:
        return None, f"{q(e.name)}: CRC mismatch (the data is corrupt)"
    return (b"".join(pieces) if keep else None), ""
