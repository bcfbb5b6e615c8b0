"""Generate a realistic Go Lambda monorepo of N functions, for the benchmarks and the tests.

The tree looks like the repositories gbl replaces Makefiles in::

    go.mod, go.sum              module example.com/mono, aws-lambda-go v1.55.1
    internal/platform/          shared by every function (logging, JSON responses, config, IDs)
    internal/billing/           shared by every third function (money maths, invoices)
    cmd/<domain>-<action>/      one aws-lambda-go handler per function: API Gateway v2, SQS, S3,
                                DynamoDB and Kinesis streams, SNS or EventBridge, each with its
                                own mix of standard-library imports (regexp, templates, XML,
                                gzip, big numbers, HMAC, ...)
    Makefile                    the baselines gbl is measured against (bench/README.md):
                                `make legacy`, `make perfn` and `make blz`
    template.yaml               an AWS SAM template with one AWS::Serverless::Function per
                                function (BuildMethod go1.x, CodeUri cmd/<name>/): `sam build`

Everything is a pure function of N (no randomness that varies between runs), so the same N gives
the same tree, the same function names and the same binaries.  Importable (the tests build a
6-function tree with it) and runnable::

    python bench/monorepo.py DIR --functions 50
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

MODULE = "example.com/mono"
GO_DIRECTIVE = "1.26"  # aws-lambda-go v1.55.1 needs it
AWS_LAMBDA_GO = "v1.55.1"
MAX_FUNCTIONS = 200

DOMAINS = (
    "orders", "payments", "users", "invoices", "shipping", "catalog", "search", "reviews",
    "inventory", "notifications", "auth", "reports", "carts", "coupons", "ledger", "profiles",
    "webhooks", "exports", "imports", "audit",
)
ACTIONS = ("create", "get", "list", "update", "delete", "sync", "notify", "ingest", "archive", "reindex")
KINDS = ("http", "sqs", "s3", "dynamodb", "sns", "schedule", "kinesis")
PLATFORM = "internal/platform"  # imported by every function
BILLING = "internal/billing"  # imported by every function whose index is a multiple of 3


def function_names(count: int) -> list[str]:
    """The names of the first ``count`` functions: stable, unique, ``<domain>-<action>``."""
    if not 1 <= count <= MAX_FUNCTIONS:
        raise ValueError(f"between 1 and {MAX_FUNCTIONS} functions, got {count}")
    return [_name(i) for i in range(count)]


def _name(i: int) -> str:
    return f"{DOMAINS[i % len(DOMAINS)]}-{ACTIONS[(i // len(DOMAINS) + i) % len(ACTIONS)]}"


def uses_billing(i: int) -> bool:
    return i % 3 == 0


def billing_users(count: int) -> list[str]:
    """The functions (of the first ``count``) that import internal/billing."""
    return [_name(i) for i in range(count) if uses_billing(i)]


# Standard-library "features": (imports, Go code defining func <key>(s string) string).
SNIPPETS: dict[str, tuple[tuple[str, ...], str]] = {
    "digest": (("crypto/sha256", "encoding/hex"), """
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}"""),
    "words": (("regexp", "strconv"), """
var wordRE = regexp.MustCompile(`[\\p{L}\\p{N}]+`)

func words(s string) string {
	return strconv.Itoa(len(wordRE.FindAllString(s, -1)))
}"""),
    "render": (("text/template", "strings"), """
var renderTmpl = template.Must(template.New("msg").Parse(`{{.Name}} has {{len .Items}} item(s): {{range $i, $x := .Items}}{{if $i}}, {{end}}{{$x}}{{end}}`))

func render(s string) string {
	var b strings.Builder
	_ = renderTmpl.Execute(&b, map[string]any{"Name": s, "Items": strings.Fields(s)})
	return b.String()
}"""),
    "page": (("htmltemplate html/template", "bytes"), """
var pageTmpl = htmltemplate.Must(htmltemplate.New("page").Parse(`<p class="x">{{.}}</p>`))

func page(s string) string {
	var b bytes.Buffer
	_ = pageTmpl.Execute(&b, s)
	return b.String()
}"""),
    "asXML": (("encoding/xml",), """
type xmlDoc struct {
	XMLName xml.Name `xml:"doc"`
	Value   string   `xml:"value,attr"`
}

func asXML(s string) string {
	out, _ := xml.Marshal(xmlDoc{Value: s})
	return string(out)
}"""),
    "asCSV": (("encoding/csv", "strings"), """
