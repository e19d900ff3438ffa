"""A SageMaker training job's log in CloudWatch, and the learning curves its metric definitions read from it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import translate_client_error

#: Where SageMaker training jobs write their logs (one stream per instance, ``<job>/algo-N-...``).
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def trial_log(logs: Any, trial: str) -> str:
    """Every line the training job ``trial`` logged, stream by stream, from the start.

    Args:
        logs: a boto3 CloudWatch Logs client.
        trial: the training job's name.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    lines: list[str] = []
    try:
        streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{trial}/").get(
            "logStreams", []
        )
        for stream in streams:
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "logGroupName": LOG_GROUP,
                    "logStreamName": stream["logStreamName"],
                    "startFromHead": True,
                }
                if token:
                    kwargs["nextToken"] = token
                page = logs.get_log_events(**kwargs)
                lines.extend(event["message"] for event in page.get("events", []))
                if page.get("nextForwardToken") in (None, token):
                    break
                token = page["nextForwardToken"]
    except (ClientError, BotoCoreError) as exc:
        raise translate_client_error(exc, "GetLogEvents") from exc
    return os.linesep.join(lines)


def metric_series(definitions: Iterable[Mapping[str, str]], text: str) -> dict[str, list[float]]:
    """Each metric definition (``Name``, ``Regex``) applied to ``text``'s lines, in order (as AMT reads them).

    A match whose first group is not a number is skipped.
    """
    regexes = {d["Name"]: re.compile(d["Regex"]) for d in definitions}
    series: dict[str, list[float]] = {}
    for line in text.splitlines():
        for name, regex in regexes.items():
            match = regex.search(line)
            if match is not None:
                try:
                    series.setdefault(name, []).append(float(match.group(1)))
                except (ValueError, IndexError):
                    continue
    return series
