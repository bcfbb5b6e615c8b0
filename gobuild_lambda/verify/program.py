"""The checks on ``bootstrap`` and on what it runs: where it is, its mode, its format (ELF, #!
script), architecture, linking, Go build information, and for a script its interpreter and the
programs it ``exec``s (which get these checks again, under their own name).

Each check is a function of the ``Archive`` and the ``Want`` (the function's arch and runtime).
A program's checks come back with the ``Facts`` it showed (architecture, Go and aws-lambda-go
versions); the verdict takes them from the first program that shows them (``merge_facts``).
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from .. import elf
from ..lambda_facts import ARCHES, AWS_LAMBDA_GO_MIN_VERSION, BOOTSTRAP, lambda_go_too_old, semver
from ..planner import BASE_TAGS
from .model import (AWS_LAMBDA_GO, BINPRM_BUF_SIZE, ENV_SPLIT_RUNTIMES,
                    EXEC_FORMAT, FAIL, GLIBC_LOADERS, LAMBDA_ARCH_NAMES, LAMBDA_GOOS,
                    LAMBDA_TASK_ROOT, LAMBDA_UNZIP_ERROR, LAYER_ROOT, MAX_SCRIPT_CHAIN,
                    MUSL_LOADER_PREFIX, NO_BOOTSTRAP, NO_SUCH_FILE, PASS, PERMISSION_DENIED,
                    REPACKAGE, RUNTIME_GLIBC, SCRIPT_ENV, SCRIPT_SHELLS, TOO_MANY_LINKS, WARN,
                    Check, listing, mode_str, ok, q)
from .zipread import SYSTEM_NAMES, WINDOWS_SYSTEMS, Archive, Entry, resolve_link

_MAX_SCRIPT_SCAN = 64 * 1024  # bytes of a #! script searched for exec lines


@dataclass(frozen=True)
class Want:
    """What the zip must run on."""

    arch: str | None  # None: either of amd64 / arm64
    runtime: str


@dataclass(frozen=True)
class Facts:
    """What one program showed about itself."""

    arch: str | None = None  # amd64 | arm64, from its ELF machine
    go_version: str | None = None
    aws_lambda_go: str | None = None
    buildinfo: bool = False  # its Go build information was read (Go 1.18 or newer)


def merge_facts(facts: Iterable[Facts]) -> Facts:
    """The verdict's facts: the architecture of the first program that has one, the Go facts of
    the first whose build information was read (else the "older Go" marker of one that had it)."""
    facts = list(facts)
    arch = next((f.arch for f in facts if f.arch is not None), None)
    described = next((f for f in facts if f.buildinfo), None)
    if described is not None:
        return Facts(arch, described.go_version, described.aws_lambda_go, True)
    go = next((f.go_version for f in facts if f.go_version is not None), None)
    return Facts(arch, go, None, False)


Result = tuple[list[Check], list[Facts]]


def bootstrap_checks(z: Archive, want: Want) -> Result:
    """The checks on the zip's bootstrap and what it runs, with the facts each program showed."""
    entry = z.by_key.get(BOOTSTRAP)
    if entry is None:
        return [_missing(z)], []
    if entry.is_dir or z.has_inside(BOOTSTRAP):
        return [Check(
            "bootstrap-at-root", FAIL, "'bootstrap' at the root of the zip is a folder, not a file",
            NO_BOOTSTRAP, f"put the executable itself at the root, named bootstrap: {REPACKAGE}",
        )], []
    final, problem, chain = z.resolve(entry)
    if final is None:
        return [Check("bootstrap-at-root", FAIL, problem, NO_BOOTSTRAP,
                      "point the link at an executable in the zip, or put the executable "
                      f"itself at the root named bootstrap: {REPACKAGE}")], []
    if final.is_dir:
        return [Check("bootstrap-at-root", FAIL, f"bootstrap links to the folder {q(final.name)}",
                      NO_BOOTSTRAP, REPACKAGE)], []
    if final is entry:
        found = ok("bootstrap-at-root", f"{q(entry.name)} is at the root of the zip")
    else:
        found = ok("bootstrap-at-root", f"bootstrap is a link: {' -> '.join(chain)} "
                                        "(as aws-lambda-go's build-lambda-zip writes)")
    label = "bootstrap" if final is entry else f"bootstrap (-> {q(final.name)})"
    checks, facts = program_checks(z, final, label, 0, want)
    return [found, *checks], facts


