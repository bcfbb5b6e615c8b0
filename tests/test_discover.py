"""Where gbl finds functions: deployment templates, `[discover]` patterns, several modules, go.work.

One fixture repository per shape (tests/fixtures/<shape>/), each built for real (`go build`), and
every zip of its manifest verified again and checked for the arch the template or gbl.toml chose.
"""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

import gobuild_lambda
from gobuild_lambda import errors

from conftest import FIXTURES, run_gbl


def built(report, project):
    """{name: (arch, module dir)} of a build, after re-verifying every zip its manifest names."""
    from gobuild_lambda import manifest as manifest_mod

    manifest = manifest_mod.read(project / "dist").entries
    assert set(manifest) == {r.function.name for r in report.results}
    out = {}
    for name, entry in manifest.items():
        zip_path = entry.path(project / "dist")
        verdict = gobuild_lambda.verify_zip(zip_path, arch=entry.arch, runtime=entry.runtime)
        assert verdict.ok, (name, [c.message for c in verdict.failures])
        assert verdict.arch == entry.arch  # the bootstrap's own ELF machine
        out[name] = (entry.arch, report.plan.function(name).module_dir)
    assert report.ok
    return out


# ----------------------------------------------------------------------- template-declared
def test_sam_init_layout_no_root_go_mod_two_modules_and_an_arm64_function(project):
    root = project("sam_init")
    assert not (root / "go.mod").exists()
    report = gobuild_lambda.build(root)
    assert built(report, root) == {"hello-world": ("amd64", "hello-world"), "goodbye": ("arm64", "goodbye")}
    plan = report.plan
    assert plan.function("goodbye").template == "template.yaml:GoodbyeFunction"
    why = {s.rel_dir: s.reason for s in plan.skipped}
    assert why["template.yaml:PythonFunction"] == "runtime python3.12, not Go"
    assert why["template.yaml:FromS3"] == "code in S3, not in this repository"
    # one go build per module, each in its own directory
    from gobuild_lambda.builders import calls as build_mod

    calls = build_mod.plan_calls(plan.functions, plan.project_dir, jobs=2)
    assert sorted(os.path.basename(c.cwd) for c in calls) == ["goodbye", "hello-world"]


