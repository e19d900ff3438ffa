"""A real MLflow tracking server (``mlflow server``, SQLite store) on 127.0.0.1 for the tracking tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from ..helpers import free_port

#: The machine may be loaded (several test runs at once): the server gets minutes to answer.
STARTUP_SECONDS = 240


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a running ``mlflow server`` with its own SQLite store and artifact folder."""
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (root / "server.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # No job runner: by default the server also starts a job runner and seven huey consumers, eight more
    # Python processes each importing mlflow (~25 CPU-seconds at every server start), which these tests
    # never use.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "mlflow", "server"),
            *("--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"),
            *("--artifacts-destination", str(root / "artifacts")),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=root,
        start_new_session=True,  # its own process group: the teardown stops uvicorn's workers with it
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not answer in {STARTUP_SECONDS} s: {(root / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(1)
        yield uri
    finally:
        _stop_group(process)
        log.close()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, then SIGKILL to whatever of it is left: no worker outlives it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def runs_of(uri: str, experiment: str) -> list[object]:
    """Every active run of an experiment."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return list(client.search_runs([found.experiment_id], max_results=1000))
