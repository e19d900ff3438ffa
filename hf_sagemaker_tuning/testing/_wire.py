"""The fake's HTTP layer: answers botocore parses itself, and moto's own answers, asked directly."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

from ..errors import TuningError

#: Where a request the bridge answered is pointed, so moto's own handler (called after ours) leaves it alone.
ANSWERED = "https://hfst-fake-amt.invalid/"


def epoch_seconds(value: Any) -> float:
    return float(value.timestamp())


def prune(node: Any) -> Any:
    """Drop what real AWS omits: ``null`` members and empty structures (moto answers ``{}``)."""
    if isinstance(node, dict):
        pruned = {k: prune(v) for k, v in node.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(node, list):
        return [prune(v) for v in node]
    return node


def response(request: Any, status: int, body: dict[str, Any]) -> Any:
    """An HTTP answer botocore parses itself: a urllib3 response with a JSON 1.1 body."""
    import urllib3
    from botocore.awsrequest import AWSResponse

    data = json.dumps(body).encode("utf-8")
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": str(len(data)),
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    raw = urllib3.HTTPResponse(body=io.BytesIO(data), status=status, headers=headers, preload_content=False)
    url = request.url
    request.url = ANSWERED  # moto's handler, called after ours, must not answer it too
    return AWSResponse(url, status, headers, raw)


def error(request: Any, code: str, message: str) -> Any:
    return response(request, 400, {"__type": code, "Message": message})


def moto_answer(request: Any, event_name: str) -> Any:
    """moto's own HTTP answer to ``request`` (its ``before-send`` handler, asked directly)."""
    from moto.core.models import botocore_stubber

    answer = botocore_stubber(event_name=event_name, request=request)
    if answer is None:
        raise TuningError("the fake SageMaker's bridge was called while moto is not active")
    return answer
