"""Least privilege for the served code, Accept negotiation, and an invalid endpoint registry named, not crashed on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli import app
from hf_sagemaker_tuning.deploy import DeployError, deploy_local, list_endpoints
from hf_sagemaker_tuning.deploy.server import ENV_ALLOWED, accept_quality, server_environment

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
    "AWS_SECRET_ACCESS_KEY": "fake/secret/access/key/value/0123456789",
    "AWS_SESSION_TOKEN": "FAKE-SESSION-TOKEN-VALUE",
    "AWS_PROFILE": "fake-profile",
    "HF_TOKEN": "hf_FAKEFAKEFAKEFAKEFAKE",
    "HUGGING_FACE_HUB_TOKEN": "hf_OTHERFAKEFAKEFAKE",
    "GITHUB_TOKEN": "ghp_FAKEFAKEFAKE",
    "MY_DATABASE_PASSWORD": "hunter2-fake",
}


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="needs /proc")
def test_the_endpoint_process_sees_no_credentials(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with deploy_local(model_dir, port=0, name="least-privilege") as endpoint:
        raw = Path(f"/proc/{endpoint.pid}/environ").read_bytes()
        assert endpoint.predict("Best thing ever!")  # it still serves
    env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    names = {name.decode() for name in env}
    assert not names & set(SECRETS), names & set(SECRETS)
    for value in SECRETS.values():
        assert value.encode() not in raw
    assert names <= {*ENV_ALLOWED, "PYTHONUNBUFFERED"}, names - {*ENV_ALLOWED, "PYTHONUNBUFFERED"}
    assert env[b"HF_HUB_OFFLINE"] == b"1"
    assert b"PATH" in env


def test_server_environment_is_an_allow_list() -> None:
    outside = {"PATH": "/bin", "HOME": "/home/u", "AWS_SECRET_ACCESS_KEY": "x", "HF_TOKEN": "y", "HF_HOME": "/hf"}
    env = server_environment(2, "/pkg", outside)
    assert env == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "HF_HOME": "/hf",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": "/pkg",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
    }
    assert server_environment(None, None, {"HF_HUB_OFFLINE": "0"})["HF_HUB_OFFLINE"] == "0"  # the user's choice wins
    secret_like = ("_TOKEN", "SECRET", "_KEY", "PASSWORD", "CREDENTIAL")
    assert not [name for name in ENV_ALLOWED if name.startswith("AWS_") or any(s in name for s in secret_like)]


@pytest.mark.parametrize(
    ("accept", "quality"),
    [
        (None, 1.0),
        ("", 1.0),
        ("application/json", 1.0),
        ("APPLICATION/JSON", 1.0),
        ("application/json, text/plain", 1.0),
        ("text/plain;q=0.9, application/json;q=0.5", 0.5),
        ("application/*", 1.0),
        ("application/*;q=0.3", 0.3),
        ("*/*;q=0.1", 0.1),
        ("text/html", 0.0),
        ("application/json;q=0, */*", 0.0),  # the most specific range wins
        ("*/*;q=0.2, application/*;q=0.7", 0.7),
        ("application/json;q=2", 0.0),
        ("application/json;q=nan", 0.0),
        ("application/json;q=", 0.0),
        ("application/json; charset=utf-8; q=0.4", 0.4),
        ("application/xml, text/*", 0.0),
    ],
)
def test_accept_negotiation(accept: str | None, quality: float) -> None:
    assert accept_quality(accept, "application/json") == pytest.approx(quality)


INVALID_ENTRIES = [
    pytest.param("[]", "holds a JSON array, expected an object", id="json-list"),
    pytest.param('"text"', "holds a JSON string", id="json-string"),
    pytest.param("{not json", "is not valid JSON", id="not-json"),
    pytest.param("", "is not valid JSON", id="empty"),
    pytest.param("[" * 20_000, "is not valid JSON", id="deep"),
    pytest.param('{"name": "bad"}', "lacks kind, model, started_at", id="missing-fields"),
    pytest.param(
        '{"name": "bad", "kind": "local", "model": "/m", "started_at": "t", "port": "80"}',
        "port is string, expected integer or null",
        id="wrong-type",
    ),
    pytest.param(
        '{"name": "bad", "kind": "local", "model": "/m", "started_at": "t", "pid": true}',
        "pid is boolean",
        id="bool-pid",
    ),
    pytest.param('{"name": "bad", "kind": "ftp", "model": "/m", "started_at": "t"}', "kind is 'ftp'", id="kind"),
    pytest.param('{"name": "other", "kind": "local", "model": "/m", "started_at": "t"}', "differs", id="name"),
]


@pytest.mark.parametrize(("content", "message"), INVALID_ENTRIES)
@pytest.mark.parametrize(
    "args", [["endpoints"], ["predict", "bad", "text"], ["undeploy", "bad"]], ids=["endpoints", "predict", "undeploy"]
)
def test_an_invalid_registry_entry_is_named_not_a_traceback(
    state_dir: Path, args: list[str], content: str, message: str
) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    entry = state_dir / "bad.json"
    entry.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    flat = " ".join(result.output.split())
    assert str(entry) in result.output.replace("\n", "") or "bad.json" in flat
    assert message in flat, flat
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_list_endpoints_raises_deploy_error_for_an_invalid_entry(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "bad.json").write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(DeployError, match=r"bad\.json is not an endpoint record: it holds a JSON array"):
        list_endpoints()
    (state_dir / "bad.json").write_bytes(b"x" * 70_000)
    with pytest.raises(DeployError, match="larger than"):
        list_endpoints()
    os.remove(state_dir / "bad.json")
    assert list_endpoints() == []


def test_a_busy_model_gets_503_with_retry_after_not_an_endless_wait() -> None:
    import types

    from hf_sagemaker_tuning.deploy.server import Service

    handler = types.ModuleType("handler")
    handler.input_fn = lambda body, content_type: body.decode()
    handler.predict_fn = lambda data, model: [data]
    handler.output_fn = lambda prediction, accept: json.dumps(prediction)
    service = Service(max_queue=1, queue_timeout=0.05)
    service.module = handler
    service.ready.set()
    assert service.invoke(b"hi", "application/json", "application/json").body == b'["hi"]'
    with service.lock:  # another request holds the model past the queue timeout
        busy = service.invoke(b"hi", "application/json", "application/json")
    assert (busy.status, busy.headers) == (503, {"Retry-After": "1"})
    assert "busy" in json.loads(busy.body)["error"]
    service.max_queue = 0  # the queue is full: refused at once
    assert service.invoke(b"hi", "application/json", "application/json").status == 503
