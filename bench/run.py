"""Time gbl against the Makefile baselines on one generated monorepo, in one run.

    python bench/run.py [--functions 50] [--runs 3] [--scenarios cold,noop,...] [--quick]
                        [--jobs N] [--write docs/performance.md] [--json FILE] [--keep]

What is measured (bench/README.md has the why):

* tools, each on its own copy of the same generated tree (bench/monorepo.py):
  - ``gbl``     — ``gbl build --json`` (this checkout, run by this interpreter);
  - ``go``      — the bare ``go build -o dist-bare/ ./cmd/...`` with gbl's flags, no packaging;
  - ``legacy``  — baseline (a): ``make legacy`` = that go build, then ``zip -X -9`` per binary;
  - ``perfn``   — baseline (b): ``make perfn`` = a ``go build -o build/<fn>/bootstrap`` per function
                  and a ``zip -X`` of each binary whose bytes changed (a sha256 stamp: Go touches
                  an up-to-date binary's mtime, so make's own rule would re-zip them all);
  - ``zip9``    — ``make legacy-zip``: legacy's packaging step alone, on prebuilt binaries.
* scenarios: ``cold`` (private empty GOCACHE, no previous output; the module cache is filled once,
  up front), ``noop`` (nothing changed), ``one-function`` (one function's code changed),
  ``shared-package`` (internal/platform, imported by every function, changed), ``packaging``
  (binaries prebuilt, no zips), and the optional ``jobs`` (gbl cold and packaging at --jobs 1/2/4),
  ``scale`` (gbl at --scale-to functions: time per function) and ``docker`` (warm
  ``gbl build --docker`` against warm local; skipped when Docker or the builder is unavailable).
* every sample: wall time and the CPU time (user+sys) of the whole process tree; for gbl also the
  peak RSS of the gbl process itself (getrusage at exit) and of its largest packaging worker
  (VmHWM, polled); medians over ``--runs``.

Nothing here asserts: the targets are printed with the measured ratios, met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
# This checkout's gbl, in this process too (the timed commands get it through PYTHONPATH): never
# whatever `pip install -e` last pointed at, which another checkout may have moved or removed.
sys.path.insert(1, str(ROOT))
import monorepo  # noqa: E402
import peers  # noqa: E402
import rss  # noqa: E402
import report  # noqa: E402

GO_FLAGS = ("build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w")
DEFAULT_SCENARIOS = ("cold", "noop", "one-function", "shared-package", "packaging")
ALL_SCENARIOS = DEFAULT_SCENARIOS + ("jobs", "scale", "docker", "reproducible", "ci")
ONCE = ("jobs", "scale", "docker", "reproducible", "ci")  # about shape, not medians: run 1 only
DOCKER_SAMPLES = 5  # the docker scenario's samples of each build, within its one run
PEERS = peers.PEER_TOOLS  # blz, sam, sam-par, sam-cached: dropped by --no-peers or when missing
# Which tools each scenario times (baselines only where a target or the table needs them).
TOOLS = {
    "cold": ("gbl", "go", "legacy", "perfn") + PEERS,
    "noop": ("gbl", "go", "perfn") + PEERS,
    "one-function": ("gbl", "go", "perfn") + PEERS,
    "shared-package": ("gbl", "go", "perfn") + PEERS,
    "packaging": ("gbl", "zip9"),
    # one of each zipper: SAM's three modes share one builder and one zipper
    "reproducible": ("gbl", "legacy", "perfn", "blz", "sam"),
    "ci": ("gbl", "go"),
}
REPRO_FUNCTIONS = 6  # the reproducible scenario's tree: bytes, not speed, so a small one

# Runs gbl's CLI in-process and reports its own peak RSS (KiB on Linux) at exit.
_GBL_WRAPPER = r"""
import atexit, os, resource, sys
def _report():
    path = os.environ.get("GBL_BENCH_RSS")
    if path:
        with open(path, "w") as fh:
            fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_report)
