"""The pytest fixture over ``fake_sagemaker()``: import it into your ``conftest.py`` to use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._fake import FakeSageMaker, fake_sagemaker


@pytest.fixture(name="fake_sagemaker")
def fake_sagemaker_fixture() -> Iterator[FakeSageMaker]:
    """An offline SageMaker for one test (``fake_sagemaker()`` with its defaults).

    ``from hf_sagemaker_tuning.testing import fake_sagemaker_fixture`` in a ``conftest.py``
    makes the fixture ``fake_sagemaker`` available to the tests beside it.
    """
    with fake_sagemaker() as fake:
        yield fake
