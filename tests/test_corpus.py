"""The hostile-input corpus: every zip is generated here from real binaries or by hand.

Each case names the checks it must trip (id, status, a fragment of the message naming the entry,
of what Lambda would do, and of the fix), and the non-pass checks are exactly those: a case that
trips something extra fails.  ``test_cli_exit_codes`` runs the real CLI (`gbl verify --json`) on
every case and checks its exit code and that it reports the same checks.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jsonschema
import pytest

import verify_helpers as vh
from json_helpers import schema as json_schema
from gobuild_lambda import verify
from gobuild_lambda.errors import EXIT_OK, EXIT_VERIFY_FAILED
from verify_helpers import DIR, EXE, FILE, LINK, MSDOS, E, R, make_zip, raw_zip

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bins(tmp_path_factory) -> vh.Binaries:
    return vh.binaries(tmp_path_factory.getbasetemp())


@dataclass(frozen=True)
class Expect:
    id: str
    status: str
    message: str = ""  # fragment of the message (names the entry / file)
    fix: str = ""  # fragment of the fix
    lambda_error: str = ""  # fragment of what Lambda would do


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[vh.Binaries], bytes]
    expect: tuple[Expect, ...]
    arch: str | None = None
    runtime: str = "provided.al2023"

    @property
    def exit_code(self) -> int:
        return EXIT_VERIFY_FAILED if any(e.status == "fail" for e in self.expect) else EXIT_OK


def amd64(b: vh.Binaries) -> bytes:
    return b.get("linux-amd64")


def one(data_fn, **kw) -> Callable[[vh.Binaries], bytes]:
    """A zip whose only entry is bootstrap, made from ``data_fn(bins)``."""
    return lambda b: make_zip([E("bootstrap", data_fn(b), **kw)])


def script(text: bytes, *extra: tuple[str, str], mode: int = EXE):
    """A bootstrap script plus (zip name, binary name) executables."""
    return lambda b: make_zip([E("bootstrap", text, mode=mode),
                               *(E(name, b.get(binary)) for name, binary in extra)])


def fat_macho(b: vh.Binaries) -> bytes:
    slice_ = b.get("darwin-arm64")
    header = b"\xca\xfe\xba\xbe" + struct.pack(">I", 1) + struct.pack(
        ">iiIII", 0x0100000C, 0, 4096, len(slice_), 12)
    return header + b"\0" * (4096 - len(header)) + slice_


def compress_archive(b: vh.Binaries) -> bytes:
    """What Windows PowerShell 5.1's Compress-Archive writes: no Unix modes, '\\' separators."""
    return make_zip([
        E("bootstrap", amd64(b), system=MSDOS, msdos_attr=0x20),
        E("config\\app.json", b"{}", system=MSDOS, msdos_attr=0x20),
    ])


def info_zip(b: vh.Binaries) -> bytes:
    """What Info-ZIP's zip 3.0 writes on Linux (`zip -r fn.zip bootstrap conf`)."""
    extra = vh.info_zip_extra()
    return make_zip([
        E("bootstrap", amd64(b), create_version=30, extract_version=20, extra=extra),
        E("conf/", b"", mode=DIR, method=zipfile.ZIP_STORED, create_version=30, extract_version=10,
          extra=extra),
        E("conf/app.json", b'{"a": 1}\n', mode=FILE, create_version=30, extract_version=10,
          method=zipfile.ZIP_STORED, extra=extra),
    ])


def build_lambda_zip(b: vh.Binaries, tmp: Path) -> bytes:
    """aws-lambda-go's build-lambda-zip, run for real: it writes bootstrap as a link to `main`."""
    tool = b.path("build-lambda-zip")
    exe = tmp / "main"
    exe.write_bytes(b.get("lambda-ok"))
    out = tmp / "blz.zip"
    subprocess.run([str(tool), "-o", str(out), str(exe)], cwd=tmp, check=True, capture_output=True)
    return out.read_bytes()


