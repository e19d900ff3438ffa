"""Failures knowable before submit, beyond what SageMaker's request model checks: one entry point.

Each layer has its own module, and each rule there names its source:

* ``training_stack``: values torch and transformers refuse at run time;
* ``precision``: precision the instance lacks (hardware facts in ``gpus``);
* ``model_limits``: ``dataset.max_length`` above what the model accepts;
* ``warmup``: warm-up at or above a run's total steps;
* ``aws_names``: S3 bucket names, IAM role ARNs and partitions;
* ``image_uri`` (called from ``offline.check_image``): a training image of the wrong kind;
* ``gpu_use``: GPUs and instances a trial pays for and leaves idle; how a trial uses them (``gpus`` table);
* ``memory_fit``: a model whose weights, gradients and optimizer states exceed one GPU's memory;
* ``objective_checks``: an objective regex the bundled package's line never matches; AMT settings that never fire.
"""

from __future__ import annotations

from ..specs.job import TuningJobSpec
from ._findings import Findings
from .aws_names import check_aws_names
from .gpu_use import check_gpu_use
from .memory_fit import check_memory_fit
from .model_limits import length_limit
from .objective_checks import check_completion, check_hyperband, check_regex_against_package
from .precision import check_precision
from .training_stack import check_training_stack
from .warmup import check_warmup


def check_max_length(spec: TuningJobSpec, findings: Findings) -> None:
    """``dataset.max_length`` above the model's position embeddings (when the model's files are here)."""
    limit = length_limit(spec.training.model)
    if limit is not None and spec.dataset.max_length > limit.tokens:
        findings.add(
            "dataset.max_length",
            f"{spec.dataset.max_length} is above the {limit.tokens} tokens the model accepts ({limit.source}); "
            f"set max_length <= {limit.tokens}",
        )


def check_knowable_offline(
    spec: TuningJobSpec, findings: Findings, *, sagemaker: bool = True, train_examples: int | None = None
) -> None:
    """Every check of this module's list on a valid spec.

    Args:
        spec: The spec.
        findings: Where the findings go.
        sagemaker: Whether the job is checked for SageMaker (else the role and the job's S3 paths are unused).
        train_examples: Training examples per epoch, when known (else ``dataset.max_train_samples`` or the
            prepared data's manifest), for the warm-up check.
    """
    check_aws_names(spec, findings, sagemaker=sagemaker)
    check_training_stack(spec, findings)
    check_precision(spec, findings)
    if sagemaker:  # the local backend runs on this machine's hardware, one process per trial
        check_gpu_use(spec, findings)
        check_memory_fit(spec, findings)
    check_max_length(spec, findings)
    check_warmup(spec, findings, train_examples)
    check_regex_against_package(spec, findings)
    check_completion(spec, findings)
    check_hyperband(spec, findings)
