"""The ``gbl`` command: parse, call the library, render.  The only package that prints or exits.

Results go to stdout (a table, or JSON with ``--json``); progress, warnings and errors go to
stderr.  ``main()`` is the one place where ``GblError`` subclasses (and the argument parser's own
errors) become messages and exit codes (docs/exit-codes.md).

One module per group of commands, each registering on ``common.app``: ``build`` (plan, build,
verify, zip, manifest merge, docker stop), ``project`` (migrate, init), ``invoke`` (invoke,
watch), ``deploy`` (diff, deploy).  ``common`` holds what they share.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from .. import errors
# each registers its commands on app, in the order `gbl --help` lists them
from . import build, project, invoke, deploy  # noqa: F401, I001
from .common import app, err_console

__all__ = ["app", "main"]


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point: run the app and map every expected error to its exit code.

    The app runs outside typer's standalone mode, so the argument parser's own errors (an unknown
    option, a missing argument, ``-j 0``) reach this function too: shown as typer shows them
    (usage and message on stderr), plus, with ``--json`` on a command that takes it, the failure
    document on stdout; exit 2.  gbl's errors propagate out of the app and are mapped here.
    """
    _tolerant_streams()
    cwd = os.getcwd()  # -C DIR changes directory (as go -C does); back when the command ends
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _install_signal_handlers()
        code = app(args=args, prog_name="gbl", standalone_mode=False)
    except SystemExit as exc:
        if exc.code == errors.EXIT_INTERRUPTED:
            _interrupted()
        raise
    except KeyboardInterrupt:
        _interrupted()
    except typer.Abort:  # typer's own "abort" (an EOF at a prompt): as its standalone mode does
        typer.echo("Aborted!", err=True)
        sys.exit(errors.EXIT_INTERNAL)
    except typer.TyperException as exc:  # the argument parser's (click's) errors: usage, exit 2
        exc.show()
        _print_json_failure(args, _usage_error(exc))
        sys.exit(errors.EXIT_USAGE)
    except errors.GblError as exc:
        _print_error(exc)
        _print_json_failure(args, exc)
        sys.exit(exc.exit_code)
    finally:
        os.chdir(cwd)
    if code == errors.EXIT_INTERRUPTED:  # outside standalone mode typer returns Ctrl-C's 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else errors.EXIT_OK)


def _print_json_failure(args: List[str], exc: errors.GblError) -> None:
    """With --json on a command that takes it: one object on stdout, carrying the error (scripts
    never parse text)."""
    from ..cliout import error_document, json_command, print_json

    command = json_command(args)
    if command is not None:
        print_json(error_document(command, exc, getattr(exc, "json_body", None)))


def _usage_error(exc) -> errors.UsageError:
    """The argument parser's error as gbl's: its message, and the hint it printed."""
    ctx = getattr(exc, "ctx", None)
    hint = None
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        hint = f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help."
    return errors.UsageError(exc.format_message(), hint=hint)


def _tolerant_streams() -> None:
    """A character stdout / stderr cannot encode (a Windows console or redirect in cp1252, a
    C locale) is replaced (``?``), never a UnicodeEncodeError: output is for people there."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # pragma: no cover - a closed or exotic stream
                pass


def _interrupted() -> None:
    """Say so, stop what is still running, and exit 130.

    ``os._exit``, not ``sys.exit``: a KeyboardInterrupt that landed inside an ``exec`` of a string
    (dataclasses do that while a module imports) makes CPython end the process by SIGINT (exit
    -2) whatever ``sys.exit`` says.  Every ``finally`` has run by now; only the children remain.
    """
    from .. import children

    try:
        print("interrupted", file=sys.stderr)
        children.stop_all()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(errors.EXIT_INTERRUPTED)


def _install_signal_handlers() -> None:
    """SIGINT and SIGTERM (sent by Ctrl-C, `timeout`, a CI runner) first stop every process gbl
    started (their whole process groups: `go build` and its compilers), then unwind like Ctrl-C
    so `finally` blocks clean up; the exit code is 130."""
    import signal

    from .. import children

    def _stop(signum, frame):
        children.interrupt_all()
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)
    sys.unraisablehook = _quiet_interrupts(sys.unraisablehook)


def _quiet_interrupts(previous):
    """An unraisable-exception hook that drops a KeyboardInterrupt and passes the rest on.

    Python runs the handler above wherever the main thread is, including places whose exceptions
    it cannot raise (an at-fork hook while ``subprocess`` forks, a ``__del__``): it prints
    "Exception ignored in ..." with a traceback and carries on.  Nothing is lost by dropping that
    one: ``children.interrupt_all`` has already signalled every child and refuses every new one
    (the next ``spawn`` raises ``children.Stopped``), so the run still ends as interrupted.
    """
    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        previous(unraisable)

    return hook


def _print_error(exc: errors.GblError) -> None:
    from rich.markup import escape

    err = err_console()
    where = f"{escape(exc.where)}: " if exc.where else ""
    err.print(f"[red]error:[/] {where}{escape(exc.message)}")
    if exc.hint:
        err.print(f"[cyan]hint:[/] {escape(exc.hint)}")