func asCSV(s string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(strings.Fields(s))
	w.Flush()
	return b.String()
}"""),
    "packed": (("compress/gzip", "bytes", "encoding/base64"), """
func packed(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}"""),
    "bigSum": (("math/big",), """
func bigSum(s string) string {
	n := new(big.Int)
	for _, r := range s {
		n.Mul(n, big.NewInt(31))
		n.Add(n, big.NewInt(int64(r)))
	}
	return n.Text(36)
}"""),
    "query": (("net/url",), """
func query(s string) string {
	v := url.Values{}
	v.Set("q", s)
	return (&url.URL{Scheme: "https", Host: "example.com", Path: "/search", RawQuery: v.Encode()}).String()
}"""),
    "deadline": (("time",), """
func deadline(s string) string {
	return time.Unix(int64(len(s))*3600, 0).UTC().Add(15 * time.Minute).Format(time.RFC3339)
}"""),
    "sorted": (("sort", "strings"), """
func sorted(s string) string {
	f := strings.Fields(s)
	sort.Strings(f)
	return strings.Join(f, " ")
}"""),
    "signed": (("crypto/hmac", "crypto/sha512", "encoding/base64"), """
func signed(s string) string {
	m := hmac.New(sha512.New, []byte("not-a-secret"))
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}"""),
    "checksum": (("hash/crc32", "fmt"), """
func checksum(s string) string {
	return fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(s)))
}"""),
    "runes": (("unicode/utf8", "unicode", "strconv"), """
func runes(s string) string {
	upper := 0
	for _, r := range s {
		if unicode.IsUpper(r) {
			upper++
		}
	}
	return strconv.Itoa(utf8.RuneCountInString(s)) + "/" + strconv.Itoa(upper)
}"""),
    "sealed": (("crypto/aes", "crypto/cipher", "encoding/hex"), """
func sealed(s string) string {
	block, _ := aes.NewCipher(make([]byte, 16))
	gcm, _ := cipher.NewGCM(block)
	return hex.EncodeToString(gcm.Seal(nil, make([]byte, gcm.NonceSize()), []byte(s), nil))[:16]
}"""),
    "mimeOf": (("mime", "path"), """
func mimeOf(s string) string {
	t := mime.TypeByExtension(path.Ext(s))
	if t == "" {
		t = "application/octet-stream"
	}
	return t
}"""),
    "framed": (("encoding/binary", "bytes"), """
func framed(s string) string {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
	b.WriteString(s)
	return string(rune('A' + b.Len()%26))
}"""),
    "escaped": (("html", "strings"), """
func escaped(s string) string {
	return strings.ToUpper(html.EscapeString(s))
}"""),
}

_FIXED = ("context", "encoding/json", "github.com/aws/aws-lambda-go/events",
          "github.com/aws/aws-lambda-go/lambda")


def _snippets_for(i: int) -> list[str]:
    rng = random.Random(i * 7919 + 17)  # seeded per function: the tree is a pure function of N
    return sorted(rng.sample(sorted(SNIPPETS), 3 + i % 4))


_HANDLERS = {
    "http": ("events", """
func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := platform.Logger(ctx, Name)
	in := req.QueryStringParameters["q"] + " " + req.RawPath
	out := transform(in)
	log.Info("handled", "path", req.RawPath, "bytes", len(out))
	return platform.JSON(200, map[string]any{"function": Name, "result": out})
}"""),
    "sqs": ("events", """
func handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := platform.Logger(ctx, Name)
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		var msg map[string]any
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		log.Info("message", "id", m.MessageId, "result", transform(m.Body))
	}
	return resp, nil
}"""),
    "s3": ("events", """
func handle(ctx context.Context, ev events.S3Event) error {
	log := platform.Logger(ctx, Name)
	for _, r := range ev.Records {
		key := r.S3.Object.URLDecodedKey
		log.Info("object", "bucket", r.S3.Bucket.Name, "key", key, "result", transform(key))
	}
	return nil
}"""),
    "dynamodb": ("events", """
func handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := platform.Logger(ctx, Name)
	var resp events.DynamoDBEventResponse
	for _, r := range ev.Records {
		raw, _ := json.Marshal(r.Change.Keys)
		log.Info("change", "event", r.EventName, "result", transform(string(raw)))
	}
	return resp, nil
}"""),
    "sns": ("events", """
func handle(ctx context.Context, ev events.SNSEvent) error {
	log := platform.Logger(ctx, Name)
	for _, r := range ev.Records {
		log.Info("notification", "subject", r.SNS.Subject, "result", transform(r.SNS.Message))
	}
	return nil
}"""),
    "schedule": ("events", """