def _missing(z: Archive) -> Check:
    nested = [e.name for e in z.entries
              if not e.is_dir and re.split(r"[/\\]", e.key)[-1] == BOOTSTRAP]
    if nested:
        folder = re.split(r"[/\\]", nested[0])[0]
        return Check(
            "bootstrap-at-root", FAIL,
            f"no bootstrap at the root of the zip; found {listing(nested)} in a folder",
            NO_BOOTSTRAP,
            f"zip it from inside that folder so that it lands at the root (`cd {folder}` first), "
            f"or: {REPACKAGE}",
        )
    similar = [e.name for e in z.entries if not e.is_dir and e.key.lower() in (
        "bootstrap", "bootstrap.exe", "bootstrap.sh") and e.key != BOOTSTRAP]
    runnable = [e.name for e in z.entries if "/" not in e.key and not e.is_dir
                and e.unix_mode is not None and e.unix_mode & 0o111]
    hint = ""
    if similar:
        hint = f"; found {listing(similar)}: the name must be exactly 'bootstrap'"
    elif runnable:
        hint = f"; found the executable {listing(runnable)}: the provided runtimes run only " \
               "one named bootstrap (the go1.x runtime's handler name no longer applies)"
    return Check(
        "bootstrap-at-root", FAIL, f"no file named bootstrap at the root of the zip{hint}",
        NO_BOOTSTRAP,
        "name the executable bootstrap and put it at the root: " + REPACKAGE,
    )


# --------------------------------------------------------------------------------------------------
# one program: bootstrap itself, or what a bootstrap script execs


def program_checks(z: Archive, entry: Entry, label: str, depth: int, want: Want) -> Result:
    out = [mode_check(entry, label, script=None)]
    content, problem = z.content(entry)
    if content is None:
        # zip-integrity / zip-compression / zip-bomb already failed for this entry.
        out.append(Check("bootstrap-format", FAIL, f"{label}: not checked, the zip entry "
                         f"cannot be read ({problem})",
                         LAMBDA_UNZIP_ERROR, REPACKAGE))
        return out, []
    kind = elf.identify(content)
    if kind.kind == "script":
        out[0] = mode_check(entry, label, script=True)
        out.append(ok("bootstrap-format", f"{label} is {kind.description}"))
        checks, facts = script_checks(z, entry, content, label, depth, want)
        return out + checks, facts
    checks, facts = binary_checks(content, kind, label, want)
    return out + checks, [facts]


def mode_check(entry: Entry, label: str, script: bool | None) -> Check:
    mode = entry.unix_mode
    if mode is None:
        system = SYSTEM_NAMES.get(entry.create_system, f"system {entry.create_system}")
        windows = (", as Windows' Compress-Archive and Send to > Compressed folder make them"
                   if entry.create_system in WINDOWS_SYSTEMS else "")
        return Check(
            "bootstrap-executable", FAIL,
            f"{label}: the zip stores no Unix permissions for it (made by {system}{windows}), "
            "so it is unpacked without the execute bit",
            PERMISSION_DENIED, REPACKAGE,
        )
    perms = mode_str(mode)
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return Check("bootstrap-executable", FAIL,
                     f"{label}: not a regular file (mode {mode:06o})", PERMISSION_DENIED, REPACKAGE)
    if not mode & 0o111:
        return Check(
            "bootstrap-executable", FAIL, f"{label}: mode {perms}, not executable",
            PERMISSION_DENIED,
            f"`chmod 755` it before zipping, or {REPACKAGE}",
        )
    need = 0o005 if script else 0o001
    if mode & need != need:
        what = "read and execute" if script else "execute"
        return Check(
            "bootstrap-executable", FAIL,
            f"{label}: mode {perms}: other users cannot {what} it, and Lambda runs the function "
            "as a user that does not own the file",
            PERMISSION_DENIED, f"`chmod 755` it before zipping, or {REPACKAGE}",
        )
    return ok("bootstrap-executable", f"{label}: mode {perms}")


