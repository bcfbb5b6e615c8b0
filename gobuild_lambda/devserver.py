"""``gbl watch``'s HTTP side: the Lambda Invoke API and function URLs on 127.0.0.1.

Standard library only (``http.server.ThreadingHTTPServer``): one thread per connection, each
call handed to ``watcher.Pool`` for a warm emulator.  What is served (docs/watch.md):

- ``POST /2015-03-31/functions/<name>/invocations``: Lambda's Invoke API as boto3, the AWS CLI
  and every SDK call it (``X-Amz-Invocation-Type``: RequestResponse, Event → 202, DryRun → 204;
  a function error → 200 with ``X-Amz-Function-Error: Unhandled`` and the error document;
  ``X-Amz-Log-Type: Tail`` → ``X-Amz-Log-Result``; errors in Lambda's shape: the
  ``x-amzn-ErrorType`` header and a ``{"Type", "Message"}`` body, which botocore reads).
- ``<any method> /lambda-url/<name>/<path>``: a function URL; the request becomes a payload-2.0
  event (``url_event``), the answer is mapped back to HTTP (``url_response``).

The mapping functions are pure, so they are tested without a server.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping, Sequence

INVOKE_RE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")
URL_PREFIX = "/lambda-url/"
ACCOUNT = "123456789012"
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's limits on the request payload
MAX_ASYNC_PAYLOAD = 256 * 1024
MAX_LOG_TAIL = 4096  # X-Amz-Log-Result: the last 4 KB of the log, as Lambda sends it
# Content types whose body a function URL passes as text (anything else is base64).
_TEXT_TYPES = re.compile(r"^(text/.*|application/(.*\+)?(json|xml|javascript|x-www-form-urlencoded|yaml))$")


class NotFound(Exception):
    pass


class Busy(Exception):
    """Every instance the function may have is busy (its concurrency limit)."""


class NotReady(Exception):
    """The function is known but has no working build yet."""


@dataclass(frozen=True)
class Call:
    """One invocation's outcome, as the server maps it (from emulator.Invocation)."""

    status: str  # ok | error | crash | timeout
    payload: bytes
    request_id: str
    error_type: str = ""
    error_message: str = ""
    log_tail: str = ""


@dataclass(frozen=True)
class Request:
    """A line of the terminal's request log."""

    method: str
    path: str
    function: str
    status: int
    duration_s: float
    kind: str  # invoke | event | dry-run | url
    note: str = ""  # e.g. "function error: errorString", "TooManyRequestsException"


@dataclass
class Backend:
    """What the server calls: ``invoke(name, payload, wait)`` -> Call (raises NotFound, Busy,
    NotReady), ``names()``, ``on_request(Request)``, and the region for ARNs."""

    invoke: Callable[[str, bytes, bool], Call]
    names: Callable[[], Sequence[str]]
    on_request: Callable[[Request], None] = lambda r: None
    region: str = "us-east-1"
    async_limit: int = 100
    _async: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self._async = threading.BoundedSemaphore(self.async_limit)


# ------------------------------------------------------------------------------ Invoke API
def parse_function_name(raw: str) -> tuple[str, str]:
    """(name, qualifier) from a name, ``name:qualifier``, a partial ARN or a full ARN."""
    text = urllib.parse.unquote(raw)
    parts = text.split(":")
    if text.startswith("arn:") and len(parts) >= 7:
        return parts[6], ":".join(parts[7:])
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], ":".join(parts[3:])
    if len(parts) == 2:
        return parts[0], parts[1]
    return text, ""


def function_arn(name: str, region: str, qualifier: str = "") -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}" + (f":{qualifier}" if qualifier else "")


def error_document(call: Call) -> bytes:
    """The error document Lambda answers a failed call with (the runtime's, when it sent one)."""
    try:
        doc = json.loads(call.payload)
        if isinstance(doc, dict) and "errorMessage" in doc:
            return call.payload
    except ValueError:
        pass
    return json.dumps({"errorMessage": f"RequestId: {call.request_id} Error: {call.error_message}",
                       "errorType": call.error_type or "Runtime.ExitError"}).encode()


