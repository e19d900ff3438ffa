"""``LocalEndpoint.undeploy()`` and ``undeploy(name)`` answer the same thing: what was removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_sagemaker_tuning.deploy import deploy_local, undeploy


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_both_ways_of_undeploying_return_what_was_removed(model_dir: Path) -> None:
    first = deploy_local(model_dir, port=0, name="undeploy-a", threads=1)
    assert first.undeploy() == [f"local endpoint undeploy-a (pid {first.pid})"]
    second = deploy_local(model_dir, port=0, name="undeploy-b", threads=1)
    assert undeploy("undeploy-b") == [f"local endpoint undeploy-b (pid {second.pid})"]
    assert not first.is_running() and not second.is_running()
