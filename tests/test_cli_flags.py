"""issue 19, one set of flags: `-C DIR` on every command (and before it), relative paths under DIR
as `go -C` does, `-o/--out`, Lambda's arch names, refused nonsense, errors that blame the right
thing, a non-UTF-8 stdout, the library under `spawn`, a failed final rename; all through the CLI as
a user types it (the rename failure, which needs a Windows file lock, at the library level)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import gobuild_lambda
from gobuild_lambda import errors, pipeline
from gobuild_lambda.children import main_is_guarded

from conftest import SAMPLE, copy_project, run_gbl

FUNCTIONS = {"api", "echo", "nightly-report"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """sample_project as `proj` under a directory the commands run from, built by
    `gbl -C proj build --out rel` (the global -C, a relative --out): (cwd, project)."""
    cwd = tmp_path_factory.mktemp("cflags")
    proj = copy_project(SAMPLE, cwd / "proj")
    proc = run_gbl("-C", "proj", "build", "--out", "rel", "-j", "2", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd, proj


def test_global_dash_C_and_relative_out_are_under_the_project(built):
    cwd, proj = built
    assert {p.stem for p in (proj / "rel").glob("*.zip")} == FUNCTIONS
    assert not (cwd / "rel").exists()  # go -C semantics: --out rel is proj/rel, not ./rel
    manifest = json.loads((proj / "rel" / "manifest.json").read_text())
    assert set(manifest["functions"]) == FUNCTIONS


def test_build_dash_C_out_and_lambda_arch_name(built, tmp_path):
    cwd, _ = built
    proj = copy_project(SAMPLE, tmp_path / "p")
    proc = run_gbl("build", "api", "echo", "-C", "p", "-o", "out", "--arch", "x86_64", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((proj / "out" / "manifest.json").read_text())["functions"]
    assert {n: e["arch"] for n, e in manifest.items()} == {"api": "amd64", "echo": "amd64"}  # echo is arm64 in gbl.toml
    proc = run_gbl("plan", "-C", "p", "--arch", "arm64", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {f["arch"] for f in json.loads(proc.stdout)["functions"]} == {"arm64"}


def test_verify_zip_and_manifest_merge_take_dash_C(built):
    cwd, proj = built
    for args in (["verify", "-C", "proj", "rel/api.zip"], ["-C", "proj", "verify", "rel"],
                 ["verify", "-C", "proj", "rel/manifest.json"]):
        proc = run_gbl(*args, cwd=cwd)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "api.zip: ok" in proc.stdout
    proc = run_gbl("verify", "-C", "proj", cwd=cwd)  # no path: DIR/dist/manifest.json, not ./dist
    assert proc.returncode == 2 and str(proj) in proc.stderr

    with zipfile.ZipFile(proj / "rel" / "api.zip") as z:
        (proj / "bin").write_bytes(z.read("bootstrap"))
    (proj / "conf.json").write_text("{}")
    proc = run_gbl("zip", "-C", "proj", "bin", "-o", "fn.zip", "--include", "conf.json", "--arch", "x86_64", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(proj / "fn.zip") as z:
        assert sorted(z.namelist()) == ["bootstrap", "conf.json"]
    assert not (cwd / "fn.zip").exists()
    proc = run_gbl("zip", "-C", "proj", "bin", "--output", "old-spelling.zip", cwd=cwd)  # kept, hidden
    assert proc.returncode == 0 and (proj / "old-spelling.zip").is_file(), proc.stderr
    help_text = run_gbl("zip", "--help", cwd=cwd).stdout
    assert "-o, --out" in help_text and "--output" not in help_text

    proc = run_gbl("manifest", "merge", "-C", "proj", "rel", "-o", "merged", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {(proj / 'merged' / 'manifest.json').resolve()}" in proc.stdout  # the path it used
    assert (proj / "merged" / "manifest.json").is_file() and not (cwd / "merged").exists()


def test_migrate_invoke_diff_deploy_init_resolve_paths_under_dash_C(built, tmp_path):
    cwd, proj = built
    (proj / "t.yaml").write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Api:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: cmd/api
              Handler: api
              Runtime: go1.x
        """))
    proc = run_gbl("migrate", "-C", "proj", "t.yaml", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "+      Runtime: provided.al2023" in proc.stdout
    proc = run_gbl("-C", "proj", "migrate", "t.yaml", "--arch", "arm64", cwd=cwd)
    assert proc.returncode == 0 and "arm64" in proc.stdout, proc.stderr

    # an event file relative to DIR: the function runs in the emulator with it
    (proj / "ev.json").write_text('{"path": "/hello"}')
    proc = run_gbl("invoke", "-C", "proj", "api", "--event", "ev.json", "--arch", "x86_64", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    proc = run_gbl("invoke", "-C", "proj", "api", "--event", "missing.json", cwd=cwd)
    assert proc.returncode == 2 and "missing.json" in proc.stderr

    # diff / deploy read --out under DIR: a missing one is refused, DIR/rel is found
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="us-east-1")
    for cmd in (["diff"], ["deploy", "--no-build"]):
        proc = run_gbl(*cmd, "-C", "proj", "--out", "missing", cwd=cwd, env=env)
        assert proc.returncode == 2 and "missing/manifest.json" in proc.stderr, (cmd, proc.stderr)
        proc = run_gbl(*cmd, "-C", "proj", "--out", "rel", cwd=cwd, env=env)
        assert proc.returncode == 11, (cmd, proc.stderr)  # the manifest was found: now AWS is asked

    sub = copy_project(SAMPLE, tmp_path / "sub")
    (sub / "gbl.toml").unlink()
    proc = run_gbl("-C", "sub", "init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (sub / "gbl.toml").is_file() and (sub / "Makefile").is_file()


def test_every_command_accepts_dash_C_and_says_what_arch_does():
    commands = [["plan"], ["build"], ["verify"], ["zip"], ["migrate"], ["init"], ["invoke"], ["diff"],
                ["deploy"], ["manifest", "merge"], ["clean"], ["docker", "stop"]]
    for cmd in commands:
        proc = run_gbl(*cmd, "--help")
        assert proc.returncode == 0, cmd
        assert "-C, --project DIR" in proc.stdout, cmd
        if "--arch" in proc.stdout:
            text = " ".join(proc.stdout.split())
            assert "x86_64" in text and "arm64" in text, cmd
    verify_help = " ".join(run_gbl("verify", "--help").stdout.split())
    assert "Build every function" not in verify_help and "provided.al2" in verify_help
    assert "-C DIR" in " ".join(run_gbl("--help").stdout.split())


@pytest.mark.parametrize("args, fragment", [
    (["build", "-j", "0"], "0 is not in the range x>=1"),
    (["build", "--jobs", "-3"], "-3 is not in the range x>=1"),
    (["build", "--arch", "x86"], "amd64 or arm64 (or Lambda's x86_64, for amd64)"),
    (["plan", "--arch", "aarch"], "amd64 or arm64 (or Lambda's x86_64, for amd64)"),
    (["invoke", "api", "--timeout", "0"], "--timeout must be 1 to 900 seconds"),
    (["zip", "bin", "--out", "a.zip", "--output", "b.zip"], "--out and --output name the zip twice"),
    (["build", "-C", "no/such/dir"], "cannot change to that directory"),
    (["-C", "no/such/dir", "plan"], "cannot change to that directory"),
])
def test_nonsense_is_refused_with_exit_2(built, args, fragment):
    cwd, _ = built
    if args[0] == "zip":
        args = ["zip", "-C", "proj", *args[1:]]
    proc = run_gbl(*args, cwd=cwd)
    assert proc.returncode == 2, (args, proc.stderr)
    assert fragment in " ".join(proc.stderr.split()), proc.stderr
    assert "Traceback" not in proc.stderr


def _elf_machine(zip_path: Path) -> int:
    """The zip's bootstrap's ELF e_machine: 62 is x86-64, 183 AArch64."""
    with zipfile.ZipFile(zip_path) as z:
        return int.from_bytes(z.read("bootstrap")[18:20], "little")


def test_gbl_toml_arch_takes_lambdas_name_as_arch_does(tmp_path):
    proj = copy_project(SAMPLE, tmp_path / "p")
    toml = proj / "gbl.toml"
    toml.write_text('[defaults]\narch = "x86_64"\n\n[functions.echo]\narch = "arm64"\n')
    proc = run_gbl("build", "api", "echo", "-C", str(proj))
    assert proc.returncode == 0, proc.stderr
    assert (_elf_machine(proj / "dist" / "api.zip"), _elf_machine(proj / "dist" / "echo.zip")) == (62, 183)
    manifest = json.loads((proj / "dist" / "manifest.json").read_text())["functions"]
    assert {n: e["arch"] for n, e in manifest.items()} == {"api": "amd64", "echo": "arm64"}

    toml.write_text('[defaults]\narch = "arm64"\n\n[functions.api]\narch = "x86_64"\n')
    doc = json.loads(run_gbl("plan", "-C", str(proj), "--json").stdout)
    assert {f["name"]: f["arch"] for f in doc["functions"]} == {
        "api": "amd64", "echo": "arm64", "nightly-report": "arm64"}

    toml.write_text('[functions.api]\narch = "x64"\n')
    proc = run_gbl("plan", "-C", str(proj))
    assert proc.returncode == 2
    text = " ".join(proc.stderr.split())
    assert str(toml) in text and "`functions.api.arch` must be amd64 or arm64 (or Lambda's x86_64, for amd64), got 'x64'" in text


def test_image_implies_docker(tmp_path):
    """--image is never ignored: it builds in Docker (here an unreachable daemon: exit 6)."""
    proj = copy_project(SAMPLE, tmp_path / "p")
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    proc = run_gbl("build", "-C", str(proj), "--image", "golang:1.26", env=env)
    assert proc.returncode == errors.EXIT_DOCKER, proc.stderr
    assert not (proj / "dist" / "api.zip").exists()


def test_library_jobs_zero_is_refused(tmp_path):
    with pytest.raises(errors.UsageError, match="--jobs must be at least 1"):
        gobuild_lambda.build(tmp_path, jobs=0)


# ------------------------------------------------------------------------- errors that blame
def test_out_naming_a_file_says_so(built):
    cwd, proj = built
    (cwd / "afile").write_text("not a directory")
    for args in (["build", "-C", "proj", "--out", "../afile"], ["build", "-C", "proj", "--out", "../afile/sub"],
                 ["manifest", "merge", "-C", "proj", "rel", "-o", "../afile"],
                 ["zip", "-C", "proj", "rel/../bin", "-o", "../afile/x.zip"]):
        if args[0] == "zip" and not (proj / "bin").exists():
            with zipfile.ZipFile(proj / "rel" / "api.zip") as z:
                (proj / "bin").write_bytes(z.read("bootstrap"))
        proc = run_gbl(*args, cwd=cwd)
        assert proc.returncode == errors.EXIT_OUTPUT, (args, proc.stderr)
        assert "not a directory" in proc.stderr and "afile" in proc.stderr, proc.stderr
        assert "permissions" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert (cwd / "afile").read_text() == "not a directory"


def _module(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/empty\n\ngo 1.22\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_no_functions_says_where_gbl_looked(tmp_path):
    bare = _module(tmp_path / "bare", {"lib/lib.go": "package lib\n"})
    proc = run_gbl("build", "-C", str(bare))
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stderr
    assert "no functions found" in text and "./cmd/..." in text and "template.yaml" in text
    assert "[discover] packages" in text and "-C" in text
    assert "plan -v" not in text  # it would print an empty table: never suggested then

    skipped = _module(tmp_path / "skipped", {"cmd/lib/lib.go": "package lib\n"})
    (skipped / "gbl.toml").write_text('[discover]\npackages = ["./cmd/..."]\n')
    proc = run_gbl("build", "-C", str(skipped))
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "gbl plan -v" in text and "1 directory" in text, proc.stderr
    assert str(skipped / "gbl.toml") in text  # the settings it used
    proc = run_gbl("invoke", "-C", str(bare), "--all")
    assert proc.returncode == 2 and "nothing to invoke" in proc.stderr and "./cmd/..." in proc.stderr


# --------------------------------------------------------------------------------- Windows/macOS
UNGUARDED = """\
import multiprocessing, sys
multiprocessing.set_start_method("spawn", force=True)   # Windows' and macOS' start method
import gobuild_lambda as gbl
print("script body runs", flush=True)
report = gbl.build(sys.argv[1], jobs=2)
print("done", len(report.results), flush=True)
"""


def test_library_under_spawn_without_main_guard_finishes(tmp_path):
    proj = copy_project(SAMPLE, tmp_path / "p")
    script = tmp_path / "build_it.py"
    script.write_text(UNGUARDED)
    proc = subprocess.run([sys.executable, str(script), str(proj)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # the script ran once: no packaging worker re-ran it
    assert proc.stdout.splitlines() == ["script body runs", "done 3"]
    assert {p.stem for p in (proj / "dist").glob("*.zip")} == FUNCTIONS


def test_guarded_script_under_spawn_keeps_process_workers(tmp_path):
    proj = copy_project(SAMPLE, tmp_path / "p")
    script = tmp_path / "guarded.py"
    script.write_text(textwrap.dedent("""\
        import multiprocessing, sys
        import gobuild_lambda as gbl
        from gobuild_lambda import children

        def main():
            multiprocessing.set_start_method("spawn", force=True)
            print("processes", children.workers_can_start(), flush=True)
            print("done", len(gbl.build(sys.argv[1], jobs=2).results), flush=True)

        if __name__ == "__main__":
            main()
        """))
    proc = subprocess.run([sys.executable, str(script), str(proj)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["processes True", "done 3"]


@pytest.mark.parametrize("source, guarded", [
    ('import sys\nfrom gobuild_lambda.cli import main\nif __name__ == "__main__":\n    sys.exit(main())\n', True),
    ('"""doc"""\nX = 1\ndef f():\n    pass\nif "__main__" == __name__:\n    f()\n', True),
    ("import gobuild_lambda as gbl\ngbl.build('.')\n", False),
    ("import gobuild_lambda as gbl\nreport = gbl.build('.')\n", False),
    ('if __name__ == "__main__":\n    pass\nelse:\n    print(1)\n', False),
    ("this is not python", False),
])
def test_main_guard_detection(source, guarded):
    assert main_is_guarded(source) is guarded


def test_non_utf8_stdout_never_tracebacks(tmp_path):
    """Windows redirects in the ANSI code page: cp1252 cannot encode `→` (nor box drawing)."""
    root = tmp_path / "prøj→ect"
    proj = copy_project(SAMPLE, root)
    (proj / "t.yaml").write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Api:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: cmd/api
              Handler: api
              Runtime: go1.x
              # → café: the old runtime
        """), encoding="utf-8")
    env = dict(os.environ, PYTHONIOENCODING="cp1252")
    runs = {}
    for args in (["migrate", "t.yaml"], ["plan"], ["plan", "-v"], ["build"], ["verify"], ["verify", "dist/api.zip"],
                 ["init", "--force"], ["zip", "nope"]):
        proc = subprocess.run([sys.executable, "-m", "gobuild_lambda", *args], cwd=proj, env=env,
                              capture_output=True, timeout=600)
        assert b"Traceback" not in proc.stderr and b"UnicodeEncodeError" not in proc.stderr, (args, proc.stderr)
        runs[args[0] + " ".join(args[1:])] = proc
        assert proc.returncode == (2 if args == ["zip", "nope"] else 0), (args, proc.stderr)
    # migrate's diff is data: UTF-8 bytes that `patch` applies, whatever the console's encoding
    diff = runs["migratet.yaml"].stdout
    assert "# → café".encode("utf-8") in diff
    (tmp_path / "t.diff").write_bytes(diff)
    applied = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(tmp_path / "t.diff")], cwd=proj,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr


def test_failed_final_rename_is_an_output_error(tmp_path, monkeypatch):
    """A zip held open by another program on Windows: os.replace raises PermissionError (WinError
    32).  Windows cannot exist here, so the rename fails by monkeypatch (library level)."""
    proj = copy_project(SAMPLE, tmp_path / "p")
    real_replace = os.replace

    def held_open(src, dst, *a, **kw):
        if str(dst).endswith(".zip") and not Path(dst).name.startswith(".gbl-tmp-"):
            raise PermissionError(errno.EACCES, "The process cannot access the file because it is being "
                                  "used by another process", str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(pipeline.os, "replace", held_open)
    with pytest.raises(errors.OutputError) as exc:
        gobuild_lambda.build(proj, jobs=1)
    assert exc.value.exit_code == errors.EXIT_OUTPUT == 10
    assert ".zip" in exc.value.message and "another process" in exc.value.message
    assert "close any program that has it open" in exc.value.hint
    dist = proj / "dist"
    assert [p.name for p in dist.iterdir() if p.name.startswith(".gbl-tmp-")] == []  # no staged zip left
    assert not list(dist.glob("*.zip"))
    monkeypatch.undo()  # the program closed the file: the next build succeeds
    assert gobuild_lambda.build(proj, jobs=1).ok
    with zipfile.ZipFile(dist / "api.zip") as z:
        (tmp_path / "bootstrap").write_bytes(z.read("bootstrap"))
    monkeypatch.setattr(pipeline.os, "replace", held_open)  # gbl zip's final rename, too
    with pytest.raises(errors.OutputError) as exc:
        pipeline.zip_and_verify("bootstrap", "fn.zip", cwd=tmp_path)
    assert "fn.zip" in exc.value.message and "close any program" in exc.value.hint
    assert not (tmp_path / "fn.zip").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".gbl-tmp-")]


# ---------------------------------------------------------------------------------- monorepo init
def test_init_in_two_sibling_projects_of_a_monorepo(tmp_path):
    from ruamel.yaml import YAML

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    for name in ("orders", "billing"):
        proj = copy_project(SAMPLE, repo / "services" / name)
        (proj / "gbl.toml").unlink()
    first = run_gbl("init", "-C", "services/orders", cwd=repo)
    assert first.returncode == 0, first.stderr
    second = run_gbl("-C", "services/billing", "init", cwd=repo)  # after orders: no clash
    assert second.returncode == 0, second.stderr
    workflows = repo / ".github" / "workflows"
    assert sorted(p.name for p in workflows.iterdir()) == ["gbl-services-billing.yml", "gbl-services-orders.yml"]
    for name in ("orders", "billing"):
        doc = YAML(typ="safe").load((workflows / f"gbl-services-{name}.yml").read_text())
        on = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads `on` as true
        paths = [f"services/{name}/**", f".github/workflows/gbl-services-{name}.yml"]
        assert on["push"]["paths"] == paths and on["pull_request"]["paths"] == paths
        job = doc["jobs"]["build"]
        assert job["defaults"]["run"]["working-directory"] == f"services/{name}"
        steps = {s["name"]: s for s in job["steps"]}
        assert steps["Upload dist/"]["with"]["name"] == f"lambda-zips-services-{name}"
        assert doc["name"] == f"gbl (services/{name})"
    again = run_gbl("init", "-C", "services/orders", cwd=repo)  # still never overwrites
    assert again.returncode == 2 and "--force" in again.stderr

    help_ = subprocess.run(["make", "--no-print-directory", "help"], cwd=repo / "services" / "billing",
                           capture_output=True, text=True)
    assert help_.returncode == 0, help_.stderr
    lines = help_.stdout.splitlines()
    targets = [line.split()[0] for line in lines[1:]]
    assert targets == ["build", "api", "echo", "nightly-report", "verify", "invoke-api", "invoke-echo",
                       "invoke-nightly-report", "clean", "help"]
    makefile = (repo / "services" / "billing" / "Makefile").read_text()
    for target in targets:  # every target listed exists
        assert f"\n{target}:" in makefile, target


def test_library_arch_takes_lambdas_name_and_refuses_nonsense(tmp_path):
    """The library API maps and checks `arch` as --arch does: x86_64 is amd64, sparc is refused
    before anything runs."""
    import gobuild_lambda as gbl

    proj = copy_project(SAMPLE, tmp_path / "p")
    plan = gbl.plan(proj, arch="x86_64")
    assert {f.arch for f in plan.functions} == {"amd64"}
    with pytest.raises(errors.UsageError, match=r"arch must be amd64 or arm64 .*got 'sparc'"):
        gbl.build(proj, arch="sparc")
    assert not (proj / "dist").exists()
