"""Planning: which directories Go sees as functions for linux, and gbl.toml's per-function settings."""

from __future__ import annotations

import os

import pytest

import gobuild_lambda
from gobuild_lambda import errors

from conftest import FIXTURES, SAMPLE, run_gbl


def names(plan):
    return sorted(f.name for f in plan.functions)


def skipped(plan):
    return {s.rel_dir: s.reason for s in plan.skipped}


def test_plan_cases_finds_exactly_the_linux_main_packages():
    plan = gobuild_lambda.plan(FIXTURES / "plan_cases")
    assert names(plan) == ["Report.Gen", "alpha", "beta", "with-dash"]
    beta = plan.function("beta")
    assert beta.rel_dir == "cmd/nested/deep/beta"
    assert beta.package == "example.com/fixtures/plan_cases/cmd/nested/deep/beta"
    assert beta.arch == "amd64" and beta.runtime == "provided.al2023"
    assert beta.tags == ("lambda.norpc",) and beta.ldflags == "-s -w"
    why = skipped(plan)
    assert why["cmd/testonly"] == "only _test.go files"
    assert why["cmd/lib"] == "package lib, not main"
    assert why["cmd/empty"] == "no Go files"
    assert why["cmd/notlinux"] == "every Go file is excluded by build constraints for linux/amd64"
    assert why["cmd/armonly"] == "every Go file is excluded by build constraints for linux/amd64"
    # a main package outside cmd/ is a tool, not a function
    assert not any("tools" in f.rel_dir for f in plan.functions)


def test_arch_decides_what_go_sees():
    plan = gobuild_lambda.plan(FIXTURES / "plan_cases", arch="arm64")
    assert "armonly" in names(plan)
    assert {f.arch for f in plan.functions} == {"arm64"}


def test_sample_project_plan_uses_gbl_toml():
    plan = gobuild_lambda.plan(SAMPLE)
    assert names(plan) == ["api", "echo", "nightly-report"]
    assert plan.function("echo").arch == "arm64"
    assert plan.function("api").arch == "amd64"
    assert plan.function("nightly-report").rel_dir == "cmd/jobs/nightly-report"
    assert any(s.reason.startswith("package ") for s in plan.skipped)


def test_name_clash_names_both_packages_and_the_fix():
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.plan(FIXTURES / "name_clash")
    msg = str(exc.value)
    assert "cmd/a/worker" in msg and "cmd/b/worker" in msg
    assert 'name = "' in msg and "gbl.toml" in msg
    assert exc.value.exit_code == errors.EXIT_USAGE


def test_name_clash_resolved_by_name_setting(project):
    root = project("name_clash")
    (root / "gbl.toml").write_text('[functions."cmd/b/worker"]\nname = "worker-b"\n')
    plan = gobuild_lambda.plan(root)
    assert names(plan) == ["worker", "worker-b"]
    assert plan.function("worker-b").rel_dir == "cmd/b/worker"


def test_function_settings_layer_over_defaults(project):
    root = project("plan_cases")
    (root / "gbl.toml").write_text(
        '[defaults]\narch = "arm64"\ntags = ["prod"]\nenv = { GOARM64 = "v8.2" }\n\n'
        '[functions.alpha]\narch = "amd64"\nldflags = "-X main.version=1.2.3"\n'
        'runtime = "provided.al2"\ntags = ["a", "b"]\n'
    )
    plan = gobuild_lambda.plan(root)
    alpha, beta = plan.function("alpha"), plan.function("beta")
    assert alpha.arch == "amd64" and alpha.runtime == "provided.al2"
    assert alpha.tags == ("lambda.norpc", "a", "b")
    assert alpha.ldflags == "-s -w -X main.version=1.2.3"
    assert beta.arch == "arm64" and beta.tags == ("lambda.norpc", "prod")
    assert beta.env == (("GOARM64", "v8.2"),)
    # arm64 by default makes the arm64-only package a function
    assert "armonly" in names(plan)


