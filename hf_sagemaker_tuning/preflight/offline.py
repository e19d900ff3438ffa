"""The offline pre-flight: everything compile, the image lookup or submit would refuse, found at once.

``check_spec`` runs on a valid spec; ``check_spec_file`` also runs on a file whose spec does not validate,
so a bad field and a missing ``source_dir`` are reported together. ``hfst validate`` and ``hfst compile``
share this one path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from .. import contract, images
from ..errors import CompileError, DataError, SpecError
from ..packaged import is_package_uri, package_path
from ..specs._hub import looks_like_local_path
from ..specs.job import TuningJobSpec
from ..specs.training import TrainingSpec
from ._findings import Findings
from ._hints import direction_hints, pointless_search
from .aws_names import check_raw_names
from .gpus import cuda_problem, cuda_version
from .image_uri import image_uri_problems
from .knowable import check_knowable_offline
from .precision import check_raw_precision
from .service_model import request_field_problems

Target = Literal["sagemaker", "local"]
#: A tokenizer is any of these files (fast tokenizer, its config, or a slow tokenizer's vocabulary).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
)
#: Request field (dotted, as sent) -> the spec field that feeds it; the longest matching prefix wins.
REQUEST_TO_SPEC = {
    "HyperParameterTuningJobName": "name",
    "HyperParameterTuningJobConfig.Strategy": "tuning.strategy",
    "HyperParameterTuningJobConfig.StrategyConfig": "tuning.hyperband",
    "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective": "objective.metric",
    "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs": "tuning.max_jobs",
    "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs": "tuning.max_parallel_jobs",
    "HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds": "tuning.max_runtime_seconds",
    "HyperParameterTuningJobConfig.ParameterRanges": "search_space",
    "HyperParameterTuningJobConfig.TuningJobCompletionCriteria": "tuning.completion",
    "HyperParameterTuningJobConfig.RandomSeed": "tuning.random_seed",
    "TrainingJobDefinition.AlgorithmSpecification.TrainingImage": "training.image_uri",
    "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions": "objective",
    "TrainingJobDefinition.RoleArn": "sagemaker.role",
    "TrainingJobDefinition.InputDataConfig": "sagemaker.data_uri",
    "TrainingJobDefinition.OutputDataConfig": "sagemaker.output_path",
    "TrainingJobDefinition.ResourceConfig.InstanceType": "training.instance_type",
    "TrainingJobDefinition.ResourceConfig.InstanceCount": "training.instance_count",
    "TrainingJobDefinition.ResourceConfig.VolumeSizeInGB": "training.volume_size_gb",
    "TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds": "training.max_runtime_seconds",
    "TrainingJobDefinition.StoppingCondition.MaxWaitTimeInSeconds": "training.max_wait_seconds",
    "TrainingJobDefinition.StaticHyperParameters.model_name_or_path": "training.model",
    "TrainingJobDefinition.StaticHyperParameters.sagemaker_program": "training.entry_point",
    "TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory": "sagemaker.output_path",
    "TrainingJobDefinition.StaticHyperParameters": "training.hyperparameters",
    "TrainingJobDefinition.CheckpointConfig": "training.checkpoint_s3_uri",
    "WarmStartConfig": "tuning.warm_start",
    "Tags": "sagemaker.tags",
}

#: Request fields that hold file:// locations when compiled for the local backend.
_LOCAL_LOCATIONS = (
    "TrainingJobDefinition.InputDataConfig",
    "TrainingJobDefinition.OutputDataConfig",
    "TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory",
)


def default_target(spec: TuningJobSpec) -> Target:
    """``sagemaker`` when the spec has a ``sagemaker`` section, else ``local``."""
    return "sagemaker" if spec.sagemaker is not None else "local"


def model_folder_problem(folder: Path) -> str | None:
    """What a local model folder lacks (a config, safetensors weights, a tokenizer), or ``None``."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any(folder.glob("*.safetensors")):
        missing.append("weights (*.safetensors)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        missing.append("a tokenizer (tokenizer.json, tokenizer_config.json or a vocabulary file)")
    if missing:
        return f"the model folder {folder} has no {', no '.join(missing)}"
    return None


def check_model(model: str, target: Target, findings: Findings) -> None:
    """``training.model``: a package or folder must hold a loadable model; SageMaker cannot see either."""
    where = "training.model"
    if is_package_uri(model):
        if target == "sagemaker":
            findings.add(
                where,
                f"{model!r} lives in a package installed here, which SageMaker's container cannot see; use a hub id "
                "(or run the job with the local backend)",
            )
            return
        try:
            folder = Path(package_path(model))
        except DataError as exc:
            findings.add(where, str(exc))
            return
    elif looks_like_local_path(model) or Path(model).exists():
        if target == "sagemaker":
            findings.add(
                where,
                f"{model!r} is a folder on this machine, which SageMaker's container cannot see; use a Hugging Face "
                "hub id (or run the job with the local backend)",
            )
            return
        folder = Path(model).expanduser()
        if not folder.exists():
            findings.add(where, f"no model folder at {folder} (a local model must be a folder on this machine)")
            return
    else:
        return  # a hub id: its syntax is checked by the spec
    problem = model_folder_problem(folder)
    if problem:
        findings.add(where, problem)


def check_source(entry_point: str | None, source_dir: str | None, findings: Findings) -> None:
    """The training code submit uploads must be there: ``source_dir`` a folder holding ``entry_point``."""
    if entry_point is None or source_dir is None:
        try:
            contract.training_package_dir()
        except FileNotFoundError as exc:
            findings.add("training", str(exc))
        return
    folder = Path(source_dir).expanduser()
    if not folder.is_dir():
        findings.add("training.source_dir", f"no folder at {folder.resolve()} (it is packed and uploaded as the code)")
    elif not (folder / entry_point).is_file():
        findings.add("training.entry_point", f"{entry_point!r} is not a file in {folder.resolve()}")


def check_image(
    training: Mapping[str, Any],
    region: str,
    findings: Findings,
    instance_type: str | None,
    *,
    image_region: str | None = None,
) -> None:
    """The training image the request names must exist for the region and the instance's processor.

    ``instance_type`` ``None`` skips the processor checks (the field itself is already wrong); an
    ``image_uri`` override is checked for its kind and, given ``image_region``, for the job's region.
    """
    processor = images.processor_for(instance_type) if instance_type else None
    image_uri = training.get("image_uri")
    if image_uri:
        bundled = training.get("entry_point") is None
        for message in image_uri_problems(str(image_uri), region=image_region, processor=processor, bundled=bundled):
            findings.add("training.image_uri", message)
        cuda = cuda_version(str(image_uri).rsplit(":", 1)[-1])
        problem = cuda_problem(cuda, instance_type) if cuda and instance_type else None
        if problem:
            findings.add("training.image_uri", problem, "warning")
        return
    defaults = TrainingSpec.model_fields
    versions = [
        training.get(name, defaults[name].default)
        for name in ("transformers_version", "pytorch_version", "python_version")
    ]
    try:
        choice = images.resolve("training", str(versions[0]), versions[1], versions[2])
    except ValueError as exc:
        findings.add("training.transformers_version", str(exc))
        return
    if region not in choice.registries:
        findings.add(
            "sagemaker.region",
            f"region {region!r} has no Hugging Face training image for transformers {choice.transformers_version}; "
            f"{len(choice.registries)} regions have one, e.g. {', '.join(sorted(choice.registries)[:5])}",
        )
    if processor and processor not in choice.processors:
        findings.add(
            "training.instance_type",
            f"the Hugging Face training image for transformers {choice.transformers_version} runs on "
            f"{'/'.join(choice.processors).upper()} only; {instance_type!r} is a {processor.upper()} instance",
        )
    cuda = cuda_version(choice.container_versions.get("gpu", ""))
    problem = cuda_problem(cuda, instance_type) if cuda and instance_type else None
    if problem:
        findings.add(
            "training.transformers_version", f"transformers {choice.transformers_version}: {problem}", "warning"
        )


def _spec_path(request_path: str, body: Mapping[str, Any]) -> str:
    key = max(
        (
            k
            for k in REQUEST_TO_SPEC
            if request_path == k or request_path.startswith(k + ".") or request_path.startswith(k + "[")
        ),
        key=len,
        default=None,
    )
    if key is None:
        return "(top level)"
    spec_path = REQUEST_TO_SPEC[key]
    rest = request_path[len(key) :]
    if spec_path == "search_space":  # ...ParameterRanges.ContinuousParameterRanges[0].MinValue -> the name
        kind, _, index = rest.lstrip(".").partition("[")
        ranges = body["HyperParameterTuningJobConfig"]["ParameterRanges"].get(kind, [])
        if index and index.split("]")[0].isdigit() and int(index.split("]")[0]) < len(ranges):
            return f"search_space.{ranges[int(index.split(']')[0])]['Name']}"
    if spec_path == "training.hyperparameters" and rest:
        return f"training.hyperparameters.{rest.lstrip('.').split('.')[0]}"
    return spec_path


def check_request(spec: TuningJobSpec, target: Target, findings: Findings) -> None:
    """Compile the request as ``compile`` does and check every field against botocore's service model."""
    from ..compile import compile_request, validate_request_body

    try:
        body = compile_request(spec, target=target).to_api()
        validate_request_body(body)
    except CompileError as exc:
        text = str(exc)
        findings.add(text.split(" ", 1)[0].rstrip(":") if text.startswith("training.") else "(request)", text)
        return
    for request_path, message in request_field_problems(body):
        if target == "local" and request_path.startswith(_LOCAL_LOCATIONS):
            continue  # the local backend reads and writes file:// locations
        findings.add(_spec_path(request_path, body), f"{message} (request field {request_path})")


def check_spec(
    spec: TuningJobSpec,
    *,
    target: Target | None = None,
    findings: Findings | None = None,
    train_examples: int | None = None,
) -> Findings:
    """Every offline check of a valid spec for ``target`` (default: ``default_target(spec)``).

    ``train_examples`` (training examples per epoch, when known) lets the warm-up check work out a run's steps.

    Returns:
        The findings: errors (what compile, the image lookup or submit would refuse, or what would mislead the
        tuner), warnings and notes, each with its field path. ``findings.raise_for_errors()`` raises them as
        one ``SpecError``.
    """
    out = findings if findings is not None else Findings()
    chosen = target or default_target(spec)
    if chosen == "sagemaker" and spec.sagemaker is None:
        out.add("sagemaker", "the SageMaker backend needs a `sagemaker:` section (role, region, output_path)")
    check_model(spec.training.model, chosen, out)
    check_source(spec.training.entry_point, spec.training.source_dir, out)
    region = spec.sagemaker.region if spec.sagemaker else "us-east-1"
    image_region = spec.sagemaker.region if spec.sagemaker and chosen == "sagemaker" else None
    check_image(spec.training.model_dump(), region, out, spec.training.instance_type, image_region=image_region)
    check_dataset_source(spec, chosen, out)
    if out.ok:
        check_request(spec, chosen, out)
    check_knowable_offline(spec, out, sagemaker=chosen == "sagemaker", train_examples=train_examples)
    for path, message, severity in [*direction_hints(spec), *pointless_search(spec)]:
        out.add(path, message, severity)
    for note in spec.notes:
        out.add(note.split("=", 1)[0] if note.startswith("tuning.") else "tuning", note, "note")
    return out


def check_dataset_source(spec: TuningJobSpec, target: Target, findings: Findings) -> None:
    """A local or package data source that is not there cannot be prepared (a warning: it may be prepared)."""
    dataset = spec.dataset
    kind = dataset.resolved_kind
    if kind == "package":
        try:
            package_path(dataset.source)
        except DataError as exc:
            findings.add("dataset.source", str(exc), "warning")
    elif kind in ("files", "disk") and not Path(os.path.expanduser(dataset.source)).exists():
        findings.add(
            "dataset.source", f"no file or folder at {dataset.source!r}; `hfst prepare` will not find it", "warning"
        )


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def check_spec_file(
    path: str | os.PathLike[str], *, target: Target | None = None, train_examples: int | None = None
) -> tuple[TuningJobSpec | None, Findings]:
    """Load and check a spec file: the spec's own errors plus every pre-flight finding, all at once.

    When the spec does not validate, the checks that need only plain values (the model, the training code,
    the image for the region) still run on the file's data, so their problems are listed too.

    Returns:
        The spec (``None`` when it does not validate) and the findings.

    Raises:
        SpecError: the file cannot be read as a spec at all (missing, not YAML/JSON, too large...).
    """
    from ..specs._load import read_spec_file
    from ..specs.io import parse_job_spec

    source = str(Path(path))
    data = read_spec_file(Path(path))
    findings = Findings(source=source)
    try:
        spec = parse_job_spec(data, source=source)
    except SpecError as exc:
        if not exc.errors or not isinstance(data, Mapping):
            raise
        findings.extend(exc.errors)
        _check_raw(data, target, findings)
        return None, findings
    return spec, check_spec(spec, target=target, findings=findings, train_examples=train_examples)


def _check_raw(data: Mapping[str, Any], target: Target | None, findings: Findings) -> None:
    """The plain-value checks on a spec that did not validate (types checked; skipped where a field is bad)."""
    bad = findings.error_paths()
    training, sagemaker = _section(data, "training"), _section(data, "sagemaker")
    chosen: Target = target or ("sagemaker" if sagemaker else "local")
    model = training.get("model")
    if isinstance(model, str) and model and "training.model" not in bad:
        check_model(model, chosen, findings)
    entry, source_dir = training.get("entry_point"), training.get("source_dir")
    if isinstance(entry, str) and isinstance(source_dir, str):
        check_source(entry, source_dir, findings)
    region = sagemaker.get("region", "us-east-1")
    check_raw_precision(training, findings)
    known_region = region if isinstance(region, str) and "sagemaker.region" not in bad else None
    check_raw_names(data, known_region, findings, sagemaker=chosen == "sagemaker")
    fields = ("training.transformers_version", "training.pytorch_version", "training.python_version")
    if isinstance(region, str) and "sagemaker.region" not in bad and not bad & set(fields):
        instance = training.get("instance_type", TrainingSpec.model_fields["instance_type"].default)
        usable = isinstance(instance, str) and "training.instance_type" not in bad and "training" not in bad
        image_region = region if chosen == "sagemaker" and sagemaker else None
        check_image(training, region, findings, instance if usable else None, image_region=image_region)
