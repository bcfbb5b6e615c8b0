"""gbl migrate follows discovery (issue 12 item 6), and every format's declared arch is built.

* template-declared functions move to their zips by resource: CodeUri, Handler, Runtime, a go1.x
  BuildMethod removed (and said), the source directory kept in ``Metadata: {gbl: {source: ...}}``
  so that the migrated template still plans the same functions into the same zips;
* ``--check`` compares each zip's arch with its Architectures; ``--write`` that leaves a Go
  function on go1.x exits non-zero and never says "migrated";
* ``gbl init`` records the shape it found, and its workflow works from the repository root;
* serverless.yml ``architecture`` and Terraform ``architectures`` are honoured by the build.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from ruamel.yaml import YAML

import gobuild_lambda
from gobuild_lambda import config as config_mod
from gobuild_lambda import errors, manifest

from conftest import FIXTURES, run_gbl


def zips(root):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "dist").glob("*.zip"))}


def load(path):
    return YAML(typ="safe", pure=True).load(path.read_text().replace("!GetAtt", "").replace("!Ref", ""))


def shape(plan):
    return {f.name: (f.rel_dir, f.module_dir, f.arch, f.runtime, f.template) for f in plan.functions}


def codeuri_answers(root, plan, resources, which) -> dict:
    """Run the zip each resource's CodeUri names in the Lambda Runtime Interface Emulator (what
    gbl invoke runs): {resource: (function, response)}."""
    from gobuild_lambda import invoker

    fns = [plan.function(name) for name, _ in which.values()]
    tools = invoker.find_tools(plan, fns, dict(os.environ))
    out = {}
    for rid, (name, _) in which.items():
        zip_path = root / resources[rid]["Properties"]["CodeUri"]
        with invoker.emulator_for(plan.function(name), zip_path, tools, timeout=10) as emu:
            inv = emu.invoke(b"{}", timeout_s=10)
        assert inv.status == "ok", (rid, inv)
        out[rid] = (name, json.loads(inv.payload))
    return out


# ------------------------------------------------------------------------- migrate follows
def test_sam_init_build_migrate_write_build_again_same_functions_same_zips(project):
    root = project("sam_init")
    before = gobuild_lambda.build(root)
    first_zips, first_plan = zips(root), shape(before.plan)
    assert set(first_zips) == {"goodbye.zip", "hello-world.zip"}

    proc = run_gbl("migrate", "--write", cwd=root)  # no file: the templates declaring functions
    assert proc.returncode == 0, proc.stderr
    assert "migrated template.yaml" in proc.stderr
    assert "HelloWorldFunction: removed BuildMethod: go1.x" in proc.stderr  # said, not only shown
    res = load(root / "template.yaml")["Resources"]
    for rid, name in (("HelloWorldFunction", "hello-world"), ("GoodbyeFunction", "goodbye")):
        props = res[rid]["Properties"]
        assert (props["CodeUri"], props["Handler"], props["Runtime"]) == (f"dist/{name}.zip", "bootstrap", "provided.al2023")
        assert res[rid]["Metadata"] == {"gbl": {"source": name}}  # no BuildMethod left
    assert res["GoodbyeFunction"]["Properties"]["Architectures"] == ["arm64"]
    assert res["PythonFunction"]["Properties"]["CodeUri"] == "py/"  # not Go: untouched
    assert res["FromS3"]["Properties"]["CodeUri"] == "s3://my-bucket/fn.zip"

    # the migrated template still declares both functions: same plan, same zip bytes
    after = gobuild_lambda.build(root)
    assert shape(after.plan) == first_plan
    assert zips(root) == first_zips
    # every CodeUri names a zip gbl built, for the function the resource declares
    built = manifest.read(root / "dist")
    for rid, name in (("HelloWorldFunction", "hello-world"), ("GoodbyeFunction", "goodbye")):
        assert (root / res[rid]["Properties"]["CodeUri"]).is_file()
        assert after.plan.function(name).template == f"template.yaml:{rid}"
        assert built.get(name).zip == f"{name}.zip"

    # ... and that zip answers as that function (the real emulator; goodbye is arm64, under qemu)
    answers = {"HelloWorldFunction": ("hello-world", {"from": "hello"}),
               "GoodbyeFunction": ("goodbye", {"from": "goodbye"})}
    assert codeuri_answers(root, after.plan, res, answers) == answers
    proc = run_gbl("invoke", "goodbye", cwd=root)  # and through gbl invoke, from the migrated template
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"from": "goodbye"}, proc.stderr

    again = run_gbl("migrate", "--write", cwd=root)
    assert again.returncode == 0 and "nothing to change" in again.stderr
    check = run_gbl("migrate", "--check", cwd=root)
    assert check.returncode == 0, check.stderr


def test_the_diff_shows_and_says_the_removed_build_method(project):
    root = project("sam_init")
    proc = run_gbl("migrate", "template.yaml", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "-      BuildMethod: go1.x\n" in proc.stdout
    assert "+      gbl:\n+        source: hello-world\n" in proc.stdout
    assert "+      CodeUri: dist/hello-world.zip\n" in proc.stdout
    assert "removed BuildMethod: go1.x (the code is gbl's zip now" in proc.stderr
    assert (root / "template.yaml").read_text() == (FIXTURES / "sam_init" / "template.yaml").read_text()


def test_a_migrated_cloudformation_json_template_still_plans(project):
    root = project("sam_handlers")
    (root / "template.yaml").unlink()
    tpl = root / "template.json"
    tpl.write_text(json.dumps({"Resources": {
        "Orders": {"Type": "AWS::Lambda::Function", "Metadata": {"BuildMethod": "go1.x"}, "Properties": {
            "Code": "handlers/orders", "Handler": "bootstrap", "Runtime": "provided.al2", "Architectures": ["arm64"]}},
        "Payments": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": "handlers/payments", "Handler": "main", "Runtime": "go1.x"}},
    }}, indent=2))
    before = shape(gobuild_lambda.plan(root))
    proc = run_gbl("migrate", "--write", cwd=root)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(tpl.read_text())["Resources"]
    assert doc["Orders"]["Metadata"] == {"gbl": {"source": "handlers/orders"}}
    assert doc["Payments"]["Metadata"] == {"gbl": {"source": "handlers/payments"}}
    assert doc["Payments"]["Properties"] == {"Code": "dist/payments.zip", "Handler": "bootstrap",
                                             "Runtime": "provided.al2023"}
    assert shape(gobuild_lambda.plan(root)) == before


def test_globals_template_in_one_pass_then_check(project):
    # handlers/<name>, Handler: main and Runtime go1.x in Globals, arm64 in Globals
    root = project("sam_handlers")
    gobuild_lambda.build(root)
    before = shape(gobuild_lambda.plan(root))
    proc = run_gbl("migrate", "--write", "--check", cwd=root)
    assert proc.returncode == 0, proc.stderr
    doc = load(root / "template.yaml")
    assert doc["Globals"]["Function"]["Runtime"] == "provided.al2023"
    assert doc["Globals"]["Function"]["Handler"] == "bootstrap"
    assert doc["Resources"]["OrdersFunction"]["Properties"]["CodeUri"] == "dist/orders.zip"
    assert doc["Resources"]["PaymentsFunction"]["Metadata"] == {"gbl": {"source": "handlers/payments"}}
    report = gobuild_lambda.build(root)
    assert shape(report.plan) == before
    answers = {"OrdersFunction": ("orders", {"from": "orders"}), "PaymentsFunction": ("payments", {"from": "payments"})}
    assert codeuri_answers(root, report.plan, doc["Resources"], answers) == answers


def test_check_fails_when_a_zip_has_another_arch_than_its_architectures(project):
    root = project("sam_init")
    gobuild_lambda.build(root)
    assert run_gbl("migrate", "--write", cwd=root).returncode == 0
    # gbl.toml builds goodbye for amd64 (with a warning) while the template says arm64
    (root / "gbl.toml").write_text('[functions.goodbye]\narch = "amd64"\n')
    report = gobuild_lambda.build(root)
    assert any("Architectures arm64" in w and "building amd64" in w for w in report.plan.warnings)
    proc = run_gbl("migrate", "--check", cwd=root)
    assert proc.returncode == errors.EXIT_MIGRATE_CHECK, proc.stderr
    assert "declares arm64 for goodbye, but dist/goodbye.zip is built for amd64" in proc.stderr
    assert "template.yaml" in proc.stderr


def test_write_that_leaves_a_go_function_on_go1x_fails_and_names_it(project):
    root = project("sam_handlers")
    tpl = root / "template.yaml"
    # a third function inherits go1.x from Globals, and its directory does not exist: Globals stay
    tpl.write_text(tpl.read_text() + "  Mystery:\n    Type: AWS::Serverless::Function\n"
                   "    Properties:\n      CodeUri: gone/\n")
    proc = run_gbl("migrate", "--write", cwd=root)
    assert proc.returncode == errors.EXIT_MIGRATE_CHECK, proc.stderr
    assert "migrated" not in proc.stderr
    assert "still on go1.x: Mystery, Globals.Function" in proc.stderr
    assert "error:" in proc.stderr and "Mystery" in proc.stderr.split("error:")[1]
    doc = load(tpl)
    # what could move did move; what could not is on go1.x still, and reported
    assert doc["Resources"]["OrdersFunction"]["Properties"]["Runtime"] == "provided.al2023"
    assert doc["Globals"]["Function"]["Runtime"] == "go1.x"


# ------------------------------------------------------------------------------------ init
def test_init_records_the_shape_and_plans_the_same(project):
    root = project("sam_init")
    (root / ".git").mkdir()
    before = shape(gobuild_lambda.plan(root))
    gobuild_lambda.init(root)
    text = (root / "gbl.toml").read_text()
    assert "\n[discover]\ntemplates = [\"template.yaml\"]" in text
    assert "no go.mod at the project root" in text and "2 modules" in text
    assert "goodbye (goodbye)" in text
    assert '# arch = "arm64"' in text.split("[functions.goodbye]")[1].split("[")[0]  # the arch in effect
    cfg = config_mod.load(root)
    assert cfg.discover.templates == ("template.yaml",)
    assert shape(gobuild_lambda.plan(root)) == before
    wf = YAML(typ="safe").load((root / ".github/workflows/gbl.yml").read_text())["jobs"]["build"]
    assert "defaults" not in wf  # runs from the repository root
    steps = {s["name"]: s for s in wf["steps"]}
    assert steps["Set up Go"]["with"]["go-version-file"] == "goodbye/go.mod"
    assert (root / steps["Set up Go"]["with"]["go-version-file"]).is_file()
    assert "hashFiles('**/go.sum')" in steps["Cache the Go build cache"]["with"]["key"]
    assert steps["Check that no template still uses go1.x"]["run"] == "gbl migrate --check template.yaml"


@pytest.mark.parametrize("fixture, lines, go_file", [
    ("discover_packages", ['packages = ["./functions/...", "./lambda-handler", "."]', "exclude = "], "go.mod"),
    ("multi_module", ['modules = ["functions/*"]'], "functions/one/go.mod"),
    ("workspace", ["# packages = "], "go.work"),
])
def test_init_force_keeps_discover_settings(project, fixture, lines, go_file):
    root = project(fixture)
    (root / ".git").mkdir()
    before = shape(gobuild_lambda.plan(root))
    gobuild_lambda.init(root, force=True)
    text = (root / "gbl.toml").read_text()
    for line in lines:
        assert "\n" + line in text, text
    assert shape(gobuild_lambda.plan(root)) == before
    wf = YAML(typ="safe").load((root / ".github/workflows/gbl.yml").read_text())["jobs"]["build"]
    steps = {s["name"]: s for s in wf["steps"]}
    assert steps["Set up Go"]["with"]["go-version-file"] == go_file
    assert (root / go_file).is_file()


# ---------------------------------------------------------------- declared arches, every format
SERVERLESS = """service: s
provider:
  name: aws
  runtime: provided.al2023
