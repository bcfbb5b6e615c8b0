"""``gbl diff`` and ``gbl deploy``: compare the manifest with what Lambda runs, ship what changed.

The manifest's ``code_sha256`` is what Lambda reports as ``CodeSha256`` (base64 of the zip's
SHA-256), so one ``GetFunction`` per function says whether its code (or architecture) changed,
before anything is uploaded.  ``deploy`` then calls ``UpdateFunctionCode`` for exactly those
functions, several at once, waits for each update to finish, and optionally publishes a version
and moves an alias to it.

AWS access goes through boto3's standard chain (``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_LAMBDA``...); gbl stores nothing.  boto3 is imported
only here, and only when a command needs AWS, so builds never pay for it.  Per-function problems
are values in the report; only problems that stop everything (no credentials, no region, Lambda
unreachable) raise before any change is made.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence

from . import config as config_mod
from . import fsutil, manifest
from .lambda_facts import DEFAULT_ARCH, DEFAULT_OUT_DIR, LAMBDA_ARCH
from .lambda_facts import DIRECT_UPLOAD_LIMIT  # zips past it go through S3 (see lambda_facts)
from .errors import (
    AwsAccessError, DeployFailed, FunctionMissing, ToolMissing, UsageError,
)

CONCURRENCY = 8  # API calls in flight at once; boto3 clients are thread-safe
OUTPUT_VERSION = 1  # the "version" of `gbl diff --json` / `gbl deploy --json` documents
INSTALL_HINT = 'pip install "gobuild-lambda[deploy]"  (installs boto3)'

# Error codes that mean "these credentials do not work at all": nothing will, stop at once.
_BAD_CREDENTIALS = {
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
    "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
    "AuthFailure", "MissingAuthenticationToken",
}
_ACCESS_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "Forbidden"}
_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "Throttling", "SlowDown",
              "RequestLimitExceeded"}


@dataclass(frozen=True)
class Target:
    """One function of the manifest and the Lambda function it deploys to."""

    function: str  # gbl's name
    lambda_name: str  # [deploy] prefix + name, or [functions.<name>] function_name
    arch: str  # GOARCH (amd64 | arm64)
    runtime: str
    zip_path: Path
    size: int
    sha256: str
    code_sha256: str

    @property
    def architecture(self) -> str:
        return LAMBDA_ARCH.get(self.arch, self.arch)


@dataclass(frozen=True)
class FunctionDiff:
    """A function's manifest entry against the deployed function.

    status: changed | unchanged | missing | error.  ``kind`` says what an error is: access
    (credentials, permissions) or failed (anything else); ``revision_id`` is the deployed
    revision, so an update fails rather than overwrite a change made since it was read.
    """

    target: Target
    status: str
    deployed_code_sha256: str | None = None
    deployed_arch: str | None = None
    deployed_runtime: str | None = None
    revision_id: str | None = None
    error: str = ""
    hint: str = ""
    kind: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def arch_differs(self) -> bool:
        return self.deployed_arch is not None and self.deployed_arch != self.target.architecture


@dataclass(frozen=True)
class DiffReport:
    out_dir: Path
    functions: tuple[FunctionDiff, ...] = field(default_factory=tuple)

    @property
    def differs(self) -> bool:
        return any(f.status != "unchanged" for f in self.functions)

    @property
    def errors(self) -> tuple[FunctionDiff, ...]:
        return tuple(f for f in self.functions if f.status == "error")


@dataclass(frozen=True)
class FunctionDeploy:
    """What deploy did for one function.

    action: updated | unchanged | missing | failed | would-update (``--dry-run``).
    """

    diff: FunctionDiff
    action: str
    upload: str = ""  # "zip" (in the request) or "s3://bucket/key"
    version: str | None = None  # published with --publish / --alias
    alias: str | None = None
    error: str = ""
    hint: str = ""
    kind: str = ""  # access | failed, for action == failed

    @property
    def target(self) -> Target:
        return self.diff.target


@dataclass(frozen=True)
class DeployReport:
    out_dir: Path
    dry_run: bool
    functions: tuple[FunctionDeploy, ...] = field(default_factory=tuple)
    build: Any = None  # the pipeline's BuildReport when deploy built first

    def by_action(self, action: str) -> tuple[FunctionDeploy, ...]:
        return tuple(f for f in self.functions if f.action == action)


@dataclass(frozen=True)
class Clients:
    """The boto3 clients deploy uses; pass your own to the library API to control sessions."""

    lambda_: Any
    s3: Any = None


# ------------------------------------------------------------------------------- public API
def diff(
    project_dir: Path | str = ".",
    *,
    names: Sequence[str] = (),
    out_dir: Path | str | None = None,
    clients: Clients | None = None,
    concurrency: int = CONCURRENCY,
    env: Mapping[str, str] | None = None,
) -> DiffReport:
    """Compare ``dist/manifest.json`` with the deployed functions (``gbl diff``); changes nothing.

    Raises AwsAccessError when AWS cannot be used at all (no credentials or region, bad
    credentials, endpoint unreachable) and ToolMissing when boto3 is not installed.  Problems
    with single functions are entries with status ``error``.
    """
    out, targets = load_targets(project_dir, names=names, out_dir=out_dir)
    clients = clients or make_clients(env=env)
    return DiffReport(out, tuple(_diff_all(clients.lambda_, targets, concurrency)))


def deploy(
    project_dir: Path | str = ".",
    *,
    names: Sequence[str] = (),
    out_dir: Path | str | None = None,
    build: bool = True,
    dry_run: bool = False,
    publish: bool = False,
    alias: str | None = None,
    clients: Clients | None = None,
    concurrency: int = CONCURRENCY,
    direct_upload_limit: int = DIRECT_UPLOAD_LIMIT,
    env: Mapping[str, str] | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> DeployReport:
    """Build (unless ``build=False``), then update the code of exactly the changed functions.

    ``alias`` implies ``publish``.  Returns the report when every function is updated or
    unchanged; otherwise raises, with the report attached: AwsAccessError (credentials or
    permissions), DeployFailed (an update, upload, publish or alias failed, or a function is not
    a zip-package function), FunctionMissing (a function is not deployed; the others were).
    """
    if alias is not None and not _valid_alias(alias):
        raise UsageError(
            f"--alias {alias!r} is not a valid alias name",
            hint="use 1-128 letters, digits, '-' or '_', starting with a letter or digit "
                 "(not only digits: that would be a version)",
        )
    built = None
    if build:
        from .pipeline import build as run_build

        built = run_build(project_dir, names=names, out_dir=out_dir, env=env, on_event=on_event)
        out_dir = built.out_dir
    out, targets = load_targets(project_dir, names=names, out_dir=out_dir)
    cfg = config_mod.load(Path(project_dir))
    clients = clients or make_clients(s3=not dry_run and bool(cfg.deploy.s3_bucket), env=env)
    diffs = _diff_all(clients.lambda_, targets, concurrency)
    options = _Options(dry_run, publish or alias is not None, alias, direct_upload_limit,
                       cfg.deploy.s3_bucket, cfg.deploy.s3_prefix, cfg.path)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(lambda d: _deploy_one(clients, d, options), diffs))
    report = DeployReport(out, dry_run, tuple(results), built)
    _raise_for(report)
    return report


def lambda_name(name: str, entry: Mapping, cfg: config_mod.Config) -> str:
    """The deployed function's name: ``function_name`` from its table, else prefix + name."""
    rel_dir = str(entry.get("dir") or "")
    fc = (cfg.function(rel_dir) if rel_dir else None) or cfg.function(
        PurePosixPath(rel_dir).name if rel_dir else name
    )
    if fc is not None and fc.function_name:
        return fc.function_name
    return f"{cfg.deploy.prefix}{name}"


