"""The CLI's output: consoles, build progress, result tables and the ``--json`` documents.

Part of the CLI (only ``cli/`` and this module print): the library never imports it.  Results
go to stdout, progress to stderr.  Every ``--json`` document is one object with ``version`` and
``command``; a failure's document also carries ``ok: false``, ``error`` and ``exit_code``
(docs/json.md, docs/schemas/).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

JSON_VERSION = 1  # of every --json document; bumped on an incompatible change (docs/json.md)
HEARTBEAT_S = 10.0  # without a terminal, a line at least this often while a build runs


# -------------------------------------------------------------------------------- consoles
def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console(table: bool = False):
    """stdout.  Piped output is never squeezed into 80 columns unless COLUMNS says so."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=not table)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        console.width = 200
    return console


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


def display_path(path) -> str:
    """A path as a person wants to read it: relative when it is under the working directory."""
    from pathlib import Path

    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve())) if p.is_absolute() else str(p)
    except (ValueError, OSError):
        return str(p)


def size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return str(n)  # pragma: no cover


def table(title: str | None = None):
    """A rich table whose first column (a function's name) is never cut: the others wrap."""
    from rich.table import Table

    return Table(title=title, title_justify="left")


def add_columns(tbl, names, *, first_width: int = 0, right=()) -> None:
    for i, col in enumerate(names):
        if i == 0:
            tbl.add_column(col, no_wrap=True, min_width=max(first_width, len(col)))
        else:
            tbl.add_column(col, overflow="fold", justify="right" if col in right else "left")


# ------------------------------------------------------------------------------------ JSON
def print_json(doc: dict) -> None:
    import typer

    typer.echo(json.dumps(doc, indent=2, ensure_ascii=True))


def document(command: str, body: dict) -> dict:
    """The envelope of every --json document: ``version`` and ``command`` first."""
    return {"version": JSON_VERSION, "command": command, **body}


def error_document(command: str, exc, body: dict | None = None) -> dict:
    """A failure's document: what the command knew (``body``) plus the error and exit code."""
    doc = document(command, dict(body or {}))
    doc["ok"] = False
    doc["error"] = {
        "type": type(exc).__name__, "message": exc.message, "where": exc.where, "hint": exc.hint,
    }
    doc["exit_code"] = exc.exit_code
    return doc


# The commands that take --json (docs/json.md), as command_of names them.
JSON_COMMANDS = ("plan", "build", "verify", "zip", "migrate", "init", "manifest merge", "invoke", "diff", "deploy",
                 "clean")


def command_of(argv: list[str]) -> str:
    """The command a command line runs (``build``, ``manifest merge``), for error documents."""
    words = [a for a in argv if not a.startswith("-")]
    known = {"plan", "build", "verify", "zip", "migrate", "init", "invoke", "diff", "deploy", "manifest", "watch",
             "clean"}
    for i, w in enumerate(words):
        if w in known:
            if w == "manifest" and i + 1 < len(words):
                return f"manifest {words[i + 1]}"
            return w
    return ""


def json_command(argv: list[str]) -> str | None:
    """The command whose --json document a failure of this command line prints: the command it
    runs, when ``--json`` is among the arguments and that command takes it; else None."""
    command = command_of(argv)
    return command if "--json" in argv and command in JSON_COMMANDS else None


