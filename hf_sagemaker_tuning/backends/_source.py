"""The training code SageMaker fetches: ``sourcedir.tar.gz`` and the requirements tracking adds.

Kept apart from ``sagemaker.py`` (the API calls): packing is pure file work, tested without AWS.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

#: Folders never packed into sourcedir.tar.gz (besides hidden files and folders, e.g. .mypy_cache).
_SKIP = {"__pycache__"}


def pack_source_dir(source_dir: Path, extra_requirements: tuple[str, ...] = ()) -> bytes:
    """``source_dir`` as a gzipped tar with paths relative to it (as the containers expect).

    ``extra_requirements`` are appended to its ``requirements.txt`` (made when it has none),
    which the training container installs before the entry point runs.
    """
    buffer = io.BytesIO()
    requirements = source_dir / "requirements.txt"
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source_dir.rglob("*")):
            parts = path.relative_to(source_dir).parts
            hidden = any(part.startswith(".") for part in parts)
            if path == requirements and extra_requirements:
                continue
            if path.is_file() and not hidden and not (_SKIP & set(parts)) and path.suffix != ".pyc":
                tar.add(path, arcname=str(path.relative_to(source_dir)))
        if extra_requirements:
            text = requirements.read_text(encoding="utf-8") if requirements.is_file() else ""
            text = text + ("" if not text or text.endswith("\n") else "\n") + "\n".join(extra_requirements) + "\n"
            info = tarfile.TarInfo("requirements.txt")
            info.size = len(text.encode("utf-8"))
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(text.encode("utf-8")))
    return buffer.getvalue()


def tracking_requirements(environment: dict[str, str] | None) -> tuple[str, ...]:
    """What the container must install for the tracking a request's environment asks for.

    MLflow (and the ``sagemaker-mlflow`` plugin for a managed server's ARN) and TensorBoard are
    added only when asked for, so a job without ``tracking:`` installs nothing more.
    """
    env = environment or {}
    wanted: list[str] = []
    uri = env.get("HFST_MLFLOW_TRACKING_URI", "")
    if uri:
        wanted.append("mlflow>=2.16")
        if uri.startswith("arn:"):
            wanted.append("sagemaker-mlflow>=0.1")
    if env.get("HFST_TENSORBOARD") == "1":
        wanted.append("tensorboard>=2.16")
    return tuple(wanted)
