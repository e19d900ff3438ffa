"""The rules ``Backend``'s public methods add to every backend's hooks (``backends/base.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hf_sagemaker_tuning.backends.local import LocalBackend
from hf_sagemaker_tuning.errors import BackendError
from hf_sagemaker_tuning.trials import Trial

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Listing(LocalBackend):
    """A backend whose trial-listing hook answers ``trials`` as they are (the rest is the local backend)."""

    def __init__(self, root: Path, trials: list[Trial]):
        super().__init__(root)
        self.trials = trials

    def _list_trials(self, job: str) -> list[Trial]:
        return list(self.trials)


def _trial(name: str, minutes: int | None, status: str = "Completed") -> Trial:
    created = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Trial(name=name, status=status, creation_time=created)


def test_list_trials_is_oldest_first_then_by_name_with_unknown_times_last(tmp_path: Path) -> None:
    hook = [_trial("c", None), _trial("b", 5), _trial("z", 1), _trial("a", 5)]
    assert [t.name for t in Listing(tmp_path, hook).list_trials("job")] == ["z", "a", "b", "c"]


def test_list_trials_refuses_a_trial_listed_twice(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="twice"):
        Listing(tmp_path, [_trial("a", 1), _trial("a", 2)]).list_trials("job")


def test_list_trials_refuses_an_unknown_status(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="'Exploded'"):
        Listing(tmp_path, [_trial("a", 1, status="Exploded")]).list_trials("job")


@pytest.mark.parametrize("key", ["", "../up", "a/b", ".hidden", "x" * 200, "sp ace"])
def test_an_evaluation_key_is_a_plain_name(tmp_path: Path, key: str) -> None:
    with pytest.raises(BackendError, match="evaluation key"):
        LocalBackend(tmp_path).save_evaluation("any-job", key, "{}")