def load_targets(
    project_dir: Path | str, *, names: Sequence[str] = (), out_dir: Path | str | None = None
) -> tuple[Path, list[Target]]:
    """The manifest's functions (or ``names`` of them) with their Lambda names.  From a directory
    inside the project, as ``gbl build`` does, the project is the one above it."""
    from .planner import find_root

    project = find_root(Path(project_dir).resolve(), gowork_off=False)
    cfg = config_mod.load(project)
    out = fsutil.output_dir(out_dir if out_dir is not None else project / DEFAULT_OUT_DIR)
    entries = _read_manifest(out)
    if not entries:
        raise UsageError(
            f"no functions in {out / manifest.MANIFEST} (missing, empty or unreadable)",
            where=str(out),
            hint="run `gbl build` first, or pass the build's output directory with --out",
        )
    unknown = [n for n in names if n not in entries]
    if unknown:
        raise UsageError(
            f"no function named {', '.join(map(repr, unknown))} in {out / manifest.MANIFEST}",
            hint=f"known: {', '.join(sorted(entries))}",
        )
    chosen = list(dict.fromkeys(names)) or sorted(entries)
    targets = []
    for name in chosen:
        entry = entries[name]
        try:
            targets.append(Target(
                function=name, lambda_name=lambda_name(name, entry, cfg), arch=str(entry["arch"]),
                runtime=str(entry.get("runtime") or ""), zip_path=out / PurePosixPath(str(entry["zip"])).name,
                size=int(entry["size"]), sha256=str(entry["sha256"]), code_sha256=str(entry["code_sha256"]),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"function {name!r}: the manifest entry lacks or has a bad {exc}",
                where=str(out / manifest.MANIFEST), hint="rebuild with `gbl build`",
            ) from exc
    bad = [t for t in targets if len(t.lambda_name) > 64 and not t.lambda_name.startswith("arn:")]
    if bad:
        raise UsageError(
            f"function {bad[0].function!r}: Lambda name {bad[0].lambda_name!r} is longer than 64 characters",
            where=str(cfg.path or project / config_mod.CONFIG_FILE),
            hint="shorten [deploy] prefix, or set [functions.<name>] function_name",
        )
    return out, targets


def _read_manifest(out: Path) -> dict[str, dict]:
    # The one place deploy reads the manifest (through manifest.py's reader: entries it would
    # never write, such as a zip outside the output directory, are already left out).
    return {name: e.to_json() for name, e in manifest.read(out).entries.items()}


def make_clients(*, s3: bool = False, env: Mapping[str, str] | None = None) -> Clients:
    """boto3 clients from the standard chain, with standard-mode retries (throttling included).

    boto3 itself reads the region from AWS_DEFAULT_REGION or the profile; ``AWS_REGION`` (which
    CI credential actions and the AWS CLI v2 set) is honoured here when neither says one.
    """
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError
    except ImportError as exc:
        raise ToolMissing(
            f"`gbl diff` and `gbl deploy` need boto3, which is not installed ({exc})",
            hint=INSTALL_HINT,
        ) from None
    cfg = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=CONCURRENCY * 2,
                 user_agent_extra="gbl")
    try:
        session = boto3.session.Session()
        if session.region_name is None:
            region = (os.environ if env is None else env).get("AWS_REGION") or None
            if region:
                session = boto3.session.Session(region_name=region)
        return Clients(session.client("lambda", config=cfg), session.client("s3", config=cfg) if s3 else None)
    except BotoCoreError as exc:
        raise _global_error(exc) from None