func handle(ctx context.Context, ev events.EventBridgeEvent) error {
	log := platform.Logger(ctx, Name)
	var detail map[string]any
	_ = json.Unmarshal(ev.Detail, &detail)
	log.Info("tick", "source", ev.Source, "result", transform(ev.DetailType), "keys", len(detail))
	return nil
}"""),
    "kinesis": ("events", """
func handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	log := platform.Logger(ctx, Name)
	var resp events.KinesisEventResponse
	for _, r := range ev.Records {
		log.Info("record", "partition", r.Kinesis.PartitionKey, "result", transform(string(r.Kinesis.Data)))
	}
	return resp, nil
}"""),
}


def function_source(i: int, *, revision: int = 0) -> str:
    """main.go of function ``i``; a different ``revision`` changes its code (and its binary)."""
    name = _name(i)
    kind = KINDS[i % len(KINDS)]
    keys = _snippets_for(i)
    imports = set(_FIXED) | {f"{MODULE}/{PLATFORM}"}
    for k in keys:
        imports.update(SNIPPETS[k][0])
    if uses_billing(i):
        imports.add(f"{MODULE}/{BILLING}")
    std = sorted((x for x in imports if "." not in x.split("/")[0]), key=_import_path)
    ext = sorted((x for x in imports if "." in x.split("/")[0]), key=_import_path)
    body = _HANDLERS[kind][1]
    if uses_billing(i):
        body += f"""

func init() {{ billingCheck = billing.Total("{name} 1 2 3") }}"""
    lines = [f"// Command {name} is a {kind} Lambda function of the generated benchmark monorepo.",
             "package main", "", "import ("]
    lines += [_import_spec(x) for x in std] + [""] + [_import_spec(x) for x in ext] + [")", ""]
    lines += ['// Name is this function\'s name; Revision changes when the benchmark edits it.',
              f'const (\n\tName     = "{name}"\n\tRevision = {revision}\n)', ""]
    lines += ["// Version is set at link time (-ldflags \"-X main.Version=...\").", 'var Version = "dev"', ""]
    lines += ["var billingCheck string", "", "var _ = json.Valid", ""]
    calls = " + \"|\" + ".join(f"{k}(s)" for k in keys)
    lines += ["func transform(s string) string {",
              f"\treturn platform.Tag(Name+\"@\"+Version, Revision) + \":\" + {calls} + billingCheck",
              "}"]
    for k in keys:
        lines.append(SNIPPETS[k][1])
    lines.append(body)
    lines += ["", "func main() {", "\tlambda.Start(handle)", "}", ""]
    return "\n".join(lines)


def _import_path(spec: str) -> str:
    return spec.split()[-1]


def _import_spec(spec: str) -> str:
    """``"path"`` or ``alias "path"`` (a spec is ``path`` or ``alias path``)."""
    parts = spec.split()
    return "\t" + (f'{parts[0]} "{parts[1]}"' if len(parts) == 2 else f'"{parts[0]}"')


def platform_source(*, revision: int = 0) -> str:
    return f"""// Package platform is the code every function of the monorepo shares.
package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Revision changes when the benchmark edits this shared package.
const Revision = {revision}

var (
	once   sync.Once
	logger *slog.Logger
)

// Logger is a JSON logger tagged with the function and the request id.
func Logger(ctx context.Context, function string) *slog.Logger {{
	once.Do(func() {{
		level := slog.LevelInfo
		if strings.EqualFold(os.Getenv("LOG_LEVEL"), "debug") {{
			level = slog.LevelDebug
		}}
		logger = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{{Level: level}}))
	}})
	l := logger.With("function", function, "platform", Revision)
	if lc, ok := lambdacontext.FromContext(ctx); ok {{
		l = l.With("request_id", lc.AwsRequestID)
	}}
	return l
}}

// JSON is an API Gateway HTTP API response with a JSON body.
func JSON(status int, body any) (events.APIGatewayV2HTTPResponse, error) {{
	b, err := json.Marshal(body)
	if err != nil {{
		return events.APIGatewayV2HTTPResponse{{StatusCode: 500}}, err
	}}
	return events.APIGatewayV2HTTPResponse{{
		StatusCode: status,
		Headers:    map[string]string{{"content-type": "application/json", "x-request-id": NewID()}},
		Body:       string(b),
	}}, nil
}}

// Tag identifies a function's build in its output.
func Tag(function string, revision int) string {{
	return function + "@" + strconv.Itoa(revision) + "/" + strconv.Itoa(Revision)
}}

