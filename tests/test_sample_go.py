"""sample_project's own Go tests pass (go vet + go test), so the sample stays a real module."""

from __future__ import annotations

import os
import subprocess

from conftest import SAMPLE


def test_sample_project_go_vet_and_test():
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    for args in (["go", "vet", "./..."], ["go", "test", "-count=1", "./..."]):
        proc = subprocess.run(args, cwd=SAMPLE, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
