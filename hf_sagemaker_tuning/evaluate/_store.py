"""Where evaluations are kept: with the job, through its backend (``Backend.save_evaluation``).

Local jobs keep them in ``<job folder>/evaluations/``; SageMaker jobs next to their spec in
S3 (``<output>/<job>/evaluations/``). One document per (model, split).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ._result import Evaluation

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend


def evaluation_key(split: str, model: str) -> str:
    """One key per (model, split): the split and a digest of the model's location."""
    digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:12]
    return f"{split}-{digest}"


def save_evaluation(backend: Backend, job: str, evaluation: Evaluation) -> None:
    """Keep ``evaluation`` with the job (replacing the one of the same model and split)."""
    document = json.dumps(evaluation.to_json(), indent=2)
    backend.save_evaluation(job, evaluation_key(evaluation.split, evaluation.model), document)


def saved_evaluations(backend: Backend, job: str) -> list[Evaluation]:
    """Every evaluation kept with the job, oldest first (unreadable documents are skipped)."""
    found: list[Evaluation] = []
    for document in backend.evaluations(job).values():
        try:
            found.append(Evaluation.from_json(json.loads(document)))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda e: e.created)


def saved_evaluation(backend: Backend, job: str, split: str, model: str) -> Evaluation | None:
    """The evaluation kept for this (model, split), or ``None``."""
    document = backend.evaluations(job).get(evaluation_key(split, model))
    if document is None:
        return None
    try:
        return Evaluation.from_json(json.loads(document))
    except (ValueError, KeyError, TypeError):
        return None


def latest_evaluation(backend: Backend, job: str, split: str = "test") -> Evaluation | None:
    """The newest saved evaluation of ``split``, or ``None``."""
    chosen = [e for e in saved_evaluations(backend, job) if e.split == split]
    return chosen[-1] if chosen else None
