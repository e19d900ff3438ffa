"""The four problem types (Hugging Face's own names), as the evaluation run's JSON names them."""

from __future__ import annotations

SINGLE_LABEL = "single_label_classification"
MULTI_LABEL = "multi_label_classification"
REGRESSION = "regression"
TOKEN_CLASSIFICATION = "token_classification"
PROBLEM_TYPES = (SINGLE_LABEL, MULTI_LABEL, REGRESSION, TOKEN_CLASSIFICATION)
