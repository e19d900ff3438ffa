"""``prepare_dataset``: source -> cleaned, labelled, split, tokenized channels with a manifest, cached."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..packaged import resolve_model
from ._clean import OVER_CAP, CleanSplit, clean
from ._folds import assign_folds, fold_options, fold_summary
from ._ner import clean_tokens, tokenize_words
from ._result import MANIFEST, TRUNCATION_WARN_FRACTION, PreparedDataset, SplitReport
from ._sources import Located, content_hashes, folder_label_names, locate, read_split
from ._splits import carve_size, stratified_pick
from ._store import CHANNELS, Store
from ._tasks import channel_features, check_train, encode_for, label_statistics, names_for, strata, target_scale
from ._tokenize import load_tokenizer, tokenize, tokenizer_identity

if TYPE_CHECKING:
    from ..specs.cross_validation import CrossValidationSpec
    from ..specs.dataset import DatasetSpec

logger = logging.getLogger("hf_sagemaker_tuning.data")
#: Part of the fingerprint: bumped when the same spec and source prepare different channels
#: (2: the test split keeps its empty and duplicate rows), so an old output is never served from cache.
PIPELINE_VERSION = 2
#: Source split names read as our ``validation`` when the source has no split of that name.
VALIDATION_ALIASES = ("val", "dev", "valid")
#: The file written into every channel when the dataset names its task (read by the training package).
TASK_FILE = "hfst_task.json"
#: The fold assignment of cross-validation, written into the train channel (read by the training package).
FOLDS_FILE = "hfst_folds.json"


def split_notes(located: Located, used: dict[str, str]) -> tuple[list[str], list[str]]:
    """Notes (a split read under another name) and warnings (source splits found but not used)."""
    notes = [
        f"the source's split {theirs!r} is read as {ours}"
        for ours, theirs in used.items()
        if ours != theirs and ours == "validation" and theirs in VALIDATION_ALIASES
    ]
    unused = [name for name in located.available if name not in used.values()]
    warnings = []
    if unused:
        files = [os.path.basename(located.files[n]) if n in located.files else n for n in unused]
        warnings.append(
            f"{located.description} has split(s) found but not used: {', '.join(files)}; "
            "map them with `splits` (e.g. {validation: <name>}) to use them"
        )
    return notes, warnings


def official_metric(spec: DatasetSpec, names: list[str]) -> tuple[str | None, dict[str, Any] | None]:
    """The dataset's task and its official metric (checked against the label names), when it names one."""
    from ..contract import official_metrics

    task = spec.resolved_task
    if task is None:
        return None, None
    metric = official_metrics()[task]
    missing = [name for name in metric.get("classes") or [] if name not in names]
    if missing:
        raise DataError(
            f"task {task!r}: its official metric ({metric['name']}) needs the classes {missing}, "
            f"which are not among the label names {names}"
        )
    return task, metric


def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hf-sagemaker-tuning")
    except PackageNotFoundError:
        return "0+unknown"


def map_splits(spec: DatasetSpec, located: Located) -> dict[str, str]:
    """Our split name -> the source's, for the splits that will be read.

    With the default mapping, a missing ``validation`` or ``test`` is simply absent (a source
    split named ``val``, ``dev`` or ``valid`` is read as ``validation``); splits named
    explicitly in the spec must exist.
    """
    explicit = "splits" in spec.model_fields_set
    out: dict[str, str] = {}
    mapping: dict[str, str] = {str(k): v for k, v in spec.splits.items()}
    for ours in CHANNELS:
        theirs = mapping.get(ours)
        if theirs is None:
            continue
        if ours == "validation" and not explicit and theirs not in located.available:
            theirs = next((alias for alias in VALIDATION_ALIASES if alias in located.available), theirs)
        if theirs in located.available:
            out[ours] = theirs
        elif ours == "train" or explicit:
            raise DataError(
                f"{located.description} has no split {theirs!r} (mapped to our {ours!r}); "
                f"it has: {', '.join(located.available)}. Map them with `splits`, "
                "e.g. {train: <name>, validation: <name>}"
            )
    return out


