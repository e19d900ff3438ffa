"""The training job's errors: one root, and a message that goes to the failure file."""

from __future__ import annotations


class TrainingJobError(Exception):
    """A failure of the training job whose message is the whole reason (no traceback needed)."""


class HyperparameterError(TrainingJobError, ValueError):
    """An unknown hyperparameter, or a value of the wrong type or outside its bounds or choices."""


class DataError(TrainingJobError, ValueError):
    """A channel is missing or does not hold the expected tokenized dataset."""


class NonFiniteLossError(TrainingJobError, ArithmeticError):
    """The loss became NaN or infinite."""


class CheckpointError(TrainingJobError):
    """A checkpoint exists but cannot be used for this run."""


class ModelError(TrainingJobError, ValueError):
    """The model or its tokenizer cannot be trained as a sequence classifier as they are."""
