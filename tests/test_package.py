"""The deterministic packager: every header field, golden bytes, atomic writes."""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile

import pytest

from gobuild_lambda import errors, package
from gobuild_lambda.config import Include

# Fixed input bytes -> fixed zip bytes.  If this changes, zips change for every user: bump
# package.PACKAGER_VERSION and say so in docs/changelog.md.  (libdeflate via deflate==0.9.0.)
GOLDEN_INPUT = b"#!/bin/sh\necho golden\n" + bytes(range(256)) * 64 + b"tail\n" * 100
GOLDEN_SHA256 = "15224b2917939d1d5c20b0593aba01bf9e00bce8cae137f2b05ca62ce80dbb31"


def golden_zip() -> bytes:
    return package.zip_bytes(
        [
            package.ZipEntry("bootstrap", GOLDEN_INPUT, package.MODE_EXECUTABLE),
            package.ZipEntry("config/app.json", b'{"a": 1}\n', package.MODE_REGULAR),
            package.ZipEntry("empty.txt", b"", package.MODE_REGULAR),
        ]
    )


def test_golden_sha256():
    assert hashlib.sha256(golden_zip()).hexdigest() == GOLDEN_SHA256


def _mixed_input() -> bytes:
    """~0.5 MB with long- and short-range repeats, from SHA-256 alone (the same everywhere), on
    which libdeflate's levels give different bytes (the input above compresses alike at any)."""
    vocab = [hashlib.sha256(str(i).encode()).digest()[: 3 + i % 13] for i in range(400)]
    out = bytearray()
    for i in range(0, 60000, 16):
        idx = hashlib.sha256(i.to_bytes(4, "little")).digest()
        for j in range(16):
            out += vocab[(idx[2 * j] << 8 | idx[2 * j + 1]) % 400]
    return bytes(out)


def test_golden_sha256_pins_the_compression_level():
    data = package.zip_bytes([package.ZipEntry("bootstrap", _mixed_input(), package.MODE_EXECUTABLE)])
    assert (package.DEFLATE_LEVEL, len(data)) == (7, 136031)
    assert hashlib.sha256(data).hexdigest() == "268ae3602c6cf6052806e58bb7c2d8a42bbd3e000886c5b8028cc3fcf740c4d8"


def test_every_header_field(tmp_path):
    data = golden_zip()
    path = tmp_path / "g.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["bootstrap", "config/app.json", "empty.txt"]
        for info in infos:
            assert info.create_system == 3  # Unix
            assert info.create_version == 20 and info.extract_version == 20
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.extra == b"" and info.comment == b""
            assert info.flag_bits == 0
            assert info.internal_attr == 0
        assert infos[0].external_attr >> 16 == 0o100755
        assert infos[1].external_attr >> 16 == 0o100644
        assert infos[0].compress_type == zipfile.ZIP_DEFLATED
        assert infos[2].compress_type == zipfile.ZIP_STORED  # nothing to compress
        assert zf.read("bootstrap") == GOLDEN_INPUT
        assert zf.comment == b""
    # local headers carry no extra fields either
    assert struct.unpack_from("<H", data, 28)[0] == 0


def test_entries_are_sorted_whatever_the_input_order():
    a = package.ZipEntry("b.txt", b"b", package.MODE_REGULAR)
    b = package.ZipEntry("a.txt", b"a", package.MODE_REGULAR)
    assert package.zip_bytes([a, b]) == package.zip_bytes([b, a])


def test_source_date_epoch_is_utc_and_two_second_resolution():
    data = package.zip_bytes([package.ZipEntry("bootstrap", b"x", package.MODE_EXECUTABLE)], mtime=1700000001)
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        # 2023-11-14 22:13:21 UTC -> DOS time keeps even seconds
        assert zf.infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)
    early = package.zip_bytes([package.ZipEntry("bootstrap", b"x", package.MODE_EXECUTABLE)], mtime=0)
    assert early == package.zip_bytes([package.ZipEntry("bootstrap", b"x", package.MODE_EXECUTABLE)])


def test_binary_mode_is_irrelevant(tmp_path):
    zips = []
    for mode in (0o600, 0o755, 0o444):
        binary = tmp_path / f"bin-{mode:o}"
        binary.write_bytes(GOLDEN_INPUT)
        os.chmod(binary, mode)
        os.utime(binary, (1234567890 + mode, 1234567890 + mode))
        out = package.package_binary(binary, tmp_path / f"{mode:o}.zip")
        zips.append(out.path.read_bytes())
        with zipfile.ZipFile(out.path) as zf:
            assert zf.getinfo("bootstrap").external_attr >> 16 == 0o100755
    assert zips[0] == zips[1] == zips[2]


def test_packaged_hashes(tmp_path):
    binary = tmp_path / "b"
    binary.write_bytes(GOLDEN_INPUT)
    out = package.package_binary(binary, tmp_path / "out" / "fn.zip")
    data = out.path.read_bytes()
    import base64

    assert out.size == len(data)
    assert out.sha256 == hashlib.sha256(data).hexdigest()
    assert out.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    # atomic write: no temporary file left beside it
    assert sorted(p.name for p in out.path.parent.iterdir()) == ["fn.zip"]


def test_unwritable_destination_is_an_output_error(tmp_path):
    binary = tmp_path / "b"
    binary.write_bytes(b"x")
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(errors.OutputError) as exc:
        package.package_binary(binary, blocker / "fn.zip")
    assert "fn.zip" in str(exc.value)


def test_includes_resolve_sorted_with_declared_modes(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "b.json").write_text("{}")
    (tmp_path / "conf" / "a.json").write_text("{}")
    (tmp_path / "tool.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "tool.sh", 0o600)
    found = package.resolve_includes(
        [Include("conf/*.json"), Include("tool.sh", executable=True)], tmp_path, function="fn"
    )
    assert [(n, e) for n, _, e in found] == [("conf/a.json", False), ("conf/b.json", False), ("tool.sh", True)]
    binary = tmp_path / "bin"
    binary.write_bytes(b"\x7fELF")
    out = package.package_binary(binary, tmp_path / "z.zip", includes=found)
    with zipfile.ZipFile(out.path) as zf:
        assert zf.namelist() == ["bootstrap", "conf/a.json", "conf/b.json", "tool.sh"]
        assert zf.getinfo("tool.sh").external_attr >> 16 == 0o100755
        assert zf.getinfo("conf/a.json").external_attr >> 16 == 0o100644


def test_include_that_matches_nothing_names_function_and_pattern(tmp_path):
    with pytest.raises(errors.ConfigError) as exc:
        package.resolve_includes([Include("missing/*.txt")], tmp_path, function="api")
    assert "'api'" in str(exc.value) and "missing/*.txt" in str(exc.value)


@pytest.mark.parametrize("name", ["/abs", "../up", "a\\b", "dir/"])
def test_bad_entry_names_are_refused(name):
    with pytest.raises(errors.UsageError):
        package.zip_bytes([package.ZipEntry(name, b"x", package.MODE_REGULAR)])
