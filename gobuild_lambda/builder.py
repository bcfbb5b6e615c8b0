"""Compatibility names: the builders moved to ``gobuild_lambda.builders`` (calls, runner, local,
docker).  New code imports from there; this module only re-exports, so callers (and branches
written against the old layout) keep working."""

from __future__ import annotations

from .builders.calls import (  # noqa: F401
    BUILD_DIR, COMMON_FLAGS, GoBuildCall, build_env, build_flags, describe_call, exe_name,
    group_key_dir, plan_calls,
)
from .builders.local import LocalRunner, Running, start_call  # noqa: F401
from .builders.runner import (  # noqa: F401
    LINK_POLL_S, Built, BuildFailure, binary_identity, cgo_failure, dispatch, run_call,
)


def build_local(go, plan, functions, *, jobs, on_built=None, on_failed=None, on_linked=None, started=()):
    """``builders.build`` with a :class:`LocalRunner` (the old signature)."""
    from .builders.runner import build

    return build(LocalRunner(go, plan.project_dir, started), plan, functions, jobs=jobs,
                 on_built=on_built, on_failed=on_failed, on_linked=on_linked)
