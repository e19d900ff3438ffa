"""Specs -> ``TuningJobRequest``: the exact CreateHyperParameterTuningJob body."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .. import contract
from ..errors import CompileError, DataError
from ..packaged import is_package_uri, package_path
from ..ranges import format_value
from ..specs.cross_validation import CV_RUNS, CV_STEPS, cv_metric, fold_metric, std_metric
from ..specs.job import TuningJobSpec
from ..specs.search_space import (
    SCALING_TO_API,
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
)
from ..specs.tuning import STRATEGY_TO_API
from . import request as rq
from .naming import check_job_name, unique_job_name

Target = Literal["sagemaker", "local"]
ENTRY_SCRIPT = "train.py"
#: Role ARN used in requests compiled for the local backend, which assumes no role.
LOCAL_ROLE_ARN = "arn:aws:iam::000000000000:role/hfst-local"
TUNING_CHANNELS = ("train", "validation")
#: The hyperparameter that makes the training container launch the entry point with torchrun. AWS's
#: sagemaker-training toolkit (github.com/aws/sagemaker-training-toolkit) keeps ``sagemaker_*`` hyperparameters
#: out of the script's arguments (``additional_framework_parameters``); the PyTorch/Hugging Face container's
#: entry (sagemaker-pytorch-training-toolkit ``training.py``) picks ``runner.TorchDistributedRunnerType`` when this
#: one is true, and ``torch_distributed.TorchDistributedRunner`` then runs ``torchrun --nnodes <instances>
#: --nproc_per_node <GPUs per instance>`` (plus ``--master_addr/--master_port 7777/--node_rank`` on several
#: instances; ``runner.py`` sets processes per host to the GPU count, 1 on CPU). The v2 SDK's
#: ``distribution={"torch_distributed": {"enabled": True}}`` sends the same key. AMT's TrainingJobDefinition has
#: no ContainerEntrypoint, so hyperparameters are the mechanism a tuning job accepts.
TORCH_DISTRIBUTED_HYPERPARAMETER = "sagemaker_torch_distributed_enabled"


def printed_metrics(spec: TuningJobSpec) -> list[str]:
    """The metrics the bundled package prints for the dataset's problem type, in ``metrics.json``'s order.

    Token classification adds ``eval_f1_<type>`` for each entity type of ``dataset.label_names`` (BIO tags),
    when the spec names them (otherwise they are printed but not recorded).
    """
    kind = spec.dataset.problem_type
    names = list(contract.problem_type_metrics(kind))
    if kind == "token_classification" and spec.dataset.label_names is not None:
        types = sorted({tag[2:] for tag in spec.dataset.label_names if tag[:2] in ("B-", "I-")})
        names += [contract.entity_metric_name(t) for t in types]
    return names


def metric_definitions(spec: TuningJobSpec) -> list[rq.MetricDefinition]:
    """Every metric the trials print, with generated regexes (the objective first).

    With cross-validation or repeats the objective is the cross-run mean ``eval_cv_<metric>``; the
    definitions add every ``eval_*`` metric's mean and standard deviation, the mean step of the kept
    evaluations (``eval_cv_steps``, what a refit trains for) and each fold's value of the objective.
    """
    objective = spec.objective
    if spec.tuning.averaged:
        return _cv_metric_definitions(spec)
    if objective.regex is not None:
        defs = [rq.MetricDefinition(Name=objective.metric, Regex=objective.regex)]
    else:
        defs = [rq.MetricDefinition(Name=objective.metric, Regex=contract.metric_regex(objective.metric))]
        defs += [
            rq.MetricDefinition(Name=name, Regex=contract.metric_regex(name))
            for name in printed_metrics(spec)
            if name != objective.metric
        ]
    defs += [rq.MetricDefinition(Name=m.name, Regex=m.regex) for m in objective.extra_metrics]
    if len(defs) > 40:
        raise CompileError(f"{len(defs)} metric definitions; SageMaker allows at most 40")
    return defs


def _cv_metric_definitions(spec: TuningJobSpec) -> list[rq.MetricDefinition]:
    tuned = spec.tuned_metric
    printed = printed_metrics(spec)  # the problem type's metrics: each run prints these, the summary their mean/std
    evals = [name for name in printed if name.startswith("eval_")]
    names = [tuned, *printed]
    names += [cv_metric(name) for name in evals if cv_metric(name) != tuned]
    names += [std_metric(name) for name in evals]
    names += [CV_STEPS, CV_RUNS]
    if spec.tuning.cross_validation is not None:
        names += [fold_metric(spec.objective.metric, fold) for fold in range(spec.tuning.cross_validation.folds)]
    defs = [rq.MetricDefinition(Name=name, Regex=contract.metric_regex(name)) for name in names]
    defs += [rq.MetricDefinition(Name=m.name, Regex=m.regex) for m in spec.objective.extra_metrics]
    if len(defs) > 40:
        raise CompileError(
            f"{len(defs)} metric definitions; SageMaker allows at most 40 (cross-validation adds "
            f"{len(defs) - len(printed) - len(spec.objective.extra_metrics)}): "
            "use fewer folds or fewer objective.extra_metrics"
        )
    return defs


def parameter_ranges(spec: TuningJobSpec) -> rq.ParameterRangesShape:
    ints, floats, cats = [], [], []
    for name, param in spec.search_space.items():
        if isinstance(param, IntegerParameter):
            ints.append(
                rq.IntegerParameterRange(
                    Name=name,
                    MinValue=str(param.min),
                    MaxValue=str(param.max),
                    ScalingType=SCALING_TO_API[param.scaling],
                )
            )
        elif isinstance(param, ContinuousParameter):
            floats.append(
                rq.ContinuousParameterRange(
                    Name=name,
                    MinValue=format_value(param.min),
                    MaxValue=format_value(param.max),
                    ScalingType=SCALING_TO_API[param.scaling],
                )
            )
        elif isinstance(param, CategoricalParameter):
            cats.append(rq.CategoricalParameterRange(Name=name, Values=param.api_values))
    return rq.ParameterRangesShape(
        IntegerParameterRanges=ints, ContinuousParameterRanges=floats, CategoricalParameterRanges=cats
    )


def _tuning_config(spec: TuningJobSpec) -> rq.TuningJobConfig:
    tuning = spec.tuning
    # Grid: AMT counts the combinations itself; MaxNumberOfTrainingJobs is sent only when the user capped it.
    max_jobs = tuning.max_jobs
    completion = None
    if tuning.completion is not None:
        c = tuning.completion
        completion = rq.CompletionCriteria(
            TargetObjectiveMetricValue=c.target_objective_value,
            BestObjectiveNotImproving=(
                rq.BestObjectiveNotImprovingShape(MaxNumberOfTrainingJobsNotImproving=c.max_jobs_not_improving)
                if c.max_jobs_not_improving is not None
                else None
            ),
            ConvergenceDetected=rq.ConvergenceDetectedShape(CompleteOnConvergence="Enabled")
            if c.complete_on_convergence
            else None,
        )
        if completion == rq.CompletionCriteria():
            completion = None
    strategy_config = None
    if tuning.hyperband is not None:
        strategy_config = rq.StrategyConfigShape(
            HyperbandStrategyConfig=rq.HyperbandStrategyConfigShape(
                MinResource=tuning.hyperband.min_resource, MaxResource=tuning.hyperband.max_resource
            )
        )
    return rq.TuningJobConfig(
        Strategy=STRATEGY_TO_API[tuning.strategy],
        StrategyConfig=strategy_config,
        HyperParameterTuningJobObjective=rq.Objective(
            Type="Maximize" if spec.direction == "maximize" else "Minimize", MetricName=spec.tuned_metric
        ),
        ResourceLimits=rq.ResourceLimitsShape(
            MaxNumberOfTrainingJobs=max_jobs,
            MaxParallelTrainingJobs=tuning.max_parallel_jobs,
            MaxRuntimeInSeconds=tuning.max_runtime_seconds,
        ),
        ParameterRanges=parameter_ranges(spec),
        TrainingJobEarlyStoppingType="Auto" if tuning.early_stopping == "auto" else "Off",
        TuningJobCompletionCriteria=completion,
        RandomSeed=tuning.random_seed,
    )


def default_data_uri(spec: TuningJobSpec, target: Target) -> str:
    """Where the prepared channels are read from when the caller names no place.

    SageMaker: ``sagemaker.data_uri``, else ``<output_path>/data/<name>``; local: ``./prepared/<name>``.
    ``hfst prepare`` writes to the same place, so the two always agree.
    """
    sm = spec.sagemaker
    if target == "sagemaker" and sm is not None:
        return sm.data_uri or f"{sm.output_path}/data/{spec.name}"
    return Path("prepared", spec.name).resolve().as_uri()


def tracking_environment(spec: TuningJobSpec, target: Target, job_name: str) -> dict[str, str]:
    """The trials' environment variables that ask the training package to track (empty without ``tracking:``).

    ``HFST_TENSORBOARD=1``: write TensorBoard event files. ``HFST_MLFLOW_TRACKING_URI`` (with
    ``HFST_MLFLOW_EXPERIMENT`` and ``HFST_TRACKING_JOB``, the tuning job's name, which a
    container is not told otherwise): log to MLflow from the trial. A local folder is made
    absolute; on SageMaker it is left out (a container cannot reach this machine's folder:
    ``hfst track`` copies the job there afterwards). On the local backend the coordinator, not
    the trial, logs to MLflow (hf_sagemaker_tuning.tracking); the URI is kept here for it.
    """
    tracking = spec.tracking
    env: dict[str, str] = {}
    if tracking is None:
        return env
    if tracking.tensorboard:
        env["HFST_TENSORBOARD"] = "1"
    mlflow = tracking.mlflow
    if mlflow is not None and not (mlflow.kind == "path" and target == "sagemaker"):
        uri = mlflow.tracking_uri
        if mlflow.kind == "path":
            uri = str(Path(uri).expanduser().resolve())
        env["HFST_MLFLOW_TRACKING_URI"] = uri
        env["HFST_MLFLOW_EXPERIMENT"] = mlflow.experiment or spec.name
        env["HFST_TRACKING_JOB"] = job_name
    return env


def compile_request(
    spec: TuningJobSpec,
    *,
    target: Target = "sagemaker",
    job_name: str | None = None,
    data_uri: str | None = None,
    output_uri: str | None = None,
    source_uri: str | None = None,
) -> rq.TuningJobRequest:
    """Compile a spec into the CreateHyperParameterTuningJob request.

    Args:
        spec: the validated job spec.
        target: ``sagemaker`` (S3 locations from ``spec.sagemaker``) or ``local``
            (``file://`` locations; the request the local backend runs).
        job_name: the tuning-job name; default: ``spec.name`` plus a unique time+random suffix.
        data_uri: where the prepared channels live (``<data_uri>/train`` ...).
            Default: ``sagemaker.data_uri`` or ``<output_path>/data/<spec.name>``; locally ``./prepared/<spec.name>``.
        output_uri: where trial outputs go. Default: ``sagemaker.output_path``; locally ``./jobs``.
        source_uri: where the training code lives. Default: ``<output_path>/<job>/source/sourcedir.tar.gz``
            on SageMaker (the backend uploads it), the bundled package's folder locally.

    Raises:
        CompileError: the target needs settings the spec lacks.
        SpecError: ``job_name`` is not a name SageMaker accepts (``check_job_name``).
    """
    name = unique_job_name(spec.name) if job_name is None else check_job_name(job_name)
    sm = spec.sagemaker
    if target == "sagemaker":
        if sm is None:
            raise CompileError("the SageMaker backend needs a `sagemaker:` section (role, region, output_path)")
        role, region = sm.role, sm.region
        output = output_uri or sm.output_path
        data = data_uri or default_data_uri(spec, target)
        source = source_uri or f"{output}/{name}/source/sourcedir.tar.gz"
    else:
        role = sm.role if sm else LOCAL_ROLE_ARN
        region = sm.region if sm else "us-east-1"
        output = output_uri or Path("jobs").resolve().as_uri()
        data = data_uri or default_data_uri(spec, target)
        source = source_uri or (
            contract.training_package_dir().as_uri()
            if spec.training.uses_bundled_package
            else Path(spec.training.source_dir or ".").resolve().as_uri()
        )
    static = spec.static_hyperparameters()
    model = spec.training.model
    if (
        target == "sagemaker"
        and not is_package_uri(model)
        and (model.startswith((".", "/", "~")) or Path(model).exists())
    ):
        raise CompileError(
            f"training.model {model!r} is a folder on this machine, which SageMaker's container cannot see; "
            "use a Hugging Face hub id (or run the job with the local backend)"
        )
    if is_package_uri(model):
        if target == "sagemaker":
            raise CompileError(
                f"training.model {model!r} lives in a package installed here, which SageMaker's container cannot "
                "see; use a hub id, or an S3/locally uploaded model folder"
            )
        try:
            static["model_name_or_path"] = package_path(model)
        except DataError as exc:
            raise CompileError(f"training.model: {exc}") from None
    static["sagemaker_program"] = spec.training.entry_point or ENTRY_SCRIPT
    static["sagemaker_submit_directory"] = source
    training = spec.training
    if target == "sagemaker" and training.launch == "torch_distributed":
        static[TORCH_DISTRIBUTED_HYPERPARAMETER] = "true"
    try:
        image = training.image(region)
    except ValueError as exc:
        raise CompileError(f"training image: {exc}") from None
    definition = rq.TrainingJobDefinitionShape(
        AlgorithmSpecification=rq.AlgorithmSpecificationShape(
            TrainingImage=image, TrainingInputMode="File", MetricDefinitions=metric_definitions(spec)
        ),
        RoleArn=role,
        InputDataConfig=[
            rq.Channel(
                ChannelName=channel,
                DataSource=rq.DataSourceShape(S3DataSource=rq.S3DataSourceShape(S3Uri=f"{data.rstrip('/')}/{channel}")),
            )
            for channel in TUNING_CHANNELS
        ],
        OutputDataConfig=rq.OutputDataConfigShape(S3OutputPath=output),
        ResourceConfig=rq.ResourceConfigShape(
            InstanceType=training.instance_type,
            InstanceCount=training.instance_count,
            VolumeSizeInGB=training.volume_size_gb,
        ),
        StoppingCondition=rq.StoppingConditionShape(
            MaxRuntimeInSeconds=training.max_runtime_seconds, MaxWaitTimeInSeconds=training.max_wait_seconds
        ),
        StaticHyperParameters=static,
        EnableManagedSpotTraining=True if training.use_spot else None,
        CheckpointConfig=rq.CheckpointConfigShape(S3Uri=training.checkpoint_s3_uri)
        if training.checkpoint_s3_uri
        else None,
        Environment=tracking_environment(spec, target, name) or None,
    )
    warm = spec.tuning.warm_start
    return rq.TuningJobRequest(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=_tuning_config(spec),
        TrainingJobDefinition=definition,
        WarmStartConfig=rq.WarmStartConfigShape(
            ParentHyperParameterTuningJobs=[rq.ParentJob(HyperParameterTuningJobName=p) for p in warm.parents],
            WarmStartType="TransferLearning" if warm.type == "transfer_learning" else "IdenticalDataAndAlgorithm",
        )
        if warm
        else None,
        Tags=[rq.Tag(Key=k, Value=v) for k, v in sm.tags.items()] if sm and sm.tags else None,
    )