def test_cli_arch_overrides_gbl_toml():
    plan = gobuild_lambda.plan(SAMPLE, arch="amd64")
    assert plan.function("echo").arch == "amd64"


@pytest.mark.parametrize(
    "toml, fragment, hint",
    [
        ("[defaults]\narch = 'x86'\n", "`defaults.arch` must be amd64 or arm64 (or Lambda's x86_64, for amd64)", None),
        ("[defaults]\narch = ['arm64']\n", "`defaults.arch` must be amd64 or arm64", None),
        ("[defaults]\ntags = 'prod'\n", "`defaults.tags` must be a list", None),
        ("[defaults]\nflavour = 1\n", "unknown key `defaults.flavour`", "allowed in [defaults]"),
        ("[functions.nosuch]\narch = 'arm64'\n", "[functions.nosuch] names no function", "functions found: "),
        ("[functions.lib]\narch = 'arm64'\n", "[functions.lib] names no function", "package lib, not main"),
        ("[defaults\narch = 'arm64'\n", "TOML syntax error", "line"),
        ("[functions.alpha]\nenv = { GOARCH = 'arm64' }\n", "sets GOARCH", "use `arch`"),
        ("[functions.alpha]\nname = 'has space'\n", "`functions.alpha.name` must be", None),
        ("builder = 'local'\n", "unknown key `builder`", "allowed at the top level"),
    ],
)
def test_bad_gbl_toml_names_file_key_and_fix(project, toml, fragment, hint):
    root = project("plan_cases")
    (root / "gbl.toml").write_text(toml)
    with pytest.raises(errors.ConfigError) as exc:
        gobuild_lambda.plan(root)
    text = str(exc.value)
    assert str(root / "gbl.toml") in text
    assert fragment in text
    if hint:
        assert hint in text
    assert exc.value.exit_code == errors.EXIT_USAGE


def test_not_a_module(project):
    root = project("not_a_module")
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.plan(root)
    assert "not a Go module" in str(exc.value) and "go mod init" in str(exc.value)


def test_broken_go_mod_names_the_file(project):
    root = project("broken_gomod")
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.plan(root)
    assert str(root / "go.mod") in str(exc.value)


def test_go_missing_is_a_tool_error(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    with pytest.raises(errors.ToolMissing) as exc:
        gobuild_lambda.plan(SAMPLE, env=env)
    assert "go.dev/dl" in str(exc.value)
    assert exc.value.exit_code == errors.EXIT_TOOL_MISSING


def test_go_older_than_go_directive(project):
    root = project("plan_cases")
    gomod = root / "go.mod"
    gomod.write_text(gomod.read_text().replace("go 1.23", "go 1.99"))
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    with pytest.raises(errors.ToolMissing) as exc:
        gobuild_lambda.plan(root, env=env)
    assert "1.99" in str(exc.value)


def test_plan_cli_json_and_verbose():
    proc = run_gbl("plan", "-C", str(FIXTURES / "plan_cases"), "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads(proc.stdout)
    assert [f["name"] for f in doc["functions"]] == ["Report.Gen", "alpha", "beta", "with-dash"]
    assert {"dir": "cmd/testonly", "reason": "only _test.go files"} in doc["skipped"]
    proc = run_gbl("plan", "-C", str(FIXTURES / "plan_cases"), "--verbose")
    assert "skipped cmd/notlinux: every Go file is excluded" in proc.stderr
    assert "Report.Gen" in proc.stdout


def test_plan_cli_errors_have_exit_codes(tmp_path):
    proc = run_gbl("plan", "-C", str(FIXTURES / "name_clash"))
    assert proc.returncode == errors.EXIT_USAGE
    assert "two functions are named 'worker'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_gbl("plan", "-C", str(FIXTURES / "plan_cases"), env={**os.environ, "PATH": str(tmp_path)})
    assert proc.returncode == errors.EXIT_TOOL_MISSING
    assert "was not found on PATH" in proc.stderr
