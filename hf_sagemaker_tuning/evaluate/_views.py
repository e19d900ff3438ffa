"""Each problem type's own view of an evaluation's ``details``, as text (``hfst evaluate``) and as rows (the report).

Multi-label: the per-label table and the labels that occur together most often; regression: the
error summary (residuals, in the original scale); token classification: the per-entity-type table
and a few mistakes, each shown with its tokens. Standard library only: the CLI prints these.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._problem_types import MULTI_LABEL, REGRESSION, TOKEN_CLASSIFICATION

if TYPE_CHECKING:  # pragma: no cover
    from ._result import Evaluation

TOP_PAIRS = 10  # label pairs listed under the per-label table (the report draws the whole matrix)


def details_text(evaluation: Evaluation) -> str:
    """The view of ``evaluation.problem_type`` as fixed-width text (empty when the run sent no details)."""
    views = {MULTI_LABEL: _multi_label, REGRESSION: _regression, TOKEN_CLASSIFICATION: _token}
    view = views.get(evaluation.problem_type)
    return "" if view is None else "\n".join(view(evaluation.details))


def score_table(rows: Sequence[Mapping[str, Any]], key: str, title: str) -> list[str]:
    """Precision, recall, F1 and support per row (``key`` names the row: a label or an entity type)."""
    width = max(8, len(title), *(len(str(row[key])) for row in rows)) if rows else max(8, len(title))
    lines = [f"  {title:<{width}}  precision  recall     f1  support"]
    for row in rows:
        lines.append(
            f"  {row[key]!s:<{width}}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['f1']:>5.4f}"
            f"  {int(row['support']):>7,}"
        )
    return lines


def top_pairs(cooccurrence: Mapping[str, Any], limit: int = TOP_PAIRS) -> list[tuple[str, str, int]]:
    """The label pairs that are true together most often: ``(label, label, texts)``, most first, none of 0."""
    labels, matrix = list(cooccurrence.get("labels") or []), cooccurrence.get("matrix") or []
    pairs = [
        (labels[i], labels[j], int(matrix[i][j]))
        for i in range(len(labels))
        for j in range(i + 1, len(labels))
        if int(matrix[i][j]) > 0
    ]
    return sorted(pairs, key=lambda pair: -pair[2])[:limit]


def _multi_label(details: Mapping[str, Any]) -> list[str]:
    lines = score_table(details.get("per_label") or [], "label", "label")
    pairs = top_pairs(details.get("cooccurrence") or {})
    if pairs:
        lines.append(f"  labels true together most often (of {len(details['cooccurrence']['labels'])} labels):")
        width = max(len(f"{a} + {b}") for a, b, _ in pairs)
        lines.extend(f"    {f'{a} + {b}':<{width}}  {count:>6,} texts" for a, b, count in pairs)
    else:
        lines.append("  no two labels are true together in this split")
    return lines


def residual_summary(points: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Over the kept points (original scale): count, mean residual (predicted - true), its standard
    deviation, mean absolute error, and the largest absolute error."""
    true, predicted = list(points.get("true") or []), list(points.get("predicted") or [])
    residuals = [p - t for t, p in zip(true, predicted, strict=True)]
    if not residuals:
        return {"points": 0.0}
    return {
        "points": float(len(residuals)),
        "mean residual": statistics.fmean(residuals),
        "residual std": statistics.pstdev(residuals),
        "mean absolute error": statistics.fmean(abs(r) for r in residuals),
        "largest absolute error": max(abs(r) for r in residuals),
    }


def _regression(details: Mapping[str, Any]) -> list[str]:
    summary = residual_summary(details.get("points") or {})
    count = int(summary.pop("points"))
    if not count:
        return ["  no predictions were kept"]
    lines = [f"  residuals (predicted - true, original scale) over {count:,} examples:"]
    for name, value in summary.items():
        lines.append(f"    {name:<22} {value:+.4f}" if name == "mean residual" else f"    {name:<22} {value:.4f}")
    return lines


def entity_spans(tokens: Sequence[str], tags: Sequence[str]) -> str:
    """The tokens with each entity bracketed and typed: ``I love [New York|location] .``.

    Spans follow the strict BIO reading (a span starts at ``B-``; an ``I-`` of another type, or
    after ``O``, starts its own span so a wrong tag stays visible).
    """
    out: list[str] = []
    open_type: str | None = None
    for token, tag in zip(tokens, tags, strict=False):
        prefix, _, kind = tag.partition("-")
        continues = prefix == "I" and kind == open_type
        if open_type is not None and not continues:
            out[-1] += f"|{open_type}]"
            open_type = None
        if prefix in ("B", "I") and kind and not continues:
            out.append(f"[{token}")
            open_type = kind
        else:
            out.append(token)
    if open_type is not None:
        out[-1] += f"|{open_type}]"
    return " ".join(out)


def _token(details: Mapping[str, Any]) -> list[str]:
    lines = score_table(details.get("per_type") or [], "type", "entity type")
    mistakes = details.get("mistakes") or []
    if mistakes:
        lines.append(f"  texts with a mistake, true then predicted entities (first {len(mistakes)}):")
        for mistake in mistakes:
            lines.append(f"    true:      {entity_spans(mistake['tokens'], mistake['true'])}")
            lines.append(f"    predicted: {entity_spans(mistake['tokens'], mistake['predicted'])}")
    return lines
