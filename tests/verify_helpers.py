"""Shared by test_elf, test_verify and test_corpus: real binaries and zips, made by test code.

Binaries are built with the real ``go`` (and ``gcc``) once per test session: ``binaries(base)``
builds them all, two at a time, into ``base`` and caches the bytes for the session, so each test
module's session fixture can call it with the session's base temp dir.  Zips are written either by
Python's ``zipfile`` with every header field set explicitly (``make_zip``) or, for zips no honest
tool writes, byte by byte (``raw_zip``).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GO = shutil.which("go") or "/usr/local/go/bin/go"
GCC = shutil.which("gcc")
GBL_LDFLAGS = "-s -w"  # what gbl builds with (planner.BASE_LDFLAGS)
NORPC = "lambda.norpc"

# A C program that needs glibc 2.35: epoll_pwait2 appeared in glibc 2.35 (GLIBC_2.35 in libc.so.6).
GLIBC_235_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/epoll.h>
int main(int argc, char **argv) {
    if (argc > 99) epoll_pwait2(-1, NULL, 0, NULL, NULL);
    puts("needs GLIBC_2.35");
    return 0;
}
"""
STATIC_C = r"""
#include <stdio.h>
int main(void) { puts("static C"); return 0; }
"""


@dataclass(frozen=True)
class GoSpec:
    module: str  # a directory under tests/fixtures
    package: str  # relative to the module, e.g. "." or "./cmd/legacy"
    goos: str = "linux"
    goarch: str = "amd64"
    cgo: bool = False
    tags: tuple[str, ...] = (NORPC,)
    ldflags: str = GBL_LDFLAGS
    trimpath: bool = True
    buildmode: str = "exe"


# name -> how to build it.  The "go" ones use the exact flags gbl uses.
GO_BINARIES = {
    "linux-amd64": GoSpec("verify_min", "."),
    "linux-arm64": GoSpec("verify_min", ".", goarch="arm64"),
    "linux-386": GoSpec("verify_min", ".", goarch="386"),
    "darwin-arm64": GoSpec("verify_min", ".", goos="darwin", goarch="arm64"),
    "windows-amd64": GoSpec("verify_min", ".", goos="windows"),
    "oldlambda": GoSpec("oldlambda", "./cmd/legacy"),
    "lambda-ok": GoSpec("handlers", "./cmd/ok"),
    "lambda-notags": GoSpec("handlers", "./cmd/ok", tags=()),
    "cgo": GoSpec("needs_cgo", "./cmd/cgofn", cgo=True),
    # Without -trimpath Go records -ldflags in the build info (quoted: it has spaces).
    "linux-amd64-pie": GoSpec("verify_min", ".", buildmode="pie"),
    "linux-amd64-ldflags": GoSpec("verify_min", ".", trimpath=False,
                                  ldflags="-s -w -X main.version=v1.2.3"),
}
C_BINARIES = {"glibc235": (GLIBC_235_C, ()), "static-c": (STATIC_C, ("-static",))}


class Unavailable(Exception):
    """A binary could not be built here (no go/gcc, or a fixture module missing)."""


def go_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOWORK": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"})
    env.update(overrides)
    return env


def build_go(spec: GoSpec, out: Path) -> Path:
    module = FIXTURES / spec.module
    if not (module / "go.mod").is_file():
        raise Unavailable(f"fixture module {module} is missing")
    if not Path(GO).exists():
        raise Unavailable("go is not installed")
    if spec.cgo and not GCC:
        raise Unavailable("gcc is not installed (cgo)")
    env = go_env(GOOS=spec.goos, GOARCH=spec.goarch, CGO_ENABLED="1" if spec.cgo else "0")
    args = [GO, "build", *(["-trimpath"] if spec.trimpath else []), "-ldflags", spec.ldflags,
            "-buildmode", spec.buildmode, "-o", str(out)]
    if spec.tags:
        args += ["-tags", ",".join(spec.tags)]
    proc = subprocess.run([*args, spec.package], cwd=module, env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"go build {spec} failed:\n{proc.stderr}")
    return out


