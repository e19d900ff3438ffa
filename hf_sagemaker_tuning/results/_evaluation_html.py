"""The report's "Test score" section: validation vs test with the gap flag, then the problem type's own view.

Single-label: per-class table and confusion matrix; multi-label: per-label table and the label
co-occurrence heatmap; regression: predicted-vs-true scatter and residuals plot; token
classification: per-entity-type table and a few mistakes shown with their tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import TuningError
from ._html import escape as _e
from ._html import png_data_uri

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluate import Evaluation
    from ._source import JobResults


def test_score_section(results: JobResults) -> list[str]:
    """The section's HTML parts (a note when nothing was scored yet)."""
    from ._table import newest_evaluations

    parts = ["<h2>Test score</h2>"]
    evaluations = newest_evaluations(results)
    if not evaluations:
        parts.append('<p class="note">Not scored on the test split yet: run <code>hfst evaluate JOB</code>.</p>')
        return parts
    for evaluation in evaluations:
        parts.extend(evaluation_html(evaluation))
    return parts


def evaluation_html(evaluation: Evaluation) -> list[str]:
    """One evaluation: headline, validation vs this split (large gaps flagged), the type's own view."""
    from ..evaluate._problem_types import MULTI_LABEL, REGRESSION, TOKEN_CLASSIFICATION
    from ..evaluate._result import NOT_REPRESENTATIVE

    name, value = evaluation.score
    parts = [
        f"<p><b>{_e(evaluation.split)}</b>: {_e(name)} <b>{value:.4f}</b> on "
        f"<b>{evaluation.examples:,}</b> {_e(evaluation.split)} examples; model "
        f"{_e(evaluation.model_job or evaluation.model)} ({_e(evaluation.model_source)}), "
        f"{_e(evaluation.problem_type.replace('_', ' '))}, "
        f"scored {_e(evaluation.created)} by {_e(evaluation.evaluation_job)}.</p>"
    ]
    rows = []
    for metric, valid, test, gap, flagged in evaluation.comparison():
        flag = '<td class="gap">large gap</td>' if flagged else "<td></td>"
        cells = [metric, "" if valid is None else f"{valid:.4f}", f"{test:.4f}", "" if gap is None else f"{gap:+.4f}"]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + flag + "</tr>")
    head = f"<tr><th>metric</th><th>validation</th><th>{_e(evaluation.split)}</th><th>difference</th><th></th></tr>"
    parts.append(f"<table>{head}{''.join(rows)}</table>")
    if evaluation.large_gap:
        parts.append(
            f'<p class="gap">Validation and {_e(evaluation.split)} differ by {_e(evaluation.gap_rule())}: '
            f"{NOT_REPRESENTATIVE}.</p>"
        )
    views = {MULTI_LABEL: _multi_label, REGRESSION: _regression, TOKEN_CLASSIFICATION: _token}
    parts.extend(views.get(evaluation.problem_type, _single_label)(evaluation))
    return parts


def _scores(rows: Sequence[Mapping[str, Any]], key: str, title: str) -> str:
    body = "".join(
        f"<tr><td>{_e(str(r[key]))}</td><td>{r['precision']:.4f}</td><td>{r['recall']:.4f}</td>"
        f"<td>{r['f1']:.4f}</td><td>{int(r['support']):,}</td></tr>"
        for r in rows
    )
    return (
        f"<table><tr><th>{_e(title)}</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        f"{body}</table>"
    )


def _figure(title: str, draw: Any, evaluation: Evaluation) -> str:
    try:
        figure = draw(evaluation)
    except TuningError as exc:
        return f'<p class="note">{_e(title)}: not available ({_e(str(exc))}).</p>'
    return f'<img alt="{_e(title)} ({_e(evaluation.split)})" src="{png_data_uri(figure)}">'


def _single_label(evaluation: Evaluation) -> list[str]:
    from ..evaluate import plot_confusion_matrix

    return [
        _scores(evaluation.per_class, "label", "class"),
        _figure("Confusion matrix", plot_confusion_matrix, evaluation),
    ]


def _multi_label(evaluation: Evaluation) -> list[str]:
    from ..evaluate import plot_cooccurrence

    return [
        _scores(evaluation.details.get("per_label") or [], "label", "label"),
        _figure("Label co-occurrence", plot_cooccurrence, evaluation),
    ]


def _regression(evaluation: Evaluation) -> list[str]:
    from ..evaluate import plot_predicted_vs_true, plot_residuals
    from ..evaluate._views import residual_summary

    summary = residual_summary(evaluation.details.get("points") or {})
    count = int(summary.pop("points"))
    note = f"<p>Residuals (predicted - true, original scale) over {count:,} examples.</p>"
    table = (
        "<table>"
        + "".join(
            f"<tr><th>{_e(k)}</th><td>{v:+.4f}</td></tr>"
            if k == "mean residual"
            else f"<tr><th>{_e(k)}</th><td>{v:.4f}</td></tr>"
            for k, v in summary.items()
        )
        + "</table>"
    )
    return [
        note,
        table,
        _figure("Predicted vs true", plot_predicted_vs_true, evaluation),
        _figure("Residuals", plot_residuals, evaluation),
    ]


def _token(evaluation: Evaluation) -> list[str]:
    mistakes = evaluation.details.get("mistakes") or []
    parts = [_scores(evaluation.details.get("per_type") or [], "type", "entity type")]
    if mistakes:
        parts.append(f"<p>Texts with a mistake (first {len(mistakes)}): tokens, true tags, predicted tags.</p>")
        parts.extend(_mistake(m) for m in mistakes)
    return parts


def _mistake(mistake: Mapping[str, Any]) -> str:
    """One text as a table: a column per token, rows for the true and predicted tags (wrong ones flagged)."""
    tokens, true, predicted = mistake["tokens"], mistake["true"], mistake["predicted"]
    wrong = [t != p for t, p in zip(true, predicted, strict=False)]
    head = "".join(f"<th>{_e(str(token))}</th>" for token in tokens)

    def row(name: str, tags: Sequence[str]) -> str:
        cells = "".join(
            f'<td class="gap">{_e(tag)}</td>' if index < len(wrong) and wrong[index] else f"<td>{_e(tag)}</td>"
            for index, tag in enumerate(tags)
        )
        return f"<tr><th>{name}</th>{cells}</tr>"

    return f"<table><tr><th>token</th>{head}</tr>{row('true', true)}{row('predicted', predicted)}</table><br>"