sys.argv = ["gbl"] + sys.argv[1:]
from gobuild_lambda.cli import main
main()
"""


@dataclass
class Sample:
    tool: str
    scenario: str
    wall: float
    cpu: float  # user + sys of every descendant
    rss_kib: int = 0  # gbl's own peak RSS
    worker_rss_kib: int = 0  # the largest packaging worker's peak RSS
    relinked: list[str] = field(default_factory=list)
    rezipped: list[str] = field(default_factory=list)
    zip_bytes: int = 0
    note: str = ""
    load1: float = 0.0  # the machine's 1-minute load average when the sample ended
    functions: int = 0  # how many functions the tool shipped (zips, or binaries for `go`)
    changed: int = -1  # shared-package: how many shipped binaries changed (-1: not checked)
    identical: int = -1  # reproducible: how many zips were byte-identical across the two builds


class Bench:
    def __init__(self, args, work: Path):
        self.args = args
        self.work = work
        self.go = shutil.which("go") or "/usr/local/go/bin/go"
        self.samples: list[Sample] = []
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_"))}
        base["PATH"] = os.pathsep.join([str(Path(self.go).parent), base.get("PATH", "")])
        base["PYTHONPATH"] = os.pathsep.join([str(ROOT), base.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        # An installed gbl has its bytecode compiled; so must this checkout (see prepare()).
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        self.gomodcache = subprocess.run(
            [self.go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True
        ).stdout.strip()
        # Offline while timing: the module cache is filled once, before anything is measured.
        base.update({"GOMODCACHE": self.gomodcache, "GOPROXY": "off", "GOTOOLCHAIN": "local",
                     "GOFLAGS": "", "GO": self.go})
        self.env = base
        self.cache_n = 0

    # ------------------------------------------------------------------------------ the trees
    def tree(self, tool: str, n: int | None = None) -> Path:
        n = n or self.args.functions
        return self.work / f"n{n}" / _kind(tool)

    def prepare(self, n: int) -> None:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "gobuild_lambda")],
                       env=self.env, check=True)
        template = self.work / f"n{n}" / "template"
        if template.exists():
            return
        monorepo.generate(template, n)
        env = {**self.env}
        env.pop("GOPROXY")  # go mod download / tidy may fill the module cache once, here
        subprocess.run([self.go, "mod", "download"], cwd=template, env={**env, "GOFLAGS": "-mod=mod"},
                       capture_output=True, check=False)
        monorepo.tidy(template, env, go=self.go)
        for kind in ("gbl", "go", "legacy", "perfn") + tuple(t for t in PEERS if t in self.peers):
            shutil.copytree(template, self.work / f"n{n}" / kind)

    def fresh_cache(self) -> Path:
        self.cache_n += 1
        path = self.work / "gocache" / str(self.cache_n)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def cache_of(self, tool: str, n: int) -> Path:
        return self.work / "gocache" / f"current-{tool}-{n}"

    # ----------------------------------------------------------------------------- commands
    def command(self, tool: str, tree: Path, jobs: int | None) -> list[str]:
        if tool == "gbl":
            cmd = [sys.executable, "-c", _GBL_WRAPPER, "build", "-C", str(tree), "--json"]
            return cmd + (["--jobs", str(jobs)] if jobs else [])
        if tool == "go":
            return [self.go, *GO_FLAGS, "-o", str(tree / "dist-bare") + os.sep, "./cmd/..."]
        if tool == "legacy":
            return ["make", "-s", "-C", str(tree), "legacy", f"GO={self.go}"]
        if tool == "perfn":
            return ["make", "-s", "-C", str(tree), "perfn", f"GO={self.go}"]
        if tool == "zip9":
            return ["make", "-s", "-C", str(tree), "legacy-zip"]
        if tool == "blz":
            return ["make", "-s", "-C", str(tree), "blz", f"GO={self.go}", f"BUILD_LAMBDA_ZIP={self.peers['blz']}"]
        if tool in peers.SAM_TOOLS:
            return [str(self.peers[tool]), "-c", peers.SAM_WRAPPER, *peers.SAM_FLAGS[tool]]
        raise ValueError(tool)

    def run(self, tool: str, scenario: str, tree: Path, cache: Path, *, jobs: int | None = None,
            record: bool = True, extra: list[str] = (), umask: int = -1) -> Sample:
        env = {**self.env, "GOCACHE": str(cache)}
        if tool in ("go",):
            env.update({"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"})
        if tool in peers.SAM_TOOLS:
            env = peers.sam_env(env)
        rss_file = self.work / "rss.txt"
        rss_file.unlink(missing_ok=True)
        env["GBL_BENCH_RSS"] = str(rss_file)
        cmd = self.command(tool, tree, jobs) + list(extra)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, umask=umask)
        poller = rss.WorkerRss(proc.pid) if tool == "gbl" else None
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if poller:
            poller.stop()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:]}\n{out[-2000:]}")
        s = Sample(tool, scenario, wall, cpu, load1=os.getloadavg()[0])
        if tool == "gbl":
            s.rss_kib = int(rss_file.read_text() or 0) if rss_file.exists() else 0
            s.worker_rss_kib = poller.peak if poller else 0
            doc = json.loads(out)
            s.relinked = sorted(f["name"] for f in doc["functions"] if f["relinked"])
            s.rezipped = sorted(f["name"] for f in doc["functions"] if f["rezipped"])
            s.zip_bytes = sum(f["size"] for f in doc["functions"])
        else:
            s.zip_bytes = peers.zip_bytes(tool, tree)
        d = peers.zip_dir(tool, tree) if tool != "go" else tree / "dist-bare"
        s.functions = len([p for p in d.iterdir() if tool == "go" or p.suffix == ".zip"]) if d.is_dir() else 0
        if record:
            self.samples.append(s)
        self._log(s)
        return s

    def _log(self, s: Sample) -> None:
        extra = ""
        if s.tool == "gbl":
            extra = (f" rss {s.rss_kib / 1024:.0f} MiB, worker {s.worker_rss_kib / 1024:.0f} MiB,"
                     f" relinked {len(s.relinked)}, re-zipped {len(s.rezipped)}")
        print(f"  {s.scenario:15} {s.tool:7} {s.wall:7.2f} s wall {s.cpu:7.2f} s cpu{extra}",
              file=sys.stderr, flush=True)

    # ------------------------------------------------------------------------------ states
    def clean(self, tool: str, tree: Path) -> None:
        sam = (".aws-sam", "dist-sam")
        for name in {"gbl": ("dist", ".gbl"), "go": ("dist-bare",), "legacy": ("dist-legacy", ".legacy"),
                     "perfn": ("build", "dist-perfn"), "zip9": (), "blz": ("build-blz", "dist-blz"),
                     "sam": sam, "sam-par": sam, "sam-cached": sam}[tool]:
            shutil.rmtree(tree / name, ignore_errors=True)

    def cold(self, tool: str, n: int, scenario: str = "cold", *, jobs=None, record=True) -> Sample:
        tree = self.tree(tool, n)
        self.clean(tool, tree)
        cache = self.cache_of(tool, n)
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        return self.run(tool, scenario, tree, cache, jobs=jobs or self.args.jobs, record=record)

    def warm(self, tool: str, n: int, scenario: str, *, jobs=None, record=True) -> Sample:
        tree = self.tree(tool, n)
        cache = self.cache_of(tool, n)
        if not cache.exists():
            self.cold(tool, n, record=False)
        return self.run(tool, scenario, tree, cache, jobs=jobs or self.args.jobs, record=record)

    # --------------------------------------------------------------------------- scenarios
    def scenario_cold(self, r: int) -> None:
        for tool in self.order(self.tools("cold"), r):
            self.cold(tool, self.args.functions)

    def scenario_noop(self, r: int) -> None:
        n = self.args.functions
        for tool in self.order(self.tools("noop"), r):
            self.warm(tool, n, "noop-warmup", record=False)
            self.warm(tool, n, "noop")

    def scenario_one_function(self, r: int) -> None:
        n = self.args.functions
        name = monorepo.function_names(n)[n // 2]
        for tool in self.order(self.tools("one-function"), r):
            self.warm(tool, n, "warmup", record=False)
            monorepo.edit_function(self.tree(tool, n), name, 1000 + r)
            s = self.warm(tool, n, "one-function")
            if tool == "gbl" and (s.relinked != [name] or s.rezipped != [name]):
                s.note = f"expected only {name} relinked and re-zipped"

    def scenario_shared_package(self, r: int) -> None:
        """Also the correctness check: every binary a tool ships must change with the package."""
        n = self.args.functions
        for tool in self.order(self.tools("shared-package"), r):
            self.warm(tool, n, "warmup", record=False)
            before = peers.binary_digests(tool, self.tree(tool, n))
            monorepo.edit_platform(self.tree(tool, n), 1000 + r)
            s = self.warm(tool, n, "shared-package")
            s.changed = peers.changed(before, peers.binary_digests(tool, self.tree(tool, n)))
            if s.changed != len(before):
                s.note = f"{len(before) - s.changed} of {len(before)} binaries unchanged (stale)"
                print(f"    {tool}: {s.note}", file=sys.stderr, flush=True)

    def scenario_packaging(self, r: int, *, jobs=None, label="packaging") -> None:
        n = self.args.functions
        tools = ("gbl",) if jobs else self.order(self.tools("packaging"), r)
        for tool in tools:
            if tool == "gbl":
                self.warm("gbl", n, "warmup", record=False)
                tree = self.tree("gbl", n)
                shutil.rmtree(tree / "dist", ignore_errors=True)
                (tree / ".gbl" / "zips.json").unlink(missing_ok=True)
                s = self.warm("gbl", n, label, jobs=jobs)
                if s.relinked or len(s.rezipped) != n:
                    s.note = "expected every function re-zipped and none relinked"
            else:
                tree = self.tree("legacy", n)
                if not (tree / "dist-legacy").is_dir():
                    self.cold("legacy", n, record=False)
                self.run("zip9", label, tree, self.cache_of("legacy", n))

    def scenario_jobs(self, r: int) -> None:
        n = self.args.functions
        for jobs in (1, 2, 4):
            self.cold("gbl", n, f"cold --jobs {jobs}", jobs=jobs)
            self.scenario_packaging(r, jobs=jobs, label=f"packaging --jobs {jobs}")

    def scenario_scale(self, r: int) -> None:
        big = self.args.scale_to
        self.prepare(big)
        self.cold("gbl", big, f"cold n={big}")
        self.warm("gbl", big, f"noop n={big}")
        tree = self.tree("gbl", big)
        name = monorepo.function_names(big)[big // 2]
        monorepo.edit_function(tree, name, 2000 + r)
        self.warm("gbl", big, f"one-function n={big}")
        shutil.rmtree(tree / "dist", ignore_errors=True)
        (tree / ".gbl" / "zips.json").unlink(missing_ok=True)
        self.warm("gbl", big, f"packaging n={big}")

    def scenario_docker(self, r: int) -> None:
        reason = docker_unavailable()
        if reason:
            self.skipped["docker"] = reason
            return
        n = self.args.functions
        try:
            self.warm("gbl", n, "warmup", record=False)
            tree = self.tree("gbl", n)
            cache = self.cache_of("gbl", n)
            self.fill_docker_modcache(tree)
            docker = ["--docker", "--image", self.docker_image()]
            # Run once (ONCE), but a ratio of two ~1 s builds on a shared machine needs several
            # samples: DOCKER_SAMPLES of each, medians.  Each kind in a block after a warm-up of
            # its own: a build after the other kind's finds another selection in .gbl/calls.json
            # and starts nothing early, which is not how anyone builds.
            names = monorepo.function_names(n)
            for where in ("docker", "local"):
                extra = docker if where == "docker" else []
                self.run("gbl", f"{where}-warmup", tree, cache, record=False, extra=extra)
                for _ in range(DOCKER_SAMPLES):
                    self.run("gbl", f"{where} noop", tree, cache, extra=extra)
                for i in range(DOCKER_SAMPLES):
                    name = names[(n // 2 + i) % n]
                    monorepo.edit_function(tree, name, (3000 if where == "docker" else 3500) + 10 * r + i)
                    self.run("gbl", f"{where} one-function", tree, cache, extra=extra)
        except RuntimeError as exc:
            why = next((ln for ln in str(exc).splitlines() if ln.startswith("error:")), str(exc).splitlines()[-1])
            self.skipped["docker"] = f"`gbl build --docker` failed: {why.removeprefix('error:').strip()}"

    def docker_image(self) -> str:
        """--docker-image, by default golang:<this machine's Go version>: the same toolchain as
        the local builds it is compared with (the Docker tests import exactly that image)."""
        if self.args.docker_image:
            return self.args.docker_image
        version = subprocess.run([self.go, "env", "GOVERSION"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        return f"golang:{version.removeprefix('go')}"

    def fill_docker_modcache(self, tree: Path) -> None:
        """Containers have no network: copy the tree's modules into gbl's Docker module cache,
        offline, from the module cache the benchmark already filled."""
        from gobuild_lambda.builders import docker as docker_build

        modcache = docker_build.default_cache_dir(self.env) / docker_build.CACHE_GOMODCACHE
        proxy = Path(self.gomodcache) / "cache" / "download"
        subprocess.run(
            [self.go, "mod", "download"], cwd=tree, check=True, capture_output=True,
            env={**self.env, "GOMODCACHE": str(modcache), "GOFLAGS": "-modcacherw",
                 "GOPROXY": proxy.as_uri(), "GONOSUMDB": "*", "GOSUMDB": "off"},
        )

    def scenario_reproducible(self, r: int) -> None:
        """Each zipper twice on the same small tree, cold: at two paths, fresh copies (new mtimes),
        umask 022 then 077.  Counts the zips that came out byte-identical."""
        n = min(self.args.functions, REPRO_FUNCTIONS)
        self.prepare(n)
        for tool in self.tools("reproducible"):
            digests = []
            for umask, where in ((0o022, "a"), (0o077, "second/path")):
                tree = self.work / "repro" / where / _kind(tool)
                shutil.rmtree(tree, ignore_errors=True)
                _checkout(self.work / f"n{n}" / "template", tree)
                s = self.run(tool, f"reproducible-{umask:03o}", tree, self.fresh_cache(), umask=umask,
                             record=False)
                digests.append(peers.zip_digests(tool, tree))
            s.scenario = "reproducible"
            s.identical = sum(1 for k, v in digests[0].items() if digests[1].get(k) == v)
            self.samples.append(s)
            print(f"    {tool}: {s.identical} of {len(digests[0])} zips identical", file=sys.stderr, flush=True)

    def scenario_ci(self, r: int) -> None:
        """A CI job: a fresh checkout (every mtime new) built cold, then again with the Go build
        cache (and for gbl its .gbl/) restored from that job, as actions/cache restores them."""
        n = self.args.functions
        name = monorepo.function_names(n)[n // 2]
        for tool in self.order(self.tools("ci"), r):
            base = self.work / "ci" / tool
            shutil.rmtree(base, ignore_errors=True)
            tree = base / "checkout"
            _checkout(self.work / f"n{n}" / "template", tree)
            self.run(tool, "ci cold", tree, self.fresh_cache())
            saved_cache = self.work / "gocache" / str(self.cache_n)
            saved_gbl = base / "saved-gbl"
            if tool == "gbl":
                shutil.copytree(tree / ".gbl", saved_gbl, symlinks=True)
            variants = [("ci restored GOCACHE", False, False), ("ci restored GOCACHE, one function changed", False, True)]
            if tool == "gbl":
                variants[1:1] = [("ci restored GOCACHE + .gbl", True, False)]
                variants.append(("ci restored GOCACHE + .gbl, one function changed", True, True))
            for label, with_gbl, edit in variants:
                shutil.rmtree(tree, ignore_errors=True)
                _checkout(self.work / f"n{n}" / "template", tree)
                if with_gbl:
                    shutil.copytree(saved_gbl, tree / ".gbl", symlinks=True)
                if edit:
                    monorepo.edit_function(tree, name, 4000 + r)
                cache = self.fresh_cache()
                shutil.rmtree(cache)
                shutil.copytree(saved_cache, cache, symlinks=True)
                self.run(tool, label, tree, cache)

    def tools(self, scenario: str) -> tuple[str, ...]:
        """The scenario's tools, less the peers that are off (--no-peers) or not installed."""
        only = self.args.tools
        return tuple(t for t in TOOLS[scenario]
                     if (t not in PEERS or t in self.peers) and (not only or t in only))

    def setup_peers(self) -> None:
        """Install (once, into --tools-dir) and locate the peers; say why any is missing."""
        self.peers: dict[str, Path] = {}
        self.versions: dict[str, str] = {}
        if self.args.no_peers:
            self.skipped["peers"] = "--no-peers"
            return
        tools = self.args.tools_dir
        exe, why = peers.ensure_blz(tools, self.go, self.env)
        if exe:
            self.peers["blz"], self.versions["build-lambda-zip"] = exe, peers.BLZ_VERSION
        else:
            self.skipped["build-lambda-zip"] = why
        py, version, why = peers.ensure_sam(tools)
        if py:
            self.peers.update({t: py for t in peers.SAM_TOOLS})
            self.versions["sam"] = version
        else:
            self.skipped["sam build"] = why

    @staticmethod
    def order(tools, r: int):
        # Alternate who goes first so slow drift in the machine's load does not favour one tool.
        return tools if r % 2 == 0 else tuple(reversed(tools))

    def main(self) -> int:
        self.skipped: dict[str, str] = {}
        t0 = time.perf_counter()
        self.setup_peers()
        self.prepare(self.args.functions)
        for r in range(self.args.runs):
            print(f"run {r + 1}/{self.args.runs}", file=sys.stderr, flush=True)
            for sc in self.args.scenarios:
                if sc in ONCE and r > 0:
                    continue  # once is enough: they are about shape, not medians
                getattr(self, "scenario_" + sc.replace("-", "_"))(r)
        self.elapsed = time.perf_counter() - t0
        return 0


