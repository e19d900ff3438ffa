"""The one module that imports the sagemaker SDK (v3): compiled request -> real SDK objects.

The tuner is built *from the compiled request*, so the SDK sends the same job; the
fields the SDK adds on its own are listed in ``SDK_ADDED_FIELDS`` and pinned by a test.
Importing this module costs ~4 s (the SDK); nothing else in the package imports it eagerly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .. import contract
from ..errors import CompileError
from ..specs.job import TuningJobSpec
from .compiler import TORCH_DISTRIBUTED_HYPERPARAMETER
from .request import TuningJobRequest

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.train.tuner import HyperparameterTuner

#: What ``HyperparameterTuner.tune`` sends beyond our request (checked by the equivalence test):
#: - ``StaticHyperParameters.sagemaker_submit_directory``: the SDK tars ``source_dir`` and uploads it to
#:   ``s3://<default bucket>/<base job name>/tuning-<unix time>/input/sourcedir/sourcedir.tar.gz``
#:   instead of our ``<output_path>/<job>/source/sourcedir.tar.gz``;
#: - ``InputDataConfig`` channel ``sm_drivers``: v3's driver scripts (uploaded beside the source).
#: Everything else, key order aside, is our request unchanged.
SDK_ADDED_FIELDS = (
    "TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory",
    "TrainingJobDefinition.InputDataConfig[sm_drivers]",
)

_VALIDATE_ROLE = "SAGEMAKER_VALIDATE_ROLE"

_SCALING = {
    "Auto": "Auto",
    "Linear": "Linear",
    "Logarithmic": "Logarithmic",
    "ReverseLogarithmic": "ReverseLogarithmic",
}


def build_tuner(
    spec: TuningJobSpec,
    request: TuningJobRequest,
    *,
    sagemaker_session: Any | None = None,
    source_dir: str | None = None,
) -> HyperparameterTuner:
    """A v3 ``HyperparameterTuner`` (wrapping a ``ModelTrainer``) for the compiled ``request``.

    Call ``tuner.tune(inputs=sdk_inputs(request), job_name=request.job_name, wait=False)``
    to start it, or hand it to a SageMaker Pipelines ``TuningStep``.

    Building needs no AWS credentials: without ``sagemaker_session`` the session is made from
    the spec's region with the output bucket as default bucket (``offline_session``), and the
    SDK's IAM role check (which calls IAM) is skipped while the objects are built, unless
    ``SAGEMAKER_VALIDATE_ROLE`` is set; the spec has already checked the role ARN's form.
    """
    if sagemaker_session is None:
        sagemaker_session = offline_session(spec, request)
    with _role_check_skipped():
        return _build_tuner(spec, request, sagemaker_session, source_dir)


def offline_session(spec: TuningJobSpec, request: TuningJobRequest) -> Any:
    """A SageMaker ``Session`` in the spec's region, default bucket = the output bucket: nothing looked up on AWS."""
    import boto3
    from sagemaker.core.helper.session_helper import Session

    region = spec.sagemaker.region if spec.sagemaker else "us-east-1"
    output = request.TrainingJobDefinition.OutputDataConfig.S3OutputPath
    bucket = output.removeprefix("s3://").split("/")[0] if output.startswith("s3://") else None
    return Session(boto_session=boto3.Session(region_name=region), default_bucket=bucket)


@contextlib.contextmanager
def _role_check_skipped() -> Iterator[None]:
    """``SAGEMAKER_VALIDATE_ROLE=false`` for the construction only (the SDK reads no argument for it).

    ``ModelTrainer`` validates its role through IAM when built, which needs credentials; the
    variable is the SDK's only switch. A value the user set is kept; ours is removed afterwards.
    """
    if _VALIDATE_ROLE in os.environ:
        yield
        return
    os.environ[_VALIDATE_ROLE] = "false"
    try:
        yield
    finally:
        os.environ.pop(_VALIDATE_ROLE, None)


