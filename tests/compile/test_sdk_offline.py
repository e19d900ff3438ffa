"""The README's ``build_tuner(spec, request)`` works offline: no AWS credentials, no region, no env switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..conftest import EXAMPLE_SPEC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

# The README's snippet, then what it must leave behind: the objects, and the process environment as it was.
SNIPPET = textwrap.dedent(
    f"""
    import json, os
    from hf_sagemaker_tuning import load_job_spec, compile_request
    from hf_sagemaker_tuning.compile.sdk import build_tuner, sdk_inputs

    spec = load_job_spec({str(EXAMPLE_SPEC)!r})
    request = compile_request(spec)
    tuner = build_tuner(spec, request)
    print(json.dumps({{
        "tuner": type(tuner).__name__,
        "region": tuner.model_trainer.sagemaker_session.boto_region_name,
        "role": tuner.model_trainer.role,
        "max_jobs": tuner.max_jobs,
        "inputs": len(sdk_inputs(request)),
        "validate_role_env": os.environ.get("SAGEMAKER_VALIDATE_ROLE"),
    }}))
    """
)


def test_build_tuner_as_the_readme_shows_needs_no_credentials_nor_region(tmp_path: Path) -> None:
    from hf_sagemaker_tuning.specs import load_job_spec

    spec = load_job_spec(EXAMPLE_SPEC)
    assert spec.sagemaker is not None
    home = tmp_path / "home"
    home.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / "none-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "none-credentials"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance metadata to ask on a laptop either
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=170
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["tuner"] == "HyperparameterTuner"
    assert seen["region"] == spec.sagemaker.region
    assert seen["role"] == spec.sagemaker.role
    assert seen["max_jobs"] == spec.tuning.max_jobs
    assert seen["inputs"] >= 2
    assert seen["validate_role_env"] is None  # scoped to the construction, not set for the whole process