# ---------------------------------------------------------------------------- build progress
class BuildProgress:
    """Renders a build's Events on stderr.

    On a terminal: a rich progress display, functions compiled and packaged+verified as n/N with
    the elapsed time.  Otherwise (a CI log): one plain line per stage start and end and per
    function, every ``waiting`` event, and a ``still working`` line whenever nothing was
    printed for ``HEARTBEAT_S`` seconds.
    """

    def __init__(self, console, *, live: bool, heartbeat_s: float = HEARTBEAT_S):
        self.console, self.live, self.heartbeat_s = console, live, heartbeat_s
        self.start = time.monotonic()
        self.total: int | None = None
        self.compiled = self.packaged = 0
        self.stage = "planning"
        self._lock = threading.RLock()
        self._last_line = self.start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = None
        self._tasks: dict[str, Any] = {}

    # -- lifecycle
    def __enter__(self) -> BuildProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
                console=self.console, transient=True,
            )
            self._progress.start()
            self._tasks["plan"] = self._progress.add_task("planning", total=None, note="")
        else:
            self._line("planning (go list)")
            self._thread = threading.Thread(target=self._beat, name="gbl-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._progress is not None:
            self._progress.stop()

    # -- events
    def __call__(self, ev) -> None:
        with self._lock:
            handler = getattr(self, "_on_" + ev.kind.replace("-", "_"), None)
            if handler is not None:
                handler(ev)
            else:
                self._note(ev.detail, show=ev.kind in ("pull", "cleanup", "download"))

    def _on_plan(self, ev) -> None:
        self.total = ev.count if ev.count is not None else _leading_int(ev.detail)
        self.stage = "compiling"
        if self._progress is not None:
            self._progress.remove_task(self._tasks.pop("plan"))
            for key, text in (("compile", "compiled"), ("package", "packaged+verified")):
                self._tasks[key] = self._progress.add_task(text, total=self.total, note="")
        else:
            self._line(f"planned {ev.detail} ({self._elapsed()})")

    def _on_build(self, ev) -> None:
        if self._progress is None:
            self._line(f"compiling: {ev.detail}")
        else:
            self._progress.update(self._tasks["compile"], note=_short(ev.detail))

    def _on_built(self, ev) -> None:
        self.compiled += 1
        text = f"up to date: {ev.function}" if ev.detail == "up to date" else f"compiled {ev.function}"
        self._advance("compile", text, self.compiled)
        if self.total is not None and self.compiled == self.total:
            self.stage = "packaging"
            if self._progress is None:
                self._line(f"compiling done: {self.compiled}/{self.total} ({self._elapsed()})")

    def _on_packaged(self, ev) -> None:
        self._packaged(f"packaged and verified {ev.function} ({size_text(_leading_int(ev.detail))})")

    def _on_reused(self, ev) -> None:
        self._packaged(f"reused {ev.function} ({ev.detail})")

    def _on_failed(self, ev) -> None:
        first = (ev.detail or "").strip().splitlines()[:1]
        text = f"failed {ev.function}" + (f": {first[0]}" if first else "")
        if ev.detail == "failed verify":
            self._packaged(text)
            return
        self.compiled += 1  # did not compile: nothing to package either
        self._advance("compile", text, self.compiled)
        self._packaged(None)

    def _on_waiting(self, ev) -> None:
        self._note(ev.detail, show=True)

    def _on_lock_wait(self, ev) -> None:
        self._note(ev.detail, show=True, always=True)

    # -- rendering
    def _packaged(self, text: str | None) -> None:
        self.packaged += 1
        self._advance("package", text, self.packaged)
        if self.total is not None and self.packaged == self.total and self._progress is None:
            self._line(f"packaging done: {self.packaged}/{self.total} ({self._elapsed()})")

    def _advance(self, key: str, text: str | None, n: int) -> None:
        if self._progress is not None:
            if key in self._tasks:
                self._progress.update(self._tasks[key], completed=n)
        elif text is not None:
            self._line(f"{text} [{n}/{self.total if self.total is not None else '?'}, {self._elapsed()}]")

    def _note(self, text: str, *, show: bool, always: bool = False) -> None:
        if self._progress is not None:
            if always:
                self._progress.console.print(text, markup=False, highlight=False)
            else:
                task = self._tasks.get("compile" if self.stage != "packaging" else "package") \
                    or self._tasks.get("plan")
                if task is not None:
                    self._progress.update(task, note=_short(text))
        elif show or always:
            self._line(text)

    def _line(self, text: str) -> None:
        with self._lock:
            self.console.print(f"gbl: {text}", markup=False, highlight=False)
            self._last_line = time.monotonic()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.start:.1f} s"

    def _beat(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                if time.monotonic() - self._last_line < self.heartbeat_s:
                    continue
                counts = "" if self.total is None else \
                    f": compiled {self.compiled}/{self.total}, packaged {self.packaged}/{self.total}"
                self._line(f"still {self.stage}{counts} ({self._elapsed()})")


def _leading_int(text: str) -> int:
    digits = ""
    for ch in (text or "").strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def _short(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------- build report
def report_json(report, wall_s: float | None = None) -> dict:
    counts = build_counts(report)
    return {
        "ok": report.ok,
        "out_dir": str(report.out_dir),
        "manifest": str(report.manifest_path),
        "counts": counts,
        "total_size": sum(r.size for r in report.results if r.ok),
        "wall_s": None if wall_s is None else round(wall_s, 3),
        "functions": [
            {
                "name": r.function.name,
                "arch": r.function.arch,
                "ok": r.ok,
                "status": r.status,
                "zip": str(r.zip_path) if r.zip_path else None,
                "size": r.size,
                "sha256": r.sha256,
                "code_sha256": r.code_sha256,
                "relinked": r.relinked,
                "rezipped": r.rezipped,
                "error": r.error or None,
            }
            for r in report.results
        ],
    }


def build_counts(report) -> dict:
    statuses = [r.status for r in report.results]
    return {
        "built": sum(s in ("built", "relinked", "rezipped") for s in statuses),
        "reused": statuses.count("up to date"),
        "failed": statuses.count("failed"),
    }


def print_report(report, wall_s: float | None = None) -> None:
    out = stdout_console(table=True)
    tbl = table(escape(str(report.out_dir)))
    width = max((len(r.function.name) for r in report.results), default=0)
    add_columns(tbl, ("function", "arch", "status", "size", "CodeSha256"), first_width=width, right=("size",))
    for r in report.results:
        if r.ok:
            tbl.add_row(escape(r.function.name), r.function.arch, r.status, size_text(r.size), r.code_sha256)
        else:
            tbl.add_row(escape(r.function.name), r.function.arch, "[red]failed[/]", "-", "-")
    out.print(tbl)
    c = build_counts(report)
    total = sum(r.size for r in report.results if r.ok)
    wall = f" in {wall_s:.1f} s" if wall_s is not None else ""
    out.print(f"{len(report.results)} function(s): {c['built']} built, {c['reused']} reused, "
              f"{c['failed']} failed; {size_text(total)}{wall}", markup=False)
    err = stderr_console()
    for r in report.failed:
        err.print(f"[red]error:[/] function {escape(r.function.name)} ({escape(r.function.rel_dir)}):")
        if r.verdict is not None:
            print_verdict(err, r.verdict, only_problems=True)
        else:
            err.print(r.error, markup=False)


# ------------------------------------------------------------------------------------ verify
_MARK = {"pass": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def print_verdict(console, verdict, only_problems: bool = False, compact: bool = False) -> None:
    """One verdict.  ``compact``: a good zip is one line (its warnings follow); a failing one
    shows its failing and warning checks in full.  Otherwise every check, or with
    ``only_problems`` just the failing and warning ones."""
    problems = [c for c in verdict.checks if c.status != "pass"]
    if compact:
        passed = len(verdict.checks) - len(problems)
        state = "[green]ok[/]" if verdict.ok else "[red]FAILED[/]"
        console.print(f"{escape(display_path(verdict.path))}: {state} ({passed}/{len(verdict.checks)} checks passed)")
        only_problems = True
    elif not only_problems:
        state = "[green]ok[/]" if verdict.ok else "[red]FAILED[/]"
        console.print(f"{escape(display_path(verdict.path))}: {state}")
    for c in verdict.checks:
        if only_problems and c.status == "pass":
            continue
        line = f"  {_MARK.get(c.status, c.status)} {c.id}: {escape(c.message)}"
        if c.status != "pass":
            if c.lambda_error:
                line += f"\n         Lambda: {escape(c.lambda_error)}"
            if c.fix:
                line += f"\n         fix: {escape(c.fix)}"
        console.print(line)


def verdict_json(v) -> dict:
    return {
        "path": str(v.path),
        "ok": v.ok,
        "arch": v.arch,
        "go_version": v.go_version,
        "aws_lambda_go": v.aws_lambda_go,
        "checks": [
            {"id": c.id, "status": c.status, "message": c.message, "lambda_error": c.lambda_error, "fix": c.fix}
            for c in v.checks
        ],
    }


def verify_json(verdicts) -> dict:
    failed = sum(not v.ok for v in verdicts)
    return {"ok": not failed, "counts": {"ok": len(verdicts) - failed, "failed": failed},
            "zips": [verdict_json(v) for v in verdicts]}
