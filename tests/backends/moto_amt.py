"""The AMT bridge the tests used before it shipped: now ``hf_sagemaker_tuning.testing._amt.AmtBridge``.

``MotoAmt(session)`` keeps its old form: the bridge installed on one ``boto3.Session`` only
(``fake_sagemaker()`` installs it on every session instead).
"""

from __future__ import annotations

from typing import Any

from hf_sagemaker_tuning.testing._amt import EPOCHS, LOG_GROUP, AmtBridge, TrialOutcome

__all__ = ["EPOCHS", "LOG_GROUP", "MotoAmt", "TrialOutcome"]


class MotoAmt(AmtBridge):
    """AMT's side of a tuning job on top of moto, installed on ``session`` (inside ``moto.mock_aws()``).

    Args:
        session: the ``boto3.Session`` the backend uses.
        moto_session: a session without the bridge, to reach moto directly (default: a new one).
        page_size: the most trials one listing page holds (small, so callers must follow ``NextToken``).
    """

    def __init__(self, session: Any, *, moto_session: Any | None = None, page_size: int = 2) -> None:
        import boto3

        super().__init__(moto_session or boto3.Session(region_name=session.region_name), page_size=page_size)
        self.install(session.events)
