"""One AMT trial under the real ``sagemaker-training`` toolkit: the container's files, the upload, the run.

What SageMaker does before the toolkit starts, done here by hand under a temporary base folder
(``SAGEMAKER_BASE_DIR``): the channels are copied to ``input/data/<name>``, and
``input/config/`` gets ``hyperparameters.json`` (static and tuned values as strings, plus AMT's
``_tuning_objective_metric``), ``inputdataconfig.json`` and ``resourceconfig.json`` (a host that
resolves here: the toolkit waits for every host to resolve). Then the container's command,
sagemaker-training's ``train`` console script, runs in the environment under test, with the image's
``python`` first on ``PATH`` (the toolkit starts ``torchrun`` by name). ``framework=True`` sets what the
PyTorch base image sets, ``SAGEMAKER_TRAINING_MODULE=sagemaker_pytorch_container.training:main``, so the
toolkit hands over to sagemaker-pytorch-training, which picks the runner (torch-distributed among them).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hf_sagemaker_tuning.backends import SageMakerBackend
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.compile.request import TuningJobRequest
from hf_sagemaker_tuning.data import prepare_for_job
from hf_sagemaker_tuning.specs import TuningJobSpec

from ..conftest import REPO, SHARED_DATA
from .conftest import LABELS, clean_env, ensure_bucket, env_bin

QUICKSTART = REPO / "hf_sagemaker_tuning" / "quickstart.yaml"
ARTICLE = REPO / "examples" / "tweet-eval-distilbert.yaml"
SAGEMAKER = {
    "role": "arn:aws:iam::123456789012:role/SageMakerRole",
    "region": "us-east-1",
    "output_path": "s3://my-bucket/hpo",
}
HOST = "localhost"  # resolves on every machine; the toolkit waits until each host in resourceconfig.json does
#: What the Hugging Face training images' PyTorch base sets (aws/deep-learning-containers
#: pytorch/training/docker/2.8/py3/cu129/Dockerfile.gpu: ``ENV SAGEMAKER_TRAINING_MODULE=...``).
FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"


#: One example spec per problem type (issue 20), over the shared data.
TYPE_EXAMPLES = {
    "goemotions": "goemotions-multilabel.yaml",
    "stsb": "stsb-regression.yaml",
    "emobank": "emobank-regression.yaml",
    "wnut17": "wnut17-ner.yaml",
}


def _shared(folder: Path) -> Path:
    """A folder of ../shared/data; the test skips cleanly, like the rest of the suite, when it is not there."""
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder}")
    return folder


def type_job_spec(which: str) -> TuningJobSpec:
    """A problem type's example job, cut to a few dozen examples, the shared data read in place, for SageMaker."""
    raw: dict[str, Any] = yaml.safe_load((REPO / "examples" / TYPE_EXAMPLES[which]).read_text("utf-8"))
    source = _shared(SHARED_DATA.parent / str(raw["dataset"]["source"]).removeprefix("../shared/data/"))
    raw["dataset"].update(source=str(source), max_length=48, max_train_samples=48, max_eval_samples=24)
    raw["training"]["hyperparameters"].update(epochs=1, per_device_train_batch_size=16)
    raw["sagemaker"] = dict(SAGEMAKER)
    return TuningJobSpec.model_validate(raw)


def job_spec(which: str, overrides: dict[str, dict[str, Any]] | None = None) -> TuningJobSpec:
    """The quickstart or the article's job, cut to a few dozen examples, compiled for SageMaker.

    ``quickstart-cv``: the quickstart with 2-fold cross-validation (``tuning.cross_validation``).

    The model stays a hub id in the spec (the SageMaker target refuses local folders); the trial's
    ``model_name_or_path`` is swapped for the local tiny model afterwards (:func:`prepare_trial`).
    ``overrides`` updates the spec's sections (``{"training": {"instance_type": ...}}``).
    """
    cross_validated = which.endswith("-cv")
    which = which.removesuffix("-cv")
    raw: dict[str, Any] = yaml.safe_load((QUICKSTART if which == "quickstart" else ARTICLE).read_text("utf-8"))
    raw["dataset"].update(max_length=48, max_train_samples=96, max_eval_samples=48)
    if cross_validated:
        raw["tuning"]["cross_validation"] = {"folds": 2, "seed": 0}
    if which == "quickstart":
        raw["training"]["model"] = "sentence-transformers/all-MiniLM-L6-v2"
        raw["sagemaker"] = dict(SAGEMAKER)
    else:  # the hub's tweet_eval/sentiment, read from the shared JSON Lines copy (no train split there)
        raw["dataset"].update(
            source=str(_shared(SHARED_DATA / "sentiment")),
            config=None,
            data_files={"train": "test.jsonl", "validation": "validation.jsonl"},
            label_names=LABELS,
        )
        raw["training"]["hyperparameters"]["group_by_length"] = False  # a bool crosses the toolkit too
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return TuningJobSpec.model_validate(raw)


