"""go.mod reading: is aws-lambda-go recent enough for the provided runtimes?"""

from __future__ import annotations

from pathlib import Path

from ..lambda_facts import AWS_LAMBDA_GO as LAMBDA_GO
from ..lambda_facts import AWS_LAMBDA_GO_MIN as LAMBDA_GO_MIN  # noqa: F401 - migrate's name for it
from ..lambda_facts import lambda_go_too_old
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


def lambda_go_requirement(go_mod_text: str) -> tuple[str, int] | None:
    """(version, 1-based line) of aws-lambda-go in go.mod: its require line, or the version a
    replace directive swaps in.  None when go.mod does not require it."""
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
        if verb == "require" and len(words) >= 2 and words[0] == LAMBDA_GO:
            required = (words[1], number)
        elif verb == "replace":
            replaced = _replacement(words, number) or replaced
    if required is None:
        return None
    return replaced or required


def _replacement(words: list[str], number: int) -> tuple[str, int] | None:
    # replace github.com/aws/aws-lambda-go [vX] => other/module vY   (a local path has no version)
    if not words or words[0] != LAMBDA_GO or "=>" not in words:
        return None
    right = words[words.index("=>") + 1:]
    if len(right) == 2 and right[1].startswith("v"):
        return (right[1], number)
    return None


