"""The evaluation-only mode (``evaluate.py``): score a trained model on one channel, under the same contract.

Inputs: the ``model`` channel (a model folder as training saves it, or a folder holding the
``model.tar.gz`` SageMaker made of one) and the channel named by ``split`` (``test`` by
default). Outputs: the metric line (the problem type's metrics and, when the channel names
its task, ``eval_official``), one ``hfst_evaluation {json}`` line with everything (its
``problem_type`` and that type's ``details``), and ``output/data/evaluation.json``.
Nothing is trained and nothing is written to the model folder.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hfst_train.errors import DataError, HyperparameterError
from hfst_train.hparams import DECLARATIONS_FILE, Declaration, declarations_from, load_declarations

#: The tag of the one log line that carries the whole evaluation as JSON.
EVALUATION_PREFIX = "hfst_evaluation"
EVALUATION_FILE = "evaluation.json"
MODEL_CHANNEL = "model"


def evaluation_declarations(path: Path = DECLARATIONS_FILE) -> dict[str, Declaration]:
    """What ``evaluate.py`` accepts: the training declarations it ``uses`` plus its own (``split``, ``max_samples``)."""
    raw = json.loads(path.read_text(encoding="utf-8"))["evaluation"]
    training = load_declarations(path)
    own = declarations_from(raw["hyperparameters"])
    return {**{name: training[name] for name in raw["uses"]}, **own}


def refuse_training_hyperparameters(raw: Mapping[str, Any], accepted: Mapping[str, Declaration]) -> None:
    """A training hyperparameter cannot change an evaluation: name each one given, and what is accepted."""
    training = load_declarations()
    pointless = sorted(name for name in raw if name in training and name not in accepted)
    if pointless:
        raise HyperparameterError(
            f"hyperparameter(s) {', '.join(pointless)} cannot matter when only evaluating a trained model; "
            f"evaluate.py accepts: {', '.join(sorted(accepted))}"
        )


def channel_dir(environ: Mapping[str, str], base: Path, name: str) -> Path:
    return Path(environ.get(f"SM_CHANNEL_{name.upper()}") or base / "input" / "data" / name)


def _safe_extract(archive: Path, target: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            where = (target / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not where.is_relative_to(target.resolve()):
                raise DataError(f"{archive} holds {member.name!r}, which is not a plain file inside the archive")
        if hasattr(tarfile, "data_filter"):  # Python 3.12+ (and security releases of older ones)
            tar.extractall(target, filter="data")
        else:  # pragma: no cover - every member was checked above
            tar.extractall(target)


def model_folder(channel: Path) -> Path:
    """The model in the model channel: the folder itself, or its ``*.tar.gz`` extracted to a temporary folder."""
    if (channel / "config.json").is_file():
        return channel
    if not channel.is_dir():
        raise DataError(f"channel 'model': {channel} is not a directory (set SM_CHANNEL_MODEL)")
    archives = sorted(channel.glob("*.tar.gz"))
    if len(archives) != 1:
        raise DataError(
            f"channel 'model': {channel} holds neither a model (config.json) nor exactly one model.tar.gz "
            f"(it has: {', '.join(sorted(p.name for p in channel.iterdir())) or 'nothing'})"
        )
    target = Path(tempfile.mkdtemp(prefix="hfst-model-"))
    _safe_extract(archives[0], target)
    if not (target / "config.json").is_file():
        raise DataError(f"channel 'model': {archives[0].name} holds no config.json at its top level")
    return target


def run_evaluation(
    hps: Mapping[str, Any], base: Path, output_data_dir: Path, environ: Mapping[str, str]
) -> dict[str, Any]:
    """Score the model channel's model on the ``split`` channel; print and write the results; return them."""
    import transformers
    from transformers import AutoTokenizer

    from hfst_train.data import Collator, load_channel
    from hfst_train.metrics import format_line, load_metric_declarations
    from hfst_train.modeling import max_sequence_length
    from hfst_train.optim import resolve_precision
    from hfst_train.scoring import predict, split_metrics
    from hfst_train.setup import _quiet_progress_bars, pick_device
    from hfst_train.tasks import task_for

    split_name = str(hps["split"])
    split = load_channel(channel_dir(environ, base, split_name), split_name)
    if hps["max_samples"] > 0:
        split = split.subset(range(min(hps["max_samples"], len(split))))
    folder = model_folder(channel_dir(environ, base, MODEL_CHANNEL))
    _quiet_progress_bars()
    device = pick_device()
    precision = resolve_precision(hps["precision"], device)
    task = task_for(split.problem_type)
    serving = serving_settings(folder)
    saved_type = str(serving.get("problem_type", "single_label_classification"))
    if saved_type != split.problem_type:
        raise DataError(
            f"the model was trained for {saved_type} and the {split_name!r} channel holds {split.problem_type} data"
        )
    options = {"threshold": float(serving.get("threshold", 0.5))}
    model = getattr(transformers, task.auto_model).from_pretrained(str(folder), use_safetensors=True)
    id2label = {int(k): v for k, v in (model.config.id2label or {}).items()}
    model_labels = tuple(id2label.get(i, "") for i in range(len(id2label)))
    if model_labels != split.label_names:
        raise DataError(
            f"the model's labels {list(model_labels)} differ from the {split_name!r} channel's "
            f"{list(split.label_names)}: it was trained on other data"
        )
    model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(str(folder)) if (folder / "tokenizer_config.json").is_file() else None
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = pad_id if pad_id is not None else (model.config.pad_token_id or 0)
    collate = Collator(
        split, pad_id, hps["pad_to_multiple_of"], max_sequence_length(model, tokenizer), device.type == "cuda"
    )
    print(
        f"hfst: evaluating the model in {folder} on {len(split)} {split_name} examples "
        f"on {device.type} ({precision.name})",
        flush=True,
    )
    loss, labels, predicted = predict(model, split, collate, hps["per_device_eval_batch_size"], device, precision)
    metrics = split_metrics(loss, labels, predicted, split, options)
    official = None
    if split.official is not None:
        official = {**split.official, "value": metrics["eval_official"]}
    result: dict[str, Any] = {
        "split": split_name,
        "problem_type": split.problem_type,
        "examples": len(split),
        "label_names": list(split.label_names),
        "metrics": metrics,
        "official_metric": official,
        **task.details(labels, predicted, split, options),
        "device": device.type,
        "precision": precision.name,
    }
    prefix, declared = load_metric_declarations()
    print(format_line(prefix, declared, metrics), flush=True)
    print(f"{EVALUATION_PREFIX} {json.dumps(result, separators=(',', ':'))}", flush=True)
    output_data_dir.mkdir(parents=True, exist_ok=True)
    (output_data_dir / EVALUATION_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def serving_settings(folder: Path) -> dict[str, Any]:
    """The model's ``code/serving.json`` (``{}`` for a model saved before it existed)."""
    file = folder / "code" / "serving.json"
    if not file.is_file():
        return {}
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise DataError(f"{file} is not valid JSON ({error})") from None
    return loaded if isinstance(loaded, dict) else {}


def output_data_dir(environ: Mapping[str, str], base: Path) -> Path:
    output = Path(environ.get("SM_OUTPUT_DIR") or base / "output")
    return Path(environ.get("SM_OUTPUT_DATA_DIR") or output / "data")


def base_dir(environ: Mapping[str, str]) -> Path:
    from hfst_train.paths import DEFAULT_BASE_DIR

    return Path(environ.get("SAGEMAKER_BASE_DIR") or DEFAULT_BASE_DIR)