def build_c(source: str, flags: tuple[str, ...], out: Path) -> Path:
    if not GCC:
        raise Unavailable("gcc is not installed")
    src = out.with_suffix(".c")
    src.write_text(source)
    proc = subprocess.run([GCC, "-O1", *flags, "-o", str(out), str(src)], capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise Unavailable(f"gcc {' '.join(flags)} failed:\n{proc.stderr}")
    return out


def build_lambda_zip_tool(out: Path) -> Path:
    """aws-lambda-go's own zip tool, built from the module the handlers fixture requires."""
    module = FIXTURES / "handlers"
    if not (module / "go.mod").is_file():
        raise Unavailable("fixture module handlers is missing")
    proc = subprocess.run(
        [GO, "build", "-o", str(out), "github.com/aws/aws-lambda-go/cmd/build-lambda-zip"],
        cwd=module, env=go_env(CGO_ENABLED="0"), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise Unavailable(f"cannot build build-lambda-zip:\n{proc.stderr}")
    return out


@dataclass
class Binaries:
    """Every binary of the session: ``get(name)`` returns its bytes or fails the test."""

    dir: Path
    built: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        import pytest

        if name in self.missing:
            pytest.fail(self.missing[name])
        return self.built[name]

    def get(self, name: str) -> bytes:
        return self.path(name).read_bytes()


_SESSION: dict[Path, Binaries] = {}


def binaries(base: Path) -> Binaries:
    """Build (once per session and ``base``) every binary the verify tests use."""
    if base in _SESSION:
        return _SESSION[base]
    out = base / "verify-binaries"
    out.mkdir(parents=True, exist_ok=True)
    result = Binaries(out)

    def job(name: str):
        try:
            if name in GO_BINARIES:
                return name, build_go(GO_BINARIES[name], out / name), None
            if name in C_BINARIES:
                source, flags = C_BINARIES[name]
                return name, build_c(source, flags, out / name), None
            return name, build_lambda_zip_tool(out / name), None
        except Unavailable as exc:
            return name, None, str(exc)

    names = [*GO_BINARIES, *C_BINARIES, "build-lambda-zip"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, path, why in pool.map(job, names):
            if path is None:
                result.missing[name] = why
            else:
                result.built[name] = path
    _SESSION[base] = result
    return result


# --------------------------------------------------------------------------------------------------
# zips

DATE = (2020, 1, 1, 0, 0, 0)
UNIX = 3
MSDOS = 0
EXE = 0o100755
FILE = 0o100644
LINK = 0o120777
DIR = 0o040755


@dataclass(frozen=True)
class E:
    """One entry for make_zip, every header field explicit."""

    name: str
    data: bytes = b""
    mode: int = EXE  # st_mode, stored in external_attr's high 16 bits on Unix
    system: int = UNIX  # create_system: 3 Unix, 0 MS-DOS
    method: int = zipfile.ZIP_DEFLATED
    msdos_attr: int = 0  # low byte of external_attr (0x10 directory, 0x20 archive)
    create_version: int = 20
    extract_version: int = 20
    flag_bits: int = 0
    extra: bytes = b""


def make_zip(entries, *, comment: bytes = b"", prefix: bytes = b"") -> bytes:
    """A zip written by Python's zipfile with every header field set from ``entries``."""
    import warnings

    buf = io.BytesIO()
    buf.write(prefix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(buf, "a" if prefix else "w") as zf:
            zf.comment = comment
            for e in entries:
                zi = zipfile.ZipInfo(e.name, DATE)
                zi.compress_type = e.method
                zi.create_system = e.system
                zi.create_version = e.create_version
                zi.extract_version = e.extract_version
                zi.flag_bits = e.flag_bits
                zi.external_attr = ((e.mode << 16) if e.system == UNIX else 0) | e.msdos_attr
                zi.internal_attr = 0
                zi.volume = 0
                zi.comment = b""
                zi.extra = e.extra
                zf.writestr(zi, e.data)
    return buf.getvalue()


def info_zip_extra() -> bytes:
    """The extra fields Info-ZIP's zip 3.0 writes on Linux: UT (mtime) and ux (uid/gid)."""
    ut = struct.pack("<HHBI", 0x5455, 5, 1, 1577836800)
    ux = struct.pack("<HHBBIBI", 0x7875, 11, 1, 4, 1000, 4, 1000)
    return ut + ux


@dataclass
class R:
    """One entry for raw_zip: what the local and central headers say may differ."""

    name: bytes
    payload: bytes  # the bytes stored (already compressed when method is 8)
    method: int = 0
    crc: int | None = None  # default: crc32 of `content` (or of payload when stored)
    usize: int | None = None
    csize: int | None = None
    content: bytes | None = None  # the unzipped bytes, for the default crc/usize
    system: int = UNIX
    mode: int = EXE
    flags: int = 0
    local_name: bytes | None = None
    local_usize: int | None = None
    offset: int | None = None  # the central directory's local header offset (default: real)


def deflate(data: bytes, level: int = 9) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def raw_zip(entries: list[R], *, total: int | None = None, cd_offset_delta: int = 0) -> bytes:
    """A zip assembled byte by byte (APPNOTE.TXT), for headers no honest tool writes."""
    out = bytearray()
    offsets = []
    for r in entries:
        content = r.content if r.content is not None else r.payload
        crc = r.crc if r.crc is not None else zlib.crc32(content)
        usize = r.usize if r.usize is not None else len(content)
        csize = r.csize if r.csize is not None else len(r.payload)
        name = r.local_name if r.local_name is not None else r.name
        offsets.append(len(out))
        lusize = r.local_usize if r.local_usize is not None else usize
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, r.flags, r.method, 0, 0x5021, crc,
                           csize, lusize, len(name), 0)
        out += name + r.payload
    cd_start = len(out)
    for r, off in zip(entries, offsets):
        content = r.content if r.content is not None else r.payload
        crc = r.crc if r.crc is not None else zlib.crc32(content)
        usize = r.usize if r.usize is not None else len(content)
        csize = r.csize if r.csize is not None else len(r.payload)
        attr = (r.mode << 16) if r.system == UNIX else 0
        out += struct.pack("<4sBBHHHHHIIIHHHHHII", b"PK\x01\x02", 20, r.system, 20, r.flags,
                           r.method, 0, 0x5021, crc, csize, usize, len(r.name), 0, 0, 0, 0, attr,
                           r.offset if r.offset is not None else off)
        out += r.name
    cd_size = len(out) - cd_start
    n = len(entries) if total is None else total
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, cd_size, cd_start + cd_offset_delta, 0)
    return bytes(out)


def ids(verdict) -> dict[str, list]:
    """check id -> [checks with that id] (a script's exec target repeats the bootstrap ids)."""
    out: dict[str, list] = {}
    for c in verdict.checks:
        out.setdefault(c.id, []).append(c)
    return out


def check(verdict, check_id: str, status: str | None = None):
    """The first check with ``check_id`` (and ``status``, when given); fails the test if none."""
    found = [c for c in verdict.checks if c.id == check_id and (status is None or c.status == status)]
    assert found, f"no {check_id} {status or ''} check in {[(c.id, c.status) for c in verdict.checks]}"
    return found[0]
