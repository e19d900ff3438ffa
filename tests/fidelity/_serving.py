"""Serving a trained model under AWS's own Hugging Face inference handler and the local endpoint beside it.

The model comes from a quickstart trial run under sagemaker-training (test_training_toolkit.py); it is
packed as SageMaker packs ``/opt/ml/model`` (``model.tar.gz``, files at the root) and served by the real
``HuggingFaceHandlerService`` through MMS's Python worker (serve_driver.py, in the ``serve-4.51``
environment). One table of requests goes to both it and ``hfst deploy``'s local endpoint.
The other problem types (multi-label, regression, token classification) have their own rows in
``TASK_REQUESTS``: ``assert_served_alike`` puts them to both servers, for the artifact of each type
trained under the real toolkit (test_training_toolkit.py).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from hf_sagemaker_tuning.deploy import deploy_local

from .conftest import LABELS, SERVE_ENV, clean_env, env_python

DRIVER = Path(__file__).with_name("serve_driver.py")
JSON = "application/json"


def _request(name: str, payload: Any, content_type: str = JSON, accept: str | None = JSON) -> dict[str, Any]:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return {"name": name, "body": body, "content_type": content_type, "accept": accept}


#: One table for both servers.
REQUESTS = [
    _request("single", {"inputs": "Best thing ever!"}),
    _request("batch", {"inputs": ["Best thing ever!", "Worst service, never again."]}),
    _request("top_k", {"inputs": "Best thing ever!", "parameters": {"top_k": 2}}),
    _request("no accept header", {"inputs": "Best thing ever!"}, accept=None),
    _request("accept wildcard", {"inputs": "Best thing ever!"}, accept="*/*"),
    _request("accept list", {"inputs": "Best thing ever!"}, accept="application/json, text/plain"),
    _request("malformed JSON", '{"inputs": "Best'),
    _request("inputs not a string", {"inputs": 42}),
    _request("top_k not an integer", {"inputs": "Best thing ever!", "parameters": {"top_k": "two"}}),
    _request("unknown parameter", {"inputs": "Best thing ever!", "parameters": {"temperature": 2}}),
    _request("empty string", {"inputs": ""}),
    _request("empty list", {"inputs": []}),
    _request("too many inputs", {"inputs": ["Best thing ever!"] * 65}),
    _request("wrong content type", "Best thing ever!", content_type="text/csv"),
    _request("wrong accept", {"inputs": "Best thing ever!"}, accept="text/csv"),
]

#: The shared table's rows for the other problem types (tests/task_models.py's tiny artifacts).
TASK_REQUESTS = {
    "multi_label_classification": [
        _request("single", {"inputs": "Best thing ever!"}),
        _request("batch", {"inputs": ["Best thing ever!", "Worst service, never again."]}),
        _request("top_k", {"inputs": "Best thing ever!", "parameters": {"top_k": 2}}),
        _request("empty string", {"inputs": ""}),
    ],
    "regression": [
        _request("single", {"inputs": "Best thing ever!"}),
        _request("batch", {"inputs": ["Best thing ever!", "Worst service, never again."]}),
        _request("top_k refused", {"inputs": "Best thing ever!", "parameters": {"top_k": 1}}),
    ],
    "token_classification": [
        _request("single", {"inputs": "Barack Obama visited Paris and Microsoft yesterday!"}),
        _request("batch", {"inputs": ["I love New York, said Jane Doe.", "Unbelievable weather in Zürich ☃"]}),
        _request("top_k refused", {"inputs": "Jane Doe", "parameters": {"top_k": 1}}),
        _request(
            "first strategy",
            {"inputs": "Schwarzenegger met Tsvangirai in Ouagadougou", "parameters": {"aggregation_strategy": "first"}},
        ),
        _request(
            "unimplemented strategy refused", {"inputs": "Jane Doe", "parameters": {"aggregation_strategy": "max"}}
        ),
    ],
}

#: Where the two servers' exact codes differ (the class, 4xx, is the same): request -> (real handler's
#: status, local endpoint's status). The real handler (handler_service.handle) turns every exception
#: into PredictionException(..., 400); the local endpoint answers the more precise 415 / 406 for media
#: types. Kept here so a change on either side fails this test
#: (and docs/sagemaker-backend.md, "What is proven offline", is updated with it).
KNOWN_DIFFERENCES = {
    "wrong content type": (400, 415),
    "wrong accept": (400, 406),
}
#: Requests whose error message differs too (none: the local server refuses an Accept without JSON
#: before the model runs, in the bundled output_fn's own words).
MESSAGE_DIFFERS: set[str] = set()


def _pack(model_dir: Path, target: Path) -> Path:
    """``model.tar.gz`` as SageMaker writes it from ``/opt/ml/model``: the folder's files at the archive root."""
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return target


