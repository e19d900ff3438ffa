"""Unique tuning-job names within SageMaker's 32-character rule."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone

MAX_NAME = 32
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
