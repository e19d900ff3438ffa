"""The evaluations a SageMaker job keeps in S3: one ``<key>.json`` object each under a prefix.

``SageMakerBackend`` picks the prefix (next to the job's spec, ``<output>/<job>/evaluations/``);
this module reads and writes the objects there. botocore failures become ``TuningError``s.
"""

from __future__ import annotations

from typing import Any

from ..errors import translate_client_error


def put_evaluation(s3: Any, bucket: str, prefix: str, key: str, document: str) -> None:
    """Store one evaluation as ``s3://bucket/<prefix><key>.json``, replacing one of that key."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3.put_object(Bucket=bucket, Key=f"{prefix}{key}.json", Body=document.encode("utf-8"))
    except (ClientError, BotoCoreError) as exc:
        raise translate_client_error(exc, "PutObject (evaluation)") from exc


def read_evaluations(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Every evaluation directly under ``prefix``, key -> document (empty when none or no bucket)."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: dict[str, str] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents") or []:
                key = str(item["Key"])
                if key.endswith(".json") and "/" not in key[len(prefix) :]:
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    found[key[len(prefix) : -len(".json")]] = body.decode("utf-8", errors="replace")
    except ClientError as exc:
        if (exc.response.get("Error") or {}).get("Code") == "NoSuchBucket":
            return {}
        raise translate_client_error(exc, "ListObjectsV2 (evaluations)") from exc
    except BotoCoreError as exc:
        raise translate_client_error(exc, "ListObjectsV2 (evaluations)") from exc
    return found