def test_plan_v_lists_non_go_resources_with_the_reason(project):
    root = project("sam_init")
    proc = run_gbl("plan", "-v", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "skipped template.yaml:PythonFunction: runtime python3.12, not Go" in proc.stderr
    assert "skipped template.yaml:FromS3: code in S3" in proc.stderr
    doc = json.loads(run_gbl("plan", "--json", "-C", str(root)).stdout)
    assert doc["modules"] == [{"dir": "goodbye", "path": "example.com/goodbye"},
                              {"dir": "hello-world", "path": "hello-world"}]
    assert {f["name"]: (f["arch"], f["module_dir"], f["template"]) for f in doc["functions"]} == {
        "goodbye": ("arm64", "goodbye", "template.yaml:GoodbyeFunction"),
        "hello-world": ("amd64", "hello-world", "template.yaml:HelloWorldFunction"),
    }


def test_handlers_dirs_with_handler_main_and_globals_architectures(project):
    root = project("sam_handlers")
    report = gobuild_lambda.build(root)
    # Globals say arm64; PaymentsFunction's own Architectures say x86_64
    assert built(report, root) == {"orders": ("arm64", "."), "payments": ("amd64", ".")}
    assert not any("internal" in s.rel_dir for s in report.plan.skipped)


def test_gbl_toml_wins_over_the_template_with_a_warning(project):
    root = project("sam_handlers")
    (root / "gbl.toml").write_text('[functions.orders]\narch = "amd64"\n')
    plan = gobuild_lambda.plan(root)
    assert plan.function("orders").arch == "amd64"
    assert any("orders" in w and "Architectures arm64" in w and "building amd64" in w for w in plan.warnings)
    proc = run_gbl("plan", "-C", str(root))
    assert proc.returncode == 0 and "Architectures arm64" in proc.stderr
    # --arch is a setting too: it wins, and says so
    plan = gobuild_lambda.plan(root, arch="amd64")
    assert {f.arch for f in plan.functions} == {"amd64"}


def test_two_template_functions_with_one_name_name_both_resources(project):
    root = project("sam_handlers")
    (root / "other" / "orders").mkdir(parents=True)
    (root / "other" / "orders" / "main.go").write_text((root / "handlers/orders/main.go").read_text())
    tpl = root / "template.yaml"
    tpl.write_text(tpl.read_text() + "  OrdersAgain:\n    Type: AWS::Serverless::Function\n"
                   "    Properties:\n      CodeUri: other/orders\n")
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.plan(root)
    msg = str(exc.value)
    assert "template.yaml:OrdersFunction" in msg and "template.yaml:OrdersAgain" in msg
    assert "name =" in msg  # the fix: rename one in gbl.toml


def test_template_code_dir_outside_any_module_is_a_clear_error(project):
    root = project("sam_init")
    (root / "hello-world" / "go.mod").unlink()
    with pytest.raises(errors.PlanError) as exc:
        gobuild_lambda.plan(root)
    assert "HelloWorldFunction" in str(exc.value) and "go mod init" in str(exc.value)


# --------------------------------------------------------------------------- [discover]
def test_discover_packages_and_exclude(project):
    root = project("discover_packages")
    report = gobuild_lambda.build(root)
    got = built(report, root)
    # "." is the module root's main package, named after the directory; cmd/ is no longer listed
    assert sorted(got) == ["alpha", "beta", "discover_packages", "lambda-handler"]
    why = {s.rel_dir: s.reason for s in report.plan.skipped}
    assert why["functions/skipme"] == "excluded by [discover] exclude"


@pytest.mark.parametrize("toml, words", [
    ('[discover]\npackages = "./x"\n', ["discover.packages", "list"]),
    ('[discover]\npackages = ["functions/..."]\n', ["discover.packages", "./functions/..."]),
    ('[discover]\nexclude = ["../other"]\n', ["discover.exclude", "inside the project"]),
    ('[discover]\nfunctions = ["x"]\n', ["discover.functions", "allowed in [discover]"]),
    ('[discover]\ntemplates = ["nope.yaml"]\n', ["discover.templates", "nope.yaml"]),
    ('[discover]\nmodules = ["nowhere/*"]\n', ["discover.modules", "go.mod"]),
])
def test_bad_discover_settings_name_file_key_and_fix(project, toml, words):
    root = project("discover_packages")
    (root / "gbl.toml").write_text(toml)
    with pytest.raises(errors.ConfigError) as exc:
        gobuild_lambda.plan(root)
    assert exc.value.exit_code == 2
    text = str(exc.value)
    assert "gbl.toml" in text and all(w in text for w in words), text


# ------------------------------------------------------------------ modules and workspaces
def test_several_modules_one_dist_one_manifest(project):
    root = project("multi_module")
    report = gobuild_lambda.build(root)
    assert built(report, root) == {"one": ("amd64", "functions/one"), "two": ("amd64", "functions/two")}
    assert sorted(p.name for p in (root / "dist").iterdir()) == ["manifest.json", "one.zip", "two.zip"]


def test_go_work_workspace_builds_with_the_users_workspace(project):
    root = project("workspace")
    assert "replace" not in (root / "api" / "go.mod").read_text()
    report = gobuild_lambda.build(root)
    assert built(report, root) == {"ping": ("amd64", "api")}
    assert report.plan.function("ping").gowork == str(root.resolve() / "go.work")


def test_go_work_is_not_used_when_gowork_is_off(project):
    root = project("workspace")
    env = {**os.environ, "GOWORK": "off"}
    with pytest.raises(errors.PlanError) as exc:  # no go.mod at the root and go.work switched off
        gobuild_lambda.plan(root, env=env)
    assert "not a Go module" in str(exc.value)


# ------------------------------------------------------------------- old aws-lambda-go
def _logging_go(tmp_path):
    """A GBL_GO wrapper that logs every go subcommand it is asked to run, then runs real go."""
    import shutil

    log = tmp_path / "go-calls.log"
    real = shutil.which("go")
    wrapper = tmp_path / "bin" / "go-logged"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\necho \"$1\" >> '{log}'\nexec '{real}' \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, log


def test_old_aws_lambda_go_is_refused_before_any_go_build(project, tmp_path):
    assert sys.platform != "win32"  # the wrapper is a shell script; CI runs Linux
    root = project("oldlambda")
    wrapper, log = _logging_go(tmp_path)
    env = {**os.environ, "GBL_GO": str(wrapper)}
    proc = run_gbl("build", "-C", str(root), env=env)
    assert proc.returncode == 3, proc.stderr
    assert "go.mod" in proc.stderr and "v1.13.3" in proc.stderr
    assert "go get github.com/aws/aws-lambda-go@latest && go mod tidy" in proc.stderr
    calls = log.read_text().split()
    assert "list" in calls and "build" not in calls, calls  # planned, never compiled
    assert not (root / "dist" / "legacy.zip").exists()


def test_plan_reports_old_aws_lambda_go(project):
    root = project("oldlambda")
    plan = gobuild_lambda.plan(root)
    assert plan.function("legacy").old_lambda_go == "v1.13.3"
    proc = run_gbl("plan", "-C", str(root))
    assert proc.returncode == 0
    assert "go.mod requires github.com/aws/aws-lambda-go v1.13.3" in proc.stderr
    assert "go get github.com/aws/aws-lambda-go@latest" in proc.stderr


# ------------------------------------------------------------------- planner defects (#16)
def test_odd_directory_names_are_reported_as_malformed_import_paths(project):
    root = project("plan_cases")
    for d in ("cmd/[/nope", "cmd/café", "cmd/my func"):
        (root / d).mkdir(parents=True)
        (root / d / "main.go").write_text("package main\n\nfunc main() {}\n")
    proc = run_gbl("plan", "-v", "-C", str(root))
    assert proc.returncode == 0, proc.stderr  # no rich markup error
    for d, ch in (("cmd/[/nope", "["), ("cmd/café", "é"), ("cmd/my func", " ")):
        line = next(x for x in proc.stderr.splitlines() if x.startswith(f"skipped {d}:"))
        assert "malformed import path" in line and repr(ch) in line and "rename the directory" in line


def test_run_from_a_subdirectory_finds_the_module_or_workspace_above(project):
    root = project("workspace")
    # api/ is a module of the go.work above it: planned and built with that workspace, as `go` would
    sub = root / "api" / "cmd" / "ping"
    report = gobuild_lambda.build(sub)
    assert report.plan.project_dir == (root / "api").resolve()
    assert report.plan.function("ping").gowork == str((root / "go.work").resolve())
    assert built(report, root / "api") == {"ping": ("amd64", ".")}
    # with GOWORK=off, api alone cannot see example.com/ws/shared: Go's own error, naming ping
    with pytest.raises(errors.BuildFailed) as exc:
        gobuild_lambda.build(sub, env={**os.environ, "GOWORK": "off"})
    assert "example.com/ws/shared" in exc.value.report.results[0].error


def test_cli_run_from_a_subdirectory_of_a_single_module(project):
    root = project("discover_packages")
    proc = run_gbl("plan", "--json", cwd=root / "functions" / "nested")
    assert proc.returncode == 0, proc.stderr
    assert sorted(f["name"] for f in json.loads(proc.stdout)["functions"]) == [
        "alpha", "beta", "discover_packages", "lambda-handler"]


def test_docker_build_calls_run_in_the_module_directory_with_the_workspace(project, tmp_path):
    """builder = "docker": the container's working directory is the function's module, and the
    user's go.work is the container's path of it (the spec is pure; the docker tests run builds)."""
    from gobuild_lambda.builders import calls as builder
    from gobuild_lambda.builders import docker as docker_build

    env = {**os.environ, "HOME": str(tmp_path / "home")}
    for shape, fn, workdir, gowork in (("sam_init", "goodbye", "/src/goodbye", "off"),
                                       ("workspace", "ping", "/src/api", "/src/go.work")):
        root = project(shape)
        plan = gobuild_lambda.plan(root, builder="docker", image="golang:1.26")
        settings = docker_build.resolve_settings(plan, env, platform="linux")
        call = builder.plan_calls([plan.function(fn)], plan.project_dir, jobs=1)[0]
        assert call.cwd == root.resolve() / workdir[len("/src/"):]
        # the warm container runs each `go build` by exec, in this directory with this environment
        from gobuild_lambda.builders import warm

        assert warm.container_workdir(plan.function(fn).module_dir) == workdir
        assert docker_build.exec_environment(plan, settings, dict(call.env))["GOWORK"] == gowork


def test_cloudformation_json_template_with_local_code_and_s3_code(project):
    root = project("sam_handlers")
    (root / "template.yaml").unlink()
    (root / "template.json").write_text(json.dumps({"Resources": {
        "Orders": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": "handlers/orders", "Handler": "bootstrap", "Runtime": "provided.al2",
            "Architectures": ["arm64"], "Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Remote": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": "b", "S3Key": "k.zip"}, "Handler": "bootstrap", "Runtime": "provided.al2023"}},
        "Node": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"ZipFile": "exports.handler = 1"}, "Handler": "index.handler", "Runtime": "nodejs20.x"}},
    }}))
    plan = gobuild_lambda.plan(root)
    orders = plan.function("orders")
    assert (orders.arch, orders.runtime, orders.template) == ("arm64", "provided.al2", "template.json:Orders")
    why = {s.rel_dir: s.reason for s in plan.skipped}
    assert why["template.json:Remote"] == "code in S3, not in this repository"
    assert why["template.json:Node"] == "runtime nodejs20.x, not Go"


