"""Our offline image table reader builds the same URIs as the SDK's ``image_uris.retrieve``."""

from __future__ import annotations

import pytest

from hf_sagemaker_tuning import images

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "cn-north-1"]


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for scope in ("training", "inference"):
        for tv, pts in images.available_versions(scope).items():  # type: ignore[arg-type]
            out.extend((scope, tv, pt) for pt in pts)
    return out


@pytest.mark.parametrize(("scope", "tv", "pt"), _cases())
def test_uri_matches_the_sdk(scope: str, tv: str, pt: str) -> None:
    from sagemaker.core import image_uris

    choice = images.resolve(scope, tv, pt)  # type: ignore[arg-type]
    for region in REGIONS:
        if region not in choice.registries:
            continue
        for instance in ("ml.g5.xlarge", "ml.m5.xlarge"):
            if images.processor_for(instance) not in choice.processors:
                with pytest.raises(ValueError, match="only"):
                    choice.uri(region, instance)
                continue
            expected = image_uris.retrieve(
                "huggingface",
                region=region,
                version=tv,
                base_framework_version=f"pytorch{pt}",
                py_version=choice.python_version,
                instance_type=instance,
                image_scope=scope,
            )
            assert choice.uri(region, instance) == expected


def test_unknown_versions_name_what_is_available() -> None:
    with pytest.raises(ValueError, match=r"available: .*4\.56\.2"):
        images.resolve("training", "4.99.0")
    with pytest.raises(ValueError, match=r"ship PyTorch 2\.8\.0; not '2\.1\.0'"):
        images.resolve("training", "4.56.2", "2.1.0")
    with pytest.raises(ValueError, match="built for py312; not 'py38'"):
        images.resolve("training", "4.56.2", "2.8.0", "py38")


def test_aliases_resolve() -> None:
    assert images.resolve("training", "4.56").transformers_version == "4.56.2"