def fingerprint_of(
    spec: DatasetSpec,
    located: Located,
    tokenizer: str,
    used: dict[str, str],
    cross_validation: CrossValidationSpec | None = None,
) -> str:
    """sha256 over the source content and every option that shapes the channels (the folds included)."""
    payload: dict[str, Any] = {
        "pipeline": PIPELINE_VERSION,
        "spec": spec.model_dump(mode="json"),
        "splits_used": used,
        "content": content_hashes(located),
        "tokenizer": tokenizer_identity(tokenizer),
    }
    if cross_validation is not None:  # absent otherwise: outputs prepared before folds existed stay cached
        payload["cross_validation"] = fold_options(cross_validation)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _read_manifest(store: Store) -> PreparedDataset:
    where = store.location(MANIFEST)
    try:
        store.refresh()
        text = store.read_text(MANIFEST)
        missing = [] if text is None else [n for n in CHANNELS if not store.exists(f"{n}/state.json")]
    except Exception as error:
        raise DataError(f"cannot read {where}: {type(error).__name__}: {error}") from None
    if text is None:
        raise DataError(f"{store.url} is not a prepared dataset: it has no {MANIFEST}")
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise DataError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{where} is not a JSON object")
    result = PreparedDataset.from_manifest(manifest, store.url, cache_hit=False, where=where)
    missing = [name for name in result.channels if name in missing]
    if missing:
        raise DataError(f"{store.url} is incomplete: channel(s) {', '.join(missing)} missing; prepare it again")
    return result


def load_manifest(output: str | os.PathLike[str], storage_options: dict[str, Any] | None = None) -> PreparedDataset:
    """Read a prepared dataset's manifest.

    Args:
        output: The folder or ``s3://`` prefix that ``prepare_dataset`` wrote.
        storage_options: s3fs options (credentials, ``client_kwargs={"endpoint_url": ...}``) for S3.

    Returns:
        The ``PreparedDataset`` the manifest describes (``cache_hit=False``).

    Raises:
        DataError: No manifest, an unreadable one, or a channel it names is missing.
    """
    return _read_manifest(Store(output, storage_options))


@contextmanager
def _progress_bars(enabled: bool) -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    (ds_logging.enable_progress_bar if enabled else ds_logging.disable_progress_bar)()
    try:
        yield
    finally:
        (ds_logging.enable_progress_bar if was_enabled else ds_logging.disable_progress_bar)()


def _select(split: CleanSplit, ids: list[int], keep: list[int]) -> tuple[CleanSplit, list[int]]:
    return split.select(keep), [ids[i] for i in keep]


def _arrange(
    spec: DatasetSpec, cleaned: dict[str, CleanSplit], ids: dict[str, list[int]], used: dict[str, str]
) -> dict[str, str]:
    """Carve validation from train when absent, apply the sample caps (in place); return each split's origin."""
    sources = dict(used)
    if "validation" not in cleaned:
        train = cleaned["train"]
        if len(train) < 2:
            raise DataError(
                f"split 'train' ({train.raw.origin}) has {len(train)} row(s): too few to carve a validation split from"
            )
        picked, rest = stratified_pick(
            strata(spec, ids["train"]), carve_size(len(train), spec.validation_size), spec.seed
        )
        cleaned["validation"], ids["validation"] = _select(train, ids["train"], picked)
        cleaned["validation"].dropped = {}
        cleaned["train"], ids["train"] = _select(train, ids["train"], rest)
        sources["validation"] = f"{used['train']} (carved)"
    caps = {"train": spec.max_train_samples, "validation": spec.max_eval_samples, "test": spec.max_test_samples}
    for ours in CHANNELS:
        cap = caps[ours]
        if ours in cleaned and cap is not None and len(cleaned[ours]) > cap:
            over = len(cleaned[ours]) - cap
            picked, _ = stratified_pick(strata(spec, ids[ours]), cap, spec.seed)
            cleaned[ours], ids[ours] = _select(cleaned[ours], ids[ours], picked)
            cleaned[ours].dropped[OVER_CAP] = over
    return sources


