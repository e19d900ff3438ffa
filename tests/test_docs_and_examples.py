"""The docs build strictly, their Python examples run, the spec reference is current, the examples work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hf_sagemaker_tuning.specs import load_job_spec
from hf_sagemaker_tuning.specs.reference import spec_reference_markdown

from .conftest import EXAMPLE_SPEC, REPO

DOCS = REPO / "docs"
#: Pages whose ```python blocks this test runs (the data, results, deployment and training pages run
#: theirs in their own test folders, with the fixtures they need).
RUNNABLE_PAGES = ["index.md", "specs.md", "cross-validation.md"]


@pytest.mark.timeout(120)
def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_python_examples_in_docs_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"{page} has no Python example"
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), {"__name__": "__docs__"})


def test_spec_reference_is_generated_from_the_schema() -> None:
    page = DOCS / "reference" / "spec.md"
    assert page.read_text(encoding="utf-8") == spec_reference_markdown(), (
        "docs/reference/spec.md is stale: run `hfst schema --markdown -o docs/reference/spec.md`"
    )


def test_every_docs_page_is_in_the_nav() -> None:
    import yaml

    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    listed = {next(iter(item.values())) for item in nav}
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == listed


def test_python_example_builds_the_same_job_as_the_yaml() -> None:
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from tweet_eval_distilbert import build_spec
    finally:
        sys.path.remove(str(REPO / "examples"))
    assert build_spec() == load_job_spec(EXAMPLE_SPEC)


@pytest.mark.aws
@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pipeline_example_builds_a_tuning_step_from_the_compiled_tuner() -> None:
    import boto3
    from moto import mock_aws

    sys.path.insert(0, str(REPO / "examples"))
    try:
        from pipeline_tuning_step import build_pipeline
    finally:
        sys.path.remove(str(REPO / "examples"))
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="my-bucket")
        pipeline = build_pipeline(str(EXAMPLE_SPEC), boto_session=session)
        definition: dict[str, Any] = json.loads(pipeline.definition())
    # The SDK keeps a TemporaryDirectory (its driver scripts) alive on the trainer; remove it now,
    # not implicitly at interpreter exit.
    tuner = pipeline.steps[0].step_args.func_args[0]
    tuner.model_trainer._tuner_temp_dir.cleanup()
    (step,) = definition["Steps"]
    assert step["Type"] == "Tuning"
    config = step["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"]["MetricName"] == "eval_macro_recall"
    assert config["ParameterRanges"]["ContinuousParameterRanges"][0]["ScalingType"] == "Logarithmic"
