"""Never lose or fake an artifact: concurrent builds, SIGKILL mid-packaging, `gbl zip`, merge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path


from gobuild_lambda import errors

from conftest import run_gbl


def check_invariants(dist: Path) -> None:
    """Every zip at a final path is complete; the manifest lists only zips that exist and match."""
    for z in dist.glob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            assert zf.testzip() is None
    manifest = dist / "manifest.json"
    if manifest.exists():
        doc = json.loads(manifest.read_text())  # never half-written
        import hashlib

        for name, entry in doc["functions"].items():
            data = (dist / entry["zip"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], name


def _gbl_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gobuild_lambda", "build", "-C", str(root), *args]


def test_two_builds_at_once_wait_on_the_lock(project):
    root = project("plan_cases")
    first = subprocess.Popen(_gbl_cmd(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the first holds the lock (it creates .gbl/lock), then start the second
    deadline = time.time() + 60
    while not (root / ".gbl" / "lock").exists() and time.time() < deadline:
        time.sleep(0.01)
    second = subprocess.Popen(_gbl_cmd(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    check_invariants(root / "dist")
    # the second one either waited (and said so) or started after the first had finished
    if "waiting" not in err2:
        assert "up to date" in out2


def test_sigkill_during_packaging_leaves_nothing_half_written(project):
    root = project("plan_cases")
    big = root / "assets" / "blob.bin"
    big.parent.mkdir()
    (root / "gbl.toml").write_text(
        '[defaults]\ninclude = ["assets/blob.bin"]\n'
    )
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    assert run_gbl("build", "-C", str(root)).returncode == 0  # binaries now up to date
    clean = {p.name: p.read_bytes() for p in (root / "dist").glob("*.zip")}

    killed_during = 0
    for i, delay in enumerate((0.4, 0.8, 1.2, 1.6, 2.0)):
        big.write_bytes(os.urandom(24 * 1024 * 1024))  # every zip must be re-written
        proc = subprocess.Popen(_gbl_cmd(root, "-j", "2"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            killed_during += 1
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # gbl and its packaging workers, no cleanup at all
        except ProcessLookupError:
            pass  # it had already finished
        proc.wait()
        check_invariants(root / "dist")
        leftovers = [p.name for p in (root / "dist").iterdir() if not p.name.endswith((".zip", ".json", ".tmp"))]
        assert leftovers == []
    assert killed_during >= 2  # the kills really landed mid-build
    # the next build cleans up temporaries and produces complete, current zips
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    check_invariants(root / "dist")
    assert not list((root / "dist").glob(".*.tmp"))
    after = {p.name: p.read_bytes() for p in (root / "dist").glob("*.zip")}
    assert sorted(after) == sorted(clean)
    with zipfile.ZipFile(root / "dist" / "alpha.zip") as zf:
        assert zf.read("assets/blob.bin") == big.read_bytes()  # current, not stale


def test_gbl_zip_packages_any_binary(tmp_path, sample_build):
    with zipfile.ZipFile(sample_build.out_dir / "api.zip") as zf:
        binary = tmp_path / "api-linux"
        binary.write_bytes(zf.read("bootstrap"))
    os.chmod(binary, 0o600)  # as a Windows checkout or a careless copy leaves it
    (tmp_path / "conf.json").write_text("{}")
    proc = run_gbl("zip", str(binary), "-o", str(tmp_path / "out.zip"), "--include", "conf.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.namelist() == ["bootstrap", "conf.json"]
        assert zf.getinfo("bootstrap").external_attr >> 16 == 0o100755
        assert zf.getinfo("conf.json").external_attr >> 16 == 0o100644
    # same bytes as gbl build's zip for the same binary
    proc = run_gbl("zip", str(binary), "-o", str(tmp_path / "plain.zip"), cwd=tmp_path)
    assert (tmp_path / "plain.zip").read_bytes() == (sample_build.out_dir / "api.zip").read_bytes()


def test_gbl_zip_refuses_a_non_linux_binary(tmp_path):
    script = tmp_path / "notes.txt"
    script.write_text("just text\n")
    proc = run_gbl("zip", str(script), "-o", str(tmp_path / "bad.zip"), cwd=tmp_path)
    assert proc.returncode == errors.EXIT_VERIFY_FAILED
    assert "bad.zip" in proc.stderr or "bad.zip" in proc.stdout


def test_gbl_zip_missing_binary(tmp_path):
    proc = run_gbl("zip", "nope", cwd=tmp_path)
    assert proc.returncode == errors.EXIT_USAGE
    assert "no such file" in proc.stderr
