"""``tuning.cross_validation``, ``tuning.repeats`` and ``tuning.selection``: what is refused, what is compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.errors import SpecError
from hf_sagemaker_tuning.specs import parse_job_spec
from hf_sagemaker_tuning.specs.cross_validation import base_metric, cv_metric, fold_metric, std_metric

from ._base_spec import spec_with

CV = {"tuning.early_stopping": "off", "tuning.cross_validation": {"folds": 5}}


def test_a_cross_validated_job_tunes_the_fold_mean_and_tells_the_package_how() -> None:
    spec = parse_job_spec(spec_with(**CV, **{"tuning.repeats": 2}))
    assert spec.tuned_metric == "eval_cv_macro_recall"
    assert spec.tuning.runs_per_trial == 10
    cv = spec.tuning.cross_validation
    assert cv is not None and (cv.stratified, cv.seed, cv.use_validation, cv.keep_fold_models) == (True, 0, True, False)
    static = spec.static_hyperparameters()
    assert (static["cv_folds"], static["cv_repeats"], static["cv_keep_models"]) == ("5", "2", "false")
    plain = parse_job_spec(spec_with())
    assert plain.tuned_metric == "eval_macro_recall" and "cv_folds" not in plain.static_hyperparameters()


def test_metric_names_of_means_spreads_and_folds() -> None:
    assert cv_metric("eval_macro_f1") == "eval_cv_macro_f1" == cv_metric("eval_cv_macro_f1")
    assert std_metric("eval_macro_f1") == "eval_cv_macro_f1_std"
    assert fold_metric("eval_cv_macro_f1", 3) == "eval_fold3_macro_f1"
    assert base_metric("eval_cv_macro_f1_std") == "eval_macro_f1" == base_metric("eval_macro_f1")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"tuning.cross_validation": {"folds": 5}}, "early_stopping must be 'off' with cross_validation"),
        ({"tuning.repeats": 3}, "early_stopping must be 'off' with repeats"),
        (
            {
                "tuning.cross_validation": {"folds": 3},
                "tuning.early_stopping": "off",
                "tuning.strategy": "hyperband",
                "tuning.hyperband": {"min_resource": 1, "max_resource": 3},
                "training.hyperparameters": {"per_device_train_batch_size": 32},
            },
            "strategy hyperband cannot be used with cross_validation",
        ),
        ({"tuning.early_stopping": "off", "tuning.cross_validation": {"folds": 1}}, "folds"),
        ({"tuning.early_stopping": "off", "tuning.cross_validation": {"folds": 11}}, "folds"),
        ({"tuning.selection": "one_standard_error"}, "one_standard_error needs a spread per trial"),
        ({**CV, "training.hyperparameters.cv_folds": 2}, "set from tuning.cross_validation"),
        ({**CV, "training.instance_type": "ml.g5.12xlarge"}, "data-parallel training"),
        ({**CV, "local": {"processes_per_trial": 2}}, "local.processes_per_trial"),
    ],
)
def test_combinations_that_cannot_work_are_refused_naming_the_field(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        parse_job_spec(spec_with(**changes))


def test_your_own_entry_point_cannot_be_cross_validated_by_the_package() -> None:
    with pytest.raises(SpecError, match=r"tuning\.cross_validation.*bundled training package"):
        parse_job_spec(
            spec_with(
                **CV,
                **{
                    "objective": {
                        "metric": "my_f1",
                        "direction": "maximize",
                        "regex": r"my_f1=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
                    },
                    "training.entry_point": "train.py",
                    "training.source_dir": "./src",
                },
            )
        )


def test_validate_names_the_fold_mean_as_the_objective(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hf_sagemaker_tuning.cli import app
    from hf_sagemaker_tuning.specs import dump_yaml

    path = tmp_path / "job.yaml"
    path.write_text(dump_yaml(parse_job_spec(spec_with(**CV, **{"tuning.selection": "one_standard_error"}))))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "objective maximize eval_cv_macro_recall (mean over 5-fold cross-validation, selection one_standard_error)"
        in result.output
    )