functions:
  ok:
    handler: bootstrap
    architecture: arm64
    package:
      artifact: dist/ok.zip
"""
TERRAFORM = """resource "aws_lambda_function" "logs" {
  function_name = "logs"
  filename      = "${path.module}/../dist/logs.zip"
  handler       = "bootstrap"
  runtime       = "provided.al2023"
  architectures = ["arm64"]
}
"""


def test_serverless_and_terraform_architectures_build_arm64_zips(project):
    root = project("handlers")
    (root / "serverless.yml").write_text(SERVERLESS)
    (root / "infra").mkdir()
    (root / "infra" / "main.tf").write_text(TERRAFORM)
    report = gobuild_lambda.build(root, names=["ok", "logs", "envdump"])
    arches = {r.function.name: r.function.arch for r in report.results}
    assert arches == {"ok": "arm64", "logs": "arm64", "envdump": "amd64"}
    built = manifest.read(root / "dist")
    for name in ("ok", "logs"):
        verdict = gobuild_lambda.verify_zip(root / "dist" / f"{name}.zip", arch="arm64")
        assert verdict.ok and verdict.arch == "arm64" and built.get(name).arch == "arm64"
    assert not report.plan.warnings
    proc = run_gbl("migrate", "--check", cwd=root)
    assert proc.returncode == 0, proc.stderr


def test_gbl_toml_wins_over_serverless_with_a_warning(project):
    root = project("handlers")
    (root / "serverless.yml").write_text(SERVERLESS)
    (root / "gbl.toml").write_text('[functions.ok]\narch = "amd64"\n')
    plan = gobuild_lambda.plan(root)
    assert plan.function("ok").arch == "amd64"
    assert any("serverless.yml:8 says architecture arm64" in w and "building amd64" in w for w in plan.warnings)


def test_two_files_declaring_different_arches_is_a_usage_error_naming_both(project):
    root = project("handlers")
    (root / "serverless.yml").write_text(SERVERLESS)
    (root / "infra").mkdir()
    (root / "infra" / "main.tf").write_text(TERRAFORM.replace('"logs"', '"ok"').replace(
        "logs.zip", "ok.zip").replace('  architectures = ["arm64"]\n', ""))
    with pytest.raises(errors.UsageError) as exc:
        gobuild_lambda.plan(root)
    text = str(exc.value)
    assert "infra/main.tf:1" in text and "serverless.yml:8" in text
    assert "x86_64" in text and "arm64" in text and exc.value.exit_code == errors.EXIT_USAGE
    proc = run_gbl("build", "-C", str(root))
    assert proc.returncode == errors.EXIT_USAGE and "serverless.yml:8" in proc.stderr
    # gbl.toml chooses: it wins, with a warning for each file that says otherwise
    (root / "gbl.toml").write_text('[functions.ok]\narch = "arm64"\n')
    plan = gobuild_lambda.plan(root)
    assert plan.function("ok").arch == "arm64"
    assert [w for w in plan.warnings if "function ok:" in w] == [
        "function ok: infra/main.tf:1 says architectures x86_64, gbl.toml or --arch says arm64; building arm64 "
        "(make them agree, e.g. `gbl migrate`)"]


def test_a_template_and_a_serverless_file_that_disagree(project):
    root = project("sam_init")
    (root / "serverless.yml").write_text(SERVERLESS.replace("ok", "goodbye").replace("arm64", "x86_64"))
    with pytest.raises(errors.UsageError) as exc:
        gobuild_lambda.plan(root)
    assert "template.yaml (GoodbyeFunction)" in str(exc.value) and "serverless.yml:8" in str(exc.value)