def test_old_aws_lambda_go_after_a_good_build_starts_no_speculative_go_build(project, tmp_path):
    """A module downgraded after a build: last build's calls are not started again either."""
    root = project("discover_packages")
    gobuild_lambda.build(root)
    go_mod = root / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("v1.55.1", "v1.13.3"))
    (root / "go.sum").write_text((FIXTURES / "oldlambda" / "go.sum").read_text())
    wrapper, log = _logging_go(tmp_path)
    proc = run_gbl("build", "-C", str(root), env={**os.environ, "GBL_GO": str(wrapper)})
    assert proc.returncode == 3, proc.stderr
    assert "v1.13.3" in proc.stderr and "build" not in log.read_text().split()


# ------------------------------------------------------------ every shape answers when invoked
def invoke_all(root) -> dict:
    """`gbl invoke --all --json` (the real emulator; arm64 under qemu): {name: (arch, response)}."""
    proc = run_gbl("invoke", "--all", "--json", "-C", str(root))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"], doc
    return {f["function"]: (f["arch"], f["response"]) for f in doc["functions"]}


@pytest.mark.parametrize("shape, expected", [
    ("sam_init", {"hello-world": ("amd64", {"from": "hello"}), "goodbye": ("arm64", {"from": "goodbye"})}),
    ("sam_handlers", {"orders": ("arm64", {"from": "orders"}), "payments": ("amd64", {"from": "payments"})}),
    ("discover_packages", {"alpha": ("amd64", {"from": "alpha"}), "beta": ("amd64", {"from": "beta"}),
                           "lambda-handler": ("amd64", {"from": "handler"}),
                           "discover_packages": ("amd64", {"from": "root"})}),
    ("multi_module", {"one": ("amd64", {"from": "one"}), "two": ("amd64", {"from": "two"})}),
    ("workspace", {"ping": ("amd64", {"from": "shared"})}),  # imports the workspace module
])
def test_every_shape_builds_and_each_zip_answers_through_gbl_invoke(project, shape, expected):
    root = project(shape)
    assert invoke_all(root) == expected
    # the zips gbl invoke ran are the verified ones of the manifest
    from gobuild_lambda import manifest as manifest_mod

    entries = manifest_mod.read(root / "dist").entries
    assert {n: e.arch for n, e in entries.items()} == {n: a for n, (a, _) in expected.items()}