def _kind(tool: str) -> str:
    """Which copy of the tree a tool works on (zip9 packages legacy's binaries)."""
    return "legacy" if tool == "zip9" else tool


def _checkout(src: Path, dst: Path) -> None:
    """A fresh checkout of ``src``: the same files, every mtime new (as git clone writes them)."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile,
                    ignore=shutil.ignore_patterns("dist*", "build*", ".gbl", ".legacy", ".aws-sam"))


def docker_unavailable() -> str:
    try:
        import importlib.util

        if importlib.util.find_spec("gobuild_lambda.builders.docker") is None:
            return "gobuild_lambda.builders.docker does not exist yet (the Docker issue has not landed)"
    except ImportError as exc:
        return str(exc)
    if shutil.which("docker") is None and not Path("/var/run/docker.sock").exists():
        return "no Docker daemon"
    return ""


# --------------------------------------------------------------------------------- reporting
def median(xs):
    return statistics.median(xs) if xs else None


def summarize(samples: list[Sample]) -> dict:
    by: dict[tuple[str, str], list[Sample]] = {}
    for s in samples:
        by.setdefault((s.scenario, s.tool), []).append(s)
    table = {}
    for (sc, tool), ss in by.items():
        table.setdefault(sc, {})[tool] = {
            "wall": median([s.wall for s in ss]),
            "cpu": median([s.cpu for s in ss]),
            "walls": [round(s.wall, 3) for s in ss],
            "cpus": [round(s.cpu, 3) for s in ss],
            "rss_mib": max(s.rss_kib for s in ss) / 1024,
            "worker_rss_mib": max(s.worker_rss_kib for s in ss) / 1024,
            "zip_bytes": ss[-1].zip_bytes,
            "relinked": ss[-1].relinked,
            "rezipped": ss[-1].rezipped,
            "notes": sorted({s.note for s in ss if s.note}),
            "functions": ss[-1].functions,
            "changed": min(s.changed for s in ss),  # the worst run: one stale build is one too many
            "identical": min(s.identical for s in ss),
        }
    return table


def _r(a, b):
    return a / b if a is not None and b else None


def targets(t: dict, key: str = "wall") -> list[tuple[str, str, float | None, float, bool | None]]:
    """(target, what, measured ratio, limit, met) for every target the table can decide."""
    measure = key

    def w(sc, tool, key=None):
        return t.get(sc, {}).get(tool, {}).get(key or measure)

    def pr(sc, tool, other, other_sc=None):  # gbl / other: median of the per-run ratios
        return report.paired(t.get(sc, {}).get(tool), t.get(other_sc or sc, {}).get(other), measure)

    rows = []

    def add(name, what, ratio, limit):
        rows.append((name, what, ratio, limit, None if ratio is None else ratio <= limit))

    add("cold gbl ≤ 0.75× (a) legacy", "cold", pr("cold", "gbl", "legacy"), 0.75)
    add("cold gbl ≤ 1.15× bare go build (wall and CPU)", "cold", pr("cold", "gbl", "go"), 1.15)
    add("no-op gbl ≤ 3× no-op go build", "noop", pr("noop", "gbl", "go"), 3.0)
    add("no-op gbl ≤ 0.15× (b) per-function no-op", "noop", pr("noop", "gbl", "perfn"), 0.15)
    add("packaging gbl ≤ 0.15× zip -X -9 per function", "packaging",
        pr("packaging", "gbl", "zip9"), 0.15)
    add("gbl zips ≤ zip -9's (total bytes)", "packaging",
        _r(w("packaging", "gbl", "zip_bytes"), w("packaging", "zip9", "zip_bytes")), 1.0)
    add("warm gbl --docker ≤ 1.5× warm local (no-op)", "docker noop",
        _r(w("docker noop", "gbl"), w("local noop", "gbl")), 1.5)
    add("warm gbl --docker ≤ 1.5× warm local (one function)", "docker one-function",
        _r(w("docker one-function", "gbl"), w("local one-function", "gbl")), 1.5)
    rss = max((v.get("rss_mib", 0) for sc in t.values() for k, v in sc.items() if k == "gbl"), default=None)
    add("peak RSS of the gbl process ≤ 150 MB", "all gbl runs", rss and rss * 1.048576 / 150, 1.0)
    return rows


def fmt(x, unit="s", digits=2):
    if x is None:
        return "–"
    return f"{x:.{digits}f}{(' ' + unit) if unit else ''}"


def render(meta: dict, t: dict) -> str:
    n, scale_to = meta["functions"], meta["scale_to"]
    lines = [
        "# Performance",
        "",
        "gbl against the Makefiles it replaces (and, below, against `sam build` and `build-lambda-zip`),",
        "on one generated monorepo, measured by",
        "[`bench/run.py`](../bench/run.py); what each tool and scenario is: [bench/README.md](../bench/README.md).",
        "This file is written by that script (`make bench`); edit the script, not this file.",
        "",
        "Command:",
        "",
        "```sh",
        meta["cmdline"],
        "```",
        "",
        *_updates(meta),
        f"Machine: {meta['machine']}, {meta['go']}, Python {meta['python']}, typer "
        f"{meta.get('typer', '?')}, libdeflate level {meta.get('deflate_level', '?')}; {n} functions; medians of "
        f"{meta['runs']} run(s), alternating which tool goes first; the whole benchmark took "
        f"{meta['elapsed_min']:.0f} min. The machine was shared: the 1-minute load average at the end "
        f"of a sample was {meta['load_median']:.1f} (median; max {meta['load_max']:.1f}) on "
        f"{meta['cpus']} CPUs, so wall times carry noise; CPU seconds (user+sys of the whole process tree, "
        "in brackets) are the steadier measure. A ratio gbl / X is the median of each run's own",
        "ratio where both have one sample per run (a run's samples of the two were taken minutes",
        "apart; the machine's speed varied more than that between runs), else the ratio of the medians.",
        "",
        "`go` is the bare `go build -o dist-bare/ ./cmd/...` with gbl's flags and no zips; (a) is",
        "`make legacy` (that, then `zip -X -9` per binary); (b) is `make perfn` (a `go build` and a",
        "`zip -X` per function, zipping only binaries whose bytes changed); `zip -9` is (a)'s zip step alone.",
        "",
        "| scenario | gbl | go build | (a) legacy | (b) per-function | zip -9 | gbl / go | gbl / (a) | gbl / (b) | gbl / zip -9 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sc in ("cold", "noop", "one-function", "shared-package", "packaging"):
        if sc not in t:
            continue
        row = t[sc]

        def cell(tool):
            v = row.get(tool)
            return f"{v['wall']:.2f} ({v['cpu']:.1f})" if v else "–"

        ratio = lambda tool: fmt(report.paired(row.get("gbl"), row.get(tool)), "×")  # noqa: E731
        lines.append(f"| {sc} | {cell('gbl')} | {cell('go')} | {cell('legacy')} | {cell('perfn')} | "
                     f"{cell('zip9')} | {ratio('go')} | {ratio('legacy')} | {ratio('perfn')} | {ratio('zip9')} |")
    lines += ["", "## Targets", "",
              "Ratios (as above: medians of the per-run ratios), of wall time and of CPU time; \"met\" judges the wall-time ratio "
              "(both ratios where the target names them).", "",
              "| target | measured (wall) | measured (CPU) | limit | met |", "|---|---:|---:|---:|---|"]
    cpu_rows = {name: ratio for name, _w, ratio, _l, _m in targets(t, key="cpu")}
    for name, _what, ratio, limit, met in targets(t):
        cr = cpu_rows.get(name)
        if "wall and CPU" in name and met and cr is not None:
            met = cr <= limit
        lines.append(f"| {name} | {fmt(ratio, '×')} | {fmt(cr, '×') if 'RSS' not in name and 'bytes' not in name else '–'} "
                     f"| {limit:.2f}× | {'–' if met is None else ('yes' if met else '**no**')} |")
    lines += ["", "## What gbl rebuilt", ""]
    for sc in ("noop", "one-function", "shared-package", "packaging"):
        g = t.get(sc, {}).get("gbl")
        if g:
            rel = ", ".join(g["relinked"]) if 0 < len(g["relinked"]) < 4 else str(len(g["relinked"]))
            rez = ", ".join(g["rezipped"]) if 0 < len(g["rezipped"]) < 4 else str(len(g["rezipped"]))
            note = f" — **{'; '.join(g['notes'])}**" if g["notes"] else ""
            lines.append(f"- {sc}: relinked {rel}, re-zipped {rez}{note}")
    lines += ["", "## Memory", "",
              "Peak RSS of the gbl process itself (`getrusage` at exit) and of its largest packaging",
              "worker (`VmHWM`, polled); `go` and its compilers are not counted.", ""]
    for sc, row in t.items():
        g = row.get("gbl")
        if g and g["rss_mib"]:
            lines.append(f"- {sc}: gbl {g['rss_mib']:.0f} MiB, largest packaging worker "
                         f"{g['worker_rss_mib']:.0f} MiB")
    zsizes = {k: t.get("packaging", {}).get(k, {}).get("zip_bytes") for k in ("gbl", "zip9")}
    if all(zsizes.values()):
        lines += ["", f"Zips: gbl {zsizes['gbl'] / 1e6:.1f} MB in total, `zip -X -9` "
                  f"{zsizes['zip9'] / 1e6:.1f} MB."]
    jobs = [(j, t.get(f"cold --jobs {j}", {}).get("gbl"), t.get(f"packaging --jobs {j}", {}).get("gbl"))
            for j in (1, 2, 4)]
    if any(c or p for _, c, p in jobs):
        lines += ["", "## Parallelism: `--jobs`", "",
                  "`--jobs N` is `go build -p N` and the number of packaging processes; the default is the",
                  f"CPU count ({meta['cpus']} here). One run each:", "",
                  "| --jobs | cold | packaging |", "|---:|---:|---:|"]
        for j, c, p in jobs:
            cell = lambda v: f"{v['wall']:.2f} s ({v['cpu']:.1f})" if v else "–"  # noqa: E731
            lines.append(f"| {j} | {cell(c)} | {cell(p)} |")
    scale = [sc for sc in t if sc.endswith(f"n={scale_to}")]
    if scale:
        lines += ["", f"## Scale: {n} → {scale_to} functions (gbl, one run at {scale_to})", "",
                  f"| scenario | wall at {n} | per function | wall at {scale_to} | per function |",
                  "|---|---:|---:|---:|---:|"]
        for sc in scale:
            base = sc.split(" n=")[0]
            small, big = t.get(base, {}).get("gbl"), t[sc].get("gbl")
            if small and big:
                lines.append(f"| {base} | {small['wall']:.2f} s | {small['wall'] / n * 1000:.0f} ms | "
                             f"{big['wall']:.2f} s | {big['wall'] / scale_to * 1000:.0f} ms |")
    docker = [sc for sc in t if sc.startswith(("docker ", "local "))]
    if docker:
        lines += ["", "## Docker (warm)", "", "| scenario | wall | CPU |", "|---|---:|---:|"]
        for sc in sorted(docker):
            g = t[sc]["gbl"]
            lines.append(f"| {sc} | {g['wall']:.2f} s | {g['cpu']:.1f} s |")
    lines += report.peers_section(meta, t)
    lines += report.correctness_section(meta, t)
    lines += report.ci_section(meta, t)
    for sc, why in meta.get("skipped", {}).items():
        lines += ["", f"Skipped `{sc}`: {why}."]
    lines += report.bounds(meta, t)
    lines += ["", "## How gbl gets there", "",
              "- One `go build -o DIR/ pkg...` per group of functions with equal settings, into a stable",
              "  directory under `.gbl/build/`: Go compiles shared packages once, links in parallel, and",
              "  skips relinking a binary whose build ID still matches.",
              "- Packaging overlaps linking: while `go build` runs, gbl polls its output directory and zips",
              "  each binary as soon as Go has moved it into place; the final build IDs confirm those zips",
              "  (or redo them). Binaries whose zip is missing are zipped while Go checks them.",
              "- A zip is rewritten only when its recipe (the binary's Go build ID and size, the included",
              "  files, the timestamp, the packager version) changed; a no-op build rewrites no file.",
              "- A no-op build is one `go` process plus `go list`: gbl starts the previous build's",
              "  `go build` while `go list` plans, and keeps it only if the new plan asks for exactly the",
              "  same calls. `go list -find` reads the `cmd/` packages' own files without loading their",
              "  imports, which is all the plan needs.",
              "- Packaging runs in `--jobs` worker processes (libdeflate holds the GIL), started only when",
              "  there is something to zip.",
              "- Packaging is nearly all compression. libdeflate level 7 compresses Go binaries twice as",
              "  fast as level 9, for zips 0.3% larger and still 0.5% smaller than `zip -9`'s (level 6:",
              "  15% less compression CPU, zips 0.35% larger, 0.27% smaller than `zip -9`'s; level 5 is",
              "  larger than `zip -9`'s). `gbl build` verifies the zips it has just written from what",
              "  packaging knows (each entry's CRC and bytes; every header is still read from the zip)",
              "  instead of inflating them again; `gbl verify` re-reads any zip in full.",
              "- While `go build` links, gbl polls its output directory every 50 ms: one `stat` of the",
              "  directory while nothing lands in it.",
              "- `--docker` runs each `go build` in a warm build container (one per project, image and",
              "  settings, stopping by itself when idle), so a warm build creates no container; its",
              "  helper starts each build from a signed request file at once (inotify; a `docker exec`",
              "  took the daemon 50-100 ms); and, like the local builder, gbl asks for last build's",
              "  runs again while `go list` plans (in a thread: over the daemon's Unix socket with the",
              "  standard library, before the Docker SDK, which the rest of the build needs, is imported).",
              "- The CLI's start-up is imports. typer 0.29 imports pydantic and builds a validator for",
              "  every option (about 0.1 s a run), so gbl requires typer < 0.29; a test checks that a",
              "  no-op `gbl build` imports neither pydantic nor any stage it does not run.",
              ""]
    lines += ["<details><summary>Every sample (wall seconds)</summary>", ""]
    for sc, row in t.items():
        for tool, v in row.items():
            lines.append(f"- {sc} / {tool}: {', '.join(f'{x:.2f}' for x in v['walls'])}")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _updates(meta: dict) -> list[str]:
    """The commands whose samples replaced some of the first command's (``--update``)."""
    out = []
    for u in meta.get("updates", []):
        out += [f"Then, at commit {u['commit']}, a {u['elapsed_min']:.0f}-min run replaced "
                f"the rows of {', '.join(f'`{sc}`' for sc in u['scenarios'])}:", "", "```sh", u["cmdline"], "```", ""]
    return out