def tuned_values(request: TuningJobRequest) -> dict[str, str]:
    """One point AMT could pick: each range's geometric/arithmetic middle, the last categorical value, as strings."""
    ranges = request.HyperParameterTuningJobConfig.ParameterRanges
    values: dict[str, str] = {}
    for r in ranges.ContinuousParameterRanges:
        low, high = float(r.MinValue), float(r.MaxValue)
        values[r.Name] = repr(math.sqrt(low * high) if r.ScalingType == "Logarithmic" else (low + high) / 2)
    for i in ranges.IntegerParameterRanges:
        values[i.Name] = str(min(int(i.MaxValue), int(i.MinValue) + 2))
    for c in ranges.CategoricalParameterRanges:
        values[c.Name] = c.Values[-1]
    return values


@dataclass
class Trial:
    """A prepared trial folder and what was put in it."""

    base: Path
    request: TuningJobRequest
    hyperparameters: dict[str, str]

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def model(self) -> Path:
        return self.base / "model"


def prepare_trial(
    which: str,
    base: Path,
    tiny_model: Path,
    data_cache: Path,
    *,
    extra: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    hosts: tuple[str, ...] = (HOST,),
) -> Trial:
    """Compile the job, prepare its channels with the library, upload the code to (moto) S3, lay out ``base``.

    ``hosts`` is the trial's instances (``resourceconfig.json``); ``base`` is the first one's container, and
    :func:`other_host` lays out the others'.
    """
    spec = type_job_spec(which) if which in TYPE_EXAMPLES else job_spec(which, overrides)
    request = compile_request(spec, job_name=f"fidelity-{which}")
    prepared = data_cache / which
    prepare_for_job(spec, prepared, tokenizer=tiny_model)
    ensure_bucket(os.environ["AWS_ENDPOINT_URL"])  # another test's mock_aws may have reset moto
    SageMakerBackend(region="us-east-1").upload_source(request)  # the boto3 endpoint comes from AWS_ENDPOINT_URL
    definition = request.TrainingJobDefinition
    hps = {
        **definition.StaticHyperParameters,
        **tuned_values(request),
        "_tuning_objective_metric": request.objective_metric,
        "model_name_or_path": str(tiny_model),
        **(extra or {}),
    }
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hps), encoding="utf-8")
    channels = request.channels()
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                name: {
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                    "RecordWrapperType": "None",
                }
                for name in channels
            }
        ),
        encoding="utf-8",
    )
    _write_resource_config(base, hosts, hosts[0])
    for name in channels:  # SageMaker downloads each channel before the container starts
        shutil.copytree(prepared / name, base / "input" / "data" / name)
    return Trial(base, request, hps)


def _write_resource_config(base: Path, hosts: tuple[str, ...], current: str) -> None:
    config = {"current_host": current, "hosts": list(hosts), "network_interface_name": "lo"}
    (base / "input" / "config" / "resourceconfig.json").write_text(json.dumps(config), encoding="utf-8")


def other_host(trial: Trial, base: Path, host: str) -> Trial:
    """The same trial on another instance of its cluster: a copy of the container's files naming ``host`` current."""
    shutil.copytree(trial.base / "input", base / "input")
    hosts = tuple(json.loads((trial.base / "input" / "config" / "resourceconfig.json").read_text("utf-8"))["hosts"])
    _write_resource_config(base, hosts, host)
    return Trial(base, trial.request, trial.hyperparameters)


def toolkit_process(
    env_name: str, trial: Trial, s3_endpoint: str, *, framework: bool = False, **env: str
) -> tuple[list[str], dict[str, str]]:
    """The container's command, ``train``, and its environment (``framework``: the PyTorch image's module)."""
    extra = {"SAGEMAKER_TRAINING_MODULE": FRAMEWORK_MODULE} if framework else {}
    variables = clean_env(
        SAGEMAKER_BASE_DIR=str(trial.base),
        S3_ENDPOINT_URL=s3_endpoint,
        AWS_REGION="us-east-1",
        SM_NUM_GPUS="0",
        **extra,
        **env,
    )
    variables["PATH"] = f"{env_bin(env_name, 'train').parent}:{variables['PATH']}"  # the image's python first
    return [str(env_bin(env_name, "train"))], variables


def run_toolkit(
    env_name: str, trial: Trial, s3_endpoint: str, timeout: float = 420, *, framework: bool = False, **env: str
) -> tuple[int, str]:
    """The container's command, ``train``; returns its exit status and its whole output (what CloudWatch gets)."""
    command, variables = toolkit_process(env_name, trial, s3_endpoint, framework=framework, **env)
    result = subprocess.run(
        command,
        cwd=trial.base,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.returncode, result.stdout


def read_metrics(request: TuningJobRequest, log: str) -> dict[str, list[float]]:
    """Every metric definition of the request applied to each log line, as AMT does; name -> values in order."""
    found: dict[str, list[float]] = {}
    for definition in request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions:
        regex = re.compile(definition.Regex)
        for line in log.splitlines():
            match = regex.search(line)
            if match:
                found.setdefault(definition.Name, []).append(float(match.group(1)))
    return found
