"""Import cost: the package and ``hfst --help`` import none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "datasets", "sagemaker", "optuna", "pandas", "matplotlib", "mlflow", "tensorboard")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import hf_sagemaker_tuning",
        "import hf_sagemaker_tuning.specs, hf_sagemaker_tuning.compile",
        "import hf_sagemaker_tuning.backends, hf_sagemaker_tuning.deploy, hf_sagemaker_tuning.refine",
        "import hf_sagemaker_tuning.tracking, hf_sagemaker_tuning.backends.local.coordinator",
        "from hf_sagemaker_tuning.cli import app\nimport contextlib, io\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    app(['--help'])",
    ],
    ids=["package", "specs-and-compile", "feature-packages", "tracking-and-coordinator", "cli-help"],
)
def test_no_heavy_imports(code: str) -> None:
    loaded = _modules_after(code)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, sorted(m for m in loaded if m.split(".")[0] in HEAVY)


def test_lazy_attributes_resolve() -> None:
    import hf_sagemaker_tuning as hfst

    assert hfst.TuningJobSpec.__name__ == "TuningJobSpec"
    assert callable(hfst.compile_request)
    with pytest.raises(AttributeError):
        _ = hfst.no_such_name  # type: ignore[attr-defined]