# ----------------------------------------------------------------------------------- diff
def _diff_all(client, targets: Sequence[Target], concurrency: int) -> list[FunctionDiff]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = list(pool.map(lambda t: _get(client, t), targets))
    for outcome in outcomes:
        if isinstance(outcome, AwsAccessError):
            raise outcome  # no credentials, no region, unreachable: nothing else will work
    return outcomes


def _get(client, target: Target):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = client.get_function(FunctionName=target.lambda_name)
    except ClientError as exc:
        code = _code(exc)
        if code == "ResourceNotFoundException":
            return FunctionDiff(target, "missing")
        if code in _BAD_CREDENTIALS:
            return _global_error(exc)
        kind, error, hint = _explain(exc, target, "GetFunction")
        return FunctionDiff(target, "error", error=error, hint=hint, kind=kind)
    except BotoCoreError as exc:
        return _global_error(exc)
    return _compare(target, resp.get("Configuration") or {})


def _compare(target: Target, conf: Mapping) -> FunctionDiff:
    arches = conf.get("Architectures") or [LAMBDA_ARCH[DEFAULT_ARCH]]
    found = dict(
        deployed_code_sha256=conf.get("CodeSha256"), deployed_arch=arches[0],
        deployed_runtime=conf.get("Runtime"), revision_id=conf.get("RevisionId"),
    )
    package_type = conf.get("PackageType") or "Zip"
    if package_type != "Zip":
        return FunctionDiff(
            target, "error", **found, kind="failed",
            error=f"function {target.function}: Lambda function {target.lambda_name} is a "
                  f"{package_type}-package function; gbl deploys .zip packages only",
            hint="deploy container images with your image pipeline, or map this function to a "
                 "zip-package function ([functions.<name>] function_name in gbl.toml)",
        )
    runtime = conf.get("Runtime") or ""
    if not runtime.startswith("provided"):
        return FunctionDiff(
            target, "error", **found, kind="failed",
            error=f"function {target.function}: Lambda function {target.lambda_name} runs "
                  f"{runtime or 'no runtime'}, and gbl's zips need provided.al2023 or provided.al2",
            hint="change its Runtime (and Handler: bootstrap) in your infrastructure code first; "
                 "`gbl migrate` does it for SAM/CloudFormation templates",
        )
    warnings = ()
    if target.runtime and runtime != target.runtime:
        warnings = (f"deployed runtime {runtime}, built for {target.runtime} (the zip runs on both)",)
    same = found["deployed_code_sha256"] == target.code_sha256 and arches[0] == target.architecture
    return FunctionDiff(target, "unchanged" if same else "changed", **found, warnings=warnings)