def _build_tuner(
    spec: TuningJobSpec, request: TuningJobRequest, sagemaker_session: Any, source_dir: str | None
) -> HyperparameterTuner:
    from sagemaker.core import shapes
    from sagemaker.core.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter
    from sagemaker.core.training.configs import Compute, SourceCode
    from sagemaker.train.distributed import Torchrun
    from sagemaker.train.model_trainer import ModelTrainer
    from sagemaker.train.tuner import HyperparameterTuner

    definition = request.TrainingJobDefinition
    config = request.HyperParameterTuningJobConfig
    # The SDK sets sagemaker_program and sagemaker_submit_directory itself; the torchrun switch it does not set
    # (v3 launches torchrun through its own driver, which AMT never runs: the tuning API has no
    # ContainerEntrypoint, see ``_build_driver_and_code_channels`` in sagemaker.train.tuner), so it travels as
    # the hyperparameter the training toolkit reads, as in our request.
    static = {
        k: v
        for k, v in definition.StaticHyperParameters.items()
        if not k.startswith("sagemaker_") or k == TORCH_DISTRIBUTED_HYPERPARAMETER
    }
    distributed = static.get(TORCH_DISTRIBUTED_HYPERPARAMETER) == "true"
    if source_dir is None:
        if not spec.training.uses_bundled_package:
            source_dir = spec.training.source_dir
        else:
            source_dir = str(contract.training_package_dir())
    entry = definition.StaticHyperParameters.get("sagemaker_program", "train.py")
    stopping = definition.StoppingCondition
    trainer = ModelTrainer(
        sagemaker_session=sagemaker_session,
        role=definition.RoleArn,
        training_image=definition.AlgorithmSpecification.TrainingImage,
        base_job_name=spec.name,
        source_code=SourceCode(source_dir=source_dir, entry_script=entry),
        compute=Compute(
            instance_type=definition.ResourceConfig.InstanceType,
            instance_count=definition.ResourceConfig.InstanceCount,
            volume_size_in_gb=definition.ResourceConfig.VolumeSizeInGB,
            enable_managed_spot_training=definition.EnableManagedSpotTraining,
        ),
        stopping_condition=shapes.StoppingCondition(
            max_runtime_in_seconds=stopping.MaxRuntimeInSeconds,
            max_wait_time_in_seconds=stopping.MaxWaitTimeInSeconds,
        ),
        output_data_config=shapes.OutputDataConfig(s3_output_path=definition.OutputDataConfig.S3OutputPath),
        checkpoint_config=shapes.CheckpointConfig(s3_uri=definition.CheckpointConfig.S3Uri)
        if definition.CheckpointConfig
        else None,
        hyperparameters=static,
        # The same launch for ModelTrainer.train() (a single training job), which does run v3's driver:
        # torchrun with one process per GPU (process_count_per_node None: the GPU count).
        distributed=Torchrun() if distributed else None,
    )
    ranges: dict[str, Any] = {}
    pr = config.ParameterRanges
    for r in pr.IntegerParameterRanges:
        ranges[r.Name] = IntegerParameter(int(r.MinValue), int(r.MaxValue), scaling_type=_SCALING[r.ScalingType])
    for c in pr.ContinuousParameterRanges:
        ranges[c.Name] = ContinuousParameter(float(c.MinValue), float(c.MaxValue), scaling_type=_SCALING[c.ScalingType])
    for k in pr.CategoricalParameterRanges:
        ranges[k.Name] = CategoricalParameter(list(k.Values))

    strategy_config = None
    if config.StrategyConfig is not None:
        hb = config.StrategyConfig.HyperbandStrategyConfig
        strategy_config = shapes.HyperParameterTuningJobStrategyConfig(
            hyperband_strategy_config=shapes.HyperbandStrategyConfig(
                min_resource=hb.MinResource, max_resource=hb.MaxResource
            )
        )
    completion = None
    if config.TuningJobCompletionCriteria is not None:
        cc = config.TuningJobCompletionCriteria
        completion = shapes.TuningJobCompletionCriteria(
            target_objective_metric_value=cc.TargetObjectiveMetricValue,
            best_objective_not_improving=shapes.BestObjectiveNotImproving(
                max_number_of_training_jobs_not_improving=cc.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving
            )
            if cc.BestObjectiveNotImproving
            else None,
            convergence_detected=shapes.ConvergenceDetected(
                complete_on_convergence=cc.ConvergenceDetected.CompleteOnConvergence
            )
            if cc.ConvergenceDetected
            else None,
        )
    warm = None
    if request.WarmStartConfig is not None:
        warm = shapes.HyperParameterTuningJobWarmStartConfig(
            parent_hyper_parameter_tuning_jobs=[
                shapes.ParentHyperParameterTuningJob(hyper_parameter_tuning_job_name=p.HyperParameterTuningJobName)
                for p in request.WarmStartConfig.ParentHyperParameterTuningJobs
            ],
            warm_start_type=request.WarmStartConfig.WarmStartType,
        )
    tags = [{"Key": t.Key, "Value": t.Value} for t in request.Tags] if request.Tags else None
    try:
        return HyperparameterTuner(
            model_trainer=trainer,
            objective_metric_name=config.HyperParameterTuningJobObjective.MetricName,
            objective_type=config.HyperParameterTuningJobObjective.Type,
            hyperparameter_ranges=ranges,
            metric_definitions=[
                {"Name": m.Name, "Regex": m.Regex} for m in definition.AlgorithmSpecification.MetricDefinitions
            ],
            strategy=config.Strategy,
            max_jobs=config.ResourceLimits.MaxNumberOfTrainingJobs,
            max_parallel_jobs=config.ResourceLimits.MaxParallelTrainingJobs,
            max_runtime_in_seconds=config.ResourceLimits.MaxRuntimeInSeconds,
            tags=tags,
            base_tuning_job_name=spec.name,
            warm_start_config=warm,
            strategy_config=strategy_config,
            completion_criteria_config=completion,
            early_stopping_type=config.TrainingJobEarlyStoppingType,
            random_seed=config.RandomSeed,
        )
    except (TypeError, ValueError) as exc:  # pragma: no cover - SDK-side rejection
        raise CompileError(f"the sagemaker SDK rejected the tuner: {exc}") from exc


