"""A SageMaker Pipelines ``TuningStep`` fed with the tuner compiled from a spec.

    python examples/pipeline_tuning_step.py examples/tweet-eval-distilbert.yaml

prints the pipeline definition; call ``pipeline.upsert(role_arn=...)`` and ``pipeline.start()``
with an AWS account to run it. Tested under moto (tests/test_examples.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from hf_sagemaker_tuning.compile import compile_request
from hf_sagemaker_tuning.compile.sdk import build_tuner, sdk_inputs
from hf_sagemaker_tuning.specs import load_job_spec


def build_pipeline(spec_file: str, *, boto_session: Any | None = None) -> Any:
    """A one-step pipeline that runs the spec's tuning job."""
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import TuningStep

    spec = load_job_spec(spec_file)
    if spec.sagemaker is None:
        raise SystemExit("the spec needs a sagemaker: section (role, region, output_path)")
    request = compile_request(spec)
    bucket = spec.sagemaker.output_path.removeprefix("s3://").split("/")[0]
    session = PipelineSession(
        boto_session=boto_session or boto3.Session(region_name=spec.sagemaker.region), default_bucket=bucket
    )
    tuner = build_tuner(spec, request, sagemaker_session=session)
    step = TuningStep(name="tune", step_args=tuner.tune(inputs=sdk_inputs(request)))
    return Pipeline(name=f"{spec.name}-pipeline", steps=[step], sagemaker_session=session)


if __name__ == "__main__":
    pipeline = build_pipeline(sys.argv[1] if len(sys.argv) > 1 else "examples/tweet-eval-distilbert.yaml")
    print(json.dumps(json.loads(pipeline.definition()), indent=2))
