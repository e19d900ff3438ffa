"""The local endpoint, for real: a server subprocess on 127.0.0.1 serving the model folder's own handler."""

from __future__ import annotations

import http.client
import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.deploy import (
    DeployError,
    EndpointRecord,
    LocalEndpoint,
    Predictor,
    deploy_local,
    list_endpoints,
)

from .conftest import LABELS

READABLE = set(LABELS.values())


def _request(
    endpoint: LocalEndpoint, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    conn = http.client.HTTPConnection(endpoint.record.host or "127.0.0.1", endpoint.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        conn.close()


def _post_json(endpoint: LocalEndpoint, payload: Any, **headers: str) -> tuple[int, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return _request(endpoint, "POST", "/invocations", body, {"Content-Type": "application/json", **headers})


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as every server sets it: lingering TIME_WAIT connections do not count, a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _assert_labels(labels: list[dict[str, Any]], k: int = 1) -> None:
    assert len(labels) == k
    assert {item["label"] for item in labels} <= READABLE, labels
    scores = [item["score"] for item in labels]
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)


BAD_REQUESTS = [
    pytest.param(b"{not json", {}, 400, "not valid JSON", id="malformed-json"),
    pytest.param([1, 2], {}, 400, "JSON object", id="not-an-object"),
    pytest.param({"inputs": 5}, {}, 400, "object or a list of them, not int", id="wrong-type"),
    pytest.param({"inputs": ["ok", 3]}, {}, 400, '"inputs"[1]', id="wrong-item-type"),
    pytest.param({"inputs": []}, {}, 400, "empty list", id="empty-list"),
    pytest.param({"inputs": "  "}, {}, 400, "empty string", id="empty-string"),
    pytest.param({"inputs": ["x"] * 65}, {}, 400, "at most 64", id="too-many-inputs"),
    pytest.param({"text": "hi"}, {}, 400, "unknown request fields", id="unknown-field"),
    pytest.param({"inputs": "hi", "parameters": {"top_k": 0}}, {}, 400, "top_k", id="bad-top-k"),
    pytest.param({"inputs": "hi"}, {"Content-Type": "text/plain"}, 415, "not supported", id="content-type"),
    pytest.param({"inputs": "hi"}, {"Accept": "text/csv"}, 406, "accept type", id="accept-type"),
    pytest.param({"inputs": "please fail"}, {}, 500, "simulated model failure", id="model-error"),
]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_local_endpoint_serves_the_contract_and_undeploys_cleanly(faulty_model_dir: Path, state_dir: Path) -> None:
    endpoint = deploy_local(faulty_model_dir, port=0, name="tiny")
    try:
        assert endpoint.record.host == "127.0.0.1"
        assert endpoint.port > 0
        assert endpoint.is_running()
        assert [record.name for record in list_endpoints()] == ["tiny"]
        assert _request(endpoint, "GET", "/ping")[0] == 200

        # Readable labels (the model's id2label), single and batch, via the endpoint and via the registry.
        _assert_labels(endpoint.predict("Best thing ever!"))
        _assert_labels(Predictor.for_endpoint("tiny").predict("Best thing ever!"))
        top = endpoint.predict("Best thing ever!", top_k=3)
        _assert_labels(top, k=3)
        assert {item["label"] for item in top} == READABLE
        assert sum(item["score"] for item in top) == pytest.approx(1.0, abs=1e-4)
        batch = endpoint.predict(["Best thing ever!", "Worst day of my life.", "It is Tuesday."])
        assert len(batch) == 3
        for labels in batch:
            _assert_labels(labels)

        # Every bad request gets its status and a JSON message; no traceback ever reaches the client.
        for case in BAD_REQUESTS:
            payload, headers, status, message = case.values
            code, body = _post_json(endpoint, payload, **headers)
            assert code == status, (case.id, body)
            error = json.loads(body)["error"]
            assert message in error, (case.id, error)
            assert "Traceback" not in body
            assert "second line" not in body  # only the first line of a model error's message
        for method, path, status in [("GET", "/invocations", 405), ("GET", "/", 404), ("POST", "/admin", 404)]:
            code, body = _request(endpoint, method, path, b"{}" if method == "POST" else None)
            assert code == status
            assert "error" in json.loads(body)

        # Over 6 MB: refused from the Content-Length alone (the body is never sent, so a server that
        # tried to read it would hang until the timeout).
        conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
        conn.putrequest("POST", "/invocations")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(6 * 1024 * 1024 + 1))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert "at most" in json.loads(response.read())["error"]
        conn.close()

        # Credentials in headers never reach the access log.
        code, _ = _post_json(endpoint, {"inputs": "hi"}, Authorization="Bearer s3cret-token-value")
        assert code == 200

        # Concurrent requests all succeed (predict_fn runs under a lock in the server).
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i: endpoint.predict([f"text number {i}", "another"]), range(16)))
        assert len(answers) == 16
        for answer in answers:
            for labels in answer:
                _assert_labels(labels)
    finally:
        endpoint.undeploy()

    assert not endpoint.is_running()
    assert not _pid_alive(endpoint.pid)
    assert _port_is_free("127.0.0.1", endpoint.port)
    assert list_endpoints() == []
    assert not (state_dir / "tiny.json").exists()
    log = (state_dir / "tiny.log").read_text()
    assert "POST /invocations 200" in log
    assert "POST /invocations 413" in log
    assert "simulated model failure" in log  # the traceback is in the log, not in the response
    assert "s3cret" not in log
    with pytest.raises(DeployError, match="no endpoint named 'tiny'"):
        Predictor.for_endpoint("tiny")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_context_manager_undeploys_after_an_exception(model_dir: Path) -> None:
    seen: dict[str, int] = {}

    def use_then_fail() -> None:
        with deploy_local(model_dir, port=0) as endpoint:
            seen.update(pid=endpoint.pid, port=endpoint.port)
            assert endpoint.name.startswith("model")
            assert endpoint.predict("Best thing ever!")[0]["label"] in READABLE
            raise RuntimeError("inside the block")

    with pytest.raises(RuntimeError, match="inside the block"):
        use_then_fail()
    assert seen
    assert not _pid_alive(seen["pid"])
    assert _port_is_free("127.0.0.1", seen["port"])
    assert list_endpoints() == []


