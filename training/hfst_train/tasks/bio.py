"""Entity-level scores of BIO tag sequences, as seqeval defines them in strict mode with the IOB2 scheme.

Written with the standard library and numpy only: the training container may lack seqeval, and the
definition is short. An entity is a ``B-X`` followed by any run of ``I-X``; an ``I-X`` that does not
continue an entity of type ``X`` starts none (strict mode ignores it), and ``O`` or any other tag ends
the entity. A predicted entity counts as correct only when its type, start and end all match a true one.
Tests check every number against seqeval's ``classification_report(mode="strict", scheme=IOB2)``.
"""

from __future__ import annotations

from collections.abc import Sequence

Entity = tuple[int, str, int, int]  # (text index, type, first token, last token + 1)


def entities(tags: Sequence[str], text: int = 0) -> list[Entity]:
    """The strict-IOB2 entities of one text's tags."""
    found: list[Entity] = []
    index = 0
    while index < len(tags):
        tag = tags[index]
        if tag.startswith("B-"):
            kind = tag[2:]
            end = index + 1
            while end < len(tags) and tags[end] == f"I-{kind}":
                end += 1
            found.append((text, kind, index, end))
            index = end
        else:
            index += 1
    return found


def _prf(correct: int, predicted: int, true: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_scores(
    true: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> tuple[dict[str, float], list[dict[str, float | int | str]]]:
    """Micro precision, recall and F1 over all entities, and per type ``{type, precision, recall, f1, support}``.

    Types are those of the true or predicted entities, sorted (seqeval's order); ``support`` counts true entities.
    """
    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true and {len(predicted)} predicted tag sequences")
    gold: set[Entity] = set()
    guess: set[Entity] = set()
    for text, (t, p) in enumerate(zip(true, predicted, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"text {text}: {len(t)} true and {len(p)} predicted tags")
        gold.update(entities(t, text))
        guess.update(entities(p, text))
    precision, recall, f1 = _prf(len(gold & guess), len(guess), len(gold))
    per_type: list[dict[str, float | int | str]] = []
    for kind in sorted({e[1] for e in gold | guess}):
        g = {e for e in gold if e[1] == kind}
        q = {e for e in guess if e[1] == kind}
        p_, r_, f_ = _prf(len(g & q), len(q), len(g))
        per_type.append({"type": kind, "precision": p_, "recall": r_, "f1": f_, "support": len(g)})
    return {"precision": precision, "recall": recall, "f1": f1}, per_type


def entity_types(tag_names: Sequence[str]) -> list[str]:
    """The entity types a BIO tag set names (``B-person`` -> ``person``), sorted."""
    return sorted({name[2:] for name in tag_names if name[:2] in ("B-", "I-")})


def metric_key(kind: str) -> str:
    """``eval_f1_<type>``: the type lower-cased, every character outside ``[a-z0-9]`` as ``_``."""
    return "eval_f1_" + "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in kind.lower())
