"""Validation refuses a training image whose software the bundled package can't run (no environment needed)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hf_sagemaker_tuning.errors import TuningError
from hf_sagemaker_tuning.specs import TuningJobSpec
from hf_sagemaker_tuning.specs.training import bundled_package_minimums, image_too_old

from ..conftest import EXAMPLE_SPEC
from ..fakejob import fake_spec
from .conftest import TABLE, TRAIN_ENVS


def article(**training: object) -> dict[str, Any]:
    """The article's job (the bundled training package) with other training-image versions."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))
    raw["training"].update(training)
    return raw


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("+")[0].split(".")[:3])


@pytest.mark.parametrize(("version", "pytorch"), [("4.49.0", "2.5.1"), ("4.46.1", "2.3.0"), ("4.55.0", "2.7.1")])
def test_an_image_older_than_the_package_needs_is_refused_naming_the_field(version: str, pytorch: str) -> None:
    raw = article(transformers_version=version, pytorch_version=pytorch, python_version=None)
    with pytest.raises(TuningError) as caught:
        TuningJobSpec.model_validate(raw)
    message = str(caught.value)
    assert "training.transformers_version" in message and "needs transformers >= 4.56.0" in message, message


def test_the_default_and_the_newest_images_pass() -> None:
    for version, pytorch in (("4.56.2", "2.8.0"), ("5.3.0", "2.9.0")):
        raw = article(transformers_version=version, pytorch_version=pytorch, python_version=None)
        assert TuningJobSpec.model_validate(raw).training.transformers_version == version


def test_an_old_torch_is_named_as_pytorch_version() -> None:
    field, message = image_too_old("4.56.2", "2.1.0") or ("", "")
    assert field == "pytorch_version" and "torch >= 2.4.0" in message


def test_your_own_entry_point_is_not_held_to_the_bundled_minimums() -> None:
    raw = fake_spec()
    raw["training"].update(transformers_version="4.49.0", pytorch_version="2.5.1", python_version=None)
    assert TuningJobSpec.model_validate(raw).training.transformers_version == "4.49.0"


def test_the_minimums_are_what_the_fidelity_tier_proves() -> None:
    minimums = bundled_package_minimums()
    oldest = min(TRAIN_ENVS, key=lambda name: _version(TABLE[name]["image"]["transformers"]))
    image = TABLE[oldest]["image"]
    assert _version(image["transformers"])[:2] == _version(minimums["transformers"])[:2]
    assert _version(image["transformers"]) >= _version(minimums["transformers"])
    assert _version(image["torch"]) >= _version(minimums["torch"])
