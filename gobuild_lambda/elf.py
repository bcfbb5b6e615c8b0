"""What an executable is, read from its bytes: ELF facts, other formats by magic, Go build info.

``identify`` names any file's format from its first bytes (ELF, PE, Mach-O, fat Mach-O, a ``#!``
script, text, ...).  ``parse_elf`` reads the few ELF facts Lambda cares about: class, byte order,
machine, type, the program interpreter (PT_INTERP: the file is dynamically linked), the shared
libraries it needs and every ``GLIBC_x.y`` version it needs.  ``read_buildinfo`` reads the Go
build information (``go version -m``) without Go installed.

Why a small parser of our own rather than pyelftools: gbl runs this on untrusted bytes (any zip a
user asks it to verify), on every zip it builds, and needs five fields.  pyelftools trusts the
counts it reads: ``GNUVerNeedSection.iter_versions`` loops ``sh_info`` times (up to 2**32) and a
``vn_next`` of 0 makes it re-read the same entry, so a 200-byte file can hang it; and its errors
come as a dozen exception types from ``construct``.  The code here is ~300 lines of
``struct.unpack_from`` on the caller's buffer: every offset is bounds-checked, every loop is
bounded by the bytes it walks, nothing is copied but the strings returned, and the only exception
is ``ElfError``.  The tests cross-check it against pyelftools and ``go version -m`` on real
binaries.

Sources: the System V gABI (ELF header, program and section headers, dynamic section), the
symbol-versioning extension (glibc ``elf.h``: ``Elf64_Verneed``/``Elf64_Vernaux``), Apple's
``<mach-o/loader.h>`` and ``<mach-o/fat.h>``, Microsoft's PE/COFF specification, and Go's
``debug/buildinfo`` and ``runtime/debug`` (build info blob and its text format).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .errors import EXIT_VERIFY_FAILED, GblError


class ElfError(GblError):
    """The bytes start like an ELF file but cannot be parsed (truncated or malformed)."""

    exit_code = EXIT_VERIFY_FAILED


# --- ELF (System V gABI; glibc elf.h) -------------------------------------------------------------
ELF_MAGIC = b"\x7fELF"
EI_CLASS = 4  # e_ident index: 1 = 32-bit, 2 = 64-bit
EI_DATA = 5  # e_ident index: 1 = little-endian, 2 = big-endian
EI_OSABI = 7
EI_NIDENT = 16
ELFCLASS32 = 1
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2
ET_REL = 1
ET_EXEC = 2
ET_DYN = 3
ET_CORE = 4
ELF_TYPE_NAMES = {
    ET_REL: "relocatable object file",
    ET_EXEC: "executable",
    ET_DYN: "shared object or position-independent executable",
    ET_CORE: "core dump",
}
# e_machine values (gABI "Machine" table) and the GOARCH each is, keyed by (bits, little-endian).
EM_386 = 3
EM_MIPS = 8
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_LOONGARCH = 258
MACHINE_NAMES = {
    EM_386: "Intel 80386",
    EM_MIPS: "MIPS",
    EM_PPC: "PowerPC",
    EM_PPC64: "PowerPC64",
    EM_S390: "IBM S/390",
    EM_ARM: "ARM",
    EM_X86_64: "x86-64",
    EM_AARCH64: "AArch64",
    EM_RISCV: "RISC-V",
    EM_LOONGARCH: "LoongArch",
}
_GOARCH = {
    (EM_X86_64, 64, True): "amd64",
    (EM_AARCH64, 64, True): "arm64",
    (EM_386, 32, True): "386",
    (EM_ARM, 32, True): "arm",
    (EM_RISCV, 64, True): "riscv64",
    (EM_PPC64, 64, True): "ppc64le",
    (EM_PPC64, 64, False): "ppc64",
    (EM_S390, 64, False): "s390x",
    (EM_MIPS, 32, False): "mips",
    (EM_MIPS, 32, True): "mipsle",
    (EM_MIPS, 64, False): "mips64",
    (EM_MIPS, 64, True): "mips64le",
    (EM_LOONGARCH, 64, True): "loong64",
}
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PF_X = 0x1
PF_W = 0x2
SHN_UNDEF = 0
SHN_XINDEX = 0xFFFF  # e_shstrndx escape: the real index is section 0's sh_link
SHT_GNU_VERNEED = 0x6FFFFFFE
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
DT_STRSZ = 10
DT_VERNEED = 0x6FFFFFFE
DT_VERNEEDNUM = 0x6FFFFFFF
VERNEED_SIZE = 16  # Elf32_Verneed and Elf64_Verneed are both 16 bytes
VERNAUX_SIZE = 16  # likewise Elf32_Vernaux / Elf64_Vernaux

# Header layouts after e_ident, per class.
_EHDR = {ELFCLASS32: "HHIIIIIHHHHHH", ELFCLASS64: "HHIQQQIHHHHHH"}
_PHDR = {ELFCLASS32: "IIIIIIII", ELFCLASS64: "IIQQQQQQ"}
_SHDR = {ELFCLASS32: "IIIIIIIIII", ELFCLASS64: "IIQQQQIIQQ"}
_DYN = {ELFCLASS32: "iI", ELFCLASS64: "qQ"}

# Bounds on what we walk: far above any real binary, far below "hangs on a hostile file".
_MAX_STRING = 4096  # PATH_MAX: no interpreter path or library name is longer
_MAX_SECTIONS = 65536
_MAX_DYNAMIC = 65536
_MAX_VERSION_ENTRIES = 4096

_GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\Z")

# --- other formats ---------------------------------------------------------------------------------
PE_MAGIC = b"MZ"  # the MS-DOS stub every PE file starts with
PE_SIGNATURE = b"PE\0\0"  # at the offset stored at 0x3c (e_lfanew)
PE_LFANEW_OFFSET = 0x3C
PE_MACHINES = {0x14C: ("i386", "386"), 0x8664: ("x86-64", "amd64"), 0xAA64: ("ARM64", "arm64"),
               0x1C4: ("ARM", "arm")}
# <mach-o/loader.h>: MH_MAGIC, MH_CIGAM, MH_MAGIC_64, MH_CIGAM_64 as they appear on disk.
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce": (32, False),
    b"\xce\xfa\xed\xfe": (32, True),
    b"\xfe\xed\xfa\xcf": (64, False),
    b"\xcf\xfa\xed\xfe": (64, True),
}
# <mach-o/fat.h>: FAT_MAGIC and FAT_MAGIC_64, always big-endian.  Java class files share CAFEBABE;
# their next word (the class version) is >= 45, a fat file's (the number of slices) is tiny.
FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")
FAT_MAX_ARCHES = 30
CPU_ARCH_ABI64 = 0x01000000
MACHO_CPUS = {7: ("i386", "386"), 7 | CPU_ARCH_ABI64: ("x86-64", "amd64"), 12: ("ARM", "arm"),
              12 | CPU_ARCH_ABI64: ("arm64", "arm64"), 18: ("PowerPC", "ppc"),
              18 | CPU_ARCH_ABI64: ("PowerPC64", "ppc64")}
SHEBANG = b"#!"
UTF8_BOM = b"\xef\xbb\xbf"
ZIP_LOCAL_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"

# --- Go build info (debug/buildinfo, runtime/debug) -------------------------------------------------
BUILDINFO_MAGIC = b"\xff Go buildinf:"
BUILDINFO_HEADER_SIZE = 32
BUILDINFO_ALIGN = 16
BUILDINFO_PTRSIZE_OFFSET = 14
BUILDINFO_FLAGS_OFFSET = 15
BUILDINFO_FLAG_VERSION_INLINE = 0x2  # Go 1.18+: varint-prefixed strings follow the header
BUILDINFO_SECTION = ".go.buildinfo"
# cmd/go/internal/modload.infoStart / infoEnd: 16-byte sentinels framing the module info.
MODINFO_SENTINEL_SIZE = 16
UNKNOWN_GO_VERSION = "unknown"  # pre-1.18 binaries: the strings sit behind pointers we don't chase
_MAX_VARINT_BYTES = 10


@dataclass(frozen=True)
class FileKind:
    """What a file is, from its magic: enough to say why Lambda cannot run it."""

    kind: str  # elf | pe | macho | macho-fat | script | empty | text | unknown
    description: str  # e.g. "Mach-O 64-bit executable, arm64 (macOS)"
    goarch: str | None = None  # the CPU as a GOARCH, when known


@dataclass(frozen=True)
class ElfInfo:
    bits: int  # 32 | 64
    little_endian: bool
    type: int  # e_type: ET_EXEC, ET_DYN, ...
    machine: int  # e_machine: 62 = x86-64, 183 = AArch64, ...
    entry: int  # e_entry: 0 for a shared library
    osabi: int
    interpreter: str | None  # PT_INTERP: set means dynamically linked
    needed: tuple[str, ...]  # DT_NEEDED shared libraries, in order
    glibc_versions: tuple[str, ...]  # every GLIBC_x.y the file needs, oldest first

    @property
    def dynamic(self) -> bool:
        return self.interpreter is not None

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")

    @property
    def goarch(self) -> str | None:
        return _GOARCH.get((self.machine, self.bits, self.little_endian))

    @property
    def type_name(self) -> str:
        return ELF_TYPE_NAMES.get(self.type, f"type {self.type:#x}")

    @property
    def max_glibc(self) -> str | None:
        """The newest ``GLIBC_x.y`` needed, e.g. ``"GLIBC_2.35"``; None when it needs none."""
        return self.glibc_versions[-1] if self.glibc_versions else None

    def describe(self) -> str:
        order = "LSB" if self.little_endian else "MSB"
        what = self.type_name
        if self.type == ET_DYN:
            what = "shared library" if self.entry == 0 else "position-independent executable"
        return f"ELF {self.bits}-bit {order} {what}, {self.machine_name}"


def glibc_version_tuple(name: str) -> tuple[int, ...] | None:
    """``"GLIBC_2.35"`` -> ``(2, 35)``; anything else (``GLIBC_PRIVATE``) -> None."""
    m = _GLIBC_VERSION.match(name)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


# --------------------------------------------------------------------------------------------------
# identify


def identify(data: bytes) -> FileKind:
    """Name the format of ``data`` from its first bytes.  Never raises."""
    if not data:
        return FileKind("empty", "an empty file (0 bytes)")
    head = bytes(data[:64])
    if head.startswith(ELF_MAGIC):
        return _identify_elf(data)
    if head.startswith(SHEBANG):
        line = head[2:].split(b"\n", 1)[0].strip()
        return FileKind("script", f"a script (#!{line.decode('utf-8', 'replace')})")
    if head.startswith(UTF8_BOM + SHEBANG):
        return FileKind("text", "a script that starts with a UTF-8 byte-order mark before #!")
    if head[:4] in MACHO_MAGICS:
        return _identify_macho(data)
    if head[:4] in FAT_MAGICS and len(data) >= 8:
        (count,) = struct.unpack_from(">I", data, 4)
        if 0 < count < FAT_MAX_ARCHES:
            return _identify_fat(data, count)
        return FileKind("unknown", "a Java class file")
    if head.startswith(PE_MAGIC):
        return _identify_pe(data)
    if head.startswith(ZIP_LOCAL_MAGIC):
        return FileKind("unknown", "a zip archive")
    if head.startswith(GZIP_MAGIC):
        return FileKind("unknown", "a gzip archive")
    sample = bytes(data[:512])
    if b"\0" not in sample:
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # a multi-byte character cut at the end is fine
                return FileKind("unknown", f"an unknown binary format (starts with {head[:8].hex(' ')})")
        return FileKind("text", "a text file")
    return FileKind("unknown", f"an unknown binary format (starts with {head[:8].hex(' ')})")


def _identify_elf(data: bytes) -> FileKind:
    try:
        info = parse_elf_header(data)
    except ElfError as exc:
        return FileKind("elf", f"a malformed ELF file ({exc.message})")
    return FileKind("elf", info.describe(), info.goarch)


def _identify_macho(data: bytes) -> FileKind:
    bits, little = MACHO_MAGICS[bytes(data[:4])]
    kind = "Mach-O"
    if len(data) < 16:
        return FileKind("macho", f"a truncated {kind} file (macOS/iOS)")
    order = "<" if little else ">"
    cputype, _subtype, filetype = struct.unpack_from(order + "iII", data, 4)
    cpu, goarch = MACHO_CPUS.get(cputype & 0xFFFFFFFF, (f"cpu {cputype:#x}", None))
    what = {1: "object file", 2: "executable", 6: "dynamic library", 8: "bundle"}.get(
        filetype, f"file type {filetype}"
    )
    return FileKind("macho", f"a Mach-O {bits}-bit {what}, {cpu} (macOS)", goarch)


def _identify_fat(data: bytes, count: int) -> FileKind:
    entry = 32 if bytes(data[:4]) == FAT_MAGICS[1] else 20
    cpus = []
    for i in range(count):
        off = 8 + i * entry
        if off + 4 > len(data):
            break
        (cputype,) = struct.unpack_from(">I", data, off)
        cpus.append(MACHO_CPUS.get(cputype, (f"cpu {cputype:#x}", None))[0])
    return FileKind("macho-fat", f"a universal (fat) Mach-O file for {', '.join(cpus) or 'no CPU'} (macOS)")


def _identify_pe(data: bytes) -> FileKind:
    if len(data) >= PE_LFANEW_OFFSET + 4:
        (lfanew,) = struct.unpack_from("<I", data, PE_LFANEW_OFFSET)
        if lfanew + 6 <= len(data) and bytes(data[lfanew:lfanew + 4]) == PE_SIGNATURE:
            (machine,) = struct.unpack_from("<H", data, lfanew + 4)
            cpu, goarch = PE_MACHINES.get(machine, (f"machine {machine:#x}", None))
            return FileKind("pe", f"a Windows PE executable, {cpu}", goarch)
    return FileKind("pe", "an MS-DOS/Windows executable (MZ)")


# --------------------------------------------------------------------------------------------------
# ELF


@dataclass(frozen=True)
class _Header:
    cls: int
    order: str  # struct byte order: "<" or ">"
    type: int
    machine: int
    entry: int
    phoff: int
    shoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int
    osabi: int


def _unpack(fmt: str, data: bytes, offset: int) -> tuple:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise ElfError(f"truncated: {size} bytes at offset {offset} lie past the end ({len(data)} bytes)")
    return struct.unpack_from(fmt, data, offset)


def _header(data: bytes) -> _Header:
    if len(data) < EI_NIDENT or bytes(data[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file")
    cls, enc, osabi = data[EI_CLASS], data[EI_DATA], data[EI_OSABI]
    if cls not in (ELFCLASS32, ELFCLASS64):
        raise ElfError(f"unknown ELF class {cls}")
    if enc not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfError(f"unknown ELF data encoding {enc}")
    order = "<" if enc == ELFDATA2LSB else ">"
    (etype, machine, _version, entry, phoff, shoff, _flags, _ehsize, phentsize, phnum,
     shentsize, shnum, shstrndx) = _unpack(order + _EHDR[cls], data, EI_NIDENT)
    return _Header(cls, order, etype, machine, entry, phoff, shoff, phentsize, phnum,
                   shentsize, shnum, shstrndx, osabi)


def parse_elf_header(data: bytes) -> ElfInfo:
    """Only the ELF header: class, byte order, type, machine.  Raises ElfError."""
    h = _header(data)
    return ElfInfo(32 if h.cls == ELFCLASS32 else 64, h.order == "<", h.type, h.machine, h.entry,
                   h.osabi, None, (), ())


def parse_elf(data: bytes) -> ElfInfo:
    """Every fact gbl uses about an ELF file.  Raises ElfError when it cannot be parsed."""
    h = _header(data)
    phdrs = _program_headers(data, h)
    interpreter = None
    for p_type, offset, _vaddr, filesz, _flags in phdrs:
        if p_type == PT_INTERP:
            if offset + filesz > len(data):
                raise ElfError("truncated: the program interpreter lies past the end")
            interpreter = _cstring(data, offset, min(offset + filesz, len(data)))
            break
    needed, versions = _dynamic_facts(data, h, phdrs)
    if versions is None:  # no usable dynamic segment: fall back to the section headers
        versions = _section_versions(data, h)
    glibc = sorted({v for v in versions if glibc_version_tuple(v)}, key=glibc_version_tuple)
    return ElfInfo(
        bits=32 if h.cls == ELFCLASS32 else 64,
        little_endian=h.order == "<",
        type=h.type,
        machine=h.machine,
        entry=h.entry,
        osabi=h.osabi,
        interpreter=interpreter,
        needed=tuple(needed),
        glibc_versions=tuple(glibc),
    )


def _program_headers(data: bytes, h: _Header) -> list[tuple[int, int, int, int, int]]:
    """(p_type, p_offset, p_vaddr, p_filesz, p_flags) for each program header."""
    if h.phnum == 0:
        return []
    fmt = h.order + _PHDR[h.cls]
    if h.phentsize < struct.calcsize(fmt):
        raise ElfError(f"program header entry size {h.phentsize} is too small")
    if h.phoff + h.phnum * h.phentsize > len(data):
        raise ElfError(f"truncated: program headers at offset {h.phoff} lie past the end")
    out = []
    for i in range(h.phnum):
        fields = struct.unpack_from(fmt, data, h.phoff + i * h.phentsize)
        if h.cls == ELFCLASS64:
            p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = fields
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, p_flags, _align = fields
        out.append((p_type, p_offset, p_vaddr, p_filesz, p_flags))
    return out


def _cstring(data: bytes, start: int, end: int) -> str:
    end = min(end, len(data), start + _MAX_STRING)
    if start < 0 or start >= end:
        return ""
    stop = data.find(b"\0", start, end)
    raw = bytes(data[start:(stop if stop >= 0 else end)])
    return raw.decode("utf-8", "replace")


def _vaddr_to_offset(phdrs, addr: int) -> int | None:
    for p_type, offset, vaddr, filesz, _flags in phdrs:
        if p_type == PT_LOAD and vaddr <= addr < vaddr + filesz:
            return offset + (addr - vaddr)
    return None


def _dynamic_facts(data: bytes, h: _Header, phdrs) -> tuple[list[str], list[str] | None]:
    """DT_NEEDED names and the version names DT_VERNEED lists: what the dynamic loader reads.

    Returns ``([], None)`` when there is no dynamic segment or its tables cannot be located.
    """
    dyn = next((p for p in phdrs if p[0] == PT_DYNAMIC), None)
    if dyn is None:
        return [], None
    _, offset, _vaddr, filesz, _flags = dyn
    fmt = h.order + _DYN[h.cls]
    size = struct.calcsize(fmt)
    end = min(offset + filesz, len(data))
    tags: list[tuple[int, int]] = []
    pos = offset
    while pos + size <= end and len(tags) < _MAX_DYNAMIC:
        tag, val = struct.unpack_from(fmt, data, pos)
        if tag == DT_NULL:
            break
        tags.append((tag, val))
        pos += size
    values = {}
    for tag, val in tags:
        values.setdefault(tag, val)
    if DT_STRTAB not in values:
        return [], None
    strtab = _vaddr_to_offset(phdrs, values[DT_STRTAB])
    if strtab is None:
        return [], None
    strsz = values.get(DT_STRSZ, _MAX_STRING)
    str_end = min(strtab + strsz, len(data))
    needed = [_cstring(data, strtab + val, str_end) for tag, val in tags if tag == DT_NEEDED]
    if DT_VERNEED not in values:
        return needed, []
    verneed = _vaddr_to_offset(phdrs, values[DT_VERNEED])
    if verneed is None:
        return needed, None
    count = values.get(DT_VERNEEDNUM, _MAX_VERSION_ENTRIES)
    return needed, _walk_verneed(data, h.order, verneed, len(data), count, strtab, str_end)


def _walk_verneed(data: bytes, order: str, start: int, end: int, count: int,
                  strtab: int, str_end: int) -> list[str]:
    """Version names in a chain of Elf_Verneed / Elf_Vernaux records (both 16 bytes).

    Each ``next`` field must move forward by at least one record, so the walk ends within
    ``(end - start) / 16`` steps whatever the counts claim.
    """
    names: list[str] = []
    pos = start
    steps = 0
    for _ in range(min(count, _MAX_VERSION_ENTRIES)):
        if pos < 0 or pos + VERNEED_SIZE > end:
            break
        _version, cnt, _file, aux, nxt = struct.unpack_from(order + "HHIII", data, pos)
        apos = pos + aux
        for _ in range(cnt):
            steps += 1
            if steps > _MAX_VERSION_ENTRIES or apos + VERNAUX_SIZE > end:
                break
            _hash, _flags, _other, name, anext = struct.unpack_from(order + "IHHII", data, apos)
            names.append(_cstring(data, strtab + name, str_end))
            if anext < VERNAUX_SIZE:
                break
            apos += anext
        if nxt < VERNEED_SIZE:
            break
        pos += nxt
    return names


def _sections(data: bytes, h: _Header) -> list[tuple[str, int, int, int, int, int]]:
    """(name, sh_type, sh_offset, sh_size, sh_link, sh_flags) for each section; [] if unreadable."""
    if h.shoff == 0:
        return []
    fmt = h.order + _SHDR[h.cls]
    size = struct.calcsize(fmt)
    if h.shentsize < size or h.shoff + size > len(data):
        return []

    def shdr(i: int) -> tuple[int, int, int, int, int, int]:
        fields = struct.unpack_from(fmt, data, h.shoff + i * h.shentsize)
        name, stype, flags, _addr, offset, ssize, link = fields[:7]
        return name, stype, offset, ssize, link, flags

    shnum, shstrndx = h.shnum, h.shstrndx
    first = shdr(0)
    if shnum == 0:  # more than 0xff00 sections: the count is in section 0's sh_size
        shnum = first[3]
    if shstrndx == SHN_XINDEX:
        shstrndx = first[4]
    shnum = min(shnum, _MAX_SECTIONS, (len(data) - h.shoff) // h.shentsize)
    raw = [shdr(i) for i in range(shnum)]
    names_off = names_end = 0
    if 0 < shstrndx < shnum:
        names_off = raw[shstrndx][2]
        names_end = min(names_off + raw[shstrndx][3], len(data))
    out = []
    for name, stype, offset, ssize, link, flags in raw:
        label = _cstring(data, names_off + name, names_end) if names_end else ""
        out.append((label, stype, offset, ssize, link, flags))
    return out


def _section_versions(data: bytes, h: _Header) -> list[str]:
    sections = _sections(data, h)
    for _name, stype, offset, size, link, _flags in sections:
        if stype == SHT_GNU_VERNEED and 0 < link < len(sections):
            str_off, str_size = sections[link][2], sections[link][3]
            end = min(offset + size, len(data))
            return _walk_verneed(data, h.order, offset, end, _MAX_VERSION_ENTRIES, str_off,
                                 min(str_off + str_size, len(data)))
    return []


# --------------------------------------------------------------------------------------------------
# Go build info


@dataclass(frozen=True)
class BuildInfo:
    """What ``go version -m`` prints, read from the binary's build info blob.

    ``go_version`` is ``"unknown"`` (and the rest empty) for binaries from Go 1.13-1.17, whose blob
    holds pointers into the data segment rather than the strings themselves.
    """

    go_version: str  # e.g. "go1.23.4"
    path: str  # the main package, e.g. "example.com/app/cmd/api"
    main_module: str  # e.g. "example.com/app"
    deps: tuple[tuple[str, str], ...]  # (module path, version) as required, in file order
    settings: tuple[tuple[str, str], ...]  # (key, value): -tags, CGO_ENABLED, GOOS, GOARCH, ...
    main_version: str = ""  # "(devel)" for a local build
    replaced: tuple[tuple[str, str, str], ...] = ()  # (module path, replacement path, its version)

    def setting(self, key: str) -> str | None:
        for k, v in self.settings:
            if k == key:
                return v
        return None

    @property
    def tags(self) -> tuple[str, ...]:
        value = self.setting("-tags") or ""
        return tuple(t for t in value.split(",") if t)

    def dep_version(self, path: str) -> str | None:
        """The version of module ``path`` that was built (a replacement's when replaced).

        None when the binary does not contain it; "" when it was replaced by a local directory.
        """
        for p, new_path, new_version in self.replaced:
            if p == path:
                return new_version
        for p, version in self.deps:
            if p == path:
                return version
        return None


def read_buildinfo(data: bytes) -> BuildInfo | None:
    """The Go build info in ``data`` (an executable's bytes), or None when it has none."""
    if not data:
        return None
    start, end = 0, len(data)
    if bytes(data[:4]) == ELF_MAGIC:
        region = _elf_buildinfo_region(data)
        if region is None:
            return None
        start, end = region
    for pos in _magic_positions(data, start, end):
        info = _decode_buildinfo(data, pos, end)
        if info is not None:
            return info
    return None


def _elf_buildinfo_region(data: bytes) -> tuple[int, int] | None:
    """Where Go's linker put the blob: the .go.buildinfo section, else the first data segment."""
    try:
        h = _header(data)
        for name, _stype, offset, size, _link, _flags in _sections(data, h):
            if name == BUILDINFO_SECTION:
                return offset, min(offset + size, len(data))
        for p_type, offset, _vaddr, filesz, flags in _program_headers(data, h):
            if p_type == PT_LOAD and flags & (PF_X | PF_W) == PF_W:
                return offset, min(offset + filesz, len(data))
    except (ElfError, struct.error):
        pass
    return 0, len(data)  # malformed headers: search the whole file


def _magic_positions(data: bytes, start: int, end: int):
    pos = data.find(BUILDINFO_MAGIC, start, end)
    while pos >= 0:
        if (pos - start) % BUILDINFO_ALIGN == 0 and pos + BUILDINFO_HEADER_SIZE <= end:
            yield pos
        pos = data.find(BUILDINFO_MAGIC, pos + 1, end)


def _uvarint(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    value = shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= end:
            return None
        b = data[pos + i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos + i + 1
        shift += 7
    return None


def _inline_string(data: bytes, pos: int, end: int) -> tuple[bytes, int] | None:
    got = _uvarint(data, pos, end)
    if got is None:
        return None
    length, pos = got
    if pos + length > end:
        return None
    return bytes(data[pos:pos + length]), pos + length


def _decode_buildinfo(data: bytes, pos: int, end: int) -> BuildInfo | None:
    ptr_size = data[pos + BUILDINFO_PTRSIZE_OFFSET]
    flags = data[pos + BUILDINFO_FLAGS_OFFSET]
    if ptr_size not in (4, 8):
        return None
    if not flags & BUILDINFO_FLAG_VERSION_INLINE:
        return BuildInfo(UNKNOWN_GO_VERSION, "", "", (), ())
    # Go writes the blob at the start of its section; the strings may run past the section's end
    # only in a corrupt file, but bound them by the file, not the section, as debug/buildinfo does.
    got = _inline_string(data, pos + BUILDINFO_HEADER_SIZE, len(data))
    if got is None:
        return None
    version_raw, after = got
    got = _inline_string(data, after, len(data))
    if got is None:
        return None
    mod_raw = got[0]
    version = version_raw.decode("utf-8", "replace")
    if not version or not version.isprintable():
        return None
    if len(mod_raw) >= 2 * MODINFO_SENTINEL_SIZE + 1 and mod_raw[-MODINFO_SENTINEL_SIZE - 1] == 0x0A:
        mod_raw = mod_raw[MODINFO_SENTINEL_SIZE:-MODINFO_SENTINEL_SIZE]
    else:
        mod_raw = b""
    return parse_modinfo(version, mod_raw.decode("utf-8", "replace"))


def parse_modinfo(go_version: str, text: str) -> BuildInfo:
    """Parse the text ``runtime/debug.BuildInfo.String`` writes (lenient: bad lines are skipped)."""
    path = main_module = main_version = ""
    deps: list[tuple[str, str]] = []
    replaced: list[tuple[str, str, str]] = []
    settings: list[tuple[str, str]] = []
    last_dep: str | None = None
    for line in text.split("\n"):
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "path":
            path = rest
        elif kind == "mod" and fields[0]:
            main_module = fields[0]
            main_version = fields[1] if len(fields) > 1 else ""
        elif kind == "dep" and fields[0]:
            deps.append((fields[0], fields[1] if len(fields) > 1 else ""))
            last_dep = fields[0]
        elif kind == "=>" and last_dep is not None and fields[0]:
            replaced.append((last_dep, fields[0], fields[1] if len(fields) > 1 else ""))
            last_dep = None
        elif kind == "build" and rest:
            setting = _parse_setting(rest)
            if setting is not None:
                settings.append(setting)
    return BuildInfo(go_version, path, main_module, tuple(deps), tuple(settings), main_version,
                     tuple(replaced))


def _parse_setting(kv: str) -> tuple[str, str] | None:
    if kv[0] in "\"`":
        raw_key = _quoted_prefix(kv)
        if raw_key is None or kv[len(raw_key):len(raw_key) + 1] != "=":
            return None
        key = _go_unquote(raw_key)
        raw_value = kv[len(raw_key) + 1:]
    else:
        key, eq, raw_value = kv.partition("=")
        if not eq:
            return None
    value = _go_unquote(raw_value) if raw_value[:1] in ("\"", "`") else raw_value
    return key, value


def _quoted_prefix(s: str) -> str | None:
    quote = s[0]
    i = 1
    while i < len(s):
        c = s[i]
        if c == "\\" and quote == '"':
            i += 2
            continue
        if c == quote:
            return s[:i + 1]
        i += 1
    return None


_GO_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


def _go_unquote(s: str) -> str:
    """strconv.Unquote for the strings strconv.Quote writes; malformed input comes back as is."""
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"`":
        return s
    if s[0] == "`":
        return s[1:-1]
    body, out, i = s[1:-1], bytearray(), 0
    try:
        while i < len(body):
            c = body[i]
            if c != "\\":
                out += c.encode("utf-8")
                i += 1
                continue
            e = body[i + 1]
            if e in _GO_ESCAPES:
                out.append(_GO_ESCAPES[e])
                i += 2
            elif e == "x":
                out.append(int(body[i + 2:i + 4], 16))
                i += 4
            elif e in "uU":
                n = 4 if e == "u" else 8
                out += chr(int(body[i + 2:i + 2 + n], 16)).encode("utf-8", "surrogatepass")
                i += 2 + n
            elif e in "01234567":
                out.append(int(body[i + 1:i + 4], 8) & 0xFF)
                i += 4
            else:
                return s
    except (IndexError, ValueError, OverflowError):
        return s
    return out.decode("utf-8", "replace")
