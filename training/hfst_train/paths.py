"""Where the SageMaker training-container contract puts inputs and outputs.

Every ``SM_*`` variable, when set, wins over the default derived from the base
directory (``SAGEMAKER_BASE_DIR``, default ``/opt/ml``), so tests and the local
backend never touch ``/opt/ml``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_DIR = "/opt/ml"


@dataclass(frozen=True)
class ContainerPaths:
    """The folders of one training job."""

    base_dir: Path
    train_channel: Path
    validation_channel: Path
    test_channel: Path | None
    model_dir: Path
    output_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path
    hyperparameters_file: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ContainerPaths:
        """Resolve the paths from environment variables (``SM_*`` first, then the base directory)."""
        base = Path(environ.get("SAGEMAKER_BASE_DIR") or DEFAULT_BASE_DIR)

        def pick(variable: str, default: Path) -> Path:
            value = environ.get(variable)
            return Path(value) if value else default

        data = base / "input" / "data"
        test_default = data / "test"
        test_env = environ.get("SM_CHANNEL_TEST")
        test_channel = Path(test_env) if test_env else (test_default if test_default.is_dir() else None)
        output_dir = pick("SM_OUTPUT_DIR", base / "output")
        return cls(
            base_dir=base,
            train_channel=pick("SM_CHANNEL_TRAIN", data / "train"),
            validation_channel=pick("SM_CHANNEL_VALIDATION", data / "validation"),
            test_channel=test_channel,
            model_dir=pick("SM_MODEL_DIR", base / "model"),
            output_dir=output_dir,
            output_data_dir=pick("SM_OUTPUT_DATA_DIR", output_dir / "data"),
            checkpoint_dir=pick("SM_CHECKPOINT_DIR", base / "checkpoints"),
            hyperparameters_file=base / "input" / "config" / "hyperparameters.json",
        )


def write_failure(output_dir: Path, reason: str) -> None:
    """Write ``output/failure`` with the reason, only if no failure file exists yet (as SageMaker's toolkit does)."""
    failure = output_dir / "failure"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with open(failure, "x", encoding="utf-8") as handle:
            handle.write(reason if reason.endswith("\n") else reason + "\n")
    except FileExistsError:
        return
    except OSError as error:  # the reason still reaches stderr through the caller
        print(f"could not write the failure file {failure}: {error}", file=sys.stderr)