def overlapping(b: vh.Binaries) -> bytes:
    """Entry 'b' lives inside entry 'a's stored data: the overlapping-files zip bomb."""
    inner_data = b"x" * 64
    inner = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x5021, zlib.crc32(inner_data),
                        64, 64, 1, 0) + b"b" + inner_data
    boot = amd64(b)
    return raw_zip([
        R(b"a", inner, method=0),
        R(b"b", inner_data, method=0, offset=31),  # 30-byte header + name "a"
        R(b"bootstrap", vh.deflate(boot), method=8, content=boot),
    ])


def zip64_local(b: vh.Binaries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zi = zipfile.ZipInfo("bootstrap", vh.DATE)
        zi.compress_type, zi.create_system, zi.external_attr = zipfile.ZIP_DEFLATED, 3, EXE << 16
        with zf.open(zi, "w", force_zip64=True) as f:
            f.write(amd64(b))
    return buf.getvalue()


def pre_go118(b: vh.Binaries) -> bytes:
    """A Go binary whose build info blob says "pointer format", as Go 1.13-1.17 wrote it."""
    from gobuild_lambda import elf

    data = bytearray(amd64(b))
    pos = data.find(elf.BUILDINFO_MAGIC)
    data[pos + elf.BUILDINFO_FLAGS_OFFSET] = 0
    return bytes(data)


def tmp_case(fn):
    """Cases that need a scratch directory get one under the session's temp dir."""
    def make(b: vh.Binaries) -> bytes:
        tmp = b.dir / "scratch" / fn.__name__
        tmp.mkdir(parents=True, exist_ok=True)
        return fn(b, tmp)
    return make


SH = b"#!/bin/sh\nset -e\nexec ./app \"$@\"\n"

CASES = [
    # --- valid zips -------------------------------------------------------------------------------
    Case("valid-amd64", one(amd64), (Expect("bootstrap-arch", "pass", "x86-64 (amd64)"),)),
    Case("valid-arm64", one(lambda b: b.get("linux-arm64")),
         (Expect("bootstrap-arch", "pass", "AArch64 (arm64)"),), arch="arm64"),
    Case("valid-aws-lambda-go", one(lambda b: b.get("lambda-ok")),
         (Expect("go-aws-lambda-go", "pass", "v1.55.1"), Expect("go-tags", "pass", "lambda.norpc")),
         arch="amd64"),
    Case("info-zip", info_zip, (Expect("bootstrap-executable", "pass", "0755"),)),
    Case("build-lambda-zip", tmp_case(build_lambda_zip),
         (Expect("bootstrap-at-root", "pass", "bootstrap is a link: bootstrap -> main"),
          Expect("bootstrap-executable", "pass", "'main'"))),
    Case("symlink-like-build-lambda-zip",
         lambda b: make_zip([E("bootstrap", b"handler", mode=LINK), E("handler", amd64(b), mode=0o100777)]),
         (Expect("zip-symlinks", "pass", "1 link"), Expect("bootstrap-at-root", "pass", "-> handler"))),
    Case("zip64-local-headers", zip64_local, (Expect("zip-integrity", "pass"),)),
    Case("self-extractor-prefix", lambda b: make_zip([E("bootstrap", amd64(b))],
                                                     prefix=b"#!/bin/sh\necho stub\n" * 10),
         (Expect("zip-readable", "pass"),)),
    Case("go-pie", one(lambda b: b.get("linux-amd64-pie")),
         (Expect("bootstrap-linking", "pass", "needs only the dynamic loader"),
          Expect("bootstrap-format", "pass", "position-independent executable"))),
    Case("empty-zip", lambda b: make_zip([]),
         (Expect("bootstrap-at-root", "fail", "no file named bootstrap"),)),
    Case("symlink-loop",
         lambda b: make_zip([E("bootstrap", b"a", mode=LINK), E("a", b"bootstrap", mode=LINK)]),
         (Expect("bootstrap-at-root", "fail", "too many levels of symbolic links"),)),
    Case("static-c-binary", one(lambda b: b.get("static-c")),
         (Expect("bootstrap-linking", "pass", "statically linked"),)),
    Case("script-valid", script(SH, ("app", "linux-amd64")),
         (Expect("script-interpreter", "pass", "/bin/sh"),
          Expect("script-exec-target", "pass", "`exec ./app`"),
          Expect("bootstrap-arch", "pass", "'app' (run by bootstrap)"))),
    Case("script-task-root", script(b'#!/bin/bash\nexec "$LAMBDA_TASK_ROOT/bin/app"\n',
                                    ("bin/app", "linux-amd64")),
         (Expect("script-exec-target", "pass", "/var/task/bin/app"),)),
    Case("script-env-bash", script(b"#!/usr/bin/env bash\nexec ./app\n", ("app", "linux-amd64")),
         (Expect("script-interpreter", "pass", "bash (via /usr/bin/env)"),)),
    # --- warnings only (exit 0) -------------------------------------------------------------------
    Case("missing-lambda-norpc", one(lambda b: b.get("lambda-notags")),
         (Expect("go-tags", "warn", "without -tags lambda.norpc", fix="-tags lambda.norpc"),)),
    Case("cgo-on-al2023", one(lambda b: b.get("cgo")),
         (Expect("bootstrap-linking", "warn", "dynamically linked", fix="CGO_ENABLED=0"),
          Expect("go-cgo", "warn", "CGO_ENABLED=1", fix="CGO_ENABLED=0"))),
    Case("zipped-over-50mb",
         lambda b: make_zip([E("bootstrap", amd64(b)),
                             E("blob.bin", b"\0" * (51 * 1024 * 1024), mode=FILE, method=zipfile.ZIP_STORED)]),
         (Expect("size-zipped", "warn", "over the 50 MB limit", fix="S3",
                 lambda_error="RequestEntityTooLargeException"),)),
    Case("file-not-world-readable",
         lambda b: make_zip([E("bootstrap", amd64(b)), E("secret.json", b"{}", mode=0o100600)]),
         (Expect("zip-permissions", "warn", "'secret.json' (0600)", fix="0644"),)),
    Case("script-env-python", script(b"#!/usr/bin/env python3\nprint(1)\n"),
         (Expect("script-interpreter", "warn", "'python3'", fix="layer"),)),
    # --- bootstrap missing or misplaced -----------------------------------------------------------
    Case("no-bootstrap", lambda b: make_zip([E("main", amd64(b))]),
         (Expect("bootstrap-at-root", "fail", "found the executable 'main'", fix="gbl zip BINARY",
                 lambda_error="Runtime.InvalidEntrypoint"),)),
    Case("nested-bootstrap", lambda b: make_zip([E("api/bootstrap", amd64(b))]),
         (Expect("bootstrap-at-root", "fail", "found 'api/bootstrap'", fix="`cd api`",
                 lambda_error="Couldn't find valid bootstrap"),)),
    Case("nested-dist-bootstrap", lambda b: make_zip([E("dist/", b"", mode=DIR), E("dist/bootstrap", amd64(b))]),
         (Expect("bootstrap-at-root", "fail", "'dist/bootstrap'"),)),
    Case("bootstrap-is-a-directory",
         lambda b: make_zip([E("bootstrap/", b"", mode=DIR, method=zipfile.ZIP_STORED),
                             E("bootstrap/main", amd64(b))]),
         (Expect("bootstrap-at-root", "fail", "is a folder", fix="gbl build"),)),
    Case("bootstrap-wrong-case", lambda b: make_zip([E("Bootstrap", amd64(b))]),
         (Expect("bootstrap-at-root", "fail", "'Bootstrap'", fix="gbl zip BINARY"),)),
    # --- modes --------------------------------------------------------------------------------------
    Case("mode-0644", one(amd64, mode=FILE),
         (Expect("bootstrap-executable", "fail", "bootstrap: mode 0644, not executable", fix="chmod 755",
                 lambda_error="permission denied"),)),
    Case("mode-0700", one(amd64, mode=0o100700),
         (Expect("bootstrap-executable", "fail", "mode 0700: other users cannot execute",
                 fix="chmod 755"),)),
    Case("no-unix-mode", one(amd64, system=MSDOS),
         (Expect("bootstrap-executable", "fail", "stores no Unix permissions",
                 fix="build with `gbl build`, or repackage with `gbl zip BINARY`",
                 lambda_error="permission denied"),)),
    Case("compress-archive", compress_archive,
         (Expect("bootstrap-executable", "fail", "made by MS-DOS/Windows", fix="gbl zip BINARY"),
          Expect("zip-paths", "warn", "'config\\app.json' uses", fix="'/'"))),
    # --- what bootstrap is --------------------------------------------------------------------------
    Case("wrong-arch", one(lambda b: b.get("linux-arm64")),
         (Expect("bootstrap-arch", "fail", "bootstrap is AArch64 (arm64), but the function is x86_64",
                 fix="GOARCH=amd64", lambda_error="exec format error"),), arch="amd64"),
    Case("elf-32-bit", one(lambda b: b.get("linux-386")),
         (Expect("bootstrap-format", "fail", "ELF 32-bit LSB executable, Intel 80386",
                 fix="GOOS=linux GOARCH=amd64", lambda_error="exec format error"),)),
    Case("elf-other-machine",
         one(lambda b: amd64(b)[:18] + struct.pack("<H", 243) + amd64(b)[20:]),  # e_machine: RISC-V
         (Expect("bootstrap-arch", "fail", "bootstrap is RISC-V (riscv64): Lambda runs only x86_64 (amd64) and arm64",
                 fix="GOARCH=amd64 or GOARCH=arm64"),)),
    Case("windows-pe", one(lambda b: b.get("windows-amd64")),
         (Expect("bootstrap-format", "fail", "Windows PE executable", fix="GOOS=linux GOARCH=amd64"),
          Expect("go-goos", "fail", "GOOS=windows", fix="GOOS=linux"))),
    Case("macos-macho", one(lambda b: b.get("darwin-arm64")),
         (Expect("bootstrap-format", "fail", "Mach-O 64-bit executable, arm64 (macOS)",
                 fix="GOOS=linux GOARCH=arm64"),
          Expect("go-goos", "fail", "GOOS=darwin"))),
    Case("macos-fat-macho", one(fat_macho),
         (Expect("bootstrap-format", "fail", "universal (fat) Mach-O", fix="GOOS=linux"),
          Expect("go-goos", "fail", "GOOS=darwin"))),
    Case("empty-bootstrap", one(lambda b: b""),
         (Expect("bootstrap-format", "fail", "bootstrap is empty (0 bytes)",
                 lambda_error="exec format error"),)),
    Case("text-bootstrap", one(lambda b: b"go run main.go\n"),
         (Expect("bootstrap-format", "fail", "a text file", fix="#! script"),)),
    Case("glibc-2.35", one(lambda b: b.get("glibc235")),
         (Expect("bootstrap-linking", "fail", "needs GLIBC_2.35; provided.al2023 has glibc 2.34",
                 fix="CGO_ENABLED=0", lambda_error="GLIBC_2.35' not found"),)),
    Case("cgo-on-al2", one(lambda b: b.get("cgo")),
         (Expect("bootstrap-linking", "fail", "provided.al2 has glibc 2.26", fix="provided.al2023"),
          Expect("go-cgo", "warn", "CGO_ENABLED=1")), runtime="provided.al2"),
    Case("pre-go1.18-build-info", one(pre_go118),
         (Expect("go-buildinfo", "warn", "older than 1.18", fix="current Go"),)),
    Case("old-aws-lambda-go", one(lambda b: b.get("oldlambda")),
         (Expect("go-aws-lambda-go", "fail", "github.com/aws/aws-lambda-go v1.13.3, older than v1.18.0",
                 fix="go get github.com/aws/aws-lambda-go@latest", lambda_error="times out"),)),
    # --- scripts ------------------------------------------------------------------------------------
    Case("script-crlf", script(SH.replace(b"\n", b"\r\n"), ("app", "linux-amd64")),
         (Expect("script-line-endings", "fail", "CRLF", fix="LF",
                 lambda_error="no such file or directory"),)),
    Case("script-missing-target", script(SH),
         (Expect("script-exec-target", "fail", "'app' is not in the zip", fix="include"),)),
    Case("script-unknown-interpreter", script(b"#!/usr/local/bin/bash\nexec ./app\n",
                                              ("app", "linux-amd64")),
         (Expect("script-interpreter", "fail", "/usr/local/bin/bash", fix="#!/bin/sh"),)),
    Case("script-mode-0644", script(SH, ("app", "linux-amd64"), mode=FILE),
         (Expect("bootstrap-executable", "fail", "mode 0644"),)),
    Case("script-target-wrong-arch", script(SH, ("app", "linux-arm64")),
         (Expect("bootstrap-arch", "fail", "'app' (run by bootstrap) is AArch64", fix="GOARCH=amd64"),),
         arch="amd64"),
    Case("script-with-bom", one(lambda b: b"\xef\xbb\xbf" + SH),
         (Expect("bootstrap-format", "fail", "byte-order mark", fix="without a byte-order mark"),)),
    # --- links --------------------------------------------------------------------------------------
    Case("symlink-escape",
         lambda b: make_zip([E("bootstrap", b"../../usr/bin/app", mode=LINK)]),
         (Expect("zip-symlinks", "fail", "'bootstrap' -> '../../usr/bin/app'", fix="the file itself"),
          Expect("bootstrap-at-root", "fail", "outside the zip"))),
    Case("symlink-absolute",
         lambda b: make_zip([E("bootstrap", amd64(b)), E("passwd", b"/etc/passwd", mode=LINK)]),
         (Expect("zip-symlinks", "fail", "'passwd' -> '/etc/passwd'"),)),
    Case("symlink-dangling-bootstrap", lambda b: make_zip([E("bootstrap", b"main", mode=LINK)]),
         (Expect("bootstrap-at-root", "fail", "'main', which is not in the zip"),
          Expect("zip-symlinks", "warn", "'bootstrap' -> 'main'"))),
    # --- paths and names ----------------------------------------------------------------------------
    Case("dotdot-entry", lambda b: make_zip([E("bootstrap", amd64(b)), E("../evil", b"x", mode=FILE)]),
         (Expect("zip-paths", "fail", "'../evil' (a '..' component)", fix="relative"),)),
    Case("absolute-entry",
         lambda b: make_zip([E("bootstrap", amd64(b)), E("/etc/cron.d/evil", b"x", mode=FILE)]),
         (Expect("zip-paths", "fail", "'/etc/cron.d/evil' (an absolute path)"),)),
    Case("backslash-absolute-entry",
         lambda b: make_zip([E("bootstrap", amd64(b)), E("\\evil", b"x", mode=FILE)]),
         (Expect("zip-paths", "fail", "(an absolute path)"),)),
    Case("duplicate-names", lambda b: make_zip([E("bootstrap", amd64(b)), E("bootstrap", b"#!/bin/sh\n")]),
         (Expect("zip-duplicates", "fail", "'bootstrap' appears 2 times", fix="zip -u"),)),
    # --- the archive itself -------------------------------------------------------------------------
    Case("zip-bomb-ratio",
         lambda b: make_zip([E("bootstrap", amd64(b)), E("data.bin", b"\0" * (20 << 20), mode=FILE)]),
         (Expect("zip-bomb", "fail", "'data.bin' claims to expand"),)),
    Case("zip-bomb-declared",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b)),
                            R(b"bomb", b"\x03\x00", method=8, usize=4_000_000_000, crc=0)]),
         (Expect("zip-bomb", "fail", "'bomb' claims to expand 2 bytes into 4000000000"),
          Expect("size-unzipped", "fail", "over Lambda's 262144000-byte limit"))),
    Case("zip-bomb-overlapping", overlapping, (Expect("zip-bomb", "fail", "'a' and 'b' overlap"),)),
    Case("declared-over-250mb",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b)),
                            R(b"big.bin", os.urandom(300_000), method=8, usize=300_000_000, crc=0,
                              mode=FILE)]),
         (Expect("size-unzipped", "fail", "'big.bin'", fix="container image",
                 lambda_error="Unzipped size must be smaller than 262144000 bytes"),)),
    Case("inflates-past-declared-size",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b),
                              usize=1000, crc=zlib.crc32(amd64(b)[:1000]))]),
         (Expect("zip-integrity", "fail", "'bootstrap': inflates to more than its declared 1000 bytes"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("crc-mismatch",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b), crc=1)]),
         (Expect("zip-integrity", "fail", "'bootstrap': CRC mismatch",
                 lambda_error="Could not unzip uploaded file"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("local-central-mismatch",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b),
                              local_name=b"bootstrao")]),
         (Expect("zip-integrity", "fail", "its local header names it 'bootstrao'"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("local-size-differs",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b),
                              local_usize=12)]),
         (Expect("zip-integrity", "fail", "its local header declares"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("encrypted-entry",
         lambda b: raw_zip([R(b"bootstrap", vh.deflate(amd64(b)), method=8, content=amd64(b), flags=1)]),
         (Expect("zip-compression", "fail", "'bootstrap' is encrypted", fix="without a password"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("bzip2-entry", one(amd64, method=zipfile.ZIP_BZIP2),
         (Expect("zip-compression", "fail", "method 12 (bzip2)", fix="deflate"),
          Expect("bootstrap-format", "fail", "cannot be read"))),
    Case("truncated-zip", lambda b: make_zip([E("bootstrap", amd64(b))])[:300_000],
         (Expect("zip-readable", "fail", "truncated", lambda_error="Could not unzip uploaded file"),)),
    Case("not-a-zip", amd64,
         (Expect("zip-readable", "fail", "not a zip: the file is ELF 64-bit LSB executable",
                 fix="gbl zip BINARY"),)),
    Case("empty-file", lambda b: b"", (Expect("zip-readable", "fail", "the file is empty (0 bytes)"),)),
    Case("central-directory-past-end",
         lambda b: raw_zip([R(b"bootstrap", b"#!/bin/sh\n")], cd_offset_delta=10_000),
         (Expect("zip-readable", "fail", "does not fit"),)),
    Case("entry-count-lies",
         lambda b: raw_zip([R(b"bootstrap", b"#!/bin/sh\n")], total=60_000),
         (Expect("zip-readable", "fail", "claims 60000 entries"),)),
]


# The fix a check gives when a case does not name a more specific fragment: every non-pass
# check of every case is asserted to carry its fix.
DEFAULT_FIX = {
    ("zip-readable", "fail"): "gbl build",
    ("zip-paths", "fail"): "relative to the zip's root",
    ("zip-bomb", "fail"): "gbl zip BINARY",
    ("zip-integrity", "fail"): "make the zip again",
    ("zip-symlinks", "fail"): "put the file itself in the zip",
    ("zip-symlinks", "warn"): "add the target to the zip",
    ("size-unzipped", "fail"): "container image",
    ("bootstrap-at-root", "fail"): "gbl zip BINARY",
    ("bootstrap-executable", "fail"): "chmod 755",
    ("bootstrap-format", "fail"): "gbl",
    ("go-goos", "fail"): "GOOS=linux",
    ("go-cgo", "warn"): "CGO_ENABLED=0",
}


def test_corpus_is_big_enough():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="session")
def corpus_zips(bins) -> dict[str, bytes]:
    cache: dict[str, bytes] = {}
    return cache


def _zip_for(case: Case, bins, corpus_zips) -> bytes:
    if case.name not in corpus_zips:
        corpus_zips[case.name] = case.make(bins)
    return corpus_zips[case.name]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus(case: Case, bins, corpus_zips):
    data = _zip_for(case, bins, corpus_zips)
    verdict = verify.verify_bytes(data, f"{case.name}.zip", arch=case.arch, runtime=case.runtime)
    for e in case.expect:
        fix = e.fix or DEFAULT_FIX.get((e.id, e.status), "")
        assert fix or e.status == "pass", f"{case.name}: {e.id} names no fix fragment"
        matches = [c for c in verdict.checks if c.id == e.id and c.status == e.status
                   and e.message in c.message and fix in c.fix and e.lambda_error in c.lambda_error]
        assert matches, (f"expected {e} among\n" + "\n".join(
            f"  {c.id} {c.status}: {c.message} | {c.lambda_error} | {c.fix}" for c in verdict.checks))
    expected = {(e.id, e.status) for e in case.expect if e.status != "pass"}
    got = {(c.id, c.status) for c in verdict.checks if c.status != "pass"}
    assert got == expected, f"unexpected non-pass checks: {got - expected}; missing: {expected - got}"
    assert verdict.ok == (case.exit_code == EXIT_OK)
    for c in verdict.checks:
        assert c.status in ("pass", "warn", "fail")
        if c.status == "pass":
            assert c.lambda_error == "" and c.fix == ""
        else:
            assert c.message and c.lambda_error and c.fix


def test_one_shot_and_streaming_inflate_agree(bins, corpus_zips, monkeypatch):
    """Members up to verify.zipread._ONE_SHOT_LIMIT are inflated whole by libdeflate, bigger ones
    streamed through zlib: both paths give the same verdict on every case of the corpus."""
    def verdicts():
        return [verify.verify_bytes(_zip_for(c, bins, corpus_zips), f"{c.name}.zip", arch=c.arch,
                                    runtime=c.runtime) for c in CASES]

    one_shot = verdicts()
    monkeypatch.setattr(verify.zipread, "_ONE_SHOT_LIMIT", -1)  # every member takes the streaming path
    calls = []
    monkeypatch.setattr(verify.zipread.deflate, "deflate_decompress",
                        lambda *a: calls.append(a) or pytest.fail("libdeflate inflate was called"))
    streamed = verdicts()
    assert not calls
    for case, a, b in zip(CASES, one_shot, streamed):
        assert a == b, case.name


def test_verdict_facts(bins, corpus_zips):
    by_name = {c.name: c for c in CASES}

    def verdict(name):
        case = by_name[name]
        return verify.verify_bytes(_zip_for(case, bins, corpus_zips), name, arch=case.arch,
                                   runtime=case.runtime)

    v = verdict("valid-aws-lambda-go")
    assert (v.arch, v.go_version, v.aws_lambda_go) == ("amd64", v.go_version, "v1.55.1")
    assert v.go_version.startswith("go1.")
    assert verdict("valid-arm64").arch == "arm64"
    assert verdict("old-aws-lambda-go").aws_lambda_go == "v1.13.3"
    assert verdict("script-valid").arch == "amd64"  # what the script execs
    assert verdict("static-c-binary").go_version is None
    assert not any(c.id.startswith("go-") for c in verdict("static-c-binary").checks)
    assert verdict("macos-macho").arch is None
    v = verdict("build-lambda-zip")
    assert v.ok and v.aws_lambda_go == "v1.55.1"


_DRIVER = r"""
import contextlib, io, json, sys
from gobuild_lambda import cli
cases = json.load(open(sys.argv[1]))
out = {}
for name, args in cases.items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code
    out[name] = [code, buf.getvalue()]
json.dump(out, open(sys.argv[2], "w"))
"""


def test_cli_exit_codes(bins, corpus_zips, tmp_path):
    """`gbl verify ZIP --json` on every case, in one process: exit code and the same checks."""
    args = {}
    for case in CASES:
        path = tmp_path / f"{case.name}.zip"
        path.write_bytes(_zip_for(case, bins, corpus_zips))
        argv = ["verify", str(path), "--json", "--runtime", case.runtime]
        if case.arch:
            argv += ["--arch", case.arch]
        args[case.name] = argv
    (tmp_path / "cases.json").write_text(json.dumps(args))
    proc = subprocess.run([sys.executable, "-c", _DRIVER, str(tmp_path / "cases.json"),
                           str(tmp_path / "out.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "out.json").read_text())
    for case in CASES:
        code, stdout = results[case.name]
        assert code == case.exit_code, (case.name, code, stdout)
        doc = json.loads(stdout)  # one object (issue 19: never a bare array), valid for its schema
        jsonschema.validate(doc, json_schema("verify"), cls=jsonschema.Draft202012Validator)
        (report,) = doc["zips"]
        expected = verify.verify_bytes(_zip_for(case, bins, corpus_zips), case.name, arch=case.arch,
                                       runtime=case.runtime)
        assert [(c["id"], c["status"]) for c in report["checks"]] == [
            (c.id, c.status) for c in expected.checks], case.name