@pytest.mark.timeout(60)
def test_a_server_that_dies_at_start_reports_its_log(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    (folder / "code").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "code" / "inference.py").write_text("raise ImportError('this handler is broken on purpose')\n")
    with pytest.raises(DeployError, match="exited with code 1") as info:
        deploy_local(folder, port=0, name="broken")
    assert "this handler is broken on purpose" in str(info.value)  # the log's tail
    assert list_endpoints() == []


def test_folder_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="is not a folder"):
        deploy_local(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DeployError, match=r"lacks code/inference\.py"):
        deploy_local(tmp_path)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("")
    with pytest.raises(DeployError, match="invalid endpoint name"):
        deploy_local(tmp_path, name="no_underscores")
    with pytest.raises(DeployError, match="port must be"):
        deploy_local(tmp_path, port=70000)


def test_a_job_folder_must_hold_a_valid_request_and_a_finished_trial(tmp_path: Path) -> None:
    from hf_sagemaker_tuning.errors import TuningError

    (tmp_path / "request.json").write_text("{}")
    with pytest.raises(TuningError, match="is not a compiled tuning-job request"):
        deploy_local(tmp_path)


def test_importing_the_package_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, json, hf_sagemaker_tuning.deploy, hf_sagemaker_tuning.cli.deploy\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'sagemaker', 'datasets'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
    assert os.environ["HFST_STATE_DIR"]  # the autouse fixture keeps tests off the real registry


def test_a_busy_port_is_an_error_unless_any_port_is_allowed(tmp_path: Path) -> None:
    import threading

    from hf_sagemaker_tuning.deploy.server import Service, make_server

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            make_server("127.0.0.1", port, Service())
        server = make_server("127.0.0.1", port, Service(), any_port_if_busy=True)
        (tmp_path / "config.json").write_text("{}")
        (tmp_path / "code").mkdir()
        (tmp_path / "code" / "inference.py").write_text("")
        with pytest.raises(DeployError, match="cannot listen"):
            deploy_local(tmp_path, port=port, name="busy")
    try:
        assert server.server_address[1] != port
        threading.Thread(target=server.serve_forever, daemon=True).start()
        bound = int(server.server_address[1])
        endpoint = LocalEndpoint(EndpointRecord("probe", "local", str(tmp_path), "now", host="127.0.0.1", port=bound))
        # Before the model is loaded: /ping and /invocations say 503, with a JSON message.
        assert _request(endpoint, "GET", "/ping") == (503, '{"error": "the model is still loading"}')
        assert _post_json(endpoint, {"inputs": "hi"})[0] == 503
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_sagemaker_hugging_face_payload_is_accepted_as_the_article_sends_it(model_dir: Path) -> None:
    """``predictor.predict({"inputs": "Best thing ever!"})``; ``parameters`` go through; unknown ones get a 400."""
    from hf_sagemaker_tuning.deploy import PredictError

    with deploy_local(model_dir, port=0, name="payload") as endpoint:
        predictor = endpoint.predictor()
        _assert_labels(predictor.predict({"inputs": "Best thing ever!"}))
        top = predictor.predict({"inputs": "Best thing ever!", "parameters": {"top_k": 3}})
        _assert_labels(top, k=3)  # type: ignore[arg-type]
        batch = endpoint.predict({"inputs": ["Best thing ever!", "Worst day."], "parameters": {"top_k": 2}})
        assert len(batch) == 2
        for labels in batch:
            _assert_labels(labels, k=2)  # type: ignore[arg-type]
        with pytest.raises(PredictError, match=r"unknown parameters \['return_all_scores'\]; supported") as refused:
            predictor.predict({"inputs": "Best thing ever!", "parameters": {"return_all_scores": True}})
        assert refused.value.status == 400
