"""The article's job (tweet_eval sentiment, DistilBERT, four ranges, Bayesian), corrected, built in Python.

    python examples/tweet_eval_distilbert.py --backend sagemaker   # needs an AWS account (role, bucket)
    python examples/tweet_eval_distilbert.py --backend local       # a GPU box with Hugging Face hub access

Corrections over the article: tuning scores the validation split (the test split is kept for
the final report), the objective is TweetEval sentiment's official metric (macro-averaged
recall), the learning rate is log-scaled over a range fine-tuning survives, and every tuned
hyperparameter reaches the optimizer. The same job as YAML: examples/tweet-eval-distilbert.yaml
(a test keeps the two equal).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hf_sagemaker_tuning.specs import (
    CategoricalParameter,
    ContinuousParameter,
    DatasetSpec,
    IntegerParameter,
    ObjectiveSpec,
    SageMakerSpec,
    TrainingSpec,
    TuningJobSpec,
    TuningSpec,
)


def build_spec(
    role: str = "arn:aws:iam::123456789012:role/SageMakerRole",
    output_path: str = "s3://my-bucket/hpo",
    region: str = "us-east-1",
) -> TuningJobSpec:
    """The job spec, field for field the same as examples/tweet-eval-distilbert.yaml."""
    return TuningJobSpec(
        name="tweet-eval-distilbert",
        dataset=DatasetSpec(
            source="tweet_eval", config="sentiment", text_column="text", label_column="label", max_length=128
        ),
        training=TrainingSpec(
            model="distilbert-base-uncased",
            instance_type="ml.g5.xlarge",
            hyperparameters={"epochs": 2, "per_device_train_batch_size": 32},
        ),
        search_space={
            "learning_rate": ContinuousParameter(min=1e-5, max=1e-4, scaling="logarithmic"),
            "warmup_steps": IntegerParameter(min=0, max=500),
            "optimizer": CategoricalParameter(values=["adamw", "adafactor"]),
            "weight_decay": ContinuousParameter(min=0.0, max=0.1),
        },
        objective=ObjectiveSpec(metric="eval_macro_recall", direction="maximize"),
        tuning=TuningSpec(strategy="bayesian", max_jobs=20, max_parallel_jobs=2, early_stopping="auto"),
        sagemaker=SageMakerSpec(role=role, region=region, output_path=output_path),
    )


def main() -> None:
    from rich.console import Console

    from hf_sagemaker_tuning.backends.local import search
    from hf_sagemaker_tuning.backends.progress import follow
    from hf_sagemaker_tuning.compile import compile_request, default_data_uri
    from hf_sagemaker_tuning.data import prepare_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sagemaker", "local"], required=True)
    parser.add_argument(
        "--role", default=os.environ.get("SAGEMAKER_ROLE", "arn:aws:iam::123456789012:role/SageMakerRole")
    )
    parser.add_argument("--output-path", default=os.environ.get("HFST_OUTPUT_PATH", "s3://my-bucket/hpo"))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args()
    spec = build_spec(args.role, args.output_path, args.region)
    console = Console()
    if args.backend == "sagemaker":
        from hf_sagemaker_tuning.backends.sagemaker import SageMakerBackend

        data_uri = default_data_uri(spec, "sagemaker")
        console.print(prepare_dataset(spec.dataset, tokenizer=spec.training.model, output=data_uri).summary())
        request = compile_request(spec, target="sagemaker", data_uri=data_uri)
        remote = SageMakerBackend(args.region)
        job = remote.submit(request)
        answer = follow(remote, job, console, limit=search.max_trials(request))
    else:
        from hf_sagemaker_tuning.backends.local import LocalBackend

        folder = Path("prepared") / spec.name
        console.print(prepare_dataset(spec.dataset, tokenizer=spec.training.model, output=folder).summary())
        request = compile_request(spec, target="local", data_uri=folder.resolve().as_uri())
        local = LocalBackend("jobs")
        job = local.submit(request)
        answer = follow(local, str(Path("jobs") / job), console, limit=search.max_trials(request))
    console.print(
        answer["HyperParameterTuningJobStatus"], answer.get("BestTrainingJob", {}).get("TunedHyperParameters")
    )


if __name__ == "__main__":
    main()
