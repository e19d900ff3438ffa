"""The local endpoint's connections: one accepting thread, a bounded number of serving threads, lingering.

At most ``max_connections`` connections are served at once, each on its own thread; past the limit
every new client gets a complete 503 with ``Retry-After`` (written at once, without reading the
request), and every answer that closes its connection is followed by a bounded *linger* on the
accepting thread (what the client still sends is read and dropped until it closes), so that a client
that reads late reads its answer instead of a reset. The request reader and the limits are in
``_http``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._http import (
    MAX_REQUESTS_PER_CONNECTION,
    METHODS,
    GoneError,
    HttpError,
    Limits,
    ReadDeadlineError,
    Reader,
    Request,
    Response,
    body_length,
    encode,
    json_error,
    read_head,
)

log = logging.getLogger("hfst.server")

App = Callable[[Request], Response]

#: Sockets at most in the lingering set (answered, write side shut, waiting for the client to close).
MAX_LINGERING = 1024
#: How long a connection refused with 503 lingers for the client to read its answer and close.
REJECT_LINGER_SECONDS = 2.0


@dataclass
class _Lingering:
    deadline: float
    budget: int  # bytes still read and dropped before the socket is closed anyway


class Server:
    """Accepts connections on one thread; serves each on its own thread, at most ``limits.max_connections``.

    Past the limit every new connection is answered on the accepting thread, without a thread of its own
    and without reading the request: a complete 503 with ``Retry-After`` is written at once (it fits the
    fresh socket's send buffer), the write side is shut and the socket *lingers*. Every answered connection
    that closes (a served one too, which gives its slot back first) lingers the same way: the accepting
    thread reads and drops what the client still sends, bounded in bytes and seconds, until the client
    closes. Closing a socket with unread data makes the kernel send a reset, which can destroy the answer
    before a client that reads late has read it; lingering avoids that, and holds no slot and no thread.
    """

    def __init__(self, host: str, port: int, app: App, limits: Limits, log_paths: frozenset[str]):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=128)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self.app, self.limits, self.log_paths = app, limits, log_paths
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._lingering: dict[socket.socket, _Lingering] = {}
        self._handed: queue.SimpleQueue[tuple[socket.socket, _Lingering]] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept connections (and tend lingering ones) until ``shutdown``."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while not self._stop.is_set():
                    soonest = min((item.deadline for item in self._lingering.values()), default=None)
                    timeout = poll_interval if soonest is None else min(poll_interval, soonest - time.monotonic())
                    for key, _ in selector.select(max(0.0, timeout)):
                        if key.fileobj is self.socket:
                            self._accept(selector)
                        elif key.fileobj is self._wake_read:
                            self._take_handed(selector)
                        else:
                            self._linger_read(selector, key.fileobj)  # type: ignore[arg-type]
                    self._expire(selector)
        finally:
            self._stopped.set()
            for sock in list(self._lingering):
                _close_quietly(sock)
            self._lingering.clear()
            self._close_handed()

    def shutdown(self) -> None:
        """Stop accepting; returns once ``serve_forever`` has returned."""
        self._stop.set()
        self._wake()
        self._stopped.wait(5.0)

    def server_close(self) -> None:
        self.socket.close()
        self._wake_read.close()
        self._wake_write.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        for _ in range(64):  # a burst of connections in one turn, then the lingering ones get their turn
            try:
                conn, address = self.socket.accept()
            except OSError:  # BlockingIOError: none left; others (ECONNABORTED, EMFILE): try the next turn
                return
            if self._slots.acquire(blocking=False):
                conn.setblocking(True)
                threading.Thread(target=self._serve, args=(conn, str(address[0])), daemon=True).start()
            else:
                self._reject(selector, conn, str(address[0]))

    def _reject(self, selector: selectors.BaseSelector, conn: socket.socket, client: str) -> None:
        """503 at once, without reading the request; then linger so a client that reads late still reads it."""
        busy = encode(json_error(503, "the server is busy; retry later", **{"Retry-After": "1"}), False, True)
        conn.setblocking(False)
        try:
            sent = conn.send(busy)
            if sent == len(busy):
                conn.shutdown(socket.SHUT_WR)
        except OSError:
            sent = 0
        log.info("%s (connection refused: %d connections open) 503", client, self.limits.max_connections)
        if sent != len(busy):  # the client is already gone (or a send buffer under 300 bytes)
            _close_quietly(conn)
            return
        budget = min(self.limits.max_body, self.limits.drain_bytes)
        self._add_lingering(selector, conn, _Lingering(time.monotonic() + REJECT_LINGER_SECONDS, budget))

    def _hand_off(self, conn: socket.socket, drain: int, seconds: float) -> None:
        """From a connection thread: the answer is written and the write side shut; linger on the accept loop."""
        if self._stopped.is_set():
            _close_quietly(conn)
            return
        conn.setblocking(False)
        self._handed.put((conn, _Lingering(time.monotonic() + seconds, drain)))
        if self._stopped.is_set():  # the loop ended since the check above: it may have emptied the queue already
            self._close_handed()
        else:
            self._wake()

    def _close_handed(self) -> None:
        """Close every socket handed over and not yet taken (the loop has ended, or is ending).

        ``serve_forever`` sets ``_stopped`` before it calls this, so a hand-over that comes after its
        last look at the queue sees ``_stopped`` and closes its socket here itself: none is left open.
        """
        while True:
            try:
                conn, _ = self._handed.get_nowait()
            except queue.Empty:
                return
            _close_quietly(conn)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already woken (buffer full) or closed
            self._wake_write.send(b"\0")

    def _take_handed(self, selector: selectors.BaseSelector) -> None:
        with contextlib.suppress(OSError):
            while self._wake_read.recv(4096):
                pass
        while not self._handed.empty():
            conn, lingering = self._handed.get_nowait()
            self._add_lingering(selector, conn, lingering)

    def _add_lingering(self, selector: selectors.BaseSelector, conn: socket.socket, lingering: _Lingering) -> None:
        if len(self._lingering) >= MAX_LINGERING:  # a flood: the oldest stops lingering (its answer is sent)
            oldest = min(self._lingering, key=lambda sock: self._lingering[sock].deadline)
            self._close_lingering(selector, oldest)
        try:
            selector.register(conn, selectors.EVENT_READ)
        except (OSError, ValueError):
            _close_quietly(conn)
            return
        self._lingering[conn] = lingering

    def _linger_read(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        lingering = self._lingering.get(conn)
        if lingering is None:
            return
        try:
            chunk = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        lingering.budget -= len(chunk)
        if not chunk or lingering.budget <= 0:  # the client closed (it has read its answer), or sent too much
            self._close_lingering(selector, conn)

    def _expire(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for conn in [sock for sock, item in self._lingering.items() if item.deadline <= now]:
            self._close_lingering(selector, conn)

    def _close_lingering(self, selector: selectors.BaseSelector, conn: socket.socket) -> None:
        self._lingering.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(conn)
        with contextlib.suppress(OSError):  # what has arrived is read, so closing sends FIN, not a reset
            for _ in range(16):
                if not conn.recv(65536):
                    break
        _close_quietly(conn)

    def _serve(self, conn: socket.socket, client: str) -> None:
        handed = False
        try:
            handed = self._serve_connection(conn, client)
        except Exception as exc:  # pragma: no cover - a bug here must not kill the server
            log.error("%s connection error: %s", client, type(exc).__name__)
        finally:
            self._slots.release()
            if not handed:
                _close_quietly(conn)

    def _serve_connection(self, conn: socket.socket, client: str) -> bool:
        """Serve requests until the connection ends; ``True`` when it was handed to the accept loop to linger."""
        limits = self.limits
        reader = Reader(conn)
        reader.deadline = time.monotonic() + limits.request_timeout
        for served in range(MAX_REQUESTS_PER_CONNECTION):
            if served:
                reader.deadline = time.monotonic() + limits.keepalive_timeout
            try:
                reader.wait()
            except (ReadDeadlineError, GoneError):
                return False  # an idle connection, closed quietly
            if served:
                reader.deadline = time.monotonic() + limits.request_timeout
            method = path = "-"
            try:
                method, path, version, headers = read_head(reader)
                length = body_length(headers, limits.max_body)
                expect = headers.get("expect")
                if expect is not None:
                    if expect.strip().lower() != "100-continue":
                        raise HttpError(417, "the only Expect this server meets is 100-continue")
                    if length:
                        conn.settimeout(limits.write_timeout)
                        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = reader.read(length or 0)
            except HttpError as exc:
                response = json_error(exc.status, str(exc))
                self._log(client, method, path, response)
                drain = (exc.drain, limits.drain_seconds) if exc.drain else (limits.max_body, 2.0)
                return self._finish(conn, response, method == "HEAD", *drain)
            except ReadDeadlineError:
                response = json_error(408, f"the request was not received within {limits.request_timeout:g} s")
                self._log(client, method, path, response)
                return self._finish(conn, response, method == "HEAD", 0, 0.0)
            except (GoneError, OSError):
                return False
            request = Request(method, path, headers, body, length is not None)
            try:
                response = self.app(request)
            except Exception as exc:  # pragma: no cover - the app answers every error itself
                log.error("%s the endpoint failed: %s", client, type(exc).__name__)
                response = json_error(500, "internal error of the endpoint (details in the server log)")
            self._log(client, method, path, response)
            connection = headers.get("connection", "").lower()
            close = response.close or version < (1, 1) or "close" in connection
            if close:
                return self._finish(conn, response, method == "HEAD", limits.max_body, 2.0)
            try:
                conn.settimeout(limits.write_timeout)
                conn.sendall(encode(response, method == "HEAD", close=False))
            except OSError:
                return False
        return False

    def _finish(self, conn: socket.socket, response: Response, head_only: bool, drain: int, seconds: float) -> bool:
        """Answer, close our side, and hand the socket over to linger (read what the client still sends,
        bounded) so it can read the answer; ``True`` once handed over."""
        try:
            conn.settimeout(self.limits.write_timeout)
            conn.sendall(encode(response, head_only, close=True))
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return False
        self._hand_off(conn, min(drain, self.limits.drain_bytes), seconds)
        return True

    def _log(self, client: str, method: str, path: str, response: Response) -> None:
        if response.quiet:
            return
        shown_method = method if method in METHODS or method == "-" else "(other method)"
        shown_path = path if path in self.log_paths or path == "-" else "(other path)"
        log.info("%s %s %s %d", client, shown_method, shown_path, response.status)


def _close_quietly(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()