// NewID is a random 128-bit id, hex encoded.
func NewID() string {{
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}}

// Env is an environment variable or a default.
func Env(key, def string) string {{
	if v, ok := os.LookupEnv(key); ok {{
		return v
	}}
	return def
}}
"""


def billing_source(*, revision: int = 0) -> str:
    return f"""// Package billing is shared by some of the functions: money in exact decimal arithmetic.
package billing

import (
	"fmt"
	"math/big"
	"strings"
)

// Revision changes when the benchmark edits this package.
const Revision = {revision}

// Total adds up every number in s, exactly, and formats it with two decimals.
func Total(s string) string {{
	sum := new(big.Rat)
	for _, f := range strings.Fields(s) {{
		if r, ok := new(big.Rat).SetString(f); ok {{
			sum.Add(sum, r)
		}}
	}}
	return fmt.Sprintf("%s (rev %d)", sum.FloatString(2), Revision)
}}
"""


GO_MOD = f"""module {MODULE}

go {GO_DIRECTIVE}

require github.com/aws/aws-lambda-go {AWS_LAMBDA_GO}
"""

# The baselines, as the Makefiles gbl replaces would write them (same compiler flags as gbl, so
# the comparison is build for build).  `legacy`: one `go build` of everything, then zip -9 every
# binary.  `perfn`: one `go build` per function into build/<fn>/bootstrap, zipped (zip -X) only
# when the binary's bytes changed.
MAKEFILE = r"""# Generated by gbl's bench/monorepo.py: the two Makefile baselines of bench/README.md.
GO ?= go
export GOOS := linux
export GOARCH := amd64
export CGO_ENABLED := 0
GOBUILD := $(GO) build -trimpath -buildvcs=false -tags lambda.norpc -ldflags "-s -w"
FUNCS := $(notdir $(wildcard cmd/*))

BUILD_LAMBDA_ZIP ?= build-lambda-zip

.PHONY: legacy legacy-zip perfn blz FORCE

## legacy: (a) one go build of ./cmd/..., then `zip -X -9` of every binary as bootstrap.
legacy:
	mkdir -p dist-legacy
	$(GOBUILD) -o dist-legacy/ ./cmd/...
	$(MAKE) --no-print-directory legacy-zip

## legacy-zip: legacy's packaging step alone (zip -X -9 of each binary in dist-legacy/).
legacy-zip:
	set -e; for f in $(FUNCS); do \
	  mkdir -p .legacy/$$f && ln -f dist-legacy/$$f .legacy/$$f/bootstrap && \
	  rm -f dist-legacy/$$f.zip && (cd .legacy/$$f && zip -q -X -9 ../../dist-legacy/$$f.zip bootstrap); \
	done

## perfn: (b) a go build per function into build/<fn>/bootstrap, and a `zip -X` of each binary
## whose bytes changed (Go touches an up-to-date output's mtime, so a sha256 stamp decides).
perfn: $(FUNCS:%=dist-perfn/%.zip)

dist-perfn/%.zip: FORCE
	@mkdir -p dist-perfn build/$*
	$(GOBUILD) -o build/$*/bootstrap ./cmd/$*
	@sum=$$(sha256sum build/$*/bootstrap | cut -c1-64); \
	if [ ! -f $@ ] || [ "$$sum" != "$$(cat build/$*/bootstrap.sha256 2>/dev/null)" ]; then \
	  rm -f $@ && (cd build/$* && zip -q -X ../../$@ bootstrap) && echo "$$sum" > build/$*/bootstrap.sha256; fi

## blz: the aws-lambda-go README's recipe in a loop: per function, go build to bootstrap, then
## build-lambda-zip (github.com/aws/aws-lambda-go/cmd/build-lambda-zip) of that binary.
blz:
	mkdir -p dist-blz
	set -e; for f in $(FUNCS); do \
	  $(GOBUILD) -o build-blz/$$f/bootstrap ./cmd/$$f && \
	  $(BUILD_LAMBDA_ZIP) -o dist-blz/$$f.zip build-blz/$$f/bootstrap >/dev/null; \
	done

FORCE:
"""


def logical_id(name: str) -> str:
    """The SAM template's logical ID of function ``name``: ``orders-create`` -> ``OrdersCreate``."""
    return "".join(part.capitalize() for part in name.split("-"))


def sam_template(names: list[str]) -> str:
    """An AWS SAM template building every function with SAM's Go builder (no containers).

    ``BuildMethod: go1.x`` with a ``provided.al2023`` runtime is how SAM builds Go for the OS-only
    runtimes: ``go build`` in ``CodeUri`` into ``.aws-sam/build/<LogicalId>/bootstrap``.  SAM
    passes no flags of its own beyond GOOS/GOARCH; the benchmark equalises them through
    ``CGO_ENABLED=0`` and ``GOFLAGS`` (bench/run.py).
    """
    lines = ["AWSTemplateFormatVersion: '2010-09-09'",
             "Transform: AWS::Serverless-2016-10-31",
             "Description: the generated benchmark monorepo (gbl bench/monorepo.py)",
             "Globals:", "  Function:", "    Runtime: provided.al2023", "    Handler: bootstrap",
             "    Architectures: [x86_64]", "    MemorySize: 128", "    Timeout: 3",
             "Resources:"]
    for name in names:
        lines += [f"  {logical_id(name)}:", "    Type: AWS::Serverless::Function",
                  "    Metadata:", "      BuildMethod: go1.x",
                  "    Properties:", f"      CodeUri: cmd/{name}/"]
    return "\n".join(lines) + "\n"


def generate(root: Path | str, functions: int, *, gbl_toml: str | None = None) -> Path:
    """Write the monorepo of ``functions`` functions into ``root`` (created; must not hold one)."""
    root = Path(root)
    names = function_names(functions)
    if (root / "go.mod").exists():
        raise FileExistsError(f"{root} already holds a Go module")
    _write(root / "go.mod", GO_MOD)
    _write(root / "go.sum", "")  # filled by tidy()
    _write(root / "Makefile", MAKEFILE)
    _write(root / ".gitignore", "dist/\ndist-*/\nbuild/\nbuild-*/\n.legacy/\n.gbl/\n.aws-sam/\n")
    _write(root / "template.yaml", sam_template(names))
    _write(root / PLATFORM / "platform.go", platform_source())
    _write(root / BILLING / "billing.go", billing_source())
    for i, name in enumerate(names):
        _write(root / "cmd" / name / "main.go", function_source(i))
    if gbl_toml is not None:
        _write(root / "gbl.toml", gbl_toml)
    return root


def add_function(root: Path | str, index: int) -> str:
    """Add function number ``index`` (0-based, as in :func:`function_names`) to a generated tree."""
    name = _name(index)
    _write(Path(root) / "cmd" / name / "main.go", function_source(index))
    names = sorted(p.parent.name for p in (Path(root) / "cmd").glob("*/main.go"))
    order = [_name(j) for j in range(MAX_FUNCTIONS)]
    _write(Path(root) / "template.yaml", sam_template(sorted(names, key=order.index)))
    return name


def edit_function(root: Path | str, name: str, revision: int) -> Path:
    """Change function ``name``'s code (its binary changes, no other function's does)."""
    i = [_name(j) for j in range(MAX_FUNCTIONS)].index(name)
    path = Path(root) / "cmd" / name / "main.go"
    path.write_text(function_source(i, revision=revision), encoding="utf-8")
    return path


def edit_platform(root: Path | str, revision: int) -> Path:
    """Change internal/platform, which every function imports."""
    path = Path(root) / PLATFORM / "platform.go"
    path.write_text(platform_source(revision=revision), encoding="utf-8")
    return path


def edit_billing(root: Path | str, revision: int) -> Path:
    """Change internal/billing, which only :func:`billing_users` import."""
    path = Path(root) / BILLING / "billing.go"
    path.write_text(billing_source(revision=revision), encoding="utf-8")
    return path


def tidy(root: Path | str, env: dict[str, str] | None = None, *, go: str = "go") -> None:
    """Write go.sum.  Offline from the module cache when it has aws-lambda-go already (GOPROXY=off);
    otherwise through the user's GOPROXY, once."""
    env = dict(os.environ if env is None else env)
    offline = {**env, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOWORK": "off"}
    proc = subprocess.run([go, "mod", "tidy"], cwd=root, env=offline, capture_output=True, text=True)
    if proc.returncode != 0:
        online = {**env, "GOFLAGS": "-mod=mod", "GOWORK": "off"}
        proc = subprocess.run([go, "mod", "tidy"], cwd=root, env=online, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"go mod tidy failed in {root}:\n{proc.stderr}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--functions", "-n", type=int, default=50)
    ap.add_argument("--no-tidy", action="store_true", help="do not run `go mod tidy` (go.sum stays empty)")
    args = ap.parse_args(argv)
    generate(args.dir, args.functions)
    if not args.no_tidy:
        tidy(args.dir)
    print(f"wrote {args.functions} functions to {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
