"""Local endpoints: the model folder served by a background ``deploy.server`` process."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, overload

from .. import _process
from . import _registry
from ._errors import DeployError
from ._predictor import Label, LocalPredictor
from ._registry import EndpointRecord
from .server import server_environment

log = logging.getLogger("hf_sagemaker_tuning.deploy")
DEFAULT_PORT = 8080
SERVER_MODULE = "hf_sagemaker_tuning.deploy.server"
#: Popen handles of servers this process started, so stopping one also reaps it (no zombie).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def resolve_model_dir(path: str | os.PathLike[str]) -> Path:
    """A model folder, or a local tuning-job folder (``request.json``) -> its best model (``Backend.best_model``)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise DeployError(f"{folder} is not a folder; pass a model folder or a local tuning-job folder")
    if (folder / "request.json").is_file():
        from ..backends import resolve_job

        backend, job = resolve_job(folder, "local")
        folder = Path(backend.best_model(job).location).resolve()
    missing = [name for name in ("config.json", "code/inference.py") if not (folder / name).is_file()]
    if missing:
        raise DeployError(
            f"{folder} is not a model folder: it lacks {', '.join(missing)} (a trial's SM_MODEL_DIR holds the "
            "model, its tokenizer and code/inference.py)"
        )
    return folder