def binary_checks(content: bytes, kind: elf.FileKind, label: str, want: Want) -> tuple[list[Check], Facts]:
    arch_hint = want.arch or (kind.goarch if kind.goarch in ARCHES else ARCHES[0])
    build_fix = (f"build for Lambda: GOOS={LAMBDA_GOOS} GOARCH={arch_hint} CGO_ENABLED=0 go build "
                 f"(`gbl build` does this)")
    out: list[Check] = []
    info = None
    if kind.kind == "elf":
        try:
            info = elf.parse_elf(content)
        except elf.ElfError as exc:
            out.append(Check("bootstrap-format", FAIL, f"{label}: a malformed ELF file ({exc.message})",
                             EXEC_FORMAT, build_fix))
    elif kind.kind in ("macho", "macho-fat"):
        out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}: built for macOS",
                         EXEC_FORMAT, build_fix))
    elif kind.kind == "pe":
        out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}: built for "
                         "Windows", EXEC_FORMAT, build_fix))
    elif kind.kind == "empty":
        out.append(Check("bootstrap-format", FAIL, f"{label} is empty (0 bytes)", EXEC_FORMAT,
                         build_fix))
    else:
        fix = build_fix + ", or make it a #! script"
        if content.startswith(elf.UTF8_BOM):
            fix = "save the script as UTF-8 without a byte-order mark, so it starts with #!"
        out.append(Check("bootstrap-format", FAIL, f"{label} is {kind.description}, not a "
                         "program Lambda can run", EXEC_FORMAT, fix))
    arch = None
    if info is not None:
        checks, arch = elf_checks(info, label, build_fix, want)
        out.extend(checks)
    go_checks, facts = go_program_checks(content, label, arch_hint)
    out.extend(go_checks)
    return out, Facts(arch, facts.go_version, facts.aws_lambda_go, facts.buildinfo)


def elf_checks(info: elf.ElfInfo, label: str, build_fix: str, want: Want) -> tuple[list[Check], str | None]:
    """The format, architecture and linking checks, and the Lambda architecture it is, if any."""
    desc = info.describe()
    if info.bits != 64 or not info.little_endian:
        return [Check("bootstrap-format", FAIL,
                      f"{label} is {desc}: Lambda runs only 64-bit little-endian programs "
                      "(x86_64 or arm64)", EXEC_FORMAT, build_fix)], None
    if info.type not in (elf.ET_EXEC, elf.ET_DYN) or (info.type == elf.ET_DYN and info.entry == 0):
        return [Check("bootstrap-format", FAIL, f"{label} is {desc}, not a program",
                      EXEC_FORMAT, build_fix)], None
    out = [ok("bootstrap-format", f"{label} is {desc}"), arch_check(info, label, want.arch),
           linking_check(info, label, want.runtime)]
    return out, info.goarch if info.goarch in ARCHES else None


def arch_check(info: elf.ElfInfo, label: str, want: str | None) -> Check:
    found = info.goarch
    wanted = (want,) if want else ARCHES
    if found in wanted:
        lam = LAMBDA_ARCH_NAMES[found]
        if want:
            return ok("bootstrap-arch", f"{label} is {info.machine_name} ({found}), the "
                                        f"function's architecture ({lam})")
        return ok("bootstrap-arch", f"{label} is {info.machine_name} ({found}): deploy it with "
                                    f"architecture {lam}")
    if found in ARCHES:  # the other Lambda architecture
        lam_want = LAMBDA_ARCH_NAMES[want]
        return Check(
            "bootstrap-arch", FAIL,
            f"{label} is {info.machine_name} ({found}), but the function is "
            f"{lam_want}{'' if lam_want == want else f' ({want})'}",
            EXEC_FORMAT,
            f"build with GOARCH={want} (`gbl build --arch {want}`), or deploy the "
            f"function with architecture {LAMBDA_ARCH_NAMES[found]}",
        )
    return Check(
        "bootstrap-arch", FAIL,
        f"{label} is {info.machine_name} ({found or 'not a Go architecture'}): Lambda runs only "
        "x86_64 (amd64) and arm64",
        EXEC_FORMAT,
        f"build with GOOS={LAMBDA_GOOS} GOARCH={want or ' or GOARCH='.join(ARCHES)}: "
        "`gbl build`",
    )


