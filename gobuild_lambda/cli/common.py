"""What every command shares: the ``gbl`` app and its root options, the common flags (``-C``,
``--json``, ``--arch``), the consoles and the ``--json`` document of a command.

Part of the CLI (only ``gobuild_lambda.cli`` and ``cliout`` print).  Each command module registers
its commands on ``app``; ``cli/__init__.py`` imports them all and runs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from .. import errors
from ..lambda_facts import ARCH_ALIASES, ARCH_SPELLINGS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _chdir(value: Optional[Path]) -> Path:
    """``-C DIR``: change to DIR first, as ``go -C`` does, so every relative path on the command
    line (``--out``, ``--event``, templates, zips, BINARY, ``--include``) is relative to DIR.
    ``main()`` changes back when the command ends."""
    if value is None or str(value) in ("", "."):
        return Path.cwd()
    try:
        os.chdir(value)
    except OSError as exc:
        raise errors.UsageError(
            f"-C {value}: cannot change to that directory: {exc.strerror or exc}", where=str(value),
            hint="pass an existing directory (the project: it holds go.mod, go.work, gbl.toml or template.yaml)",
        ) from None
    return Path.cwd()


ProjectOpt = typer.Option(Path("."), "-C", "--project", callback=_chdir, is_eager=True, metavar="DIR",
                          help="Change to DIR first, as go -C does: the project directory (holding go.mod, "
                          "go.work or template.yaml, else the nearest module or workspace above), and what "
                          "relative paths on the command line are relative to.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
_ARCHES = "amd64 (= x86_64) or arm64"


def arch_opt(what: str):
    """``--arch``: Go's spelling (amd64, arm64) or Lambda's (x86_64, arm64); ``what`` says what it
    does for that command."""
    return typer.Option(None, "--arch", metavar="ARCH", help=f"{what}: {_ARCHES}.")


ArchOpt = arch_opt("Build every function for this arch, whatever gbl.toml says")


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"gbl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print gbl's version and exit."),
    project: Path = typer.Option(Path("."), "-C", "--project", callback=_chdir, metavar="DIR",
                                 help="Change to DIR before running the command, as go -C does "
                                 "(`gbl -C DIR build` is `gbl build -C DIR`)."),
) -> None:
    """Build Go ./cmd/* functions into verified, deterministic AWS Lambda zips."""


def err_console():
    from ..cliout import stderr_console

    return stderr_console()


def out_console(table: bool = False):
    from ..cliout import stdout_console

    return stdout_console(table=table)


def emit(command: str, body: dict) -> None:
    """Print a command's --json document (one object, with version and command)."""
    from ..cliout import document, print_json

    print_json(document(command, body))


def fail_with(exc: errors.GblError, body: dict) -> errors.GblError:
    """``exc``, carrying what the command knew: with --json, main() prints it with the error."""
    exc.json_body = body
    return exc


def check_arch(arch: Optional[str]) -> Optional[str]:
    """``--arch`` as GOARCH: Go's spelling or Lambda's (lambda_facts.ARCH_ALIASES, as gbl.toml)."""
    if arch is None:
        return None
    if arch not in ARCH_ALIASES:
        raise errors.UsageError(f"--arch must be {ARCH_SPELLINGS}, got {arch!r}",
                                hint="Go says amd64 where Lambda says x86_64; arm64 is Graviton")
    return ARCH_ALIASES[arch]


def escape(text: str) -> str:
    """``text`` as literal text in a rich console (a path may hold ``[/x]``)."""
    from rich.markup import escape as _escape

    return _escape(text)


def size_text(n: int) -> str:
    from ..cliout import size_text as _size_text

    return _size_text(n)


def print_build_report(report, as_json: bool, wall_s: float | None = None, exc=None) -> None:
    """The build's result: a table and a summary line, or its --json document (on failure, the
    document rides on ``exc`` for main() to print with the error)."""
    from ..cliout import print_report, report_json

    if as_json:
        body = report_json(report, wall_s)
        if exc is not None:
            fail_with(exc, body)
        else:
            emit("build", body)
        return
    print_report(report, wall_s)
