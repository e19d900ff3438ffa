"""Backend tests use the fake training job from tests/fakejob.py (a plugin registered by tests/conftest.py)."""

from __future__ import annotations

from ..fakejob import DECLARED, FAKE_DIR, fake_spec

__all__ = ["DECLARED", "FAKE_DIR", "fake_spec"]