def linking_check(info: elf.ElfInfo, label: str, runtime: str) -> Check:
    if not info.dynamic:
        return ok("bootstrap-linking", f"{label} is statically linked (no program interpreter)")
    interp = info.interpreter or ""
    have = RUNTIME_GLIBC[runtime]
    have_str = ".".join(map(str, have))
    static_fix = "build with CGO_ENABLED=0 for a static binary (`gbl build` does)"
    if interp.startswith(MUSL_LOADER_PREFIX):
        return Check(
            "bootstrap-linking", FAIL,
            f"{label} is linked against musl ({interp}); {runtime} has only glibc",
            NO_SUCH_FILE, static_fix + ", or link it with glibc",
        )
    needed = info.max_glibc
    need = elf.glibc_version_tuple(needed) if needed else None
    libs = ", ".join(info.needed) or "no libraries"
    if need is not None and need > have:
        other = ""
        newest = max(RUNTIME_GLIBC, key=RUNTIME_GLIBC.__getitem__)
        if runtime != newest and need <= RUNTIME_GLIBC[newest]:
            other = f", or deploy on {newest} (glibc {'.'.join(map(str, RUNTIME_GLIBC[newest]))})"
        return Check(
            "bootstrap-linking", FAIL,
            f"{label} is dynamically linked and needs {needed}; {runtime} has glibc "
            f"{have_str}",
            f"Runtime.ExitError: /var/task/bootstrap: /lib64/libc.so.6: version `{needed}' not "
            "found (required by /var/task/bootstrap)",
            f"{static_fix}; if it needs cgo, build it against glibc {have_str} or older (e.g. in "
            f"the runtime's build image: gbl's docker builder){other}",
        )
    expected = GLIBC_LOADERS.get(info.goarch or "")
    if interp == expected and not info.needed:
        return ok("bootstrap-linking", f"{label} is a position-independent executable that "
                                       f"needs only the dynamic loader {interp}, no libraries")
    if expected and interp != expected:
        return Check(
            "bootstrap-linking", WARN,
            f"{label} is dynamically linked with the program interpreter {interp}, not the "
            f"standard {expected}",
            f"if {interp} does not exist on {runtime}: {NO_SUCH_FILE}",
            static_fix + ", or link it with the standard loader",
        )
    return Check(
        "bootstrap-linking", WARN,
        f"{label} is dynamically linked (needs {libs}; {needed or 'no versioned glibc symbols'}, "
        f"{runtime} has glibc {have_str}): it runs only if every library it needs is there",
        "Runtime.ExitError (error while loading shared libraries) if a library is missing",
        f"{static_fix}, unless it needs cgo; then check its libraries exist on {runtime} "
        "or ship them in the zip or a layer",
    )


# --------------------------------------------------------------------------------------------------
# Go build information


def go_program_checks(content: bytes, label: str, arch_hint: str) -> tuple[list[Check], Facts]:
    info = elf.read_buildinfo(content)
    if info is None:
        return [], Facts()
    if info.go_version == elf.UNKNOWN_GO_VERSION:
        return [Check(
            "go-buildinfo", WARN,
            f"{label} was built by a Go older than 1.18: gbl cannot read its build settings or "
            "module versions",
            "if it uses aws-lambda-go older than v1.18.0, every invoke times out",
            "rebuild it with a current Go: `gbl build`",
        )], Facts(go_version=info.go_version)
    out = []
    aws = info.dep_version(AWS_LAMBDA_GO)
    facts = Facts(go_version=info.go_version, aws_lambda_go=aws, buildinfo=True)
    goos = info.setting("GOOS")
    if goos is not None:
        if goos != LAMBDA_GOOS:
            out.append(Check(
                "go-goos", FAIL, f"{label} is a Go program built with GOOS={goos}",
                EXEC_FORMAT,
                f"build with GOOS={LAMBDA_GOOS} GOARCH={arch_hint}: `gbl build`",
            ))
        else:
            out.append(ok("go-goos", f"{label} was built with GOOS={goos} ({info.go_version})"))
    cgo = info.setting("CGO_ENABLED")
    if cgo == "1":
        out.append(Check(
            "go-cgo", WARN, f"{label} was built with CGO_ENABLED=1",
            "if a C library it links is missing on the runtime: Runtime.ExitError",
            "build with CGO_ENABLED=0 (`gbl build` does) unless the function needs cgo",
        ))
    elif cgo is not None:
        out.append(ok("go-cgo", f"{label} was built with CGO_ENABLED={cgo}"))
    if aws is None:
        return out, facts
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
        out.append(ok("go-tags", f"{label} was built with -tags {','.join(info.tags)}"))
    out.append(aws_lambda_go_check(aws, label))
    return out, facts


