"""``tune(spec, backend=...)``: prepare, compile, check and submit a job; the one path the CLI and Python share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import Backend
    from ..specs import TuningJobSpec
    from ._job import TuningJob


def _spec_of(spec: TuningJobSpec | str | os.PathLike[str]) -> TuningJobSpec:
    from ..specs import TuningJobSpec, load_job_spec

    return spec if isinstance(spec, TuningJobSpec) else load_job_spec(Path(spec))


def prepare_local(
    spec: TuningJobSpec, data: str | os.PathLike[str] | None, tokenizer: str | None = None
) -> tuple[str, str]:
    """Prepare (or reuse) the tokenized channels for a local run; return their ``file://`` URI and a summary."""
    from ..data import prepare_for_job

    prepared = prepare_for_job(spec, data, tokenizer=tokenizer, target="local")
    return Path(prepared.output).resolve().as_uri(), prepared.summary()


def check_prepared(data_uri: str, job: TuningJobSpec | None = None) -> str | None:
    """Refuse to start a paid job whose channels were never prepared (or, cross-validated, prepared without
    the spec's folds); return a note when it can't check."""
    import importlib.util

    if importlib.util.find_spec("s3fs") is None:
        return f"s3fs is not installed; not checking that {data_uri} holds prepared data"
    from ..data import load_manifest

    try:
        prepared = load_manifest(data_uri)
    except (DataError, OSError) as exc:
        raise DataError(f"no prepared dataset at {data_uri} ({exc}); run `hfst prepare SPEC` first") from None
    wanted = None if job is None else job.tuning.cross_validation
    if wanted is not None:
        from ..data._folds import fold_options

        found = None if prepared.folds is None else {k: prepared.folds.get(k) for k in fold_options(wanted)}
        if found != fold_options(wanted):
            raise DataError(
                f"the prepared dataset at {data_uri} has no fold assignment for tuning.cross_validation "
                f"{fold_options(wanted)} (it has {found}): every trial would fail; run `hfst prepare SPEC` again"
            )
    return None


def tune(
    spec: TuningJobSpec | str | os.PathLike[str],
    backend: str | Backend = "local",
    *,
    job_name: str | None = None,
    data: str | os.PathLike[str] | None = None,
    tokenizer: str | None = None,
    jobs_dir: str | os.PathLike[str] = "jobs",
    region: str | None = None,
    boto_session: Any | None = None,
    notes: list[str] | None = None,
    price_per_hour: float | None = None,
    max_cost: float | None = None,
    allow_over_budget: bool = False,
    **local_options: Any,
) -> TuningJob:
    """Start a tuning job and return it (it runs in the background; ``.wait()`` follows it).

    The local backend prepares the dataset first (cached) and runs the trials on this machine;
    SageMaker checks that the prepared data is where the request points, uploads the training
    code and submits the compiled request. The spec is kept with the job (``Backend.spec``).

    Args:
        spec: a ``TuningJobSpec`` or the path of a spec file.
        backend: ``"local"`` (default), ``"sagemaker"`` or a ``Backend``.
        job_name: the tuning job's name (default: the spec's name with a unique suffix).
        data: prepared data: a folder (local; prepared there when missing) or an ``s3://`` prefix.
        tokenizer: local runs: tokenize with this folder or hub id instead of the spec's model.
        jobs_dir: where local job folders go.
        region: AWS region (SageMaker; default: the spec's ``sagemaker.region``).
        boto_session: a ``boto3.Session`` (SageMaker).
        notes: a list that receives what is worth showing the user (the data summary, checks skipped...).
        price_per_hour: SageMaker: the price of one instance-hour (default: the spec's ``budget.price_per_hour``).
        max_cost: SageMaker: the most the worst case may cost (default: the spec's ``budget.max_cost``).
        allow_over_budget: SageMaker: submit even when the worst case breaks the budget (or cannot be priced).
        **local_options: ``LocalBackend`` options (``trials_per_gpu``, ``gpus_per_trial``, ``processes_per_trial``,
            ``max_failed_trials``...); those given (not ``None``) override the spec's ``local:`` section.

    Raises:
        SpecError: ``job_name`` breaks SageMaker's tuning-job name rule (pattern and length from botocore).
        OverBudgetError: SageMaker, a budget is set, and the worst case exceeds it (or a money budget has no
            price), unless ``allow_over_budget``.
    """
    from ..backends import open_backend
    from ..compile import compile_request, validate_request_body
    from ..compile.naming import check_job_name
    from ._job import TuningJob

    if job_name is not None:  # before any data is prepared: the name becomes a folder and trial names
        check_job_name(job_name, "job_name")
    job = _spec_of(spec)
    if region is None and job.sagemaker is not None:
        region = job.sagemaker.region
    runner = open_backend(
        backend,
        jobs_dir=jobs_dir,
        region=region,
        boto_session=boto_session,
        source_dir=job.training.source_dir,  # your own training code, uploaded for SageMaker
        **local_options,
    )
    said = notes if notes is not None else []
    said.extend(f"note: {note}" for note in job.notes)
    runner.check_writable()  # before preparing data: a read-only jobs folder fails in seconds
    options_for = getattr(runner, "options_for", None)  # the local backend: flags merged with local:
    if options_for is not None:
        options_for(job)  # a clash (gpus_per_trial and trials_per_gpu above 1) fails before the data step
    if runner.cloud is None:  # trials run on this machine: prepare the data here
        data_uri, summary = prepare_local(job, data, tokenizer)
        said.append(summary)
        request = compile_request(job, target="local", job_name=job_name, data_uri=data_uri)
    else:
        from ..preflight import check_budget, estimate_cost

        # Named as ``check_budget`` names --allow-over-budget: the option of ``hfst tune`` and the argument here.
        estimate = estimate_cost(
            job, price_per_hour=price_per_hour, max_cost=max_cost, price_options=("--price-per-hour / price_per_hour=",)
        )
        said.extend(check_budget(estimate, allow_over_budget=allow_over_budget))
        request = compile_request(
            job, target="sagemaker", job_name=job_name, data_uri=None if data is None else str(data)
        )
        note = check_prepared(request.channels()["train"].rsplit("/", 1)[0], job)
        if note:
            said.append(note)
    validate_request_body(request.to_api())
    name = runner.submit(request, job)
    return TuningJob.attach(name, runner, spec=job)
