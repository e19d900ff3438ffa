"""Evaluation-only entry point of the bundled training package (``sagemaker_program=evaluate.py``).

Scores a trained model (the ``model`` channel: a model folder, or SageMaker's
``model.tar.gz`` of one) on one prepared split (the ``split`` hyperparameter's channel,
``test`` by default), under the same container contract as ``train.py``: hyperparameters
from the command line, ``SM_HPS`` or ``input/config/hyperparameters.json``; channels from
``SM_CHANNEL_*``; results in ``SM_OUTPUT_DATA_DIR/evaluation.json``; on failure the reason
in ``SM_OUTPUT_DIR/failure`` and exit status 1. A training hyperparameter (it cannot
change an evaluation) is refused by name.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfst_train.errors import TrainingJobError
from hfst_train.evaluation import base_dir, evaluation_declarations, output_data_dir, refuse_training_hyperparameters
from hfst_train.hparams import collect_raw, resolve
from hfst_train.paths import write_failure

EXIT_FAILURE = 1


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one evaluation job; returns the process exit status."""
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    base = base_dir(environ)
    output_dir = Path(environ.get("SM_OUTPUT_DIR") or base / "output")
    try:
        declarations = evaluation_declarations()
        raw = collect_raw(argv, environ, base / "input" / "config" / "hyperparameters.json")
        refuse_training_hyperparameters(raw, declarations)
        hps = resolve(raw, declarations)
        from hfst_train.evaluation import run_evaluation  # imports torch and transformers: after the cheap checks

        run_evaluation(hps, base, output_data_dir(environ, base), environ)
    except TrainingJobError as error:
        reason = f"{type(error).__name__}: {error}"
        write_failure(output_dir, reason)
        print(f"hfst: evaluation failed: {reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception as error:
        reason = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        write_failure(output_dir, reason)
        print(f"hfst: evaluation failed with an unexpected error:\n{reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