def aws_lambda_go_check(version: str, label: str) -> Check:
    minimum = AWS_LAMBDA_GO_MIN_VERSION
    if semver(version) is None:
        what = "a local directory" if not version else f"version {q(version)}"
        return Check(
            "go-aws-lambda-go", WARN,
            f"{label} uses {AWS_LAMBDA_GO} from {what}: gbl cannot tell whether it is "
            f"{minimum} or newer",
            f"if it is older than {minimum}: every invoke times out (it waits for the go1.x "
            "runtime's RPC calls)",
            f"make sure it is {minimum} or newer",
        )
    if lambda_go_too_old(version):  # a pre-release of the minimum is older than it
        return Check(
            "go-aws-lambda-go", FAIL,
            f"{label} uses {AWS_LAMBDA_GO} {version}, older than {minimum}: it only speaks the "
            "retired go1.x runtime's RPC protocol, not the Runtime API of the provided runtimes",
            "the function never asks the Runtime API for an event: init hangs and every invoke "
            "times out (Task timed out after N seconds)",
            f"go get {AWS_LAMBDA_GO}@latest && go mod tidy, then rebuild (`gbl build`)",
        )
    return ok("go-aws-lambda-go", f"{label} uses {AWS_LAMBDA_GO} {version}")


# --------------------------------------------------------------------------------------------------
# #! scripts


class Shebang(NamedTuple):
    """A #! line as Linux reads it (fs/binfmt_script.c)."""

    interpreter: str  # "" when the kernel finds none
    arg: str | None  # everything after it, as ONE argument (None: no argument)
    problem: str  # why the kernel refuses the line (ENOEXEC), or ""


def parse_shebang(content: bytes) -> Shebang:
    """The interpreter and argument Linux takes from a #! line.

    The kernel reads the first BINPRM_BUF_SIZE bytes; the line ends at a newline, the interpreter
    at a space, tab or NUL (so ``#!/bin/sh\\0junk`` runs /bin/sh), and the rest of the line, its
    ends trimmed of spaces and tabs, is one argument (up to a NUL).  Without a newline in the
    buffer the interpreter must end before the buffer does, or the kernel refuses the file.
    """
    buf = bytes(content[:BINPRM_BUF_SIZE]).ljust(BINPRM_BUF_SIZE, b"\0")
    buf_end = BINPRM_BUF_SIZE - 1
    end = buf.find(b"\n")
    if 0 <= buf.find(b"\0") < end:
        end = -1  # the kernel's strnchr stops at a NUL: no newline found
    if end < 0:
        start = _skip_blanks(buf, 2, buf_end)
        if start is None or _terminator(buf, start, buf_end) is None:
            return Shebang("", None, "the #! line does not end within the first "
                                     f"{BINPRM_BUF_SIZE} bytes: the interpreter's name is cut short")
        end = buf_end
    while end > 2 and buf[end - 1] in b" \t":
        end -= 1
    name = _skip_blanks(buf, 2, end)
    if name is None or name == end:
        return Shebang("", None, "the #! line names no interpreter")
    sep = _terminator(buf, name, end)
    interp = buf[name:end if sep is None else sep]
    arg = None
    if sep is not None and buf[sep] != 0:
        at = _skip_blanks(buf, sep, end)
        if at is not None:
            arg = buf[at:end].split(b"\0", 1)[0].decode("utf-8", "replace")
    return Shebang(interp.decode("utf-8", "replace"), arg, "")


def _skip_blanks(buf: bytes, start: int, end: int) -> int | None:
    return next((i for i in range(start, end) if buf[i] not in b" \t"), None)


def _terminator(buf: bytes, start: int, end: int) -> int | None:
    return next((i for i in range(start, end) if buf[i] in b" \t\0"), None)


def script_checks(z: Archive, entry: Entry, content: bytes, label: str, depth: int,
                  want: Want) -> Result:
    out = []
    first = content.split(b"\n", 1)[0]
    if b"\r\n" in content[:_MAX_SCRIPT_SCAN] or first.endswith(b"\r"):
        out.append(Check(
            "script-line-endings", FAIL,
            f"{label} has Windows (CRLF) line endings: the kernel looks for the interpreter "
            f"{q(first[2:].strip().decode('utf-8', 'replace'))} with a trailing carriage return",
            NO_SUCH_FILE,
            "convert it to LF line endings (`dos2unix bootstrap`; in git: `bootstrap text eol=lf` "
            "in .gitattributes)",
        ))
    else:
        out.append(ok("script-line-endings", f"{label} has LF line endings"))
    out.append(interpreter_check(z, content, label, want.runtime, (entry.index,)))
    facts: list[Facts] = []
    if depth == 0:
        checks, facts = exec_target_checks(z, content, label, depth, want)
        out.extend(checks)
    return out, facts


