"""Importing the data package (and its CLI module) must not import torch, transformers or datasets."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light() -> None:
    code = (
        "import sys, hf_sagemaker_tuning.data, hf_sagemaker_tuning.cli.data; "
        "print(','.join(m for m in ('torch', 'transformers', 'datasets', 'pandas', 's3fs') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""
