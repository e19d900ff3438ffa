"""``TuningJobRequest``: the CreateHyperParameterTuningJob request body, typed.

Field names are the API's own (PascalCase), so ``request.to_api()`` is exactly the
dictionary boto3 sends, and reading this module next to the API reference is easy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntegerParameterRange(_Shape):
    Name: str
    MinValue: str
    MaxValue: str
    ScalingType: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


class ContinuousParameterRange(_Shape):
    Name: str
    MinValue: str
    MaxValue: str
    ScalingType: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


class CategoricalParameterRange(_Shape):
    Name: str
    Values: list[str]


class ParameterRangesShape(_Shape):
    IntegerParameterRanges: list[IntegerParameterRange]
    ContinuousParameterRanges: list[ContinuousParameterRange]
    CategoricalParameterRanges: list[CategoricalParameterRange]


class ResourceLimitsShape(_Shape):
    MaxNumberOfTrainingJobs: int | None = None
    MaxParallelTrainingJobs: int
    MaxRuntimeInSeconds: int | None = None


class Objective(_Shape):
    Type: Literal["Maximize", "Minimize"]
    MetricName: str


class HyperbandStrategyConfigShape(_Shape):
    MinResource: int
    MaxResource: int


class StrategyConfigShape(_Shape):
    HyperbandStrategyConfig: HyperbandStrategyConfigShape


class BestObjectiveNotImprovingShape(_Shape):
    MaxNumberOfTrainingJobsNotImproving: int


class ConvergenceDetectedShape(_Shape):
    CompleteOnConvergence: Literal["Disabled", "Enabled"]


class CompletionCriteria(_Shape):
    TargetObjectiveMetricValue: float | None = None
    BestObjectiveNotImproving: BestObjectiveNotImprovingShape | None = None
    ConvergenceDetected: ConvergenceDetectedShape | None = None


class TuningJobConfig(_Shape):
    Strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"]
    StrategyConfig: StrategyConfigShape | None = None
    HyperParameterTuningJobObjective: Objective
    ResourceLimits: ResourceLimitsShape
    ParameterRanges: ParameterRangesShape
    TrainingJobEarlyStoppingType: Literal["Off", "Auto"]
    TuningJobCompletionCriteria: CompletionCriteria | None = None
    RandomSeed: int | None = None


class MetricDefinition(_Shape):
    Name: str
    Regex: str


class AlgorithmSpecificationShape(_Shape):
    TrainingImage: str
    TrainingInputMode: Literal["File", "FastFile", "Pipe"] = "File"
    MetricDefinitions: list[MetricDefinition]


class S3DataSourceShape(_Shape):
    S3DataType: Literal["S3Prefix"] = "S3Prefix"
    S3Uri: str
    S3DataDistributionType: Literal["FullyReplicated"] = "FullyReplicated"


class DataSourceShape(_Shape):
    S3DataSource: S3DataSourceShape


class Channel(_Shape):
    ChannelName: str
    DataSource: DataSourceShape
    InputMode: Literal["File", "FastFile", "Pipe"] | None = None


class OutputDataConfigShape(_Shape):
    S3OutputPath: str


class ResourceConfigShape(_Shape):
    InstanceType: str
    InstanceCount: int
    VolumeSizeInGB: int


class StoppingConditionShape(_Shape):
    MaxRuntimeInSeconds: int
    MaxWaitTimeInSeconds: int | None = None


class CheckpointConfigShape(_Shape):
    S3Uri: str


class TrainingJobDefinitionShape(_Shape):
    AlgorithmSpecification: AlgorithmSpecificationShape
    RoleArn: str
    InputDataConfig: list[Channel]
    OutputDataConfig: OutputDataConfigShape
    ResourceConfig: ResourceConfigShape
    StoppingCondition: StoppingConditionShape
    StaticHyperParameters: dict[str, str]
    EnableManagedSpotTraining: bool | None = None
    CheckpointConfig: CheckpointConfigShape | None = None
    Environment: dict[str, str] | None = None


class ParentJob(_Shape):
    HyperParameterTuningJobName: str


class WarmStartConfigShape(_Shape):
    ParentHyperParameterTuningJobs: list[ParentJob]
    WarmStartType: Literal["IdenticalDataAndAlgorithm", "TransferLearning"]


class Tag(_Shape):
    Key: str
    Value: str


class TuningJobRequest(_Shape):
    """The CreateHyperParameterTuningJob request; ``to_api()`` is what boto3 receives."""

    HyperParameterTuningJobName: str
    HyperParameterTuningJobConfig: TuningJobConfig
    TrainingJobDefinition: TrainingJobDefinitionShape
    WarmStartConfig: WarmStartConfigShape | None = None
    Tags: list[Tag] | None = None

    def to_api(self) -> dict[str, Any]:
        """The request body as boto3's ``create_hyper_parameter_tuning_job(**body)`` takes it."""
        body: dict[str, Any] = self.model_dump(mode="python", exclude_none=True)
        return body

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> TuningJobRequest:
        """Read a request body back (e.g. from a job folder's ``request.json``)."""
        return cls.model_validate(body)

    @property
    def job_name(self) -> str:
        return self.HyperParameterTuningJobName

    @property
    def objective_metric(self) -> str:
        return self.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName

    @property
    def maximize(self) -> bool:
        return self.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type == "Maximize"

    def channels(self) -> dict[str, str]:
        """Channel name -> data URI."""
        return {c.ChannelName: c.DataSource.S3DataSource.S3Uri for c in self.TrainingJobDefinition.InputDataConfig}
