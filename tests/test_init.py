"""gbl init: gbl.toml, a drop-in Makefile and a CI workflow, never overwriting without --force."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import gobuild_lambda
from gobuild_lambda import config as config_mod
from gobuild_lambda import errors, scaffold
from gobuild_lambda.config import Config, Settings
from gobuild_lambda.planner import Function, Plan
from gobuild_lambda.scaffold import WORKFLOW, init_project, render_files, templates_dir

from conftest import SAMPLE, copy_project

GBL = f'"{sys.executable}" -m gobuild_lambda'


def fake_function(name: str, arch: str = "amd64", rel_dir: str | None = None) -> Function:
    rel_dir = rel_dir or f"cmd/{name}"
    return Function(
        name=name, package=f"example.com/m/{rel_dir}", rel_dir=rel_dir, arch=arch, runtime="provided.al2023",
        tags=("lambda.norpc",), ldflags="-s -w", env=(), include=(), builder="local", image="",
        memory=128, timeout=3,
    )


def fake_plan(project: Path, functions, config: Config | None = None) -> Plan:
    return Plan(project, "example.com/m", "1.22", "", config or Config(path=None), tuple(functions), ())


def zips(dist: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dist.glob("*.zip"))}


# --------------------------------------------------------------------------------- sample_project
def test_init_on_sample_project_refuses_then_writes_with_force(tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    plan = gobuild_lambda.plan(project)
    # sample_project already has a gbl.toml: nothing at all is written
    with pytest.raises(errors.UsageError) as exc:
        init_project(plan, force=False)
    assert "gbl.toml" in str(exc.value) and "--force" in str(exc.value)
    assert exc.value.exit_code == errors.EXIT_USAGE
    assert not (project / "Makefile").exists() and not (project / WORKFLOW).exists()

    written = init_project(plan, force=True)
    assert [w.path for w in written] == [project / "gbl.toml", project / "Makefile", project / WORKFLOW]
    assert [w.replaced for w in written] == [True, False, False]
    assert str(written[1]).startswith(f"wrote {project / 'Makefile'}: ")
    assert "build, api, echo, nightly-report, verify" in written[1].what

    # the regenerated gbl.toml plans the same functions with the same settings
    again = gobuild_lambda.plan(project)
    assert again.functions == plan.functions

    # a second init refuses, naming every file, and changes nothing
    before = {w.path: w.path.read_bytes() for w in written}
    with pytest.raises(errors.UsageError) as exc:
        init_project(again, force=False)
    for w in written:
        assert str(w.path) in str(exc.value)
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("bad, fragment", [
    ("[defaults\narch = 'amd64'\n", "TOML syntax error"),
    ("[defaults]\narhc = 'amd64'\n", "arhc"),
    ("[functions.gone]\narch = 'arm64'\n", "gone"),
])
def test_init_force_sets_an_invalid_gbl_toml_aside(tmp_path, bad, fragment):
    """`gbl init` on a project whose gbl.toml cannot be used says so and writes nothing;
    `gbl init --force` plans without it, keeps it as gbl.toml.bak and writes a working one."""
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    (project / "gbl.toml").write_text(bad)

    def gbl(*args):
        return subprocess.run([sys.executable, "-m", "gobuild_lambda", *args, "-C", str(project)],
                              capture_output=True, text=True, timeout=300)

    proc = gbl("init")
    assert proc.returncode == errors.EXIT_USAGE, proc.stderr
    assert "gbl.toml" in proc.stderr and fragment in proc.stderr and "gbl init --force" in proc.stderr
    assert (project / "gbl.toml").read_text() == bad
    assert not (project / "Makefile").exists() and not (project / "gbl.toml.bak").exists()

    proc = gbl("init", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (project / "gbl.toml.bak").read_text() == bad  # nothing the user wrote is lost
    assert f"kept as {project / 'gbl.toml.bak'}" in proc.stdout
    plan = gobuild_lambda.plan(project)  # the new gbl.toml is valid and names every function
    assert [f.name for f in plan.functions] == ["api", "echo", "nightly-report"]
    assert {f.arch for f in plan.functions} == {"amd64"}  # built-in defaults: the old file was not read

    # a second invalid file does not overwrite the first backup
    (project / "gbl.toml").write_text(bad)
    assert gbl("init", "--force").returncode == 0
    assert (project / "gbl.toml.bak").read_text() == bad
    assert (project / "gbl.toml.bak.1").read_text() == bad


def test_make_build_produces_the_same_zips_as_gbl_build(tmp_path):
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    init_project(gobuild_lambda.plan(project), force=True)

    def make(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(["make", "--no-print-directory", *args, f"GBL={GBL}"], cwd=project, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    make("build")
    by_make = zips(project / "dist")
    assert sorted(by_make) == ["api.zip", "echo.zip", "nightly-report.zip"]

    make("clean")
    assert not (project / "dist").exists() and not (project / ".gbl").exists()
    proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", "build"], cwd=project,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert zips(project / "dist") == by_make

    make("clean")
    make("echo")  # one function's target builds that function only
    assert zips(project / "dist") == {"echo.zip": by_make["echo.zip"]}


# ------------------------------------------------------------------------------------- Makefile
def test_makefile_targets_call_gbl(tmp_path):
    plan = fake_plan(tmp_path, [fake_function("api"), fake_function("build", rel_dir="cmd/tools/build"),
                                fake_function("nightly-report", rel_dir="cmd/jobs/nightly-report")])
    init_project(plan)
    text = (tmp_path / "Makefile").read_text()
    recipes = [line for line in text.split("\nhelp:\n")[0].splitlines() if line.startswith("\t")]
    assert recipes and all(line.startswith("\t$(GBL) ") for line in recipes)
    assert "    $(GBL)" not in text  # recipes are tab-indented

    def dry(target: str) -> list[str]:
        proc = subprocess.run(["make", "--no-print-directory", "-n", target], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split("\n")[:-1]

    assert dry("build") == ["gbl build "]
    assert dry("api") == ["gbl build  api"]
    assert dry("nightly-report") == ["gbl build  nightly-report"]
    assert dry("build-build") == ["gbl build  build"]  # a function named like a fixed target
    assert dry("verify") == ["gbl verify "]
    assert dry("invoke-nightly-report") == ["gbl invoke  nightly-report"]
    assert dry("clean") == ["gbl clean"]
    proc = subprocess.run(["make", "--no-print-directory", "-n"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.stdout == "gbl build \n"  # build is the default goal
    proc = subprocess.run(["make", "--no-print-directory", "-n", "api", "GBL=python -m gobuild_lambda", "BUILDFLAGS=--docker"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.stdout == "python -m gobuild_lambda build --docker api\n"


# ------------------------------------------------------------------------------------ workflow
def load_workflow(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def test_workflow_is_valid_yaml_with_the_expected_steps(tmp_path):
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: go1.x\n")
    init_project(fake_plan(tmp_path, [fake_function("api"), fake_function("echo", "arm64")]))
    doc = load_workflow(tmp_path / ".github" / "workflows" / "gbl.yml")
    assert set(doc[True] if True in doc else doc["on"]) >= {"push", "pull_request"}  # YAML 1.1 reads `on` as true
    job = doc["jobs"]["build"]
    assert job["runs-on"] == "ubuntu-latest" and "defaults" not in job
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-go"]
    assert {"actions/cache", "actions/setup-python", "actions/upload-artifact"} <= set(uses)
    runs = [s["run"] for s in steps if "run" in s]
    assert "gbl build" in runs and "gbl verify" in runs
    assert runs.index("gbl build") < runs.index("gbl verify")
    assert "gbl migrate --check template.yaml" in runs
    assert any(r.startswith('python -m pip install "gobuild-lambda==') for r in runs)
    setup_go = steps[uses.index("actions/setup-go")]["with"]
    assert setup_go["go-version-file"] == "go.mod"
    cache = steps[uses.index("actions/cache")]["with"]
    assert "${{ steps.go-env.outputs.build-cache }}" in cache["path"]
    assert "hashFiles('go.sum')" in cache["key"]
    upload = steps[uses.index("actions/upload-artifact")]["with"]
    assert upload["path"] == "dist/" and upload["if-no-files-found"] == "error"


def test_arm64_projects_get_an_arm64_runner_and_subdirectories_a_working_directory(tmp_path):
    (tmp_path / ".git").mkdir()
    project = tmp_path / "services" / "orders"
    project.mkdir(parents=True)
    plan = fake_plan(project, [fake_function("api", "arm64")])
    written = init_project(plan)
    # where GitHub reads it; a project below the repository's root gets its own workflow (issue 19)
    assert written[2].path == tmp_path / ".github" / "workflows" / "gbl-services-orders.yml"
    job = load_workflow(written[2].path)["jobs"]["build"]
    assert job["runs-on"] == "ubuntu-24.04-arm"
    assert job["defaults"]["run"]["working-directory"] == "services/orders"
    steps = {s["name"]: s for s in job["steps"]}
    assert steps["Set up Go"]["with"]["go-version-file"] == "services/orders/go.mod"
    assert steps["Upload dist/"]["with"]["path"] == "services/orders/dist/"
    assert "gbl migrate" not in written[2].path.read_text()  # no templates in this project


# ------------------------------------------------------------------------ workflow: CI at scale
def _steps(job: dict) -> dict:
    return {s["name"]: s for s in job["steps"]}


def test_workflow_shard_count_follows_the_function_count():
    assert scaffold.workflow_shards(1) == 1
    assert scaffold.workflow_shards(scaffold.SHARD_ABOVE) == 1
    assert scaffold.workflow_shards(scaffold.SHARD_ABOVE + 1) == 2
    assert scaffold.workflow_shards(3 * scaffold.FUNCTIONS_PER_SHARD) == 3
    assert scaffold.workflow_shards(100 * scaffold.FUNCTIONS_PER_SHARD) == scaffold.MAX_SHARDS


def test_small_project_workflow_builds_in_one_job_with_the_go_caches(tmp_path):
    init_project(fake_plan(tmp_path, [fake_function(f"fn{i}") for i in range(scaffold.SHARD_ABOVE)]))
    doc = load_workflow(tmp_path / WORKFLOW)
    assert list(doc["jobs"]) == ["build"]
    job = doc["jobs"]["build"]
    assert "strategy" not in job and job["name"] == "Build Lambda zips"
    steps = _steps(job)
    assert steps["Build"]["run"] == "gbl build" and "Build shard" not in steps
    cache = steps["Cache the Go build cache"]
    assert cache["uses"].startswith("actions/cache@")
    paths = cache["with"]["path"].strip().splitlines()
    assert paths == ["${{ steps.go-env.outputs.build-cache }}", "${{ steps.go-env.outputs.mod-cache }}", ".gbl"]
    assert "go env GOCACHE" in steps["Locate the Go caches"]["run"]
    assert "go env GOMODCACHE" in steps["Locate the Go caches"]["run"]
    assert "matrix" not in cache["with"]["key"]


def test_big_project_workflow_shards_the_build_and_merges(tmp_path):
    (tmp_path / ".git").mkdir()
    project = tmp_path / "services" / "api"
    project.mkdir(parents=True)
    (project / "template.yaml").write_text(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n")
    count = 2 * scaffold.FUNCTIONS_PER_SHARD + 50
    init_project(fake_plan(project, [fake_function(f"fn{i}") for i in range(count)]))
    doc = load_workflow(tmp_path / ".github" / "workflows" / "gbl-services-api.yml")  # its own (issue 19)
    assert list(doc["jobs"]) == ["build", "merge"]
    build, merge = doc["jobs"]["build"], doc["jobs"]["merge"]
    assert build["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert build["defaults"]["run"]["working-directory"] == "services/api"
    steps = _steps(build)
    assert "Build" not in steps and "Verify" not in steps
    assert steps["Build shard"]["run"] == "gbl build --shard ${{ matrix.shard }}/3 --out dist-shard-${{ matrix.shard }}"
    cache = steps["Cache the Go build cache"]["with"]
    assert cache["path"].strip().splitlines()[-1] == "services/api/.gbl"  # cache paths ignore working-directory
    # each shard keeps its own caches: parallel jobs saving one key would race, and a shard's links
    # are its own; every restore key stays within the shard
    assert "shard${{ matrix.shard }}of3-" in cache["key"]
    assert all("shard${{ matrix.shard }}of3-" in k for k in cache["restore-keys"].strip().splitlines())
    upload = steps["Upload the shard's zips"]["with"]
    assert upload == {"name": "gbl-shard-${{ matrix.shard }}", "path": "services/api/dist-shard-${{ matrix.shard }}/",
                      "if-no-files-found": "error", "retention-days": 1}

    assert merge["needs"] == "build" and merge["defaults"]["run"]["working-directory"] == "services/api"
    msteps = _steps(merge)
    names = list(msteps)
    assert names.index("Download the shards") < names.index("Merge") < names.index("Verify") < names.index("Upload dist/")
    assert msteps["Download the shards"]["with"] == {"pattern": "gbl-shard-*", "path": "services/api/shards/"}
    assert msteps["Merge"]["run"] == (
        "gbl manifest merge shards/gbl-shard-1 shards/gbl-shard-2 shards/gbl-shard-3 --out dist")
    assert msteps["Verify"]["run"] == "gbl verify"
    assert msteps["Check that no template still uses go1.x"]["run"] == "gbl migrate --check template.yaml"
    assert msteps["Upload dist/"]["with"]["path"] == "services/api/dist/"
    assert msteps["Check out"]["uses"].startswith("actions/checkout@")


def test_sharded_workflow_commands_build_what_one_build_does(tmp_path, monkeypatch):
    """The matrix and merge commands the workflow holds, run for real on sample_project (three
    functions, one shard each), give the zips and manifest of a plain `gbl build`."""
    monkeypatch.setattr(scaffold, "SHARD_ABOVE", 1)
    monkeypatch.setattr(scaffold, "FUNCTIONS_PER_SHARD", 1)
    project = copy_project(SAMPLE, tmp_path / "sample_project")
    init_project(gobuild_lambda.plan(project), force=True)
    doc = load_workflow(project / WORKFLOW)
    shards = doc["jobs"]["build"]["strategy"]["matrix"]["shard"]
    assert shards == [1, 2, 3]

    def run(command: str, **subst) -> None:
        for key, value in subst.items():
            command = command.replace("${{ " + key + " }}", str(value))
        argv = shlex.split(command)
        assert argv[0] == "gbl" and "${{" not in command, command
        proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", *argv[1:]], cwd=project,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, command + "\n" + proc.stdout + proc.stderr

    build_cmd = _steps(doc["jobs"]["build"])["Build shard"]["run"]
    upload = _steps(doc["jobs"]["build"])["Upload the shard's zips"]["with"]
    download = _steps(doc["jobs"]["merge"])["Download the shards"]["with"]
    for k in shards:
        run(build_cmd, **{"matrix.shard": k})
        # what upload-artifact + download-artifact (pattern, no merge-multiple) do: shards/<name>/
        name = upload["name"].replace("${{ matrix.shard }}", str(k))
        src = project / upload["path"].replace("${{ matrix.shard }}", str(k))
        shutil.copytree(src, project / download["path"] / name)
    for step in ("Merge", "Verify"):
        run(_steps(doc["jobs"]["merge"])[step]["run"])

    run("gbl build --out full")
    assert zips(project / "dist") == zips(project / "full")
    assert sorted(zips(project / "dist")) == ["api.zip", "echo.zip", "nightly-report.zip"]
    assert (project / "dist" / "manifest.json").read_bytes() == (project / "full" / "manifest.json").read_bytes()


# ------------------------------------------------------------------------------------ gbl.toml
def test_gbl_toml_round_trips_every_setting(tmp_path):
    source = """