def sdk_inputs(request: TuningJobRequest) -> list[Any]:
    """The request's channels as v3 ``InputData`` objects for ``tuner.tune(inputs=...)``."""
    from sagemaker.core.training.configs import InputData

    return [InputData(channel_name=name, data_source=uri) for name, uri in request.channels().items()]


def describe_sdk_objects(spec: TuningJobSpec, request: TuningJobRequest) -> dict[str, Any]:
    """Build the SDK objects offline and report what they hold (``hfst compile --sdk``).

    Uses ``offline_session``, so nothing is looked up on AWS; role validation is skipped while
    the objects are built (the spec checked the ARN).
    """
    tuner = build_tuner(spec, request)
    trainer = tuner.model_trainer
    return {
        "ModelTrainer": {
            "training_image": trainer.training_image,
            "role": trainer.role,
            "source_dir": trainer.source_code.source_dir,
            "entry_script": trainer.source_code.entry_script,
            "instance_type": trainer.compute.instance_type,
            "instance_count": trainer.compute.instance_count,
            "hyperparameters": trainer.hyperparameters,
            "distributed": type(trainer.distributed).__name__ if trainer.distributed else None,
        },
        "HyperparameterTuner": {
            "objective_metric_name": tuner.objective_metric_name,
            "objective_type": tuner.objective_type,
            "strategy": tuner.strategy,
            "max_jobs": tuner.max_jobs,
            "max_parallel_jobs": tuner.max_parallel_jobs,
            "early_stopping_type": tuner.early_stopping_type,
            "hyperparameter_ranges": tuner.hyperparameter_ranges(),
            "metric_definitions": tuner.metric_definitions,
        },
        "sdk_adds": list(SDK_ADDED_FIELDS),
    }
