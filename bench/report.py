"""The report's sections on the peers, on correctness and on CI (bench/run.py renders the rest).

Each section renders from the summary table alone (``run.summarize``), so
``run.py --render-from FILE.json`` shows them for any JSON; a JSON from before they were measured
renders them as "not measured yet".
"""

from __future__ import annotations

import statistics

NOT_YET = ("Not measured yet: this report's JSON predates the scenario; `make bench` measures it.")

PEER_COLUMNS = (
    ("blz", "go build + build-lambda-zip"),
    ("sam", "sam build"),
    ("sam-par", "sam build --parallel"),
    ("sam-cached", "sam build --parallel --cached"),
)
ZIPPERS = (
    ("gbl", "gbl"),
    ("legacy", "(a) legacy: zip -X -9"),
    ("perfn", "(b) per-function: zip -X"),
    ("blz", "build-lambda-zip"),
    ("sam", "sam build + SAM's zipper"),
    ("sam-par", "sam build --parallel"),
    ("sam-cached", "sam build --parallel --cached"),
    ("go", "bare go build (binaries, no zips)"),
)
CI_ROWS = (
    "ci cold",
    "ci restored GOCACHE",
    "ci restored GOCACHE + .gbl",
    "ci restored GOCACHE, one function changed",
    "ci restored GOCACHE + .gbl, one function changed",
)


def _cell(v: dict | None) -> str:
    return f"{v['wall']:.2f} ({v['cpu']:.1f})" if v else "–"


def paired(g: dict | None, p: dict | None, key: str = "wall") -> float | None:
    """gbl / peer: the median of each run's own ratio when both have one sample per run (a run's
    two samples were taken minutes apart, while the shared machine's speed varied between runs
    by up to 2×), else the ratio of the medians."""
    if not g or not p or not p.get(key):
        return None
    many = {"wall": "walls", "cpu": "cpus"}.get(key)
    a, b = (g.get(many), p.get(many)) if many else (None, None)
    if a and b and len(a) == len(b) > 1 and all(b):
        return statistics.median(x / y for x, y in zip(a, b))
    return g[key] / p[key]


def _ratio(g: dict | None, p: dict | None) -> str:
    w, c = paired(g, p, "wall"), paired(g, p, "cpu")
    if w is None or c is None:
        return "–"
    return f"{w:.2f} × ({c:.2f} ×)"


def peers_section(meta: dict, t: dict) -> list[str]:
    versions = meta.get("versions", {})
    out = ["", "## Peers: `sam build` and `build-lambda-zip`", "",
           "In the same run, on their own copies of the same tree with their own `GOCACHE`:",
           "`go build + build-lambda-zip` is the aws-lambda-go README's recipe in a loop (`make blz`: per",
           "function, `go build -o build-blz/<fn>/bootstrap` with gbl's flags, then `build-lambda-zip`",
           f"{versions.get('build-lambda-zip', peers_blz_version())}); `sam build` is "
           f"{versions.get('sam', 'AWS SAM CLI')} from PyPI, in its own virtualenv, without containers,",
           "on a generated `template.yaml` (`BuildMethod: go1.x`, `provided.al2023`), with gbl's flags",
           "through `CGO_ENABLED=0` and `GOFLAGS`, plus SAM's own zipper (`sam package`'s) over each",
           "function's build directory, inside the timed command. Wall seconds (CPU seconds); ratios are the",
           "medians of the per-run gbl / peer ratios, wall (CPU).", ""]
    rows = [sc for sc in ("cold", "noop", "one-function", "shared-package")
            if any(tool in t.get(sc, {}) for tool, _ in PEER_COLUMNS)]
    if not rows:
        return out + [NOT_YET]
    out += ["| scenario | gbl | " + " | ".join(label for _, label in PEER_COLUMNS) + " | "
            + " | ".join(f"gbl / {tool}" for tool, _ in PEER_COLUMNS) + " |",
            "|---|" + "---:|" * (1 + 2 * len(PEER_COLUMNS))]
    for sc in rows:
        row = t[sc]
        g = row.get("gbl")
        out.append(f"| {sc} | {_cell(g)} | " + " | ".join(_cell(row.get(tool)) for tool, _ in PEER_COLUMNS)
                   + " | " + " | ".join(_ratio(g, row.get(tool)) for tool, _ in PEER_COLUMNS) + " |")
    return out


