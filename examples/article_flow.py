"""The article's whole flow with the job object: tune, analyse, report, retrain longer, deploy, ask.

    python examples/article_flow.py                      # the article's job (needs the hub and a GPU box)
    python examples/article_flow.py my-job.yaml          # any spec; runs on this machine (local backend)
    python examples/article_flow.py job.yaml sagemaker   # the same flow on SageMaker (an AWS account)

The article's SDK calls, one for one: ``tuner.fit()`` is ``tune(spec)`` + ``job.wait()``;
``tuner.analytics().dataframe()`` is ``job.dataframe()``; ``tuner.best_estimator().deploy()`` is
``with job.deploy() as predictor`` (and the endpoint is always removed afterwards).
"""

import sys

from hf_sagemaker_tuning import load_job_spec, tune

spec = load_job_spec(sys.argv[1] if len(sys.argv) > 1 else "examples/tweet-eval-distilbert.yaml")
job = tune(spec, backend=sys.argv[2] if len(sys.argv) > 2 else "local")
job.wait(progress=True)
print(job.dataframe()[["TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue"]])
print("best:", job.best_trial())
job.report("article-report.html")
retrained = job.retrain(epochs=2 * float(spec.training.hyperparameters.get("epochs", 1)))
print("retrained:", retrained.status, retrained.objective, retrained.kept)
with job.deploy() as predictor:
    print(predictor.predict("Best thing ever!"))
