"""gbl migrate under hostile or unusual files (issue 16): symbolic links, read-only templates,
YAML anchors, aliases and merge keys.  Real files, real links, real permission bits."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild_lambda import errors
from gobuild_lambda.migrate import migrate_files, migrate_template

from test_migrate import TARGETS, fake_plan, sam

GO = sam("Runtime: go1.x\nHandler: api\nCodeUri: api/")


# ------------------------------------------------------------------------------- symlinks
@pytest.mark.skipif(os.name == "nt", reason="POSIX symbolic links")
def test_write_through_a_symlink_migrates_the_real_template_and_keeps_the_link(tmp_path):
    real_dir = tmp_path / "infra"
    real_dir.mkdir()
    real = real_dir / "stack.yaml"
    real.write_text(GO)
    link = tmp_path / "template.yaml"
    link.symlink_to(Path("infra") / "stack.yaml")

    report = migrate_files([link], fake_plan(tmp_path), write=True)
    assert report.written == (link,)
    assert link.is_symlink() and os.readlink(link) == os.path.join("infra", "stack.yaml")
    assert "Runtime: provided.al2023" in real.read_text() and "go1.x" not in real.read_text()
    # the zip path is relative to the file that was written (the link's target)
    assert "CodeUri: ../dist/api.zip" in real.read_text()
    assert sorted(p.name for p in real_dir.iterdir()) == ["stack.yaml"]  # no temporary left


# ------------------------------------------------------------------------------ read-only
@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_a_read_only_template_is_refused_and_nothing_is_written(tmp_path):
    other = tmp_path / "a.template"
    other.write_text(GO)
    path = tmp_path / "template.yaml"
    path.write_text(GO)
    path.chmod(0o444)
    with pytest.raises(errors.OutputError) as exc:
        migrate_files([other, path], fake_plan(tmp_path), write=True)
    assert exc.value.exit_code == errors.EXIT_OUTPUT
    assert "read-only (mode 0444)" in str(exc.value) and str(path) in str(exc.value)
    assert "chmod u+w" in exc.value.hint
    assert path.read_text() == GO and other.read_text() == GO  # neither was written
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    # without --write it still prints the diff
    assert migrate_files([path], fake_plan(tmp_path)).results[0].changed


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_cli_write_on_a_read_only_template_exits_10_with_the_message(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(GO)
    path.chmod(0o444)
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "cmd" / "api").mkdir(parents=True)
    (tmp_path / "cmd" / "api" / "main.go").write_text("package main\n\nfunc main() {}\n")
    proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", "migrate", "--write", "-C", str(tmp_path),
                           str(path)], capture_output=True, text=True)
    assert proc.returncode == 10, proc.stderr
    assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_text() == GO


# ----------------------------------------------------------------- anchors and merge keys
MERGED_ALL_GO = """Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      <<: &go
        Runtime: go1.x
        Timeout: 10
      Handler: api
      CodeUri: api/
  Report:
    Type: AWS::Serverless::Function
    Properties:
      <<: *go
      Handler: nightly-report
      CodeUri: report/
"""


def test_merge_key_shared_by_go_functions_only_is_edited_once_at_the_anchor():
    result = migrate_template(MERGED_ALL_GO, TARGETS)
    assert result.migrated == MERGED_ALL_GO.replace("Runtime: go1.x", "Runtime: provided.al2023").replace(
        "Handler: api", "Handler: bootstrap").replace("Handler: nightly-report", "Handler: bootstrap").replace(
        "CodeUri: api/", "CodeUri: dist/api.zip").replace("CodeUri: report/", "CodeUri: dist/nightly-report.zip")
    assert not result.problems
    assert result.go1x_before == ("Api", "Report") and result.go1x_after == ()
    assert sorted(str(c) for c in result.changes if c.key == "Runtime") == [
        "Api: Runtime: go1.x -> provided.al2023", "Report: Runtime: go1.x -> provided.al2023"]
    assert migrate_template(result.migrated, TARGETS).changes == ()


def test_merge_key_shared_with_a_function_gbl_does_not_build_gets_own_keys():
    text = """x-go: &go
  Runtime: go1.x
  Architectures: [x86_64]
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      <<: *go
      Handler: echo
      CodeUri: echo/
  Legacy:
    Type: AWS::Serverless::Function
    Properties:
      <<: *go
      Handler: legacy
      CodeUri: legacy/
