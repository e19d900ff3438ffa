"""LoRA (peft), gradient checkpointing and decoder classifiers in the bundled training package.

Tiny random-weight models built from configs offline: the conftest's 2-layer BERT, and a 2-layer,
32-wide Llama-style decoder whose tokenizer (the MiniLM vocabulary, so the conftest channels fit)
has no pad token.
"""

from __future__ import annotations

import importlib.util
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hfst_train import lora
from hfst_train.errors import HyperparameterError
from hfst_train.hparams import resolve
from hfst_train.paths import ContainerPaths
from hfst_train.setup import build_setup, effective_config, load_splits

from tests.helpers import tiny_decoder, tiny_job_spec, tune_locally
from tests.training.conftest import container_env

# find_spec, not importorskip: importing peft at collection costs every test worker ~3 s (it loads
# transformers' modeling), and only the worker that runs this file needs it.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="peft is not installed")

BASE = {"epochs": 1, "per_device_train_batch_size": 16, "per_device_eval_batch_size": 32, "learning_rate": 1e-3}
HIDDEN = 32  # tiny_decoder's (and the conftest BERT's) width
LABELS = 4


@pytest.fixture(scope="module")
def decoder_model(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path) -> Path:
    return tiny_decoder(tmp_path_factory.mktemp("tiny-llama"), minilm_path, num_labels=LABELS)


