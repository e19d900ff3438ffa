"""The local endpoint: the SageMaker serving contract over the model folder's own ``code/inference.py``.

Run as ``python -m hf_sagemaker_tuning.deploy.server MODEL_DIR --host 127.0.0.1 --port 8080``
(``hfst deploy`` starts it in the background). ``GET /ping`` answers 200 once the model is
loaded (503 before); ``POST /invocations`` passes the JSON body through the handler's
``input_fn`` -> ``predict_fn`` -> ``output_fn``, as the Hugging Face inference toolkit does.

The HTTP layer (``_http``) bounds every request (size, header count, one deadline for the whole
request, concurrent connections) and answers every malformed request with a 4xx and a JSON body.
This module routes, negotiates ``Accept`` before the model runs, and bounds the queue in front of
the model: ``predict_fn`` runs under a lock, because a fast tokenizer is not safe to call from two
threads at once ("Already borrowed"), and requests that would wait too long get a 503 with
``Retry-After``. Only a failure of the handler's own code gets a 5xx.

This module imports only the standard library; torch and transformers come in through
the handler's ``model_fn``.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from ._http import Limits, Request, Response, json_error
from ._http_server import Server

JSON_TYPE = "application/json"
HOOKS = ("model_fn", "input_fn", "predict_fn", "output_fn")
#: What each path allows; any other method gets 405 with ``Allow``, any other path 404.
ROUTES = {"/ping": ("GET", "HEAD"), "/invocations": ("POST",)}
MAX_QUEUE = 16  # requests waiting for the model at once; more get 503
QUEUE_TIMEOUT_S = 30.0  # a request that waits longer for the model gets 503
RETRY_AFTER = "1"
#: Environment variables the server process may see (``server_environment``); nothing else, no credentials.
ENV_ALLOWED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "VIRTUAL_ENV",
    "LD_LIBRARY_PATH",
    "XDG_CACHE_HOME",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_HUB_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "TRANSFORMERS_OFFLINE",
    "TRANSFORMERS_CACHE",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF",
)
log = logging.getLogger("hfst.server")


def server_environment(
    threads: int | None = None, package_root: str | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a local endpoint's server process: ``ENV_ALLOWED`` only, no credentials.

    Args:
        threads: torch/OpenMP threads (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``); default: inherited.
        package_root: a folder put first on ``PYTHONPATH``, so the server imports this package from any cwd.
        environ: the environment to filter (default: ``os.environ``).

    Returns:
        The allow-listed variables, plus ``HF_HUB_OFFLINE=1`` and ``TOKENIZERS_PARALLELISM=false``
        unless set, and ``PYTHONUNBUFFERED=1``.
    """
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in ENV_ALLOWED if name in source}
    env.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the hub; fail fast instead of retrying
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    if package_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def accept_quality(header: str | None, media_type: str) -> float:
    """The quality an ``Accept`` header gives ``media_type`` (q-values and wildcards; the most specific range wins).

    ``accepts_json`` in the bundled ``training/inference.py`` reads q-values the same way: that file
    ships alone inside model artifacts and may import nothing from this library, and the server
    must negotiate before any of the model folder's own code runs, so both keep their few lines.
    """
    if header is None or not header.strip():
        return 1.0
    kind = media_type.split("/", 1)[0]
    best_specificity, best_quality = -1, 0.0
    for item in header.split(",")[:100]:
        media_range, *parameters = item.split(";")
        media_range = media_range.strip().lower()
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # also NaN
                    quality = 0.0
        if specificity > best_specificity or (specificity == best_specificity and quality > best_quality):
            best_specificity, best_quality = specificity, quality
    return best_quality if best_specificity >= 0 else 0.0


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
    """The loaded handler and model, the lock that serialises ``predict_fn``, and the routes."""

    def __init__(self, max_queue: int = MAX_QUEUE, queue_timeout: float = QUEUE_TIMEOUT_S) -> None:
        self.module: ModuleType | None = None
        self.model: Any = None
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.max_queue, self.queue_timeout = max_queue, queue_timeout
        self._waiting = 0
        self._waiting_lock = threading.Lock()

    def load(self, model_dir: Path) -> None:
        module = load_handler(model_dir)
        self.model = module.model_fn(str(model_dir))
        self.module = module
        self.ready.set()

    def _kinds(self, name: str, default: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
        kind = getattr(self.module, name, None)
        return (kind,) if isinstance(kind, type) and issubclass(kind, BaseException) else default

    def handle(self, request: Request) -> Response:
        """Answer one request (never raises)."""
        allowed = ROUTES.get(request.path)
        if allowed is None:
            return json_error(404, "not found; this server answers GET /ping and POST /invocations")
        if request.method not in allowed:
            message = f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
            return json_error(405, message, Allow=", ".join(allowed))
        if request.path == "/ping":
            if self.ready.is_set():
                return Response(200, b'{"status": "healthy"}', quiet=True)
            return _quiet(json_error(503, "the model is still loading", **{"Retry-After": RETRY_AFTER}))
        if not request.has_length:
            return json_error(411, "a Content-Length header is required")
        if not self.ready.is_set():
            return json_error(503, "the model is still loading", **{"Retry-After": RETRY_AFTER})
        accept = request.headers.get("accept")
        if accept_quality(accept, JSON_TYPE) <= 0:  # before the model runs
            # the bundled output_fn's words, so the message matches what SageMaker's handler answers
            return json_error(406, f"accept type {accept!r} is not supported; use {JSON_TYPE}")
        return self.invoke(request.body, request.headers.get("content-type", ""), JSON_TYPE)

    def invoke(self, body: bytes, content_type: str, accept: str) -> Response:
        """Run the handler on one request body."""
        module = self.module
        assert module is not None  # callers check ready first
        unsupported = self._kinds("UnsupportedMediaTypeError", ())
        invalid = self._kinds("InvalidRequestError", ())
        try:
            data = module.input_fn(body, content_type)
        except unsupported as exc:
            return json_error(415, str(exc))
        except ValueError as exc:  # input_fn raises ValueErrors for anything wrong with the request
            return json_error(400, str(exc))
        except RecursionError:
            return json_error(400, "the request is nested too deeply")
        except Exception as exc:
            return model_failure("input_fn", exc)
        with self._waiting_lock:
            if self._waiting >= self.max_queue:
                return json_error(503, "the model is busy; retry later", **{"Retry-After": RETRY_AFTER})
            self._waiting += 1
        try:
            acquired = self.lock.acquire(timeout=self.queue_timeout)
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        if not acquired:
            return json_error(503, "the model is busy; retry later", **{"Retry-After": RETRY_AFTER})
        try:
            prediction = module.predict_fn(data, self.model)
        except invalid as exc:
            return json_error(400, str(exc))
        except Exception as exc:
            return model_failure("predict_fn", exc)
        finally:
            self.lock.release()
        try:
            output = module.output_fn(prediction, accept)
        except unsupported as exc:
            return json_error(406, str(exc))
        except Exception as exc:
            return model_failure("output_fn", exc)
        return Response(200, output.encode("utf-8") if isinstance(output, str) else bytes(output))


def _quiet(response: Response) -> Response:
    return Response(response.status, response.body, response.headers, response.close, quiet=True)


def model_failure(hook: str, exc: Exception) -> Response:
    log.error("%s failed:\n%s", hook, "".join(traceback.format_exception(exc)).rstrip())
    first_line = (str(exc).splitlines() or [""])[0][:300]
    return json_error(
        500, f"the model failed in {hook}: {type(exc).__name__}: {first_line} (details in the server log)"
    )


def make_server(
    host: str, port: int, service: Service, any_port_if_busy: bool = False, limits: Limits | None = None
) -> Server:
    """Bind the HTTP server (port 0: any free port; ``any_port_if_busy``: fall back to one)."""
    limits = limits or Limits()
    try:
        return Server(host, port, service.handle, limits, frozenset(ROUTES))
    except OSError:
        if not any_port_if_busy:
            raise
        log.info("port %d is busy; asking the OS for a free one", port)
        return Server(host, 0, service.handle, limits, frozenset(ROUTES))


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
    parser.add_argument(
        "--max-connections", type=int, default=Limits.max_connections, help="Connections served at once; more: 503."
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=Limits.request_timeout,
        help="Seconds a client has to send a whole request (request line, headers and body).",
    )
    args = parser.parse_args(argv)
    if args.max_connections < 1 or not args.request_timeout > 0:
        parser.error("--max-connections and --request-timeout must be positive")
    limits = Limits(max_connections=args.max_connections, request_timeout=args.request_timeout)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("hfst.server").setLevel(logging.INFO)

    service = Service()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = make_server(args.host, args.port, service, args.any_port_if_busy, limits)
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
