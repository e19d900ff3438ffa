"""A valid spec as plain data, and a way to change one field of it."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "name": "tweet-eval-distilbert",
    "dataset": {"source": "tweet_eval", "config": "sentiment", "text_column": "text", "label_column": "label"},
    "training": {
        "model": "distilbert-base-uncased",
        "instance_type": "ml.g5.xlarge",
        "hyperparameters": {"epochs": 2, "per_device_train_batch_size": 32},
    },
    "search_space": {
        "learning_rate": {"kind": "continuous", "min": 1e-5, "max": 1e-4, "scaling": "logarithmic"},
        "warmup_steps": {"kind": "integer", "min": 0, "max": 500},
        "optimizer": {"kind": "categorical", "values": ["adamw", "adafactor"]},
        "weight_decay": {"kind": "continuous", "min": 0.0, "max": 0.1},
    },
    "objective": {"metric": "eval_macro_recall", "direction": "maximize"},
    "tuning": {"strategy": "bayesian", "max_jobs": 20, "max_parallel_jobs": 2, "early_stopping": "auto"},
    "sagemaker": {
        "role": "arn:aws:iam::123456789012:role/SageMakerRole",
        "region": "us-east-1",
        "output_path": "s3://my-bucket/hpo",
    },
}


def spec_with(**changes: Any) -> dict[str, Any]:
    """BASE with dotted-path changes: ``spec_with(**{"tuning.max_jobs": 5})``; a value of ``...`` deletes."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data
