"""gobuild_lambda.elf on real binaries, cross-checked against pyelftools and `go version -m`."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify_helpers as vh
from gobuild_lambda import elf
from gobuild_lambda.errors import GblError


@pytest.fixture(scope="session")
def bins(tmp_path_factory) -> vh.Binaries:
    return vh.binaries(tmp_path_factory.getbasetemp())


# --------------------------------------------------------------------------------------------------
# oracles


def elftools_facts(path: Path) -> dict:
    """The same facts, read by pyelftools (trusted on these well-formed files)."""
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    with path.open("rb") as f:
        e = ELFFile(f)
        interp = None
        for seg in e.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                interp = seg.get_interp_name()
        needed, versions = [], set()
        for sec in e.iter_sections():
            if isinstance(sec, DynamicSection):
                needed = [t.needed for t in sec.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
            if isinstance(sec, GNUVerNeedSection):
                for _verneed, auxs in sec.iter_versions():
                    versions.update(aux.name for aux in auxs)
        return {
            "bits": e.elfclass,
            "little": e.little_endian,
            "machine": e["e_machine"],
            "type": e["e_type"],
            "interpreter": interp,
            "needed": tuple(needed),
            "glibc": tuple(sorted((v for v in versions if elf.glibc_version_tuple(v)),
                                  key=elf.glibc_version_tuple)),
        }


_EM = {elf.EM_X86_64: "EM_X86_64", elf.EM_AARCH64: "EM_AARCH64", elf.EM_386: "EM_386"}
_ET = {elf.ET_EXEC: "ET_EXEC", elf.ET_DYN: "ET_DYN"}


def go_version_m(path: Path) -> dict:
    """`go version -m`, parsed just enough to compare."""
    out = subprocess.run([vh.GO, "version", "-m", str(path)], capture_output=True, text=True,
                         check=True, env=vh.go_env()).stdout
    first, *lines = out.splitlines()
    facts = {"go": first.split(": ", 1)[1].strip(), "deps": [], "build": {}}
    for line in lines:
        kind, *rest = line.strip("\t").split("\t")
        if kind == "path":
            facts["path"] = rest[0]
        elif kind == "mod":
            facts["mod"] = rest[0]
        elif kind == "dep":
            facts["deps"].append((rest[0], rest[1]))
        elif kind == "build":
            key, _, value = rest[0].partition("=")
            facts["build"][key] = value
    return facts


# --------------------------------------------------------------------------------------------------
# ELF facts


@pytest.mark.parametrize("name", ["linux-amd64", "linux-arm64", "linux-386", "cgo", "glibc235",
                                  "static-c", "lambda-ok"])
def test_parse_elf_matches_pyelftools(bins, name):
    path = bins.path(name)
    mine = elf.parse_elf(path.read_bytes())
    theirs = elftools_facts(path)
    assert mine.bits == theirs["bits"]
    assert mine.little_endian == theirs["little"]
    assert _EM[mine.machine] == theirs["machine"]
    assert _ET[mine.type] == theirs["type"]
    assert mine.interpreter == theirs["interpreter"]
    assert mine.needed == theirs["needed"]
    assert mine.glibc_versions == theirs["glibc"]


def test_system_binary_matches_pyelftools():
    path = Path("/bin/ls")
    if not path.is_file():
        pytest.fail("no /bin/ls")
    mine = elf.parse_elf(path.read_bytes())
    theirs = elftools_facts(path)
    assert (mine.interpreter, mine.needed, mine.glibc_versions) == (
        theirs["interpreter"], theirs["needed"], theirs["glibc"])


def test_facts_of_real_binaries(bins):
    go = elf.parse_elf(bins.get("linux-amd64"))
    assert (go.bits, go.little_endian, go.machine, go.goarch) == (64, True, 62, "amd64")
    assert not go.dynamic and go.max_glibc is None
    assert go.describe() == "ELF 64-bit LSB executable, x86-64"
    arm = elf.parse_elf(bins.get("linux-arm64"))
    assert (arm.machine, arm.goarch, arm.machine_name) == (183, "arm64", "AArch64")
    i386 = elf.parse_elf(bins.get("linux-386"))
    assert (i386.bits, i386.goarch) == (32, "386")
    c = elf.parse_elf(bins.get("glibc235"))
    assert c.dynamic and c.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert c.max_glibc == "GLIBC_2.35" and "libc.so.6" in c.needed
    cgo = elf.parse_elf(bins.get("cgo"))
    assert cgo.dynamic and elf.glibc_version_tuple(cgo.max_glibc) >= (2, 2)
    static = elf.parse_elf(bins.get("static-c"))
    assert not static.dynamic


def test_glibc_version_tuple():
    assert elf.glibc_version_tuple("GLIBC_2.35") == (2, 35)
    assert elf.glibc_version_tuple("GLIBC_2.3.4") == (2, 3, 4)
    assert elf.glibc_version_tuple("GLIBC_PRIVATE") is None
    assert elf.glibc_version_tuple("GLIBCXX_3.4") is None


def test_version_chain_is_bounded_whatever_the_counts_say(bins):
    """The input that hangs pyelftools: a huge DT_VERNEEDNUM and vn_next = 0 loops once here."""
    data = bytearray(bins.get("glibc235"))
    info = elf.parse_elf(bytes(data))
    # find the dynamic segment and set DT_VERNEEDNUM to 2**31, the first Verneed's vn_next to 0
    (phoff,) = struct.unpack_from("<Q", data, 32)
    (phentsize, phnum) = struct.unpack_from("<HH", data, 54)
    dyn = next(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
               for i in range(phnum) if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 2)
    offset, size = dyn[2], dyn[5]
    verneed = None
    for pos in range(offset, offset + size, 16):
        tag, val = struct.unpack_from("<qQ", data, pos)
        if tag == elf.DT_VERNEEDNUM:
            struct.pack_into("<Q", data, pos + 8, 2**31)
        if tag == elf.DT_VERNEED:
            verneed = val
    assert verneed is not None
    # a PIE's first PT_LOAD maps file offset 0 at vaddr 0
    struct.pack_into("<I", data, verneed + 12, 0)
    hostile = elf.parse_elf(bytes(data))  # returns: the walk is capped at _MAX_VERSION_ENTRIES
    assert set(hostile.glibc_versions) <= set(info.glibc_versions)


def test_section_fallback_is_bounded_too(bins):
    """Without a dynamic segment the section headers are read: the same hostile counts, bounded."""
    from elftools.elf.elffile import ELFFile
    import io

    data = bytearray(bins.get("glibc235"))
    e = ELFFile(io.BytesIO(bytes(data)))
    index = next(i for i, s in enumerate(e.iter_sections()) if s.name == ".gnu.version_r")
    shdr = e["e_shoff"] + index * e["e_shentsize"]
    (phoff,) = struct.unpack_from("<Q", data, 32)
    (phentsize, phnum) = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == elf.PT_DYNAMIC:
            struct.pack_into("<I", data, phoff + i * phentsize, 0)  # PT_NULL
    assert elf.parse_elf(bytes(data)).glibc_versions == elftools_facts(bins.path("glibc235"))["glibc"]
    struct.pack_into("<I", data, shdr + 44, 2**31)  # sh_info: 2**31 entries
    struct.pack_into("<I", data, e.get_section(index)["sh_offset"] + 12, 0)  # vn_next = 0
    # 2**31 claimed entries: the walk stops at _MAX_VERSION_ENTRIES and finds nothing new
    hostile = elf.parse_elf(bytes(data))
    assert set(hostile.glibc_versions) <= set(elftools_facts(bins.path("glibc235"))["glibc"])


def test_truncated_and_malformed_elf_raise_elf_error(bins):
    data = bins.get("linux-amd64")
    with pytest.raises(elf.ElfError):
        elf.parse_elf(data[:40])
    with pytest.raises(elf.ElfError, match="program headers"):
        elf.parse_elf(data[:80])
    bad_class = bytearray(data[:64])
    bad_class[elf.EI_CLASS] = 7
    with pytest.raises(elf.ElfError, match="class"):
        elf.parse_elf(bytes(bad_class))
    assert issubclass(elf.ElfError, GblError)


# --------------------------------------------------------------------------------------------------
# identify


def test_identify_real_formats(bins):
    assert elf.identify(bins.get("linux-amd64")).kind == "elf"
    k = elf.identify(bins.get("linux-386"))
    assert (k.kind, k.goarch) == ("elf", "386") and "32-bit" in k.description
    k = elf.identify(bins.get("darwin-arm64"))
    assert (k.kind, k.goarch) == ("macho", "arm64") and "Mach-O 64-bit executable" in k.description
    k = elf.identify(bins.get("windows-amd64"))
    assert (k.kind, k.goarch) == ("pe", "amd64") and "Windows PE" in k.description


def test_identify_by_magic():
    assert elf.identify(b"").kind == "empty"
    assert elf.identify(b"#!/bin/sh\nexec ./app\n").kind == "script"
    assert "#!/bin/sh" in elf.identify(b"#!/bin/sh\n").description
    bom = elf.identify(b"\xef\xbb\xbf#!/bin/sh\n")
    assert bom.kind == "text" and "byte-order mark" in bom.description
    assert elf.identify(b"hello, world\n").kind == "text"
    assert elf.identify(b"PK\x03\x04" + b"\0" * 40).description == "a zip archive"
    assert elf.identify(b"MZ" + b"\0" * 10).description == "an MS-DOS/Windows executable (MZ)"
    # Mach-O, all four magics
    for magic, bits in ((b"\xfe\xed\xfa\xce", 32), (b"\xce\xfa\xed\xfe", 32),
                        (b"\xfe\xed\xfa\xcf", 64), (b"\xcf\xfa\xed\xfe", 64)):
        order = ">" if magic[0] == 0xFE else "<"
        cpu = 7 | (0x01000000 if bits == 64 else 0)
        k = elf.identify(magic + struct.pack(order + "iII", cpu, 3, 2) + b"\0" * 16)
        assert k.kind == "macho" and f"Mach-O {bits}-bit executable" in k.description
    # fat (universal) Mach-O with two slices, and a Java class file sharing its magic
    fat = b"\xca\xfe\xba\xbe" + struct.pack(">I", 2) + struct.pack(">iiIII", 0x01000007, 3, 4096, 10, 12) \
        + struct.pack(">iiIII", 0x0100000C, 0, 8192, 10, 14)
    k = elf.identify(fat)
    assert k.kind == "macho-fat" and "x86-64" in k.description and "arm64" in k.description
    assert elf.identify(b"\xca\xfe\xba\xbe\x00\x00\x00\x3d").description == "a Java class file"
    assert elf.identify(b"\x00\x01\x02\xff\xfe").kind == "unknown"


# --------------------------------------------------------------------------------------------------
# Go build info


@pytest.mark.parametrize("name", ["linux-amd64", "linux-arm64", "darwin-arm64", "windows-amd64",
                                  "oldlambda", "lambda-ok", "lambda-notags", "cgo",
                                  "linux-amd64-ldflags"])
def test_buildinfo_matches_go_version_m(bins, name):
    path = bins.path(name)
    info = elf.read_buildinfo(path.read_bytes())
    want = go_version_m(path)
    assert info is not None
    assert info.go_version == want["go"]
    assert info.path == want["path"]
    assert info.main_module == want["mod"]
    assert list(info.deps) == want["deps"]
    settings = dict(info.settings)
    assert set(settings) == set(want["build"])
    for key, raw in want["build"].items():
        if not raw.startswith('"'):
            assert settings[key] == raw


def test_buildinfo_settings_gbl_uses(bins):
    info = elf.read_buildinfo(bins.get("lambda-ok"))
    assert info.setting("GOOS") == "linux" and info.setting("GOARCH") == "amd64"
    assert info.setting("CGO_ENABLED") == "0" and info.setting("-trimpath") == "true"
    assert info.tags == ("lambda.norpc",)
    assert info.dep_version("github.com/aws/aws-lambda-go") == "v1.55.1"
    assert info.dep_version("example.com/absent") is None
    assert elf.read_buildinfo(bins.get("lambda-notags")).tags == ()
    assert elf.read_buildinfo(bins.get("oldlambda")).dep_version(
        "github.com/aws/aws-lambda-go") == "v1.13.3"
    assert elf.read_buildinfo(bins.get("cgo")).setting("CGO_ENABLED") == "1"
    assert elf.read_buildinfo(bins.get("darwin-arm64")).setting("GOOS") == "darwin"
    assert elf.read_buildinfo(bins.get("windows-amd64")).setting("GOOS") == "windows"
    # -ldflags is recorded (quoted, it has spaces) when -trimpath is off
    ld = elf.read_buildinfo(bins.get("linux-amd64-ldflags"))
    assert ld.setting("-ldflags") == "-s -w -X main.version=v1.2.3"


def test_buildinfo_absent_from_non_go_files(bins):
    assert elf.read_buildinfo(bins.get("glibc235")) is None
    assert elf.read_buildinfo(bins.get("static-c")) is None
    assert elf.read_buildinfo(b"") is None
    assert elf.read_buildinfo(b"#!/bin/sh\n") is None


def test_buildinfo_magic_elsewhere_is_skipped(bins):
    """A string constant holding the magic (as in a program importing debug/buildinfo) is not it."""
    data = bins.get("linux-amd64")
    # No section headers: the search falls back to the whole file, where a decoy comes first.
    stripped = bytearray(data)
    struct.pack_into("<Q", stripped, 40, 0)  # e_shoff = 0
    decoy = elf.BUILDINFO_MAGIC + b"not a header, just a Go string constant"
    pos = 0x1000  # 16-aligned, in .text
    stripped[pos:pos + len(decoy)] = decoy
    info = elf.read_buildinfo(bytes(stripped))
    assert info is not None and info.go_version.startswith("go1.")


def _blob(version: bytes, mod: bytes, flags: int = 2) -> bytes:
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    header = elf.BUILDINFO_MAGIC + bytes([8, flags]) + b"\0" * 16
    return header + varint(len(version)) + version + varint(len(mod)) + mod


def test_pre_go118_pointer_format_reports_unknown():
    data = b"\0" * 64 + elf.BUILDINFO_MAGIC + bytes([8, 0]) + struct.pack("<QQ", 0x401000, 0x402000)
    info = elf.read_buildinfo(data)
    assert info is not None and info.go_version == elf.UNKNOWN_GO_VERSION
    assert info.deps == () and info.settings == ()


def test_modinfo_quoting_and_replacements():
    start, end = bytes.fromhex("3077af0c9274080241e1c107e6d618e6"), bytes.fromhex(
        "f932433186182072008242104116d8f2")
    text = (
        "path\texample.com/app/cmd/api\n"
        "mod\texample.com/app\t(devel)\t\n"
        "dep\tgithub.com/aws/aws-lambda-go\tv1.13.3\th1:x=\n"
        "=>\tgithub.com/fork/aws-lambda-go\tv1.47.0\th1:y=\n"
        "dep\tgolang.org/x/sys\tv0.1.0\th1:z=\n"
        "=>\t../sys\t\t\n"
        "build\t-ldflags=\"-s -w -X 'main.v=1 2'\"\n"
        "build\t\"we=ird\"=`raw value`\n"
        "build\t-gcflags=\"a\\tb\\x41\\u00e9\"\n"
        "build\tCGO_ENABLED=0\n"
        "build\tnoequals\n"
    ).encode()
    data = b"\0" * 32 + _blob(b"go1.22.0 X:loopvar", start + text + end)
    info = elf.read_buildinfo(data)
    assert info.go_version == "go1.22.0 X:loopvar"
    assert info.path == "example.com/app/cmd/api" and info.main_module == "example.com/app"
    assert info.main_version == "(devel)"
    assert info.deps == (("github.com/aws/aws-lambda-go", "v1.13.3"), ("golang.org/x/sys", "v0.1.0"))
    assert info.dep_version("github.com/aws/aws-lambda-go") == "v1.47.0"
    assert info.dep_version("golang.org/x/sys") == ""
    assert info.setting("-ldflags") == "-s -w -X 'main.v=1 2'"
    assert info.setting("we=ird") == "raw value"
    assert info.setting("-gcflags") == "a\tbAé"
    assert info.setting("CGO_ENABLED") == "0"
    assert info.setting("noequals") is None


def test_modinfo_without_framing_is_empty():
    info = elf.read_buildinfo(b"\0" * 16 + _blob(b"go1.21.0", b"path\tx\n"))
    assert info.go_version == "go1.21.0" and info.path == "" and info.deps == ()


# --------------------------------------------------------------------------------------------------
# hostile bytes: only ElfError, quickly

_FUZZ = settings(max_examples=150, deadline=500, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _all_readers(data: bytes) -> None:
    kind = elf.identify(data)
    assert isinstance(kind, elf.FileKind)
    try:
        info = elf.parse_elf(data)
        info.describe()
    except elf.ElfError:
        pass
    elf.read_buildinfo(data)


@_FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_readers(data):
    _all_readers(data)
    _all_readers(elf.ELF_MAGIC + data)
    _all_readers(elf.ELF_MAGIC + b"\x02\x01\x01" + data)


@pytest.fixture(scope="module")
def small_elf(bins) -> bytes:
    return bins.get("glibc235")


@_FUZZ
@given(data=st.data())
def test_mutated_elf_never_crashes_the_readers(small_elf, data):
    buf = bytearray(small_elf)
    header_bytes = st.integers(0, 0x400)  # headers, program headers, .interp, .dynamic ...
    for _ in range(data.draw(st.integers(1, 12))):
        pos = data.draw(st.one_of(header_bytes, st.integers(0, len(buf) - 1)))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.just(len(buf)), st.integers(0, len(buf))))
    _all_readers(bytes(buf[:cut]))


@_FUZZ
@given(st.binary(max_size=600), st.integers(0, 255), st.integers(0, 255))
def test_hostile_buildinfo_blobs(tail, ptr_size, flags):
    data = b"\0" * 16 + elf.BUILDINFO_MAGIC + bytes([ptr_size, flags]) + b"\0" * 16 + tail
    info = elf.read_buildinfo(data)
    assert info is None or isinstance(info.go_version, str)
