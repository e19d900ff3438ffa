"""Tuning-job names: SageMaker's rule (read from botocore's service model) and unique names within it.

A job name becomes a folder name locally (``<jobs dir>/<name>``) and part of every trial's name,
so the one rule is enforced wherever a name comes in: the spec's ``name``, ``tune(job_name=...)``,
``hfst tune --job-name`` / ``hfst compile --job-name`` and ``LocalBackend.create``.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timezone
from functools import cache

from ..errors import SpecError

MAX_NAME = 32
#: The service model's shape of ``CreateHyperParameterTuningJob.HyperParameterTuningJobName``.
JOB_NAME_SHAPE = "HyperParameterTuningJobName"
_ALPHABET = string.ascii_lowercase + string.digits


def unique_job_name(base: str, now: datetime | None = None, suffix: str | None = None) -> str:
    """``<base>-<MMDDHHMM><4 random>``, cut to 32 characters.

    Both SDKs name jobs ``<base>-YYMMDD-HHMM``; two jobs started in the same minute
    then collide (``ResourceInUse``). A random part makes every name unique.
    """
    moment = (now or datetime.now(timezone.utc)).strftime("%m%d%H%M")
    tail = suffix if suffix is not None else "".join(secrets.choice(_ALPHABET) for _ in range(4))
    stamp = f"-{moment}{tail}"
    head = base[: MAX_NAME - len(stamp)].rstrip("-")
    return f"{head}{stamp}"


@cache
def job_name_rule() -> tuple[str, int]:
    """SageMaker's pattern and maximum length for a tuning-job name, from botocore's service model.

    Read from the model (not written here) so the local backend accepts exactly what
    ``CreateHyperParameterTuningJob`` does; today ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``, at most 32.
    """
    from ..preflight.service_model import service_model

    meta = service_model().shape_for(JOB_NAME_SHAPE).metadata
    return str(meta["pattern"]), int(meta["max"])


def job_name_problem(name: object) -> str | None:
    """Why ``name`` is not a tuning-job name SageMaker accepts, or ``None`` when it is one."""
    from ..specs._errors import shorten

    pattern, longest = job_name_rule()
    if not isinstance(name, str):
        return f"{shorten(name)} is not a string"
    if len(name) > longest:
        return f"{shorten(name)} is {len(name):,} characters long; at most {longest} are allowed (pattern {pattern})"
    # fullmatch: ``$`` would let a trailing newline through.
    if re.fullmatch(pattern, name) is None:
        return (
            f"{shorten(name)} does not match {pattern}: 1-{longest} ASCII letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return None


def check_job_name(name: str, option: str = "job_name") -> str:
    """``name`` when it is a valid tuning-job name.

    Args:
        name: the proposed name.
        option: how the caller spells the setting (``job_name``, ``--job-name``, ``name``), for the message.

    Raises:
        SpecError: one line naming ``option``, the value and the allowed pattern.
    """
    problem = job_name_problem(name)
    if problem is not None:
        raise SpecError(f"{option}: {problem}", [(option, problem)])
    return name
