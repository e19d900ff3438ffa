"""One AMT trial under the real ``sagemaker-training`` toolkit: the container's files, the upload, the run.

What SageMaker does before the toolkit starts, done here by hand under a temporary base folder
(``SAGEMAKER_BASE_DIR``): the channels are copied to ``input/data/<name>``, and
``input/config/`` gets ``hyperparameters.json`` (static and tuned values as strings, plus AMT's
``_tuning_objective_metric``), ``inputdataconfig.json`` and ``resourceconfig.json`` (a host that
resolves here: the toolkit waits for every host to resolve). Then the container's command,
sagemaker-training's ``train`` console script, runs in the environment under test.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hf_sagemaker_tuning.backends import SageMakerBackend
from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.compile.request import TuningJobRequest
from hf_sagemaker_tuning.data import prepare_for_job
from hf_sagemaker_tuning.specs import TuningJobSpec

from ..conftest import REPO, SHARED_DATA
from .conftest import LABELS, clean_env, env_bin

QUICKSTART = REPO / "hf_sagemaker_tuning" / "quickstart.yaml"
ARTICLE = REPO / "examples" / "tweet-eval-distilbert.yaml"
SAGEMAKER = {
    "role": "arn:aws:iam::123456789012:role/SageMakerRole",
    "region": "us-east-1",
    "output_path": "s3://my-bucket/hpo",
}
HOST = "localhost"  # resolves on every machine; the toolkit waits until each host in resourceconfig.json does


def job_spec(which: str) -> TuningJobSpec:
    """The quickstart or the article's job, cut to a few dozen examples, compiled for SageMaker.

    ``quickstart-cv``: the quickstart with 2-fold cross-validation (``tuning.cross_validation``).

    The model stays a hub id in the spec (the SageMaker target refuses local folders); the trial's
    ``model_name_or_path`` is swapped for the local tiny model afterwards (:func:`trial_hyperparameters`).
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
            source=str(SHARED_DATA / "sentiment"),
            config=None,
            data_files={"train": "test.jsonl", "validation": "validation.jsonl"},
            label_names=LABELS,
        )
        raw["training"]["hyperparameters"]["group_by_length"] = False  # a bool crosses the toolkit too
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
    which: str, base: Path, tiny_model: Path, data_cache: Path, *, extra: dict[str, str] | None = None
) -> Trial:
    """Compile the job, prepare its channels with the library, upload the code to (moto) S3, lay out ``base``."""
    spec = job_spec(which)
    request = compile_request(spec, job_name=f"fidelity-{which}")
    prepared = data_cache / which
    prepare_for_job(spec, prepared, tokenizer=tiny_model)
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
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": HOST, "hosts": [HOST], "network_interface_name": "lo"}), encoding="utf-8"
    )
    for name in channels:  # SageMaker downloads each channel before the container starts
        shutil.copytree(prepared / name, base / "input" / "data" / name)
    return Trial(base, request, hps)


def run_toolkit(env_name: str, trial: Trial, s3_endpoint: str, timeout: float = 420, **env: str) -> tuple[int, str]:
    """The container's command, ``train``; returns its exit status and its whole output (what CloudWatch gets)."""
    result = subprocess.run(
        [str(env_bin(env_name, "train"))],
        cwd=trial.base,
        env=clean_env(
            SAGEMAKER_BASE_DIR=str(trial.base),
            S3_ENDPOINT_URL=s3_endpoint,
            AWS_REGION="us-east-1",
            SM_NUM_GPUS="0",
            **env,
        ),
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
