"""The head start's one Engine API call over the daemon's Unix socket (builders/early.py), against a
real Unix socket server answering as the daemon does: a plain body, a chunked one, an error."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from gobuild_lambda.builders.early import _UnixAPI
from gobuild_lambda.errors import DockerError

DOC = {"Id": "abc", "Config": {"Env": ["GBL_WARM_TOKEN=x"], "Labels": {"gbl.warm": "1"}}}


def _serve(path: str, responses: list[bytes]) -> list[bytes]:
    """Answer one connection per response; what each request said is returned (filled in)."""
    requests: list[bytes] = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()

    def run():
        with server:
            for response in responses:
                conn, _ = server.accept()
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(4096)
                    requests.append(data)
                    conn.sendall(response)

    threading.Thread(target=run, daemon=True).start()
    return requests


def test_get_reads_plain_and_chunked_bodies_and_refuses_an_error(tmp_path):
    body = json.dumps(DOC).encode()
    plain = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    half = len(body) // 2
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n%s\r\n" % (half, body[:half]) + b"%x;ext=1\r\n%s\r\n" % (len(body) - half, body[half:])
               + b"0\r\n\r\n")
    missing = b'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}'
    path = str(tmp_path / "docker.sock")
    requests = _serve(path, [plain, chunked, missing])
    api = _UnixAPI(path)
    assert api.get("/containers/abc/json") == DOC
    assert api.get("/containers/abc/json") == DOC
    with pytest.raises(DockerError, match="HTTP 404"):
        api.get("/containers/nope/json")
    assert requests[0].startswith(b"GET /containers/abc/json HTTP/1.1\r\n")