def interpreter_check(z: Archive, content: bytes, label: str, runtime: str,
                      chain: tuple[int, ...]) -> Check:
    """The script's interpreter exists on the runtime; ``chain``: the scripts exec'd so far."""
    line = parse_shebang(content)
    fix = "start it with #!/bin/sh or #!/bin/bash"
    if line.problem:
        return Check("script-interpreter", FAIL, f"{label}: {line.problem}", EXEC_FORMAT, fix)
    # A carriage return ends the name on Windows only: script-line-endings reports it.
    interp = line.interpreter.rstrip("\r")
    arg = line.arg.rstrip("\r") if line.arg is not None else None
    if interp in SCRIPT_SHELLS:
        return ok("script-interpreter", f"{label} runs with {interp}")
    if interp == SCRIPT_ENV:
        return _env_check(arg, label, runtime, fix)
    if interp.startswith(LAMBDA_TASK_ROOT + "/"):
        return _zip_interpreter(z, interp, label, runtime, chain, fix)
    if interp.startswith(LAYER_ROOT + "/"):
        return Check(
            "script-interpreter", WARN, f"{label} runs with {interp}, which a layer must provide",
            f"without that layer: {NO_SUCH_FILE}", f"attach the layer, or {fix}",
        )
    if interp.startswith("/"):
        return Check(
            "script-interpreter", FAIL,
            f"{label} runs with {interp}, which gbl does not know on the provided runtimes "
            "(they have /bin/sh, /bin/bash and /usr/bin/env)",
            f"if {interp} is missing: {NO_SUCH_FILE}", fix,
        )
    return Check("script-interpreter", FAIL,
                 f"{label}: the #! line names {q(interp or 'nothing')}, not an absolute path",
                 NO_SUCH_FILE, fix)


def _env_check(arg: str | None, label: str, runtime: str, fix: str) -> Check:
    """``#!/usr/bin/env ARG``: the kernel passes ARG to env as one argument."""
    words = (arg or "").split()
    split = bool(words) and (words[0].startswith("-S") or words[0].startswith("--split-string"))
    if split and runtime not in ENV_SPLIT_RUNTIMES:
        return Check(
            "script-interpreter", FAIL,
            f"{label} starts with #!/usr/bin/env {arg}: env -S came with GNU coreutils 8.30, and "
            f"{runtime}'s env (coreutils 8.22) does not have it",
            "Runtime.ExitError: env: invalid option -- 'S'",
            f"name the interpreter directly (#!/bin/bash -e), or deploy on {ENV_SPLIT_RUNTIMES[0]}",
        )
    if not split and len(words) > 1:
        return Check(
            "script-interpreter", FAIL,
            f"{label} starts with #!/usr/bin/env {arg}: Linux passes {q(arg)} to env as one "
            "argument, so env looks for a program of that name",
            f"Runtime.ExitError: env: {q(arg)}: No such file or directory",
            "name only the program after env (#!/usr/bin/env bash) and set options inside the "
            f"script, name the interpreter directly (#!/bin/bash -e), or use env -S on "
            f"{ENV_SPLIT_RUNTIMES[0]}",
        )
    if split:
        words[0] = words[0][2:] if words[0].startswith("-S") else words[0].partition("=")[2]
    prog = [w for w in words if w and not w.startswith("-") and "=" not in w][:1]
    if not prog:
        return Check("script-interpreter", FAIL, f"{label}: '#!/usr/bin/env' names no program",
                     "Runtime.ExitError: env prints its usage and exits", fix)
    name = prog[0]
    if name in ("sh", "bash"):
        return ok("script-interpreter", f"{label} runs with {name} (via /usr/bin/env)")
    return Check(
        "script-interpreter", WARN,
        f"{label} runs {q(name)} from PATH (#!/usr/bin/env {arg}); the provided runtimes "
        "have sh and bash, other interpreters only if a layer or the zip brings them",
        f"if {name} is not on PATH: Runtime.ExitError (env: '{name}': No such file or "
        "directory)",
        f"make sure a layer provides {name}, or {fix}",
    )


