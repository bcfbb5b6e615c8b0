"""gbl: build a Go repository's ./cmd/* functions into verified, deterministic Lambda zips.

The public library API (the CLI is a thin layer over it)::

    import gobuild_lambda as gbl
    plan = gbl.plan("path/to/module")           # -> Plan: functions and their settings
    report = gbl.build("path/to/module")        # -> BuildReport: zips, hashes, manifest
    verdict = gbl.verify_zip("dist/api.zip")    # -> Verdict: every check Lambda would fail
    gbl.zip_binary("bootstrap", "fn.zip")       # -> Packaged: the deterministic packager alone
    gbl.init("path/to/module")                  # -> WrittenFile per file: gbl.toml, Makefile, CI
    gbl.invoke("path/to/module", "api", event=b'{}')  # -> InvokeResult: run once in the emulator
    gbl.watch("path/to/module", port=9000)      # serve the Invoke API + function URLs, rebuild on save
    gbl.diff("path/to/module")                  # -> DiffReport: manifest vs deployed (needs boto3)
    gbl.deploy("path/to/module")                # -> DeployReport: update only changed functions

Imports are lazy so ``gbl --help`` and no-op builds start fast (and never import boto3).
The deploy code lives in ``deployment.py``: a submodule named ``deploy`` would shadow
``gbl.deploy()`` once imported.
"""

from __future__ import annotations

__version__ = "0.2.0"  # docs/changelog.md says what changed

_EXPORTS = {
    "plan": ("pipeline", "make_plan"),
    "build": ("pipeline", "build"),
    "BuildReport": ("pipeline", "BuildReport"),
    "FunctionResult": ("pipeline", "FunctionResult"),
    "Event": ("pipeline", "Event"),
    "verify_zip": ("verify", "verify_zip"),
    "zip_binary": ("pipeline", "zip_binary"),
    "init": ("pipeline", "init"),
    "clean": ("cleanup", "clean"),
    "CleanReport": ("cleanup", "CleanReport"),
    "GblError": ("errors", "GblError"),
    # every error the library raises, so `except gbl.BuildFailed:` works (docs/exit-codes.md)
    **{name: ("errors", name) for name in (
        "UsageError", "ConfigError", "PlanError", "ToolMissing", "BuildFailed", "VerifyFailed",
        "DockerError", "FunctionError", "InvokeTimeout", "MigrateCheckFailed", "OutputError",
        "AwsAccessError", "DeployFailed", "FunctionMissing",
    )},
    "invoke": ("invoker", "invoke"),
    "invoke_all": ("invoker", "invoke_all"),
    "InvokeResult": ("invoker", "InvokeResult"),
    "render_example": ("invoker", "render_example"),
    "Emulator": ("emulator", "Emulator"),
    "watch": ("watcher", "watch"),
    "diff": ("deployment", "diff"),
    "deploy": ("deployment", "deploy"),
    "DiffReport": ("deployment", "DiffReport"),
    "DeployReport": ("deployment", "DeployReport"),
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
