"""``PreparedDataset``: what a prepare produced, its JSON manifest form, and its summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import DataError
from ._tokenize import LengthStats

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hf-sagemaker-tuning/prepared-dataset"
MANIFEST_VERSION = 1
TRUNCATION_WARN_FRACTION = 0.01


@dataclass(frozen=True)
class SplitReport:
    """One written channel: rows, label balance, token lengths, truncation and the rows dropped, by reason.

    ``dropped`` counts rows of the source split removed by cleaning (``empty``, ``duplicate``) and by the
    sample caps (``over_sample_cap``). ``kept`` counts the empty and duplicate rows that were found but
    kept: the test split keeps every row unless ``cleaning.clean_test``. A carved validation split reports
    its source as ``train (carved)``; the cleaning of those rows is counted under ``train``.
    """

    rows: int
    source_split: str
    label_counts: Mapping[str, int]
    lengths: LengthStats
    truncated: int
    dropped: Mapping[str, int] = field(default_factory=dict)
    kept: Mapping[str, int] = field(default_factory=dict)
    #: The problem type's statistics: multi-label ``label_cardinality`` and ``labels_per_text``; regression
    #: ``min``, ``max``, ``mean``, ``std`` (original scale); token classification ``entities``, ``entities_cut``
    #: and ``texts_with_entities_cut`` (``label_counts`` then counts entities per type).
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def truncated_fraction(self) -> float:
        """Share of this split's examples longer than ``max_length`` (cut to it)."""
        return self.truncated / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class PreparedDataset:
    """A prepared dataset: tokenized channels (``save_to_disk`` folders) and their manifest.

    Attributes:
        output: The output folder or ``s3://`` prefix.
        channels: Channel name (``train``, ``validation``, ``test``) to its location.
        label_names: Class names in id order.
        splits: Per-channel report.
        fingerprint: sha256 of the source content and every option that shapes the channels.
        tokenizer: The tokenizer (hub id or local folder).
        max_length: Tokens per example after truncation.
        columns: Columns of every channel.
        created: UTC time the channels were written (ISO 8601).
        library_version: hf-sagemaker-tuning version that wrote them.
        source: The dataset spec's source.
        warnings: Things worth a look (e.g. much truncation, split files found but not used).
        cache_hit: ``True`` when this call found the output already prepared and did no work.
        task: The task the dataset names (e.g. ``tweet_eval/emotion``), when it names one.
        official_metric: That task's official metric (``name``, ``score``, ``classes``).
        notes: What the summary should say (e.g. a ``val`` split read as validation).
        problem_type: Hugging Face's name of what is predicted (``single_label_classification``, ...).
        target_scale: Regression with ``standardize_target``: the train split's ``mean`` and ``std``
            (channels hold ``(y - mean) / std``; the model's predictions are mapped back).
        folds: The cross-validation fold assignment's options, rule and fold sizes, when one was written.
    """

    output: str
    channels: Mapping[str, str]
    label_names: tuple[str, ...]
    splits: Mapping[str, SplitReport]
    fingerprint: str
    tokenizer: str
    max_length: int
    columns: tuple[str, ...]
    created: str
    library_version: str
    source: str
    warnings: tuple[str, ...] = ()
    cache_hit: bool = False
    task: str | None = None
    official_metric: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()
    problem_type: str = "single_label_classification"
    target_scale: Mapping[str, float] | None = None
    folds: Mapping[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Rows per channel."""
        return {name: report.rows for name, report in self.splits.items()}

    @property
    def label_balance(self) -> dict[str, dict[str, int]]:
        """Rows per label name, per channel."""
        return {name: dict(report.label_counts) for name, report in self.splits.items()}

    @property
    def length_stats(self) -> dict[str, LengthStats]:
        """Token length statistics (before truncation), per channel."""
        return {name: report.lengths for name, report in self.splits.items()}

    @property
    def truncated_fraction(self) -> float:
        """Share of all examples, over every channel, that were truncated."""
        rows = sum(r.rows for r in self.splits.values())
        return sum(r.truncated for r in self.splits.values()) / rows if rows else 0.0

    @property
    def cleaning_report(self) -> dict[str, dict[str, int]]:
        """Rows dropped per reason, per channel (``kept_report``: the rows found but kept)."""
        return {name: dict(report.dropped) for name, report in self.splits.items()}

    @property
    def kept_report(self) -> dict[str, dict[str, int]]:
        """Empty and duplicate rows found but kept, per reason, per channel (the test split, by default)."""
        return {name: dict(report.kept) for name, report in self.splits.items() if report.kept}

    def to_manifest(self) -> dict[str, Any]:
        """The JSON form written to ``manifest.json`` (channel paths relative to the output)."""
        return {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "created": self.created,
            "library_version": self.library_version,
            "source": self.source,
            "tokenizer": self.tokenizer,
            "max_length": self.max_length,
            "columns": list(self.columns),
            "label_names": list(self.label_names),
            "channels": {name: name for name in self.channels},
            "splits": {
                name: {**asdict(report), "truncated_fraction": round(report.truncated_fraction, 6)}
                for name, report in self.splits.items()
            },
            "warnings": list(self.warnings),
            "task": self.task,
            "official_metric": None if self.official_metric is None else dict(self.official_metric),
            "notes": list(self.notes),
            "problem_type": self.problem_type,
            "target_scale": None if self.target_scale is None else dict(self.target_scale),
            "folds": None if self.folds is None else dict(self.folds),
        }

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], output: str, *, cache_hit: bool, where: str) -> PreparedDataset:
        """Rebuild from a manifest read at ``output``; a malformed one is a ``DataError``."""
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("format_version") != MANIFEST_VERSION:
            raise DataError(
                f"{where} is not a manifest this version understands "
                f"(format {manifest.get('format')!r} version {manifest.get('format_version')!r})"
            )
        try:
            splits = {
                name: SplitReport(
                    rows=int(s["rows"]),
                    source_split=str(s["source_split"]),
                    label_counts={str(k): int(v) for k, v in s["label_counts"].items()},
                    lengths=LengthStats(**s["lengths"]),
                    truncated=int(s["truncated"]),
                    dropped={str(k): int(v) for k, v in s["dropped"].items()},
                    kept={str(k): int(v) for k, v in s.get("kept", {}).items()},
                    stats=dict(s.get("stats", {})),
                )
                for name, s in manifest["splits"].items()
            }
            base = output.rstrip("/")
            return cls(
                output=output,
                channels={name: f"{base}/{rel}" for name, rel in manifest["channels"].items()},
                label_names=tuple(manifest["label_names"]),
                splits=splits,
                fingerprint=str(manifest["fingerprint"]),
                tokenizer=str(manifest["tokenizer"]),
                max_length=int(manifest["max_length"]),
                columns=tuple(manifest["columns"]),
                created=str(manifest["created"]),
                library_version=str(manifest["library_version"]),
                source=str(manifest["source"]),
                warnings=tuple(manifest.get("warnings", ())),
                cache_hit=cache_hit,
                task=manifest.get("task"),
                official_metric=manifest.get("official_metric"),
                notes=tuple(manifest.get("notes", ())),
                problem_type=str(manifest.get("problem_type", "single_label_classification")),
                target_scale=manifest.get("target_scale"),
                folds=manifest.get("folds"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DataError(f"{where} is incomplete or malformed ({type(error).__name__}: {error})") from None

    def summary(self) -> str:
        """A few human-readable lines: where, cached or fresh, labels, and a table of the channels."""
        state = "cached (already prepared, nothing recomputed)" if self.cache_hit else "prepared now"
        lines = [
            f"Dataset {self.source} -> {self.output}: {state}",
            f"  fingerprint {self.fingerprint[:16]}  tokenizer {self.tokenizer}  max_length {self.max_length}",
            f"  problem type: {self.problem_type}"
            + (
                f" (target standardised: mean {self.target_scale['mean']:.4g}, std {self.target_scale['std']:.4g})"
                if self.target_scale
                else ""
            ),
            f"  labels ({len(self.label_names)}): {', '.join(self.label_names)}",
            f"  columns: {', '.join(self.columns)}",
        ]
        if self.task is not None and self.official_metric is not None:
            lines.append(f"  task: {self.task} (official metric: {self.official_metric.get('name')}, eval_official)")
        lines += [
            f"  {'split':<11}{'rows':>8}  {'from':<16}{'tokens p50/p95/max':>20}{'truncated':>11}  dropped / labels",
        ]
        for name, r in self.splits.items():
            dropped = ", ".join(f"{v} {k}" for k, v in r.dropped.items() if v) or "none"
            lengths = f"{r.lengths.p50}/{r.lengths.p95}/{r.lengths.max}"
            kept = ", ".join(f"{v} {k}" for k, v in r.kept.items() if v)
            lines.append(
                f"  {name:<11}{r.rows:>8}  {r.source_split:<16}{lengths:>20}{r.truncated_fraction:>10.1%}"
                f"  dropped: {dropped}" + (f"; kept (whole split): {kept}" if kept else "")
            )
            lines.extend(f"  {'':<11}{'':>8}  {line}" for line in _type_lines(self.problem_type, r))
        if self.folds is not None:
            sizes = "/".join(str(size) for size in self.folds["sizes"])
            lines.append(
                f"  folds: {self.folds['folds']} from {' + '.join(self.folds['sources'])}, {self.folds['rule']}, "
                f"seed {self.folds['seed']} (sizes {sizes})"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _type_lines(problem_type: str, r: SplitReport) -> list[str]:
    """The per-type statistics of one split, as summary lines."""
    s = r.stats
    if problem_type == "regression":
        return [f"target: range {s['min']:.4g}..{s['max']:.4g}, mean {s['mean']:.4g}, std {s['std']:.4g}"]
    if problem_type == "token_classification":
        counts = ", ".join(f"{k} {v}" for k, v in r.label_counts.items())
        return [
            f"entities ({s.get('entities', 0)}): {counts}",
            f"entities cut off by max_length: {s.get('entities_cut', 0)} "
            f"(in {s.get('texts_with_entities_cut', 0)} texts)",
        ]
    balance = ", ".join(f"{k} {v} ({v / r.rows:.0%})" for k, v in r.label_counts.items()) if r.rows else ""
    if problem_type == "multi_label_classification":
        per_text = ", ".join(f"{k}: {v}" for k, v in s.get("labels_per_text", {}).items())
        return [f"labels: {balance}", f"label cardinality {s.get('label_cardinality', 0)}; labels per text {per_text}"]
    return [f"labels: {balance}"]
