"""Token classification data: words and their BIO tags, cleaned, encoded and aligned to sub-tokens.

Alignment rule (the one Hugging Face's token-classification examples use): the first sub-token of
each word carries the word's tag; every later sub-token of the word, the special tokens and the
padding get -100, which the loss ignores. ``word_index`` keeps, for each labelled sub-token, the
word it starts, so the scores are made on whole words. A text longer than ``max_length`` loses
its last words; the entities among them are counted (``entities_cut``) and scored as missed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ._clean import DUPLICATE, EMPTY, CleanSplit
from ._readers import RawSplit
from ._tokenize import LengthStats, percentile

if TYPE_CHECKING:
    from ..specs.dataset import DatasetSpec

OUTSIDE = "O"
_BIO = re.compile(r"^[BI]-.+$")
IGNORED = -100


def bio_names(names: Iterable[str]) -> list[str]:
    """Check BIO tag names (``O``, ``B-<type>``, ``I-<type>``); unordered input comes back ``O`` first, sorted."""
    listed = list(names)
    bad = [n for n in listed if n != OUTSIDE and not (isinstance(n, str) and _BIO.match(n))]
    if bad or OUTSIDE not in listed:
        raise DataError(f"token tags must be BIO names (O, B-<type>, I-<type>), with O among them; got {bad or listed}")
    if isinstance(names, (set, frozenset)):
        return [OUTSIDE, *sorted(n for n in listed if n != OUTSIDE)]
    return listed


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Strict-IOB2 entities ``(type, first word, last word + 1)`` (the training package's definition)."""
    found = []
    index = 0
    while index < len(tags):
        if tags[index].startswith("B-"):
            kind, end = tags[index][2:], index + 1
            while end < len(tags) and tags[end] == f"I-{kind}":
                end += 1
            found.append((kind, index, end))
            index = end
        else:
            index += 1
    return found


def entity_counts(names: Sequence[str], rows: Sequence[Sequence[int]]) -> dict[str, int]:
    """Entities per type over the rows (tag ids), every type of the tag set listed."""
    counts = {name[2:]: 0 for name in names if name != OUTSIDE}
    for row in rows:
        for kind, _, _ in entities([names[i] for i in row]):
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def clean_tokens(raw: RawSplit, spec: DatasetSpec, *, keep_rows: bool = False) -> CleanSplit:
    """Check each row holds a list of words and one tag per word; drop empty and duplicate texts as ``clean``."""
    if raw.rows == 0:
        raise DataError(f"split {raw.name!r} ({raw.origin}) is empty")
    column, cleaning = spec.text_columns[0], spec.cleaning
    labels: list[Any] = []
    rows: list[int] = []
    found = {EMPTY: 0, DUPLICATE: 0}
    seen: set[tuple[str, ...]] = set()
    texts: list[list[Any]] = [[]]
    for row in range(raw.rows):
        words, tags = raw.data[column][row], raw.data[spec.label_column][row]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise DataError(f"{raw.where(row)}: column {column!r} must hold a list of words (strings), got {words!r}")
        if not isinstance(tags, list) or len(tags) != len(words):
            raise DataError(
                f"{raw.where(row)}: column {spec.label_column!r} must hold one tag per word "
                f"({len(words)} words), got {tags!r}"
            )
        empty = not any(w.strip() for w in words)
        key = tuple(words)
        duplicate = not empty and cleaning.drop_duplicates and key in seen
        if (empty and cleaning.drop_empty) or duplicate:
            found[EMPTY if empty else DUPLICATE] += 1
            if not keep_rows:
                continue
        seen.add(key)
        texts[0].append(list(words))
        labels.append(tags)
        rows.append(row)
    if not rows:
        raise DataError(f"split {raw.name!r} ({raw.origin}) has no rows left after cleaning")
    none = {EMPTY: 0, DUPLICATE: 0}
    return CleanSplit(raw, texts, labels, rows, none if keep_rows else found, found if keep_rows else {})


def encode_tags(split: CleanSplit, names: list[str], column: str) -> list[tuple[int, ...]]:
    """Tag names (or ids) of each row as a tuple of tag ids."""
    index = {name: i for i, name in enumerate(names)}
    out: list[tuple[int, ...]] = []
    for position, tags in enumerate(split.labels):
        ids = []
        for tag in tags:
            if isinstance(tag, str) and tag in index:
                ids.append(index[tag])
            elif isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(names):
                ids.append(tag)
            else:
                where = split.raw.where(split.rows[position])
                raise DataError(f"{where}: tag {tag!r} in column {column!r} is not one of {names}")
        out.append(tuple(ids))
    return out


def tokenize_words(
    dataset: Any, tokenizer: Any, max_length: int, desc: str
) -> tuple[Any, LengthStats, int, dict[str, int]]:
    """Tokenize pre-split words and align the tags; returns the dataset, lengths, truncated texts, cut counts."""
    names: list[str] = list(dataset.features["ner_tags"].feature.names)

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        encoded = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length)
        full = tokenizer(batch["tokens"], is_split_into_words=True, truncation=False)
        labels, word_index, lengths, cut = [], [], [], []
        for row, tags in enumerate(batch["ner_tags"]):
            aligned, words, previous = [], [], None
            for word in encoded.word_ids(row):
                if word is None or word == previous:
                    aligned.append(IGNORED)
                else:
                    aligned.append(tags[word])
                    words.append(word)
                previous = word if word is not None else previous
            labels.append(aligned)
            word_index.append(words)
            lengths.append(len(full["input_ids"][row]))
            kept = set(words)
            spans = entities([names[t] for t in tags])
            cut.append(sum(1 for _, start, end in spans if any(w not in kept for w in range(start, end))))
        return {**dict(encoded), "label": labels, "word_index": word_index, "_n_tokens": lengths, "_cut": cut}

    mapped = dataset.map(encode, batched=True, batch_size=1000, desc=desc)
    lengths = sorted(mapped["_n_tokens"])
    cut = list(mapped["_cut"])
    truncated = sum(1 for n in lengths if n > max_length)
    mapped = mapped.remove_columns(["_n_tokens", "_cut"])
    stats = LengthStats(
        percentile(lengths, 50),
        percentile(lengths, 95),
        lengths[-1] if lengths else 0,
        round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
    )
    return mapped, stats, truncated, {"entities_cut": sum(cut), "texts_with_entities_cut": sum(1 for c in cut if c)}
