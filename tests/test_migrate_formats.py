"""gbl migrate beyond SAM (issue 15): Serverless Framework, Terraform and CDK.

Checked-in before/after fixtures per format (tests/fixtures/migrate/<format>/): the output byte for
byte, a second run that changes nothing, --check failing before and passing after.  The Terraform
output is checked with hclfmt (HCL's own formatter, what `terraform fmt` runs).  The end-to-end
test builds the sample project for real and checks the zips against the declared arches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLE, copy_project, run_gbl
from gobuild_lambda import errors
from gobuild_lambda.migrate import (
    DeclaredArch, declared_architectures, declared_in_text, find_go1x_templates, find_migratable, migrate_files,
    migrate_text,
)
from test_migrate import TARGETS, fake_plan

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "migrate"
EDITED = [
    ("serverless/v3", "serverless.yml", "expected.yml"),
    ("serverless/v4", "serverless.yml", "expected.yml"),
    ("terraform", "main.tf", "expected.tf"),
]


def copy_case(case: str, tmp_path: Path) -> Path:
    dest = tmp_path / case.replace("/", "_")
    shutil.copytree(FIXTURES / case, dest)
    return dest


@pytest.mark.parametrize("case, name, expected", EDITED)
def test_fixture_migrates_byte_for_byte_once_and_check_follows(tmp_path, case, name, expected):
    project = copy_case(case, tmp_path)
    path = project / name
    before = path.read_bytes()
    want = (project / expected).read_bytes()

    report = migrate_files([path], fake_plan(project))
    (result,) = report.results
    assert result.migrated.encode("utf-8") == want
    assert path.read_bytes() == before  # no --write: nothing written
    with pytest.raises(errors.MigrateCheckFailed) as exc:
        report.check(written=False)
    assert exc.value.exit_code == 9

    report = migrate_files([path], fake_plan(project), write=True)
    assert report.written == (path,) and path.read_bytes() == want
    again = migrate_files([path], fake_plan(project), write=True)
    assert again.results[0].changes == () and again.written == () and path.read_bytes() == want
    if case == "serverless/v4":  # its worker names no gbl function: reported, still go1.x
        assert again.results[0].go1x_after == ("worker",)
        with pytest.raises(errors.MigrateCheckFailed):
            again.check(written=False)
    else:
        again.check(written=False)


def test_serverless_v3_changes_and_what_is_kept():
    text = (FIXTURES / "serverless/v3/serverless.yml").read_text()
    result = migrate_text(text, TARGETS, path="serverless.yml")
    assert [str(c) for c in result.changes] == [
        "provider: runtime: go1.x -> provided.al2023",
        "api: handler: bin/api -> bootstrap",
        "api: added package: {artifact: dist/api.zip}",
        "echo: handler: bin/echo -> bootstrap",
        "echo: architecture: x86_64 -> arm64",
        "echo: added package: {artifact: dist/echo.zip}",
        "nightly-report: handler: bin/nightly-report -> bootstrap",
        "nightly-report: added package: {artifact: dist/nightly-report.zip}",
    ]
    assert result.go1x_before == ("api", "echo", "nightly-report", "provider") and result.go1x_after == ()
    for kept in ("${opt:region, 'eu-west-1'}", "${self:service}-${sls:stage}-orders", "# every Go function inherits",
                 "runtime: python3.12", "    - '!./**'"):
        assert kept in result.migrated
    thumbs = text[text.index("  thumbnails:"):]
    assert result.migrated.endswith(thumbs)  # the Python function: untouched


def test_serverless_provider_runtime_stays_for_a_function_gbl_does_not_build():
    text = ("service: s\nprovider:\n  name: aws\n  runtime: go1.x\nfunctions:\n"
            "  api:\n    handler: bin/api\n  legacy:\n    handler: bin/legacy\n")
    result = migrate_text(text, TARGETS, path="serverless.yml")
    assert "  runtime: go1.x\n" in result.migrated  # legacy still inherits it
    assert ("  api:\n    handler: bootstrap\n    runtime: provided.al2023\n    package:\n"
            "      artifact: dist/api.zip\n") in result.migrated
    assert result.go1x_after == ("legacy", "provider")
    (problem,) = result.problems
    assert problem.resource == "legacy" and 'handler "bin/legacy" names no gbl function' in problem.message
    assert "cmd/legacy/" in problem.hint and problem.line == 9


def test_serverless_computed_or_s3_package_is_reported_untouched():
    text = ("service: s\nprovider:\n  name: aws\nfunctions:\n  api:\n    handler: bin/api\n    runtime: go1.x\n"
            "    package:\n      artifact: s3://bucket/api.zip\n")
    result = migrate_text(text, TARGETS, path="serverless.yml")
    assert result.migrated == text and result.go1x_after == ("api",)
    assert "package" in result.problems[0].message and "artifact: dist/api.zip" in result.problems[0].hint


def test_terraform_changes_and_the_removed_archive():
    text = (FIXTURES / "terraform/main.tf").read_text()
    result = migrate_text(text, TARGETS, path="main.tf")
    changes = [str(c) for c in result.changes]
    assert changes[0] == ("data.archive_file.api: archive_file: data.archive_file.api -> removed (it zipped "
                          "the old go1.x binary and nothing refers to it any more)")
    assert 'aws_lambda_function.echo: added source_code_hash: filebase64sha256("${path.module}/dist/echo.zip")' \
        in changes
    assert 'aws_lambda_function.echo: architectures: ["x86_64"] -> ["arm64"]' in changes
    assert "module.nightly_report: added create_package: false" in changes
    assert result.go1x_before == ("aws_lambda_function.api", "aws_lambda_function.echo", "module.nightly_report")
    assert result.go1x_after == ()
    # the Python function, comments, heredoc and the locals: byte for byte
    for kept in ('/* A Python function: not gbl\'s. runtime = "go1.x" in this comment is not code. */',
                 '  runtime       = "python3.12"\n', "# hashes here are text.\n  EOT\n",
                 'tags = { service = "orders" } // kept as written', '= "provided.al2023" # the retired runtime'):
        assert kept in result.migrated


def test_terraform_archive_still_used_elsewhere_is_kept_and_unknown_handlers_reported():
    text = '''data "archive_file" "api" {
  type        = "zip"
  source_file = "bin/api"
  output_path = "bin/api.zip"
}

output "zip" {
  value = data.archive_file.api.output_path
}

resource "aws_lambda_function" "api" {
  runtime  = "go1.x"
  handler  = "api"
  filename = data.archive_file.api.output_path
}

resource "aws_lambda_function" "worker" {
  runtime   = "go1.x"
  handler   = "worker"
  s3_bucket = "b"
}
'''
    result = migrate_text(text, TARGETS, path="main.tf")
    assert result.migrated.startswith('data "archive_file" "api" {')  # the output still uses it
    assert '  filename = "${path.module}/dist/api.zip"\n' in result.migrated
    assert result.go1x_after == ("aws_lambda_function.worker",)
    (problem,) = result.problems
    assert "names a gbl function" in problem.message and problem.line == 19 and "cmd/worker/" in problem.hint


def test_terraform_that_does_not_parse_is_a_usage_error():
    with pytest.raises(errors.UsageError) as exc:
        migrate_text('resource "aws_lambda_function" "x" {\n  runtime = "go1.x\n}\n', TARGETS, path="bad.tf")
    assert "not valid HCL" in str(exc.value) and "line 2" in str(exc.value)


def _hclfmt() -> str:
    found = shutil.which("hclfmt")
    if found is None:
        gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
        candidate = Path(gopath) / "bin" / "hclfmt"
        found = str(candidate) if candidate.exists() else None
    if found is None:
        pytest.fail("hclfmt is not installed (.ci/setup: go install github.com/hashicorp/hcl/v2/cmd/hclfmt@v2.25.0)")
    return found


def test_terraform_output_is_as_terraform_fmt_formats_it(tmp_path):
    hclfmt = _hclfmt()
    for name in ("main.tf", "expected.tf"):
        path = tmp_path / name
        shutil.copy(FIXTURES / "terraform" / name, path)
        proc = subprocess.run([hclfmt, "-require-no-change", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
    bad = tmp_path / "bad.tf"
    bad.write_text("a = 1\nbb = 2\n")  # the check can fail
    assert subprocess.run([hclfmt, "-require-no-change", str(bad)], capture_output=True).returncode != 0


@pytest.mark.parametrize("case, name", [("cdk/go", "stack.go"), ("cdk/ts", "stack.ts"), ("cdk/py", "stack.py")])
def test_cdk_uses_are_reported_with_file_line_and_the_replacement(tmp_path, case, name):
    project = copy_case(case, tmp_path)
    path = project / name
    before = path.read_bytes()
    report = migrate_files([path], fake_plan(project), write=True)
    (result,) = report.results
    assert path.read_bytes() == before and report.written == () and not result.changed  # never edited
    shown = "".join(str(p).replace(path.as_posix(), name) + "\n" for p in result.problems)
    assert shown == (project / "expected.txt").read_text()
    with pytest.raises(errors.MigrateCheckFailed) as exc:  # GO_1_X counts as go1.x
        report.check(written=True)
    assert "line " in str(exc.value)
    fixed = path.read_text().replace("Runtime.GO_1_X", "Runtime.PROVIDED_AL2023").replace(
        "Runtime_GO_1_X()", "Runtime_PROVIDED_AL2023()")
    path.write_text(fixed)
    migrate_files([path], fake_plan(project)).check(written=False)


def test_no_argument_finds_every_format_and_skips_build_output(tmp_path):
    for case, name in [("serverless/v3", "serverless.yml"), ("terraform", "main.tf"), ("cdk/ts", "stack.ts"),
                       ("cdk/go", "stack.go")]:
        dest = tmp_path / case / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / case / name, dest)
    (tmp_path / "cdk.out").mkdir()
    shutil.copy(FIXTURES / "cdk/ts/stack.ts", tmp_path / "cdk.out" / "stack.ts")
    (tmp_path / "node_modules").mkdir()
    shutil.copy(FIXTURES / "terraform/main.tf", tmp_path / "node_modules" / "main.tf")
    (tmp_path / "done.tf").write_text('resource "aws_lambda_function" "a" {\n  runtime = "provided.al2023"\n}\n')
    (tmp_path / "gofn.ts").write_text("new GoFunction(this, 'E', { entry: 'cmd/echo' });\n")  # reported, not go1.x
    rel = lambda paths: [p.relative_to(tmp_path).as_posix() for p in paths]  # noqa: E731
    assert rel(find_migratable(tmp_path)) == [
        "cdk/go/stack.go", "cdk/ts/stack.ts", "gofn.ts", "serverless/v3/serverless.yml", "terraform/main.tf"]
    assert rel(find_go1x_templates(tmp_path)) == [
        "cdk/go/stack.go", "cdk/ts/stack.ts", "serverless/v3/serverless.yml", "terraform/main.tf"]


# ---------------------------------------------------------------- declared architectures
def test_declared_architectures_per_format():
    names = ("api", "echo", "nightly-report")
    sls = declared_in_text((FIXTURES / "serverless/v3/expected.yml").read_text(), "serverless.yml", names)
    assert [(d.function, d.arch, d.line, d.format) for d in sls] == [
        ("api", "amd64", 20, "serverless"), ("echo", "arm64", 30, "serverless"),
        ("nightly-report", "amd64", 34, "serverless")]
    # the same functions before migration (matched by their go1.x handler)
    before = declared_in_text((FIXTURES / "serverless/v3/serverless.yml").read_text(), "serverless.yml", names)
    assert [(d.function, d.arch) for d in before] == [("api", "amd64"), ("echo", "amd64"), ("nightly-report", "amd64")]
    tf = declared_in_text((FIXTURES / "terraform/expected.tf").read_text(), "main.tf", names)
    assert [(d.function, d.arch, d.line) for d in tf] == [
        ("api", "amd64", 13), ("echo", "arm64", 35), ("nightly-report", "amd64", 52)]
    sam = declared_in_text((FIXTURES / "sam/expected.yaml").read_text(), "template.yaml", names)
    assert ("echo", "arm64") in [(d.function, d.arch) for d in sam]
    assert all(d.format == "sam" for d in sam)
    assert declared_in_text((FIXTURES / "cdk/ts/stack.ts").read_text(), "stack.ts", names) == ()
    assert sls[1].where == "serverless.yml:30" and sls[1].lambda_arch == "arm64"


def test_declared_architectures_over_a_project(tmp_path):
    shutil.copy(FIXTURES / "serverless/v4/expected.yml", tmp_path / "serverless.yml")
    shutil.copy(FIXTURES / "terraform/expected.tf", tmp_path / "main.tf")
    (tmp_path / "broken.tf").write_text("resource {\n")  # skipped: migrate reports it
    found = declared_architectures(tmp_path, ["api", "echo", "nightly-report"])
    assert all(isinstance(d, DeclaredArch) for d in found)
    assert [(d.path.name, d.function, d.arch) for d in found] == [
        ("main.tf", "api", "amd64"), ("main.tf", "echo", "arm64"), ("main.tf", "nightly-report", "amd64"),
        ("serverless.yml", "echo", "arm64"), ("serverless.yml", "api", "amd64")]


# ------------------------------------------------------------- end to end: real zips, real arch
def _zip_arch(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        elf = z.read("bootstrap")[:20]
    return {0x3E: "amd64", 0xB7: "arm64"}[int.from_bytes(elf[18:20], "little")]


def test_cli_migrates_every_format_and_check_compares_the_zips_arch(tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    for case, name in [("serverless/v3", "serverless.yml"), ("terraform", "main.tf")]:
        shutil.copy(FIXTURES / case / name, project / name)
    env = dict(os.environ)
    assert run_gbl("migrate", "--check", "-C", str(project), env=env).returncode == 9
    proc = run_gbl("build", "-C", str(project), env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_gbl("migrate", "--write", "--check", cwd=project, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "migrated serverless.yml" in proc.stderr and "migrated main.tf" in proc.stderr
    assert (project / "serverless.yml").read_bytes() == (FIXTURES / "serverless/v3/expected.yml").read_bytes()
    assert (project / "main.tf").read_bytes() == (FIXTURES / "terraform/expected.tf").read_bytes()
    assert run_gbl("migrate", "--check", "-C", str(project), env=env).returncode == 0

    # every declared arch is the arch of the zip gbl built for that function
    manifest = json.loads((project / "dist" / "manifest.json").read_text())["functions"]
    declared = declared_architectures(project, manifest)
    assert {(d.function, d.arch) for d in declared} == {("api", "amd64"), ("echo", "arm64"), ("nightly-report", "amd64")}
    for d in declared:
        assert _zip_arch(project / "dist" / f"{d.function}.zip") == d.arch == manifest[d.function]["arch"]

    # a file that declares another arch than the zip's fails --check, naming both
    tf = project / "main.tf"
    tf.write_text(tf.read_text().replace('architectures = ["arm64"]', 'architectures = ["x86_64"]'))
    proc = run_gbl("migrate", "--check", "-C", str(project), str(tf), env=env)
    assert proc.returncode == 9, proc.stderr
    assert "declares x86_64 for echo, but dist/echo.zip is built for arm64" in proc.stderr


# ------------------------------------------------------------------------ the HCL reader
def test_hcl_reader_knows_strings_templates_heredocs_and_comments():
    from gobuild_lambda.migrate.hcl import parse

    text = '''# runtime = "go1.x" in a comment
resource "aws_lambda_function" "a" {
  description = "a } brace, a \\" quote and ${jsonencode({ k = "v}" })} template"
  policy      = <<EOF
{ "runtime": "go1.x" }
  EOF-not-the-end
EOF
  runtime     = "go1.x" // trailing
  tags        = {
    a = "b" # in an object
  }
  escaped     = "$${not.a.template"
  /* handler = "x" */
  handler     = "api"
}
'''
    (block,) = parse(text)
    assert block.labels == ["aws_lambda_function", "a"]
    assert set(block.attrs) == {"description", "policy", "runtime", "tags", "escaped", "handler"}
    assert block.attrs["runtime"].string() == "go1.x" and block.attrs["handler"].string() == "api"
    assert block.attrs["description"].string() is None  # a template: not a literal
    assert text[block.attrs["policy"].value_start:block.attrs["policy"].value_end].endswith("\nEOF")
    result = migrate_text(text, TARGETS, path="main.tf")
    assert '  runtime     = "provided.al2023" // trailing\n' in result.migrated
    assert '{ "runtime": "go1.x" }' in result.migrated and '# runtime = "go1.x" in a comment' in result.migrated


def test_a_serverless_file_with_another_name_is_recognised_by_its_content(tmp_path):
    path = tmp_path / "service.yml"
    path.write_text("service: s\nprovider:\n  name: aws\n  runtime: go1.x\nfunctions:\n  api:\n    handler: bin/api\n")
    (result,) = migrate_files([path], fake_plan(tmp_path)).results
    assert "  runtime: provided.al2023\n" in result.migrated and "artifact: dist/api.zip" in result.migrated


@pytest.mark.parametrize("case, name, expected", [
    ("serverless/v3", "serverless.yml", "expected.yml"),
    ("terraform", "main.tf", "expected.tf"),
])
def test_docs_show_the_fixtures_diff(case, name, expected):
    import difflib

    docs = (Path(__file__).resolve().parent.parent / "docs" / "migrating.md").read_text()
    before = (FIXTURES / case / name).read_text().splitlines(keepends=True)
    after = (FIXTURES / case / expected).read_text().splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))
    assert f"```diff\n{diff}```" in docs


@pytest.mark.parametrize("case", ["cdk/ts", "cdk/go"])
def test_docs_show_the_cdk_reports(case):
    docs = (Path(__file__).resolve().parent.parent / "docs" / "migrating.md").read_text()
    assert f"```text\n{(FIXTURES / case / 'expected.txt').read_text()}```" in docs
