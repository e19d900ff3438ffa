"""``SageMakerBackend``: submits the compiled request to SageMaker Automatic Model Tuning (boto3).

The request sent is exactly ``request.to_api()``; before sending it, the training code
(the bundled ``training/`` or your ``source_dir``) is packed into ``sourcedir.tar.gz``
and uploaded to the request's ``sagemaker_submit_directory``, where the Hugging Face
training container fetches it. (``compile.sdk.build_tuner`` gives the same job as
sagemaker v3 SDK objects, for pipelines.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..compile.request import TuningJobRequest
from ..contract import training_package_dir
from ..errors import BackendError, translate_client_error
from ..specs.cross_validation import averaged_run
from ..trials import Trial
from ._cloudwatch import metric_series, trial_log
from ._s3_evaluations import put_evaluation, read_evaluations
from ._source import pack_source_dir, tracking_requirements
from .base import Backend, CloudContext, ModelArtifact, merge_channels

if TYPE_CHECKING:  # pragma: no cover
    from ..specs import TuningJobSpec

#: The tag that ties a training job started by ``start_training`` (a retrain) to its tuning job.
RETRAIN_TAG = "hfst-retrain-of"
#: The bundled package's evaluation-only entry point: its runs leave no model to serve.
EVALUATION_PROGRAM = "evaluate.py"
#: Where a training job's TensorBoard event files are written in the container (SageMaker's default
#: ``TensorBoardOutputConfig.LocalPath``); the training package writes there when it exists.
TENSORBOARD_LOCAL_PATH = "/opt/ml/output/tensorboard"
#: Keys of a DescribeHyperParameterTuningJob answer that CreateHyperParameterTuningJob takes back.
_RESUBMITTED = ("HyperParameterTuningJobConfig", "TrainingJobDefinition")
#: Keys of a tuning job's TrainingJobDefinition that CreateTrainingJob takes as they are.
_TRAINING_KEYS = (
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "VpcConfig",
    "Environment",
)


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise BackendError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class SageMakerBackend(Backend):
    """Runs tuning jobs on SageMaker AMT through boto3.

    Args:
        region: AWS region (default: the session's).
        boto_session: a ``boto3.Session`` (default: a new one; credentials from the usual chain).
        source_dir: the training code to upload (default: the bundled training package).
    """

    name = "sagemaker"

    def __init__(
        self,
        region: str | None = None,
        *,
        boto_session: Any | None = None,
        source_dir: str | os.PathLike[str] | None = None,
    ):
        import boto3

        self.session = boto_session or boto3.Session(region_name=region)
        self.region = region or self.session.region_name
        if not self.region:
            raise BackendError("no AWS region: pass region= or set AWS_DEFAULT_REGION")
        self.client = self.session.client("sagemaker", region_name=self.region)
        self.source_dir = Path(source_dir) if source_dir else training_package_dir()

    def upload_source(self, request: TuningJobRequest) -> str:
        """Pack the training code and upload it where the request says the container finds it."""
        uri = request.TrainingJobDefinition.StaticHyperParameters.get("sagemaker_submit_directory", "")
        bucket, key = _split_s3(uri)
        if not (self.source_dir / request.TrainingJobDefinition.StaticHyperParameters["sagemaker_program"]).is_file():
            raise BackendError(f"the entry point is missing from {self.source_dir}")
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = self.session.client("s3", region_name=self.region)
        try:
            extra = tracking_requirements(request.TrainingJobDefinition.Environment)
            s3.put_object(Bucket=bucket, Key=key, Body=pack_source_dir(self.source_dir, extra))
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, "PutObject (training code)") from exc
        return uri

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One SageMaker call; botocore failures become ``TuningError``s (the one translation point)."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, operation)
        try:
            answer: dict[str, Any] = method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc) from exc
        answer.pop("ResponseMetadata", None)
        return answer

    @property
    def cloud(self) -> CloudContext:
        """The region and ``boto3.Session`` of this backend's jobs."""
        return CloudContext(region=str(self.region), session=self.session)

    def _s3(self) -> Any:
        return self.session.client("s3", region_name=self.region)

    def _spec_uri(self, output_path: str, job: str) -> str:
        return f"{output_path.rstrip('/')}/{job}/spec.yaml"

    # -- the Backend hooks
    def _submit(self, request: TuningJobRequest, spec: TuningJobSpec | None) -> str:
        self.upload_source(request)
        if spec is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            from ..specs import dump_yaml

            output = request.TrainingJobDefinition.OutputDataConfig.S3OutputPath
            bucket, key = _split_s3(self._spec_uri(output, request.job_name))
            try:
                self._s3().put_object(Bucket=bucket, Key=key, Body=dump_yaml(spec).encode("utf-8"))
            except (ClientError, BotoCoreError) as exc:
                raise translate_client_error(exc, "PutObject (job spec)") from exc
        self._call("create_hyper_parameter_tuning_job", **request.to_api())
        return request.job_name

    def _describe(self, job: str) -> dict[str, Any]:
        """The service's answer without its own ``BestTrainingJob`` (ask ``best_trial`` instead).

        The service's pick may follow another rule than the library's (``trials.best_trial``),
        or (a stub, an emulator) name a training job that is not one of the job's trials; naming
        ours would mean listing every trial on each ``describe`` (``wait`` polls it).
        """
        answer = self._call("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=job)
        answer.pop("BestTrainingJob", None)
        answer.pop("OverallBestTrainingJob", None)
        return answer

    def _list_trials(self, job: str) -> list[Trial]:
        return [Trial.from_summary(summary) for summary in self._summaries(job)]

    def _summaries(self, job: str) -> list[dict[str, Any]]:
        trials: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HyperParameterTuningJobName": job, "MaxResults": 100}
        while True:
            page = self._call("list_training_jobs_for_hyper_parameter_tuning_job", **kwargs)
            trials.extend(page.get("TrainingJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                return trials
            kwargs["NextToken"] = token

    def _stop(self, job: str) -> None:
        self._call("stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=job)

    def _resume(self, job: str) -> str:
        """A new tuning job warm-started from ``job`` (IdenticalDataAndAlgorithm) with the trials left.

        SageMaker cannot restart a stopped tuning job; warm start is AMT's own way to go on.
        """
        from ..compile import validate_request_body
        from ..compile.naming import unique_job_name

        answer = self.describe(job)
        status = answer["HyperParameterTuningJobStatus"]
        if status not in ("Stopped", "Failed"):
            raise BackendError(f"tuning job {job!r} is {status}; only a Stopped or Failed job can be resumed")
        body: dict[str, Any] = {key: answer[key] for key in _RESUBMITTED}
        limits = dict(body["HyperParameterTuningJobConfig"]["ResourceLimits"])
        launched = len(self.list_trials(job))
        left = int(limits.get("MaxNumberOfTrainingJobs", launched)) - launched
        if "MaxNumberOfTrainingJobs" in limits:
            if left < 1:
                raise BackendError(f"tuning job {job!r} already launched all {launched} of its trials")
            limits["MaxNumberOfTrainingJobs"] = left
            limits["MaxParallelTrainingJobs"] = min(int(limits["MaxParallelTrainingJobs"]), left)
        body["HyperParameterTuningJobConfig"] = {**body["HyperParameterTuningJobConfig"], "ResourceLimits": limits}
        name = unique_job_name(f"{job[:19].rstrip('-')}-r")
        body["HyperParameterTuningJobName"] = name
        environment = body["TrainingJobDefinition"].get("Environment") or {}
        if "HFST_TRACKING_JOB" in environment:  # the new job's trials log under the new job's parent run
            body["TrainingJobDefinition"] = {
                **body["TrainingJobDefinition"],
                "Environment": {**environment, "HFST_TRACKING_JOB": name},
            }
        body["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": job}],
            "WarmStartType": "IdenticalDataAndAlgorithm",
        }
        validate_request_body(body)
        self._call("create_hyper_parameter_tuning_job", **body)
        return name

    def _metric_history(self, job: str, trial: str) -> dict[str, list[float]]:
        """The trial's metric definitions applied to its CloudWatch log lines, in order (as AMT reads them)."""
        definitions = self.describe(job)["TrainingJobDefinition"]["AlgorithmSpecification"].get("MetricDefinitions", [])
        return metric_series(definitions, self.logs(job, trial))

    def _spec(self, job: str) -> TuningJobSpec | None:
        from botocore.exceptions import BotoCoreError, ClientError

        from ..specs import load_job_spec

        output = self.describe(job)["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"]
        uri = self._spec_uri(output, job)
        bucket, key = _split_s3(uri)
        try:
            body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if (exc.response.get("Error") or {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return None
            raise translate_client_error(exc, "GetObject (job spec)") from exc
        except BotoCoreError as exc:
            raise translate_client_error(exc, "GetObject (job spec)") from exc
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:  # the one spec loader, with its size and alias limits
            file = Path(tmp) / "spec.yaml"
            file.write_bytes(body)
            return load_job_spec(file)

    def _best_model(self, job: str) -> ModelArtifact:
        retrained = self._newest_retrain(job)
        if retrained is not None:
            return self._training_artifact(retrained, "retrain")
        best = self.best_trial(job)
        if best is None:
            status = self.describe(job)["HyperParameterTuningJobStatus"]
            raise BackendError(f"tuning job {job!r} ({status}) has no best training job yet")
        static = self.describe(job)["TrainingJobDefinition"].get("StaticHyperParameters") or {}
        if averaged_run(static):  # its model.tar.gz holds only hfst_cross_validation.json
            raise BackendError(
                f"the best trial {best.name!r} was cross-validated and keeps no servable model: refit it first "
                f"(hfst retrain -b sagemaker {job} --refit, or job.retrain(refit=True))"
            )
        return self._training_artifact(best.name, "trial")

    def _trial_artifact(self, job: str | None, trial: str) -> ModelArtifact:
        return self._training_artifact(trial, "trial", job=job)

    def _newest_retrain(self, job: str) -> str | None:
        """The newest completed training job that ``start_training`` made for ``job``.

        Found by its ``RETRAIN_TAG`` (SageMaker Search), so a run with a caller-chosen name
        counts too; the newest is picked here rather than trusting the service's sort order.
        """
        kwargs: dict[str, Any] = {
            "Resource": "TrainingJob",
            "SearchExpression": {
                "Filters": [
                    {"Name": f"Tags.{RETRAIN_TAG}", "Operator": "Equals", "Value": job},
                    {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "Completed"},
                ]
            },
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,
        }
        runs: list[dict[str, Any]] = []
        while True:
            page = self._call("search", **kwargs)
            for result in page.get("Results", []):
                run = result.get("TrainingJob") or {}
                tagged = {"Key": RETRAIN_TAG, "Value": job} in (run.get("Tags") or [])
                program = str((run.get("HyperParameters") or {}).get("sagemaker_program", "")).strip('"')
                evaluation = program == EVALUATION_PROGRAM  # scores a model, trains none
                if (
                    tagged
                    and not evaluation
                    and run.get("TrainingJobStatus") == "Completed"
                    and run.get("CreationTime")
                ):
                    runs.append(run)
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        return str(max(runs, key=lambda run: run["CreationTime"])["TrainingJobName"]) if runs else None

    def _training_artifact(self, training: str, source: str = "trial", *, job: str | None = None) -> ModelArtifact:
        """The model of one completed training job (any job in the account, e.g. to deploy it alone).

        With ``job``, a run that ``start_training`` made for that job (its ``RETRAIN_TAG``) is a ``"retrain"``.
        """
        described = self._call("describe_training_job", TrainingJobName=training)
        if job is not None and described.get("TrainingJobArn"):
            tags = self._call("list_tags", ResourceArn=described["TrainingJobArn"]).get("Tags") or []
            if {"Key": RETRAIN_TAG, "Value": job} in tags:
                source = "retrain"
        status = described.get("TrainingJobStatus")
        if status != "Completed":
            raise BackendError(f"training job {training!r} is {status}, not Completed: it has no model to deploy")
        url = (described.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if not url:
            raise BackendError(f"training job {training!r} reports no model artifact")
        metrics = {m["MetricName"]: m["Value"] for m in described.get("FinalMetricDataList") or []}
        objective = described.get("HyperParameters", {}).get("_tuning_objective_metric")
        return ModelArtifact(
            training_job_name=training,
            location=str(url),
            source=source,
            objective=None if objective not in metrics else float(metrics[objective]),
            training_image=(described.get("AlgorithmSpecification") or {}).get("TrainingImage"),
        )

    def _start_training(
        self, job: str, hyperparameters: dict[str, str], name: str | None, channels: dict[str, str] | None = None
    ) -> str:
        from ..compile.naming import unique_job_name

        definition = self.describe(job)["TrainingJobDefinition"]
        training = name or unique_job_name(_retrain_prefix(job))
        request: dict[str, Any] = {
            "TrainingJobName": training,
            "AlgorithmSpecification": {
                k: v
                for k, v in definition["AlgorithmSpecification"].items()
                if k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")
            },
            "HyperParameters": hyperparameters,
            "Tags": [{"Key": RETRAIN_TAG, "Value": job}],
        }
        request.update({key: definition[key] for key in _TRAINING_KEYS if key in definition})
        if "Environment" in request:  # the container's tracking logs this run as a retrain, not a trial
            request["Environment"] = {**request["Environment"], "HFST_TRACKING_KIND": "retrain"}
            if request["Environment"].get("HFST_TENSORBOARD") == "1":
                output = str(definition["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
                request["Environment"]["HFST_TENSORBOARD_DIR"] = TENSORBOARD_LOCAL_PATH
                request["TensorBoardOutputConfig"] = {
                    "S3OutputPath": f"{output}/{job}/tensorboard",
                    "LocalPath": TENSORBOARD_LOCAL_PATH,
                }
        if channels is not None:
            request["InputDataConfig"] = merge_channels(definition.get("InputDataConfig") or [], channels)
        self._call("create_training_job", **request)
        return training

    def _describe_training(self, job: str, training: str) -> dict[str, Any]:
        return self._call("describe_training_job", TrainingJobName=training)

    def _local_path(self, uri: str) -> Path | None:
        if uri.startswith("s3://"):
            return None
        raise BackendError(f"SageMaker reads channels and models from s3:// URIs, not {uri!r}")

    def _model_location(self, model: str) -> str:
        if not model.startswith("s3://"):
            raise BackendError(f"on SageMaker give the model as an s3://.../model.tar.gz URI, not {model!r}")
        _split_s3(model)
        return model

    def _evaluations_prefix(self, job: str) -> tuple[str, str] | None:
        """Where a job's evaluations are kept: next to its spec (``<output>/<job>/evaluations/``).

        ``None`` for a job whose output is not in S3 (no real SageMaker job; an emulator's).
        """
        output = str(self.describe(job)["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"])
        return _split_s3(f"{output.rstrip('/')}/{job}/evaluations/") if output.startswith("s3://") else None

    def _save_evaluation(self, job: str, key: str, document: str) -> None:
        where = self._evaluations_prefix(job)
        if where is None:
            raise BackendError(f"tuning job {job!r} has no S3 output path to keep evaluations in")
        put_evaluation(self._s3(), *where, key, document)

    def _evaluations(self, job: str) -> dict[str, str]:
        where = self._evaluations_prefix(job)
        return {} if where is None else read_evaluations(self._s3(), *where)

    def _logs(self, job: str, trial: str) -> str:
        self.describe(job)  # an unknown job is an error, not an empty log
        return trial_log(self.session.client("logs", region_name=self.region), trial)


def _retrain_prefix(job: str) -> str:
    return f"{job[:19].rstrip('-')}-rt"