[defaults]
arch = "arm64"
tags = ["prod", "otel"]
ldflags = "-X main.version=1.2.3"
env = { GOARM64 = "v8.2", "X.Y" = "a \\"quoted\\" value" }
include = ["config/*.json", { path = "bin/helper", executable = true }]
builder = "docker"
image = "golang:1.23"
memory = 512
timeout = 30

[functions."cmd/b/worker"]
name = "worker-b"
arch = "amd64"
runtime = "provided.al2"

[functions.api]
tags = []
function_name = "legacy-api"

[docker]
network = "none"
ssh_agent = true

[invoke]
emulator = "/opt/rie"

[deploy]
prefix = "prod-"
s3_bucket = "artifacts"
"""
    cfg = config_mod.parse(source, tmp_path / "gbl.toml")
    functions = [fake_function("api"), fake_function("worker-b", rel_dir="cmd/b/worker"),
                 fake_function("worker", rel_dir="cmd/a/worker")]
    files = render_files(fake_plan(tmp_path, functions, cfg))
    text = files[0].text
    again = config_mod.parse(text, tmp_path / "gbl.toml")
    assert again.defaults == cfg.defaults
    assert again.docker == cfg.docker and again.invoke == cfg.invoke and again.deploy == cfg.deploy
    for fc in cfg.functions:
        assert again.function(fc.key) == fc
    assert again.function("cmd/a/worker") is not None  # a function with no table yet gets one
    # every setting appears, commented out where the project does not set it
    for name in Settings.__dataclass_fields__:
        assert f"\n{name} = " in text or f"\n# {name} = " in text, name
    assert '[functions."cmd/b/worker"]' in text


def test_templates_ship_with_the_package():
    base = templates_dir()
    for name in ("gbl.toml.j2", "Makefile.j2", "gbl.yml.j2"):
        assert (base / name).is_file(), name
    assert "\t$(GBL) build" in (base / "Makefile.j2").read_text(encoding="utf-8")
