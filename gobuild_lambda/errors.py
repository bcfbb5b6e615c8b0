"""Every error gbl raises on purpose, and the exit code each maps to.

The core raises these and never prints or exits; ``cli/`` (its ``main()``) is the one place that
turns them into a message on stderr and an exit code.  A message has three parts: what is wrong,
where (file, function, key), and what to do (``hint``).  The table of exit codes is documented in
``docs/exit-codes.md``; keep the two in step.
"""

from __future__ import annotations

# Exit codes (docs/exit-codes.md).  Stable: scripts and CI depend on them.
EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug in gbl: an unexpected exception
EXIT_USAGE = 2  # bad command line, bad gbl.toml, not a Go module, name clash
EXIT_BUILD_FAILED = 3  # at least one function did not compile or package
EXIT_VERIFY_FAILED = 4  # at least one zip would not run on Lambda
EXIT_TOOL_MISSING = 5  # go / emulator / qemu not found or too old
EXIT_DOCKER = 6  # Docker daemon unreachable, image missing
EXIT_FUNCTION_ERROR = 7  # gbl invoke: the handler returned an error or crashed
EXIT_TIMEOUT = 8  # gbl invoke: the handler ran past --timeout
EXIT_MIGRATE_CHECK = 9  # gbl migrate --check: a template still uses go1.x
EXIT_OUTPUT = 10  # cannot write output (permissions, disk full, lock held)
# gbl diff --exit-code: something differs (git's convention).  Only that command and flag use it;
# elsewhere 1 is EXIT_INTERNAL, which also prints a traceback.
EXIT_DIFFERS = 1
EXIT_AWS_ACCESS = 11  # gbl diff / deploy: no or bad AWS credentials, access denied, no region, unreachable
EXIT_DEPLOY_FAILED = 12  # gbl deploy: an update / upload / publish / alias failed; not a zip function
EXIT_FUNCTION_MISSING = 13  # gbl deploy: a function is not deployed in Lambda (the others were)
EXIT_INTERRUPTED = 130  # SIGINT / SIGTERM


class GblError(Exception):
    """Base class: a failure gbl expected and can explain."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:  # what the CLI prints, minus colour
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class UsageError(GblError):
    """Bad command-line arguments, or a project gbl cannot work with."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """gbl.toml is invalid: ``where`` names the file and key or line."""


class PlanError(UsageError):
    """The project's functions cannot be determined (not a module, name clash, go list failed)."""


class ToolMissing(GblError):
    """A required external tool is missing or too old."""

    exit_code = EXIT_TOOL_MISSING


class BuildFailed(GblError):
    """One or more functions failed to build or package; ``report`` holds what did succeed."""

    exit_code = EXIT_BUILD_FAILED

    def __init__(self, message: str, *, report=None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.report = report


class VerifyFailed(GblError):
    """One or more zips failed a verify check; ``verdicts`` holds every result."""

    exit_code = EXIT_VERIFY_FAILED

    def __init__(self, message: str, *, verdicts=(), report=None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.verdicts = tuple(verdicts)
        self.report = report


class DockerError(GblError):
    """The Docker daemon or the build image cannot be used."""

    exit_code = EXIT_DOCKER


class FunctionError(GblError):
    """gbl invoke: the function returned an error or crashed."""

    exit_code = EXIT_FUNCTION_ERROR
    result = None  # the invoke.InvokeResult, when there is one


class InvokeTimeout(GblError):
    """gbl invoke: the function ran past its timeout."""

    exit_code = EXIT_TIMEOUT
    result = None  # the invoke.InvokeResult


class MigrateCheckFailed(GblError):
    """gbl migrate --check: a template still uses go1.x."""

    exit_code = EXIT_MIGRATE_CHECK


class OutputError(GblError):
    """Output cannot be written: permissions, disk full, or another gbl holds the lock."""

    exit_code = EXIT_OUTPUT


class AwsAccessError(GblError):
    """gbl diff / deploy: AWS cannot be used (credentials, permissions, region, endpoint)."""

    exit_code = EXIT_AWS_ACCESS

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None, report=None):
        super().__init__(message, hint=hint, where=where)
        self.report = report


class DeployFailed(GblError):
    """gbl deploy: at least one function could not be updated; ``report`` says what was done."""

    exit_code = EXIT_DEPLOY_FAILED

    def __init__(self, message: str, *, hint: str | None = None, report=None):
        super().__init__(message, hint=hint)
        self.report = report


class FunctionMissing(GblError):
    """gbl deploy: at least one function does not exist in Lambda; the others were deployed."""

    exit_code = EXIT_FUNCTION_MISSING

    def __init__(self, message: str, *, hint: str | None = None, report=None):
        super().__init__(message, hint=hint)
        self.report = report
