"""One deployment file's text, migrated by its kind: a SAM / CloudFormation template, a
serverless.yml, a Terraform file, or a CDK source (reported, never edited).

Below discovery.py (which migrates a file's text to tell whether it still uses go1.x) and
files.py (which migrates files against a plan), so neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..lambda_facts import RUNTIMES
from .model import MigrationResult
from .sam import migrate_template


def migrate_text(
    text: str,
    functions,
    *,
    path: Path | str,
    runtime: str | None = None,
    label: str | None = None,
) -> MigrationResult:
    """Migrate one file's text by its kind: a SAM / CloudFormation template, a serverless.yml,
    a Terraform file, or a CDK source (reported, never edited)."""
    from .cdk import cdk_language, report_cdk
    from .serverless import is_serverless, migrate_serverless
    from .terraform import migrate_terraform
    from .textdoc import Doc

    path = Path(path)
    if runtime is not None and runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    kwargs = dict(path=path, runtime=runtime, label=label)
    if path.suffix.lower() == ".tf":
        return migrate_terraform(text, functions, **kwargs)
    if cdk_language(path) is not None:
        return report_cdk(text, functions, **kwargs)
    if path.suffix.lower() in (".yml", ".yaml") and is_serverless(Doc.parse(text, path), path):
        return migrate_serverless(text, functions, **kwargs)
    return migrate_template(text, functions, **kwargs)