def peers_blz_version() -> str:
    import peers

    return peers.BLZ_VERSION


def correctness_section(meta: dict, t: dict) -> list[str]:
    n = meta["functions"]
    rn = meta.get("repro_functions", min(n, 6))
    out = ["", "## Zip bytes and correctness", "",
           f"- **zip bytes**: the total size of the {n} zips after `cold`.",
           "- **shared package changed**: after `shared-package` (internal/platform, which every function",
           "  imports, changed), how many of the shipped binaries (the `bootstrap` inside each zip) differ",
           "  from the previous build's. Anything less than all of them is a stale artifact.",
           f"- **reproducible**: the same {rn}-function tree built twice, cold, from fresh copies (new",
           "  mtimes) at two different paths, under umask 022 and then 077: how many zips came out",
           "  byte-identical. (`sam build`'s three modes share one builder and one zipper: measured once.)",
           ""]
    have = any(t.get("shared-package", {}).get(tool, {}).get("changed", -1) >= 0 for tool, _ in ZIPPERS) \
        or "reproducible" in t
    if not have:
        return out + [NOT_YET]
    out += ["| tool | zip bytes | shared package changed | reproducible |", "|---|---:|---:|---:|"]
    for tool, label in ZIPPERS:
        cold = t.get("cold", {}).get(tool)
        shared = t.get("shared-package", {}).get(tool)
        repro = t.get("reproducible", {}).get(tool)
        if not (cold or shared or repro):
            continue
        zb = f"{cold['zip_bytes'] / 1e6:.1f} MB" if cold and cold.get("zip_bytes") else "–"
        ch = "–"
        if shared and shared.get("changed", -1) >= 0:
            total = shared.get("functions") or n
            ch = f"{shared['changed']} of {total}" + ("" if shared["changed"] == total else " (**stale**)")
        rp = "–"
        if repro and repro.get("identical", -1) >= 0:
            total = repro.get("functions") or rn
            rp = f"{repro['identical']} of {total}" + ("" if repro["identical"] == total else " (**differ**)")
        out.append(f"| {label} | {zb} | {ch} | {rp} |")
    return out


def ci_section(meta: dict, t: dict) -> list[str]:
    out = ["", "## CI job with a restored cache", "",
           "A CI job starts from a fresh checkout: every file's mtime is new. `ci cold` builds it with an",
           "empty `GOCACHE`; the others restore that job's `GOCACHE` (and, for gbl, its `.gbl/`) the way",
           "`actions/cache` does, into another fresh checkout, and build the same commit or one with one",
           "function changed. The module cache is filled in every case. Wall seconds (CPU seconds):", ""]
    rows = [sc for sc in CI_ROWS if sc in t]
    if not rows:
        return out + [NOT_YET]
    out += ["| job | gbl | bare go build | gbl / go | gbl relinked | gbl re-zipped |", "|---|---:|---:|---:|---:|---:|"]
    for sc in rows:
        g, go = t[sc].get("gbl"), t[sc].get("go")
        if sc.startswith("ci restored GOCACHE + .gbl"):
            go = None  # go build has no .gbl/: its row is the GOCACHE-only one
        out.append(f"| {sc} | {_cell(g)} | {_cell(go)} | {_ratio(g, go)} | "
                   f"{len(g['relinked']) if g else '–'} | {len(g['rezipped']) if g else '–'} |")
    return out


