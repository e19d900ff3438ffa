"""Answer requests with the real Hugging Face inference handler, as the inference container does (no Java).

Run with the serving environment's python (tests/fidelity/versions.json ``serve-4.51``)::

    python serve_driver.py MODEL_TAR_GZ REQUESTS_JSON ANSWERS_JSON

The model artifact is unpacked as SageMaker unpacks it into ``/opt/ml/model``; MMS's own model
loader (``mms.model_loader.MmsModelLoader``) loads ``sagemaker_huggingface_inference_toolkit.handler_service``
the way the container's ``mms`` worker does, and each request goes through MMS's
``Service.predict`` (the worker's Python side): the handler's ``handle``, its error mapping
(``PredictionException`` -> status code) and the response encoder, decoded here. Requests:
``[{"name", "body" (str, latin-1 for bytes), "content_type", "accept"}]``. Answers:
``{name: {"status": int, "body": str}}``. Imports nothing from this repository.
"""

from __future__ import annotations

import json
import struct
import sys
import tarfile
import tempfile
from pathlib import Path

HANDLER = "sagemaker_huggingface_inference_toolkit.handler_service"


def _read(buffer: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from("!i", buffer, offset)
    offset += 4
    return buffer[offset : offset + max(length, 0)], offset + max(length, 0)


def decode_response(message: bytes) -> tuple[int, str, int, str]:
    """MMS's predict response (mms.protocol.otf_message_handler.create_predict_response) for one request:
    (batch code, batch message, the request's HTTP code, the request's body)."""
    (code,) = struct.unpack_from("!i", message, 0)
    text, offset = _read(message, 4)
    _request_id, offset = _read(message, offset)
    _content_type, offset = _read(message, offset)
    (http_code,) = struct.unpack_from("!i", message, offset)
    _phrase, offset = _read(message, offset + 4)
    (headers,) = struct.unpack_from("!i", message, offset)
    offset += 4
    for _ in range(max(headers, 0)):
        _key, offset = _read(message, offset)
        _value, offset = _read(message, offset)
    body, offset = _read(message, offset)
    return code, text.decode("utf-8"), http_code, body.decode("utf-8", errors="replace")


def main(model_tar: str, requests_file: str, answers_file: str) -> int:
    from mms.model_loader import MmsModelLoader

    model_dir = Path(tempfile.mkdtemp(prefix="opt-ml-model-"))
    with tarfile.open(model_tar, "r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    service = MmsModelLoader().load("model", str(model_dir), HANDLER, None, 1)
    answers = {}
    for number, request in enumerate(json.loads(Path(requests_file).read_text(encoding="utf-8"))):
        headers = [{"name": b"Content-Type", "value": request["content_type"].encode()}]
        if request.get("accept") is not None:
            headers.append({"name": b"Accept", "value": request["accept"].encode()})
        batch = [
            {
                "requestId": str(number).encode(),
                "parameters": [
                    {"name": "body", "contentType": request["content_type"], "value": request["body"].encode("latin-1")}
                ],
                "headers": headers,
            }
        ]
        code, message, http_code, body = decode_response(bytes(service.predict(batch)))
        # MMS's front end answers a failed batch with {"code", "type", "message"}; a good one with the body.
        answers[request["name"]] = (
            {"status": http_code, "body": body} if code == 200 else {"status": code, "body": message}
        )
    Path(answers_file).write_text(json.dumps(answers, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