"""
    result = migrate_template(text, TARGETS)
    # the anchor keeps go1.x (Legacy still needs it); Echo overrides it with its own keys
    assert result.migrated.startswith("x-go: &go\n  Runtime: go1.x\n  Architectures: [x86_64]\n")
    assert ("      <<: *go\n      Handler: bootstrap\n      Runtime: provided.al2023\n"
            "      Architectures:\n        - arm64\n      CodeUri: dist/echo.zip\n") in result.migrated
    assert result.migrated.endswith("      <<: *go\n      Handler: legacy\n      CodeUri: legacy/\n")
    assert result.go1x_after == ("Legacy",)
    (problem,) = result.problems
    assert problem.resource == "Legacy" and "names no gbl function" in problem.message
    again = migrate_template(result.migrated, TARGETS)
    assert again.changes == () and again.go1x_after == ("Legacy",)


def test_merge_key_in_the_resource_brings_type_and_runtime():
    text = """Resources:
  Api:
    <<: &fn
      Type: AWS::Serverless::Function
    Properties:
      Runtime: go1.x
      Handler: api
      CodeUri: api/
  Echo:
    <<: *fn
    Properties: {Runtime: go1.x, Handler: echo, CodeUri: echo/}
"""
    result = migrate_template(text, TARGETS)
    assert result.go1x_before == ("Api", "Echo") and result.go1x_after == ()
    assert "Properties: {Runtime: provided.al2023, Architectures: [arm64], Handler: bootstrap, " \
           "CodeUri: dist/echo.zip}" in result.migrated


def test_scalar_alias_between_two_go_functions_is_edited_once():
    text = sam("Runtime: &rt go1.x\nHandler: api\nCodeUri: api/") + (
        "  Report:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Runtime: *rt\n      Handler: nightly-report\n      CodeUri: r/\n")
    result = migrate_template(text, TARGETS)
    assert "Runtime: &rt provided.al2023\n" in result.migrated and "Runtime: *rt\n" in result.migrated
    assert result.go1x_after == () and not result.problems


def test_shared_properties_needing_different_edits_are_left_whole_and_reported():
    # both functions ARE the same mapping: api (amd64) and echo (arm64) cannot both be right
    text = """Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties: &props
      Runtime: go1.x
      Handler: api
      CodeUri: api/
  Echo:
    Type: AWS::Serverless::Function
    Properties: *props
"""
    result = migrate_template(text, {"api": TARGETS["api"], "echo": TARGETS["echo"]})
    # Echo matches "api" by its handler too, so both want the same edits: edited once
    assert result.go1x_after == () and result.migrated.count("Handler: bootstrap") == 1

    arm = {"api": TARGETS["echo"].__class__("api", "arm64", "dist/api.zip")}
    text2 = text + """  Other:
    Type: AWS::Serverless::Function
    Properties:
      <<: *props
      Handler: orders
      CodeUri: orders/
"""
    result = migrate_template(text2, arm)
    assert result.migrated == text2  # nothing half-migrated, no "overlapping template edits"
    problems = {p.resource: p for p in result.problems}
    assert "Other" in problems and "names no gbl function" in problems["Other"].message
    assert "YAML anchor" in problems["Api"].message and "alias or merge key" in problems["Api"].message
    assert problems["Api"].hint
    assert set(result.go1x_after) == {"Api", "Echo", "Other"}


def test_alias_defined_outside_the_functions_is_reported_not_edited():
    text = "x: &rt go1.x\n" + sam("Runtime: *rt\nHandler: api\nCodeUri: api/")
    result = migrate_template(text, TARGETS)
    assert result.migrated == text
    (problem,) = result.problems
    assert "alias" in problem.message and "YAML anchor (line 1)" in problem.message


def test_billion_laughs_anchors_stay_cheap():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = "\n".join(lines) + "\n" + sam("Runtime: go1.x\nHandler: api\nCodeUri: api/")
    result = migrate_template(text, TARGETS)
    assert "Handler: bootstrap" in result.migrated


def test_cli_on_shared_properties_exits_0_not_1(tmp_path):
    # was: rc 1 "internal error: overlapping template edits"
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "cmd" / "api").mkdir(parents=True)
    (tmp_path / "cmd" / "api" / "main.go").write_text("package main\n\nfunc main() {}\n")
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: &p\n"
                    "      Runtime: go1.x\n      Handler: api\n      CodeUri: api/\n"
                    "  B:\n    Type: AWS::Serverless::Function\n    Properties: *p\n")
    proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", "migrate", "--write", "--check", "-C", str(tmp_path),
                           str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == ("Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: &p\n"
                                "      Runtime: provided.al2023\n      Handler: bootstrap\n      CodeUri: dist/api.zip\n"
                                "  B:\n    Type: AWS::Serverless::Function\n    Properties: *p\n")
