"""``prepare_for_job``: the one preparation path that ``hfst prepare``, ``hfst tune`` and Python share."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._prepare import prepare_dataset

if TYPE_CHECKING:  # pragma: no cover
    from ..specs import TuningJobSpec
    from ._result import PreparedDataset

Target = Literal["local", "sagemaker"]
_LOGGER = "hf_sagemaker_tuning.data"


def default_output(job: TuningJobSpec, target: Target = "local") -> str:
    """Where a job's prepared channels go when no place is named: where the compiled job reads them.

    For ``target="sagemaker"`` and a spec with a ``sagemaker`` section: ``sagemaker.data_uri``, else
    ``<output_path>/data/<name>``. Otherwise ``./prepared/<name>`` (relative to the working folder).
    """
    if target == "sagemaker" and job.sagemaker is not None:
        from ..compile import default_data_uri

        return default_data_uri(job, "sagemaker")
    return str(Path("prepared") / job.name)


class _ProgressHandler(logging.Handler):
    """Hands the data package's progress messages (INFO, not warnings) to a callback."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:  # warnings reach the user through the result's summary
            self.callback(record.getMessage())


@contextmanager
def _progress(callback: Callable[[str], None] | None) -> Iterator[None]:
    if callback is None:
        yield
        return
    logger = logging.getLogger(_LOGGER)
    handler, previous = _ProgressHandler(callback), logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def prepare_for_job(
    job: TuningJobSpec,
    output: str | os.PathLike[str] | None = None,
    *,
    tokenizer: str | os.PathLike[str] | None = None,
    force: bool = False,
    target: Target = "local",
    storage_options: dict[str, Any] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> PreparedDataset:
    """Prepare (or find cached) the tokenized channels a tuning job reads.

    Args:
        job: The job spec; its ``dataset`` section is prepared with the tokenizer of ``training.model``.
        output: Local folder or ``s3://bucket/prefix``. Default: ``default_output(job, target)``, the place
            the job compiled for ``target`` reads (S3 for ``sagemaker`` with a ``sagemaker`` section, else
            ``./prepared/<name>``).
        tokenizer: Hub id, local folder or ``package://dist/path`` of the tokenizer to use instead of
            ``job.training.model`` (e.g. a downloaded copy when the hub is out of reach).
        force: Prepare again even when the output already holds this exact preparation.
        target: The backend the channels are for: ``local`` or ``sagemaker``.
        storage_options: s3fs options for ``s3://`` sources and outputs.
        on_progress: Called with each progress message ("Reading ...", "Tokenizing ...", "Writing ...").

    Returns:
        The prepared dataset; ``output`` is its absolute local path or its ``s3://`` URI.

    Raises:
        DataError: Bad input data, a missing ``package://`` model or tokenizer, or an unusable output.
    """
    where = os.fspath(output) if output is not None else default_output(job, target)
    chosen = os.fspath(tokenizer) if tokenizer is not None else job.training.model
    with _progress(on_progress):
        return prepare_dataset(
            job.dataset,
            tokenizer=chosen,
            output=where,
            storage_options=storage_options,
            force=force,
            cross_validation=job.tuning.cross_validation,
        )