def meta_of(bench: Bench, cmdline: str) -> dict:
    a = bench.args
    loads = sorted(s.load1 for s in bench.samples) or [0.0]
    return {
        "cmdline": cmdline, "commit": _commit(), "functions": a.functions, "runs": a.runs, "scale_to": a.scale_to,
        "elapsed_min": bench.elapsed / 60, "cpus": os.cpu_count(),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
        "go": _go_version(bench), "python": platform.python_version(),
        "deflate_level": _deflate_level(), "typer": _version_of("typer"),
        "load_median": statistics.median(loads), "load_max": loads[-1], "skipped": bench.skipped,
        "versions": bench.versions, "repro_functions": min(a.functions, REPRO_FUNCTIONS),
    }


def merge_into(earlier: dict, samples: list[Sample], meta: dict) -> tuple[list[Sample], dict]:
    """An earlier run's samples and meta, with every scenario measured now replaced by the new
    samples; ``meta["updates"]`` says which command (at which commit) replaced which rows."""
    now = {s.scenario for s in samples}
    kept = [Sample(**x) for x in earlier["samples"] if x["scenario"] not in now]
    merged = kept + list(samples)
    loads = sorted(s.load1 for s in merged) or [0.0]
    out = dict(earlier["meta"])
    # An earlier update whose rows are all measured again is history no longer shown.
    out["updates"] = [u for u in out.get("updates", []) if not set(u["scenarios"]) <= now] + [{
        "cmdline": meta["cmdline"], "commit": meta.get("commit", "?"), "scenarios": sorted(now),
        "runs": meta["runs"], "elapsed_min": meta["elapsed_min"]}]
    out["load_median"], out["load_max"] = statistics.median(loads), loads[-1]
    out["skipped"] = {**{k: v for k, v in out.get("skipped", {}).items() if k not in meta["skipped"]},
                      **meta["skipped"]}
    return merged, out


