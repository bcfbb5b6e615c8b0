"""go.mod reading: is aws-lambda-go recent enough for the provided runtimes?"""

from __future__ import annotations

from pathlib import Path

from ..lambda_facts import AWS_LAMBDA_GO as LAMBDA_GO
from ..lambda_facts import AWS_LAMBDA_GO_MIN as LAMBDA_GO_MIN  # noqa: F401 - migrate's name for it
from ..lambda_facts import lambda_go_requirement, lambda_go_too_old  # noqa: F401 - re-exported
from .model import Problem

LAMBDA_GO_FIX = f"go get {LAMBDA_GO}@latest"


def check_go_mod(go_mod: Path) -> tuple[Problem, ...]:
    """A Problem when go.mod requires aws-lambda-go older than v1.18.0 (missing file: none)."""
    try:
        text = Path(go_mod).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    found = lambda_go_requirement(text)
    if found is None:
        return ()
    version, line = found
    if not lambda_go_too_old(version):
        return ()
    return (
        Problem(
            path=Path(go_mod),
            resource=None,
            line=line,
            message=(
                f"requires {LAMBDA_GO} {version}: before v1.18.0 it only speaks the go1.x runtime's "
                "RPC protocol, so on provided.al2023 / provided.al2 the functions hang at init "
                "and time out"
            ),
            hint=(
                f"in {Path(go_mod).parent.as_posix()}, run `{LAMBDA_GO_FIX}` "
                "(or pin any version >= v1.18.0), then `go mod tidy` and `gbl build`"
            ),
        ),
    )
