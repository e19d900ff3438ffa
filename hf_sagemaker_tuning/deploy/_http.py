"""A small, strict HTTP/1.1 request reader for the local endpoint (standard library only).

Every request is read under one deadline (request line, headers and body together); lines,
header count and body size are bounded; only HTTP/1.0 and HTTP/1.1 are spoken; a malformed
request gets a 4xx with a JSON body and the connection is closed. A body over the limit gets its
413 at once, then the body is read and discarded (bounded) so a client that sends first and reads
later still sees the 413. The connections themselves (the limit, 503 with ``Retry-After``, the
access log) are ``_http_server``'s. docs/deployment.md says why not ``http.server`` or uvicorn.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

MAX_LINE = 8192  # bytes in the request line and in each header line
MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
MAX_REQUESTS_PER_CONNECTION = 1000
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_DIGITS = re.compile(r"[0-9]+")
_LOOKS_LIKE_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    """Bounds of the HTTP layer (the handler bounds texts and batch sizes)."""

    max_body: int = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint payload limit
    request_timeout: float = 60.0  # the whole request: request line, headers and body
    keepalive_timeout: float = 5.0  # idle time between two requests on one connection
    write_timeout: float = 30.0
    max_connections: int = 32
    drain_bytes: int = 32 * 1024 * 1024  # read and discarded after an early answer, at most
    drain_seconds: float = 10.0


@dataclass(frozen=True)
class Request:
    """A request whose head and body have been read within the limits."""

    method: str
    path: str  # without query string
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    has_length: bool  # a Content-Length header was sent


@dataclass(frozen=True)
class Response:
    """A JSON response."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False
    quiet: bool = False  # not written to the access log (health checks)


class HttpError(Exception):
    """A request that cannot be read: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str, drain: int = 0):
        super().__init__(message)
        self.status = status
        self.drain = drain  # body bytes to read and discard after the answer


class ReadDeadlineError(Exception):
    pass


class GoneError(Exception):
    pass


class _LineTooLongError(Exception):
    pass


def json_error(status: int, message: str, **headers: str) -> Response:
    """A ``{"error": message}`` response."""
    return Response(status, json.dumps({"error": message}).encode("utf-8"), dict(headers))


class Reader:
    """Buffered reads from a socket that all end by one deadline."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = time.monotonic()

    def _fill(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ReadDeadlineError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise ReadDeadlineError from None
        except OSError:
            raise GoneError from None
        if not chunk:
            raise GoneError
        self.buffer += chunk

    def wait(self) -> None:
        if not self.buffer:
            self._fill()

    def readline(self, limit: int) -> bytes:
        start = 0
        while True:
            end = self.buffer.find(b"\n", start, limit)
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) >= limit:
                raise _LineTooLongError
            start = len(self.buffer)
            self._fill()

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def discard(self, size: int, seconds: float) -> None:
        """Read and drop up to ``size`` bytes for at most ``seconds``, or until the client closes."""
        self.deadline = time.monotonic() + seconds
        dropped = len(self.buffer)
        self.buffer.clear()
        while dropped < size:
            try:
                self._fill()
            except (ReadDeadlineError, GoneError):
                return
            dropped += len(self.buffer)
            self.buffer.clear()


def _strip_eol(line: bytes) -> bytes:
    line = line[:-1] if line.endswith(b"\n") else line
    return line[:-1] if line.endswith(b"\r") else line


def _path(target: bytes) -> str:
    text = target.decode("ascii")
    for scheme in ("http://", "https://"):
        if text.lower().startswith(scheme):
            rest = text[len(scheme) :]
            text = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return text.split("?", 1)[0].split("#", 1)[0]


def read_head(reader: Reader) -> tuple[str, str, tuple[int, int], dict[str, str]]:
    for _ in range(5):  # a few empty lines before the request line are tolerated (RFC 9112 2.2)
        try:
            line = _strip_eol(reader.readline(MAX_LINE))
        except _LineTooLongError:
            if _LOOKS_LIKE_REQUEST_LINE.match(reader.buffer):
                raise HttpError(414, f"the request line is longer than {MAX_LINE} bytes") from None
            raise HttpError(400, "malformed request line; expected METHOD /path HTTP/1.1") from None
        if line:
            break
    else:
        raise HttpError(400, "the request has no request line")
    parts = line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
        raise HttpError(400, "malformed request line; expected METHOD /path HTTP/1.1")
    version = _VERSION.fullmatch(parts[2])
    if version is None or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1"):  # HTTP/1.2 and HTTP/1.9 do not exist
        raise HttpError(400, "unsupported protocol; this server speaks HTTP/1.0 and HTTP/1.1")
    headers: dict[str, str] = {}
    count = size = 0
    while True:
        try:
            raw = reader.readline(MAX_LINE)
        except _LineTooLongError:
            raise HttpError(431, f"a header line is longer than {MAX_LINE} bytes") from None
        size += len(raw)
        if size > MAX_HEADER_BYTES:
            raise HttpError(431, f"the request headers are larger than {MAX_HEADER_BYTES} bytes")
        header = _strip_eol(raw)
        if not header:
            break
        count += 1
        if count > MAX_HEADERS:
            raise HttpError(431, f"the request has more than {MAX_HEADERS} headers")
        name, colon, value = header.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise HttpError(400, "malformed header line; expected Name: value")
        value = value.strip(b" \t")
        if _CONTROL.search(value):
            raise HttpError(400, "a header value holds control characters")
        key, text = name.decode("ascii").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    method = parts[0].decode("ascii")
    return method, _path(parts[1]), (1, int(version.group(2))), headers


def body_length(headers: dict[str, str], max_body: int) -> int | None:
    if "transfer-encoding" in headers:
        if "content-length" in headers:
            raise HttpError(400, "a request must not have both Content-Length and Transfer-Encoding")
        raise HttpError(411, "chunked uploads are not supported; send a Content-Length header")
    value = headers.get("content-length")
    if value is None:
        return None
    values = {item.strip() for item in value.split(",")}
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise HttpError(400, "invalid Content-Length; expected one non-negative integer")
    length = int(next(iter(values))) if len(next(iter(values))) <= 18 else 10**18
    if length > max_body:
        raise HttpError(413, f"the request has {length} bytes; at most {max_body}", drain=length)
    return length


def encode(response: Response, head_only: bool, close: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
        "Server: hfst-local-endpoint",
        f"Date: {formatdate(usegmt=True)}",
        "Content-Type: application/json",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        *(f"{name}: {value}" for name, value in response.headers.items()),
        f"Connection: {'close' if close else 'keep-alive'}",
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body
