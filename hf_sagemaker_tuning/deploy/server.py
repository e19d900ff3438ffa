"""The local endpoint: the SageMaker serving contract over the model folder's own ``code/inference.py``.

Run as ``python -m hf_sagemaker_tuning.deploy.server MODEL_DIR --host 127.0.0.1 --port 8080``
(``hfst deploy`` starts it in the background). ``GET /ping`` answers 200 once the model is
loaded (503 before); ``POST /invocations`` passes the JSON body through the handler's
``input_fn`` -> ``predict_fn`` -> ``output_fn``, as the Hugging Face inference toolkit does.

Hardening: loopback by default; bodies over 6 MB are refused with 413 before they are read;
bad requests get a 4xx with ``{"error": "..."}``; model failures get a 500 with a short
message (the traceback goes to the log only); only ``/ping`` and ``/invocations`` exist.
Requests are served on threads; ``predict_fn`` runs under a lock, because a fast tokenizer
is not safe to call from two threads at once ("Already borrowed").

This module imports only the standard library; torch and transformers come in through
the handler's ``model_fn``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint payload limit
JSON_TYPE = "application/json"
HOOKS = ("model_fn", "input_fn", "predict_fn", "output_fn")
SOCKET_TIMEOUT_S = 60.0
log = logging.getLogger("hfst.server")


class HandlerError(Exception):
    """The model folder's handler cannot be loaded."""


def load_handler(model_dir: Path, program: str = "inference.py") -> ModuleType:
    """Import ``<model_dir>/code/<program>`` the way the inference toolkit does (``code/`` on sys.path)."""
    code = model_dir / "code"
    file = code / program
    if not file.is_file():
        raise HandlerError(f"{file} does not exist; the model folder must carry its handler in code/")
    if str(code) not in sys.path:
        sys.path.insert(0, str(code))
    module_name = Path(program).stem
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise HandlerError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses in the handler look their module up here
    spec.loader.exec_module(module)
    missing = [hook for hook in HOOKS if not callable(getattr(module, hook, None))]
    if missing:
        raise HandlerError(f"{file} lacks {', '.join(missing)}; it must define {', '.join(HOOKS)}")
    return module


class Service:
    """The loaded handler and model, plus the lock that serialises ``predict_fn``."""

    def __init__(self) -> None:
        self.module: ModuleType | None = None
        self.model: Any = None
        self.ready = threading.Event()
        self.lock = threading.Lock()

    def load(self, model_dir: Path) -> None:
        module = load_handler(model_dir)
        self.model = module.model_fn(str(model_dir))
        self.module = module
        self.ready.set()

    def _kinds(self, name: str, default: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
        kind = getattr(self.module, name, None)
        return (kind,) if isinstance(kind, type) and issubclass(kind, BaseException) else default

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes]:
        """Run the handler on one request; return (status, JSON body)."""
        module = self.module
        assert module is not None  # callers check ready first
        unsupported = self._kinds("UnsupportedMediaTypeError", ())
        invalid = self._kinds("InvalidRequestError", ())
        try:
            data = module.input_fn(body, content_type)
        except unsupported as exc:
            return error(415, str(exc))
        except ValueError as exc:  # input_fn raises ValueErrors for anything wrong with the request
            return error(400, str(exc))
        except Exception as exc:
            return model_failure("input_fn", exc)
        try:
            with self.lock:
                prediction = module.predict_fn(data, self.model)
        except invalid as exc:
            return error(400, str(exc))
        except Exception as exc:
            return model_failure("predict_fn", exc)
        try:
            output = module.output_fn(prediction, accept)
        except unsupported as exc:
            return error(406, str(exc))
        except Exception as exc:
            return model_failure("output_fn", exc)
        return 200, output.encode("utf-8") if isinstance(output, str) else bytes(output)


