"""gbl migrate: go1.x SAM / CloudFormation templates moved to provided.al2023, byte for byte.

Everything here runs without Go: the plan is built by hand (three functions, as in sample_project:
api amd64, echo arm64, nightly-report amd64).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from gobuild_lambda import errors
from gobuild_lambda.config import Config
from gobuild_lambda.migrate import (
    FunctionTarget,
    check_go_mod,
    find_go1x_templates,
    find_templates,
    lambda_go_requirement,
    lambda_go_too_old,
    migrate_files,
    migrate_template,
)
from gobuild_lambda.planner import Function, Plan

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "migrate"
TARGETS = {
    "api": FunctionTarget("api", "amd64", "dist/api.zip"),
    "echo": FunctionTarget("echo", "arm64", "dist/echo.zip"),
    "nightly-report": FunctionTarget("nightly-report", "amd64", "dist/nightly-report.zip"),
}


def fake_function(name: str, arch: str = "amd64", rel_dir: str | None = None, runtime: str = "provided.al2023"):
    rel_dir = rel_dir or f"cmd/{name}"
    return Function(
        name=name, package=f"example.com/sample/{rel_dir}", rel_dir=rel_dir, arch=arch, runtime=runtime,
        tags=("lambda.norpc",), ldflags="-s -w", env=(), include=(), builder="local", image="",
        memory=128, timeout=3,
    )


def fake_plan(project_dir: Path) -> Plan:
    functions = (
        fake_function("api"),
        fake_function("echo", "arm64"),
        fake_function("nightly-report", rel_dir="cmd/jobs/nightly-report"),
    )
    return Plan(project_dir, "example.com/sample", "1.22", "", Config(path=None), functions, ())


def copy_fixture(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


# ------------------------------------------------------------------------ the realistic fixtures
@pytest.mark.parametrize("fixture, template, expected", [
    ("sam", "template.yaml", "expected.yaml"),
    ("cfn", "template.json", "expected.json"),
    ("sam_mixed", "template.yaml", "expected.yaml"),
])
def test_fixture_migrates_to_the_checked_in_file_byte_for_byte(tmp_path, fixture, template, expected):
    project = copy_fixture(fixture, tmp_path)
    path = project / template
    before = path.read_bytes()

    report = migrate_files([path], fake_plan(project))
    (result,) = report.results
    assert result.migrated.encode("utf-8") == (project / expected).read_bytes()
    assert path.read_bytes() == before, "without --write nothing is written"
    assert result.diff().startswith(f"--- {path.as_posix()}\n+++ {path.as_posix()}\n")

    report = migrate_files([path], fake_plan(project), write=True)
    assert report.written == (path,)
    assert path.read_bytes() == (project / expected).read_bytes()

    again = migrate_files([path], fake_plan(project), write=True)
    (second,) = again.results
    assert second.diff() == "" and second.changes == () and again.written == ()
    assert path.read_bytes() == (project / expected).read_bytes()


def test_sam_fixture_changes_exactly_the_go_functions():
    text = read(FIXTURES / "sam" / "template.yaml")
    result = migrate_template(text, TARGETS, path="template.yaml")
    assert [str(c) for c in result.changes] == [
        "Globals.Function: Runtime: go1.x -> provided.al2023",
        "ApiFunction: CodeUri: api/ -> dist/api.zip",
        "ApiFunction: Handler: api -> bootstrap",
        "EchoFunction: CodeUri: ./echo -> dist/echo.zip",
        "EchoFunction: Handler: echo -> bootstrap",
        "EchoFunction: Runtime: go1.x -> provided.al2023",
        "EchoFunction: added Architectures: [arm64]",
    ]
    # the Python function, the S3 function, parameters, conditions and outputs: untouched
    (problem,) = result.problems
    assert problem.resource == "NightlyReportFunction" and "S3Bucket/S3Key" in problem.message
    assert result.go1x_before == ("ApiFunction", "EchoFunction", "NightlyReportFunction", "Globals")
    assert result.go1x_after == ("NightlyReportFunction",)
    python = text[text.index("  # Thumbnails"):text.index("  # The nightly")]
    s3 = text[text.index("  # The nightly"):text.index("  NightlyReportRole:")]
    assert python in result.migrated and s3 in result.migrated
    assert text[text.index("\nOutputs:"):] == result.migrated[result.migrated.index("\nOutputs:"):]
    assert text[:text.index("Globals:")] == result.migrated[:result.migrated.index("Globals:")]
    for kept in ("!Sub \"${AWS::StackName}-echo\"", "!GetAtt EchoQueue.QueueName", "!If [IsProd, Active, PassThrough]",
                 "AllowedValues: [dev, prod]", "Runtime: python3.12", "S3Key: !Sub", "# Thumbnails are Python"):
        assert kept in result.migrated


def test_json_fixture_stays_valid_json_with_its_layout():
    text = read(FIXTURES / "cfn" / "template.json")
    result = migrate_template(text, TARGETS, path="template.json")
    doc = json.loads(result.migrated)
    echo = doc["Resources"]["EchoFunction"]["Properties"]
    assert echo == {
        "Handler": "bootstrap", "Runtime": "provided.al2023", "Architectures": ["arm64"],
        "Code": "dist/echo.zip", "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
    }
    assert list(doc["Resources"]) == list(json.loads(text)["Resources"])  # key order
    assert doc["Resources"]["HealthFunction"] == json.loads(text)["Resources"]["HealthFunction"]
    # "Handler": "main" was matched by the code's file name (build/echo.zip)
    assert any(str(c) == "EchoFunction: Handler: main -> bootstrap" for c in result.changes)


def test_globals_stay_when_a_function_gbl_does_not_build_inherits_them():
    result = migrate_template(read(FIXTURES / "sam_mixed" / "template.yaml"), TARGETS)
    assert "Runtime: go1.x\n    Architectures: [arm64]" in result.migrated  # Globals untouched
    assert not any(c.resource == "Globals" for c in result.changes)
    assert result.go1x_after == ("LegacyWorker", "Globals")
    (problem,) = result.problems
    assert problem.resource == "LegacyWorker" and '"legacy-worker" names no gbl function' in problem.message


# ------------------------------------------------------------------------- what gets reported
def test_unknown_handler_s3_code_and_old_aws_lambda_go_are_reported(tmp_path):
    project = copy_fixture("problems", tmp_path)
    path = project / "template.yaml"
    report = migrate_files([path], fake_plan(project), write=True)
    (result,) = report.results

    # the one function gbl builds from local code still migrates
    assert [str(c) for c in result.changes] == [
        "ApiFunction: Runtime: go1.x -> provided.al2023",
        "ApiFunction: Handler: api -> bootstrap",
        "ApiFunction: CodeUri: api/ -> dist/api.zip",
    ]
    problems = {p.resource: p for p in result.problems}
    assert set(problems) == {"WorkerFunction", "NightlyReportFunction"}

    worker = problems["WorkerFunction"]
    assert worker.line == 17  # the Handler line
    assert 'Handler "worker" names no gbl function' in worker.message
    assert "api, echo, nightly-report" in worker.message
    assert "cmd/worker/" in worker.hint and 'name = "worker"' in worker.hint and "gbl.toml" in worker.hint
    assert str(worker).startswith(f"{path.as_posix()}:17: WorkerFunction: ")

    s3 = problems["NightlyReportFunction"]
    assert s3.line == 27 and "stored in S3 (S3Bucket/S3Key)" in s3.message
    assert "gbl build nightly-report" in s3.hint and "dist/nightly-report.zip" in s3.hint
    assert "aws cloudformation package" in s3.hint

    (gomod,) = report.problems
    assert gomod.path == project / "go.mod" and gomod.line == 6
    assert "github.com/aws/aws-lambda-go v1.17.0" in gomod.message and "hang" in gomod.message
    assert "`go get github.com/aws/aws-lambda-go@latest`" in gomod.hint

    assert set(result.go1x_after) == {"WorkerFunction", "NightlyReportFunction"}
    with pytest.raises(errors.MigrateCheckFailed) as exc:
        report.check(written=True)
    assert exc.value.exit_code == errors.EXIT_MIGRATE_CHECK == 9
    assert "still on the retired go1.x runtime: " in str(exc.value)
    assert "(WorkerFunction, NightlyReportFunction)" in str(exc.value)


def test_check_passes_once_migrated_and_fails_before(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(sam("Runtime: go1.x\nHandler: api\nCodeUri: api/"))
    project = tmp_path
    before = migrate_files([path], fake_plan(project))
    with pytest.raises(errors.MigrateCheckFailed):
        before.check(written=False)
    migrate_files([path], fake_plan(project), write=True).check(written=True)
    migrate_files([path], fake_plan(project)).check(written=False)


@pytest.mark.parametrize("go_mod, version, line", [
    ("module m\n\nrequire github.com/aws/aws-lambda-go v1.17.0\n", "v1.17.0", 3),
    ("module m\nrequire (\n\tgithub.com/aws/aws-lambda-go v1.13.3 // indirect\n)\n", "v1.13.3", 3),
    ("module m\nrequire (\n\tgithub.com/aws/aws-lambda-go v1.17.0\n)\n"
     "replace github.com/aws/aws-lambda-go => github.com/aws/aws-lambda-go v1.47.0\n", "v1.47.0", 5),
    ("module m\n// require github.com/aws/aws-lambda-go v1.1.0\n", None, None),
    ("module m\nrequire github.com/aws/aws-lambda-go-extra v1.1.0\n", None, None),
])
def test_aws_lambda_go_requirement_is_read_from_go_mod(go_mod, version, line):
    found = lambda_go_requirement(go_mod)
    assert found == ((version, line) if version else None)


@pytest.mark.parametrize("version, old", [
    ("v1.17.0", True), ("v1.17.1-0.20200602173538-8f6c2f5c1e43", True), ("v1.18.0-rc1", True),
    ("v1.18.0", False), ("v1.18.1-0.20200701000000-abcdef123456", False), ("v1.55.1", False), ("v2.0.0", False),
    ("v0.9.0", True),
])
def test_aws_lambda_go_threshold_is_v1_18_0(version, old):
    assert lambda_go_too_old(version) is old


def test_go_mod_without_old_aws_lambda_go_is_fine(tmp_path):
    (tmp_path / "go.mod").write_text("module m\n\nrequire github.com/aws/aws-lambda-go v1.55.1\n")
    assert check_go_mod(tmp_path / "go.mod") == ()
    assert check_go_mod(tmp_path / "missing.mod") == ()


# --------------------------------------------------------------------------- matching and Globals
SAM_FN = """Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
{props}"""


def sam(props: str) -> str:
    return SAM_FN.format(props="".join(f"      {line}\n" for line in props.strip("\n").splitlines()))


def test_handler_path_and_code_directory_name_match_functions():
    result = migrate_template(sam("Runtime: go1.x\nHandler: bin/api\nCodeUri: functions/api/"), TARGETS)
    assert "Handler: bootstrap" in result.migrated and "CodeUri: dist/api.zip" in result.migrated
    # every go1.x binary called "main": the code directory tells them apart
    result = migrate_template(sam("Runtime: go1.x\nHandler: main\nCodeUri: functions/nightly-report/"), TARGETS)
    assert "CodeUri: dist/nightly-report.zip" in result.migrated and not result.problems


def test_architectures_follow_the_function_arch():
    amd = migrate_template(sam("Runtime: go1.x\nHandler: api\nCodeUri: a/\nArchitectures:\n- arm64"), TARGETS)
    assert amd.migrated.endswith("Architectures:\n      - x86_64\n")
    arm = migrate_template(sam("Runtime: go1.x\nHandler: echo\nCodeUri: e/\nArchitectures: [x86_64]"), TARGETS)
    assert "Architectures: [arm64]" in arm.migrated
    plain = migrate_template(sam("Runtime: go1.x\nHandler: api\nCodeUri: a/"), TARGETS)
    assert "Architectures" not in plain.migrated  # amd64 is Lambda's default: nothing to add


def test_runtime_choice_and_arch_override():
    result = migrate_template(sam("Runtime: go1.x\nHandler: api\nCodeUri: a/"), TARGETS, runtime="provided.al2")
    assert "Runtime: provided.al2\n" in result.migrated
    with pytest.raises(errors.UsageError):
        migrate_template(sam("Runtime: go1.x"), TARGETS, runtime="go1.x")
    with pytest.raises(errors.UsageError):
        migrate_files([], fake_plan(Path(".")), arch="x86")


def test_globals_handler_and_runtime_change_in_globals_when_every_heir_is_go():
    text = """Globals:
  Function:
    Runtime: go1.x
    Handler: main
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/nightly-report/
"""
    result = migrate_template(text, TARGETS)
    assert result.migrated.startswith("Globals:\n  Function:\n    Runtime: provided.al2023\n    Handler: bootstrap\n")
    assert "CodeUri: dist/api.zip" in result.migrated and "CodeUri: dist/nightly-report.zip" in result.migrated
    assert not result.problems and result.go1x_after == ()


def test_functions_not_migrated_are_left_exactly_as_they_were():
    cases = {
        "its CodeUri is computed": "Runtime: go1.x\nHandler: api\nCodeUri: !Sub '${Dir}/api'",
        "inline (InlineCode)": "Runtime: go1.x\nHandler: api\nInlineCode: package main",
        "stored in S3": "Runtime: go1.x\nHandler: api\nCodeUri: s3://bucket/api.zip",
        "S3 (Bucket/Key)": "Runtime: go1.x\nHandler: api\nCodeUri:\n  Bucket: b\n  Key: k",
        "names no gbl function": "Runtime: go1.x\nHandler: orders\nCodeUri: orders/",
        "its Handler is computed": "Runtime: go1.x\nHandler: !Ref HandlerName\nCodeUri: api/",
    }
    for message, props in cases.items():
        text = sam(props)
        result = migrate_template(text, TARGETS)
        assert result.migrated == text, message
        (problem,) = result.problems
        assert message in problem.message and problem.hint
        assert result.go1x_after == ("Fn",)


def test_runtime_from_a_go1x_parameter_is_reported():
    text = "Parameters:\n  GoRuntime:\n    Type: String\n    Default: go1.x\n" + sam(
        "Runtime: !Ref GoRuntime\nHandler: api\nCodeUri: api/")
    result = migrate_template(text, TARGETS)
    assert result.migrated == text
    (problem,) = result.problems
    assert "parameter GoRuntime" in problem.message and "Runtime: go1.x" in problem.hint


def test_yaml_alias_is_not_edited_through_its_anchor():
    text = "x: &rt go1.x\n" + sam("Runtime: *rt\nHandler: api\nCodeUri: api/")
    result = migrate_template(text, TARGETS)
    assert result.migrated == text and "alias" in result.problems[0].message


def test_non_go_and_non_templates():
    text = sam("Runtime: provided.al2023\nHandler: bootstrap\nCodeUri: dist/api.zip")
    assert migrate_template(text, TARGETS).migrated == text
    result = migrate_template("just: yaml\n", TARGETS)
    assert result.migrated == "just: yaml\n" and "no Resources" in result.problems[0].message
    with pytest.raises(errors.UsageError) as exc:
        migrate_template("Resources:\n  A: [unclosed\n", TARGETS, path="bad.yaml")
    assert "not valid YAML" in str(exc.value) and "line" in str(exc.value)
    with pytest.raises(errors.UsageError) as exc:
        migrate_template('{"Resources": }', TARGETS, path="bad.json")
    assert "not valid JSON" in str(exc.value) and "line 1" in str(exc.value)


# ------------------------------------------------------------------------------ text fidelity
def test_crlf_bom_and_missing_final_newline_are_kept():
    text = "\ufeff" + sam("Runtime: go1.x  # old\nHandler: echo\nCodeUri: echo/").replace("\n", "\r\n").rstrip("\r\n")
    result = migrate_template(text, TARGETS)
    assert result.migrated.startswith("\ufeffResources:\r\n")
    assert "\n" not in result.migrated.replace("\r\n", "")
    assert "Runtime: provided.al2023  # old\r\n      Architectures:\r\n        - arm64\r\n" in result.migrated
    assert result.migrated.endswith("CodeUri: dist/echo.zip")
    assert migrate_template(result.migrated, TARGETS).changes == ()
    assert "\\ No newline at end of file" in result.diff()


def test_flow_mappings_tabs_and_compact_json():
    flow = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: go1.x, Handler: echo, CodeUri: e/}\n"
    out = migrate_template(flow, TARGETS).migrated
    assert out.endswith("Properties: {Runtime: provided.al2023, Architectures: [arm64], Handler: bootstrap, CodeUri: dist/echo.zip}\n")
    compact = '{"Resources":{"F":{"Type":"AWS::Lambda::Function","Properties":{"Runtime":"go1.x","Handler":"echo","Code":"e.zip"}}}}'
    out = migrate_template(compact, TARGETS, path="t.json").migrated
    assert out == compact.replace('"go1.x"', '"provided.al2023","Architectures":["arm64"]').replace(
        '"echo"', '"bootstrap"').replace('"e.zip"', '"dist/echo.zip"')
    tabs = '{\n\t"Resources": {\n\t\t"F": {\n\t\t\t"Type": "AWS::Lambda::Function",\n\t\t\t"Properties": {\n' \
           '\t\t\t\t"Handler" : "echo",\n\t\t\t\t"Runtime" : "go1.x",\n\t\t\t\t"Code" : "e.zip"\n\t\t\t}\n\t\t}\n\t}\n}\n'
    out = migrate_template(tabs, TARGETS, path="t.template").migrated
    assert '\t\t\t\t"Runtime" : "provided.al2023",\n\t\t\t\t"Architectures" : ["arm64"],\n' in out
    assert json.loads(out)["Resources"]["F"]["Properties"]["Code"] == "dist/echo.zip"


def test_quoting_style_is_kept_and_unsafe_paths_are_quoted():
    text = sam("Runtime: 'go1.x'\nHandler: \"api\"\nCodeUri: api/")
    targets = {"api": FunctionTarget("api", "amd64", "../my dist/api.zip")}
    out = migrate_template(text, targets).migrated
    assert "Runtime: 'provided.al2023'" in out and 'Handler: "bootstrap"' in out
    assert 'CodeUri: "../my dist/api.zip"' in out


def test_diff_applies_with_patch(tmp_path):
    if shutil.which("patch") is None:
        pytest.fail("patch is not installed (Debian package patch; .ci/setup installs it)")
    project = copy_fixture("sam", tmp_path)
    text = read(project / "template.yaml")
    diff = migrate_template(text, TARGETS, path=Path("template.yaml")).diff()
    assert diff.startswith("--- a/template.yaml\n+++ b/template.yaml\n")
    proc = subprocess.run(["patch", "-p1", "-s"], input=diff, text=True, cwd=project, capture_output=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert (project / "template.yaml").read_bytes() == (project / "expected.yaml").read_bytes()


# ---------------------------------------------------------------------------- files and writes
def test_zip_paths_are_relative_to_the_template(tmp_path):
    (tmp_path / "deploy").mkdir()
    path = tmp_path / "deploy" / "stack.yaml"
    path.write_text(sam("Runtime: go1.x\nHandler: api\nCodeUri: ../api/"))
    result = migrate_files([path], fake_plan(tmp_path)).results[0]
    assert "CodeUri: ../dist/api.zip" in result.migrated
    result = migrate_files([path], fake_plan(tmp_path), dist_dir=tmp_path / "out").results[0]
    assert "CodeUri: ../out/api.zip" in result.migrated
    result = migrate_files([path], fake_plan(tmp_path), arch="arm64").results[0]
    assert "- arm64" in result.migrated


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_write_is_atomic_keeps_the_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(sam("Runtime: go1.x\nHandler: api\nCodeUri: api/"))
    path.chmod(0o640)
    inode_dir = sorted(p.name for p in tmp_path.iterdir())
    migrate_files([path, tmp_path / "." / "template.yaml"], fake_plan(tmp_path), write=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == inode_dir
    assert "Handler: bootstrap" in path.read_text()


def test_a_bad_template_stops_the_run_before_anything_is_written(tmp_path):
    good = tmp_path / "template.yaml"
    good.write_text(sam("Runtime: go1.x\nHandler: api\nCodeUri: api/"))
    bad = tmp_path / "other.template"
    bad.write_text("Resources: [\n")
    with pytest.raises(errors.UsageError):
        migrate_files([good, bad], fake_plan(tmp_path), write=True)
    assert "go1.x" in good.read_text()
    with pytest.raises(errors.UsageError) as exc:
        migrate_files([tmp_path / "missing.yaml"], fake_plan(tmp_path))
    assert "no such file" in str(exc.value)


def test_find_go1x_templates_skips_build_output_and_prefilters(tmp_path):
    go = sam("Runtime: go1.x\nHandler: api\nCodeUri: api/")
    files = {
        "template.yaml": go,
        "cloudformation/stack.yaml": go,
        "infra/orders.template": go,
        "infra/other.yml": go,  # not a template name
        "template.json": '{"Resources": {}}',
        "dist/template.yaml": go,
        ".aws-sam/build/template.yaml": go,
        "node_modules/x/template.yaml": go,
        "vendor/template.yaml": go,
        # sam build's Go builder, not the runtime: fine
        "svc/template.yml": sam("Runtime: provided.al2023\nHandler: bootstrap\nCodeUri: api/").replace(
            "    Properties:", "    Metadata:\n      BuildMethod: go1.x\n    Properties:"),
        "broken/template.yaml": "Resources:\n  F: [\n    Runtime: go1.x\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = [p.relative_to(tmp_path).as_posix() for p in find_go1x_templates(tmp_path)]
    assert found == ["broken/template.yaml", "cloudformation/stack.yaml", "infra/orders.template", "template.yaml"]
    assert "svc/template.yml" in [p.relative_to(tmp_path).as_posix() for p in find_templates(tmp_path)]


def test_cloudformation_function_beside_sam_globals_gets_its_own_architectures():
    # Globals apply to AWS::Serverless::Function only: changing them must not stand in for the
    # CloudFormation function's Architectures
    text = """Globals:
  Function:
    Runtime: go1.x
    Architectures: [arm64]