def generic_labels(model_dir: Path) -> bool:
    """True when the model's ``id2label`` holds only placeholder names (``LABEL_0``...)."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    names = [str(value) for value in (config.get("id2label") or {}).values()]
    return bool(names) and all(name.upper().startswith("LABEL_") for name in names)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unique_name(base: str) -> str:
    name, counter = base, 1
    while (record := _registry.find(name)) is not None and is_running(record):
        counter += 1
        suffix = f"-{counter}"
        name = base[: 63 - len(suffix)].rstrip("-") + suffix
    return name


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


def _ping(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def deploy_local(
    model_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int | None = None,
    name: str | None = None,
    *,
    timeout: float = 180.0,
    threads: int | None = None,
) -> LocalEndpoint:
    """Serve a model folder (or a local tuning job's best model) on a local endpoint in the background.

    Args:
        model_dir: a model folder (``config.json``, weights, tokenizer, ``code/inference.py``) or a
            local tuning-job folder (its best trial's model is served).
        host: the address to bind; loopback by default. Anything else exposes the model to the network.
        port: ``None``: 8080 when free, else any free port; ``0``: any free port; else exactly this port.
        name: the endpoint's name in the registry (default: from the folder name, made unique).
        timeout: seconds to wait for ``GET /ping`` to answer 200.
        threads: torch/OpenMP threads for the server (``OMP_NUM_THREADS``); default: torch's choice.

    Returns:
        The running ``LocalEndpoint`` (a context manager that undeploys on exit).

    Raises:
        DeployError: the folder is not a model, the name is taken, or the server died or timed out
            (the message ends with the server log's last lines).
    """
    folder = resolve_model_dir(model_dir)
    if port is not None and not 0 <= port <= 65535:
        raise DeployError(f"port must be between 0 and 65535, not {port}")
    if threads is not None and threads < 1:
        raise DeployError(f"threads must be a positive integer, not {threads}")
    if name is None:
        base = f"{folder.parent.name}-{folder.name}" if folder.name in ("model", "best-model") else folder.name
        endpoint_name = _unique_name(_registry.name_from(base))
    else:
        endpoint_name = _registry.check_name(name)
        existing = _registry.find(endpoint_name)
        if existing is not None and (existing.kind != "local" or is_running(existing)):
            raise DeployError(f"an endpoint named {endpoint_name!r} already exists; undeploy it or pick another name")
    if not is_loopback(host):
        log.warning("serving on %s: anyone who can reach this address can call the model", host)
    if generic_labels(folder):
        log.warning("%s names its labels LABEL_0, LABEL_1...: set id2label in config.json for readable labels", folder)

    state = _registry.state_dir()
    log_file = state / f"{endpoint_name}.log"
    port_file = state / f".{endpoint_name}.port"
    port_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", SERVER_MODULE, str(folder), "--host", host, "--port-file", str(port_file)]
    command += ["--port", str(DEFAULT_PORT), "--any-port-if-busy"] if port is None else ["--port", str(port)]
    # Least privilege: the served code/inference.py sees an allow-listed environment, never credentials.
    package_root = str(Path(__file__).resolve().parents[2])  # the server must import this package from any cwd
    env = server_environment(threads, package_root)
    with open(log_file, "ab") as log_handle:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=str(state),
        )
    _CHILDREN[process.pid] = process
    try:
        bound = _wait_ready(process, host, port_file, log_file, timeout)
    except BaseException:
        _stop_pid(process.pid, grace=2.0)
        raise
    finally:
        port_file.unlink(missing_ok=True)
    record = EndpointRecord(
        name=endpoint_name,
        kind="local",
        model=str(folder),
        started_at=_registry.now_iso(),
        pid=process.pid,
        started=_process.start_time(process.pid),
        host=host,
        port=bound,
        log_file=str(log_file),
    )
    _registry.save(record)
    return LocalEndpoint(record)


def _wait_ready(process: subprocess.Popen[bytes], host: str, port_file: Path, log_file: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    port: int | None = None
    pause = 0.05
    while True:
        code = process.poll()
        if code is not None:
            raise DeployError(
                f"the local endpoint server exited with code {code} before it was ready; "
                f"last lines of {log_file}:\n{_tail(log_file)}"
            )
        if port is None and port_file.is_file():
            with contextlib.suppress(ValueError, OSError):
                port = int(port_file.read_text(encoding="utf-8"))
        if port is not None:
            url = EndpointRecord("probe", "local", "", "", host=host, port=port).url
            if url is not None and _ping(url) == 200:
                return port
        if time.monotonic() > deadline:
            raise DeployError(
                f"the local endpoint did not answer GET /ping within {timeout:.0f} s; "
                f"last lines of {log_file}:\n{_tail(log_file)}"
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)


def _is_our_server(pid: int, started: int | None = None) -> bool:
    """The pid is alive (not a zombie), started at ``started`` when recorded, and runs our server module."""
    if not _process.is_alive(pid, started):
        return False
    command = _process.cmdline(pid)
    if command is None:  # no /proc to read it from (macOS): liveness is all we can check
        return not _process.has_proc()
    return SERVER_MODULE in command


def is_running(record: EndpointRecord) -> bool:
    """Whether a local endpoint's server process is still alive (and still that process)."""
    if record.kind != "local" or record.pid is None:
        return False
    _own_child(record.pid)  # reaps and forgets a child of ours that ended
    return _is_our_server(record.pid, record.started)


def _own_child(pid: int, *, forget: bool = False) -> subprocess.Popen[bytes] | None:
    """Our Popen handle for ``pid`` while that child runs; a handle of one that ended is dropped.

    Once a child has ended, ``poll`` reaps it and the kernel may give its pid to any new process:
    the stale handle must then never stand for the pid again (nor lead ``_stop_pid`` to signal it).
    """
    child = _CHILDREN.pop(pid, None) if forget else _CHILDREN.get(pid)
    if child is None:
        return None
    if child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return None
    return child


def _stop_pid(pid: int, grace: float, started: int | None = None) -> None:
    """SIGTERM the server's process group, then SIGKILL after ``grace`` seconds; reap it if we started it.

    A pid that no longer runs our server (it ended, or the number now belongs to another
    process) is never signalled.
    """
    child = _own_child(pid, forget=True)
    if child is None and not _is_our_server(pid, started):
        return  # gone already, or the pid now belongs to something else: never signal it
    _process.terminate_group(pid, started, grace_seconds=grace, process=child)
    if child is None and not _process.wait_gone(pid, started, 5.0):
        raise DeployError(f"the local endpoint server (pid {pid}) did not stop after SIGKILL")


class LocalEndpoint:
    """A running local endpoint. Also a predictor (``predict``) and a context manager that always undeploys."""

    def __init__(self, record: EndpointRecord):
        if record.kind != "local":
            raise DeployError(f"{record.name!r} is a {record.kind} endpoint, not a local one")
        self.record = record

    @classmethod
    def from_name(cls, name: str) -> LocalEndpoint:
        """The registered local endpoint called ``name``."""
        return cls(_registry.load(name))

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def url(self) -> str:
        url = self.record.url
        if url is None:
            raise DeployError(f"the registry entry for {self.name!r} has no address")
        return url

    @property
    def port(self) -> int:
        return int(self.record.port or 0)

    @property
    def pid(self) -> int:
        return int(self.record.pid or 0)

    @property
    def model_dir(self) -> Path:
        return Path(self.record.model)

    @property
    def log_file(self) -> Path | None:
        return Path(self.record.log_file) if self.record.log_file else None

    def __repr__(self) -> str:
        return f"LocalEndpoint(name={self.name!r}, url={self.record.url!r}, pid={self.record.pid})"

    def is_running(self) -> bool:
        return is_running(self.record)

    def predictor(self, timeout: float = 60.0) -> LocalPredictor:
        """A ``Predictor`` for this endpoint."""
        return LocalPredictor(self.url, name=self.name, timeout=timeout)

    @overload
    def predict(self, inputs: str, top_k: int | None = None) -> list[Label]: ...

    @overload
    def predict(self, inputs: list[str] | tuple[str, ...], top_k: int | None = None) -> list[list[Label]]: ...

    @overload
    def predict(self, inputs: Mapping[str, Any], top_k: int | None = None) -> list[Label] | list[list[Label]]: ...

    def predict(
        self, inputs: str | Sequence[str] | Mapping[str, Any], top_k: int | None = None
    ) -> list[Label] | list[list[Label]]:
        """Shortcut for ``self.predictor().predict(...)`` (a text, a list, or ``{"inputs", "parameters"}``)."""
        return self.predictor().predict(inputs, top_k)  # type: ignore[arg-type]

    def undeploy(self, grace: float = 5.0) -> list[str]:
        """Stop the server (SIGTERM, SIGKILL after ``grace`` s), freeing its port, and forget the endpoint.

        Returns what was removed, as ``SageMakerEndpoint.undeploy`` and ``deploy.undeploy(name)`` do.
        """
        removed: list[str] = []
        if self.record.pid is not None:
            _stop_pid(self.record.pid, grace, self.record.started)
            removed.append(f"local endpoint {self.name} (pid {self.record.pid})")
        _registry.remove(self.name)
        return removed

    def __enter__(self) -> LocalEndpoint:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.undeploy()