def error(status: int, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": message}).encode("utf-8")


def model_failure(hook: str, exc: Exception) -> tuple[int, bytes]:
    log.error("%s failed:\n%s", hook, "".join(traceback.format_exception(exc)).rstrip())
    first_line = (str(exc).splitlines() or [""])[0][:300]
    return error(500, f"the model failed in {hook}: {type(exc).__name__}: {first_line} (details in the server log)")


class Handler(BaseHTTPRequestHandler):
    """Serves ``GET /ping`` and ``POST /invocations``; everything else is 404 or 405."""

    server_version = "hfst-local-endpoint"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_S  # a client that stalls mid-request cannot hold a thread forever
    service: Service  # set on the subclass made by make_server

    def do_GET(self) -> None:
        if self.path == "/ping":
            if self.service.ready.is_set():
                self._send(200, b'{"status": "healthy"}')
            else:
                self._send(*error(503, "the model is still loading"))
        elif self.path == "/invocations":
            self._send(*error(405, "use POST /invocations"), extra={"Allow": "POST"})
        else:
            self._not_found()

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._not_found()
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._send(*error(411, "a Content-Length header is required"), close=True)
            return
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            self._send(*error(400, f"invalid Content-Length {length_header!r}"), close=True)
            return
        if length > MAX_BODY_BYTES:  # refused before reading: the body never reaches memory
            self._send(*error(413, f"the request has {length} bytes; at most {MAX_BODY_BYTES}"), close=True)
            return
        body = self.rfile.read(length)
        if not self.service.ready.is_set():
            self._send(*error(503, "the model is still loading"))
            return
        content_type = self.headers.get("Content-Type") or ""
        accept = self.headers.get("Accept") or JSON_TYPE
        self._send(*self.service.invoke(body, content_type, accept))

    def do_PUT(self) -> None:
        self._method_not_allowed()

    do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def _method_not_allowed(self) -> None:
        if self.path in ("/ping", "/invocations"):
            self._send(*error(405, f"{self.command} is not allowed here"), close=True)
        else:
            self._not_found()

    def _not_found(self) -> None:
        self._send(*error(404, "not found; this server answers GET /ping and POST /invocations"), close=True)

    def _send(self, status: int, body: bytes, close: bool = False, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Method, path (no query string), status: never headers, bodies or credentials.
        log.info("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        if path == "/ping" and str(code) in ("200", "503"):
            return  # health checks come several times a second; they would drown the log
        self.log_message("%s %s %s", self.command, path, code)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(host: str, port: int, service: Service, any_port_if_busy: bool = False) -> ThreadingHTTPServer:
    """Bind the HTTP server (port 0: any free port; ``any_port_if_busy``: fall back to one)."""
    handler = type("BoundHandler", (Handler,), {"service": service})
    server_class = _Server6 if ":" in host else _Server
    try:
        return server_class((host, port), handler)
    except OSError:
        if not any_port_if_busy:
            raise
        log.info("port %d is busy; asking the OS for a free one", port)
        return server_class((host, 0), handler)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hf_sagemaker_tuning.deploy.server", description=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--any-port-if-busy", action="store_true", help="Use a free port if --port is taken.")
    parser.add_argument("--port-file", type=Path, help="Write the bound port here once listening.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("hfst.server").setLevel(logging.INFO)

    service = Service()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = make_server(args.host, args.port, service, args.any_port_if_busy)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc)
        return 1
    port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.info("listening on %s port %d; loading %s", args.host, port, args.model_dir)
    if args.port_file is not None:
        _write_atomically(args.port_file, str(port))
    started = time.perf_counter()
    try:
        service.load(args.model_dir.resolve())
    except Exception:
        log.error("the model could not be loaded:\n%s", traceback.format_exc().rstrip())
        server.shutdown()
        server.server_close()
        return 1
    log.info("ready in %.1f s", time.perf_counter() - started)
    while not stop.wait(0.5):
        pass
    log.info("stopping")
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
