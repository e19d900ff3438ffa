"""Importing the results package is cheap: nothing heavy until results are read or drawn."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "sagemaker", "pandas", "matplotlib", "optuna", "boto3")


def test_import_loads_no_heavy_module() -> None:
    probe = "import hf_sagemaker_tuning.results, hf_sagemaker_tuning.cli.results, sys, json\n"
    probe += "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, heavy
