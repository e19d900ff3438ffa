"""AMT's completion rules as pure functions: no processes, no files, no clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hf_sagemaker_tuning.backends.local import completion
from hf_sagemaker_tuning.backends.local.completion import Rules, completion_reason, final_status
from hf_sagemaker_tuning.compile import TuningJobRequest


def rules(**kw: Any) -> Rules:
    return Rules(**{"maximize": True, "max_trials": 20, "failure_budget": 10, **kw})


@pytest.mark.parametrize(
    ("values", "target", "maximize", "reached"),
    [
        ([0.1, 0.5], 0.5, True, True),
        ([0.1, 0.49], 0.5, True, False),
        ([0.3, 0.2], 0.2, False, True),
        ([0.3, 0.21], 0.2, False, False),
    ],
)
def test_target_value(values: list[float], target: float, maximize: bool, reached: bool) -> None:
    assert completion.target_reached(values, target, maximize) is reached
    reason = completion_reason(rules(maximize=maximize, target=target), values, 0, 0.0)
    assert (reason == completion.TARGET_REACHED) is reached


def test_not_improving_counts_trials_since_the_best() -> None:
    assert completion.trials_not_improving([0.1, 0.5, 0.4, 0.5, 0.3], maximize=True) == 3  # ties do not improve
    assert completion.trials_not_improving([0.5, 0.4, 0.3], maximize=False) == 0
    assert completion.trials_not_improving([], maximize=True) == 0
    assert completion_reason(rules(not_improving=3), [0.1, 0.5, 0.4, 0.5, 0.3], 0, 0) == completion.NOT_IMPROVING
    assert completion_reason(rules(not_improving=4), [0.1, 0.5, 0.4, 0.5, 0.3], 0, 0) is None


def test_convergence_needs_ten_trials_and_a_flat_window() -> None:
    flat = [0.5 + i * 0.01 for i in range(5)] + [0.54] * 6  # 11 trials, the last 5 add nothing
    assert completion.converged(flat, maximize=True, window=5)
    assert not completion.converged(flat[:9], maximize=True, window=5)  # too few trials
    rising = [0.5 + i * 0.01 for i in range(11)]
    assert not completion.converged(rising, maximize=True, window=5)
    falling = [1.0 - i * 0.01 for i in range(5)] + [0.96] * 6  # minimizing: flat at the best
    assert completion.converged(falling, maximize=False, window=5)
    assert completion.convergence_window(20) == 5 and completion.convergence_window(200) == 20
    assert completion_reason(rules(convergence=True), flat, 0, 0) == completion.CONVERGED
    assert completion_reason(rules(convergence=False), flat, 0, 0) is None


def test_failure_budget() -> None:
    assert completion.failure_budget(4) == 3
    assert completion.failure_budget(20) == 10
    assert completion.failure_budget(20, allowed=1) == 1
    assert completion_reason(rules(failure_budget=2), [], 2, 0) is None
    assert completion_reason(rules(failure_budget=2), [], 3, 0) == completion.FAILURE_BUDGET


def test_max_runtime() -> None:
    assert completion_reason(rules(max_runtime_seconds=60), [0.1], 0, 60.0) is None
    assert completion_reason(rules(max_runtime_seconds=60), [0.1], 0, 60.5) == completion.RUNTIME
    assert completion_reason(rules(), [0.1], 0, 1e9) is None


def test_final_status() -> None:
    assert final_status(None, completed=3, failed=0) == ("Completed", None, completion.MAX_JOBS)
    assert final_status(completion.TARGET_REACHED, 1, 0) == ("Completed", None, completion.TARGET_REACHED)
    assert final_status(completion.RUNTIME, 1, 0) == ("Stopped", None, completion.RUNTIME)
    status, failure, _ = final_status(completion.FAILURE_BUDGET, 1, 4)
    assert status == "Failed" and failure is not None and "4 trials failed" in failure
    status, failure, _ = final_status(None, 0, 2)
    assert status == "Failed" and failure == "no trial completed with an objective value"


def test_rules_from_request(make_request: Callable[..., TuningJobRequest]) -> None:
    request = make_request(
        **{
            "tuning": {
                "strategy": "random",
                "max_jobs": 30,
                "max_parallel_jobs": 1,
                "max_runtime_seconds": 600,
                "completion": {"target_objective_value": 0.9, "max_jobs_not_improving": 4},
            }
        }
    )
    got = Rules.from_request(request, max_trials=30, max_failed_trials=None)
    assert got == Rules(
        maximize=True,
        max_trials=30,
        target=0.9,
        not_improving=4,
        convergence=False,
        failure_budget=15,
        max_runtime_seconds=600,
    )