def _commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.strip() or "?"


def _deflate_level() -> int:
    sys.path.insert(0, str(ROOT))
    from gobuild_lambda import package

    return package.DEFLATE_LEVEL


def _version_of(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _go_version(bench: Bench) -> str:
    proc = subprocess.run([bench.go, "env", "GOVERSION"], capture_output=True, text=True)
    return proc.stdout.strip() or "go ?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="gbl against the Makefile baselines (bench/README.md)")
    ap.add_argument("--functions", "-n", type=int, default=50)
    ap.add_argument("--runs", "-r", type=int, default=3)
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help=f"comma-separated, or 'all': {', '.join(ALL_SCENARIOS)}")
    ap.add_argument("--quick", action="store_true", help="12 functions, 1 run: a smoke test of the benchmark")
    ap.add_argument("--jobs", "-j", type=int, default=None, help="gbl --jobs (default: gbl's own default)")
    ap.add_argument("--scale-to", type=int, default=200, help="function count of the scale scenario")
    ap.add_argument("--docker-image", help="the golang image of the docker scenario (default: "
                    "golang:<local go version>, which `make test` imports when it is missing)")
    ap.add_argument("--write", type=Path, help="write the Markdown report here")
    ap.add_argument("--json", type=Path, help="write every sample and the summary as JSON here")
    ap.add_argument("--workdir", type=Path, help="where the trees and caches go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--render-from", type=Path, help="only re-render the report from a --json file")
    ap.add_argument("--update", type=Path, metavar="JSON",
                    help="merge into this --json file of an earlier run: its samples of the scenarios "
                         "measured now are replaced, the rest kept; the report names both commands "
                         "(e.g. to re-measure the docker scenario after a change without a 2-hour run)")
    ap.add_argument("--tools", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                    help="only these tools (comma-separated: gbl, go, legacy, perfn, zip9, blz, sam, sam-par, "
                         "sam-cached), e.g. to re-measure one peer")
    ap.add_argument("--no-peers", action="store_true",
                    help="leave out the peers (sam build, build-lambda-zip): gbl and the Makefiles only")
    ap.add_argument("--tools-dir", type=Path, default=HERE / ".tools",
                    help="where the peers are installed on first use: sam-venv/ (aws-sam-cli from PyPI) and "
                         "gobin/ (build-lambda-zip); default bench/.tools (git-ignored)")
    args = ap.parse_args(argv)
    cmdline = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.quick:
        args.functions, args.runs, args.scale_to = min(args.functions, 12), 1, min(args.scale_to, 24)
    args.scenarios = list(ALL_SCENARIOS) if args.scenarios == "all" else [
        s.strip() for s in args.scenarios.split(",") if s.strip()]
    bad = [s for s in args.scenarios if s not in ALL_SCENARIOS]
    if bad:
        ap.error(f"unknown scenario(s) {', '.join(bad)}; known: {', '.join(ALL_SCENARIOS)}")
    if shutil.which("zip") is None or shutil.which("make") is None:
        ap.error("the baselines need `zip` and `make` on PATH")
    if args.render_from:
        doc = json.loads(args.render_from.read_text(encoding="utf-8"))
        samples = [Sample(**x) for x in doc["samples"]]
        meta = doc["meta"]
    else:
        work = args.workdir or Path(tempfile.mkdtemp(prefix="gbl-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(args, work)
        try:
            bench.main()
        finally:
            if not args.keep and args.workdir is None:
                shutil.rmtree(work, ignore_errors=True)
        samples, meta = bench.samples, meta_of(bench, cmdline.strip())
        if args.update:
            samples, meta = merge_into(json.loads(args.update.read_text(encoding="utf-8")), samples, meta)
    t = summarize(samples)
    report = render(meta, t)
    print(report)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "summary": t, "samples": [asdict(s) for s in samples]},
                                        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