# ----------------------------------------------------------------------------- function URLs
def url_event(method: str, raw_path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes, *,
              function: str, region: str, source_ip: str = "127.0.0.1",
              now: _dt.datetime | None = None, request_id: str | None = None) -> dict:
    """The payload-2.0 event a function URL sends for one HTTP request."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in headers:
        k = key.lower()
        if k == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        merged[k] = f"{merged[k]},{value}" if k in merged else value
    params: dict[str, str] = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v
    url_id = f"gbl-{function}"
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": merged.get("host", f"{url_id}.lambda-url.{region}.on.aws"),
            "domainPrefix": url_id,
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": merged.get("user-agent", "")},
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if body:
        ctype = merged.get("content-type", "").split(";")[0].strip().lower()
        text = None
        if _TEXT_TYPES.match(ctype) or not ctype:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
        else:
            event["body"] = text
    return event


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def url_response(payload: bytes) -> HttpAnswer:
    """A function's answer to a function URL, as HTTP: a JSON object with ``statusCode`` is the
    structured response (headers, cookies → Set-Cookie, body, isBase64Encoded); any other JSON
    value is a 200 ``application/json`` body, as Lambda infers it."""
    try:
        doc = json.loads(payload) if payload.strip() else None
    except ValueError:
        doc = None
    if not (isinstance(doc, dict) and "statusCode" in doc):
        return HttpAnswer(200, (("Content-Type", "application/json"),), payload)
    try:
        status = int(doc["statusCode"])
    except (TypeError, ValueError):
        return bad_gateway()
    headers = [(str(k), str(v)) for k, v in (doc.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(c)) for c in doc.get("cookies") or ()]
    body = doc.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = json.dumps(body).encode()
    elif doc.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            return bad_gateway()
    else:
        data = body.encode("utf-8")
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpAnswer(status, tuple(headers), data)


def bad_gateway() -> HttpAnswer:
    return HttpAnswer(502, (("Content-Type", "application/json"), ("x-amzn-ErrorType", "InternalServerError")),
                      b'{"Message":"Internal Server Error"}')


# ------------------------------------------------------------------------------------ server
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, backend: Backend):
        self.backend = backend
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    server_version = "gbl-watch"

    def log_message(self, format, *args) -> None:  # the Backend reports requests
        pass

    def _any(self) -> None:
        start = time.monotonic()
        parsed = urllib.parse.urlsplit(self.path)
        body = self._body()
        if body is None:
            return
        name, kind, status = "-", "url", 404
        self._note = ""
        try:
            m = INVOKE_RE.match(parsed.path)
            if m and self.command == "POST":
                name, qualifier = parse_function_name(m.group(1))
                qs = dict(urllib.parse.parse_qsl(parsed.query))
                kind, status = self._invoke(name, qualifier or qs.get("Qualifier", ""), body)
            elif parsed.path.startswith(URL_PREFIX):
                name, _, rest = parsed.path[len(URL_PREFIX):].partition("/")
                name = urllib.parse.unquote(name)
                status = self._url(name, "/" + rest, parsed.query, body)
            else:
                status = self._error(404, "UnknownOperationException", f"no such route: {self.command} {parsed.path}; "
                                     "gbl watch serves POST /2015-03-31/functions/NAME/invocations and /lambda-url/NAME/...")
        except (ConnectionError, TimeoutError):  # the client went away
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug in gbl: answer it, keep serving
            self.close_connection = True
            try:
                status = self._error(500, "ServiceException", f"gbl watch failed: {type(exc).__name__}: {exc}")
            except OSError:
                pass
        finally:
            self.server.backend.on_request(Request(self.command, parsed.path, name, status,
                                                   time.monotonic() - start, kind, self._note))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error(400, "InvalidRequestContentException", "bad Content-Length")
            return None
        if length > MAX_SYNC_PAYLOAD:
            self._error(413, "RequestTooLargeException", f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    # ---------------------------------------------------------------- answers
    def _send(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> int:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def _error(self, status: int, code: str, message: str, extra: Mapping[str, str] = ()) -> int:
        doc = {"Type": "User" if status < 500 else "Service", "Message": message, **dict(extra)}
        self._note = code
        return self._send(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                                   ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(doc).encode())

    def _not_found(self, name: str, qualifier: str = "") -> int:
        arn = function_arn(name, self.server.backend.region, qualifier)
        known = ", ".join(sorted(self.server.backend.names())) or "none"
        return self._error(404, "ResourceNotFoundException", f"Function not found: {arn} (gbl watch serves: {known})")

    # ---------------------------------------------------------------- Invoke API
    def _invoke(self, name: str, qualifier: str, body: bytes) -> tuple[str, int]:
        backend = self.server.backend
        itype = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        kind = {"Event": "event", "DryRun": "dry-run"}.get(itype, "invoke")
        if itype not in ("RequestResponse", "Event", "DryRun"):
            return kind, self._error(400, "InvalidParameterValueException",
                                     f"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got {itype!r}")
        if name not in backend.names() or qualifier not in ("", "$LATEST"):
            return kind, self._not_found(name, qualifier)
        if itype == "Event" and len(body) > MAX_ASYNC_PAYLOAD:
            return kind, self._error(413, "RequestEntityTooLargeException",
                                     f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the InvokeAsync operation")
        try:
            json.loads(body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return kind, self._error(400, "InvalidRequestContentException", "Could not parse request body into json: "
                                     "Lambda accepts JSON payloads only")
        if itype == "DryRun":
            return kind, self._send(204, [("x-amzn-RequestId", str(uuid.uuid4()))], b"")
        if itype == "Event":
            return kind, self._event(name, body)
        try:
            call = backend.invoke(name, body or b"{}", False)
        except NotFound:
            return kind, self._not_found(name, qualifier)
        except Busy:
            return kind, self._error(429, "TooManyRequestsException", "Rate Exceeded.",
                                     {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
        except NotReady as exc:
            return kind, self._error(502, "ResourceNotReadyException", str(exc))
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST"),
                   ("x-amzn-RequestId", call.request_id)]
        if self.headers.get("X-Amz-Log-Type", "None") == "Tail":
            tail = call.log_tail.encode("utf-8")[-MAX_LOG_TAIL:]
            headers.append(("X-Amz-Log-Result", base64.b64encode(tail).decode("ascii")))
        if call.status == "ok":
            return kind, self._send(200, headers, call.payload)
        headers.append(("X-Amz-Function-Error", "Unhandled"))
        self._note = f"function {call.status}: {call.error_type}"
        return kind, self._send(200, headers, error_document(call))

    def _event(self, name: str, body: bytes) -> int:
        backend = self.server.backend
        if not backend._async.acquire(blocking=False):
            return self._error(429, "TooManyRequestsException", "Rate Exceeded.",
                               {"Reason": "ConcurrentInvocationLimitExceeded"})

        def run() -> None:  # nobody waits for an Event: its outcome is a line of the request log
            start, status, note = time.monotonic(), 200, ""
            try:
                call = backend.invoke(name, body or b"{}", True)
                if call.status != "ok":
                    note = f"function {call.status}: {call.error_type}"
            except Exception as exc:  # noqa: BLE001
                status, note = 502, f"{type(exc).__name__}: {exc}"
            finally:
                backend._async.release()
            backend.on_request(Request("EVENT", self.path.split("?")[0], name, status, time.monotonic() - start,
                                       "event-run", note))

        threading.Thread(target=run, name=f"gbl-event-{name}", daemon=True).start()
        return self._send(202, [("x-amzn-RequestId", str(uuid.uuid4()))], b"")

    # ---------------------------------------------------------------- function URLs
    def _url(self, name: str, raw_path: str, query: str, body: bytes) -> int:
        backend = self.server.backend
        if name not in backend.names():
            return self._send(404, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ResourceNotFoundException")],
                              json.dumps({"Message": f"no function {name!r} (gbl watch serves: "
                                                     f"{', '.join(sorted(backend.names())) or 'none'})"}).encode())
        event = url_event(self.command, raw_path, query, list(self.headers.items()), body, function=name,
                          region=backend.region, source_ip=self.client_address[0])
        try:
            call = backend.invoke(name, json.dumps(event).encode(), False)
        except NotFound:
            return self._send(404, [("Content-Type", "application/json")], b'{"Message":"Not Found"}')
        except Busy:
            return self._send(429, [("Content-Type", "application/json")], b'{"Message":"Rate Exceeded."}')
        except NotReady:
            answer = bad_gateway()
            return self._send(answer.status, answer.headers, answer.body)
        answer = url_response(call.payload) if call.status == "ok" else bad_gateway()
        if call.status != "ok":
            self._note = f"function {call.status}: {call.error_type}"
        return self._send(answer.status, (*answer.headers, ("x-amzn-RequestId", call.request_id)), answer.body)


__all__ = ["Server", "Backend", "Call", "Request", "NotFound", "Busy", "NotReady", "url_event", "url_response",
           "HttpAnswer", "parse_function_name", "function_arn", "error_document"]