# --------------------------------------------------------------------------------- deploy
@dataclass(frozen=True)
class _Options:
    dry_run: bool
    publish: bool
    alias: str | None
    direct_upload_limit: int
    s3_bucket: str | None
    s3_prefix: str
    config_path: Path | None


def _deploy_one(clients: Clients, d: FunctionDiff, opt: _Options) -> FunctionDeploy:
    if d.status == "unchanged":
        return FunctionDeploy(d, "unchanged")
    if d.status == "missing":
        return FunctionDeploy(
            d, "missing", kind="missing",
            error=f"function {d.target.function}: no Lambda function named {d.target.lambda_name}",
            hint="create it with your infrastructure code (SAM, CDK, Terraform...), or map the name "
                 "with [deploy] prefix / [functions.<name>] function_name in gbl.toml",
        )
    if d.status == "error":
        return FunctionDeploy(d, "failed", error=d.error, hint=d.hint, kind=d.kind)
    too_big = d.target.size > opt.direct_upload_limit
    if too_big and not opt.s3_bucket:
        return FunctionDeploy(
            d, "failed", kind="failed",
            error=f"function {d.target.function}: {d.target.zip_path.name} is {d.target.size} bytes, "
                  f"over Lambda's direct-upload limit ({opt.direct_upload_limit} bytes)",
            hint="set [deploy] s3_bucket (a bucket in the function's region) in gbl.toml: "
                 "gbl then uploads the zip there first",
        )
    upload = f"s3://{opt.s3_bucket}/{_s3_key(d.target, opt.s3_prefix)}" if too_big else "zip"
    if opt.dry_run:
        return FunctionDeploy(d, "would-update", upload=upload,
                              alias=opt.alias if opt.alias else None)
    try:
        return _update(clients, d, opt, upload)
    except _Failed as exc:
        return FunctionDeploy(d, "failed", upload=upload, error=exc.error, hint=exc.hint, kind=exc.kind,
                              version=exc.version)


class _Failed(Exception):
    def __init__(self, kind: str, error: str, hint: str, version: str | None = None):
        super().__init__(error)
        self.kind, self.error, self.hint, self.version = kind, error, hint, version


def _update(clients: Clients, d: FunctionDiff, opt: _Options, upload: str) -> FunctionDeploy:
    t = d.target
    data = _checked_zip(t)
    code: dict[str, Any]
    if upload == "zip":
        code = {"ZipFile": data}
    else:
        key = _s3_key(t, opt.s3_prefix)
        _call(t, "PutObject", lambda: clients.s3.put_object(
            Bucket=opt.s3_bucket, Key=key, Body=data,
            ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode()))
        code = {"S3Bucket": opt.s3_bucket, "S3Key": key}
    lam = clients.lambda_
    extra = {"RevisionId": d.revision_id} if d.revision_id else {}
    resp = _update_code(lam, t, {"FunctionName": t.lambda_name, "Architectures": [t.architecture],
                                 **code, **extra})
    _wait_updated(lam, t)
    if resp.get("CodeSha256") and resp["CodeSha256"] != t.code_sha256:
        raise _Failed("failed", f"function {t.function}: Lambda reports CodeSha256 {resp['CodeSha256']} "
                      f"after the update, the manifest says {t.code_sha256}",
                      "run `gbl diff`; if it persists, the zip or the manifest was changed after the build")
    version = None
    if opt.publish:
        published = _call(t, "PublishVersion", lambda: lam.publish_version(
            FunctionName=t.lambda_name, CodeSha256=t.code_sha256))
        version = str(published["Version"])
    if opt.alias:
        try:
            _move_alias(lam, t, opt.alias, version)
        except _Failed as exc:
            exc.version = version
            raise
    return FunctionDeploy(d, "updated", upload=upload, version=version, alias=opt.alias)


