"""Every value AWS Lambda or Go defines that gbl relies on, once, with where it comes from.

Other modules import these; none restates them.  Values that only one check needs and that
Linux, not Lambda, defines (the glibc loaders, binfmt_script limits, ELF machine numbers) stay
beside that check (verify/model.py, elf.py).
"""

from __future__ import annotations

import re

# --- architectures --------------------------------------------------------------------------------
# Lambda's two instruction set architectures, as GOARCH values (Lambda docs, "Lambda instruction
# set architectures": x86_64 and arm64).  The first is Lambda's default.
ARCHES = ("amd64", "arm64")
DEFAULT_ARCH = "amd64"
# GOARCH -> Lambda's spelling (the Architectures parameter of CreateFunction / UpdateFunctionCode).
LAMBDA_ARCH = {"amd64": "x86_64", "arm64": "arm64"}
# Lambda's spelling -> GOARCH (templates name Lambda's; Go builds with GOARCH).  Deployment files
# (Architectures, architecture, architectures) are read with this map: Lambda knows no "amd64".
GOARCH_OF_LAMBDA = {lam: goarch for goarch, lam in LAMBDA_ARCH.items()}
# What a person may write for an architecture, --arch and gbl.toml's `arch` alike: Go's spelling or
# Lambda's -> GOARCH (x86_64 -> amd64).  ARCH_SPELLINGS says so in messages.
ARCH_ALIASES = {**{goarch: goarch for goarch in ARCHES}, **GOARCH_OF_LAMBDA}
ARCH_SPELLINGS = "amd64 or arm64 (or Lambda's x86_64, for amd64)"

# --- runtimes -------------------------------------------------------------------------------------
# The OS-only runtimes a Go function runs on (Lambda docs, "Lambda runtimes"; "Building Lambda
# functions with Go": provided.al2023 is the recommended one).  go1.x was retired on 2024-01-08.
RUNTIMES = ("provided.al2023", "provided.al2")
DEFAULT_RUNTIME = "provided.al2023"
GO1X = "go1.x"
# glibc of each runtime's OS: Amazon Linux 2 ships glibc 2.26, Amazon Linux 2023 glibc 2.34.
RUNTIME_GLIBC = {"provided.al2": (2, 26), "provided.al2023": (2, 34)}

# --- the zip on Lambda ----------------------------------------------------------------------------
# The executable an OS-only runtime runs (Lambda docs, "Building a custom runtime": an executable
# file named bootstrap at the root of the package), and where Lambda unpacks the zip (the
# LAMBDA_TASK_ROOT environment variable; also the working directory bootstrap starts in).
BOOTSTRAP = "bootstrap"
TASK_ROOT = "/var/task"
# Lambda quotas (docs, "Lambda quotas": "50 MB (zipped, when uploading through the Lambda API or
# SDKs)", 250 MB unzipped).  verify warns past the larger reading of "50 MB" (MiB); deploy sends
# zips past the smaller one (10^6) through S3, so it never depends on which one Lambda means.  The
# unzipped limit in bytes is the one Lambda's error message quotes.
ZIPPED_UPLOAD_LIMIT = 50 * 1024 * 1024
DIRECT_UPLOAD_LIMIT = 50_000_000
UNZIPPED_LIMIT = 262_144_000
# Function configuration ranges (Lambda docs, "Configuring Lambda function memory" and "timeout"):
# memory 128 to 10,240 MB, timeout 1 to 900 seconds.
MEMORY_MB = (128, 10240)
TIMEOUT_S = (1, 900)

# --- Go -------------------------------------------------------------------------------------------
# A Lambda binary is built for Linux, statically (cgo off): it then runs on every provided runtime.
GOOS = "linux"
CGO_ENABLED = "0"
# aws-lambda-go compiles its go1.x net/rpc code path only without this tag (lambda/rpc_function.go:
# `//go:build !lambda.norpc`); the provided runtimes never use it.
NORPC_TAG = "lambda.norpc"
# aws-lambda-go speaks the Runtime API of the provided runtimes from v1.18.0 on (its CHANGELOG /
# release v1.18.0); before that, lambda.Start only serves go1.x's RPC on $_LAMBDA_SERVER_PORT, so
# the function hangs at init and every invoke times out.
AWS_LAMBDA_GO = "github.com/aws/aws-lambda-go"
AWS_LAMBDA_GO_MIN = (1, 18, 0)
AWS_LAMBDA_GO_MIN_VERSION = "v" + ".".join(map(str, AWS_LAMBDA_GO_MIN))

# --- gbl's own defaults ---------------------------------------------------------------------------
# Where `gbl build` writes the zips and manifest.json, relative to the project directory.
DEFAULT_OUT_DIR = "dist"

_SEMVER = re.compile(r"v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\Z")


def semver(version: str) -> tuple[int, int, int, int] | None:
    """``v1.18.0`` -> (1, 18, 0, 1); a pre-release (or pseudo-version) ``v1.18.0-...`` -> (1, 18, 0, 0).
    None when it is not a semantic version (``(devel)``, a local directory's empty version)."""
    m = _SEMVER.match(version or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if m.group(4) else 1


def lambda_go_too_old(version: str) -> bool:
    """Is this aws-lambda-go version older than v1.18.0?  Pre-releases and pseudo-versions sort as
    Go sorts them (a pre-release of v1.18.0 is older).  False when it is not a version at all
    (``semver`` is None: the caller says it cannot tell)."""
    parsed = semver(version)
    return parsed is not None and parsed < AWS_LAMBDA_GO_MIN + (1,)


def lambda_go_requirement(go_mod_text: str) -> tuple[str, int] | None:
    """(version, 1-based line) of aws-lambda-go in go.mod's text: its require line, or the version
    a replace directive swaps in (Go builds with that one).  None when go.mod does not require it.
    The one reading of it: `gbl build` refuses, `gbl migrate` warns."""
    required: tuple[str, int] | None = None
    replaced: tuple[str, int] | None = None
    block = None
    for number, raw in enumerate(go_mod_text.splitlines(), 1):
        words = raw.split("//", 1)[0].split()
        if not words:
            continue
        if block is not None:
            if words == [")"]:
                block = None
                continue
            verb = block
        else:
            if words[0] not in ("require", "replace"):
                continue
            verb, words = words[0], words[1:]
            if words == ["("]:
                block = verb
                continue
        if verb == "require" and len(words) >= 2 and words[0] == AWS_LAMBDA_GO:
            required = (words[1], number)
        elif verb == "replace":
            replaced = _replacement(words, number) or replaced
    if required is None:
        return None
    return replaced or required


def _replacement(words: list[str], number: int) -> tuple[str, int] | None:
    # replace github.com/aws/aws-lambda-go [vX] => other/module vY   (a local path has no version)
    if not words or words[0] != AWS_LAMBDA_GO or "=>" not in words:
        return None
    right = words[words.index("=>") + 1:]
    if len(right) == 2 and right[1].startswith("v"):
        return (right[1], number)
    return None
