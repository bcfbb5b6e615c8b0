"""The benchmark's peers: AWS SAM CLI's `sam build` and aws-lambda-go's build-lambda-zip.

Both are installed on demand into a bench-private tools directory (``--tools-dir``, default
``bench/.tools/``, git-ignored), never into gbl's own environment:

* ``sam-venv/``: a virtualenv holding ``aws-sam-cli`` from PyPI (``pip install``, once);
* ``gobin/``: ``build-lambda-zip`` from ``go install`` with ``GOBIN`` pointing there.

Installing is the only step that may use the network; it runs before anything is timed.  A peer
that cannot be installed is skipped, with pip's or go's own error in the report.

Also here: what each tool's output is (``outputs``), so the benchmark can check that a tool's
binaries change when a shared package changes, and that its zips are byte-identical when the same
tree is built at another path under another umask.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

SAM_CLI = "aws-sam-cli"  # the newest release pip resolves; its version is in the report
BLZ_MODULE = "github.com/aws/aws-lambda-go/cmd/build-lambda-zip"
BLZ_VERSION = "v1.55.1"
SAM_TOOLS = ("sam", "sam-par", "sam-cached")
SAM_FLAGS = {"sam": (), "sam-par": ("--parallel",), "sam-cached": ("--parallel", "--cached")}
PEER_TOOLS = ("blz",) + SAM_TOOLS
# gbl's own compiler flags (bench/run.py GO_FLAGS), as GOFLAGS: SAM's Go builder runs a plain
# `go build -o .../bootstrap` with GOOS/GOARCH set, so the environment is where flags can go.
# Go splits GOFLAGS like a shell (quotes allowed), so -ldflags keeps its two words.
SAM_GOFLAGS = "-trimpath -buildvcs=false -tags=lambda.norpc '-ldflags=-s -w'"

# Run by the SAM virtualenv's Python: `sam build` (flags from argv), then zip every function's
# build directory with SAM's own zipper (the one `sam package` / `sam deploy` use for a Lambda
# function's code) into dist-sam/<LogicalId>.zip: a zip per function is what every other tool's
# output is.
SAM_WRAPPER = r"""
import os, shutil, subprocess, sys
from pathlib import Path
from samcli.lib.package.utils import make_zip_with_lambda_permissions as make_zip
sam = str(Path(sys.executable).parent / "sam")
proc = subprocess.run([sam, "build", *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
if proc.returncode:
    sys.stderr.write(proc.stdout)
    sys.exit(proc.returncode)
shutil.rmtree("dist-sam", ignore_errors=True)
os.makedirs("dist-sam")
build = Path(".aws-sam") / "build"
for d in sorted(p for p in build.iterdir() if p.is_dir()):
    make_zip(str(Path("dist-sam") / d.name), str(d))
"""


def sam_python(tools: Path) -> Path:
    return tools / "sam-venv" / ("Scripts" if os.name == "nt" else "bin") / "python"


def ensure_sam(tools: Path) -> tuple[Path | None, str, str]:
    """(the SAM virtualenv's python, SAM's version, why SAM is unavailable): installs on demand."""
    py = sam_python(tools)
    if not _sam_works(py):
        tools.mkdir(parents=True, exist_ok=True)
        venv = tools / "sam-venv"
        steps = ([sys.executable, "-m", "venv", str(venv)],
                 [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", SAM_CLI])
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                return None, "", f"`{' '.join(cmd[-3:])}` failed ({proc.returncode}): {' / '.join(tail)}"
        if not _sam_works(py):
            return None, "", f"aws-sam-cli installed into {venv} but `sam --version` does not run"
    version = subprocess.run([str(py.parent / "sam"), "--version"], capture_output=True, text=True,
                             env={**os.environ, "SAM_CLI_TELEMETRY": "0"}).stdout.strip()
    return py, version, ""


def _sam_works(py: Path) -> bool:
    if not py.exists():
        return False
    proc = subprocess.run([str(py), "-c", "from samcli.lib.package.utils import make_zip_with_lambda_permissions"], capture_output=True)
    return proc.returncode == 0 and (py.parent / "sam").exists()


def ensure_blz(tools: Path, go: str, env: dict[str, str]) -> tuple[Path | None, str]:
    """(build-lambda-zip, why it is unavailable): ``go install`` into tools/gobin on demand."""
    gobin = tools / "gobin"
    exe = gobin / ("build-lambda-zip.exe" if os.name == "nt" else "build-lambda-zip")
    if exe.exists():
        return exe, ""
    gobin.mkdir(parents=True, exist_ok=True)
    install_env = {k: v for k, v in env.items() if k not in ("GOPROXY", "GOFLAGS")}
    proc = subprocess.run([go, "install", f"{BLZ_MODULE}@{BLZ_VERSION}"], capture_output=True, text=True,
                          env={**install_env, "GOBIN": str(gobin)})
    if proc.returncode or not exe.exists():
        tail = proc.stderr.strip().splitlines()[-2:]
        return None, f"`go install {BLZ_MODULE}@{BLZ_VERSION}` failed: {' / '.join(tail)}"
    return exe, ""


def sam_env(env: dict[str, str]) -> dict[str, str]:
    """The environment `sam build` runs in: gbl's flags through GOFLAGS, no cgo, no telemetry."""
    return {**env, "CGO_ENABLED": "0", "GOFLAGS": SAM_GOFLAGS, "SAM_CLI_TELEMETRY": "0"}


# ------------------------------------------------------------------------------- outputs
def zip_dir(tool: str, tree: Path) -> Path | None:
    """Where ``tool`` leaves its zips (None: the bare go build writes none)."""
    return {"gbl": tree / "dist", "legacy": tree / "dist-legacy", "zip9": tree / "dist-legacy",
            "perfn": tree / "dist-perfn", "blz": tree / "dist-blz", "sam": tree / "dist-sam",
            "sam-par": tree / "dist-sam", "sam-cached": tree / "dist-sam"}.get(tool)


def zip_bytes(tool: str, tree: Path) -> int:
    d = zip_dir(tool, tree)
    return sum(p.stat().st_size for p in d.glob("*.zip")) if d and d.is_dir() else 0


def zip_digests(tool: str, tree: Path) -> dict[str, str]:
    """{zip name: sha256 of the whole zip file}."""
    d = zip_dir(tool, tree)
    if d is None or not d.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.glob("*.zip"))}


def binary_digests(tool: str, tree: Path) -> dict[str, str]:
    """{function: sha256 of the binary each tool ships}: the bootstrap inside each zip, or the
    bare go build's executables.  Compares what Lambda would run, whatever the zip's metadata."""
    if tool == "go":
        d = tree / "dist-bare"
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())
                if p.is_file()} if d.is_dir() else {}
    d = zip_dir(tool, tree)
    out = {}
    for p in sorted(d.glob("*.zip")) if d and d.is_dir() else ():
        with zipfile.ZipFile(p) as zf:
            out[p.stem] = hashlib.sha256(zf.read("bootstrap")).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> int:
    """How many of ``before``'s entries have a different digest in ``after``."""
    return sum(1 for k, v in before.items() if after.get(k) not in (None, v))