def _update_code(lam, t: Target, request: dict) -> dict:
    """UpdateFunctionCode; a function still being created or updated (ResourceConflictException)
    is waited for once, then asked again (the RevisionId still guards against lost changes)."""
    from botocore.exceptions import ClientError

    try:
        return lam.update_function_code(**request)
    except ClientError as exc:
        if _code(exc) != "ResourceConflictException":
            raise _Failed(*_explain(exc, t, "UpdateFunctionCode")) from None
    _wait_updated(lam, t)
    return _call(t, "UpdateFunctionCode", lambda: lam.update_function_code(**request))


def _move_alias(lam, t: Target, alias: str, version: str) -> None:
    from botocore.exceptions import ClientError

    try:
        lam.update_alias(FunctionName=t.lambda_name, Name=alias, FunctionVersion=version)
        return
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise _Failed(*_explain(exc, t, "UpdateAlias")) from None
    _call(t, "CreateAlias", lambda: lam.create_alias(FunctionName=t.lambda_name, Name=alias,
                                                    FunctionVersion=version))


def _checked_zip(t: Target) -> bytes:
    """The zip's bytes, refused unless they are exactly what the manifest recorded."""
    try:
        data = t.zip_path.read_bytes()
    except OSError as exc:
        raise _Failed("failed", f"function {t.function}: cannot read {t.zip_path}: {exc.strerror or exc}",
                      "rebuild with `gbl build`") from None
    if hashlib.sha256(data).hexdigest() != t.sha256:
        raise _Failed("failed", f"function {t.function}: {t.zip_path} does not match its manifest sha256",
                      "it was changed after the build; rebuild with `gbl build`")
    return data


def _wait_updated(lam, t: Target) -> None:
    from botocore.exceptions import WaiterError

    try:
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=t.lambda_name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except WaiterError as exc:
        conf = (exc.last_response or {}).get("Configuration") or {}
        reason = conf.get("LastUpdateStatusReason") or str(exc)
        code = conf.get("LastUpdateStatusReasonCode")
        raise _Failed("failed", f"function {t.function}: the update of {t.lambda_name} failed: "
                      f"{reason}{f' ({code})' if code else ''}",
                      "fix what Lambda reports, then run `gbl deploy` again") from None