def _zip_interpreter(z: Archive, interp: str, label: str, runtime: str, chain: tuple[int, ...],
                     fix: str) -> Check:
    """An interpreter in the zip, as Linux execs it: a file every user may execute; when it is
    a #! script too, its own interpreter in turn, at most MAX_SCRIPT_CHAIN scripts in all."""
    key, outside = resolve_link("", interp)  # as Linux resolves it: /var/task/../task/x is x
    if outside:
        return Check("script-interpreter", FAIL, f"{label} runs with {interp}, which is outside "
                     "the zip, and gbl does not know it on the provided runtimes",
                     f"if {interp} is missing: {NO_SUCH_FILE}", fix)
    entry = z.by_key.get(key)
    final, problem = (z.resolve(entry)[:2]) if entry is not None else (None, "")
    if final is not None and (final.is_dir or z.has_inside(final.key)) or (
            entry is None and z.has_inside(key)):
        return Check("script-interpreter", FAIL, f"{label} runs with {interp}, which is a folder",
                     PERMISSION_DENIED, f"name a program in the zip, or {fix}")
    if final is None:
        return Check("script-interpreter", FAIL,
                     f"{label} runs with {interp}, " + (f"but {problem}" if problem else
                                                         "which is not in the zip"),
                     NO_SUCH_FILE, f"add {key} to the zip, or {fix}")
    mode = final.unix_mode
    if mode is None or not mode & 0o001:
        perms = "no Unix mode" if mode is None else f"mode {mode_str(mode)}"
        return Check("script-interpreter", FAIL,
                     f"{label} runs with {interp} ({perms}), which other users cannot execute, "
                     "and Lambda runs the function as a user that does not own the file",
                     PERMISSION_DENIED, f"`chmod 755` {key} before zipping, or {fix}")
    content, _problem = z.content(final)
    if content is not None and content.startswith(elf.SHEBANG):
        if final.index in chain or len(chain) + 1 > MAX_SCRIPT_CHAIN:
            loop = ("is this script itself: Linux runs it with itself until it gives up"
                    if final.index == chain[-1] else
                    "makes a chain of #! scripts that loops or is longer than Linux follows "
                    f"({MAX_SCRIPT_CHAIN} scripts before a program)")
            return Check("script-interpreter", FAIL,
                         f"{label} runs with {interp}, which {loop}", TOO_MANY_LINKS,
                         f"make the interpreter a program, not a script that runs itself: {fix}")
        inner = interpreter_check(z, content, f"{q(final.name)} (the interpreter of {label})",
                                  runtime, chain + (final.index,))
        if inner.status != PASS:
            return inner
    return ok("script-interpreter", f"{label} runs with {interp}, which is in the zip")


def exec_target_checks(z: Archive, content: bytes, label: str, depth: int, want: Want) -> Result:
    text = content[:_MAX_SCRIPT_SCAN].decode("utf-8", "replace")
    out: list[Check] = []
    facts: list[Facts] = []
    seen = set()
    for line in text.splitlines():
        target = exec_target(line)
        if target is None or target in seen:
            continue
        seen.add(target)
        if "/" not in target:
            continue  # looked up on PATH
        # Absolute, or relative to the working directory /var/task; resolved as Linux does.
        key, outside = resolve_link("", target)
        if outside:
            continue  # the runtime's own program or a layer's: not in the zip to check
        entry = z.by_key.get(key)
        if entry is None:
            out.append(Check(
                "script-exec-target", FAIL,
                f"{label} runs `exec {target}`, but {q(key)} is not in the zip",
                f"Runtime.ExitError: bootstrap: exec: {target}: not found",
                f"add {key} to the zip (gbl.toml: include = [{{ path = \"{key}\", "
                "executable = true }]) or fix the exec line",
            ))
            continue
        final, problem, _chain = z.resolve(entry)
        if final is None or final.is_dir:
            out.append(Check("script-exec-target", FAIL,
                             f"{label} runs `exec {target}`: {problem or 'it is a folder'}",
                             f"Runtime.ExitError: bootstrap: exec: {target}: not found",
                             "point the exec line at an executable file in the zip"))
            continue
        out.append(ok("script-exec-target", f"{label} runs `exec {target}`, which is in the zip"))
        checks, program_facts = program_checks(z, final, f"{q(final.name)} (run by bootstrap)",
                                               depth + 1, want)
        out.extend(checks)
        facts.extend(program_facts)
    return out, facts


_EXEC_LINE = re.compile(r"^\s*exec\s+(.*)$")


def exec_target(line: str) -> str | None:
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
