"""gbl migrate: move go1.x functions to the provided runtimes.

Rooms:

* :mod:`.model` -- what a migration returns (targets, changes, problems, the report);
* :mod:`.textdoc` -- the position-keeping YAML / JSON document model, and :mod:`.edits`, the
  minimal splices into it;
* :mod:`.sam` -- the SAM / CloudFormation rules; beside it :mod:`.serverless` (serverless.yml),
  :mod:`.terraform` (*.tf, read by the position-keeping :mod:`.hcl`) and :mod:`.cdk` (reported);
* :mod:`.declared` -- the architecture each Go function's file declares (for the planner);
* :mod:`.gomod` -- go.mod reading (is aws-lambda-go recent enough?);
* :mod:`.formats` -- one file's text migrated by its kind (the dispatch over the formats);
* :mod:`.discovery` -- finding the files to migrate in a project;
* :mod:`.files` -- reading, migrating and writing files against a plan.
"""

from __future__ import annotations

from .cdk import report_cdk
from .declared import DeclaredArch, declared_architectures, declared_in_text
from .discovery import (
    SKIP_DIRS, TEMPLATE_DIRS, TEMPLATE_NAMES, TEMPLATE_SUFFIXES, file_format, find_files, find_go1x_templates,
    find_migratable, find_templates,
)
from .files import migrate_files, migrate_text, targets_for
from .gomod import LAMBDA_GO, LAMBDA_GO_FIX, LAMBDA_GO_MIN, check_go_mod, lambda_go_requirement, lambda_go_too_old
from .model import (
    BOOTSTRAP, GLOBALS, GO1X, LAMBDA_ARCH, Change, FunctionTarget, MigrateReport, MigrationResult, Problem,
)
from .sam import CFN_FUNCTION, SAM_FUNCTION, migrate_template
from .serverless import migrate_serverless
from .terraform import migrate_terraform

__all__ = [
    "BOOTSTRAP", "CFN_FUNCTION", "GLOBALS", "GO1X", "LAMBDA_ARCH", "LAMBDA_GO", "LAMBDA_GO_FIX", "LAMBDA_GO_MIN",
    "SAM_FUNCTION", "SKIP_DIRS", "TEMPLATE_DIRS", "TEMPLATE_NAMES", "TEMPLATE_SUFFIXES",
    "Change", "FunctionTarget", "MigrateReport", "MigrationResult", "Problem",
    "check_go_mod", "find_go1x_templates", "find_templates", "lambda_go_requirement", "lambda_go_too_old",
    "migrate_files", "migrate_template", "targets_for",
    "DeclaredArch", "declared_architectures", "declared_in_text", "file_format", "find_files", "find_migratable",
    "migrate_serverless", "migrate_terraform", "migrate_text", "report_cdk",
]