Resources:
  Sam:
    Type: AWS::Serverless::Function
    Properties:
      Handler: api
      CodeUri: api/
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: go1.x
      Handler: echo
      Code: echo.zip
"""
    out = migrate_template(text, TARGETS).migrated
    assert "    Architectures: [x86_64]\n" in out  # Globals: every heir (Sam) is amd64
    assert out.endswith("      Runtime: provided.al2023\n      Architectures:\n        - arm64\n"
                        "      Handler: bootstrap\n      Code: dist/echo.zip\n")


# ------------------------------------------------------------------- property: any JSON layout
def _json_templates():
    from hypothesis import strategies as st

    handler = st.sampled_from(["api", "echo", "bin/api", "main", "unknown"])
    code = st.sampled_from(["src/api", "build/echo.zip", "s3://b/k.zip", {"S3Bucket": "b", "S3Key": "k"}, {"Ref": "X"}])

    @st.composite
    def template(draw):
        doc = {}
        if draw(st.booleans()):
            g = {"Runtime": "go1.x"}
            if draw(st.booleans()):
                g["Architectures"] = [draw(st.sampled_from(["x86_64", "arm64"]))]
            doc["Globals"] = {"Function": g}
        resources = {}
        for i in range(draw(st.integers(1, 3))):
            sam_fn = draw(st.booleans())
            items = [("Handler", draw(handler)), ("CodeUri" if sam_fn else "Code", draw(code)), ("Timeout", 3)]
            if "Globals" not in doc or not sam_fn or draw(st.booleans()):
                items.append(("Runtime", draw(st.sampled_from(["go1.x", "go1.x", "python3.12"]))))
            if draw(st.booleans()):
                items.append(("Architectures", [draw(st.sampled_from(["x86_64", "arm64"]))]))
            items = draw(st.permutations(items))
            resources[f"F{i}"] = {
                "Type": "AWS::Serverless::Function" if sam_fn else "AWS::Lambda::Function",
                "Properties": dict(items),
            }
        doc["Resources"] = resources
        indent = draw(st.sampled_from([None, 2, 4, "\t"]))
        separators = draw(st.sampled_from([None, (",", ":"), (", ", ": ")]))
        return doc, json.dumps(doc, indent=indent, separators=separators)

    return template()


def test_any_json_layout_migrates_exactly_the_go_functions():
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_json_templates())
    def check(case):
        doc, text = case
        result = migrate_template(text, TARGETS, path="t.json")
        out = json.loads(result.migrated)
        assert migrate_template(result.migrated, TARGETS, path="t.json").changes == ()
        old_globals = doc.get("Globals", {}).get("Function", {})
        new_globals = out.get("Globals", {}).get("Function", {})
        for name, resource in out["Resources"].items():
            sam_fn = resource["Type"] == "AWS::Serverless::Function"
            before = doc["Resources"][name]["Properties"]
            after = resource["Properties"]
            runtime = before.get("Runtime") or (old_globals.get("Runtime") if sam_fn else None)
            if runtime != "go1.x" or name in result.go1x_after:
                assert after == before  # not migrated: not touched
                continue
            assert (after.get("Runtime") or (new_globals.get("Runtime") if sam_fn else None)) == "provided.al2023"
            assert after["Handler"] == "bootstrap"
            zip_path = after["CodeUri" if sam_fn else "Code"]
            arch = after.get("Architectures") or (new_globals.get("Architectures") if sam_fn else None) or ["x86_64"]
            assert arch == (["arm64"] if zip_path == "dist/echo.zip" else ["x86_64"])
            assert {k: v for k, v in after.items() if k not in ("Runtime", "Handler", "CodeUri", "Code", "Architectures")} \
                == {k: v for k, v in before.items() if k not in ("Runtime", "Handler", "CodeUri", "Code", "Architectures")}

    check()