def bounds(meta: dict, t: dict) -> list[str]:
    """What the CPU times say about the best wall time each scenario could reach."""
    cpus = meta["cpus"]
    get = lambda sc, tool, k: t.get(sc, {}).get(tool, {}).get(k)  # noqa: E731
    out = ["", "## What the CPU times allow", ""]
    go_w, go_c, g_c = get("cold", "go", "wall"), get("cold", "go", "cpu"), get("cold", "gbl", "cpu")
    pk_c, z9_w = get("packaging", "gbl", "cpu"), get("packaging", "zip9", "wall")
    if go_w and go_c and g_c:
        out.append(
            f"- cold: the bare `go build` kept {go_c / (go_w * cpus):.0%} of the {cpus} CPUs busy "
            f"({go_c:.1f} CPU s in {go_w:.1f} s); gbl needs {g_c:.1f} CPU s (the same build plus "
            f"packaging: libdeflate level {meta.get('deflate_level', '?')} of every binary, and verify), so no overlap can finish it "
            f"faster than {g_c / cpus:.1f} s = {g_c / cpus / go_w:.2f}× the bare build.")
        g, go = t["cold"]["gbl"], t["cold"]["go"]
        a, b = g.get("cpus") or [g_c], go.get("cpus") or [go_c]
        pairs = list(zip(a, b)) if len(a) == len(b) else [(g_c, go_c)]  # each run's (gbl, go)
        ratio = paired(g, go, "cpu")
        if pk_c and ratio:
            extra = ", ".join(f"{a - b:.1f}" for a, b in pairs)
            allowed = ", ".join(f"{0.15 * b:.1f}" for _, b in pairs)
            share = sorted(pk_c / b for _, b in pairs)
            out.append(
                f"- cold, CPU: gbl used {ratio:.2f}× the bare build's CPU (the median of the per-run "
                f"ratios): beyond it, {extra} CPU s in the {len(pairs)} run(s), where the 1.15× target "
                f"allows {allowed}. Packaging alone (the packaging scenario: compressing and checking "
                f"{meta['functions']} binaries, no `go`) takes {pk_c:.1f} CPU s, "
                f"{share[0]:.0%}–{share[-1]:.0%} of a run's bare build, so "
                + ("compression is what stands in the way: a lower libdeflate level trades bytes "
                   "for it (zips must stay no larger than `zip -9`'s), the rest is Python's start, "
                   "`go list` and gbl's own bookkeeping."
                   if ratio > 1.15 else "the target holds with packaging included."))
    if pk_c and z9_w:
        out.append(
            f"- packaging: gbl spends {pk_c:.1f} CPU s on {meta['functions']} zips; spread perfectly over "
            f"{cpus} CPUs that is {pk_c / cpus:.1f} s = {pk_c / cpus / z9_w:.2f}× `zip -X -9`'s {z9_w:.1f} s.")
    n_w, n_g = get("noop", "go", "wall"), get("noop", "gbl", "wall")
    if n_w and n_g:
        out.append(
            f"- no-op: gbl's {n_g:.2f} s is Go's own no-op ({n_w:.2f} s, run while `go list` plans) "
            f"plus Python: the interpreter, the CLI's imports (typer and rich) and gbl's own planning "
            f"(`go list -find`, also run while the build runs); `pyinstrument -m gobuild_lambda build` "
            f"shows the split.")
    d_w, d_c, l_w = get("docker noop", "gbl", "wall"), get("docker noop", "gbl", "cpu"), get("local noop", "gbl", "wall")
    if d_w and d_c and l_w:
        out.append(
            f"- docker: a warm no-op `gbl build --docker` takes {d_w:.2f} s, and gbl itself uses "
            f"{d_c:.1f} CPU s of it (the container's processes are the daemon's, not counted): "
            f"{d_w / l_w:.2f}× the local no-op (target 1.5×). Each `go build` runs in the project's "
            f"warm build container, started by its helper from a signed request file (no container "
            f"is created or removed, no `docker exec`), and last build's runs are asked for again "
            f"while `go list` plans (the head start, docs/docker.md), with one API call over the "
            f"daemon's socket before the Docker SDK is even imported; the {d_w - l_w:.2f} s more than "
            f"local is importing the SDK (requests, urllib3: ~0.2 CPU s, in a thread while `go list` "
            f"plans, on the same {cpus} CPUs), the API calls that find the image and the container, "
            f"and a `go build` in the container a little slower than on the host.")
    return out
