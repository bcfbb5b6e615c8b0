"""A test harness that speaks the Lambda Runtime API to a real ``bootstrap``.

The AWS Runtime Interface Emulator cannot be installed on this machine (the Go module proxy
refuses every version of it), so the end-to-end tests drive built functions through this small
implementation of the documented Runtime API instead:
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

It is the same protocol the emulator serves (``GET /2018-06-01/runtime/invocation/next``, ``POST
.../invocation/{id}/response``, ``.../error``, ``/runtime/init/error``), so the real
aws-lambda-go client inside the real binary does real work.  It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"


@dataclass
class Outcome:
    status: str  # "response" | "error" | "init-error" | "exited" | "timeout"
    body: bytes
    stderr: str = ""

    def json(self):
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr):
        super().__init__(addr, _Handler)
        self.events: queue.Queue = queue.Queue()
        self.outcomes: queue.Queue = queue.Queue()
        self.deadline_ms = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, code: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404)
        request_id, payload = self.server.events.get()
        self._reply(200, payload, {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.server.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:test",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
        })

    def _body(self) -> bytes:
        # aws-lambda-go posts responses with Transfer-Encoding: chunked (and trailers)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        body = self._body()
        if self.path.endswith("/response"):
            self.server.outcomes.put(Outcome("response", body))
        elif self.path.endswith("/error"):
            self.server.outcomes.put(Outcome("init-error" if "/init/" in self.path else "error", body))
        else:
            return self._reply(404)
        self._reply(202, b'{"status":"OK"}')


def invoke(bootstrap: Path, event, *, timeout: float = 20, env: dict | None = None,
           wrapper: list[str] | None = None) -> Outcome:
    """Start ``bootstrap`` against a fresh Runtime API, send one event, return what it answered."""
    server = _Server(("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    server.deadline_ms = int((time.time() + timeout) * 1000)
    server.events.put((str(uuid.uuid4()), payload))
    proc_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"{host}:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "test",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "_HANDLER": "bootstrap",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [*(wrapper or []), str(bootstrap)], env=proc_env, cwd=bootstrap.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        try:
            outcome = server.outcomes.get(timeout=timeout)
        except queue.Empty:
            code = proc.poll()
            outcome = Outcome("exited" if code is not None else "timeout", b"")
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        server.shutdown()
        server.server_close()
    outcome.stderr = err.decode(errors="replace")
    return outcome
