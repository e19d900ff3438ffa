"""The local endpoint under hostile input: every case is answered, none with a 5xx, every answer is JSON.

One server for the module (loopback only, a short request timeout and few connection slots so the
timeout and overload cases stay fast), talked to over raw sockets so malformed requests reach it
exactly as written.
"""

from __future__ import annotations

import contextlib
import json
import select
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.deploy.server import server_environment

pytestmark = [
    # The first test also pays for the session's model (importing torch and transformers) and the server's
    # start: seconds on a quiet machine, past a minute on a loaded one, where the default 60 s timeout
    # failed the fixture and so every test of the module. The bound catches a hang, not slowness.
    pytest.mark.timeout(300),
]

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SECRET = "SECRETMARKER"  # put in URIs, headers and bodies; must never reach the log
REQUEST_TIMEOUT = 3
MAX_CONNECTIONS = 4
TRAINED_MAX_LENGTH = 16
MB6 = 6 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    port: int
    log_file: Path


@pytest.fixture(scope="module")
def endpoint(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "model"
    shutil.copytree(model_dir, folder)
    (folder / "code" / "serving.json").write_text(json.dumps({"max_length": TRAINED_MAX_LENGTH}))
    port_file, log_file = base / "port", base / "server.log"
    command = [sys.executable, "-m", "hf_sagemaker_tuning.deploy.server", str(folder), "--host", HOST]
    command += ["--port", "0", "--port-file", str(port_file), "--request-timeout", str(REQUEST_TIMEOUT)]
    command += ["--max-connections", str(MAX_CONNECTIONS)]
    env = server_environment(1, str(REPO))
    with open(log_file, "wb") as log_handle:
        process = subprocess.Popen(command, stdout=log_handle, stderr=subprocess.STDOUT, env=env, cwd=base)
    try:
        deadline = time.monotonic() + 240  # a loaded machine: torch's import alone can take a minute
        while time.monotonic() < deadline:
            assert process.poll() is None, log_file.read_text()
            if port_file.is_file() and port_file.read_text().strip():
                port = int(port_file.read_text())
                if _exchange(port, b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200:
                    break
            time.sleep(0.1)
        else:
            pytest.fail(f"the server did not become ready:\n{log_file.read_text()}")
        yield Endpoint(port, log_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: never leave it running (nor unreaped)
            process.kill()
            process.wait(timeout=60)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _exchange(port: int, raw: bytes, head: bool = False, timeout: float = 20.0) -> Answer:
    """Send ``raw`` as is and read one final response (interim 1xx skipped); status 0 when none came."""
    data = b""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)  # the server may answer early; its answer is still readable
        while True:
            answer = _parse(data, head)
            if answer is not None:
                return answer
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                chunk = b""
            if not chunk:
                return _parse(data, head) or Answer(0, {}, data)
            data += chunk


def _parse(data: bytes, head: bool) -> Answer | None:
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            data = data[end + 4 :]
            continue
        length = 0 if head else int(headers.get("content-length", "0"))
        body = data[end + 4 : end + 4 + length]
        return Answer(status, headers, body) if len(body) == length else None


def _request(
    method: str = "POST",
    target: str = "/invocations",
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    fields = {"Host": "127.0.0.1", "Connection": "close"}
    if data is not None:
        fields |= {"Content-Type": "application/json", "Content-Length": str(len(data))}
    fields |= headers or {}
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + (data or b"")


OK_BODY = json.dumps({"inputs": "Best thing ever!"})
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"]
PATHS = {"/ping": ("GET", "HEAD"), "/invocations": ("POST",), "/": (), f"/admin?token={SECRET}": (), "/ping/": ()}


def _method_cases() -> Iterator[Any]:
    for method in METHODS:
        for path, allowed in PATHS.items():
            status = (200 if method in allowed else 405) if allowed else 404
            yield pytest.param(_request(method, path, OK_BODY), status, id=f"{method}-{path[:8]}")


def _raw(line: bytes, status: int, name: str) -> Any:
    return pytest.param(line, status, id=name)


REQUEST_LINES = [
    _raw(b"GARBAGE\r\n\r\n", 400, "one-word"),
    _raw(b"GET\r\n\r\n", 400, "method-only"),
    _raw(b"GET /ping\r\n\r\n", 400, "http-0.9"),
    _raw(b"GET /ping HTTP/1.1 extra\r\nConnection: close\r\n\r\n", 400, "four-words"),
    _raw(b"GET  /ping HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "double-space"),
    _raw(b"GET\t/ping\tHTTP/1.1\r\nConnection: close\r\n\r\n", 400, "tabs"),
    _raw(b"GET /ping HTTP/2.0\r\nConnection: close\r\n\r\n", 400, "http-2"),
    _raw(b"GET /ping HTTP/1.x\r\nConnection: close\r\n\r\n", 400, "bad-version"),
    _raw(b"GET /ping HTTP/1.2\r\nConnection: close\r\n\r\n", 400, "http-1.2"),
    _raw(b"GET /ping HTTP/1.9\r\nConnection: close\r\n\r\n", 400, "http-1.9"),
    _raw(b"GET /ping HTTP/1.0\r\n\r\n", 200, "http-1.0"),
    _raw(b"GET /ping http/1.1\r\nConnection: close\r\n\r\n", 400, "lower-case-version"),
    _raw(b"GET /ping HTTP/1.1\n\n", 200, "bare-lf"),  # tolerated, and HTTP/1.1 keeps the connection
    _raw(b"\r\n\r\nGET /ping HTTP/1.1\r\nConnection: close\r\n\r\n", 200, "leading-blank-lines"),
    _raw(b"\r\n" * 6 + b"GET /ping HTTP/1.1\r\n\r\n", 400, "many-blank-lines"),
    _raw(b"G(T /ping HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "bad-method-token"),
    _raw(b"GET /pi\x00ng HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "nul-in-target"),
    _raw("GET /pé HTTP/1.1\r\nConnection: close\r\n\r\n".encode(), 400, "non-ascii-target"),
    _raw(b"GET ping HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "relative-target"),
    _raw(b"OPTIONS * HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "asterisk-form"),
    _raw(b"CONNECT example.com:443 HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "authority-form"),
    _raw(b"GET http://x/ping?a=" + SECRET.encode() + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 200, "absolute"),
    _raw(b"GET /" + b"a" * 70_000 + b"?" + SECRET.encode() + b" HTTP/1.1\r\n\r\n", 414, "uri-70k"),
    _raw(b"GET /" + b"a" * 9_000 + b" HTTP/1.1\r\n\r\n", 414, "uri-9k"),
    _raw(b"GET /" + b"a" * 8_000 + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 404, "uri-8k-fits"),
    _raw(b"X" * 70_000 + b"\r\n\r\n", 400, "garbage-70k"),
    _raw(b"GET /ping HTTP/1.1" + b"1" * 9_000 + b"\r\n\r\n", 414, "version-9k"),
    _raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", 400, "tls-hello"),
    _raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "h2-preface"),
    _raw(bytes(range(1, 32)) + b"\r\n\r\n", 400, "control-bytes"),
    _raw(b"\xff\xfe\xfd\r\n\r\n", 400, "binary"),
    _raw(b"GET /ping HTTP/1.1\r\r\nConnection: close\r\n\r\n", 400, "cr-cr-lf"),
]


def _headers(extra: str, status: int, name: str, body: str = OK_BODY) -> Any:
    head = f"POST /invocations HTTP/1.1\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}\r\n"
    return pytest.param(head.encode("latin-1") + body.encode(), status, id=name)


N = len(OK_BODY)
HEADERS = [
    _headers(f"Content-Length: {N}\r\nNo-Colon-Here\r\n", 400, "header-without-colon"),
    _headers(f"Content-Length: {N}\r\nHost : x\r\n", 400, "space-before-colon"),
    _headers(f"Content-Length: {N}\r\nX-A: 1\r\n  folded\r\n", 400, "obs-fold"),
    _headers(f"Content-Length: {N}\r\nBad[Name]: 1\r\n", 400, "bad-header-name"),
    _headers(f"Content-Length: {N}\r\nX-A: a\x00b\r\n", 400, "nul-in-value"),
    _headers(f"Content-Length: {N}\r\nX-A: a\rb\r\n", 400, "cr-in-value"),
    _headers(f"Content-Length: {N}\r\nX-Long: {'v' * 9000}\r\n", 431, "header-9k"),
    _headers(f"Content-Length: {N}\r\nX-Long: {SECRET}{'v' * 70_000}\r\n", 431, "header-70k"),
    _headers(f"Content-Length: {N}\r\n" + "".join(f"X-{i}: v\r\n" for i in range(101)), 431, "101-headers"),
    _headers(f"Content-Length: {N}\r\n" + "".join(f"X-{i}: {'v' * 8000}\r\n" for i in range(9)), 431, "80k-headers"),
    _headers("Content-Length: -1\r\n", 400, "negative-length"),
    _headers("Content-Length: abc\r\n", 400, "text-length"),
    _headers(f"Content-Length: +{N}\r\n", 400, "plus-length"),
    _headers(f"Content-Length: {N}\r\nContent-Length: {N + 1}\r\n", 400, "two-lengths"),
    _headers(f"Content-Length: {N}, {N}\r\n", 200, "repeated-same-length"),
    _headers(f"Content-Length: {N}\r\nTransfer-Encoding: chunked\r\n", 400, "length-and-chunked"),
    _headers("Transfer-Encoding: chunked\r\n", 411, "chunked", body=f"{N:x}\r\n{OK_BODY}\r\n0\r\n\r\n"),
    _headers("", 411, "no-length"),
    _headers("Content-Length: 99999999999999999999999999\r\n", 413, "huge-length"),
    _headers(f"Content-Length: {MB6 + 1}\r\n", 413, "length-over-limit"),
    _headers(f"Content-Length: {N}\r\nExpect: 100-continue\r\n", 200, "expect-continue"),
    _headers(f"Content-Length: {N}\r\nExpect: teapot\r\n", 417, "expect-other"),
    _headers(f"Content-Length: {N}\r\nAuthorization: Bearer {SECRET}\r\n", 200, "credentials-in-header"),
]


def _body(payload: Any, status: int, name: str, **headers: str) -> Any:
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return pytest.param(_request(body=body, headers=headers), status, id=name)


BODIES = [
    _body("[" * 100_000 + "]" * 100_000, 400, "deep-list"),
    _body('{"inputs": ' + "[" * 50_000 + "]" * 50_000 + "}", 400, "deep-inputs"),
    _body('{"a":' * 20_000 + "1" + "}" * 20_000, 400, "deep-object"),
    _body('{"inputs": "\\ud800"}', 400, "lone-surrogate-escaped"),
    _body('{"inputs": ["ok", "\\udfff tail"]}', 400, "lone-low-surrogate-in-list"),
    _body('{"inputs": "a\ud800b"}', 400, "lone-surrogate-raw-bytes"),
    _body(b'{"inputs": "\xff\xfe"}', 400, "invalid-utf8"),
    _body(b'{"inputs": "\xc0\xaf"}', 400, "overlong-utf8"),
    _body('{"inputs": "ok"}'.encode("utf-16"), 400, "utf16-body"),
    _body(b"\xef\xbb\xbf" + OK_BODY.encode(), 400, "utf8-bom"),
    _body('{"inputs": "a\\u0000b"}', 200, "nul-in-text"),
    _body('{"inputs": "\\u200b"}', 200, "zero-width-space"),
    _body('{"inputs": "🙂" }', 200, "emoji"),
    _body({"inputs": "x" * 20_000}, 200, "longest-text"),
    _body({"inputs": ["word " * 3_999] * 64}, 200, "largest-batch"),
    _body({"inputs": ["x"] * 65}, 400, "batch-65"),
    _body({"inputs": "x" * 20_001}, 400, "text-20001"),
    _body("", 400, "empty-body"),
    _body("   ", 400, "blank-body"),
    _body("null", 400, "null"),
    _body("true", 400, "true"),
    _body('"just a string"', 400, "string"),
    _body("1" * 5_000, 400, "huge-integer"),
    _body('{"inputs": "hi", "parameters": {"top_k": 1e400}}', 400, "top-k-inf"),
    _body('{"inputs": "hi", "parameters": {"top_k": NaN}}', 400, "top-k-nan"),
    _body({"inputs": "hi", "parameters": {"top_k": 10**30}}, 200, "top-k-huge"),
    _body({"inputs": "hi", "parameters": {"top_k": -1}}, 400, "top-k-negative"),
    _body({"inputs": "hi", "parameters": {"top_k": None}}, 400, "top-k-null"),
    _body({"inputs": None}, 400, "inputs-null"),
    _body({"inputs": {"text": "hi"}}, 400, "inputs-object"),
    _body({"inputs": [["nested"]]}, 400, "inputs-nested"),
    _body('{"inputs": "a", "inputs": "b"}', 200, "duplicate-keys"),
    _body(OK_BODY + " trailing", 400, "trailing-garbage"),
    _body(OK_BODY + OK_BODY, 400, "two-documents"),
    _body({"inputs": "hi", SECRET: 1}, 400, "unknown-field"),
    _body(OK_BODY, 415, "text-plain", **{"Content-Type": "text/plain"}),
    _body(OK_BODY, 415, "json-patch", **{"Content-Type": "application/json-patch+json"}),
    _body(OK_BODY, 200, "json-charset", **{"Content-Type": "application/json; charset=utf-8"}),
    _body(OK_BODY, 415, "empty-content-type", **{"Content-Type": ""}),
]

ACCEPTS = [
    _body(OK_BODY, status, f"accept-{name}", Accept=accept)
    for name, accept, status in [
        ("json", "application/json", 200),
        ("list", "application/json, text/plain", 200),
        ("list-reversed", "text/plain, application/json", 200),
        ("application-star", "application/*", 200),
        ("star-low-q", "*/*;q=0.1", 200),
        ("html-then-star", "text/html, */*;q=0.01", 200),
        ("json-charset", "application/json; charset=utf-8", 200),
        ("empty", "", 200),
        ("html", "text/html", 406),
        ("json-q0", "application/json;q=0", 406),
        ("json-q0-over-star", "application/json;q=0, */*", 406),
        ("star-q0", "*/*;q=0", 406),
        ("bad-q", "application/json;q=abc", 406),
        ("garbage", "@@@, ;;;", 406),
        ("csv", "text/csv", 406),
    ]
]

CASES = [*_method_cases(), *REQUEST_LINES, *HEADERS, *BODIES, *ACCEPTS]


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 100


@pytest.mark.slow
@pytest.mark.parametrize(("raw", "status"), CASES)
def test_hostile_request_is_answered_with_json_and_no_5xx(endpoint: Endpoint, raw: bytes, status: int) -> None:
    head = raw.startswith(b"HEAD ")
    answer = _exchange(endpoint.port, raw, head=head)
    assert answer.status != 0, f"no answer; got {answer.body[:200]!r}"
    assert answer.status < 500, answer.body
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    if head:
        return
    payload = answer.json()
    if status >= 400:
        assert isinstance(payload["error"], str)
        assert payload["error"]
        assert "Traceback" not in payload["error"]
    if status == 405:
        assert answer.headers["allow"] in ("GET, HEAD", "POST")


@pytest.mark.slow
def test_texts_are_truncated_at_the_trained_length(endpoint: Endpoint) -> None:
    def scores(text: str) -> Any:
        body = json.dumps({"inputs": text, "parameters": {"top_k": 3}})
        answer = _exchange(endpoint.port, _request(body=body))
        assert answer.status == 200
        return answer.json()

    # Both are cut at 16 tokens (the recorded max_length), so the model sees the same input.
    assert scores("good " * 30) == scores("good " * 4_000)


@pytest.mark.slow
def test_a_standard_client_sees_the_413(endpoint: Endpoint) -> None:
    request = urllib.request.Request(
        f"http://{HOST}:{endpoint.port}/invocations",
        data=b" " * (MB6 + 1),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    assert "at most" in json.loads(caught.value.read())["error"]


@pytest.mark.slow
def test_a_slow_client_is_cut_off_at_the_request_deadline(endpoint: Endpoint) -> None:
    lines_sent = 0
    with socket.create_connection((HOST, endpoint.port), timeout=30) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\n")
        answer = b""
        for lines_sent in range(1, 30):  # one header line a second: at most 30 s if nothing cut it off
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                answer = sock.recv(65536)
                break
            try:
                sock.sendall(f"X-Slow-{lines_sent}: {SECRET}\r\n".encode())
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert lines_sent < 29  # cut off long before the client meant to finish


@pytest.mark.slow
def test_overload_gets_503_with_retry_after(endpoint: Endpoint) -> None:
    idle = [socket.create_connection((HOST, endpoint.port), timeout=10) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in idle:
            sock.sendall(b"POST /invocations HTTP/1.1\r\n")  # holds a slot until the request deadline
        time.sleep(0.2)  # let the server accept them (not an assertion on time)
        answer = _exchange(endpoint.port, _request(body=OK_BODY))
        assert answer.status == 503
        assert answer.headers["retry-after"] == "1"
        assert "busy" in answer.json()["error"]
    finally:
        for sock in idle:  # end each held request and read its answer: its slot is back before the next case
            with contextlib.suppress(OSError):
                sock.sendall(b"\r\n")
                sock.recv(65536)
            sock.close()
    for _ in range(100):  # the slots come back once the idle clients are gone
        if _exchange(endpoint.port, _request("GET", "/ping")).status == 200:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the server did not recover after the overload")


@pytest.mark.slow
def test_the_log_holds_no_request_lines_bodies_or_errors(endpoint: Endpoint) -> None:
    for raw in (
        _request("GET", f"/secret?token={SECRET}"),
        _request(body=json.dumps({"inputs": SECRET})),
        b"GET /" + SECRET.encode() * 10_000 + b" HTTP/1.1\r\n\r\n",
        SECRET.encode() + b"\r\n\r\n",
    ):
        assert 0 < _exchange(endpoint.port, raw).status < 500
    log = endpoint.log_file.read_text(encoding="utf-8", errors="replace")
    assert "POST /invocations 200" in log
    assert "(other path) 404" in log
    assert SECRET not in log
    assert "Traceback" not in log
    assert "ERROR" not in log
