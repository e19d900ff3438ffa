"""Where evaluations are kept: ``<job folder>/evaluations/`` (local), ``<jobs dir>/sagemaker/<job>/evaluations/``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ._result import Evaluation

FOLDER = "evaluations"


def evaluations_dir(description: dict[str, Any], jobs_dir: str | os.PathLike[str] = "jobs") -> Path:
    """The folder of a job's evaluations, from its description (``LocalJobDir`` for local jobs)."""
    local = description.get("LocalJobDir")
    if local:
        return Path(local) / FOLDER
    return Path(jobs_dir) / "sagemaker" / str(description["HyperParameterTuningJobName"]) / FOLDER


def evaluation_file(folder: Path, split: str, model: str) -> Path:
    """One file per (model, split): the split and a digest of the model's location."""
    digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:12]
    return folder / f"{split}-{digest}.json"


def saved_evaluations(description: dict[str, Any], jobs_dir: str | os.PathLike[str] = "jobs") -> list[Evaluation]:
    """Every evaluation saved for the job, oldest first (unreadable files are skipped)."""
    folder = evaluations_dir(description, jobs_dir)
    found: list[Evaluation] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(Evaluation.load(path))
        except Exception:
            continue
    return sorted(found, key=lambda e: e.created)


def latest_evaluation(
    description: dict[str, Any], jobs_dir: str | os.PathLike[str] = "jobs", split: str = "test"
) -> Evaluation | None:
    """The newest saved evaluation of ``split``, or ``None``."""
    chosen = [e for e in saved_evaluations(description, jobs_dir) if e.split == split]
    return chosen[-1] if chosen else None
