"""The bundled training package's contract, read from the data files it ships.

``training/hyperparameters.json`` declares every hyperparameter ``train.py``
accepts; ``training/metrics.json`` declares the metric line it prints;
``training/official_metrics.json`` names each known task's official metric. Both the
library (validation, regex generation, preparing data) and the training package read
these files, so the two sides cannot drift.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

#: One regex group that reads a printed number whole: ``1e-05``, ``-0.3``, ``12.5``, ``3``, ``.5``,
#: ``nan``, ``inf``, ``-inf``. (The classic ``([0-9\.]+)`` reads ``1e-05`` as ``1`` and drops signs.)
NUMBER_PATTERN = r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:nan|inf))"

HyperparameterType = Literal["float", "int", "str", "bool"]


@dataclass(frozen=True)
class DeclaredHyperparameter:
    """One hyperparameter the training package accepts."""

    name: str
    type: HyperparameterType
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DeclaredMetric:
    name: str
    direction: Literal["minimize", "maximize"]
    help: str


def training_package_dir() -> Path:
    """The folder of the bundled training package (the estimator's ``source_dir``).

    In an installed wheel it ships as ``hf_sagemaker_tuning/_training``; in a
    source checkout it is the repository's ``training/`` folder.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_training", here.parent / "training"):
        if (candidate / "hyperparameters.json").is_file():
            return candidate
    raise FileNotFoundError(
        "the bundled training package was not found (looked for hf_sagemaker_tuning/_training and ./training)"
    )


def is_bundled_package(uri: str) -> bool:
    """Whether a local ``sagemaker_submit_directory`` (a folder or ``file://`` URI) is the bundled package.

    Any other scheme (``s3://``) is not a local folder: ``False``.
    """
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return False
    folder = Path(unquote(parsed.path) if parsed.scheme else uri)
    return folder.resolve() == training_package_dir().resolve()


@cache
def declared_hyperparameters(path: str | None = None) -> dict[str, DeclaredHyperparameter]:
    """The hyperparameters declared in ``hyperparameters.json`` (default: the bundled package's)."""
    file = Path(path) if path else training_package_dir() / "hyperparameters.json"
    raw = json.loads(file.read_text(encoding="utf-8"))["hyperparameters"]
    out: dict[str, DeclaredHyperparameter] = {}
    for name, decl in raw.items():
        choices = decl.get("choices")
        out[name] = DeclaredHyperparameter(
            name=name,
            type=decl["type"],
            default=decl.get("default"),
            help=decl.get("help", ""),
            min=decl.get("min"),
            max=decl.get("max"),
            choices=tuple(choices) if choices is not None else None,
        )
    return out


@lru_cache(maxsize=1)
def _metrics_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((training_package_dir() / "metrics.json").read_text(encoding="utf-8"))
    return data


def metric_line_prefix() -> str:
    """The tag that starts every metric line (``hfst_metric``)."""
    return str(_metrics_file()["line_prefix"])


def declared_metrics() -> dict[str, DeclaredMetric]:
    """The metrics the bundled training package prints, with their natural direction."""
    return {
        name: DeclaredMetric(name=name, direction=m["direction"], help=m.get("help", ""))
        for name, m in _metrics_file()["metrics"].items()
    }


#: Hugging Face's problem-type names, the bundled package's default first.
PROBLEM_TYPES = (
    "single_label_classification",
    "multi_label_classification",
    "regression",
    "token_classification",
)


def problem_type_metrics(problem_type: str) -> tuple[str, ...]:
    """The metrics the bundled package prints for a problem type (``metrics.json``'s ``problem_types``)."""
    return tuple(_metrics_file()["problem_types"][problem_type]["metrics"])


def primary_metric(problem_type: str) -> str:
    """The metric that ``metric_for_best_model``'s default stands for with this problem type."""
    return str(_metrics_file()["problem_types"][problem_type]["primary"])


def metric_family(name: str) -> tuple[str, DeclaredMetric] | None:
    """``(problem type, declaration)`` of a metric built from the data (``eval_f1_<entity type>``), if it is one."""
    for prefix, family in _metrics_file().get("families", {}).items():
        if name.startswith(prefix) and re.fullmatch(r"[a-z0-9_]+", name[len(prefix) :]):
            return str(family["problem_type"]), DeclaredMetric(name, family["direction"], family.get("help", ""))
    return None


def metric_declaration(name: str) -> DeclaredMetric | None:
    """The declaration of a metric the package prints: a declared one or a family member; else ``None``."""
    declared = declared_metrics().get(name)
    if declared is not None:
        return declared
    family = metric_family(name)
    return None if family is None else family[1]


def entity_metric_name(entity_type: str) -> str:
    """``eval_f1_<type>``: the type lower-cased, every character outside ``[a-z0-9]`` as ``_`` (as the package does)."""
    return "eval_f1_" + "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in entity_type.lower())


def metric_regex(name: str) -> str:
    """The regex (exactly one group) that reads metric ``name`` from the package's metric line.

    The line looks like ``hfst_metric epoch=2 step=570 eval_loss=0.6311 ...``; the
    key must follow white space so ``eval_loss`` never matches inside ``x_eval_loss``
    (no look-behind: the pattern stays within what AMT's regex engine reads).
    """
    return rf"{re.escape(metric_line_prefix())}\b.*?\s{re.escape(name)}={NUMBER_PATTERN}"


def format_metric_line(values: dict[str, float | int]) -> str:
    """A metric line as ``train.py`` prints it (used by tests and fakes; train.py has its own copy)."""
    parts = [f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}" for key, value in values.items()]
    return " ".join([metric_line_prefix(), *parts])


@lru_cache(maxsize=1)
def official_metrics() -> dict[str, dict[str, Any]]:
    """Task name (e.g. ``tweet_eval/emotion``) -> its official metric (name, score, classes, problem_type)."""
    raw = json.loads((training_package_dir() / "official_metrics.json").read_text(encoding="utf-8"))
    return {str(task): dict(metric) for task, metric in raw["tasks"].items()}