def _call(t: Target, operation: str, fn: Callable[[], Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn()
    except ClientError as exc:
        raise _Failed(*_explain(exc, t, operation)) from None
    except BotoCoreError as exc:
        err = _global_error(exc)
        raise _Failed("access", f"function {t.function}: {operation}: {err.message}", err.hint or "") from None


def _s3_key(t: Target, prefix: str) -> str:
    # Content-addressed: a re-upload of the same zip writes the same object.
    return f"{prefix}{t.lambda_name.rsplit(':', 1)[-1]}/{t.sha256}.zip"


# --------------------------------------------------------------------------------- errors
def _code(exc) -> str:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code.isdigit():  # a body botocore could not parse (XML from a proxy or an emulator)
        found = re.search(r"<Code>([A-Za-z.]+)</Code>", str(exc.response.get("Error", {}).get("Message", "")))
        if found:
            return found.group(1)
    return code


def _message(exc) -> str:
    text = str(exc.response.get("Error", {}).get("Message", "") or exc)
    found = re.search(r"<Message>(.*?)</Message>", text, re.S)
    return found.group(1) if found else text


def _status(exc) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _explain(exc, t: Target, operation: str) -> tuple[str, str, str]:
    """(kind, message, hint) for an AWS error about one function."""
    code = _code(exc)
    text = _message(exc)
    where = f"function {t.function} ({t.lambda_name}): {operation}"
    if code in _ACCESS_DENIED or code in _BAD_CREDENTIALS or (_status(exc) == 403 and not code.endswith("Exception")):
        action = {"PutObject": "s3:PutObject on the [deploy] s3_bucket"}.get(
            operation, f"lambda:{operation}")
        return ("access", f"{where}: access denied: {text}",
                f"grant the identity running gbl {action} for this function "
                "(gbl diff needs lambda:GetFunction; deploy also lambda:UpdateFunctionCode, "
                "and lambda:PublishVersion / UpdateAlias / CreateAlias with --publish / --alias)")
    if code in _THROTTLED:
        return ("failed", f"{where}: throttled by AWS after retries: {text}",
                "run `gbl deploy` again: only the functions still changed are sent")
    if code == "ResourceConflictException":
        return ("failed", f"{where}: another update is in progress: {text}",
                "wait for it to finish, then run `gbl deploy` again")
    if code == "PreconditionFailedException":
        return ("failed", f"{where}: the function changed since gbl read it: {text}",
                "run `gbl deploy` again")
    if code == "ResourceNotFoundException":
        return ("failed", f"{where}: not found: {text}", "check that the function still exists")
    if code == "NoSuchBucket":
        return ("failed", f"{where}: the [deploy] s3_bucket does not exist: {text}",
                "create the bucket in the function's region, or fix [deploy] s3_bucket in gbl.toml")
    if code == "CodeStorageExceededException":
        return ("failed", f"{where}: the account's code storage is full: {text}",
                "delete old function versions (or ask AWS for a higher limit)")
    return ("failed", f"{where}: {code or 'error'}: {text}", "fix what AWS reports, then run `gbl deploy` again")


def _global_error(exc) -> AwsAccessError:
    """An error that stops every AWS call, with what to do about it."""
    from botocore.exceptions import (
        ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError,
        PartialCredentialsError, ProfileNotFound,
    )

    if isinstance(exc, NoCredentialsError):
        return AwsAccessError(
            "no AWS credentials found",
            hint="set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role "
                 "is available (CI: e.g. aws-actions/configure-aws-credentials); gbl stores none",
        )
    if isinstance(exc, (PartialCredentialsError, ProfileNotFound)):
        return AwsAccessError(f"AWS credentials are incomplete: {exc}",
                              hint="check AWS_PROFILE and ~/.aws/config / ~/.aws/credentials")
    if isinstance(exc, NoRegionError):
        return AwsAccessError("no AWS region configured",
                              hint="set AWS_REGION (or a region in your AWS_PROFILE)")
    if isinstance(exc, EndpointConnectionError):
        return AwsAccessError(f"cannot reach the Lambda API: {exc}",
                              hint="check the network, AWS_REGION and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_LAMBDA")
    if isinstance(exc, ClientError):
        return AwsAccessError(f"AWS rejected the credentials: {_code(exc)}: {_message(exc)}",
                              hint="the access key is unknown, expired or mistyped; refresh your credentials")
    return AwsAccessError(f"cannot call AWS: {exc}", hint="check your AWS configuration (region, credentials, endpoint)")


def _raise_for(report: DeployReport) -> None:
    failed = report.by_action("failed")
    missing = report.by_action("missing")
    if not failed and not missing:
        return
    if failed:
        first = failed[0]
        cls = AwsAccessError if any(f.kind == "access" for f in failed) else DeployFailed
        raise cls(f"{len(failed)} function(s) not deployed: " + ", ".join(f.target.function for f in failed),
                  hint=first.hint, report=report)
    raise FunctionMissing(
        f"{len(missing)} function(s) not deployed in Lambda: "
        + ", ".join(f"{f.target.function} ({f.target.lambda_name})" for f in missing),
        hint=missing[0].hint, report=report,
    )


def _valid_alias(name: str) -> bool:
    return (0 < len(name) <= 128 and name[0].isalnum() and not name.isdigit()
            and all(c.isascii() and (c.isalnum() or c in "-_") for c in name))


__all__ = ["diff", "deploy", "DiffReport", "DeployReport", "FunctionDiff", "FunctionDeploy", "Target",
           "Clients", "make_clients", "lambda_name", "load_targets", "DIRECT_UPLOAD_LIMIT"]
