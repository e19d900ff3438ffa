"""Entry point of the bundled training package (SageMaker runs ``python train.py --name value ...``).

Reads hyperparameters as declared in ``hyperparameters.json`` (command line, ``SM_HPS``,
``input/config/hyperparameters.json``), trains a model for the channel's problem type on the ``train``
channel, evaluates on ``validation``, prints one ``hfst_metric`` line per evaluation
(the kept model's line last) and saves the model with its serving code to ``SM_MODEL_DIR``.
A failure writes its reason to ``SM_OUTPUT_DIR/failure`` and exits non-zero.

Under ``torchrun`` every process runs this file (DDP, see ``hfst_train/distributed.py``). The
failure file is first-writer-wins: the rank that fails first writes its reason, prefixed with
its rank; torchrun then stops the other ranks (or their next collective times out).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfst_train.errors import TrainingJobError
from hfst_train.hparams import collect_raw, resolve
from hfst_train.paths import ContainerPaths, write_failure

EXIT_FAILURE = 1


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one training job; returns the process exit status."""
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    paths = ContainerPaths.from_env(environ)
    rank, size = environ.get("RANK", "0"), environ.get("WORLD_SIZE", "1")
    who = f"rank {rank} of {size}: " if size.strip() not in ("", "1") else ""
    try:
        hps = resolve(collect_raw(argv, environ, paths.hyperparameters_file))
        from hfst_train import crossval  # imports torch and transformers: after the cheap checks
        from hfst_train.job import run_job

        if crossval.is_averaged(hps):  # k folds and/or r seeds, in sequence
            crossval.run_cross_validation(hps, paths, environ)
        elif hps["cv_refit"]:  # one model on every row the folds were cut from
            crossval.check_refit(hps)
            run_job(hps, paths, environ, splits=crossval.refit_splits(paths, hps))
        else:
            run_job(hps, paths, environ)
    except TrainingJobError as error:
        reason = f"{who}{type(error).__name__}: {error}"
        write_failure(paths.output_dir, reason)
        print(f"hfst: training failed: {reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception as error:
        reason = f"{who}{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        write_failure(paths.output_dir, reason)
        print(f"hfst: training failed with an unexpected error:\n{reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