@pytest.fixture(scope="module")
def build(channels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    def run(model: Path, **args: Any) -> Any:
        hps = resolve({"model_name_or_path": str(model), **BASE, **{k: str(v) for k, v in args.items()}})
        paths = ContainerPaths.from_env(container_env(tmp_path_factory.mktemp("opt-ml"), channels))
        train, validation = load_splits(paths, hps)
        return build_setup(hps, train, validation, device=torch.device("cpu"), environ={})

    return run


def _lora_parameters(modules: int, r: int) -> int:
    return modules * (r * HIDDEN + HIDDEN * r)  # A (r x in) and B (out x r) of each square projection


@pytest.mark.timeout(120)
def test_lora_on_an_encoder_trains_only_adapters_and_the_head(build: Callable[..., Any], tiny_model: Path) -> None:
    setup = build(tiny_model, lora_r=4)
    report = effective_config(setup)["model"]["lora"]
    head = HIDDEN * LABELS + LABELS  # BERT's classifier, kept trainable through modules_to_save
    assert report["target_modules"] == ["query", "value"]  # peft's defaults for BERT
    assert report["lora_parameters"] == _lora_parameters(2 * 2, 4)  # 2 layers x (query, value)
    assert report["trainable_parameters"] == report["lora_parameters"] + head
    trainable = {name for name, p in setup.model.named_parameters() if p.requires_grad}
    assert all("lora_" in name or "classifier" in name for name in trainable)
    assert (
        sum(p.numel() for p in setup.optimizer.param_groups[0]["params"])
        + sum(p.numel() for p in setup.optimizer.param_groups[1]["params"])
        == report["trainable_parameters"]
    )


@pytest.mark.timeout(120)
def test_lora_decoder_without_a_pad_token_pads_with_eos(build: Callable[..., Any], decoder_model: Path) -> None:
    setup = build(decoder_model, lora_r=2)
    eos = setup.tokenizer.eos_token_id
    assert setup.tokenizer.pad_token_id == eos
    assert setup.model.config.pad_token_id == eos
    assert setup.train_collate.pad_token_id == eos
    report = effective_config(setup)["model"]
    assert report["pad_token_id"] == eos
    assert report["lora"]["target_modules"] == ["q_proj", "v_proj"]  # peft's defaults for Llama
    assert report["lora"]["lora_parameters"] == _lora_parameters(2 * 2, 2)
    assert report["lora"]["trainable_parameters"] == report["lora"]["lora_parameters"] + HIDDEN * LABELS  # no bias


@pytest.mark.timeout(120)
def test_lora_merged_model_reloads_with_identical_logits(
    build: Callable[..., Any], decoder_model: Path, tmp_path: Path
) -> None:
    from hfst_train.checkpoint import save_pretrained
    from transformers import AutoModelForSequenceClassification

    setup = build(decoder_model, lora_r=4, lora_target_modules="q_proj,k_proj,v_proj,o_proj")
    torch.manual_seed(3)
    with torch.no_grad():  # B starts at zero (a no-op adapter): make the merge matter
        for name, param in setup.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    batch = setup.eval_collate(list(range(8)))
    setup.model.eval()
    with torch.no_grad():
        adapted = setup.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        merged = lora.merged(setup.model)
        assert not lora.is_lora(merged)
        in_memory = merged(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    save_pretrained(merged, tmp_path)
    assert not (tmp_path / "adapter_config.json").exists()
    reloaded = AutoModelForSequenceClassification.from_pretrained(str(tmp_path), trust_remote_code=False).eval()
    with torch.no_grad():
        loaded = reloaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    torch.testing.assert_close(in_memory, adapted, rtol=1e-4, atol=1e-5)
    assert torch.equal(loaded, in_memory)
    assert reloaded.config.pad_token_id == setup.tokenizer.eos_token_id


@pytest.mark.timeout(120)
def test_lora_target_modules_that_do_not_exist_fail_naming_the_hyperparameter(
    build: Callable[..., Any], tiny_model: Path
) -> None:
    with pytest.raises(HyperparameterError, match="lora_target_modules"):
        build(tiny_model, lora_r=2, lora_target_modules="q_proj")
    with pytest.raises(HyperparameterError, match="lora_target_modules"):
        lora.target_modules(" , ")


def test_lora_without_peft_names_lora_r_and_the_install(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_peft(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "peft" or name.startswith("peft."):
            raise ImportError("No module named 'peft'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    model = torch.nn.Linear(2, 2)
    assert lora.apply_lora(model, {"lora_r": 0}) is model  # LoRA off: peft never imported
    with pytest.raises(HyperparameterError, match=r"lora_r.*pip install peft"):
        lora.apply_lora(model, {"lora_r": 2})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_lora_decoder_job_trains_saves_a_merged_model_and_serves(
    train_entry: types.ModuleType,
    channels: dict[str, Path],
    decoder_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    base = tmp_path / "opt-ml"
    environ = container_env(base, channels)
    argv = ["--model_name_or_path", str(decoder_model), "--lora_r", "4", "--lora_alpha", "8"]
    argv += ["--gradient_checkpointing", "true", "--eval_steps", "2", "--epochs", "2"]
    argv += ["--per_device_train_batch_size", "16", "--learning_rate", "0.01"]
    assert train_entry.main(argv, environ) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("hfst_metric")]
    assert len(lines) == 5  # 4 evaluations, then the kept model's line
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    assert all(torch.isfinite(torch.tensor(e["train_loss"])) for e in metrics["evaluations"])
    config = json.loads((base / "output" / "data" / "effective_config.json").read_text())
    assert config["model"]["gradient_checkpointing"] is True
    assert config["model"]["lora"]["r"] == 4
    model_dir = base / "model"
    assert (model_dir / "model.safetensors").is_file()
    assert not (model_dir / "adapter_config.json").exists()
    # a tokenizer class the inference images' transformers 4.x loads too (5.x would write TokenizersBackend)
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"

    # the saved (merged) model serves through the real handler, unchanged, with the dataset's labels
    sys.path.insert(0, str(model_dir / "code"))
    try:
        import inference
    finally:
        sys.path.remove(str(model_dir / "code"))
    loaded = inference.model_fn(str(model_dir))
    request = inference.input_fn(json.dumps({"inputs": ["Best thing ever!", "so angry"]}), "application/json")
    answer = json.loads(inference.output_fn(inference.predict_fn(request, loaded), "application/json"))
    names = json.loads(json.dumps(config["model"]["id2label"])).values()
    assert [len(item) for item in answer] == [1, 1]
    assert {item[0]["label"] for item in answer} <= set(names)
    assert loaded.tokenizer.pad_token_id == loaded.model.config.pad_token_id == loaded.tokenizer.eos_token_id


@pytest.mark.timeout(120)
def test_lora_best_checkpoint_holds_the_adapter_and_restores_it(
    build: Callable[..., Any], decoder_model: Path, tmp_path: Path
) -> None:
    from hfst_train.checkpoint import best_is_complete, save_best

    setup = build(decoder_model, lora_r=2)
    torch.manual_seed(5)
    with torch.no_grad():
        for name, param in setup.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    batch = setup.eval_collate(list(range(4)))
    setup.model.eval()
    with torch.no_grad():
        at_best = setup.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    best = save_best(tmp_path, setup.model)
    assert best_is_complete(best)
    assert (best / "adapter_model.safetensors").is_file()
    assert not (best / "model.safetensors").exists()  # the frozen base is not copied at every new best
    with torch.no_grad():  # training goes on: adapters and head move away from the best
        for param in setup.model.parameters():
            if param.requires_grad:
                param.add_(1.0)
        moved = setup.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert not torch.allclose(moved, at_best)
    lora.load_adapter_weights(setup.model, best)
    with torch.no_grad():
        restored = setup.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.equal(restored, at_best)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_lora_tuning_job_over_lora_r_on_a_decoder_serves_the_best_model(
    tmp_path: Path, decoder_model: Path, tweeteval: Path
) -> None:
    """The acceptance path: a local tuning job over ``lora_r`` on a tiny decoder, then the local endpoint."""
    from hf_sagemaker_tuning.backends.local import LocalBackend
    from hf_sagemaker_tuning.deploy import deploy_local

    spec = tiny_job_spec(
        "lora-tiny",
        tweeteval / "emotion",
        decoder_model,
        hyperparameters={"learning_rate": 0.01},
        search_space={"lora_r": {"kind": "categorical", "values": [2, 4]}},
        tuning={"strategy": "grid", "max_jobs": 2, "max_parallel_jobs": 1},
    )
    result, jobs = tune_locally(tmp_path, spec, "lora-tiny-1")
    assert result.exit_code == 0, result.output
    backend = LocalBackend(jobs)
    trials = backend.list_trials("lora-tiny-1")
    assert all(t.status == "Completed" for t in trials), [t.failure_reason for t in trials]
    assert sorted(int(str(t.hyperparameters["lora_r"]).strip('"')) for t in trials) == [2, 4]
    model = Path(backend.best_model("lora-tiny-1").location)
    assert (model / "model.safetensors").is_file()
    assert not (model / "adapter_config.json").exists()  # merged: a plain transformers model
    with deploy_local(jobs / "lora-tiny-1", port=0, name="lora-tiny", threads=1) as endpoint:
        answer = endpoint.predict("Best thing ever!")
    assert answer[0]["label"] in {"anger", "joy", "optimism", "sadness"}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_lora_under_distributed_data_parallel_merges_and_saves_on_rank_0(
    tmp_path: Path, channels: dict[str, Path], decoder_model: Path
) -> None:
    from transformers import AutoModelForSequenceClassification

    from tests.training.test_train_distributed import _run

    extra = {"lora_r": 4, "gradient_checkpointing": True}
    run = _run(tmp_path / "ddp-lora", channels, decoder_model, processes=2, per_device=16, extra=extra)
    assert run.returncode == 0, run.output[-4000:]
    saved = [line for line in run.output.splitlines() if "hfst: saved the model" in line]
    assert len(saved) == 1
    assert saved[0].startswith("[default0]:")
    config = json.loads((run.base / "output" / "data" / "effective_config.json").read_text())
    assert config["distributed"]["world_size"] == 2
    assert config["model"]["train_module"] == "DistributedDataParallel"
    assert config["model"]["gradient_checkpointing"] is True
    model_dir = run.base / "model"
    assert not (model_dir / "adapter_config.json").exists()
    reloaded = AutoModelForSequenceClassification.from_pretrained(str(model_dir), trust_remote_code=False)
    assert not any("lora" in name for name, _ in reloaded.named_parameters())


@pytest.mark.timeout(300)
def test_lora_on_a_token_classifier_keeps_its_per_token_head_trainable(
    ner_channels: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    """Token models get peft's TOKEN_CLS: adapters plus the per-token classifier train, and a job runs to the end."""
    from hfst_train.job import run_job

    hps = resolve({"model_name_or_path": str(tiny_model), **BASE, "lora_r": "2", "max_steps": "2"})
    paths = ContainerPaths.from_env(container_env(tmp_path / "opt-ml", ner_channels))
    train, validation = load_splits(paths, hps)
    setup = build_setup(hps, train, validation, device=torch.device("cpu"), environ={})
    assert type(setup.model.base_model.model).__name__ == "BertForTokenClassification"
    trainable = {name for name, p in setup.model.named_parameters() if p.requires_grad}
    assert any("classifier" in name for name in trainable)
    assert all("lora_" in name or "classifier" in name for name in trainable)
    final = run_job(hps, paths, {})
    assert "eval_f1" in final and "eval_official" in final
    config = json.loads((paths.model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]  # merged: serves without peft