def test_template_parse_is_cached_by_hash_and_the_cache_is_only_data(project, tmp_path):
    """A no-op plan of a SAM repository reads the YAML template's parse from .gbl/templates.json
    (keyed by its sha256); a planted cache entry is checked like the template itself."""
    import hashlib

    from gobuild_lambda import discover

    root = project("sam_init")
    first = gobuild_lambda.build(root)
    cache_file = root / discover.TEMPLATE_CACHE
    cache = json.loads(cache_file.read_text())
    (key, entry), = cache.items()
    assert entry["sha256"] == hashlib.sha256((root / "template.yaml").read_bytes()).hexdigest()
    # A planted entry for the current bytes that points a function outside the project is refused
    # exactly as the same template text would be.
    entry["data"]["Resources"]["HelloWorldFunction"]["Properties"]["CodeUri"] = str(tmp_path)
    cache_file.write_text(json.dumps({key: entry}))
    plan = gobuild_lambda.plan(root)
    why = {s.rel_dir: s.reason for s in plan.skipped}
    assert "outside the project" in why["template.yaml:HelloWorldFunction"]
    # A changed template is parsed again (the hash no longer matches the cache).
    text = (root / "template.yaml").read_text()
    (root / "template.yaml").write_text(text + "\n# edited\n")
    again = gobuild_lambda.plan(root)
    assert {f.name for f in again.functions} == {f.name for f in first.plan.functions}