def prepare_dataset(
    spec: DatasetSpec,
    *,
    tokenizer: str | os.PathLike[str],
    output: str | os.PathLike[str],
    storage_options: dict[str, Any] | None = None,
    force: bool = False,
    progress: bool = False,
    cross_validation: CrossValidationSpec | None = None,
) -> PreparedDataset:
    """Turn the dataset that ``spec`` describes into tokenized channels plus a manifest.

    Reads the source (hub, local files, ``save_to_disk`` folder, S3 or an installed package), cleans the
    texts, resolves label names, carves a stratified validation split from train when there is none,
    applies the sample caps, tokenizes (truncated, not padded) and writes ``<output>/train``,
    ``<output>/validation``, ``<output>/test`` (when the source has one) and, last,
    ``<output>/manifest.json``. A second call with the same inputs is a cache hit and does no work.

    Args:
        spec: The dataset spec.
        tokenizer: Hub id, local folder or ``package://dist/path`` of the (fast) tokenizer.
        output: Local folder or ``s3://bucket/prefix``.
        storage_options: s3fs options, used for ``s3://`` sources and outputs.
        force: Prepare again even when the output already holds this exact preparation.
        progress: Show ``datasets`` progress bars while tokenizing and saving.
        cross_validation: Also write the fold assignment (``hfst_folds.json`` in the train channel).

    Returns:
        What was written (or found), with counts, label balance, lengths and the cleaning report.

    Raises:
        DataError: Bad input (missing file, unknown column or split, bad labels, non-text values, ...),
            raised before anything is written; an existing prepared output is left as it was.
    """
    tokenizer = os.fspath(tokenizer)
    local_tokenizer = resolve_model(tokenizer)  # package:// -> its folder; the manifest keeps the name given
    store = Store(output, storage_options)
    logger.info("Reading %s", spec.source)
    located = locate(spec, storage_options)
    used = map_splits(spec, located)
    fingerprint = fingerprint_of(spec, located, local_tokenizer, used, cross_validation)
    if not force:
        try:
            found = _read_manifest(store)
        except DataError:
            found = None
        if found is not None and found.fingerprint == fingerprint:
            logger.info("%s is already prepared (fingerprint %s): cache hit", store.url, fingerprint[:16])
            return dataclasses.replace(found, cache_hit=True)

    # The test split keeps every row unless asked: a test score compares with published ones only on the whole split.
    cleaner = clean_tokens if spec.problem_type == "token_classification" else clean
    cleaned = {
        ours: cleaner(
            read_split(located, theirs, spec), spec, keep_rows=ours == "test" and not spec.cleaning.clean_test
        )
        for ours, theirs in used.items()
    }
    names = names_for(spec, list(cleaned.values()), folder_label_names(located))
    ids = {ours: encode_for(split, names, spec) for ours, split in cleaned.items()}
    sources = _arrange(spec, cleaned, ids, used)
    task, metric = official_metric(spec, names)
    notes, unused_warnings = split_notes(located, used)
    for message in unused_warnings:
        logger.warning(message)
    check_train(spec, names, ids["train"], cleaned["train"].raw.origin)
    scale = target_scale(spec, ids["train"])
    folds = None if cross_validation is None else assign_folds(cross_validation, ids, names, spec.problem_type)

    logger.info("Tokenizing with %s (max_length %d)", tokenizer, spec.max_length)
    loaded_tokenizer = load_tokenizer(local_tokenizer)
    limit = int(getattr(loaded_tokenizer, "model_max_length", 0) or 0)
    if 0 < limit < spec.max_length:
        raise DataError(
            f"max_length {spec.max_length} is longer than the {limit} tokens that tokenizer "
            f"{tokenizer!r} (and its model) accept; set max_length <= {limit}"
        )
    import datasets

    features = channel_features(spec, names)
    channels: dict[str, Any] = {}
    reports: dict[str, SplitReport] = {}
    with _progress_bars(progress):
        for ours in (c for c in CHANNELS if c in cleaned):
            split = cleaned[ours]
            label_counts, stats = label_statistics(spec, names, ids[ours])
            if spec.problem_type == "token_classification":
                rows = {"tokens": split.texts[0], "ner_tags": [list(tags) for tags in ids[ours]]}
                dataset = datasets.Dataset.from_dict(rows, features=datasets.Features(features))
                channels[ours], lengths, truncated, cut = tokenize_words(
                    dataset, loaded_tokenizer, spec.max_length, f"Tokenizing {ours}"
                )
                stats.update(cut)
            else:
                columns = dict(zip(["text", "text_pair"][: len(split.texts)], split.texts, strict=True))
                labels: list[Any] = ids[ours]
                if spec.problem_type == "multi_label_classification":
                    labels = [list(row) for row in labels]
                elif scale is not None:
                    labels = [(value - scale["mean"]) / scale["std"] for value in labels]
                dataset = datasets.Dataset.from_dict({**columns, "label": labels}, features=datasets.Features(features))
                channels[ours], lengths, truncated = tokenize(
                    dataset, loaded_tokenizer, spec.max_length, len(split.texts) == 2, f"Tokenizing {ours}"
                )
            reports[ours] = SplitReport(
                len(split),
                sources[ours],
                label_counts,
                lengths,
                truncated,
                dict(split.dropped),
                dict(split.kept),
                stats,
            )
        warnings = list(unused_warnings)
        for ours, report in reports.items():
            if report.truncated_fraction > TRUNCATION_WARN_FRACTION:
                message = (
                    f"{report.truncated_fraction:.1%} of {ours} ({report.truncated} of {report.rows}) is "
                    f"longer than max_length {spec.max_length} and was truncated (longest "
                    f"{report.lengths.max}, p95 {report.lengths.p95} tokens); consider a larger max_length"
                )
                logger.warning(message)
                warnings.append(message)
        result = PreparedDataset(
            output=store.url,
            channels={name: store.location(name) for name in channels},
            label_names=tuple(names),
            splits=reports,
            fingerprint=fingerprint,
            tokenizer=tokenizer,
            max_length=spec.max_length,
            columns=tuple(next(iter(channels.values())).column_names),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            library_version=_library_version(),
            source=spec.source,
            warnings=tuple(warnings),
            task=task,
            official_metric=metric,
            notes=tuple(notes),
            problem_type=spec.problem_type,
            target_scale=scale,
            folds=None if folds is None else fold_summary(folds),
        )
        task_info: dict[str, Any] = {"task": task, "official_metric": metric}
        if spec.problem_type != "single_label_classification":
            task_info["problem_type"] = spec.problem_type
        if scale is not None:
            task_info["target_scale"] = scale
        task_file = None if task is None and scale is None else json.dumps(task_info, indent=2)

        def save(dataset: Any, where: str) -> None:
            dataset.save_to_disk(where, storage_options=store.options)
            if task_file is not None:  # the training package reads the official metric from the channel itself
                store.fs.pipe_file(f"{where}/{TASK_FILE}", task_file.encode("utf-8"))
            if folds is not None and where.rstrip("/").endswith("/train"):
                store.fs.pipe_file(f"{where}/{FOLDS_FILE}", json.dumps(folds).encode("utf-8"))

        logger.info("Writing %s", store.url)
        try:
            store.commit(channels, result.to_manifest(), save)
        except Exception as error:  # the old output is back in place; say where writing failed
            raise DataError(
                f"cannot write {store.url}: {type(error).__name__}: {error} (nothing was changed)"
            ) from error
    return result