def _real_answers(
    model_tar: Path, tmp_path: Path, table: list[dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    requests, answers = tmp_path / "requests.json", tmp_path / "answers.json"
    requests.write_text(json.dumps(REQUESTS if table is None else table), encoding="utf-8")
    run = subprocess.run(
        [str(env_python(SERVE_ENV)), str(DRIVER), str(model_tar), str(requests), str(answers)],
        env=clean_env(SAGEMAKER_PROGRAM="inference.py"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    loaded: dict[str, dict[str, Any]] = json.loads(answers.read_text(encoding="utf-8"))
    return loaded


def _local_answers(model_dir: Path, table: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    with deploy_local(model_dir, port=0, threads=1) as endpoint:
        for request in REQUESTS if table is None else table:
            connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=60)
            headers = {"Content-Type": request["content_type"]}
            if request["accept"] is not None:
                headers["Accept"] = request["accept"]
            connection.request("POST", "/invocations", body=request["body"].encode("latin-1"), headers=headers)
            response = connection.getresponse()
            answers[request["name"]] = {"status": response.status, "body": response.read().decode("utf-8")}
            connection.close()
    return answers


def _same_predictions(real: str, local: str) -> bool:
    """The same answers (labels, flags, entities' words and spans), scores within 1e-4."""

    def flat(body: str) -> list[tuple[str, float]]:
        parsed = json.loads(body)
        rows = parsed if parsed and isinstance(parsed[0], list) else [parsed]
        return [
            (json.dumps({k: v for k, v in item.items() if k != "score"}, sort_keys=True), item["score"])
            for row in rows
            for item in row
        ]

    a, b = flat(real), flat(local)
    return [label for label, _ in a] == [label for label, _ in b] and all(
        abs(x - y) < 1e-4 for (_, x), (_, y) in zip(a, b, strict=True)
    )


def assert_table_served_alike(model: Path, work: Path) -> None:
    """The single-label artifact answers the whole request table alike under the real handler and locally.

    Called by the fidelity tier's quickstart trial on the model it trained under the real toolkit in the
    default training image (train, then serve: one chain).
    """
    env_python(SERVE_ENV)
    work.mkdir()
    real = _real_answers(_pack(model, work / "model.tar.gz"), work)
    # the real handler loads the artifact and answers with a readable label
    single = json.loads(real["single"]["body"])
    assert real["single"]["status"] == 200 and single[0]["label"] in LABELS, real["single"]
    assert len(json.loads(real["top_k"]["body"])) == 2
    local = _local_answers(model)
    seen: dict[str, tuple[int, int]] = {}
    for request in REQUESTS:
        name = request["name"]
        r, loc = real[name], local[name]
        if name in KNOWN_DIFFERENCES:
            seen[name] = (r["status"], loc["status"])
            continue
        assert r["status"] // 100 == loc["status"] // 100, (name, r, loc)
        if r["status"] == 200:
            assert _same_predictions(r["body"], loc["body"]), (name, r, loc)
        else:  # the real handler's message is the local endpoint's {"error": message}
            assert r["body"] == json.loads(loc["body"])["error"], (name, r, loc)
    assert seen == KNOWN_DIFFERENCES, json.dumps({n: {"real": real[n], "local": local[n]} for n in seen}, indent=1)
    for name in set(KNOWN_DIFFERENCES) - MESSAGE_DIFFERS:  # same message, different status
        assert real[name]["body"] == json.loads(local[name]["body"])["error"], (name, real[name], local[name])
    for name in MESSAGE_DIFFERS:
        assert real[name]["body"] != json.loads(local[name]["body"])["error"], (name, real[name], local[name])
    report = os.environ.get("HFST_FIDELITY_REPORT")
    if report:  # the observed table, for the docs
        rows = {r["name"]: {"real": real[r["name"]], "local": local[r["name"]]} for r in REQUESTS}
        Path(report).write_text(json.dumps(rows, indent=1), encoding="utf-8")


#: The keys of one answer item per problem type (the Hugging Face pipelines' shapes).
ITEM_KEYS = {
    "multi_label_classification": {"label", "score", "predicted"},
    "regression": {"label", "score"},
    "token_classification": {"entity_group", "score", "word", "start", "end"},
}


def assert_served_alike(model: Path, problem_type: str, work: Path) -> None:
    """The type's request table gets the same answers from the real handler and the local endpoint.

    Called by the fidelity tier's per-type training test on the artifact trained under the real toolkit
    (train, then serve: one chain per type, no second tiny model served apart).
    """
    env_python(SERVE_ENV)
    work.mkdir()
    table = TASK_REQUESTS[problem_type]
    real = _real_answers(_pack(model, work / "model.tar.gz"), work, table)
    local = _local_answers(model, table)
    assert real["single"]["status"] == 200, real["single"]
    single = json.loads(real["single"]["body"])
    # a barely trained tagger may find no entity in the sentence: an empty list is its pipeline's answer
    assert single or problem_type == "token_classification", single
    assert all(set(item) == ITEM_KEYS[problem_type] for item in single), single
    for request in table:
        name = request["name"]
        r, loc = real[name], local[name]
        assert r["status"] == loc["status"], (name, r, loc)
        if r["status"] == 200:
            assert _same_predictions(r["body"], loc["body"]), (name, r, loc)
        else:  # the real handler's message is the local endpoint's {"error": message}
            assert r["status"] == 400 and r["body"] == json.loads(loc["body"])["error"], (name, r, loc)
